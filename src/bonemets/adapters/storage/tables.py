"""The database schema.

A patient's clinical record is stored as a profile (demographics, cancer) plus dated entries,
one row per lesion, lab result, dose, exam, imaging test, supplement, condition, treatment or
symptom report. Each entry's data is the JSON of its core model, validated before it is written,
so the record read back is exactly the record the core assesses. Tables the app queries by
column (alerts, the worklist cache, audit) are ordinary columns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL, JSON (text) elsewhere.
Json = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # Where this team's alerts go (each falls back to the deployment's setting when empty).
    alert_email: Mapped[str | None] = mapped_column(String(320))
    escalation_email: Mapped[str | None] = mapped_column(String(320))
    webhook_url: Mapped[str | None] = mapped_column(String(500))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # patient | carer | clinician | admin
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    # A patient's own record; a carer's: the record of the patient they look after (a carer of
    # two people has two accounts, so access stays one comparison, see care.may_access).
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # TOTP second factor (RFC 6238), when enrolled: the base32 secret, and the last time step
    # a code was accepted for (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The units this person reads results in (knowledge/labs.toml [unit_systems]); None: the
    # deployment's default.
    unit_system: Mapped[str | None] = mapped_column(String(16), default=None)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(120))
    mrn: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The id of the patient's FHIR Patient resource (exports, /fhir): derived from `id` when the
    # row is added (`_set_fhir_id`), so a FHIR read or search finds its patient with one indexed
    # query. (Migration 0005 filled it for the rows stored before.)
    fhir_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    profile: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@event.listens_for(Patient, "before_insert")
def _set_fhir_id(_mapper: Any, _connection: Any, patient: Patient) -> None:
    if patient.fhir_id is None:
        from bonemets.adapters.fhir.exporter import patient_fhir_id

        patient.fhir_id = patient_fhir_id(patient.id)


class Entry(Base):
    __tablename__ = "entries"
    __table_args__ = (
        Index("ix_entries_patient_kind_date", "patient_id", "kind", "date"),
        UniqueConstraint("patient_id", "source_ref", name="uq_entries_source_ref"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    date: Mapped[dt.date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    # Where the entry came from (e.g. a FHIR resource id), so an import is idempotent.
    source_ref: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # How the entry came in (who is `created_by`): portal, api, clinician_form, fhir_import,
    # demo, cli. None for rows written before provenance was kept.
    origin: Mapped[str | None] = mapped_column(String(24))
    # A clinician's reason for going ahead against the pathway's checks (a dose against a
    # withhold, say), with the findings it overrode.
    override: Mapped[dict[str, Any] | None] = mapped_column(Json)


class ReportResult(Base):
    """The triage result shown to the patient when a symptom report was submitted."""

    __tablename__ = "report_results"
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(16))
    engine_version: Mapped[str] = mapped_column(String(32))
    result: Mapped[dict[str, Any]] = mapped_column(Json)


class Alert(Base):
    """Something the care team must see and close: an alert raised by a report or a record
    entry, or a task (read the patient's message, a missed check-in). It lives until a
    clinician acknowledges it, saying what was done."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_patient_open", "patient_id", "acknowledged_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="SET NULL"))
    level: Mapped[str] = mapped_column(String(16))
    headline: Mapped[str] = mapped_column(Text)
    rules: Mapped[list[str]] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action_taken: Mapped[str | None] = mapped_column(Text)
    # report | record (raised by an entry) | message | missed_check_in
    kind: Mapped[str] = mapped_column(String(24), default="report", server_default="report")
    # What it is about (core.pathway.budget.Signal as JSON): later repeats fold into it.
    signals: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    repeats: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """One message about an alert to one address (the outbox): written in the alert's
    transaction, delivered after it commits, retried until sent."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("alert_id", "purpose", "channel", "target", name="uq_notification"),
        Index("ix_notifications_status", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # alert | escalation
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    target: Mapped[str] = mapped_column(String(500))
    # pending | sending (claimed by a courier) | sent | failed (retried until MAX_ATTEMPTS)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CheckInDraft(Base):
    """What a patient has answered of a check-in not yet sent, so that leaving the page loses
    nothing."""

    __tablename__ = "check_in_drafts"
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    # The report already filed from this check-in (its red flags, sent at once), if any.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CalendarFeed(Base):
    """A patient's private calendar subscription: a calendar app fetches the feed with the token
    in its URL (it has no cookie). Only the token's SHA-256 is kept; revoking sets revoked_at,
    and a patient has at most one live feed (a new link revokes the old one)."""

    __tablename__ = "calendar_feeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Message(Base):
    """One secure message between a patient (or their carer) and the care team. Never a way to
    report an emergency (the pages say so); its words are read by the free-text red-flag finder
    all the same, and what it finds is filed as a report (`entry_id`), see service/messages.py."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_patient_at", "patient_id", "created_at"),
        Index("ix_messages_unread", "patient_id", "from_team", "read_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Written by the care team (else by the patient or their carer): which side must read it.
    from_team: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the other side read it (a patient: opening their messages; the team: replying, or
    # marking it read without a reply) and who did.
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    read_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The symptom report filed from its words when the red-flag finder found a symptom in them.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="SET NULL"))


class PatientStatus(Base):
    """The latest assessment's summary, so the worklist can sort a panel without assessing it."""

    __tablename__ = "patient_status"
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[dt.date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(16))
    level_rank: Mapped[int] = mapped_column(Integer)
    overdue: Mapped[int] = mapped_column(Integer)
    bma_status: Mapped[str] = mapped_column(String(20))
    next_due: Mapped[dt.date | None] = mapped_column(Date)
    # The message of the assessment's most urgent alert (the worklist's headline without one).
    top_alert: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(Json)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """One audited event. Rows form a hash chain in `seq` order: `hash` is SHA-256 over the
    row's content and `prev_hash` (see repository.audit_row_hash), so a changed or deleted row
    is detected by `bonemets audit verify`."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_patient_at", "patient_id", "at"),
        Index("ix_audit_seq", "seq", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(32))  # read | write | denied | login | ...
    patient_id: Mapped[str | None] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(Text)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    client: Mapped[str | None] = mapped_column(String(64))  # the client's address
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """The end of the audit hash chain (one row): the last row's number and hash. Appending
    locks it, so concurrent writers chain one after another; deleting the newest rows is
    detected against it."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class Session(Base):
    __tablename__ = "sessions"
    # SHA-256 of the session token: a leaked table does not leak live sessions.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Last request seen (kept to the minute): the session ends after the idle timeout.
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LoginThrottle(Base):
    """Failed sign-ins per key (an account, a client address, the pair, a known device), as
    one counter row updated atomically: see accounts.sign_in."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the key text
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Setting(Base):
    """Small key-value settings kept with the data (e.g. the demo's reference date)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --- EHR integration: CDS Hooks client JWTs, card feedback, SMART launches, EHR identities ----


class CdsJwtSeen(Base):
    """A CDS client JWT already accepted (its `jti`), kept until the token could no longer be
    accepted anyway: a replayed token is refused by every worker."""

    __tablename__ = "cds_jwt_seen"
    # SHA-256 of issuer and jti: fixed length whatever the client sends.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class CdsCard(Base):
    """A card that can be overridden, as issued: feedback on it names the rule and the patient."""

    __tablename__ = "cds_cards"
    uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    service: Mapped[str] = mapped_column(String(64))
    hook_instance: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(120))
    ehr_patient: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str | None] = mapped_column(String(500))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CdsFeedback(Base):
    """What a clinician did with a card (CDS Hooks feedback): accepted suggestions, or an
    override and its reason."""

    __tablename__ = "cds_feedback"
    __table_args__ = (Index("ix_cds_feedback_card", "card_uuid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(String(64))
    card_uuid: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | overridden
    accepted_suggestions: Mapped[list[str]] = mapped_column(Json, default=list)
    reason_system: Mapped[str | None] = mapped_column(String(500))
    reason_code: Mapped[str | None] = mapped_column(String(200))
    reason_display: Mapped[str | None] = mapped_column(Text)
    user_comment: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    issuer: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SmartLaunch(Base):
    """One SMART app launch in progress: the OAuth2 state, its PKCE verifier and the EHR."""

    __tablename__ = "smart_launches"
    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))  # the EHR's FHIR base URL (iss)
    code_verifier: Mapped[str] = mapped_column(String(128))
    launch: Mapped[str | None] = mapped_column(String(500))  # None: a standalone launch
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class EhrIdentity(Base):
    """Which of our users an EHR or identity provider's user is: the `fhirUser` (else `sub`)
    of its tokens, per issuer. Set by an administrator; never created from a token."""

    __tablename__ = "ehr_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_ehr_identities"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(500))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


__all__ = [
    "Alert",
    "AuditEvent",
    "AuditHead",
    "Base",
    "CalendarFeed",
    "CdsCard",
    "CdsFeedback",
    "CdsJwtSeen",
    "CheckInDraft",
    "EhrIdentity",
    "Entry",
    "LoginThrottle",
    "Message",
    "Notification",
    "Patient",
    "PatientStatus",
    "ReportResult",
    "Session",
    "Setting",
    "SmartLaunch",
    "Team",
    "User",
]
