"""Use cases of the care team and the patient. Each opens its own unit of work, checks access,
calls the clinical core, stores the outcome and writes the audit trail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from bonemets.adapters.storage import messages as message_store
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.cache import RecordKey, Slot
from bonemets.adapters.storage.records import KINDS, with_entries
from bonemets.adapters.storage.repository import Database, NotFound
from bonemets.config import Settings
from bonemets.core.errors import InputError
from bonemets.core.levels import Level
from bonemets.core.pathway import Assessment, assess
from bonemets.core.pathway.models import AlertSymptom
from bonemets.core.record import Record
from bonemets.core.triage.engine import input_error
from bonemets.service import validation, wording
from bonemets.service.audit import audited_input

# Who uses the patient portal: the patient, and a carer who acts for them (their own login and
# audit trail; `User.patient_id` is the patient they look after).
PORTAL_ROLES = ("patient", "carer")
# What a clinician may add to a record through the app (symptom reports come from patients).
CLINICIAN_KINDS = tuple(k for k in KINDS if k != "symptom_report")


class AccessDenied(LookupError):
    """Raised for a record the user may not see. Callers answer 404 whether or not it exists."""


def refuse_nul(value: Any, field: str = "input") -> None:
    """Text with the NUL character cannot be stored (PostgreSQL refuses it): say which field."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InputError(field, "text may not contain the NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(key, field)
            refuse_nul(item, f"{field}.{key}" if field != "input" else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            refuse_nul(item, f"{field}[{i}]")


def _field_error(exc: ValidationError, prefix: str = "") -> InputError:
    err = input_error(exc)
    return InputError(f"{prefix}{err.field}" if prefix else err.field, err.message)


# --- Access -------------------------------------------------------------------------------------


def may_access(user: t.User, patient: t.Patient) -> bool:
    if user.role == "admin":
        return True
    if user.role == "clinician":
        return user.team_id is not None and user.team_id == patient.team_id
    return user.role in PORTAL_ROLES and user.patient_id == patient.id


def deny(db: Database, user: t.User, patient_id: str | None, what: str) -> AccessDenied:
    """Record a refused attempt (in its own transaction, so it survives the caller's rollback);
    returns the exception for the caller to raise."""
    with db.transaction() as audit_s:
        repo.audit(
            audit_s, user=user, action="denied", what=what, patient_id=patient_id, allowed=False
        )
    return AccessDenied(patient_id or what)


def authorize(db: Database, s: Session, user: t.User, patient_id: str, what: str) -> t.Patient:
    """The patient, if `user` may act on the record; audited either way. A refusal is recorded
    in its own transaction (so it survives the caller's rollback) and looks like a missing
    record to the caller."""
    if not validation.lookup_safe(patient_id):  # no such record can exist: not looked up
        raise deny(db, user, patient_id, what)
    return _allow(db, s, user, s.get(t.Patient, patient_id), patient_id, what)


def authorize_record(
    db: Database, s: Session, user: t.User, patient_id: str, what: str
) -> tuple[t.Patient, RecordKey]:
    """`authorize`, reading the key of the record's current state in the same query (for the
    record cache)."""
    if not validation.lookup_safe(patient_id):  # no such record can exist: not looked up
        raise deny(db, user, patient_id, what)
    found = repo.patient_and_key(s, patient_id)
    patient = _allow(db, s, user, found[0] if found else None, patient_id, what)
    assert found is not None
    return patient, found[1]


def _allow(
    db: Database, s: Session, user: t.User, patient: t.Patient | None, patient_id: str, what: str
) -> t.Patient:
    if patient is None or not may_access(user, patient):
        raise deny(db, user, patient_id, what)
    action = "read" if what.startswith("read") else "write"
    repo.audit(s, user=user, action=action, what=what, patient_id=patient_id)
    return patient


# --- Status (the worklist cache) ----------------------------------------------------------------


DECEASED = "deceased"  # the cached status's bma_status for a patient who has died


def refresh_status(
    s: Session, patient_id: str, as_of: dt.date, record: Record | None = None
) -> Assessment:
    record = record or repo.load_record(s, patient_id)
    assessment = assess(record, as_of)
    _store_status(s, patient_id, as_of, assessment)
    return assessment


def _store_status(s: Session, patient_id: str, as_of: dt.date, assessment: Assessment) -> None:
    overdue = sum(1 for m in assessment.monitoring if m.status in ("overdue", "never"))
    overdue += 1 if assessment.bma.status in ("overdue", "withhold") else 0
    repo.upsert_status(
        s,
        {
            "patient_id": patient_id,
            "as_of": as_of,
            "level": assessment.level.value,
            "level_rank": assessment.level.rank,
            "overdue": overdue,
            # The worklist reads plain columns only: a deceased patient is marked here.
            "bma_status": DECEASED if assessment.patient.deceased else assessment.bma.status,
            "next_due": assessment.bma.next_due,
            "top_alert": assessment.alerts[0].message if assessment.alerts else None,
            "summary": assessment.model_dump(mode="json"),
            "computed_at": t.utcnow(),
        },
    )


def _cache_after_commit(
    db: Database,
    s: Session,
    patient_id: str,
    key: RecordKey,
    record: Record,
    assessed: tuple[dt.date, Assessment],
) -> None:
    """Cache the record a write produced, with its assessment, once the write has committed:
    before then no other request may see it (and a rolled-back write must leave nothing)."""

    def put() -> None:
        db.records.put(patient_id, key, record).seed(("assessment", assessed[0]), assessed[1])

    repo.after_commit(s, put)


def _record_after(
    s: Session, patient: t.Patient, before: Slot | None, added: list[tuple[str, BaseModel]]
) -> tuple[Record, RecordKey]:
    """The record once `added` (just flushed, in order) is stored, and its key: the cached
    record `before` the write plus the new entries when the database holds exactly those two,
    else read again in full (another writer got in between, or nothing was cached)."""
    key = repo.record_key(s, patient)
    if before is not None and key.entries == before.key.entries + len(added):
        # Entries are append-only: the count proves these rows are the old ones and ours.
        return with_entries(before.record, added), key
    return repo.load_record_and_key(s, patient)


# --- Clinician: entries, alerts, worklist -------------------------------------------------------


@audited_input("write acknowledge alert {alert_id}")
def acknowledge(
    db: Database,
    user: t.User,
    alert_id: int,
    action_taken: str,
    *,
    settings: Settings | None = None,
    resolve: bool = False,
) -> t.Alert:
    """Close an alert, saying what was done. `resolve`: the red-flag symptoms it is about are
    also resolved (filed as resolutions, so they leave the patient's current picture)."""
    if user.role not in ("clinician", "admin"):
        raise deny(db, user, None, f"write acknowledge alert {alert_id} (role {user.role})")
    if not 0 < alert_id < 2**31:  # the database's integer range; such an alert cannot exist
        raise deny(db, user, None, f"write acknowledge alert {alert_id}")
    refuse_nul(action_taken, "action_taken")
    validation.check_payload(action_taken, "action_taken")
    action_taken = action_taken.strip()
    with db.transaction() as s:
        try:
            alert = repo.get_alert(s, alert_id)
        except NotFound:
            raise deny(
                db, user, None, f"write acknowledge alert {alert_id} (no such alert)"
            ) from None
        # Access first: an empty action on someone else's alert must not reveal that it exists.
        authorize(db, s, user, alert.patient_id, f"write acknowledge alert {alert_id}")
        if not action_taken:
            raise InputError("action_taken", "say what was done (e.g. 'phoned, sent to ED')")
        if alert.acknowledged_at is None:
            alert.acknowledged_at = t.utcnow()
            alert.acknowledged_by = user.id
            alert.action_taken = action_taken[:2000]
        symptoms = alert_symptoms(alert)
        patient_id = alert.patient_id
    if resolve and symptoms:
        from bonemets.service import filing

        assert settings is not None, "resolving needs the settings (today, alerting)"
        for code, site in symptoms:
            data = {"date": settings.today().isoformat(), "code": code, "site": site}
            data["note"] = f"Resolved on acknowledging alert {alert_id}: {action_taken[:1900]}"
            filing.record_entry(db, settings, user, patient_id, "symptom_resolution", data)
    return alert


def alert_symptoms(alert: t.Alert) -> list[tuple[str, str | None]]:
    """The (code, site) of the symptoms an alert is about, from its signals' keys."""
    out: list[tuple[str, str | None]] = []
    for signal in alert.signals or []:
        _rule, _, about = str(signal.get("key", "")).partition("|")
        if not signal.get("severity"):
            continue  # not about reported symptoms (a lab, a pathway gap)
        for part in about.split(","):
            code, _, site = part.partition(":")
            if code and (code, site or None) not in out:
                out.append((code, site or None))
    return out


LEVELS = [level.value for level in Level]
LEVEL_BY_RANK = {level.rank: level for level in Level}


@dataclass(frozen=True)
class WorklistRow:
    patient_id: str
    display_name: str
    mrn: str | None
    level: str
    level_rank: int
    overdue: int
    bma_status: str
    next_due: dt.date | None
    open_alerts: int
    escalated: bool
    headline: str | None
    # The patient's assessment today, before open alerts raise the row's level.
    assessed_level: str = ""
    waiting_since: dt.datetime | None = None  # the longest-waiting open alert's time
    # For the care team: the headline in clinical terms, whether it rests on an unverified
    # number or a policy (shown once, as a marker), and the latest report: when it came in and
    # the patient's own words.
    why: str = ""
    unverified: bool = False
    report_at: dt.datetime | None = None
    patient_words: str | None = None
    unread_messages: int = 0  # the patient's (or carer's) messages nobody has answered yet


def is_escalated(alert: t.Alert, settings: Settings, now: dt.datetime) -> bool:
    """An emergency or urgent alert left unacknowledged past the configured time."""
    if alert.acknowledged_at is not None or alert.level not in ("emergency", "urgent"):
        return False
    created = (
        alert.created_at if alert.created_at.tzinfo else alert.created_at.replace(tzinfo=dt.UTC)
    )
    return now - created > dt.timedelta(minutes=settings.escalate_minutes)


def worklist(
    db: Database,
    settings: Settings,
    user: t.User,
    *,
    level: str | None = None,
    bma_status: str | None = None,
    search: str | None = None,
    open_alerts_only: bool = False,
    s: Session | None = None,
) -> list[WorklistRow]:
    """The team's patients, most urgent first, then by escalation and overdue items."""
    if user.role not in ("clinician", "admin"):
        raise deny(db, user, None, f"read worklist (role {user.role})")
    if level is not None and level not in LEVELS:
        raise InputError("level", f"expected one of {', '.join(LEVELS)}")
    today = settings.today()
    now = t.utcnow()
    escalate_before = now - dt.timedelta(minutes=settings.escalate_minutes)
    # No team, no patients (an admin sees every team's).
    team = None if user.role == "admin" else user.team_id
    with db.unit(s) as s:
        if user.role == "admin" or team is not None:
            patients = repo.worklist_patients(s, team)
        else:
            patients = []
        stale = [p for p in patients if p.status is None or p.status.as_of != today]
        for row in stale:  # a status computed on an earlier day is recomputed
            slot = repo.cached_record(s, db.records, repo.get_patient(s, row.patient_id))
            refresh_status(s, row.patient_id, today, slot.record)
        if stale:
            patients = repo.worklist_patients(s, team)
        # As is_escalated: open, emergency or urgent, raised more than the set time ago.
        alerts = repo.open_alerts(s, team, escalate_before) if patients else {}
        reports = repo.latest_reports(s, [p.patient_id for p in patients])
        unread = message_store.unread_by_patient(s, team) if patients else {}
        repo.audit(s, user=user, action="read", what=f"read worklist ({len(patients)} patients)")
        rows = []
        for patient in patients:
            st = patient.status
            assert st is not None  # every stale status was refreshed above
            if st.bma_status == DECEASED:
                continue  # issue 22: a patient who has died is no one's task (H145)
            summary = alerts.get(patient.patient_id)
            # An alert lives until a clinician closes it: the row is at least as urgent as
            # the most urgent open one, whatever the latest report said.
            rank = max(st.level_rank, summary.top_rank if summary else 0)
            headline = summary.newest_headline if summary else st.top_alert
            said = wording.clinical(headline, summary.newest_rules if summary else ())
            report = reports.get(patient.patient_id)
            rows.append(
                WorklistRow(
                    patient_id=patient.patient_id,
                    display_name=patient.display_name,
                    mrn=patient.mrn,
                    level=LEVEL_BY_RANK[rank].value,
                    level_rank=rank,
                    overdue=st.overdue,
                    bma_status=st.bma_status,
                    next_due=st.next_due,
                    open_alerts=summary.count if summary else 0,
                    escalated=summary is not None and summary.escalated,
                    headline=headline,
                    assessed_level=st.level,
                    waiting_since=summary.oldest if summary else None,
                    why=said.text,
                    unverified=said.unverified,
                    report_at=report.received_at if report else None,
                    patient_words=report.free_text if report else None,
                    unread_messages=unread.get(patient.patient_id, 0),
                )
            )
    if level:
        rows = [r for r in rows if r.level == level]
    if bma_status:
        rows = [r for r in rows if r.bma_status == bma_status]
    if search:
        needle = search.strip().lower()
        rows = [
            r for r in rows if needle in r.display_name.lower() or needle in (r.mrn or "").lower()
        ]
    if open_alerts_only:
        rows = [r for r in rows if r.open_alerts]
    # Escalated first, then by level, then by how long the oldest open alert has waited.
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    rows.sort(
        key=lambda r: (
            not r.escalated,
            -r.level_rank,
            r.waiting_since or never,
            -r.overdue,
            r.display_name,
        )
    )
    return rows


# --- Reading a record ---------------------------------------------------------------------------


def red_flags(assessment: Assessment) -> list[AlertSymptom]:
    """The red-flag symptoms in the patient's current picture (today's report and those still
    open from earlier ones): what an urgent or emergency alert of the assessment is about."""
    out: dict[tuple[str, str | None], AlertSymptom] = {}
    for alert in assessment.alerts:
        if alert.level.rank >= Level.URGENT.rank:
            for symptom in alert.symptoms:
                out.setdefault((symptom.code, symptom.site), symptom)
    return list(out.values())


@dataclass(frozen=True)
class CareTeamStatus:
    """What the patient may truthfully be told about their team after a report."""

    alerted: bool  # the report opened an alert (or joined one) that is in the outbox
    has_alert: bool  # an alert about it is open or was opened (without a channel)
    already_known: bool  # it repeated an alert the team already has


def care_team_status(
    db: Database, user: t.User, patient_id: str, result: dict[str, Any]
) -> CareTeamStatus:
    team = result.get("care_team") or {}
    alert_id = team.get("alert_id")
    with db.transaction() as s:
        authorize(db, s, user, patient_id, "read report delivery")
        notified = alert_id is not None and bool(repo.notifications_for(s, [int(alert_id)]))
    return CareTeamStatus(
        alerted=notified,
        has_alert=bool(alert_id),
        already_known=bool(team.get("folded_into")) and not alert_id,
    )


def patient_alerts(
    db: Database, user: t.User, patient_id: str, *, s: Session | None = None
) -> list[t.Alert]:
    """The patient's alerts, newest first (without loading or assessing the record)."""
    with db.unit(s) as s:
        authorize(db, s, user, patient_id, "read alerts")
        return repo.patient_alerts(s, patient_id)


def cached_assessment(
    db: Database, settings: Settings, user: t.User, patient_id: str
) -> Assessment:
    """Today's assessment of the record as it stands (see `assessment_json`)."""
    today = settings.today()
    with db.transaction() as s:
        patient, key = authorize_record(db, s, user, patient_id, f"read assessment as of {today}")
        slot = repo.cached_record(s, db.records, patient, key)
        return _todays_assessment(s, patient, slot, today)


def assessment_json(
    db: Database, settings: Settings, user: t.User, patient_id: str, *, s: Session | None = None
) -> bytes:
    """Today's assessment as JSON: computed once per state of the record and day (the record
    cache holds it, checked against the database on every read), and stored as the patient's
    status when that is not already today's."""
    today = settings.today()
    with db.unit(s) as s:
        patient, key = authorize_record(db, s, user, patient_id, f"read assessment as of {today}")
        slot = repo.cached_record(s, db.records, patient, key)
        assessment = _todays_assessment(s, patient, slot, today)
        return slot.memo(("assessment-json", today), lambda: _json(assessment))


def assessment_as_of(
    db: Database, user: t.User, patient_id: str, as_of: dt.date, *, s: Session | None = None
) -> Assessment:
    """The assessment on an earlier day (not kept: any day may be asked for)."""
    with db.unit(s) as s:
        patient, key = authorize_record(db, s, user, patient_id, f"read assessment as of {as_of}")
        return assess(repo.cached_record(s, db.records, patient, key).record, as_of)


def record_json(db: Database, user: t.User, patient_id: str, *, s: Session | None = None) -> bytes:
    """The patient's record as JSON (the core's Record model), serialised once per state."""
    with db.unit(s) as s:
        patient, key = authorize_record(db, s, user, patient_id, "read record")
        slot = repo.cached_record(s, db.records, patient, key)
        return slot.memo("json", lambda: _json(slot.record))


def _json(model: BaseModel) -> bytes:
    # As FastAPI would send a response_model (by alias), without validating it again first.
    return model.__pydantic_serializer__.to_json(model, by_alias=True)


def _todays_assessment(s: Session, patient: t.Patient, slot: Slot, today: dt.date) -> Assessment:
    def compute() -> Assessment:
        assessment = assess(slot.record, today)
        # Writes keep the stored status current; a read stores it only when it is stale.
        stamp = repo.status_stamp(s, patient.id)
        if stamp is None or stamp[0] != today or _aware(stamp[1]) < _aware(patient.updated_at):
            _store_status(s, patient.id, today, assessment)
        return assessment

    return slot.memo(("assessment", today), compute)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass
class ReportView:
    entry_id: int
    date: dt.date
    report: dict[str, Any]
    result: dict[str, Any] | None


@dataclass
class PatientView:
    patient: t.Patient
    record: Record
    assessment: Assessment
    alerts: list[t.Alert]
    reports: list[ReportView]
    as_of: dt.date
    users: dict[int, str] = field(default_factory=dict)


def patient_view(db: Database, settings: Settings, user: t.User, patient_id: str) -> PatientView:
    today = settings.today()
    with db.transaction() as s:
        patient, key = authorize_record(db, s, user, patient_id, "read record")
        slot = repo.cached_record(s, db.records, patient, key)
        record = slot.record
        assessment = _todays_assessment(s, patient, slot, today)
        alerts = repo.alerts_for(s, [patient_id], open_only=False)
        report_rows = repo.entries(s, patient_id, ["symptom_report"])
        results = repo.report_results(s, [r.id for r in report_rows])
        reports = [
            ReportView(
                entry_id=r.id,
                date=r.date,
                report=r.data,
                result=results[r.id].result if r.id in results else None,
            )
            for r in report_rows
        ]
        names = {
            a.acknowledged_by: (repo.user_by_id(s, a.acknowledged_by) or user).display_name
            for a in alerts
            if a.acknowledged_by is not None
        }
        return PatientView(patient, record, assessment, alerts, reports, today, names)
