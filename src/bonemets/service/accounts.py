"""Accounts: argon2 password hashes, server-side sessions, login rate limiting."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.config import Settings

ROLES = ("patient", "clinician", "admin")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this keeps the time of a login for an unknown user like a known one's.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 10


class AccountError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RateLimited(Exception):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", f"must be at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def create_user(
    s: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    team: str | None = None,
    patient_id: str | None = None,
) -> t.User:
    """Add a user. Patients are linked to their record; clinicians belong to a care team."""
    name = username.strip().lower()
    if not name or not name.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise AccountError("username", "use letters, digits, dot, dash or underscore")
    if role not in ROLES:
        raise AccountError("role", f"expected one of {', '.join(ROLES)}")
    if repo.user_by_name(s, name) is not None:
        raise AccountError("username", f"{name!r} is taken")
    team_id = None
    if role == "patient":
        if patient_id is None:
            raise AccountError("patient", "a patient account needs the patient's record id")
        patient = repo.get_patient(s, patient_id)
        team_id = patient.team_id
    elif role == "clinician":
        if not team:
            raise AccountError("team", "a clinician account needs a care team")
        team_id = repo.get_or_create_team(s, team).id
    return repo.add_user(
        s,
        username=name,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name or name,
        team_id=team_id,
        patient_id=patient_id if role == "patient" else None,
    )


def authenticate(
    s: Session, settings: Settings, username: str, password: str, client: str
) -> t.User | None:
    """The user if the password is right. Raises RateLimited after too many failures for this
    username from this client within the window; every attempt is recorded and audited."""
    username = username.replace("\x00", "")  # cannot be stored; no account has it
    key = f"{username.strip().lower()}|{client}"
    since = t.utcnow() - dt.timedelta(minutes=settings.login_window_minutes)
    if repo.failed_logins_since(s, key, since) >= settings.login_attempts:
        repo.audit(
            s, user=None, action="login_limited", what=f"login for {username!r}", allowed=False
        )
        raise RateLimited(key)
    user = repo.user_by_name(s, username)
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active
    repo.record_login_attempt(s, key, ok)
    repo.audit(
        s,
        user=user if ok else None,
        action="login" if ok else "login_failed",
        what=f"login for {username!r}",
        allowed=ok,
    )
    return user if ok else None


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(s: Session, settings: Settings, user: t.User) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = t.utcnow() + dt.timedelta(hours=settings.session_hours)
    repo.add_session(
        s,
        t.Session(token_hash=_digest(token), user_id=user.id, csrf_token=csrf, expires_at=expires),
    )
    return NewSession(token=token, csrf_token=csrf, expires_at=expires)


def resume_session(s: Session, token: str) -> tuple[t.User, t.Session] | None:
    """The user and session behind a cookie, if it is live."""
    found = repo.session_and_user(s, _digest(token))
    if found is None:
        return None
    row, user = found
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
    if expires <= t.utcnow():
        repo.delete_session(s, row.token_hash)
        return None
    if not user.active:
        return None
    return user, row


def end_session(s: Session, token: str) -> None:
    repo.delete_session(s, _digest(token))


def csrf_ok(session: t.Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf_token, presented)
