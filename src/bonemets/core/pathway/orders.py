"""A proposed dose of a bone-modifying agent, checked against the record before it is given.

The one implementation behind CDS Hooks order-sign (a draft order from an EHR) and the app's dose
entry (a dose a clinician records): both build a `ProposedDose` and read the same findings. The
record gets the proposal as a plan on its day when it starts or changes the agent, and then goes
through `assess`: the dose for the kidney function, the kidney withhold rule, calcium, the dental
exam and the schedule are the pathway's answers, never computed here. This module compares the
proposed dose with the pathway's dose and the proposed day with the pathway's due date, and says
which findings a clinician must override with a reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import ValidationError

from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, is_unverified
from bonemets.core.pathway import bma as bma_rules
from bonemets.core.pathway.assess import assess, bone_metastases
from bonemets.core.pathway.models import Bma, Check, Dose
from bonemets.core.record import Agent, BmaPlan, Record, Route

DOSE_TOLERANCE_MG = 0.05  # a proposed and an advised dose closer than this are the same dose
Severity = Literal["critical", "warning", "info"]


@dataclass(frozen=True, slots=True)
class ProposedDose:
    """A dose about to be given (or ordered): what the clinician or the EHR says."""

    agent: Agent
    date: dt.date
    dose: float | None  # in `unit`
    unit: str | None
    route: Route | None = None
    interval_weeks: float | None = None


@dataclass(frozen=True, slots=True)
class DoseFinding:
    """One thing to know before giving the dose.

    `severity` is how loudly to say it (CDS card indicators); `override` is whether a clinician
    must give a reason to go ahead (the app refuses to record the dose without one).
    """

    rule: str
    severity: Severity
    headline: str  # one line: what a card summary or a form message leads with
    message: str  # the full statement
    override: bool
    sources: list[str] = field(default_factory=list)
    evidence: str | None = None
    unverified: bool = False
    advised_dose: float | None = None  # the pathway's dose, when the finding is about the dose
    basis: str | None = None  # how the pathway's dose was worked out
    remove: bool = False  # the pathway says not to give this agent at all


# --- Plausible doses (refused outright, before any clinical check) ------------------------------


@cache
def plausible_table() -> dict[str, Any]:
    table: dict[str, Any] = bma_rules.table()["plausible_doses"]
    check_source_ids(table["sources"], "agents.plausible_doses")
    return table


def check_plausible_dose(proposed: ProposedDose, *, required: bool) -> None:
    """Refuse a dose no regimen of the agent gives (e.g. zoledronic acid 400 mg), naming the
    field. `required`: a dose recorded as given must say how much."""
    if proposed.dose is None:
        if required:
            raise InputError("dose", "say how many mg were given")
        return
    if proposed.unit is not None and proposed.unit != "mg":
        raise InputError("unit", f"doses are recorded in mg, not {proposed.unit!r}")
    spec = plausible_table()["agents"][proposed.agent]
    route = proposed.route or bma_rules.agent_table(proposed.agent)["routes"][0]
    if route not in spec:
        return  # the route itself is checked by the record's models
    low, high = (float(x) for x in spec[route])
    if not low <= proposed.dose <= high:
        raise InputError(
            "dose",
            f"{proposed.dose:g} mg of {bma_rules.label(proposed.agent)} ({route}) is outside "
            f"every regimen's dose ({low:g} to {high:g} mg): check the dose and the unit",
        )


# --- The record with the proposed dose ----------------------------------------------------------


def with_proposed(record: Record, proposed: ProposedDose) -> tuple[Record, bool]:
    """The record as if the dose were given, and whether it continues the current course.

    A plan is added on the day when the proposal starts an agent, changes it, restarts a stopped
    one or names another route than the course's; otherwise the record is unchanged (the next
    dose of a course is judged against its own schedule). Raises ValidationError for a route the
    agent is not given by.
    """
    course = bma_rules.current_course(record.as_of(proposed.date))
    continues = course.agent == proposed.agent and not course.stopped
    if continues and (proposed.route is None or proposed.route == bma_rules.route_of(course)):
        return record, True
    plan = BmaPlan(
        date=proposed.date,
        agent=proposed.agent,
        route=proposed.route,
        interval_weeks=proposed.interval_weeks,
    )
    return record.model_copy(update={"bma_plans": [*record.bma_plans, plan]}), continues


# --- Findings -----------------------------------------------------------------------------------


def _check(checks: list[Check], name: str) -> Check | None:
    return next((c for c in checks if c.check == name), None)


def _from_check(
    check: Check, rule: str, severity: Severity, lead: str, *, override: bool
) -> DoseFinding:
    detail = check.detail or check.check
    return DoseFinding(
        rule=rule,
        severity=severity,
        headline=f"{lead}{detail}",
        message=detail,
        override=override,
        sources=list(check.sources),
        evidence=check.evidence,
        unverified=check.unverified,
    )


def check_proposed(record: Record, proposed: ProposedDose) -> list[DoseFinding]:
    """What the pathway says about giving `proposed` on its day, most serious first.

    `record` is the record before the dose (a dose already recorded on that day counts as a
    previous dose: a second one is too soon).
    """
    label = bma_rules.label(proposed.agent).capitalize()
    try:
        ordered, continues = with_proposed(record, proposed)
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
        return [
            DoseFinding(
                rule="bma.order_unreadable",
                severity="critical",
                headline=f"{label} order cannot be checked: {msg}",
                message=f"{msg}.",
                override=True,
            )
        ]
    day = proposed.date
    bma = assess(ordered, day).bma
    out: list[DoseFinding] = []
    died = record.demographics.deceased_date
    dead_by_then = died <= day if died is not None else record.demographics.deceased is True
    if dead_by_then:
        spec = bma_rules.table()["deceased"]
        when = f" on {died}" if died is not None else ""
        out.append(
            DoseFinding(
                rule="bma.deceased",
                severity="critical",
                headline=f"{label}: the record says this patient died{when}: check the patient.",
                message=f"The record says the patient died{when}, and the dose is dated {day}: "
                "check that this is the right patient and the right record.",
                override=True,
                sources=list(spec["sources"]),
                evidence=str(spec["evidence"]),
                unverified=is_unverified(str(spec["evidence"])),
            )
        )
    out.extend(_dose_findings(proposed, bma.dose, _check(bma.checks, "creatinine_clearance")))

    renal = _check(bma.checks, "renal_function")
    if renal is not None and renal.status == "fail":
        out.append(
            _from_check(renal, "bma.kidney_rise", "critical", f"{label}: withhold: ", override=True)
        )
    elif renal is not None and renal.status == "missing":
        lead = f"{label}: creatinine needed: "
        out.append(_from_check(renal, "bma.creatinine_before_dose", "warning", lead, override=True))
    calcium = _check(bma.checks, "calcium")
    if calcium is not None and calcium.status == "fail":
        lead = f"{label}: withhold: "
        out.append(_from_check(calcium, "bma.low_calcium", "critical", lead, override=True))
    elif calcium is not None and calcium.status == "missing":
        lead = f"{label}: calcium needed: "
        out.append(_from_check(calcium, "bma.calcium_before_dose", "warning", lead, override=False))
    dental = _check(bma.checks, "dental_exam")
    if dental is not None and dental.status == "missing":
        out.append(_from_check(dental, "bma.dental_exam", "warning", f"{label}: ", override=True))
    if continues:
        out.extend(_timing_findings(proposed, bma))
    if bone_metastases(record.as_of(day)) is not True:
        out.append(
            DoseFinding(
                rule="bma.not_indicated",
                severity="warning",
                headline=f"{label}: not indicated: no bone metastases on the record.",
                message=f"No bone metastases on the record on {day}: the bone-metastasis "
                "pathway does not indicate a bone-modifying agent.",
                override=True,
                sources=list(bma_rules.table()["indication"]["sources"]),
                evidence=str(bma_rules.table()["indication"]["evidence"]),
            )
        )
    for w in bma.warnings:
        out.append(
            DoseFinding(
                rule=w.rule or "bma.warning",
                severity="warning",
                headline=w.text,
                message=w.text,
                override=w.rule == "bma.pregnancy",
                sources=list(w.sources),
                evidence=w.evidence,
                unverified=w.evidence is not None and is_unverified(w.evidence),
            )
        )
    rank = {"critical": 0, "warning": 1, "info": 2}
    out.sort(key=lambda f: rank[f.severity])
    return out


def _timing_findings(proposed: ProposedDose, bma: Bma) -> list[DoseFinding]:
    """A dose before the due window opens is too soon (a second dose on one day included)."""
    if bma.next_due is None or bma.last_dose is None:
        return []
    timing = bma_rules.table()["timing"]
    window = int(timing["due_window_days"])
    # With no interval recorded, "too soon" counts from the regimen's shortest interval (a
    # 4-weekly dose is not early because 12-weekly was also allowed).
    due = bma.earliest_due or bma.next_due
    early = (due - proposed.date).days
    if early <= window:
        return []
    label = bma_rules.label(proposed.agent)
    agent_spec = bma_rules.agent_table(proposed.agent)
    same_day = bma.last_dose == proposed.date
    headline = (
        f"{label.capitalize()} too soon: last dose on {bma.last_dose}, next due on "
        f"{due} (in {early} days)."
    )
    what = (
        f"a {label} dose is already recorded on {proposed.date}"
        if same_day
        else f"the last {label} dose was on {bma.last_dose}"
    )
    return [
        DoseFinding(
            rule="bma.interval",
            severity="warning",
            headline=headline,
            message=f"Too soon: {what} and the next is due on {due} (every "
            f"{(due - bma.last_dose).days / 7:g} weeks), {early} days after {proposed.date}.",
            override=True,
            sources=[*agent_spec.get("interval_sources", []), *timing["sources"]],
            evidence=str(timing["evidence"]),
            unverified=is_unverified(str(timing["evidence"])),
        )
    ]


def _dose_findings(
    proposed: ProposedDose, dose: Dose | None, cc: Check | None
) -> list[DoseFinding]:
    label = bma_rules.label(proposed.agent).capitalize()
    if cc is not None and cc.status == "fail":
        text = cc.detail or "Not recommended at this creatinine clearance."
        return [
            DoseFinding(
                rule="bma.dose",
                severity="critical",
                headline=f"{label}: do not give: {text}",
                message=text,
                override=True,
                sources=list(cc.sources),
                evidence=cc.evidence,
                unverified=cc.unverified,
                remove=True,
            )
        ]
    if dose is None or dose.value is None:
        basis = dose.basis if dose is not None else "No dose rule applies."
        return [
            DoseFinding(
                rule="bma.dose",
                severity="warning",
                headline=f"{label} dose cannot be checked: {basis}",
                message=basis,
                override=False,
                sources=list(dose.sources) if dose is not None else [],
                evidence=dose.evidence if dose is not None else None,
            )
        ]
    advised = dose.value
    every = f" {dose.frequency}" if dose.frequency else ""
    common: dict[str, Any] = {
        "rule": "bma.dose",
        "sources": list(dose.sources),
        "evidence": dose.evidence,
        "unverified": dose.evidence is not None and is_unverified(dose.evidence),
        "advised_dose": advised,
        "basis": dose.basis,
    }
    if proposed.dose is None or proposed.unit is None or proposed.unit.lower() != "mg":
        what = "no dose" if proposed.dose is None else f"a dose in {proposed.unit or 'no unit'}"
        text = f"The order gives {what}; the dose for this patient is {advised:g} mg{every}."
        return [
            DoseFinding(
                severity="warning",
                headline=f"{label}: {text}",
                message=text,
                override=False,
                **common,
            )
        ]
    if abs(proposed.dose - advised) <= DOSE_TOLERANCE_MG:
        return []
    crcl = f" for CrCl {dose.crcl_ml_min:g} mL/min" if dose.crcl_ml_min is not None else ""
    higher = proposed.dose > advised
    text = (
        f"{label} {proposed.dose:g} mg; the dose{crcl} is {advised:g} mg{every} "
        f"({'above' if higher else 'below'} it)."
    )
    return [
        DoseFinding(
            severity="critical" if higher else "warning",
            headline=text,
            message=text,
            override=higher,
            **common,
        )
    ]


def needs_override(findings: list[DoseFinding]) -> list[DoseFinding]:
    return [f for f in findings if f.override]
