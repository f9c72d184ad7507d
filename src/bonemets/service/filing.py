"""Filing into a patient's record: the one path every change takes.

A check-in, a clinician's form, an API call, a FHIR import and the demo all end in `_file` (or,
for entries already written in bulk, `settle`): the entries are stored with where they came from,
the record is assessed as it now stands, the report's triage is kept for the patient to see,
alerts are raised by `alerting.raise_alerts` (the one function that decides them), the worklist's
status is refreshed, and notifications go out once the transaction commits. All or nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.cache import RecordKey
from bonemets.adapters.storage.records import entry_date, parse_entry
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.errors import InputError
from bonemets.core.pathway import Assessment, assess_with_triage
from bonemets.core.pathway.orders import (
    DoseFinding,
    ProposedDose,
    check_plausible_dose,
    check_proposed,
    needs_override,
)
from bonemets.core.record import BmaDose, Lab, Record, SymptomReport
from bonemets.core.triage import TriageResult
from bonemets.service import alerting, notify, validation
from bonemets.service.audit import audited_input
from bonemets.service.care import (
    CLINICIAN_KINDS,
    PORTAL_ROLES,
    _cache_after_commit,
    _field_error,
    _record_after,
    _store_status,
    authorize_record,
    deny,
    refuse_nul,
)

# The lab values the patient portal offers; a patient may send these and no others, and they
# are filed as values the patient typed in (to confirm; never used for dosing or holds).
PATIENT_LAB_CODES = ("calcium_total", "albumin", "calcium_corrected", "platelets", "haemoglobin")
# Who filled a report in, by the role of the account that sent it (never what the sender says).
FILLED_IN_BY = {"patient": "patient", "carer": "carer"}
# How an entry came in.
ORIGINS = ("portal", "api", "clinician_form", "fhir_import", "demo", "cli")


class OverrideRequired(InputError):
    """A dose the pathway's checks advise against: recorded only with a clinician's reason."""

    def __init__(self, findings: list[DoseFinding]) -> None:
        self.findings = findings
        rules = ", ".join(f.rule for f in needs_override(findings))
        super().__init__(
            "override_reason",
            f"the pathway's checks advise against this dose ({rules}): give a reason to go ahead",
        )


def finding_json(finding: DoseFinding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "override": finding.override,
        "headline": finding.headline,
        "message": finding.message,
        "advised_dose": finding.advised_dose,
        "sources": finding.sources,
        "evidence": finding.evidence,
        "unverified": finding.unverified,
    }


@dataclass(frozen=True)
class Filed:
    entry_ids: list[int]
    assessment: Assessment
    result: TriageResult | None  # the report's triage, when a report was filed
    raised: alerting.Raised
    message_task: int | None = None  # the "read the patient's message" task opened, if any
    findings: list[DoseFinding] | None = None  # a dose's checks, as shown before saving

    @property
    def alert_id(self) -> int | None:
        return self.raised.alert.id if self.raised.alert is not None else None


def file_entries(
    db: Database,
    s: Session,
    settings: Settings,
    user: t.User | None,
    patient: t.Patient,
    key_before: RecordKey,
    added: list[tuple[str, BaseModel]],
    *,
    origin: str,
    override: dict[str, Any] | None = None,
    merge_into: int | None = None,
) -> Filed:
    assert origin in ORIGINS, origin
    before = db.records.get(patient.id, key_before)
    entries = [
        repo.add_entry(
            s,
            patient.id,
            kind,
            model,
            created_by=user.id if user is not None else None,
            origin=origin,
            override=override if kind == "bma_dose" else None,
        )
        for kind, model in added
    ]
    record, key = _record_after(s, patient, before, added)
    today = settings.today()
    assessment, result = assess_with_triage(record, today)
    reports = [e for e in entries if e.kind == "symptom_report"]
    raised = alerting.raise_alerts(
        s,
        settings,
        patient,
        assessment,
        kind="report" if reports else "record",
        entry_id=(reports or entries)[-1].id,
        merge_into=merge_into,
    )
    if reports:
        # What the patient is told about their team is the truth of this filing: an alert sent
        # over a channel, one already open, or one the team already dealt with.
        shown = result.to_dict()
        filled_by = next(
            (m.filled_in_by for k, m in reversed(added) if isinstance(m, SymptomReport)), None
        )
        if filled_by is not None:
            shown["filled_in_by"] = filled_by
        shown["care_team"] = {
            "alert_id": raised.alert.id if raised.alert is not None else None,
            "notified": raised.notified,
            "folded_into": raised.folded,
            "merged": merge_into is not None and raised.alert is not None,
        }
        repo.save_report_result(s, reports[-1].id, shown)
    task = None
    report = next((m for k, m in reversed(added) if isinstance(m, SymptomReport)), None)
    # Free text is never read as nothing: unless a new alert carries it to the team, the team
    # gets a task to read it.
    if report is not None and report.free_text and report.free_text.strip() and not raised.alert:
        task = alerting.open_task(
            s,
            settings,
            patient,
            kind="message",
            headline=f"Read the patient's message: {_snippet(report.free_text)}",
            entry_id=reports[-1].id,
        ).id
    _store_status(s, patient.id, today, assessment)
    _cache_after_commit(db, s, patient.id, key, record, (today, assessment))
    repo.after_commit(s, notify.wake)
    return Filed(
        entry_ids=[e.id for e in entries],
        assessment=assessment,
        result=result if reports else None,
        raised=raised,
        message_task=task,
    )


def _snippet(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- Symptom reports ----------------------------------------------------------------------------


def report_models(
    settings: Settings, user: t.User, data: dict[str, Any]
) -> tuple[list[Lab], SymptomReport]:
    """Validate a check-in (symptoms, optional lab values, free text) into the record's models.
    A patient may send only the lab values the portal offers, filed as typed in by them."""
    refuse_nul(data)
    validation.check_payload(data)
    today = settings.today()
    try:
        report = SymptomReport.model_validate(
            {
                "date": today.isoformat(),
                "symptoms": data.get("symptoms", []),
                "free_text": data.get("free_text") or None,
                "filled_in_by": FILLED_IN_BY.get(user.role, "care_team"),
            }
        )
    except ValidationError as exc:
        raise _field_error(exc) from None
    labs: list[Lab] = []
    by_patient = user.role in PORTAL_ROLES  # the patient, or a carer filling in for them
    for i, lab in enumerate(data.get("labs") or []):
        if not isinstance(lab, dict):
            raise InputError(f"labs[{i}]", "expected an object with code, value and unit")
        if by_patient and lab.get("code") not in PATIENT_LAB_CODES:
            raise InputError(
                f"labs[{i}].code",
                f"a patient may report only {', '.join(PATIENT_LAB_CODES)} (the check-in's "
                "values); other results come from the laboratory or the care team",
            )
        fields = {"date": today.isoformat(), **lab}
        if by_patient:
            fields["reported_by_patient"] = True
        try:
            labs.append(Lab.model_validate(fields))
        except ValidationError as exc:
            raise _field_error(exc, f"labs[{i}].") from None
        if labs[-1].date > today:
            raise InputError(f"labs[{i}].date", "a result cannot be dated in the future")
    validation.check_report(report, labs, today)
    return labs, report


@audited_input("write symptom report")
def submit_report(
    db: Database,
    settings: Settings,
    user: t.User,
    patient_id: str,
    data: dict[str, Any],
    *,
    s: Session | None = None,
    origin: str = "api",
    merge_into: int | None = None,
) -> Filed:
    """File a symptom report (with any lab values the patient has), triage it in the context of
    the record, alert the team when the level asks for it. All or nothing: in its own
    transaction, or in the caller's unit of work `s`."""
    labs, report = report_models(settings, user, data)
    with db.unit(s) as s:
        patient, key_before = authorize_record(db, s, user, patient_id, "write symptom report")
        added: list[tuple[str, BaseModel]] = [("lab", lab) for lab in labs]
        added.append(("symptom_report", report))
        return file_entries(
            db, s, settings, user, patient, key_before, added, origin=origin, merge_into=merge_into
        )


# --- Clinician entries --------------------------------------------------------------------------


def _proposed(model: BmaDose) -> ProposedDose:
    return ProposedDose(
        agent=model.agent, date=model.date, dose=model.dose, unit=model.unit, route=model.route
    )


def _parse(user: t.User, db: Database, patient_id: str, kind: str, data: dict[str, Any]) -> Any:
    if user.role not in ("clinician", "admin"):
        raise deny(db, user, patient_id, f"write {kind} (role {user.role})")
    if kind not in CLINICIAN_KINDS:
        raise InputError("kind", f"expected one of {', '.join(CLINICIAN_KINDS)}")
    refuse_nul(data)
    validation.check_payload(data)
    try:
        return parse_entry(kind, data)
    except ValidationError as exc:
        raise _field_error(exc) from None


def check_dose(
    db: Database, settings: Settings, user: t.User, patient_id: str, data: dict[str, Any]
) -> list[DoseFinding]:
    """What the pathway says about recording this dose, without recording it (the form shows
    it before saving; CDS order-sign runs the same `check_proposed`)."""
    model = _parse(user, db, patient_id, "bma_dose", data)
    validation.check_entry("bma_dose", model, settings.today())
    check_plausible_dose(_proposed(model), required=True)
    with db.transaction() as s:
        patient, key = authorize_record(db, s, user, patient_id, "read dose check")
        record = repo.cached_record(s, db.records, patient, key).record
    return check_proposed(record, _proposed(model))


@audited_input("write {kind}")
def record_entry(
    db: Database,
    settings: Settings,
    user: t.User,
    patient_id: str,
    kind: str,
    data: dict[str, Any],
    *,
    override_reason: str | None = None,
    origin: str = "clinician_form",
) -> Filed:
    """Add a dose, lab, lesion, dental exam, imaging test, resolution ... and reassess. A dose
    goes through the pathway's checks first: an implausible one is refused, and one the checks
    advise against needs `override_reason` (stored with the entry and audited). All or
    nothing."""
    model = _parse(user, db, patient_id, kind, data)
    today = settings.today()
    if entry_date(model) > today:
        raise InputError("date", f"{entry_date(model)} is in the future (today is {today})")
    validation.check_entry(kind, model, today)
    reason = (override_reason or "").strip()
    if reason:
        refuse_nul(reason, "override_reason")
    with db.transaction() as s:
        patient, key_before = authorize_record(db, s, user, patient_id, f"write {kind}")
        override = None
        findings = None
        if isinstance(model, BmaDose):
            check_plausible_dose(_proposed(model), required=True)
            record: Record = repo.cached_record(s, db.records, patient, key_before).record
            findings = check_proposed(record, _proposed(model))
            needing = needs_override(findings)
            if needing and not reason:
                raise OverrideRequired(findings)
            if needing:
                override = {
                    "reason": reason[:2000],
                    "rules": [f.rule for f in needing],
                    "by": user.username,
                    "at": t.utcnow().isoformat(),
                }
                repo.audit(
                    s,
                    user=user,
                    action="override",
                    what=f"dose of {model.agent} on {model.date} against "
                    f"{', '.join(override['rules'])}: {reason[:500]}",
                    patient_id=patient_id,
                )
        filed = file_entries(
            db, s, settings, user, patient, key_before, [(kind, model)],
            origin=origin, override=override,
        )  # fmt: skip
    return Filed(
        entry_ids=filed.entry_ids,
        assessment=filed.assessment,
        result=None,
        raised=filed.raised,
        findings=findings,
    )


# --- Entries written in bulk (FHIR import, the demo) --------------------------------------------


def settle(
    s: Session,
    settings: Settings,
    patient: t.Patient,
    record: Record,
    *,
    today: dt.date,
    report_window_days: int = 7,
) -> alerting.Raised:
    """After entries were written in bulk: keep each new report's triage (as of its own date)
    for the patient to see, then assess today and raise alerts like any other filing. A recent
    report's free text gets a task for the team like a check-in's."""
    rows = list(reversed(repo.entries(s, patient.id, ["symptom_report"])))
    done = repo.report_results(s, [e.id for e in rows])
    fresh_text: list[t.Entry] = []
    for entry in rows:
        if entry.id in done:
            continue
        _assessment, result = assess_with_triage(record, entry.date)
        repo.save_report_result(s, entry.id, result.to_dict())
        text = (entry.data.get("free_text") or "").strip()
        if text and (today - entry.date).days <= report_window_days:
            fresh_text.append(entry)
    assessment = assess_with_triage(record, today)[0]
    raised = alerting.raise_alerts(s, settings, patient, assessment, kind="record", entry_id=None)
    if raised.alert is None:
        for entry in fresh_text:
            alerting.open_task(
                s,
                settings,
                patient,
                kind="message",
                headline=f"Read the patient's message: {_snippet(entry.data['free_text'])}",
                entry_id=entry.id,
            )
    _store_status(s, patient.id, today, assessment)
    repo.after_commit(s, notify.wake)
    return raised
