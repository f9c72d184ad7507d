"""Acute oncology: treatment toxicities graded as the UKONS 24-hour triage tool grades them.

Each symptom gets a UKONS colour (Green, Amber, Red) from its severity, its measured value and its
features; the colour maps to our levels (Green: no rule fires, the self-care rules or the catch-all
take it; Amber: urgent; Red: emergency on systemic anticancer treatment, which includes not knowing
it is off, else urgent; very severe in any category: emergency, the life-threatening grade). The
thresholds and their sources live in knowledge/triage_rules.toml under ``[ukons]``; what each
category's rule says to the patient lives there too, under ``rules."ukons.<category>"``.

Imported by rules.py after its own rules, so these register in the same table and trigger index.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from bonemets.core.knowledge import load
from bonemets.core.levels import Level
from bonemets.core.triage.context import Context, describe
from bonemets.core.triage.models import Symptom, symptom_catalogue
from bonemets.core.triage.rules import Firing, RuleFn, rule

GREEN, AMBER, RED = 1, 2, 3
COLOUR_NAMES = {GREEN: "Green", AMBER: "Amber", RED: "Red"}
LIFE_THREATENING = 4  # severity 4 (very severe): the grade UKONS sends to assessment at once


@cache
def grading() -> dict[str, Any]:
    """The ``[ukons]`` table of triage_rules.toml: measured-value bands and feature colours."""
    table: dict[str, Any] = load("triage_rules")["ukons"]
    return table


@cache
def categories() -> dict[str, tuple[str, ...]]:
    """UKONS category -> the symptom codes graded in it (from symptoms.toml)."""
    out: dict[str, list[str]] = {}
    for code, entry in symptom_catalogue().items():
        if "ukons" in entry:
            out.setdefault(entry["ukons"], []).append(code)
    return {cat: tuple(codes) for cat, codes in out.items()}


def colour(symptom: Symptom, ctx: Context) -> tuple[int, list[str]]:
    """The UKONS colour of one symptom, and what set it (quoted in the reason)."""
    table = grading()
    by_severity = table["severity_colour"]
    found = int(by_severity[str(min(symptom.severity, 4))])
    why: list[str] = []
    category = symptom_catalogue()[symptom.code]["ukons"]
    floor = int(table.get("minimum_colour", {}).get(category, GREEN))
    if floor > found:
        found = floor
        why.append(f"{category}: {COLOUR_NAMES[floor]} at any severity")
    measure = symptom_catalogue()[symptom.code].get("measure")
    if measure is not None:
        value = getattr(symptom, measure)
        if value is not None:
            for band in table["measures"][measure]:  # highest band first
                if value >= band["at_least"]:
                    if band["colour"] > found:
                        found = band["colour"]
                        why.append(f"{measure.replace('_', ' ')} {value}")
                    break
    feature_colours: dict[str, int] = table["feature_colour"].get(symptom.code, {})
    for feature in symptom.features:
        if feature_colours.get(feature, GREEN) > found:
            found = feature_colours[feature]
            why.append(feature)
    if (
        symptom.code == "diarrhoea"
        and ctx.report.patient.on_immunotherapy is not False
        and found < AMBER
    ):
        # Immunotherapy colitis can start as mild diarrhoea: UKONS v3 asks for review [U].
        found = AMBER
        why.append("on_immunotherapy: " + _yes_or_unknown(ctx.report.patient.on_immunotherapy))
    return found, why


def _yes_or_unknown(value: bool | None) -> str:
    return "yes" if value else "unknown (read as possibly on it)"


def level_for(colour_: int, severity: int, ctx: Context, category: str = "") -> Level | None:
    if severity >= LIFE_THREATENING:
        return Level.EMERGENCY
    if colour_ >= RED:
        if ctx.sact_possible or category in grading()["emergency_at_red"]:
            return Level.EMERGENCY
        return Level.URGENT
    if colour_ >= AMBER:
        return Level.URGENT
    return None


def _category_rule(category: str) -> RuleFn:
    def fire(ctx: Context) -> Firing | None:
        best: Level | None = None
        because: list[str] = []
        explains: set[str] = set()
        for code in categories()[category]:
            for s in ctx.get(code):
                c, why = colour(s, ctx)
                lvl = level_for(c, s.severity, ctx, category)
                if category == "constipation" and lvl is not None and _obstruction_signs(ctx):
                    # Constipation with belly pain or vomiting may be a blocked bowel: Red [U].
                    lvl = Level.EMERGENCY if ctx.sact_possible else Level.URGENT
                    why.append("with belly pain or vomiting")
                if lvl is None:
                    continue
                if best is None or lvl.rank > best.rank:
                    best = lvl
                text = f"{describe(s)}: UKONS {COLOUR_NAMES[c]}"
                because.append(text + (f" ({', '.join(why)})" if why else ""))
                explains.add(code)
        if best is None:
            return None
        because.append(ctx.sact_words())
        return Firing(because=because, explains=explains, level=best)

    return fire


def _obstruction_signs(ctx: Context) -> bool:
    return any(s.severity >= 2 for s in ctx.get("abdominal_pain") + ctx.get("nausea_vomiting"))


def _register() -> None:
    for category, codes in categories().items():
        rule(f"ukons.{category}", on=set(codes))(_category_rule(category))


_register()
