"""Secure messages between a patient (or their carer) and the care team.

A message is for questions that can wait: the pages say so, with the emergency numbers. People
write about symptoms all the same, so a patient's message is read by the same free-text red-flag
finder as a check-in's words (core.triage.free_text). When it finds a symptom, the message's words
are filed as a symptom report through the one filing path (service/filing.py): triaged with the
record, an alert raised by service/alerting.py when the level calls for the team, and the
patient shown what to do now, in the same transaction as the message. Nothing here decides a
level or an alert.

Read state: a team's message is read when the patient (or carer) opens their messages; a
patient's message is read when a clinician replies or marks it read. Opening the record does
not read it: the worklist's count stays until someone has answered (a glance is not an answer).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bonemets.adapters.storage import messages as store
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.bounds import check_text
from bonemets.core.errors import InputError
from bonemets.core.triage.free_text import find_symptoms, positive
from bonemets.service import care, filing
from bonemets.service.audit import audited_input

MAX_BODY = 4000  # characters in one message (a page of text)
TEAM_ROLES = ("clinician", "admin")


@dataclass(frozen=True)
class Sent:
    message_id: int
    # The report filed from the message's words (the finder found a symptom), with its triage.
    filed: filing.Filed | None

    @property
    def report_id(self) -> int | None:
        return self.filed.entry_ids[-1] if self.filed is not None else None


@dataclass(frozen=True)
class MessageView:
    id: int
    from_team: bool
    author: str  # the writer's name as the app shows it
    author_role: str  # patient | carer | clinician | admin
    body: str
    created_at: str  # "2026-11-23 14:05", UTC
    read: bool
    report_id: int | None
    sent: dt.datetime | None = None  # the same moment, for <time datetime> (shown in local time)


def _body(body: str) -> str:
    text = body.strip()
    if not text:
        raise InputError("body", "write your message first")
    return check_text(text, "body", MAX_BODY)


def describes_symptom(text: str) -> bool:
    """Whether the finder reads a symptom in the words (a denied one does not count)."""
    return bool(positive(find_symptoms(text)))


@audited_input("write message")
def send(db: Database, settings: Settings, user: t.User, patient_id: str, body: str) -> Sent:
    """A patient or their carer writes to the team. When the words describe a symptom they are
    also filed as a report (see the module's docstring); message and report stand or fall
    together."""
    if user.role not in care.PORTAL_ROLES:
        raise care.deny(db, user, patient_id, f"write message (role {user.role})")
    text = _body(body)
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "write message")
        filed = None
        if describes_symptom(text):
            filed = filing.submit_report(
                db, settings, user, patient_id, {"symptoms": [], "free_text": text},
                s=s, origin="portal",
            )  # fmt: skip
        row = store.add(
            s,
            patient_id=patient_id,
            author_id=user.id,
            from_team=False,
            body=text,
            entry_id=filed.entry_ids[-1] if filed is not None else None,
        )
        return Sent(row.id, filed)


@audited_input("write message reply")
def reply(db: Database, user: t.User, patient_id: str, body: str) -> int:
    """The team answers: the patient's messages before it are read (by this clinician), and the
    "read the patient's message" tasks of reports filed from them are closed, since the reply is
    the reading."""
    if user.role not in TEAM_ROLES:
        raise care.deny(db, user, patient_id, f"write message reply (role {user.role})")
    text = _body(body)
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "write message reply")
        _read_patients_messages(s, user, patient_id, "Answered in secure messages")
        return store.add(s, patient_id=patient_id, author_id=user.id, from_team=True, body=text).id


def mark_read(db: Database, user: t.User, patient_id: str) -> int:
    """The team has read the patient's messages and no reply is needed: how many were marked."""
    if user.role not in TEAM_ROLES:
        raise care.deny(db, user, patient_id, f"write messages read (role {user.role})")
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "write messages read")
        return len(_read_patients_messages(s, user, patient_id, "Read in secure messages"))


def _read_patients_messages(s: Session, user: t.User, patient_id: str, why: str) -> list[int]:
    ids = store.mark_read(s, patient_id, from_team=False, reader_id=user.id, now=t.utcnow())
    closed = store.close_message_tasks(
        s, patient_id, store.entries_of(s, ids), user.id, f"{why} by {user.display_name}"
    )
    if closed:
        repo.audit(
            s,
            user=user,
            action="write",
            what=f"closed {closed} message task(s) on reading the patient's messages",
            patient_id=patient_id,
        )
    return ids


def thread(db: Database, user: t.User, patient_id: str) -> list[MessageView]:
    """The conversation, oldest first. A patient or carer reading it reads the team's messages
    (the team's read state changes only by replying or marking, see the module's docstring)."""
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "read messages")
        rows = store.thread(s, patient_id)
        if user.role in care.PORTAL_ROLES:
            store.mark_read(s, patient_id, from_team=True, reader_id=user.id, now=t.utcnow())
        authors = {uid: repo.user_by_id(s, uid) for uid in {m.author_id for m in rows}}
        out = []
        for m in rows:
            author = authors.get(m.author_id)
            out.append(
                MessageView(
                    id=m.id,
                    from_team=m.from_team,
                    author=author.display_name if author is not None else "unknown",
                    author_role=author.role if author is not None else "unknown",
                    body=m.body,
                    created_at=m.created_at.strftime("%Y-%m-%d %H:%M"),
                    read=m.read_at is not None,
                    report_id=m.entry_id,
                    sent=m.created_at,
                )
            )
        return out


def unread_for(db: Database, user: t.User, patient_id: str) -> int:
    """Messages waiting for this user's side: the team's unread by the patient, for a patient or
    carer; the patient's unanswered, for the team."""
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "read messages unread")
        return store.unread_count(s, patient_id, from_team=user.role in care.PORTAL_ROLES)
