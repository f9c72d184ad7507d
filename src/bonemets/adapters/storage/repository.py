"""Data access: the only module that writes SQL for the app. Every function takes the caller's
session; the caller owns the transaction (see `Database.transaction`), so a use case that fails
half-way leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    CursorResult,
    Engine,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.audit_chain import FIELDS as CHAIN_FIELDS
from bonemets.adapters.storage.audit_chain import GENESIS, row_hash
from bonemets.adapters.storage.cache import RecordCache, RecordKey, Slot
from bonemets.adapters.storage.db import make_engine, upgrade
from bonemets.adapters.storage.records import entries_of, entry_date, profile_of, record_from
from bonemets.core.levels import Level
from bonemets.core.record import Record


class NotFound(LookupError):
    pass


# The queries every request makes are built once: building a SQLAlchemy statement (operators,
# joins, subqueries) costs more than running it on SQLite. Those returning plain columns run on
# the session's connection, skipping the ORM's result machinery (and its autoflush: callers
# flush what these must see, as `add_entry` does).
_SESSION_AND_USER = (
    select(t.Session, t.User)
    .join(t.User, t.User.id == t.Session.user_id)
    .where(t.Session.token_hash == bindparam("token_hash"))
)
_RECORD_KEY = select(func.count(), func.max(t.Entry.id)).where(
    t.Entry.patient_id == bindparam("patient_id")
)
_ENTRIES = (
    select(t.Entry.id, t.Entry.kind, t.Entry.data)
    .where(t.Entry.patient_id == bindparam("patient_id"))
    .order_by(t.Entry.date, t.Entry.id)
)
_PATIENT_AND_KEY = select(
    t.Patient,
    select(func.count()).where(t.Entry.patient_id == t.Patient.id).scalar_subquery(),
    select(func.max(t.Entry.id)).where(t.Entry.patient_id == t.Patient.id).scalar_subquery(),
).where(t.Patient.id == bindparam("patient_id"))
_STATUS_STAMP = select(t.PatientStatus.as_of, t.PatientStatus.computed_at).where(
    t.PatientStatus.patient_id == bindparam("patient_id")
)
_PATIENT_ALERTS = (
    select(t.Alert)
    .where(t.Alert.patient_id == bindparam("patient_id"))
    .order_by(t.Alert.created_at.desc())
)


class Database:
    """An engine and its session factory, with the schema brought up to date."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.engine: Engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Validated records of this database, per worker process (see storage/cache.py).
        self.records = RecordCache()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed if the block finishes, rolled back if it raises. What
        the block asked to run `after_commit` runs once the commit has succeeded."""
        with self._sessions() as session:
            with session.begin():
                yield session
            for action in session.info.pop(_AFTER_COMMIT, ()):
                action()

    @contextmanager
    def unit(self, s: Session | None) -> Iterator[Session]:
        """`s` when the caller already has a unit of work open, else a new transaction."""
        if s is not None:
            yield s
        else:
            with self.transaction() as new:
                yield new

    def dispose(self) -> None:
        self.engine.dispose()


_AFTER_COMMIT = "bonemets.after_commit"


def after_commit(s: Session, action: Callable[[], object]) -> None:
    """Run `action` once the transaction of `s` (from `Database.transaction`) has committed,
    e.g. to cache what it wrote: nothing it wrote may be seen before then."""
    s.info.setdefault(_AFTER_COMMIT, []).append(action)


# --- Teams and users ----------------------------------------------------------------------------


def get_or_create_team(s: Session, name: str) -> t.Team:
    team = s.scalar(select(t.Team).where(t.Team.name == name))
    if team is None:
        team = t.Team(name=name)
        s.add(team)
        s.flush()
    return team


def add_user(
    s: Session,
    *,
    username: str,
    password_hash: str,
    role: str,
    display_name: str,
    team_id: int | None = None,
    patient_id: str | None = None,
) -> t.User:
    user = t.User(
        username=username.strip().lower(),
        password_hash=password_hash,
        role=role,
        display_name=display_name,
        team_id=team_id,
        patient_id=patient_id,
    )
    s.add(user)
    s.flush()
    return user


def user_by_name(s: Session, username: str) -> t.User | None:
    return s.scalar(select(t.User).where(t.User.username == username.strip().lower()))


def user_by_id(s: Session, user_id: int) -> t.User | None:
    return s.get(t.User, user_id)


# --- Patients and their records -----------------------------------------------------------------


def create_patient(
    s: Session,
    record: Record,
    *,
    team_id: int,
    display_name: str,
    mrn: str | None = None,
    created_by: int | None = None,
    origin: str | None = None,
) -> t.Patient:
    """Store a whole record: the profile row and one row per dated entry."""
    patient_id = record.id or uuid.uuid4().hex
    patient = t.Patient(
        id=patient_id,
        team_id=team_id,
        display_name=display_name,
        mrn=mrn,
        profile=profile_of(record),
    )
    s.add(patient)
    s.flush()
    s.add_all(
        t.Entry(
            patient_id=patient_id,
            kind=kind,
            date=date,
            data=data,
            created_by=created_by,
            origin=origin,
        )
        for kind, date, data in entries_of(record)
    )
    s.flush()
    return patient


def get_patient(s: Session, patient_id: str) -> t.Patient:
    patient = s.get(t.Patient, patient_id)
    if patient is None:
        raise NotFound(patient_id)
    return patient


def load_record(s: Session, patient_id: str) -> Record:
    return load_record_and_key(s, get_patient(s, patient_id))[0]


def load_record_and_key(s: Session, patient: t.Patient) -> tuple[Record, RecordKey]:
    """The record and the key of the state it was read in (from the same rows)."""
    rows = s.connection().execute(_ENTRIES, {"patient_id": patient.id}).all()
    record = record_from(patient.id, patient.profile, [(kind, data) for _id, kind, data in rows])
    top = max((row[0] for row in rows), default=None)
    return record, RecordKey(patient.created_at, patient.profile, len(rows), top)


def record_key(s: Session, patient: t.Patient) -> RecordKey:
    """The key of the record's current state (one indexed aggregate query)."""
    count, top = s.connection().execute(_RECORD_KEY, {"patient_id": patient.id}).one()
    return RecordKey(patient.created_at, patient.profile, int(count), top)


def patient_and_key(s: Session, patient_id: str) -> tuple[t.Patient, RecordKey] | None:
    """The patient row and the key of its record's current state, in one query."""
    row = s.execute(_PATIENT_AND_KEY, {"patient_id": patient_id}).first()
    if row is None:
        return None
    patient, count, top = row
    return patient, RecordKey(patient.created_at, patient.profile, int(count), top)


def cached_record(
    s: Session, cache: RecordCache, patient: t.Patient, key: RecordKey | None = None
) -> Slot:
    """The patient's record as it stands, from `cache` when the database says it is current
    (`key`, when the caller has just read it). For read-only transactions: what they read is
    committed, so it may be cached at once."""
    slot = cache.get(patient.id, key or record_key(s, patient))
    if slot is None:
        record, key = load_record_and_key(s, patient)
        slot = cache.put(patient.id, key, record)
    return slot


def add_entry(
    s: Session,
    patient_id: str,
    kind: str,
    model: BaseModel,
    *,
    created_by: int | None,
    source_ref: str | None = None,
    origin: str | None = None,
    override: dict[str, Any] | None = None,
) -> t.Entry:
    """Store one entry and mark the patient updated. Returns a detached copy of the row.
    `origin`: how it came in (who is `created_by`); `override`: a clinician's reason for going
    ahead against the pathway's checks."""
    patient = get_patient(s, patient_id)
    s.flush()  # anything the ORM holds first (the new patient row an entry may refer to)
    now = t.utcnow()
    values = {
        "patient_id": patient_id,
        "kind": kind,
        "date": entry_date(model),
        "data": model.model_dump(mode="json"),
        "created_by": created_by,
        "source_ref": source_ref,
        "created_at": now,
        "origin": origin,
        "override": override,
    }
    # Plain statements: the ORM's unit of work costs several times more for one row.
    conn = s.connection()
    entry_id = _new_id(conn.execute(_INSERT_ENTRY, values))
    conn.execute(_TOUCH_PATIENT, {"patient": patient_id, "now": now})
    set_committed_value(patient, "updated_at", now)  # the session's copy stays true
    return t.Entry(id=entry_id, **values)


_INSERT_ENTRY = insert(t.Entry)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None  # a single-row INSERT
    return int(key[0])


_TOUCH_PATIENT = (
    update(t.Patient)
    .where(t.Patient.id == bindparam("patient"))
    .values(updated_at=bindparam("now"))
)


def entries(s: Session, patient_id: str, kinds: Sequence[str] | None = None) -> list[t.Entry]:
    query = select(t.Entry).where(t.Entry.patient_id == patient_id)
    if kinds:
        query = query.where(t.Entry.kind.in_(kinds))
    return list(s.scalars(query.order_by(t.Entry.date.desc(), t.Entry.id.desc())))


def team_patients(s: Session, team_id: int) -> list[t.Patient]:
    return list(s.scalars(select(t.Patient).where(t.Patient.team_id == team_id)))


def all_patient_ids(s: Session) -> list[str]:
    return list(s.scalars(select(t.Patient.id)))


# --- Triage results, alerts and the worklist cache ----------------------------------------------


def save_report_result(s: Session, entry_id: int, result: dict[str, Any]) -> None:
    s.connection().execute(
        _INSERT_REPORT_RESULT,
        {
            "entry_id": entry_id,
            "level": result["level"],
            "engine_version": result["engine_version"],
            "result": result,
        },
    )


_INSERT_REPORT_RESULT = insert(t.ReportResult)


def report_results(s: Session, entry_ids: Sequence[int]) -> dict[int, t.ReportResult]:
    if not entry_ids:
        return {}
    rows = s.scalars(select(t.ReportResult).where(t.ReportResult.entry_id.in_(entry_ids)))
    return {row.entry_id: row for row in rows}


def add_alert(
    s: Session,
    patient_id: str,
    *,
    level: str,
    headline: str,
    rules: list[str],
    entry_id: int | None,
    kind: str = "report",
    signals: list[dict[str, Any]] | None = None,
    created_at: dt.datetime | None = None,
) -> t.Alert:
    """Open an alert. Returns a detached copy of the row."""
    values = {
        "patient_id": patient_id,
        "level": level,
        "headline": headline,
        "rules": rules,
        "entry_id": entry_id,
        "created_at": created_at or t.utcnow(),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "action_taken": None,
        "kind": kind,
        "signals": signals,
        "repeats": 0,
        "last_seen_at": None,
        "escalated_at": None,
    }
    alert_id = _new_id(s.connection().execute(_INSERT_ALERT, values))
    return t.Alert(id=alert_id, **values)


_INSERT_ALERT = insert(t.Alert)


def patient_alerts(s: Session, patient_id: str) -> list[t.Alert]:
    """Every alert of one patient, newest first."""
    return list(s.scalars(_PATIENT_ALERTS, {"patient_id": patient_id}))


def alerts_for(s: Session, patient_ids: Sequence[str], *, open_only: bool) -> list[t.Alert]:
    query = select(t.Alert).where(t.Alert.patient_id.in_(patient_ids))
    if open_only:
        query = query.where(t.Alert.acknowledged_at.is_(None))
    return list(s.scalars(query.order_by(t.Alert.created_at.desc())))


def alerts_with_signals(
    s: Session, patient_id: str, *, acknowledged_since: dt.datetime
) -> list[t.Alert]:
    """A patient's alerts that can absorb a repeat: open ones, and those acknowledged since
    `acknowledged_since`; newest first."""
    a = t.Alert
    query = (
        select(a)
        .where(
            a.patient_id == patient_id,
            a.signals.is_not(None),
            a.acknowledged_at.is_(None) | (a.acknowledged_at >= acknowledged_since),
        )
        .order_by(a.created_at.desc(), a.id.desc())
    )
    return list(s.scalars(query))


def alert_for_entry(s: Session, entry_id: int) -> t.Alert | None:
    """The alert a report (or entry) opened, if it opened one."""
    query = select(t.Alert).where(t.Alert.entry_id == entry_id).order_by(t.Alert.id).limit(1)
    return s.scalar(query)


def note_repeats(s: Session, alert_ids: Sequence[int], now: dt.datetime) -> None:
    """Count a repeat folded into each of these alerts."""
    s.execute(
        update(t.Alert)
        .where(t.Alert.id.in_(alert_ids))
        .values(repeats=t.Alert.repeats + 1, last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


def has_open_task(s: Session, patient_id: str, kind: str) -> bool:
    query = select(t.Alert.id).where(
        t.Alert.patient_id == patient_id, t.Alert.kind == kind, t.Alert.acknowledged_at.is_(None)
    )
    return s.scalar(query.limit(1)) is not None


def alerts_to_escalate(s: Session, before: dt.datetime) -> list[t.Alert]:
    """Open emergency and urgent alerts raised before `before` and not yet escalated."""
    a = t.Alert
    query = select(a).where(
        a.acknowledged_at.is_(None),
        a.escalated_at.is_(None),
        a.level.in_(URGENT_LEVELS),
        a.created_at < before,
    )
    return list(s.scalars(query.order_by(a.created_at)))


def portal_patients_last_check_in(
    s: Session,
) -> list[tuple[t.Patient, dt.date | None, dt.date]]:
    """Each patient with an active portal login: the date of their last symptom report (None
    without one) and the day their login was made."""
    last = (
        select(t.Entry.patient_id, func.max(t.Entry.date).label("last"))
        .where(t.Entry.kind == "symptom_report")
        .group_by(t.Entry.patient_id)
        .subquery()
    )
    query = (
        select(t.Patient, last.c.last, func.min(t.User.created_at))
        .join(t.User, t.User.patient_id == t.Patient.id)
        .outerjoin(last, last.c.patient_id == t.Patient.id)
        # A carer who checks in for the patient is reminded like the patient.
        .where(t.User.role.in_(("patient", "carer")), t.User.active.is_(True))
        .group_by(t.Patient.id, last.c.last)
    )
    out = []
    for patient, last_day, made in s.execute(query):
        made_at = made if made.tzinfo else made.replace(tzinfo=dt.UTC)
        out.append((patient, last_day, made_at.date()))
    return out


# --- The notification outbox ----------------------------------------------------------------


def add_notification(s: Session, alert_id: int, purpose: str, channel: str, target: str) -> None:
    """Queue one message (once: the same alert, purpose and address are never queued twice)."""
    exists = s.scalar(
        select(t.Notification.id).where(
            t.Notification.alert_id == alert_id,
            t.Notification.purpose == purpose,
            t.Notification.channel == channel,
            t.Notification.target == target,
        )
    )
    if exists is None:
        now = t.utcnow()
        s.add(
            t.Notification(
                alert_id=alert_id,
                purpose=purpose,
                channel=channel,
                target=target,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        s.flush()


def due_notifications(
    s: Session, now: dt.datetime, max_attempts: int, stale_claim: dt.timedelta
) -> list[int]:
    n = t.Notification
    waiting = n.status.in_(("pending", "failed")) & (n.next_attempt_at <= now)
    abandoned = (n.status == "sending") & (n.next_attempt_at <= now - stale_claim)
    query = select(n.id).where((waiting | abandoned) & (n.attempts < max_attempts))
    return list(s.scalars(query.order_by(n.id)))


def claim_notification(
    s: Session,
    notification_id: int,
    now: dt.datetime,
    backoff: Callable[[int], dt.timedelta],
) -> tuple[t.Notification, t.Alert, t.Patient] | None:
    """Mark one notification as being sent, if no other courier has; with its alert and
    patient. The conditional update is the lock: only one courier's update matches."""
    row = s.get(t.Notification, notification_id)
    if row is None:
        return None
    attempts = row.attempts + 1
    claimed = s.execute(
        update(t.Notification)
        .where(
            t.Notification.id == notification_id,
            t.Notification.attempts == row.attempts,
            t.Notification.status != "sent",
        )
        .values(status="sending", attempts=attempts, next_attempt_at=now + backoff(attempts))
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    s.refresh(row)
    alert = get_alert(s, row.alert_id)
    return row, alert, get_patient(s, alert.patient_id)


def record_delivery(s: Session, notification_id: int, error: str | None, now: dt.datetime) -> None:
    values: dict[str, Any] = (
        {"status": "sent", "sent_at": now, "last_error": None}
        if error is None
        else {"status": "failed", "last_error": error}
    )
    s.execute(
        update(t.Notification)
        .where(t.Notification.id == notification_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def notifications_for(s: Session, alert_ids: Sequence[int]) -> list[t.Notification]:
    if not alert_ids:
        return []
    query = select(t.Notification).where(t.Notification.alert_id.in_(alert_ids))
    return list(s.scalars(query.order_by(t.Notification.id)))


def get_alert(s: Session, alert_id: int) -> t.Alert:
    alert = s.get(t.Alert, alert_id)
    if alert is None:
        raise NotFound(str(alert_id))
    return alert


def upsert_status(s: Session, values: dict[str, Any]) -> None:
    """Insert or replace a patient's cached status (every column) in one statement."""
    statement = _UPSERT_STATUS.get(s.get_bind().dialect.name)
    if statement is None:  # neither SQLite nor PostgreSQL: the ORM's way
        s.merge(t.PatientStatus(**values))
        s.flush()
        return
    s.connection().execute(statement, values)
    # The statement bypasses the identity map: drop a copy this session may hold.
    held = s.identity_map.get(s.identity_key(t.PatientStatus, values["patient_id"]))
    if held is not None:
        s.expire(held)


def _upsert_status(dialect: str) -> Any:
    statement = (sqlite_insert if dialect == "sqlite" else pg_insert)(t.PatientStatus)
    columns = [c.name for c in t.PatientStatus.__table__.columns if c.name != "patient_id"]
    return statement.on_conflict_do_update(
        index_elements=["patient_id"], set_={c: statement.excluded[c] for c in columns}
    )


_UPSERT_STATUS = {dialect: _upsert_status(dialect) for dialect in ("sqlite", "postgresql")}


@dataclass(frozen=True)
class StatusRow:
    """The worklist's columns of a cached status, without the full assessment JSON."""

    patient_id: str
    as_of: dt.date
    level: str
    level_rank: int
    overdue: int
    bma_status: str
    next_due: dt.date | None
    top_alert: str | None


@dataclass(frozen=True)
class WorklistPatient:
    patient_id: str
    display_name: str
    mrn: str | None
    status: StatusRow | None


def _worklist_query(by_team: bool) -> Any:
    p, ps = t.Patient, t.PatientStatus
    query = select(
        p.id,
        p.display_name,
        p.mrn,
        ps.patient_id,
        ps.as_of,
        ps.level,
        ps.level_rank,
        ps.overdue,
        ps.bma_status,
        ps.next_due,
        ps.top_alert,
    ).outerjoin(ps, ps.patient_id == p.id)
    return query.where(p.team_id == bindparam("team_id")) if by_team else query


_WORKLIST = {by_team: _worklist_query(by_team) for by_team in (True, False)}


def worklist_patients(s: Session, team_id: int | None) -> list[WorklistPatient]:
    """A team's patients (every patient when `team_id` is None) with their cached status, in
    one query of plain columns (no ORM objects, no assessment JSON decoded)."""
    query = _WORKLIST[team_id is not None]
    rows = s.connection().execute(query, {"team_id": team_id} if team_id is not None else {})
    return [
        WorklistPatient(
            patient_id=row[0],
            display_name=row[1],
            mrn=row[2],
            status=StatusRow(*row[3:]) if row[3] is not None else None,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class OpenAlerts:
    """A patient's unacknowledged alerts, summed up for the worklist."""

    count: int
    escalated: bool  # an emergency or urgent one was raised before `escalate_before`
    newest_headline: str
    top_rank: int  # the most urgent open alert's level rank (core.levels)
    oldest: dt.datetime  # when the longest-waiting open alert was raised
    newest_rules: tuple[str, ...] = ()  # the rules of the newest one (its headline's)


URGENT_LEVELS = ("emergency", "urgent")
LEVEL_RANKS = {level: level.rank for level in Level}


def _open_alerts_query(by_team: bool) -> Any:
    a = t.Alert
    newer = t.Alert.__table__.alias("newer")

    def newest(column: Any) -> Any:
        return (
            select(column)
            .where(newer.c.patient_id == a.patient_id, newer.c.acknowledged_at.is_(None))
            .order_by(newer.c.created_at.desc(), newer.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    newest_headline = newest(newer.c.headline)
    overdue = (a.level.in_(URGENT_LEVELS)) & (a.created_at < bindparam("escalate_before"))
    rank = case(*((a.level == level.value, r) for level, r in LEVEL_RANKS.items()), else_=0)
    query = (
        select(
            a.patient_id,
            func.count(),
            func.max(case((overdue, 1), else_=0)),
            newest_headline,
            func.max(rank),
            func.min(a.created_at),
            newest(newer.c.rules),
        )
        .where(a.acknowledged_at.is_(None))
        .group_by(a.patient_id)
    )
    if by_team:
        team = select(t.Patient.id).where(t.Patient.team_id == bindparam("team_id"))
        query = query.where(a.patient_id.in_(team))
    return query


_OPEN_ALERTS = {by_team: _open_alerts_query(by_team) for by_team in (True, False)}


def open_alerts(
    s: Session, team_id: int | None, escalate_before: dt.datetime
) -> dict[str, OpenAlerts]:
    """Per patient of the team (all patients when None) with open alerts: how many, whether
    one is escalated, and the newest one's headline; summed up inside the database, one row
    per patient however many alerts are open."""
    params: dict[str, Any] = {"escalate_before": escalate_before}
    if team_id is not None:
        params["team_id"] = team_id
    rows = s.connection().execute(_OPEN_ALERTS[team_id is not None], params)
    return {
        pid: OpenAlerts(int(n), bool(late), headline, int(top), _utc(oldest), _rules(rules))
        for pid, n, late, headline, top, oldest, rules in rows
    }


def _rules(raw: Any) -> tuple[str, ...]:
    """An alert's rules as a scalar subquery returns them (JSON text on SQLite)."""
    if isinstance(raw, str):
        import orjson

        raw = orjson.loads(raw)
    return tuple(str(r) for r in raw) if isinstance(raw, list) else ()


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class LatestReport:
    """A patient's latest symptom report, for the worklist row: when it came in, and the
    patient's own words."""

    received_at: dt.datetime
    free_text: str | None


def latest_reports(s: Session, patient_ids: Sequence[str]) -> dict[str, LatestReport]:
    """The latest symptom report of each patient (by when it was stored), one query."""
    if not patient_ids:
        return {}
    e = t.Entry
    newest = (
        select(e.patient_id, func.max(e.id).label("id"))
        .where(e.kind == "symptom_report", e.patient_id.in_(patient_ids))
        .group_by(e.patient_id)
        .subquery()
    )
    rows = s.execute(select(e.patient_id, e.created_at, e.data).join(newest, e.id == newest.c.id))
    out = {}
    for pid, created, data in rows:
        text = data.get("free_text") if isinstance(data, dict) else None
        out[pid] = LatestReport(_utc(created), text.strip() if isinstance(text, str) else None)
    return out


def status_stamp(s: Session, patient_id: str) -> tuple[dt.date, dt.datetime] | None:
    """The day and time of the patient's cached status (without its assessment JSON)."""
    row = s.connection().execute(_STATUS_STAMP, {"patient_id": patient_id}).first()
    return (row[0], row[1]) if row is not None else None


def statuses(s: Session, patient_ids: Sequence[str]) -> dict[str, t.PatientStatus]:
    if not patient_ids:
        return {}
    rows = s.scalars(select(t.PatientStatus).where(t.PatientStatus.patient_id.in_(patient_ids)))
    return {row.patient_id: row for row in rows}


# --- Audit, sessions, login throttle, settings ---------------------------------------------------

# The address of the client the current request came from, for the audit rows it writes (set by
# the web app per request; contextvars follow the request into the threadpool).
AUDIT_CLIENT: ContextVar[str | None] = ContextVar("bonemets_audit_client", default=None)


def storable(text: str, limit: int) -> str:
    """`text` as every database can store it in a column of `limit` characters: NUL and lone
    surrogates written as escapes, cut to the limit. Audit rows must never fail to write."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:limit]


@dataclass(frozen=True)
class Actor:
    """Who did something, as the audit log records it: taken from a user row while it is
    loaded, for a record written after that row's session has gone (or rolled back)."""

    id: int
    username: str

    @classmethod
    def of(cls, user: t.User | Actor | None) -> Actor | None:
        if user is None or isinstance(user, Actor):
            return user
        return cls(user.id, user.username)


def audit(
    s: Session,
    *,
    user: t.User | Actor | None,
    action: str,
    what: str,
    patient_id: str | None = None,
    allowed: bool = True,
) -> None:
    """Record who did what to which record, now. The row is written by the transaction's
    commit (one INSERT, after the rest of its work) and goes if the transaction rolls back."""
    pending: list[dict[str, Any]] = s.info.setdefault(_PENDING_AUDIT, [])
    client = AUDIT_CLIENT.get()
    pending.append(
        {
            "at": t.utcnow(),
            "user_id": user.id if user else None,
            "username": user.username if user else None,
            "action": action,
            "patient_id": storable(patient_id, 64) if patient_id is not None else None,
            "what": storable(what, 2000),
            "allowed": allowed,
            "client": storable(client, 64) if client is not None else None,
        }
    )


_PENDING_AUDIT = "bonemets.audit"
_AUDIT_INSERT = insert(t.AuditEvent)
# Locks the chain's head row until the transaction ends (a row lock on PostgreSQL; on SQLite
# the write lock), and reads it as the last committed writer left it.
_LOCK_HEAD = (
    update(t.AuditHead)
    .where(t.AuditHead.id == 1)
    .values(seq=t.AuditHead.seq)
    .returning(t.AuditHead.seq, t.AuditHead.hash)
)
_SET_HEAD = (
    update(t.AuditHead)
    .where(t.AuditHead.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def write_pending_audit(s: Session) -> None:
    """Write the audit rows recorded in `s` so far, chained to the last row: the head is
    locked, each row's hash covers its content and the previous hash, and the head moves on,
    all in this transaction (so concurrent writers chain one after another)."""
    rows = s.info.pop(_PENDING_AUDIT, None)
    if not rows:
        return
    conn = s.connection()
    head = conn.execute(_LOCK_HEAD).first()
    if head is None:  # an emptied table (or no migration): start the chain, once
        start = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(t.AuditHead)
        conn.execute(start.values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing())
        head = conn.execute(_LOCK_HEAD).one()
    seq, prev = int(head[0]), str(head[1])
    for row in rows:
        seq += 1
        row["seq"] = seq
        row["prev_hash"] = prev
        row["hash"] = prev = row_hash(row, prev)
    conn.execute(_AUDIT_INSERT, rows)
    conn.execute(_SET_HEAD, {"new_seq": seq, "new_hash": prev})


@event.listens_for(Session, "before_commit")
def _audit_before_commit(s: Session) -> None:
    write_pending_audit(s)


@event.listens_for(Session, "after_rollback")
def _audit_after_rollback(s: Session) -> None:
    s.info.pop(_PENDING_AUDIT, None)


@dataclass(frozen=True)
class AuditFilter:
    """What `audit_events` returns: every field optional; `before_id` pages backwards."""

    patient_id: str | None = None
    username: str | None = None
    action: str | None = None
    allowed: bool | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before_id: int | None = None
    limit: int = 200


def audit_events(
    s: Session, *, patient_id: str | None = None, limit: int = 200, where: AuditFilter | None = None
) -> list[t.AuditEvent]:
    """Audit rows, newest first."""
    write_pending_audit(s)  # this transaction's own rows too, as a flush would show them
    f = where or AuditFilter(patient_id=patient_id, limit=limit)
    query = select(t.AuditEvent).order_by(t.AuditEvent.id.desc()).limit(f.limit)
    if f.patient_id is not None:
        query = query.where(t.AuditEvent.patient_id == f.patient_id)
    if f.username is not None:
        query = query.where(t.AuditEvent.username == f.username)
    if f.action is not None:
        query = query.where(t.AuditEvent.action == f.action)
    if f.allowed is not None:
        query = query.where(t.AuditEvent.allowed.is_(f.allowed))
    if f.since is not None:
        query = query.where(t.AuditEvent.at >= f.since)
    if f.until is not None:
        query = query.where(t.AuditEvent.at < f.until)
    if f.before_id is not None:
        query = query.where(t.AuditEvent.id < f.before_id)
    return list(s.scalars(query))


@dataclass
class ChainReport:
    """What `verify_audit_chain` found: rows checked, and each break (seq, what is wrong)."""

    rows: int = 0
    head_seq: int | None = None
    head_hash: str | None = None
    problems: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_CHAIN_FIELDS = (t.AuditEvent.id, *(getattr(t.AuditEvent, name) for name in CHAIN_FIELDS[1:]))


def verify_audit_chain(s: Session, *, batch: int = 5000, max_problems: int = 100) -> ChainReport:
    """Recompute the chain over every audit row in order: a changed row no longer matches its
    hash, a deleted one leaves a gap in the numbers and a link to nothing, deleted newest rows
    leave the head pointing past the end."""
    report = ChainReport()
    head = s.execute(select(t.AuditHead.seq, t.AuditHead.hash).where(t.AuditHead.id == 1)).first()
    if head is not None:
        report.head_seq, report.head_hash = int(head[0]), str(head[1])
    else:
        report.problems.append((None, "the chain's head row is missing"))
    expected_seq, prev = 1, GENESIS
    columns = (t.AuditEvent.seq, *_CHAIN_FIELDS, t.AuditEvent.prev_hash, t.AuditEvent.hash)
    unchained = s.scalar(select(func.count()).where(t.AuditEvent.seq.is_(None))) or 0
    if unchained:
        report.problems.append((None, f"{unchained} row(s) without a place in the chain"))
    last_seq = 0
    while len(report.problems) < max_problems:
        rows = (
            s.execute(
                select(*columns)
                .where(t.AuditEvent.seq > last_seq)
                .order_by(t.AuditEvent.seq)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            seq = int(row["seq"])
            report.rows += 1
            if seq != expected_seq:
                report.problems.append(
                    (seq, f"rows {expected_seq}-{seq - 1} are missing (deleted?)")
                )
            if row["prev_hash"] != prev:
                report.problems.append((seq, "does not link to the row before it"))
            digest = row_hash(dict(row), str(row["prev_hash"]))
            if digest != row["hash"]:
                report.problems.append((seq, f"content changed (audit id {row['id']})"))
            prev, expected_seq, last_seq = str(row["hash"]), seq + 1, seq
    end = (last_seq, prev if last_seq else GENESIS)
    if head is not None and not report.problems and (report.head_seq, report.head_hash) != end:
        report.problems.append(
            (report.head_seq, f"the newest rows after {last_seq} are missing (deleted?)")
        )
    return report


def add_session(s: Session, session: t.Session) -> None:
    s.add(session)
    s.flush()


def get_session(s: Session, token_hash: str) -> t.Session | None:
    return s.get(t.Session, token_hash)


def session_and_user(s: Session, token_hash: str) -> tuple[t.Session, t.User] | None:
    """A session and its user in one query (every signed-in request asks)."""
    row = s.execute(_SESSION_AND_USER, {"token_hash": token_hash}).first()
    return (row[0], row[1]) if row is not None else None


def delete_session(s: Session, token_hash: str) -> None:
    s.execute(delete(t.Session).where(t.Session.token_hash == token_hash))


def delete_user_sessions(s: Session, user_id: int, *, keep: Sequence[str] = ()) -> int:
    """End every session of a user (but those in `keep`); returns how many ended."""
    query = delete(t.Session).where(t.Session.user_id == user_id)
    if keep:
        query = query.where(t.Session.token_hash.not_in(keep))
    result = s.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


def user_sessions(s: Session, user_id: int) -> list[t.Session]:
    """A user's sessions, newest first."""
    query = select(t.Session).where(t.Session.user_id == user_id)
    return list(s.scalars(query.order_by(t.Session.created_at.desc())))


_TOUCH_SESSION = (
    update(t.Session)
    .where(t.Session.token_hash == bindparam("the_hash"))
    .values(last_seen_at=bindparam("now"))
)


def touch_session(s: Session, token_hash: str, now: dt.datetime) -> None:
    s.connection().execute(_TOUCH_SESSION, {"the_hash": token_hash, "now": now})


# The login throttle: one row per key, locked by the statement that reads it (an upsert that
# changes nothing: a row lock on PostgreSQL, the write lock on SQLite), so the check and the
# count that follows it are one step for concurrent sign-ins.


@dataclass(frozen=True)
class Throttle:
    key: str
    failures: int
    last_failure_at: dt.datetime | None
    blocked_until: dt.datetime | None


def _lock_throttle(dialect: str) -> Any:
    statement = (sqlite_insert if dialect == "sqlite" else pg_insert)(t.LoginThrottle).values(
        key=bindparam("key"), failures=0
    )
    statement = statement.on_conflict_do_update(
        index_elements=["key"], set_={"failures": t.LoginThrottle.failures}
    )
    return statement.returning(
        t.LoginThrottle.failures, t.LoginThrottle.last_failure_at, t.LoginThrottle.blocked_until
    )


_LOCK_THROTTLE = {dialect: _lock_throttle(dialect) for dialect in ("sqlite", "postgresql")}
_SET_THROTTLE = (
    update(t.LoginThrottle)
    .where(t.LoginThrottle.key == bindparam("the_key"))
    .values(
        failures=bindparam("failures"),
        last_failure_at=bindparam("last_failure_at"),
        blocked_until=bindparam("blocked_until"),
    )
)


def lock_throttles(s: Session, keys: Sequence[str]) -> list[Throttle]:
    """The counters of `keys` (created at zero when new), each locked until the transaction
    ends. Keys are locked in sorted order, so two sign-ins never wait on each other in a
    circle."""
    conn = s.connection()
    statement = _LOCK_THROTTLE[conn.dialect.name]
    out = []
    for key in sorted(set(keys)):
        failures, last, blocked = conn.execute(statement, {"key": key}).one()
        out.append(Throttle(key, int(failures), _aware(last), _aware(blocked)))
    return out


def set_throttle(s: Session, throttle: Throttle) -> None:
    s.connection().execute(
        _SET_THROTTLE,
        {
            "the_key": throttle.key,
            "failures": throttle.failures,
            "last_failure_at": throttle.last_failure_at,
            "blocked_until": throttle.blocked_until,
        },
    )


def clear_throttles(s: Session, keys: Sequence[str]) -> None:
    if keys:
        s.execute(delete(t.LoginThrottle).where(t.LoginThrottle.key.in_(list(keys))))


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def get_setting(s: Session, key: str) -> str | None:
    row = s.get(t.Setting, key)
    return row.value if row else None


def set_setting(s: Session, key: str, value: str) -> None:
    s.merge(t.Setting(key=key, value=value))
