"""Accounts: argon2 password hashes and a breached-password check, server-side sessions with an
idle timeout, login throttling with backoff, and an optional TOTP second factor.

Sign-in (`sign_in`) is three short transactions: the throttle counters are locked, checked and
charged one failure ahead of the password check (so parallel guesses cannot slip past the
limit); the password (and code) are checked outside any transaction; then the session starts
and the charge is refunded, or the failure stands.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, replace

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import update
from sqlalchemy.orm import Session

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database, storable
from bonemets.config import Settings
from bonemets.service.audit import record

ROLES = ("patient", "carer", "clinician", "admin")
TOTP_ROLES = ("clinician", "admin")  # who may add a second factor
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this keeps the time of a login for an unknown user like a known one's.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 12  # ASVS 4.0.3 V2.1.1
MAX_PASSWORD = 128  # V2.1.2: at least 64 allowed; argon2 takes any length, the form does not
MAX_USERNAME = 80  # the users.username column
ZXCVBN_MAX = 72  # zxcvbn's own input limit; longer passphrases are judged by the list only
MIN_STRENGTH = 3  # zxcvbn score: "safely unguessable", about 10^8 guesses or more


class AccountError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


# --- Passwords ----------------------------------------------------------------------------------


def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of breached-password lists, as zxcvbn ships them."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


_COMMON: frozenset[str] | None = None


def password_problem(password: str, username: str = "") -> str | None:
    """Why `password` may not be used, or None: too short or long, the username in it, one of
    the common breached passwords, or otherwise easy to guess (zxcvbn, offline)."""
    global _COMMON
    if len(password) < MIN_PASSWORD:
        return f"must be at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"must be at most {MAX_PASSWORD} characters"
    if "\x00" in password:
        return "may not contain the NUL character"
    folded = password.lower()
    name = username.strip().lower()
    if len(name) >= 3 and name in folded:
        return "must not contain the username"
    if _COMMON is None:
        _COMMON = _common_passwords()
    if folded in _COMMON or folded.replace(" ", "") in _COMMON:
        return "is one of the most common passwords in breached-password lists; choose another"
    if len(password) <= ZXCVBN_MAX:
        from zxcvbn import zxcvbn

        verdict = zxcvbn(password)
        if verdict["score"] < MIN_STRENGTH:
            warning = verdict["feedback"].get("warning") or "it is easy to guess"
            return f"is too easy to guess ({warning.rstrip('.')}): a few uncommon words are better"
    return None


def hash_password(password: str, username: str = "") -> str:
    problem = password_problem(password, username)
    if problem is not None:
        raise AccountError("password", problem)
    return _hasher.hash(password)


def _username_problem(name: str) -> str | None:
    if not name or len(name) > MAX_USERNAME:
        return f"1-{MAX_USERNAME} characters"
    if not name.replace(".", "").replace("-", "").replace("_", "").isalnum() or not name.isascii():
        return "use letters, digits, dot, dash or underscore"
    return None


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
    """Add a user. Patients are linked to their record, and a carer to the record of the
    patient they look after (their own login and audit trail; they see that patient only);
    clinicians belong to a care team."""
    name = username.strip().lower()
    problem = _username_problem(name)
    if problem is not None:
        raise AccountError("username", problem)
    if role not in ROLES:
        raise AccountError("role", f"expected one of {', '.join(ROLES)}")
    if repo.user_by_name(s, name) is not None:
        raise AccountError("username", f"{name!r} is taken")
    team_id = None
    if role in ("patient", "carer"):
        if patient_id is None:
            raise AccountError("patient", f"a {role} account needs the patient's record id")
        patient = repo.get_patient(s, patient_id)
        team_id = patient.team_id
    elif role == "clinician":
        if not team:
            raise AccountError("team", "a clinician account needs a care team")
        team_id = repo.get_or_create_team(s, team).id
    return repo.add_user(
        s,
        username=name,
        password_hash=hash_password(password, name),
        role=role,
        display_name=display_name or name,
        team_id=team_id,
        patient_id=patient_id if role in ("patient", "carer") else None,
    )


def set_password(s: Session, user: t.User, password: str) -> int:
    """A new password; every session of the user ends (ASVS V3.3.3). Returns how many."""
    user.password_hash = hash_password(password, user.username)
    ended = repo.delete_user_sessions(s, user.id)
    repo.audit(s, user=user, action="password_changed", what=f"password of {user.username!r}")
    return ended


# --- Throttle -----------------------------------------------------------------------------------


def _key(*parts: str) -> str:
    """The stored key of a throttle counter: SHA-256 of its parts (any username or address,
    however long or odd, fits the column and is not stored in the clear)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "backslashreplace")).hexdigest()


@dataclass(frozen=True)
class _Limits:
    """The counters one sign-in is charged to, with their limits."""

    keys: dict[str, int]  # key -> failures allowed before delays begin
    personal: tuple[str, ...]  # keys a success clears (the rest only get the charge back)


def _limits(settings: Settings, username: str, client: str, device: str | None) -> _Limits:
    n = settings.login_attempts
    if device is not None:
        # A device this account has signed in from before: its own counter only, so an
        # attacker elsewhere cannot lock the owner out of their usual device.
        device_key = _key("device", username, device)
        return _Limits({device_key: n}, (device_key,))
    pair = _key("account+client", username, client)
    return _Limits(
        {pair: n, _key("account", username): 4 * n, _key("client", client): 20 * n}, (pair,)
    )


def _delay(settings: Settings, over: int) -> dt.timedelta:
    """1 s for the first failure at the limit, doubling with each one after, up to the
    configured maximum."""
    cap = settings.login_max_delay_minutes * 60
    return dt.timedelta(seconds=min(2.0 ** min(over, 40), cap))


def _charge(db: Database, settings: Settings, limits: _Limits, what: str) -> None:
    """Charge one failure to every counter, unless one of them is waiting out a delay: then
    raise RateLimited (and charge nothing). One transaction, the counters locked."""
    now = t.utcnow()
    window = dt.timedelta(minutes=settings.login_window_minutes)
    with db.transaction() as s:
        rows = repo.lock_throttles(s, list(limits.keys))
        waits = [r.blocked_until for r in rows if r.blocked_until and r.blocked_until > now]
        if waits:
            retry = max(1, int((max(waits) - now).total_seconds() + 0.999))
            repo.audit(s, user=None, action="login_limited", what=what, allowed=False)
        else:
            for row in rows:
                recent = row.last_failure_at is not None and now - row.last_failure_at < window
                failures = (row.failures if recent else 0) + 1
                limit = limits.keys[row.key]
                blocked = now + _delay(settings, failures - limit) if failures >= limit else None
                repo.set_throttle(s, replace(row, failures=failures, last_failure_at=now,
                                             blocked_until=blocked))  # fmt: skip
    if waits:
        raise RateLimited(retry)


def _refund(s: Session, limits: _Limits) -> None:
    """Take back the failure charged ahead of a check that then succeeded: the counters
    personal to this account and client are cleared, the shared ones get one failure back."""
    rows = repo.lock_throttles(s, list(limits.keys))
    for row in rows:
        if row.key in limits.personal:
            continue
        failures = max(0, row.failures - 1)
        blocked = row.blocked_until if failures >= limits.keys[row.key] else None
        repo.set_throttle(s, replace(row, failures=failures, blocked_until=blocked))
    repo.clear_throttles(s, list(limits.personal))


# --- Devices a user has signed in from ------------------------------------------------------------


def _sign(settings: Settings, *parts: str) -> str:
    mac = hmac.new(settings.secret_key.encode(), "\x1f".join(parts).encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def device_cookie(settings: Settings, username: str, device: str | None = None) -> str:
    """The value of the cookie that marks this browser as one `username` signed in from."""
    device = device or secrets.token_urlsafe(16)
    return f"{device}.{_sign(settings, 'device', username, device)}"


def known_device(settings: Settings, cookie: str | None, username: str) -> str | None:
    """The device id when `cookie` is one we set for `username`, else None."""
    if not cookie or cookie.count(".") != 1:
        return None
    device, signature = cookie.split(".")
    if hmac.compare_digest(signature, _sign(settings, "device", username, device)):
        return device
    return None


# --- Second factor (TOTP, RFC 6238) --------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str, issuer: str = "bonemets") -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def totp_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step `code` is valid for (this one, or one either side for clock drift), or
    None. The step, not a yes/no, so that a code can be refused the second time it is used."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    step = totp.timecode(dt.datetime.fromtimestamp(now, dt.UTC))
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def _use_totp_step(s: Session, user_id: int, step: int) -> bool:
    """Record `step` as used, if no later or equal one was: one statement, so two requests
    with the same code cannot both pass."""
    result = s.execute(
        update(t.User)
        .where(t.User.id == user_id)
        .where((t.User.totp_last_step.is_(None)) | (t.User.totp_last_step < step))
        .values(totp_last_step=step)
    )
    return bool(getattr(result, "rowcount", 0))


def signed_secret(settings: Settings, user_id: int, secret: str) -> str:
    """A secret being enrolled, signed for this user (carried by the confirmation form)."""
    return f"{secret}.{_sign(settings, 'totp-enrol', str(user_id), secret)}"


def unsigned_secret(settings: Settings, user_id: int, signed: str) -> str | None:
    secret, _, signature = signed.partition(".")
    expected = _sign(settings, "totp-enrol", str(user_id), secret)
    return secret if secret and hmac.compare_digest(signature, expected) else None


def enable_totp(s: Session, user: t.User, secret: str, code: str) -> None:
    """Turn on the second factor once the user has shown a code from the new secret."""
    if user.role not in TOTP_ROLES:
        raise AccountError("role", "a second factor is for clinicians and admins")
    step = totp_step(secret, code)
    if step is None:
        raise AccountError("code", "that code does not match: check the app's clock and retry")
    user.totp_secret = secret
    user.totp_last_step = step
    repo.audit(s, user=user, action="totp_enabled", what=f"second factor for {user.username!r}")


def set_unit_system(s: Session, user: t.User, system: str) -> None:
    """The units this person reads results in (their own choice; audited like every change to
    an account)."""
    from bonemets.core.units import unit_systems

    if system not in unit_systems():
        raise AccountError("unit_system", f"unknown units {system!r}")
    user.unit_system = system
    repo.audit(s, user=user, action="units_chosen", what=f"units {system} for {user.username!r}")


def units_of(settings: Settings, user: t.User) -> str:
    """The unit system `user` reads results in: their choice, else the deployment's."""
    return user.unit_system or settings.unit_system


def disable_totp(s: Session, user: t.User) -> None:
    user.totp_secret = None
    user.totp_last_step = None
    repo.audit(s, user=user, action="totp_disabled", what=f"second factor for {user.username!r}")


# --- Sessions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_hash(token: str) -> str:
    """How a session is stored (and shown on the account page): never the token itself."""
    return _digest(token)


def start_session(
    s: Session, settings: Settings, user: t.User, *, replaces: str | None = None
) -> NewSession:
    """A new session (a new token: never the one the browser had before signing in, which
    `replaces` names and which ends here); the user's oldest sessions beyond the allowed
    number end too."""
    if replaces:
        repo.delete_session(s, _digest(replaces))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = t.utcnow()
    expires = now + dt.timedelta(hours=settings.session_hours)
    repo.add_session(
        s,
        t.Session(
            token_hash=_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=expires,
            created_at=now,
            last_seen_at=now,
        ),
    )
    idle = dt.timedelta(minutes=settings.idle_minutes)
    live = [
        row.token_hash
        for row in repo.user_sessions(s, user.id)
        if _aware(row.expires_at) > now and now - _aware(row.last_seen_at or row.created_at) <= idle
    ]
    repo.delete_user_sessions(s, user.id, keep=live[: settings.max_sessions])
    return NewSession(token=token, csrf_token=csrf, expires_at=expires)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# The last-seen time is written at most this often per session: a write on every request would
# cost more than many requests do, and the idle timeout is counted in minutes.
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Resumed:
    user: t.User
    session: t.Session
    touch: bool  # the session's last-seen time is due to be written (see `touch_session`)


def resume(s: Session, settings: Settings, token: str) -> Resumed | None:
    """The user and session behind a cookie, if it is live: not past its lifetime, nor idle
    longer than the idle timeout, and the user still active. A session found dead is deleted
    (in the caller's transaction, which must then commit)."""
    found = repo.session_and_user(s, _digest(token))
    if found is None:
        return None
    row, user = found
    now = t.utcnow()
    seen = _aware(row.last_seen_at or row.created_at)
    idle = now - seen > dt.timedelta(minutes=settings.idle_minutes)
    if _aware(row.expires_at) <= now or idle:
        repo.delete_session(s, row.token_hash)
        return None
    if not user.active:
        return None
    return Resumed(user, row, now - seen > TOUCH_EVERY)


def touch_session(s: Session, token: str) -> None:
    repo.touch_session(s, _digest(token), t.utcnow())


def end_session(s: Session, token: str, user: t.User | None = None) -> None:
    repo.delete_session(s, _digest(token))
    if user is not None:
        repo.audit(s, user=user, action="logout", what=f"sign out of {user.username!r}")


def end_all_sessions(s: Session, user: t.User) -> int:
    """Sign out everywhere: every session of the user ends. Returns how many."""
    ended = repo.delete_user_sessions(s, user.id)
    repo.audit(s, user=user, action="logout_all", what=f"sign out everywhere ({ended} sessions)")
    return ended


def csrf_ok(session: t.Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf_token, presented)


# --- Sign-in ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a session, or why not."""

    user: t.User | None = None
    session: NewSession | None = None
    device_cookie: str | None = None
    needs_code: bool = False  # the password was right; the second factor is asked for
    wrong_code: bool = False
    expired: bool = False  # the code step came too late (or its token was not ours)
    retry_after: int | None = None  # seconds to wait (the throttle)

    @property
    def ok(self) -> bool:
        return self.session is not None


def sign_in(
    db: Database,
    settings: Settings,
    *,
    username: str,
    password: str,
    client: str,
    device: str | None = None,
    code: str | None = None,
    replaces: str | None = None,
) -> SignIn:
    """Check a username, password and (when enrolled) TOTP code, throttled per account and
    client; start a session on success. Every attempt is audited. Blocking (argon2, the
    database): call it from a worker thread, not the event loop."""
    name = username.strip().lower()
    what = f"login for {storable(repr(name), 120)}"
    known = known_device(settings, device, name)
    limits = _limits(settings, name, client, known)
    try:
        _charge(db, settings, limits, what)
    except RateLimited as exc:
        return SignIn(retry_after=exc.retry_after)
    with db.transaction() as s:
        user = repo.user_by_name(s, name) if _username_problem(name) is None else None
    ok = False
    if len(password) <= MAX_PASSWORD:
        try:
            ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok or user is None or not user.active:
        record(db, user=None, action="login_failed", what=what)
        return SignIn()
    if user.totp_secret and not code:
        with db.transaction() as s:
            _refund(s, limits)  # a right password is not a failure; the code is asked for
            repo.audit(s, user=user, action="login_code_asked", what=what)
        return SignIn(user=user, needs_code=True)
    return _second_factor(db, settings, user, limits, code, what, replaces, known)


def sign_in_with_code(
    db: Database,
    settings: Settings,
    *,
    pending: str,
    code: str,
    client: str,
    device: str | None = None,
    replaces: str | None = None,
) -> SignIn:
    """The second step of a sign-in whose password was right (`pending`, from
    `pending_token`): the TOTP code, throttled like a password."""
    name = pending_username(settings, pending)
    if name is None:
        return SignIn(expired=True)
    what = f"login for {storable(repr(name), 120)}"
    known = known_device(settings, device, name)
    limits = _limits(settings, name, client, known)
    try:
        _charge(db, settings, limits, what)
    except RateLimited as exc:
        return SignIn(retry_after=exc.retry_after)
    with db.transaction() as s:
        user = repo.user_by_name(s, name)
    if user is None or not user.active or not user.totp_secret:
        record(db, user=None, action="login_failed", what=what)
        return SignIn()
    return _second_factor(db, settings, user, limits, code, what, replaces, known)


def _second_factor(
    db: Database,
    settings: Settings,
    user: t.User,
    limits: _Limits,
    code: str | None,
    what: str,
    replaces: str | None,
    device: str | None,
) -> SignIn:
    """Check the code when the user has a second factor, then start the session."""
    step = totp_step(user.totp_secret, code or "") if user.totp_secret else None
    with db.transaction() as s:
        if user.totp_secret and (step is None or not _use_totp_step(s, user.id, step)):
            repo.audit(s, user=user, action="login_failed", what=f"{what}: wrong code",
                       allowed=False)  # fmt: skip
            return SignIn(user=user, needs_code=True, wrong_code=True)
        _refund(s, limits)
        new = start_session(s, settings, user, replaces=replaces)
        repo.audit(s, user=user, action="login", what=what)
    cookie = device_cookie(settings, user.username, device)
    return SignIn(user=user, session=new, device_cookie=cookie)


PENDING_SECONDS = 300


def pending_token(settings: Settings, username: str, now: float | None = None) -> str:
    """Proof, for five minutes, that `username` gave the right password (the code step)."""
    expires = str(int((time.time() if now is None else now) + PENDING_SECONDS))
    name = username.encode().hex()
    return f"{name}.{expires}.{_sign(settings, 'pending', name, expires)}"


def pending_username(settings: Settings, token: str, now: float | None = None) -> str | None:
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    name, expires, signature = parts
    if not hmac.compare_digest(signature, _sign(settings, "pending", name, expires)):
        return None
    if int(expires) < (time.time() if now is None else now):
        return None
    try:
        return bytes.fromhex(name).decode()
    except ValueError:
        return None
