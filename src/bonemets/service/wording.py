"""Clinician wording for alert texts on the care team's pages.

An alert's stored message is written once, from the rule that fired: the inputs that fired it,
then the first sentence of the rule's explanation, which is written for patients (the same text
the patient's result shows), then, for a rule resting on an unverified number or a policy, a
bracketed flag. The care team's pages show the inputs in clinical terms, with the flag once, as a
compact marker (the template's), and the level's meaning for the care team; the patient's pages
keep the patient's wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bonemets.core.pathway.alerts import UNVERIFIED
from bonemets.core.triage.engine import rule_table


@dataclass(frozen=True, slots=True)
class ClinicalText:
    text: str
    unverified: bool  # the text carried the unverified flag (once or more)


@cache
def _patient_sentences() -> tuple[str, ...]:
    """The first sentence of every triage rule's explanation, as alerts quote it."""
    out = []
    for entry in rule_table().values():
        first = str(entry["explanation"]).split(". ")[0].rstrip(".") + "."
        out.append(first)
    return tuple(sorted(out, key=len, reverse=True))


def rule_label(rules: tuple[str, ...] | list[str]) -> str:
    """What the first triage rule of `rules` is about, as its headline names it before the
    patient's instruction ("Possible spinal cord compression"); "" for other rules (pathway
    alerts say what they are about in their message)."""
    table = rule_table()
    for rule in rules:
        entry = table.get(rule)
        if entry is not None:
            return str(entry["headline"]).split(":")[0].rstrip(".")
    return ""


def clinical(message: str | None, rules: tuple[str, ...] | list[str] = ()) -> ClinicalText:
    """`message` for the care team: without the patient's explanation or the unverified flag
    (reported as `unverified`), codes in words ("limb_weakness" -> "limb weakness"), led by
    what the rule is about when `rules` names a triage rule."""
    if not message:
        return ClinicalText("", False)
    flagged = UNVERIFIED.strip() in message
    text = message.replace(UNVERIFIED, "").replace(UNVERIFIED.strip(), "")
    for sentence in _patient_sentences():
        if sentence in text:
            text = text.replace(" " + sentence, "").replace(sentence, "")
    text = _words(text.strip())
    label = rule_label(rules)
    return ClinicalText(f"{label}: {text}" if label else text, flagged)


def _words(text: str) -> str:
    """Underscores of codes as spaces, outside quoted words (the patient's own are kept)."""
    parts = text.split('"')
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        parts[i] = parts[i].replace("_", " ")
    return '"'.join(parts)
