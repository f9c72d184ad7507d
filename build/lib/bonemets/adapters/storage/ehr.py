"""Data access for the EHR integration: CDS Hooks client JWTs seen, cards that can be overridden
and their feedback, SMART launches in progress, EHR identities, and patients by FHIR id or MRN.

As in `repository`, every function takes the caller's session; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bonemets.adapters.storage import tables as t


def _insert_ignoring_duplicates(s: Session, table: Any, values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: True when the row was new. One statement, so two
    workers racing on the same key cannot both see it as new."""
    dialect = s.get_bind().dialect.name
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = s.execute(upsert(table).values(**values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0) == 1)


# --- CDS Hooks client JWTs --------------------------------------------------------------------


def remember_jti(s: Session, key: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
    """Record a token id; False when it was already recorded (a replay). Ids whose tokens can no
    longer be accepted are forgotten on the way."""
    s.execute(delete(t.CdsJwtSeen).where(t.CdsJwtSeen.expires_at < now))
    return _insert_ignoring_duplicates(
        s, t.CdsJwtSeen.__table__, {"key": key, "expires_at": expires_at}
    )


# --- Cards and feedback -----------------------------------------------------------------------


def add_cards(s: Session, cards: Sequence[dict[str, Any]]) -> None:
    if cards:
        s.execute(insert(t.CdsCard), list(cards))


def cards_by_uuid(s: Session, uuids: Sequence[str]) -> dict[str, t.CdsCard]:
    if not uuids:
        return {}
    rows = s.scalars(select(t.CdsCard).where(t.CdsCard.uuid.in_(list(uuids))))
    return {row.uuid: row for row in rows}


def add_feedback(s: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        s.execute(insert(t.CdsFeedback), list(rows))


def feedback_for(s: Session, card_uuid: str) -> list[t.CdsFeedback]:
    query = select(t.CdsFeedback).where(t.CdsFeedback.card_uuid == card_uuid)
    return list(s.scalars(query.order_by(t.CdsFeedback.id)))


# --- SMART launches ---------------------------------------------------------------------------


def add_launch(s: Session, launch: t.SmartLaunch, now: dt.datetime) -> None:
    s.execute(delete(t.SmartLaunch).where(t.SmartLaunch.expires_at < now))
    s.add(launch)
    s.flush()


def take_launch(s: Session, state: str, now: dt.datetime) -> t.SmartLaunch | None:
    """The launch of `state`, removed (a state is good for one redirect); None when unknown or
    expired."""
    launch = s.get(t.SmartLaunch, state)
    if launch is None:
        return None
    s.delete(launch)
    s.flush()
    expires = launch.expires_at
    if expires.tzinfo is None:  # SQLite keeps no offset: stored as UTC
        expires = expires.replace(tzinfo=dt.UTC)
    return launch if expires >= now else None


# --- EHR identities ---------------------------------------------------------------------------


def link_identity(s: Session, issuer: str, subject: str, user_id: int) -> t.EhrIdentity:
    found = s.scalar(
        select(t.EhrIdentity).where(
            t.EhrIdentity.issuer == issuer, t.EhrIdentity.subject == subject
        )
    )
    if found is not None:
        found.user_id = user_id
    else:
        found = t.EhrIdentity(issuer=issuer, subject=subject, user_id=user_id)
        s.add(found)
    s.flush()
    return found


def user_for_identity(s: Session, issuer: str, subject: str) -> t.User | None:
    return s.scalar(
        select(t.User)
        .join(t.EhrIdentity, t.EhrIdentity.user_id == t.User.id)
        .where(t.EhrIdentity.issuer == issuer, t.EhrIdentity.subject == subject)
    )


def identities_of(s: Session, user_id: int) -> list[t.EhrIdentity]:
    return list(s.scalars(select(t.EhrIdentity).where(t.EhrIdentity.user_id == user_id)))


# --- Patients by FHIR id or MRN ---------------------------------------------------------------


def patient_by_fhir_id(s: Session, fhir_id: str) -> t.Patient | None:
    return s.scalar(select(t.Patient).where(t.Patient.fhir_id == fhir_id))


def patient_by_mrn(s: Session, mrn: str) -> t.Patient | None:
    return s.scalar(select(t.Patient).where(t.Patient.mrn == mrn))


def patients_of(s: Session, team_id: int | None, *, after: str | None = None) -> list[t.Patient]:
    """Patients ordered by FHIR id (all when `team_id` is None), from just after `after`."""
    query = select(t.Patient).order_by(t.Patient.fhir_id)
    if team_id is not None:
        query = query.where(t.Patient.team_id == team_id)
    if after is not None:
        query = query.where(t.Patient.fhir_id > after)
    return list(s.scalars(query))
