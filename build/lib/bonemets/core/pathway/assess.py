"""`assess(record, as_of)`: what the care pathway asks for on one day.

The contract: shared/spec/assessment.md.
"""

from __future__ import annotations

import datetime as dt

from bonemets.core.levels import most_urgent
from bonemets.core.pathway.alerts import (
    calcium_finding,
    lab_alerts,
    latest_report,
    pathway_alerts,
    run_triage,
    triage_alerts,
    triage_input,
)
from bonemets.core.pathway.bma import assess_bma, current_course
from bonemets.core.pathway.facts import age_on
from bonemets.core.pathway.lesions import assess_lesions
from bonemets.core.pathway.models import Assessment, PathwaySettings, PatientSummary
from bonemets.core.pathway.monitoring import assess_monitoring
from bonemets.core.pathway.red_flags import open_red_flags, report_symptoms
from bonemets.core.record import Record, SymptomReport
from bonemets.core.triage import TriageResult, triage


def bone_metastases(record: Record) -> bool | None:
    """True when the record shows bone metastases; False only when it says there are none."""
    cancer = record.cancer
    if record.lesions or (cancer is not None and cancer.bone_metastases_date is not None):
        return True
    if cancer is not None:
        return cancer.bone_metastases
    return None


def _triage_of(record: Record, report: SymptomReport) -> TriageResult:
    """An earlier report triaged as it stood on its day (for the red flags it raised)."""
    then = record.as_of(report.date)
    data = triage_input(then, report.date, current_course(then), bone_metastases(then))
    data["symptoms"], data["free_text"] = list(report.symptoms), report.free_text
    return triage(data)


def assess(record: Record, as_of: dt.date, settings: PathwaySettings | None = None) -> Assessment:
    """Assess `record` on `as_of`. Nothing dated after `as_of` is read."""
    return assess_with_triage(record, as_of, settings)[0]


def assess_with_triage(
    record: Record, as_of: dt.date, settings: PathwaySettings | None = None
) -> tuple[Assessment, TriageResult]:
    """`assess`, and the triage result of the latest symptom report (with the record's context)
    that its alerts came from: the patient portal shows it in full."""
    settings = settings or PathwaySettings()
    record = record.as_of(as_of)  # the one place the record is cut: later code sees no future
    mets = bone_metastases(record)
    # Triage needs the current course; the BMA checks need the calcium triage graded.
    course = current_course(record)
    today = latest_report(record, as_of)
    carried = open_red_flags(record, today[0] if today else None, lambda r: _triage_of(record, r))
    triaged = run_triage(record, as_of, course, mets, carried)
    bma = assess_bma(
        record,
        as_of,
        bone_metastases=mets is True,
        calcium=calcium_finding(triaged),
        course=course,
    )
    monitoring = assess_monitoring(record, as_of, settings)
    lesions = assess_lesions(record)
    alerts = (
        triage_alerts(
            triaged,
            [*(report_symptoms(today[1]) if today else []), *carried],
            today[1].date if today else None,
        )
        + lab_alerts(record, bma)
        + pathway_alerts(record, as_of, bma, monitoring, lesions)
    )
    alerts.sort(key=lambda a: -a.level.rank)
    assessment = Assessment(
        patient=PatientSummary(
            id=record.id, age=age_on(record, as_of), sex=record.demographics.sex
        ),
        as_of=as_of,
        level=most_urgent([a.level for a in alerts]),
        alerts=alerts,
        bma=bma,
        monitoring=monitoring,
        lesions=lesions,
    )
    return assessment, triaged
