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


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # patient | clinician | admin
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # TOTP second factor (RFC 6238), when enrolled: the base32 secret, and the last time step
    # a code was accepted for (a code is good once).
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(120))
    mrn: Mapped[str | None] = mapped_column(String(64), unique=True)
    profile: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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


__all__ = [
    "Alert",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Entry",
    "LoginThrottle",
    "Patient",
    "PatientStatus",
    "ReportResult",
    "Session",
    "Setting",
    "Team",
    "User",
]
