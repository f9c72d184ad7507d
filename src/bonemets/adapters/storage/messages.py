"""Data access for secure messages between a patient (or their carer) and the care team.

As in `repository`, every function takes the caller's session; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bonemets.adapters.storage import tables as t


def add(
    s: Session,
    *,
    patient_id: str,
    author_id: int,
    from_team: bool,
    body: str,
    entry_id: int | None = None,
) -> t.Message:
    row = t.Message(
        patient_id=patient_id,
        author_id=author_id,
        from_team=from_team,
        body=body,
        created_at=t.utcnow(),
        entry_id=entry_id,
    )
    s.add(row)
    s.flush()
    return row


def thread(s: Session, patient_id: str) -> list[t.Message]:
    """A patient's messages, oldest first (a conversation reads downwards)."""
    query = (
        select(t.Message)
        .where(t.Message.patient_id == patient_id)
        .order_by(t.Message.created_at, t.Message.id)
    )
    return list(s.scalars(query))


def mark_read(
    s: Session, patient_id: str, *, from_team: bool, reader_id: int, now: dt.datetime
) -> list[int]:
    """Mark one side's unread messages to the patient's thread read; the ids marked."""
    unread = (t.Message.patient_id == patient_id) & (t.Message.from_team.is_(from_team))
    unread &= t.Message.read_at.is_(None)
    ids = list(s.scalars(select(t.Message.id).where(unread)))
    if ids:
        s.execute(
            update(t.Message)
            .where(t.Message.id.in_(ids))
            .values(read_at=now, read_by=reader_id)
            .execution_options(synchronize_session=False)
        )
    return ids


def entries_of(s: Session, message_ids: Sequence[int]) -> list[int]:
    """The reports filed from these messages' words."""
    if not message_ids:
        return []
    query = select(t.Message.entry_id).where(
        t.Message.id.in_(message_ids), t.Message.entry_id.is_not(None)
    )
    return [int(x) for x in s.scalars(query) if x is not None]


def unread_count(s: Session, patient_id: str, *, from_team: bool) -> int:
    query = select(func.count()).where(
        t.Message.patient_id == patient_id,
        t.Message.from_team.is_(from_team),
        t.Message.read_at.is_(None),
    )
    return int(s.scalar(query) or 0)


def unread_by_patient(s: Session, team_id: int | None) -> dict[str, int]:
    """Messages from patients or carers the team has not read yet, per patient of the team
    (every team's when None): one grouped query for the whole worklist."""
    query = (
        select(t.Message.patient_id, func.count())
        .where(t.Message.from_team.is_(False), t.Message.read_at.is_(None))
        .group_by(t.Message.patient_id)
    )
    if team_id is not None:
        team = select(t.Patient.id).where(t.Patient.team_id == team_id)
        query = query.where(t.Message.patient_id.in_(team))
    return {pid: int(n) for pid, n in s.execute(query)}


def close_message_tasks(
    s: Session, patient_id: str, entry_ids: Sequence[int], user_id: int, action: str
) -> int:
    """Close the open "read the patient's message" tasks of reports filed from messages the team
    has now answered (the reply is the reading): how many were closed."""
    if not entry_ids:
        return 0
    result = s.execute(
        update(t.Alert)
        .where(
            t.Alert.patient_id == patient_id,
            t.Alert.kind == "message",
            t.Alert.entry_id.in_(entry_ids),
            t.Alert.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=t.utcnow(), acknowledged_by=user_id, action_taken=action)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
