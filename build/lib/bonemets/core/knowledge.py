"""Loads the declarative clinical knowledge shipped in ``bonemets/knowledge/*.toml``.

Reading packaged data files is the only I/O the core does; each file is parsed once and cached.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

Evidence = Literal["V", "S", "U", "P"]
EVIDENCE_WORDS: dict[str, str] = {
    "V": "verified in the primary source",
    "S": "secondary source only",
    "U": "unverified: no source found for this number yet",
    "P": "a bonemets policy choice, not taken from a guideline",
}


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed knowledge file ``name``.toml."""
    text = resources.files("bonemets.knowledge").joinpath(f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    kind: str
    citation: str
    url: str | None = None


def _source_files() -> list[str]:
    """`sources.toml` and any area's own registry (`<area>_sources.toml`)."""
    names = [
        p.name.removesuffix(".toml")
        for p in resources.files("bonemets.knowledge").iterdir()
        if p.name.endswith("sources.toml")
    ]
    return sorted(names)


@cache
def sources() -> dict[str, Source]:
    """Every source, by id. A duplicate id across registries is an error."""
    out: dict[str, Source] = {}
    for name in _source_files():
        for entry in load(name).values():
            if entry["id"] in out:
                raise KeyError(f"{name}.toml: duplicate source id {entry['id']!r}")
            out[entry["id"]] = Source(
                id=entry["id"], kind=entry["kind"], citation=entry["citation"], url=entry.get("url")
            )
    return out


def check_source_ids(ids: list[str], where: str) -> list[str]:
    """`ids` unchanged once each resolves: a typo in a knowledge file fails loudly."""
    known = sources()
    for source_id in ids:
        if source_id not in known:
            raise KeyError(f"{where}: unknown source id {source_id!r}")
    return ids


def is_unverified(evidence: str) -> bool:
    """True for evidence that must be flagged in a rule's output (U: unverified, P: policy)."""
    return evidence in ("U", "P")


@cache
def rule_set_id() -> str:
    """Identifies the knowledge the rules ran on: ``sha256:`` and the first 16 hex digits of a
    digest of every packaged knowledge file (name and bytes, in name order). Two results with the
    same engine version and rule set were made by the same rules and numbers."""
    import hashlib

    digest = hashlib.sha256()
    root = resources.files("bonemets.knowledge")
    for p in sorted(root.iterdir(), key=lambda p: p.name):
        if p.is_file() and p.name.endswith((".toml", ".txt")):
            digest.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()[:16]
