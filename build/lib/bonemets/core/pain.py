"""WHO analgesic ladder for cancer pain, with NSAID cautions. Ladder, cautions and wording live in
``knowledge/pain.toml``.

The 0-10 score to ladder step mapping is a bonemets policy choice [P]. Every NSAID risk factor that
is unknown is treated as the less reassuring case: its caution is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, load

Severity = Literal["none", "mild", "moderate", "severe"]


@dataclass(frozen=True, slots=True)
class NsaidCaution:
    factor: Literal["kidney", "heart_failure", "platelets", "anticoagulant", "age_renal", "age_gi"]
    reason: Literal["present", "unknown"]
    message: str
    sources: list[str]
    evidence: str


@dataclass(frozen=True, slots=True)
class PainLadder:
    score: int
    step: int  # 0 (no pain) to 3
    severity: Severity
    step_name: str
    summary: str
    drug_classes: list[str]
    principles: list[str]
    nsaid_cautions: list[NsaidCaution]
    opioid_advice: list[str]
    sources: list[str]
    evidence: str  # of the score-to-step mapping: P
    caveats: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)  # the U/P parts of the basis, to flag


@cache
def _table() -> dict[str, Any]:
    table = load("pain")
    check_source_ids(table["sources"], "pain")
    check_source_ids(table["mapping"]["sources"], "pain.mapping")
    for step in table["steps"]:
        check_source_ids(step["sources"], f"pain.steps.{step['step']}")
    check_source_ids(table["principles"]["sources"], "pain.principles")
    check_source_ids(table["opioid"]["sources"], "pain.opioid")
    check_source_ids(table["nsaid"]["sources"], "pain.nsaid")
    check_source_ids(table["nsaid"]["platelets_sources"], "pain.nsaid.platelets")
    for caveat in table["caveats"]:
        check_source_ids(caveat["sources"], "pain.caveats")
    return table


def _check_number(name: str, value: float | None, low: float, high: float, unit: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InputError(name, f"expected a number; got {value!r}")
    if not low <= value <= high:
        raise InputError(name, f"{value} {unit} is outside the plausible range {low:g}-{high:g}")


def _check_flag(name: str, value: bool | None) -> None:
    if value is not None and not isinstance(value, bool):
        raise InputError(name, f"expected true, false or unknown; got {value!r}")


def nsaid_cautions(
    *,
    egfr_or_crcl: float | None = None,
    heart_failure: bool | None = None,
    platelets: float | None = None,
    on_anticoagulant: bool | None = None,
    age: int | None = None,
) -> list[NsaidCaution]:
    """The NSAID cautions that apply; an unknown factor gives its caution too."""
    spec = _table()["nsaid"]
    msg: dict[str, str] = spec["messages"]
    sources: list[str] = list(spec["sources"])
    evidence: str = spec["evidence"]
    out: list[NsaidCaution] = []

    def add(
        factor: Any, reason: Any, key: str, srcs: list[str] = sources, ev: str = evidence
    ) -> None:
        out.append(NsaidCaution(factor, reason, msg[key], list(srcs), ev))

    if egfr_or_crcl is None:
        add("kidney", "unknown", "kidney_unknown")
    elif egfr_or_crcl < spec["kidney_below"]:
        add("kidney", "present", "kidney")
    if heart_failure is None:
        add("heart_failure", "unknown", "heart_failure_unknown")
    elif heart_failure:
        add("heart_failure", "present", "heart_failure")
    platelet_sources = [*sources, *spec["platelets_sources"]]
    if platelets is None:
        add(
            "platelets",
            "unknown",
            "platelets_unknown",
            platelet_sources,
            spec["platelets_evidence"],
        )
    elif platelets < spec["platelets_below"]:
        add("platelets", "present", "platelets", platelet_sources, spec["platelets_evidence"])
    if on_anticoagulant is None:
        add("anticoagulant", "unknown", "anticoagulant_unknown")
    elif on_anticoagulant:
        add("anticoagulant", "present", "anticoagulant")
    if age is None:
        add("age_renal", "unknown", "age_unknown")
    else:
        if age > spec["renal_age_above"]:
            add("age_renal", "present", "age_renal")
        if age > spec["gi_age_above"]:
            add("age_gi", "present", "age_gi")
    return out


def pain_ladder(
    score: int,
    *,
    egfr_or_crcl: float | None = None,
    heart_failure: bool | None = None,
    platelets: float | None = None,
    on_anticoagulant: bool | None = None,
    age: int | None = None,
) -> PainLadder:
    """The WHO ladder step for a 0-10 pain score, its drug classes and principles, NSAID cautions
    (steps 1-3) and opioid advice (steps 2-3).

    `egfr_or_crcl` in mL/min (or mL/min/1.73 m2); `platelets` in 10^9/L.
    """
    table = _table()
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise InputError("score", f"expected a whole-number pain score from 0 to 10; got {score!r}")
    _check_number("egfr_or_crcl", egfr_or_crcl, 0.0, 300.0, "mL/min")
    _check_number("platelets", platelets, 0.0, 3000.0, "x10^9/L")
    if age is not None and (
        isinstance(age, bool) or not isinstance(age, int) or not 18 <= age <= 120
    ):
        raise InputError("age", f"expected an adult age of 18-120 years; got {age!r}")
    _check_flag("heart_failure", heart_failure)
    _check_flag("on_anticoagulant", on_anticoagulant)

    step = next(s for s in table["steps"] if s["scores"][0] <= score <= s["scores"][1])
    number = int(step["step"])
    cautions = (
        nsaid_cautions(
            egfr_or_crcl=egfr_or_crcl,
            heart_failure=heart_failure,
            platelets=platelets,
            on_anticoagulant=on_anticoagulant,
            age=age,
        )
        if number >= 1
        else []
    )
    sources = [*table["sources"], *table["mapping"]["sources"]]
    caveats = [table["mapping"]["note"]]
    unverified = [table["mapping"]["note"]]
    opioid_advice: list[str] = []
    if number >= 1:
        caveats.append(table["nsaid"]["other_risks"])
        sources += table["nsaid"]["sources"]
        if any(c.factor == "platelets" for c in cautions):
            sources += table["nsaid"]["platelets_sources"]
            unverified.append(
                "The platelet cut-off for avoiding NSAIDs (50 x10^9/L) is a local policy [U]."
            )
    if number >= 2:
        opioid_advice = list(table["opioid"]["advice"])
        sources += table["opioid"]["sources"]
    for caveat in table["caveats"]:
        caveats.append(caveat["text"])
        if caveat["evidence"] in ("U", "P"):
            unverified.append(caveat["text"])
    return PainLadder(
        score=score,
        step=number,
        severity=step["severity"],
        step_name=step["name"],
        summary=step["summary"],
        drug_classes=list(step["drug_classes"]),
        principles=list(table["principles"]["items"]) if number >= 1 else [],
        nsaid_cautions=cautions,
        opioid_advice=opioid_advice,
        sources=list(dict.fromkeys(sources)),
        evidence=str(table["mapping"]["evidence"]),
        caveats=caveats,
        unverified=unverified,
    )
