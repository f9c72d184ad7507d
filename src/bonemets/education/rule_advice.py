"""One voice for "what to do": articles embed a triage rule's own advice by its id.

An article line ``{{advice:infection.fever_on_chemotherapy}}`` (optionally ``@urgent`` for the
wording the rule uses at that level) becomes the rule's headline in bold and its advice lines as a
list, each citing the rule's sources, so an article about fever shows the same level and words as
the fever rule, and a change to the rule changes the article. Articles state no urgency of their
own for a symptom; tests/education/test_one_voice.py checks it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from bonemets.core.knowledge import load
from bonemets.core.levels import Level
from bonemets.core.triage.engine import rule_advice, rule_level, rule_table

MARKER = re.compile(r"\{\{advice:([a-z_]+(?:\.[a-z0-9_]+)+)(?:@([a-z_]+))?\}\}")


def embedded_rules(body: str) -> list[tuple[str, Level]]:
    """The (rule, level) of each advice marker in `body`, in order."""
    out: list[tuple[str, Level]] = []
    for found in MARKER.finditer(body):
        rule_id, level = found.group(1), found.group(2)
        out.append((rule_id, Level(level) if level else rule_level(rule_id)))
    return out


@cache
def _superseded() -> frozenset[str]:
    table = load("sources")
    return frozenset(
        e["id"] for e in table.values() if isinstance(e, dict) and "superseded_by" in e
    )


def patient_sources(ids: list[str]) -> list[str]:
    """A rule's sources as a patient page cites them: without guidance since replaced (the rule
    keeps it for the wording it verified; its successor is among the rule's sources)."""
    return [s for s in ids if s not in _superseded()]


def _same(text: str) -> str:
    return text


def advice_block(
    rule_id: str, level: Level | None = None, translate: Callable[[str], str] = _same
) -> str:
    """The Markdown an advice marker stands for (in a translated article, the rule's words
    through `translate`: the catalogue's, so the article and the check-in still say the same)."""
    table = rule_table()
    if rule_id not in table:
        raise ValueError(f"advice marker names unknown triage rule {rule_id!r}")
    entry = table[rule_id]
    level = level or rule_level(rule_id)
    headline = entry.get("headlines_by_level", {}).get(level.value, entry["headline"])
    cites = "".join(f"[^{s}]" for s in patient_sources(entry["sources"]))
    lines = [f"**{translate(headline)}**{cites}", ""]
    lines += [f"* {translate(line)}{cites}" for line in rule_advice(rule_id, level)]
    return "\n".join(lines)


def expand(body: str, translate: Callable[[str], str] = _same) -> str:
    """`body` with every advice marker replaced by the rule's advice block."""

    def block(found: re.Match[str]) -> str:
        level = Level(found.group(2)) if found.group(2) else None
        return advice_block(found.group(1), level, translate)

    return MARKER.sub(block, body)
