"""Data access: the only module that writes SQL for the app. Every function takes the caller's
session; the caller owns the transaction (see `Database.transaction`), so a use case that fails
half-way leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.db import make_engine, upgrade
from bonemets.adapters.storage.records import entries_of, entry_date, profile_of, record_from
from bonemets.core.record import Record


class NotFound(LookupError):
    pass


class Database:
    """An engine and its session factory, with the schema brought up to date."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.engine: Engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed if the block finishes, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


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
        t.Entry(patient_id=patient_id, kind=kind, date=date, data=data, created_by=created_by)
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
    patient = get_patient(s, patient_id)
    rows = s.execute(
        select(t.Entry.kind, t.Entry.data)
        .where(t.Entry.patient_id == patient_id)
        .order_by(t.Entry.date, t.Entry.id)
    ).all()
    return record_from(patient.id, patient.profile, [(kind, data) for kind, data in rows])


def add_entry(
    s: Session,
    patient_id: str,
    kind: str,
    model: BaseModel,
    *,
    created_by: int | None,
    source_ref: str | None = None,
) -> t.Entry:
    patient = get_patient(s, patient_id)
    entry = t.Entry(
        patient_id=patient_id,
        kind=kind,
        date=entry_date(model),
        data=model.model_dump(mode="json"),
        created_by=created_by,
        source_ref=source_ref,
    )
    s.add(entry)
    patient.updated_at = t.utcnow()
    s.flush()
    return entry


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
    s.add(
        t.ReportResult(
            entry_id=entry_id,
            level=result["level"],
            engine_version=result["engine_version"],
            result=result,
        )
    )
    s.flush()


def report_results(s: Session, entry_ids: Sequence[int]) -> dict[int, t.ReportResult]:
    if not entry_ids:
        return {}
    rows = s.scalars(select(t.ReportResult).where(t.ReportResult.entry_id.in_(entry_ids)))
    return {row.entry_id: row for row in rows}


def add_alert(
    s: Session, patient_id: str, *, level: str, headline: str, rules: list[str], entry_id: int
) -> t.Alert:
    alert = t.Alert(
        patient_id=patient_id, level=level, headline=headline, rules=rules, entry_id=entry_id
    )
    s.add(alert)
    s.flush()
    return alert


def alerts_for(s: Session, patient_ids: Sequence[str], *, open_only: bool) -> list[t.Alert]:
    query = select(t.Alert).where(t.Alert.patient_id.in_(patient_ids))
    if open_only:
        query = query.where(t.Alert.acknowledged_at.is_(None))
    return list(s.scalars(query.order_by(t.Alert.created_at.desc())))


def get_alert(s: Session, alert_id: int) -> t.Alert:
    alert = s.get(t.Alert, alert_id)
    if alert is None:
        raise NotFound(str(alert_id))
    return alert


def upsert_status(s: Session, status: t.PatientStatus) -> None:
    s.merge(status)
    s.flush()


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


def worklist_statuses(s: Session, patient_ids: Sequence[str]) -> dict[str, StatusRow]:
    """The cached statuses for a worklist; the top alert's message is read inside the database
    (both SQLite and PostgreSQL), so the assessment JSON is never decoded here."""
    if not patient_ids:
        return {}
    ps = t.PatientStatus
    top = ps.summary[("alerts", 0, "message")].as_string()
    rows = s.execute(
        select(
            ps.patient_id,
            ps.as_of,
            ps.level,
            ps.level_rank,
            ps.overdue,
            ps.bma_status,
            ps.next_due,
            top,
        ).where(ps.patient_id.in_(patient_ids))
    )
    return {row[0]: StatusRow(*row) for row in rows}


def statuses(s: Session, patient_ids: Sequence[str]) -> dict[str, t.PatientStatus]:
    if not patient_ids:
        return {}
    rows = s.scalars(select(t.PatientStatus).where(t.PatientStatus.patient_id.in_(patient_ids)))
    return {row.patient_id: row for row in rows}


# --- Audit, sessions, login attempts, settings --------------------------------------------------


def audit(
    s: Session,
    *,
    user: t.User | None,
    action: str,
    what: str,
    patient_id: str | None = None,
    allowed: bool = True,
) -> None:
    s.add(
        t.AuditEvent(
            user_id=user.id if user else None,
            username=user.username if user else None,
            action=action,
            patient_id=patient_id,
            what=what[:2000],
            allowed=allowed,
        )
    )


def audit_events(
    s: Session, *, patient_id: str | None = None, limit: int = 200
) -> list[t.AuditEvent]:
    query = select(t.AuditEvent).order_by(t.AuditEvent.id.desc()).limit(limit)
    if patient_id is not None:
        query = query.where(t.AuditEvent.patient_id == patient_id)
    return list(s.scalars(query))


def add_session(s: Session, session: t.Session) -> None:
    s.add(session)
    s.flush()


def get_session(s: Session, token_hash: str) -> t.Session | None:
    return s.get(t.Session, token_hash)


def delete_session(s: Session, token_hash: str) -> None:
    s.execute(delete(t.Session).where(t.Session.token_hash == token_hash))


def record_login_attempt(s: Session, key: str, success: bool) -> None:
    s.add(t.LoginAttempt(key=key, success=success))


def failed_logins_since(s: Session, key: str, since: dt.datetime) -> int:
    count = s.scalar(
        select(func.count())
        .select_from(t.LoginAttempt)
        .where(
            t.LoginAttempt.key == key, t.LoginAttempt.at >= since, t.LoginAttempt.success.is_(False)
        )
    )
    return int(count or 0)


def get_setting(s: Session, key: str) -> str | None:
    row = s.get(t.Setting, key)
    return row.value if row else None


def set_setting(s: Session, key: str, value: str) -> None:
    s.merge(t.Setting(key=key, value=value))
