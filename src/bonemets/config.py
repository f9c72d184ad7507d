"""Deployment settings, read from the environment. The clinical core never reads these."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


def default_data_dir() -> Path:
    return Path(os.environ.get("BONEMETS_DATA_DIR", "data")).resolve()


@dataclass(frozen=True)
class Settings:
    """One place for what differs between a laptop demo and a deployment.

    BONEMETS_DATABASE_URL   SQLAlchemy URL; default SQLite in the data folder. PostgreSQL in
                            production, e.g. postgresql+psycopg://user@host/db
    BONEMETS_DATA_DIR       folder for the SQLite file (default ./data)
    BONEMETS_SECRET_KEY     secret for signing; a random one per process if unset (sessions
                            then end on restart)
    BONEMETS_SESSION_HOURS  session lifetime (default 8)
    BONEMETS_ESCALATE_MINUTES  emergency/urgent alerts unacknowledged this long are marked
                            escalated (default 30)
    BONEMETS_SECURE_COOKIES set to 0 only for plain-http local demos (default 1); when on, every
                            cookie is Secure and HSTS is sent
    BONEMETS_TEAM_CONTACTS  the team's numbers for the care plan, "Label: number; ..."

    Security (docs/security.md):
    BONEMETS_PUBLIC_URL     the app's address as users reach it, e.g. https://bonemets.example.org;
                            every absolute link (FHIR fullUrl, calendar) is built from it, never
                            from the request's Host header (default http://localhost:8000)
    BONEMETS_ALLOWED_HOSTS  Host header values accepted, comma-separated ("*" for any); default
                            the public URL's host and loopback names
    BONEMETS_TRUSTED_PROXIES  addresses or networks of the reverse proxies whose X-Forwarded-For
                            is believed (comma-separated); default none: the client address is the
                            connection's own
    BONEMETS_IDLE_MINUTES   a session ends after this long without a request (default 30)
    BONEMETS_MAX_SESSIONS   sessions one user may hold at once; a new sign-in ends the oldest
                            beyond it (default 3)
    BONEMETS_HSTS_SECONDS   Strict-Transport-Security max-age when cookies are Secure (default one
                            year; 0 turns it off)
    BONEMETS_LOGIN_ATTEMPTS failed sign-ins allowed per account and client before each further
                            one is delayed (default 5; the account from unknown devices gets 4x,
                            one client address across accounts 20x)
    BONEMETS_LOGIN_WINDOW_MINUTES  failures are forgotten after this long without one (default 60)
    BONEMETS_LOGIN_MAX_DELAY_MINUTES  the longest delay between tries (default 15): the delay
                            doubles with each failure past the limit, never a lockout
    BONEMETS_MAX_BODY_KB    largest request body for the app's pages and API (default 64)
    BONEMETS_CDS_MAX_BODY_KB  largest request body for /cds-services (default 20480)
    BONEMETS_REQUEST_TIMEOUT  seconds a read (GET) may take, and a client may take to send a
                            body, before the answer is 503/408 (default 60)
    """

    database_url: str = ""
    data_dir: Path = field(default_factory=default_data_dir)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session_hours: float = 8.0
    escalate_minutes: float = 30.0
    secure_cookies: bool = True
    login_attempts: int = 5
    login_window_minutes: float = 60.0
    login_max_delay_minutes: float = 15.0
    public_url: str = "http://localhost:8000"
    # Tests and direct construction accept any Host; from_env() defaults to the public URL's.
    allowed_hosts: tuple[str, ...] = ("*",)
    trusted_proxies: str = ""
    idle_minutes: float = 30.0
    max_sessions: int = 3
    hsts_seconds: int = 31_536_000
    max_body_kb: int = 64
    cds_max_body_kb: int = 20_480
    request_timeout_seconds: float = 60.0
    fixed_today: dt.date | None = None  # tests and recorded demos pin "today"
    # The care team's contact numbers for the printed care plan ("Label: number; ...").
    team_contacts: str = ""

    def today(self) -> dt.date:
        return self.fixed_today or dt.date.today()

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.data_dir / 'bonemets.sqlite3'}"
            )
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "database_url": env.get("BONEMETS_DATABASE_URL", ""),
            "data_dir": default_data_dir(),
            "session_hours": float(env.get("BONEMETS_SESSION_HOURS", "8")),
            "escalate_minutes": float(env.get("BONEMETS_ESCALATE_MINUTES", "30")),
            "secure_cookies": env.get("BONEMETS_SECURE_COOKIES", "1") != "0",
            "team_contacts": env.get("BONEMETS_TEAM_CONTACTS", ""),
            "public_url": env.get("BONEMETS_PUBLIC_URL", "http://localhost:8000"),
            "trusted_proxies": env.get("BONEMETS_TRUSTED_PROXIES", "").strip(),
            "idle_minutes": float(env.get("BONEMETS_IDLE_MINUTES", "30")),
            "max_sessions": int(env.get("BONEMETS_MAX_SESSIONS", "3")),
            "hsts_seconds": int(env.get("BONEMETS_HSTS_SECONDS", "31536000")),
            "login_attempts": int(env.get("BONEMETS_LOGIN_ATTEMPTS", "5")),
            "login_window_minutes": float(env.get("BONEMETS_LOGIN_WINDOW_MINUTES", "60")),
            "login_max_delay_minutes": float(env.get("BONEMETS_LOGIN_MAX_DELAY_MINUTES", "15")),
            "max_body_kb": int(env.get("BONEMETS_MAX_BODY_KB", "64")),
            "cds_max_body_kb": int(env.get("BONEMETS_CDS_MAX_BODY_KB", "20480")),
            "request_timeout_seconds": float(env.get("BONEMETS_REQUEST_TIMEOUT", "60")),
        }
        if env.get("BONEMETS_SECRET_KEY"):
            values["secret_key"] = env["BONEMETS_SECRET_KEY"]
        values.update(overrides)
        if "allowed_hosts" not in values:
            values["allowed_hosts"] = _allowed_hosts(
                env.get("BONEMETS_ALLOWED_HOSTS", ""), str(values["public_url"])
            )
        return cls(**values)  # type: ignore[arg-type]


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _allowed_hosts(setting: str, public_url: str) -> tuple[str, ...]:
    """The Host values to accept: the setting's list, else the public URL's host and loopback."""
    listed = tuple(h.strip() for h in setting.split(",") if h.strip())
    if listed:
        return listed
    host = urlsplit(public_url).hostname
    return tuple(dict.fromkeys([*([host] if host else []), *LOOPBACK_HOSTS]))
