"""The bone-modifying-agent (BMA) part of the assessment: status, dose, checks, suggestions.

Numbers and rules come from ``knowledge/agents.toml``; creatinine clearance from
``core.renal.cockcroft_gault``. The record passed in is already cut to ``as_of``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.pathway.facts import (
    CalciumFinding,
    add_months,
    age_on,
    flag,
    in_unit,
    labs_of,
    latest_lab,
    latest_weight,
    unique,
)
from bonemets.core.pathway.models import Bma, BmaStatus, Check, CheckStatus, Dose, Suggestion
from bonemets.core.record import BmaDose, BmaPlan, Lab, Record
from bonemets.core.renal import CreatinineClearance, cockcroft_gault

_ROUND = 6  # float noise (1.4 - 0.9 = 0.49999999999999994) must not cross a kidney threshold
BLOCKING_CHECKS = ("renal_function", "creatinine_clearance", "calcium")


@cache
def table() -> dict[str, Any]:
    data: dict[str, Any] = load("agents")
    for name, entry in data.items():
        if isinstance(entry, dict) and "sources" in entry:
            check_source_ids(entry["sources"], f"agents.{name}")
    for name, agent in data["agents"].items():
        for key in ("dose_sources", "interval_sources", "low_calcium_sources"):
            if key in agent:
                check_source_ids(agent[key], f"agents.{name}.{key}")
    return data


def agent_table(agent: str) -> dict[str, Any]:
    entry: dict[str, Any] = table()["agents"][agent]
    return entry


def label(agent: str) -> str:
    text: str = agent_table(agent)["label"]
    return text


# --- Course ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Course:
    agent: str | None
    stopped: bool
    plan: BmaPlan | None  # the latest plan of the current agent
    doses: list[BmaDose]  # the doses of the current course, oldest first
    stop_date: dt.date | None = None


def current_course(record: Record) -> Course:
    """The current agent: the latest plan or dose (a plan wins a tie), and its course of doses."""
    plans = sorted(record.bma_plans, key=lambda p: p.date)
    doses = sorted(record.bma_doses, key=lambda d: d.date)
    last_plan = plans[-1] if plans else None
    last_dose = doses[-1] if doses else None
    if last_plan is None and last_dose is None:
        return Course(agent=None, stopped=False, plan=None, doses=[])
    if last_plan is not None and (last_dose is None or last_plan.date >= last_dose.date):
        agent: str = last_plan.agent
        stopped = last_plan.stop
    else:
        assert last_dose is not None
        agent = last_dose.agent
        stopped = False
    # The course starts after the last dose of another agent and after the last stop.
    cut = dt.date.min
    for d in doses:
        if d.agent != agent:
            cut = max(cut, d.date + dt.timedelta(days=1))
    for p in plans:
        if p.stop and not (stopped and p is last_plan):
            cut = max(cut, p.date + dt.timedelta(days=1))
        if p.agent != agent and not p.stop:
            cut = max(cut, p.date + dt.timedelta(days=1))
    course = [d for d in doses if d.agent == agent and d.date >= cut]
    agent_plans = [p for p in plans if p.agent == agent and not p.stop and p.date >= cut]
    return Course(
        agent=agent,
        stopped=stopped,
        plan=agent_plans[-1] if agent_plans else None,
        doses=course,
        stop_date=last_plan.date if stopped and last_plan is not None else None,
    )


def route_of(course: Course) -> str | None:
    assert course.agent is not None
    for d in reversed(course.doses):
        if d.route is not None:
            return d.route
    if course.plan is not None and course.plan.route is not None:
        return course.plan.route
    routes: list[str] = agent_table(course.agent)["routes"]
    return routes[0] if len(routes) == 1 else None


# --- Creatinine clearance and dose ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clearance:
    value: CreatinineClearance | None
    creatinine: Lab | None
    basis: str


def clearance(record: Record, day: dt.date, what: str) -> Clearance:
    """Cockcroft-Gault from the creatinine and weight latest on or before `day` (never guessed)."""
    creat = latest_lab(record, "creatinine", day)
    weight = latest_weight(record, day)
    age = age_on(record, day)
    missing = []
    if creat is None:
        missing.append("creatinine")
    if weight is None:
        missing.append("weight")
    if age is None:
        missing.append("birth date")
    if creat is None or weight is None or age is None:
        return Clearance(
            None,
            creat,
            f"Creatinine clearance unknown: no {' or '.join(missing)} on record "
            f"on or before {day} ({what}).",
        )
    try:
        crcl = cockcroft_gault(
            age=age,
            weight_kg=weight.kg,
            sex=record.demographics.sex,
            creatinine=creat.value,
            creatinine_unit=creat.unit,
        )
    except InputError as exc:
        # Inputs the formula refuses (a minor on that day, an implausible weight or creatinine
        # kept in a stored record) make the clearance unknown, as a missing input does: the
        # dose checks then ask for it, and the record still opens.
        where = {"age": "demographics.birth_date", "weight_kg": "demographics.weights"}
        field = where.get(exc.field, f"labs.creatinine ({creat.date})")
        return Clearance(
            None, creat, f"Creatinine clearance unknown: {field}: {exc.message} ({what})."
        )
    sex_note = "" if record.demographics.sex else ", sex unknown: female factor used"
    basis = (
        f"CrCl {crcl.value:g} mL/min (Cockcroft-Gault{sex_note}, creatinine {creat.value:g} "
        f"{creat.unit} on {creat.date}, weight {weight.kg:g} kg on {weight.date}, age {age}; "
        f"{what})"
    )
    return Clearance(crcl, creat, basis)


def band_for(bands: list[dict[str, Any]], crcl: float) -> dict[str, Any]:
    for band in bands:
        low = float(band["min"])
        if crcl > low or (crcl == low and not band.get("min_exclusive", False)):
            return band
    return bands[-1]


@dataclass(frozen=True, slots=True)
class DoseResult:
    dose: Dose
    check: Check | None  # creatinine_clearance, when the dose depends on it


def dose_for(record: Record, course: Course, route: str | None, as_of: dt.date) -> DoseResult:
    assert course.agent is not None
    agent = agent_table(course.agent)
    unit: str = agent["unit"]
    if agent["dose_by"] == "fixed":
        return DoseResult(
            Dose(
                value=float(agent["fixed_dose"]),
                unit=unit,
                basis=f"{agent['fixed_dose']:g} mg {agent['infusion']}; no dose adjustment "
                "for kidney function.",
                frequency=f"every {agent['default_interval_weeks']} weeks",
                sources=agent["dose_sources"],
                evidence=agent["dose_evidence"],
            ),
            None,
        )
    spec = agent
    if "bands" not in agent:
        if route is None:
            return DoseResult(
                Dose(
                    value=None, unit=unit, basis=f"Route of {agent['label']} unknown (IV or oral)."
                ),
                Check(
                    check="creatinine_clearance",
                    status="missing",
                    detail="The route (iv or oral) is not on the record; it decides the dose.",
                ),
            )
        spec = agent[route]
    if agent["dose_by"] == "baseline":
        ref = course.doses[0].date if course.doses else as_of
        what = (
            f"baseline before the first dose on {ref}" if course.doses else "before the first dose"
        )
    else:
        ref, what = as_of, "latest"
    cl = clearance(record, ref, what)
    sources = [*spec["dose_sources"], "cockcroft-gault-1976"]
    evidence: str = spec["dose_evidence"]
    if cl.value is None:
        return DoseResult(
            Dose(value=None, unit=unit, basis=cl.basis, sources=sources, evidence=evidence),
            Check(
                check="creatinine_clearance",
                status="missing",
                detail=cl.basis,
                sources=sources,
                evidence=evidence,
                unverified=flag(evidence),
            ),
        )
    band = band_for(spec["bands"], cl.value.value)
    caveats = " ".join(cl.value.caveats)
    if band.get("dose") == "withhold" or "dose" not in band:
        note = band.get("note", "no dose is given at this clearance")
        return DoseResult(
            Dose(
                value=None,
                unit=unit,
                basis=f"{cl.basis}: {note}.",
                crcl_ml_min=cl.value.value,
                sources=sources,
                evidence=evidence,
            ),
            Check(
                check="creatinine_clearance",
                status="fail",
                detail=f"{cl.basis}: {label(course.agent)} {note}; withhold.",
                sources=sources,
                evidence=evidence,
                unverified=flag(evidence) or "[U]" in note,
            ),
        )
    value = float(band["dose"])
    frequency = band.get("frequency")
    basis = (
        cl.basis
        + (f" {band['note']}." if "note" in band else "")
        + (f" {caveats}" if caveats else "")
    )
    return DoseResult(
        Dose(
            value=value,
            unit=unit,
            basis=basis,
            frequency=frequency,
            crcl_ml_min=cl.value.value,
            sources=sources,
            evidence=evidence,
        ),
        Check(
            check="creatinine_clearance",
            status="pass",
            detail=cl.basis,
            sources=sources,
            evidence=evidence,
            unverified=flag(evidence),
        ),
    )


# --- Checks ---------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{round(value, 3):g}"


def renal_function(
    record: Record, course: Course, route: str | None, as_of: dt.date
) -> Check | None:
    """Creatinine before each IV bisphosphonate dose, and the label's withhold/resume rule."""
    assert course.agent is not None
    agent = agent_table(course.agent)
    before_dose = bool(agent["creatinine_before_dose"]) and route == "iv"
    rise_rule = bool(agent["kidney_rise_rule"])
    if not before_dose and not rise_rule:
        return None
    rule = table()["kidney_rise"]
    window = table()["creatinine_before_dose"]
    sources = unique(list(rule["sources"]) + list(window["sources"]))
    creatinines = labs_of(record, "creatinine")
    latest = creatinines[-1] if creatinines else None

    def check(
        status: CheckStatus, detail: str, date: dt.date | None = None, ev: str = "V"
    ) -> Check:
        return Check(
            check="renal_function",
            status=status,
            date=date,
            detail=detail,
            sources=sources,
            evidence=ev,
            unverified=flag(ev),
        )

    if latest is None:
        return check("missing", "No creatinine on the record: one is needed before each dose.")
    if rise_rule and course.doses:
        first = course.doses[0].date
        before = [c for c in creatinines if c.date <= first]
        if not before:
            return check(
                "missing",
                f"No creatinine on or before the first dose on {first}: the baseline for the "
                "kidney rule is unknown.",
                latest.date,
            )
        baseline = before[-1]
        unit = baseline.unit
        base = baseline.value
        normal = base < float(rule["normal_baseline_below"][unit])
        limit = float(
            (rule["rise_normal_baseline"] if normal else rule["rise_abnormal_baseline"])[unit]
        )
        resume_at = round(base * (1 + float(rule["resume_within_fraction"])), _ROUND)
        withheld_on: Lab | None = None
        resumed_on: Lab | None = None
        for c in creatinines[len(before) :]:
            value = round(in_unit(c, unit), _ROUND)
            if withheld_on is not None:
                if value <= resume_at:
                    withheld_on, resumed_on = None, c
            elif round(value - base, _ROUND) >= limit:
                withheld_on = c
        kind = "normal" if normal else "abnormal"
        if withheld_on is not None:
            now = round(in_unit(latest, unit), _ROUND)
            return check(
                "fail",
                f"Creatinine rose {_fmt(round(in_unit(withheld_on, unit), _ROUND) - base)} {unit} "
                f"(to {_fmt(in_unit(withheld_on, unit))} on {withheld_on.date}) from the {kind} "
                f"baseline {_fmt(base)} {unit} (on {baseline.date}; the rule is a rise of "
                f"{_fmt(limit)} {unit}): withhold until within 10% of baseline "
                f"(at most {_fmt(resume_at)} {unit}); latest {_fmt(now)} {unit} on {latest.date}.",
                latest.date,
            )
        resumed = (
            f" Back within 10% of baseline on {resumed_on.date}: resume at the same dose as before."
            if resumed_on is not None
            else ""
        )
        base_text = f"baseline {_fmt(base)} {unit} on {baseline.date} ({kind})"
    else:
        resumed, base_text = "", "no dose yet: this is the baseline"
    lookback = int(window["lookback_days"])
    if before_dose and (as_of - latest.date).days > lookback:
        return check(
            "missing",
            f"Latest creatinine {_fmt(latest.value)} {latest.unit} on {latest.date} is more than "
            f"{lookback} days old: measure it before the next dose [P: look-back window].",
            latest.date,
            ev=window["evidence"],
        )
    return check(
        "pass",
        f"Creatinine {_fmt(latest.value)} {latest.unit} on {latest.date}; {base_text}.{resumed}",
        latest.date,
    )


def calcium_check(agent_name: str, calcium: CalciumFinding | None, as_of: dt.date) -> Check:
    agent = agent_table(agent_name)
    window = table()["calcium_before_dose"]
    blocking = bool(agent["withhold_on_low_calcium"])
    sources = unique(list(agent["low_calcium_sources"]) + list(window["lookback_sources"]))
    ev: str = agent["low_calcium_evidence"]

    def check(status: CheckStatus, detail: str, evidence: str = ev) -> Check:
        return Check(
            check="calcium",
            status=status,
            date=calcium.date if calcium else None,
            detail=detail,
            sources=sources,
            evidence=evidence,
            unverified=flag(evidence),
        )

    if calcium is None:
        return check("missing", "No calcium on the record.")
    if calcium.state == "low":
        action = "correct it before the next dose; withhold meanwhile" if blocking else "correct it"
        return check("fail", f"Low calcium: {calcium.text}: {action}.")
    lookback = int(window["lookback_days"])
    if calcium.date is None or (as_of - calcium.date).days > lookback:
        return check(
            "missing",
            f"Latest calcium ({calcium.text}) is more than {lookback} days old: measure it before "
            "the next dose.",
            window["lookback_evidence"],
        )
    return check("pass", calcium.text)


def dental_check(record: Record, course: Course, as_of: dt.date) -> Check:
    spec = table()["dental"]
    ref = course.doses[0].date if course.doses else as_of
    exams = sorted(record.dental_exams, key=lambda e: e.date)
    before = [e for e in exams if e.date <= ref]
    common: dict[str, Any] = {
        "check": "dental_exam",
        "sources": spec["sources"],
        "evidence": spec["evidence"],
    }
    if before:
        return Check(status="done", date=before[-1].date, **common)
    if exams:
        return Check(
            status="done",
            date=exams[0].date,
            detail=f"Dental exam on {exams[0].date}, after the first dose on {ref}.",
            **common,
        )
    return Check(
        status="missing",
        detail="No dental exam on the record: advised, with preventive dentistry, before the "
        "first dose.",
        **common,
    )


def supplement_check(record: Record, as_of: dt.date, calcium: CalciumFinding | None) -> Check:
    spec = table()["supplements"]
    minimum = {
        "calcium": float(spec["calcium_mg_min"]),
        "vitamin_d": float(spec["vitamin_d_iu_min"]),
    }
    units = {"calcium": "mg", "vitamin_d": "IU"}
    names = {"calcium": "calcium", "vitamin_d": "vitamin D"}
    states: list[CheckStatus] = []
    details: list[str] = []
    for kind in ("calcium", "vitamin_d"):
        reports = sorted((s for s in record.supplements if s.kind == kind), key=lambda s: s.date)
        need = f"{minimum[kind]:g} {units[kind]}"
        if not reports:
            states.append("unknown")
            details.append(f"{names[kind]}: not recorded (need at least {need} a day)")
            continue
        last = reports[-1]
        if last.active is False or (last.stopped is not None and last.stopped <= as_of):
            states.append("fail")
            details.append(
                f"{names[kind]}: not taking (reported {last.date}; need at least {need} a day)"
            )
        elif last.daily_amount is None:
            states.append("unknown")
            details.append(f"{names[kind]}: dose not recorded (reported {last.date})")
        elif last.daily_amount < minimum[kind]:
            states.append("fail")
            details.append(
                f"{names[kind]}: {last.daily_amount:g} {units[kind]} a day, below {need}"
            )
        else:
            states.append("pass")
            details.append(f"{names[kind]}: {last.daily_amount:g} {units[kind]} a day")
    status: CheckStatus = (
        "fail" if "fail" in states else "unknown" if "unknown" in states else "pass"
    )
    detail = "; ".join(details) + "."
    if calcium is not None and calcium.state == "high" and status != "pass":
        detail += " Calcium is high: supplements are not advised while hypercalcaemia lasts."
    return Check(
        check="calcium_vitamin_d_supplement",
        status=status,
        detail=detail,
        sources=spec["sources"],
        evidence=spec["evidence"],
    )


# --- Warnings and suggestions ---------------------------------------------------------------------


def _active(record: Record, code: str) -> bool:
    return any(c.code == code and c.resolved is None for c in record.conditions)


def _warn(rule: str, text: str, spec: dict[str, Any]) -> Suggestion:
    ev: str = spec["evidence"]
    suffix = " [unverified]" if flag(ev) else ""
    return Suggestion(text=text + suffix, rule=rule, sources=spec["sources"], evidence=ev)


def warnings_for(record: Record, course: Course, as_of: dt.date) -> list[Suggestion]:
    data = table()
    out: list[Suggestion] = []
    if course.agent is None:
        return out
    if _active(record, "pregnancy"):
        out.append(
            _warn(
                "bma.pregnancy",
                f"Pregnancy is recorded: {label(course.agent)} is not for use in pregnancy; "
                "review before any further dose.",
                data["pregnancy"],
            )
        )
    if course.agent == "denosumab" and not course.stopped:
        spec = data["denosumab_low_clearance"]
        threshold = float(spec["crcl_below"])
        dialysis = _active(record, "dialysis")
        cl = clearance(record, as_of, "latest")
        if dialysis or (cl.value is not None and cl.value.value < threshold):
            why = "on dialysis" if dialysis else cl.basis
            out.append(
                _warn(
                    "bma.denosumab_low_clearance",
                    f"Denosumab with CrCl below {threshold:g} mL/min or dialysis ({why}): monitor "
                    "calcium closely (higher risk of severe hypocalcaemia).",
                    spec,
                )
            )
        elif cl.value is None:
            out.append(
                _warn(
                    "bma.denosumab_clearance_unknown",
                    f"{cl.basis} Below {threshold:g} mL/min (or on dialysis) denosumab needs close "
                    "calcium monitoring.",
                    spec,
                )
            )
    if course.agent == "denosumab" and course.stopped:
        out.append(
            _warn(
                "bma.denosumab_stopped",
                f"Denosumab stopped on {course.stop_date}: multiple vertebral fractures may follow "
                "stopping it; discuss follow-on treatment.",
                data["denosumab_stop"],
            )
        )
    if course.doses and not course.stopped:
        invasive = [
            p
            for p in record.dental_procedures
            if p.date >= course.doses[0].date
            and p.invasive is not False
            and p.kind in ("extraction", "implant", "periodontal_surgery")
        ]
        if invasive:
            p = invasive[-1]
            out.append(
                _warn(
                    "bma.dental_procedure",
                    f"Invasive dental procedure ({p.kind}) on {p.date} during treatment: higher "
                    "risk of osteonecrosis of the jaw; watch for jaw symptoms.",
                    data["dental"],
                )
            )
    return out


def suggestions_for(course: Course, interval: float | None, as_of: dt.date) -> list[Suggestion]:
    spec = table()["de_escalation"]
    agent = course.agent
    if agent is None or agent != spec["agent"] or course.stopped or not course.doses:
        return []
    if interval is None:
        return []
    if interval > float(spec["max_interval_weeks"]):
        return []
    start = course.doses[0].date
    if add_months(start, int(spec["after_months"])) > as_of:
        return []
    text = (
        f"After {spec['after_months']} months of {interval:g}-weekly {label(agent)} "
        f"(since {start}), {spec['suggested_interval_weeks']}-weekly dosing is an option."
    )
    return [
        Suggestion(
            text=text, rule="bma.de_escalation", sources=spec["sources"], evidence=spec["evidence"]
        )
    ]


# --- The BMA answer -------------------------------------------------------------------------------


def assess_bma(
    record: Record,
    as_of: dt.date,
    *,
    bone_metastases: bool,
    calcium: CalciumFinding | None,
    course: Course | None = None,
) -> Bma:
    """The BMA answer; `course` is `current_course(record)` when the caller already has it."""
    if course is None:
        course = current_course(record)
    if course.agent is None:
        if not bone_metastases:
            return Bma(
                agent=None,
                status="not_indicated",
                status_reason="No bone metastases on the record.",
            )
        empty = Course(agent=None, stopped=False, plan=None, doses=[])
        return Bma(
            agent=None,
            status="not_started",
            checks=[dental_check(record, empty, as_of), supplement_check(record, as_of, calcium)],
            status_reason="Bone metastases and no bone-modifying agent on the record.",
        )
    agent = agent_table(course.agent)
    last = course.doses[-1] if course.doses else None
    warnings = warnings_for(record, course, as_of)
    if course.stopped:
        return Bma(
            agent=course.agent,
            status="stopped",
            last_dose=last.date if last else None,
            warnings=warnings,
            status_reason=f"Stopped on {course.stop_date}.",
        )
    route = route_of(course)
    oral = route == "oral"
    interval: float | None = None
    if not oral:
        planned = course.plan.interval_weeks if course.plan is not None else None
        interval = planned if planned is not None else float(agent["default_interval_weeks"])
    dose = dose_for(record, course, route, as_of)
    checks: list[Check] = [dental_check(record, course, as_of)]
    renal = renal_function(record, course, route, as_of)
    if renal is not None:
        checks.append(renal)
    if dose.check is not None:
        checks.append(dose.check)
    checks.append(calcium_check(course.agent, calcium, as_of))
    checks.append(supplement_check(record, as_of, calcium))

    next_due: dt.date | None = None
    status: BmaStatus
    reason: str
    window = int(table()["timing"]["due_window_days"])
    if last is None:
        status, reason = (
            "not_started",
            "A bone-modifying agent is planned; no dose is recorded yet.",
        )
    elif oral or interval is None:
        status, reason = "not_due", "Taken by mouth: no dose date is due."
    else:
        next_due = last.date + dt.timedelta(days=round(interval * 7))
        if as_of > next_due:
            status, reason = "overdue", f"Due on {next_due}."
        elif (next_due - as_of).days <= window:
            status, reason = "due", f"Due on {next_due}."
        else:
            status, reason = "not_due", f"Next dose due on {next_due}."
    failed = [c for c in checks if c.check in BLOCKING_CHECKS and c.status == "fail"]
    no_recent_creatinine = (
        renal is not None and renal.status == "missing" and status in ("due", "overdue")
    )
    if failed:
        status = "withhold"
        reason = " ".join(c.detail or c.check for c in failed)
    elif no_recent_creatinine:
        status = "withhold"
        reason = renal.detail if renal is not None and renal.detail else "No recent creatinine."
    suggestions = suggestions_for(course, interval, as_of)
    return Bma(
        agent=course.agent,
        status=status,
        last_dose=last.date if last else None,
        interval_weeks=interval,
        next_due=next_due,
        dose=dose.dose,
        checks=checks,
        suggestions=[s.text for s in suggestions],
        suggestion_details=suggestions,
        warnings=warnings,
        route=route,
        course_start=course.doses[0].date if course.doses else None,
        status_reason=reason,
    )
