"""Alerts: labs, red flags from the latest symptom report (through the triage engine), pathway gaps.

Calcium, and platelets and haemoglobin at CTCAE grade 3 or worse, are judged by the triage engine's
lab rules, the one implementation of them; this module adds the lab alerts triage does not make
(platelets and haemoglobin grades 1-2, creatinine, a rising alkaline phosphatase) and the pathway
gaps. Levels and sources come from ``knowledge/monitoring.toml``.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any, Literal

from bonemets.core.bounds import MAX_TEXT
from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.labs import Sex, ctcae_grade
from bonemets.core.levels import Level
from bonemets.core.pathway.bma import Course, measure_before_dose
from bonemets.core.pathway.facts import (
    CalciumFinding,
    add_months,
    age_on,
    flag,
    in_unit,
    labs_of,
    unique,
)
from bonemets.core.pathway.freshness import fresh
from bonemets.core.pathway.models import Alert, AlertSymptom, Bma, LesionResult, MonitoringItem
from bonemets.core.record import SPINAL_SITES, Lab, Record, SymptomReport
from bonemets.core.triage import TriageResult, triage
from bonemets.core.triage.context import labs_read
from bonemets.core.triage.models import Symptom

UNVERIFIED = " [unverified: rests on an unverified number or a bonemets policy choice]"
CALCIUM_CODES = ("calcium_ionized", "calcium_corrected", "calcium_total")  # preference on a tie


@cache
def table() -> dict[str, Any]:
    data: dict[str, Any] = load("monitoring")
    for name, entry in data["alerts"].items():
        check_source_ids(entry["sources"], f"monitoring.alerts.{name}")
    return data


def _alert(
    key: str,
    rule: str,
    message: str,
    level: Level | None = None,
    because: list[str] | None = None,
    grade: int | None = None,
) -> Alert:
    spec = table()["alerts"][key]
    ev: str = spec["evidence"]
    return Alert(
        rule=rule,
        level=level if level is not None else Level(spec["level"]),
        message=message + (UNVERIFIED if flag(ev) else ""),
        sources=list(spec["sources"]),
        evidence=ev,
        unverified=flag(ev),
        because=because or [],
        grade=grade,
    )


# --- The triage engine ----------------------------------------------------------------------------


def latest_report(record: Record, as_of: dt.date) -> tuple[int, SymptomReport] | None:
    """The latest symptom report, if it is recent enough to speak for today."""
    if not record.symptom_reports:
        return None
    index, report = max(enumerate(record.symptom_reports), key=lambda item: (item[1].date, item[0]))
    if (as_of - report.date).days > int(table()["symptoms"]["max_age_days"]):
        return None
    return index, report


def _known(record: Record, kind: str, as_of: dt.date) -> bool | None:
    """True when a treatment of `kind` is going on; False when all have stopped; None when not
    known (none recorded, or ended on an unknown date: the less reassuring reading)."""
    entries = [t for t in record.treatments if t.kind == kind]
    if not entries:
        return None
    if any(not t.ended and (t.stop is None or t.stop > as_of) for t in entries):
        return True
    return None if any(t.ended and t.stop is None for t in entries) else False


def _days_since_stopped(record: Record, kind: str, as_of: dt.date) -> int | None:
    """Days since the last course of `kind` stopped, when every recorded course has stopped."""
    entries = [t for t in record.treatments if t.kind == kind and t.start <= as_of]
    if not entries or any(t.stop is None or t.stop > as_of for t in entries):
        return None
    return min((as_of - t.stop).days for t in entries if t.stop is not None)


def triage_input(
    record: Record, as_of: dt.date, course: Course, bone_metastases: bool | None
) -> dict[str, Any]:
    """The triage contract's input (shared/spec/triage.md) built from the record on `as_of`."""
    spinal: bool | None = True if any(x.site in SPINAL_SITES for x in record.lesions) else None
    if spinal is None and bone_metastases is False:
        spinal = False
    bma_context = None
    if course.agent is not None:
        started = course.doses[0].date if course.doses and not course.stopped else None
        last = course.doses[-1].date if course.doses else None
        bma_context = {"agent": course.agent, "started": started, "last_dose": last}
    patient = {
        "age": age_on(record, as_of),
        "sex": record.demographics.sex,
        "cancer_history": True if record.cancer is not None else None,
        "bone_metastases": bone_metastases,
        "spinal_metastases": spinal,
        "bma": bma_context,
        "on_chemotherapy": _known(record, "chemotherapy", as_of),
        "on_opioids": _known(record, "opioid", as_of),
        "central_line": _known(record, "central_line", as_of),
        # Acute oncology (issue 21): the other systemic treatments UKONS grades, as recorded.
        "on_immunotherapy": _known(record, "immunotherapy", as_of),
        "on_targeted_therapy": _known(record, "targeted_therapy", as_of),
        "on_radiotherapy": _known(record, "radiotherapy", as_of),
        "days_since_chemotherapy": _days_since_stopped(record, "chemotherapy", as_of),
    }
    found = latest_report(record, as_of)
    symptoms: list[Symptom] = []
    free_text = None
    if found is not None:
        report = found[1]
        symptoms = list(report.symptoms)  # the contract's own Symptom models, already validated
        # A stored report is assessed whatever its length (the triage contract bounds what a
        # report may send, not what a record written before or elsewhere may hold).
        free_text = report.free_text[:MAX_TEXT] if report.free_text else None
    # Only the labs triage reads: a two-year history would otherwise be validated again on every
    # assessment for nothing.
    # Only current values: a confirmed result older than its window (freshness) speaks for its
    # own day, not today (an 8-year-old low calcium raises nothing now).
    current = fresh(record.labs, as_of)
    labs = [_triage_lab(lab) for lab in labs_read(current)]  # tumour markers are not read
    return {
        "as_of": as_of,
        "patient": patient,
        "symptoms": symptoms,
        "labs": labs,
        "free_text": free_text,
    }


def _triage_lab(lab: Lab) -> dict[str, Any]:
    out: dict[str, Any] = {"code": lab.code, "value": lab.value, "unit": lab.unit, "date": lab.date}
    if lab.lower_limit is not None:
        out["lower_limit"] = lab.lower_limit
    if lab.upper_limit is not None:
        out["upper_limit"] = lab.upper_limit
    if lab.reported_by_patient:
        out["reported_by_patient"] = True
    return out


def run_triage(
    record: Record,
    as_of: dt.date,
    course: Course,
    bone_metastases: bool | None,
    carried: list[Symptom] | None = None,
) -> TriageResult:
    """The single call into the triage engine: the latest report's symptoms (if recent), and the
    red flags of earlier reports still open (`carried`, see red_flags.py)."""
    data = triage_input(record, as_of, course, bone_metastases)
    if carried:
        data["symptoms"] = [*data["symptoms"], *carried]
    try:
        return triage(data)
    except InputError as exc:
        found = latest_report(record, as_of)
        if exc.field.startswith("symptoms") and found is not None:
            raise InputError(f"symptom_reports[{found[0]}].{exc.field}", exc.message) from None
        raise


def calcium_finding(result: TriageResult) -> CalciumFinding | None:
    """The latest confirmed calcium as triage graded it (ionised, then corrected, preferred on a
    tie). A value the patient typed in never passes or fails a dose check."""
    findings = [
        f
        for f in result.lab_findings
        if f.code in CALCIUM_CODES and f.date is not None and not f.reported_by_patient
    ]
    if not findings:
        return None
    best = max(findings, key=lambda f: (f.date or dt.date.min, -CALCIUM_CODES.index(f.code)))
    label = {
        "calcium_ionized": "ionised calcium",
        "calcium_corrected": "corrected calcium",
        "calcium_total": "total calcium (uncorrected)",
    }[best.code]
    text = f"{label} {best.value:g} {best.unit} on {best.date}"
    state: Literal["low", "high", "normal"] = "normal"
    if best.grade and best.criterion:
        text += f", CTCAE grade {best.grade} {best.criterion}"
        state = "low" if best.criterion.startswith("hypo") else "high"
    if best.note and best.code == "calcium_total":
        text += f" ({best.note})"
    return CalciumFinding(date=best.date, state=state, text=text)


# The lab criteria behind each lab rule of the triage engine, for the alert's grade.
_RULE_CRITERIA = {
    "labs.hypercalcaemia": ("hypercalcaemia",),
    "labs.hypocalcaemia": ("hypocalcaemia",),
    "labs.platelets_low": ("platelets_decreased",),
    "labs.anaemia_severe": ("anaemia",),
}


def _grade_of(rule: str, result: TriageResult) -> int | None:
    criteria = _RULE_CRITERIA.get(rule)
    if criteria is None:
        return None
    grades = [
        f.grade
        for f in result.lab_findings
        if f.grade and f.criterion is not None and f.criterion.startswith(criteria)
    ]
    return max(grades, default=None)


def triage_alerts(
    result: TriageResult, symptoms: list[Symptom], report_date: dt.date | None = None
) -> list[Alert]:
    """The triage reasons as alerts, each with the reported symptoms it is about (`symptoms`:
    what triage was given; those without `reported_on` are from the report of `report_date`)
    and, for lab rules, the grade."""
    out: list[Alert] = []
    for reason in result.reasons:
        about = [
            AlertSymptom(
                code=s.code,
                site=s.site,
                severity=s.severity,
                trend=s.trend,
                reported=s.reported_on or report_date,
                carried=s.reported_on is not None,
            )
            for s in symptoms
            if s.code in reason.symptoms and s.severity > 0
        ]
        message = "; ".join(reason.because) + "."
        if not reason.rule.startswith("labs."):
            # The inputs first (what a clinician scans for), then why the rule cares.
            message += " " + reason.explanation.split(". ")[0].rstrip(".") + "."
        out.append(
            Alert(
                rule=reason.rule,
                level=reason.level,
                message=message,
                sources=list(reason.sources),
                evidence=reason.evidence,
                unverified=reason.unverified,
                because=list(reason.because),
                symptoms=about,
                grade=_grade_of(reason.rule, result),
            )
        )
    return out


# --- Lab alerts triage does not make --------------------------------------------------------------


def _sex(record: Record) -> Sex | None:
    return record.demographics.sex


def _graded(record: Record, key: str, lab: Lab, baseline: float | None = None) -> tuple[int, str]:
    spec = table()["alerts"][key]
    g = ctcae_grade(
        spec["criterion"],
        lab.value,
        lab.unit,
        lower_limit=lab.lower_limit,
        upper_limit=lab.upper_limit,
        baseline=baseline,
        sex=_sex(record),
        validated=True,  # record labs: units normalised and values checked when read
    )
    return g.grade, " ".join(g.caveats)


def lab_alerts(record: Record, bma: Bma, as_of: dt.date | None = None) -> list[Alert]:
    """Lab alerts on current values only (each analyte's freshness window before `as_of`)."""
    out: list[Alert] = []
    if as_of is not None:
        record = record.model_copy(update={"labs": fresh(record.labs, as_of)})
    for key, code, rule, name in (
        ("platelets", "platelets", "labs.platelets_decreased", "Platelets"),
        ("haemoglobin", "haemoglobin", "labs.anaemia", "Haemoglobin"),
    ):
        labs = labs_of(record, code)
        if not labs:
            continue
        lab = labs[-1]
        grade, caveat = _graded(record, key, lab)
        levels: dict[str, str] = table()["alerts"][key]["levels"]
        if str(grade) in levels:  # grades 3-4 are the triage engine's
            out.append(
                _alert(
                    key,
                    rule,
                    f"{name} {lab.value:g} {lab.unit} on {lab.date} (CTCAE grade {grade}). "
                    f"{caveat}".strip(),
                    Level(levels[str(grade)]),
                    grade=grade,
                )
            )
    creatinines = labs_of(record, "creatinine")
    if creatinines:
        lab = creatinines[-1]
        baseline = None
        if bma.course_start is not None:
            before = [c for c in creatinines if c.date <= bma.course_start]
            if before:
                baseline = in_unit(before[-1], lab.unit)
        grade, caveat = _graded(record, "creatinine", lab, baseline)
        if grade:
            levels = table()["alerts"]["creatinine"]["levels"]
            against = f", baseline {baseline:.3g} {lab.unit}" if baseline is not None else ""
            out.append(
                _alert(
                    "creatinine",
                    "labs.creatinine_increased",
                    f"Creatinine {lab.value:g} {lab.unit} on {lab.date} (CTCAE grade {grade}"
                    f"{against}). {caveat}".strip(),
                    Level(levels[str(grade)]),
                    grade=grade,
                )
            )
    alp = labs_of(record, "alkaline_phosphatase")
    if len(alp) >= 2:
        lab, previous = alp[-1], alp[-2]
        grade, caveat = _graded(record, "alkaline_phosphatase", lab)
        if grade and lab.value > previous.value and lab.date > previous.date:
            levels = table()["alerts"]["alkaline_phosphatase"]["levels"]
            out.append(
                _alert(
                    "alkaline_phosphatase",
                    "labs.alkaline_phosphatase_rising",
                    f"Alkaline phosphatase rising: {lab.value:g} U/L on {lab.date} (CTCAE grade "
                    f"{grade}) from {previous.value:g} U/L on {previous.date}; may signal "
                    f"progression, read with imaging. {caveat}".strip(),
                    Level(levels[str(grade)]),
                    grade=grade,
                )
            )
    return out


# --- Pathway gaps ---------------------------------------------------------------------------------


def pathway_alerts(
    record: Record,
    as_of: dt.date,
    bma: Bma,
    monitoring: list[MonitoringItem],
    lesions: list[LesionResult],
) -> list[Alert]:
    out: list[Alert] = []
    if bma.status == "not_started" and bma.agent is None:
        site = record.cancer.primary_site if record.cancer is not None else None
        other = (
            f" (the guidelines cited are for breast cancer; the primary here is {site}: check "
            "its own guideline)"
            if site is not None and site != "breast"
            else ""
        )
        out.append(
            _alert(
                "no_bma",
                "pathway.no_bma",
                "Bone metastases and no bone-modifying agent on the record: guidelines advise one "
                f"(denosumab, zoledronic acid or pamidronate) with or without symptoms{other}.",
            )
        )
    if bma.agent == "denosumab" and bma.status != "stopped":
        spec = table()["alerts"]["denosumab_no_calcium"]
        since = add_months(as_of, -int(spec["months"]))
        recent = [lab for lab in labs_of(record, *CALCIUM_CODES) if lab.date > since]
        if not recent:
            out.append(
                _alert(
                    "denosumab_no_calcium",
                    "pathway.denosumab_no_calcium",
                    f"On denosumab and no calcium measured in the last {spec['months']} months "
                    f"(since {since}): check calcium (severe hypocalcaemia can occur at any time).",
                )
            )
    if bma.status == "withhold":
        alert = _alert("bma_withhold", "bma.withhold", f"Withhold {bma.agent}: {bma.status_reason}")
        behind = [s for c in bma.checks if c.status in ("fail", "missing") for s in c.sources]
        out.append(alert.model_copy(update={"sources": unique([*behind, *alert.sources])}))
    # A withheld dose can also be overdue: say both, so waiting for a blood test does not hide
    # that the patient is now past the due date.
    if bma.status == "overdue" or (
        bma.status == "withhold" and bma.next_due is not None and bma.next_due < as_of
    ):
        held = " and is on hold (see the withhold alert)" if bma.status == "withhold" else ""
        regimen = (
            f" ({bma.regimen_label})"
            if bma.regimen_label and bma.indication not in (None, "bone_metastases")
            else ""
        )
        out.append(
            _alert(
                "bma_overdue",
                "bma.overdue",
                f"{bma.agent} dose overdue{regimen}: it was due on {bma.next_due}{held}.",
            )
        )
    tasks = measure_before_dose(bma)
    if tasks:
        names = {
            "renal_function": "creatinine",
            "creatinine_clearance": "creatinine clearance",
            "creatinine_clearance_current": "creatinine clearance",
            "calcium": "calcium",
        }
        wanted = unique(names[c.check] for c in tasks)
        alert = _alert(
            "measure_before_dose",
            "bma.measure_before_dose",
            f"Measure {' and '.join(wanted)} before the next {bma.agent} dose "
            f"(due {bma.next_due}): " + " ".join(c.detail or c.check for c in tasks),
        )
        behind = [s for c in tasks for s in c.sources]
        update: dict[str, Any] = {"sources": unique([*behind, *alert.sources])}
        if any(c.check == "creatinine_clearance_current" for c in tasks) and (
            bma.crcl_current_ml_min is not None and bma.crcl_current_ml_min < 30
        ):
            # The last clearance known was below 30 mL/min: the new one must be read before a
            # dose, so the task is raised where it gets read (H147).
            update["level"] = Level.SOON
        out.append(alert.model_copy(update=update))
    warning_keys = {
        "bma.pregnancy": "pregnancy",
        "bma.denosumab_low_clearance": "denosumab_low_clearance",
        "bma.denosumab_stopped": "denosumab_stopped",
        "bma.two_agents": "two_agents",
    }
    for warning in bma.warnings:
        if warning.rule in warning_keys:
            out.append(_alert(warning_keys[warning.rule], warning.rule, warning.text))
    for item in monitoring:
        if item.status == "overdue":
            out.append(
                _alert(
                    "monitoring_overdue",
                    f"monitoring.{item.test}_overdue",
                    f"{item.test.replace('_', ' ').capitalize()} overdue: last {item.last}, "
                    f"due {item.due} "
                    f"(every {item.interval_months:g} months).",
                )
            )
    for lesion in lesions:
        if lesion.mirels is not None and lesion.mirels.band == "fixation":
            out.append(
                _alert(
                    "mirels_fixation",
                    "lesions.mirels_fixation",
                    f"{lesion.site} lesion: Mirels {lesion.mirels.score} ({lesion.mirels.band}): "
                    f"{lesion.mirels.recommendation}",
                )
            )
        if lesion.sins is not None and lesion.sins.surgical_opinion:
            out.append(
                _alert(
                    "sins_unstable",
                    "lesions.sins_surgical_opinion",
                    f"{lesion.site} lesion: SINS {lesion.sins.score} ({lesion.sins.band}): "
                    f"{lesion.sins.recommendation}",
                )
            )
    return out
