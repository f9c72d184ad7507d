"""A patient's private calendar subscription: a URL with a secret token in it, because a
calendar app that subscribes to a feed sends no login cookie (it got a redirect to the sign-in
page before). The token is the only credential, so:

- it is 256 random bits (secrets.token_urlsafe(32)), and only its SHA-256 is stored: the link is
  shown once, when it is made; a lost link is replaced by a new one;
- a patient has at most one live link; making a new one or revoking stops the old one at once;
- the feed holds dates and plain descriptions of doses, tests and check-ins, nothing else of the
  record (no name, no results), because calendar apps sync it to other services;
- each making, revoking and reading is audited (a read by the token has no user: the row names
  the feed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.pathway import assess
from bonemets.core.record import Record
from bonemets.education.patient_words import ENGLISH, Wording
from bonemets.education.plan import CarePlan, build_care_plan, team_contacts_setting
from bonemets.service import care

TOKEN_BYTES = 32


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class FeedState:
    live: bool
    created_at: dt.datetime | None
    last_used_at: dt.datetime | None


def state(db: Database, user: t.User, patient_id: str) -> FeedState:
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "read calendar link state")
        row = _live(s, patient_id)
        if row is None:
            return FeedState(False, None, None)
        return FeedState(True, row.created_at, row.last_used_at)


def _live(s: Session, patient_id: str) -> t.CalendarFeed | None:
    return s.scalars(
        select(t.CalendarFeed)
        .where(t.CalendarFeed.patient_id == patient_id, t.CalendarFeed.revoked_at.is_(None))
        .order_by(t.CalendarFeed.id.desc())
    ).first()


def _revoke_all(s: Session, patient_id: str) -> int:
    rows = s.scalars(
        select(t.CalendarFeed).where(
            t.CalendarFeed.patient_id == patient_id, t.CalendarFeed.revoked_at.is_(None)
        )
    ).all()
    for row in rows:
        row.revoked_at = t.utcnow()
    return len(rows)


def new_link(db: Database, user: t.User, patient_id: str) -> str:
    """A new feed token (shown once); any older link stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "write calendar link")
        _revoke_all(s, patient_id)
        s.add(t.CalendarFeed(patient_id=patient_id, token_hash=_hash(token), created_by=user.id))
    return token


def revoke(db: Database, user: t.User, patient_id: str) -> int:
    """Stop every live link of the patient; the number stopped."""
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, "write calendar link revoked")
        return _revoke_all(s, patient_id)


@dataclass(frozen=True)
class Feed:
    plan: CarePlan
    last_check_in: dt.date | None


def last_check_in(record: Record) -> dt.date | None:
    return max((r.date for r in record.symptom_reports), default=None)


def feed_for_token(
    db: Database, settings: Settings, token: str, words: Wording = ENGLISH
) -> Feed | None:
    """The care plan behind a live token (said in `words`' language), or None (unknown, revoked,
    or malformed: the caller answers 404 alike, so a guess learns nothing)."""
    if not (20 <= len(token) <= 100) or not token.replace("-", "").replace("_", "").isalnum():
        return None
    with db.transaction() as s:
        feed = s.scalars(
            select(t.CalendarFeed).where(t.CalendarFeed.token_hash == _hash(token))
        ).first()
        if feed is None or feed.revoked_at is not None:
            return None
        found = repo.patient_and_key(s, feed.patient_id)
        if found is None:
            return None
        patient, key = found
        record = repo.cached_record(s, db.records, patient, key).record
        feed.last_used_at = t.utcnow()
        repo.audit(
            s, user=None, action="read", what=f"read calendar feed {feed.id}", patient_id=patient.id
        )
        stored = repo.get_setting(s, "team_contacts")
        today = settings.today()
        plan = build_care_plan(
            patient_id=patient.id,
            display_name=patient.display_name,
            record=record,
            assessment=assess(record, today),
            contacts_text=team_contacts_setting(settings, stored),
            words=words,
        )
        return Feed(plan, last_check_in(record))
