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
    BONEMETS_TEAM_CONTACTS  the team's numbers ("Label: number; ..."): the care plan, and
                            tap-to-call links on the patient's emergency screen
    BONEMETS_UNIT_SYSTEM    the units results are shown in until a person chooses on their account
                            page: si (mmol/L, umol/L; the default) or conventional (mg/dL, ng/mL)

    Notifications (see README, "Alerts and notifications"): alerts at or above
    BONEMETS_NOTIFY_LEVEL (default urgent) go to every configured channel.
    BONEMETS_SMTP_URL       smtp://user:password@host:587 (STARTTLS when the server offers it),
                            smtps://... (TLS from the start), or smtp://host:25
    BONEMETS_MAIL_FROM      the sender address of alert e-mails
    BONEMETS_ALERT_EMAIL    where alerts go (a team may have its own: `bonemets team set`)
    BONEMETS_ESCALATION_EMAIL  where alerts still open after BONEMETS_ESCALATE_MINUTES go
    BONEMETS_ALERT_WEBHOOK_URL  a webhook (Teams/Slack-style receiver, pager gateway) that gets
                            each alert as JSON, signed per the Standard Webhooks specification
    BONEMETS_ALERT_WEBHOOK_SECRET  its signing secret ("whsec_" + base64)
    BONEMETS_ALERT_FOLD_DAYS  an acknowledged alert absorbs stable repeats this long (90)
    BONEMETS_CHECK_IN_DAYS  a patient with a portal login and no check-in for this many days
                            gets a "missed check-in" task (7)

    EHR integration (README, "Integrating with an EHR"):
    BONEMETS_EHR_MRN_SYSTEM the identifier system of the EHR's MRN, the MRN our patients carry:
                            an EHR's patient is found by it (SMART launch, card links), and /fhir
                            Patients carry it
    BONEMETS_FHIR_OAUTH_ISSUER  the authorization server whose bearer tokens /fhir accepts (iss)
    BONEMETS_FHIR_OAUTH_JWKS_URL  its JWK Set (tokens signed RS256/RS384/ES256/ES384)
    BONEMETS_FHIR_OAUTH_AUDIENCE  the aud those tokens carry (default: <public URL>/fhir)
    BONEMETS_FHIR_OAUTH_AUTHORIZE_URL, BONEMETS_FHIR_OAUTH_TOKEN_URL  its endpoints, published
                            in /fhir/.well-known/smart-configuration and the CapabilityStatement
    BONEMETS_SMART_CLIENTS  our app's registrations with EHRs, JSON (or @file.json): EHR FHIR
                            base URL (iss) -> {"client_id", "client_secret" (confidential clients
                            only), "scope"}
    BONEMETS_SMART_STANDALONE_ISS  the EHR a standalone launch (/smart/launch without iss) uses
    CDS Hooks settings (BONEMETS_CDS_*) are read by the CDS service: faces/cds/service.py.

    Security (docs/security.md):
    BONEMETS_PUBLIC_URL     the app's address as users reach it, e.g. https://bonemets.example.org;
                            every absolute link (FHIR fullUrl, calendar, SMART, notifications) is
                            built from it, never from the request's Host header (default
                            http://localhost:8000)
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
    unit_system: str = "si"  # knowledge/labs.toml [unit_systems]
    notify_level: str = "urgent"
    smtp_url: str = ""
    mail_from: str = "bonemets@localhost"
    alert_email: str = ""
    escalation_email: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    alert_fold_days: float = 90.0
    check_in_days: float = 7.0
    notify_interval_seconds: float = 60.0  # how often the app's courier sweeps
    ehr_mrn_system: str | None = None
    fhir_oauth_issuer: str | None = None
    fhir_oauth_jwks_url: str | None = None
    fhir_oauth_audience: str | None = None
    fhir_oauth_authorize_url: str | None = None
    fhir_oauth_token_url: str | None = None
    smart_clients: str = ""
    smart_standalone_iss: str | None = None

    def today(self) -> dt.date:
        return self.fixed_today or dt.date.today()

    def __post_init__(self) -> None:
        from bonemets.core.levels import Level

        if self.notify_level not in {level.value for level in Level}:
            raise ValueError(
                f"BONEMETS_NOTIFY_LEVEL={self.notify_level!r}: expected one of "
                + ", ".join(level.value for level in Level)
            )
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.data_dir / 'bonemets.sqlite3'}"
            )
        from bonemets.core.units import unit_systems

        if self.unit_system not in unit_systems():
            raise ValueError(
                f"BONEMETS_UNIT_SYSTEM={self.unit_system!r}: expected one of "
                + ", ".join(unit_systems())
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
            "unit_system": env.get("BONEMETS_UNIT_SYSTEM", "si").strip() or "si",
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
            "notify_level": env.get("BONEMETS_NOTIFY_LEVEL", "urgent"),
            "smtp_url": env.get("BONEMETS_SMTP_URL", ""),
            "mail_from": env.get("BONEMETS_MAIL_FROM", "bonemets@localhost"),
            "alert_email": env.get("BONEMETS_ALERT_EMAIL", ""),
            "escalation_email": env.get("BONEMETS_ESCALATION_EMAIL", ""),
            "webhook_url": env.get("BONEMETS_ALERT_WEBHOOK_URL", ""),
            "webhook_secret": env.get("BONEMETS_ALERT_WEBHOOK_SECRET", ""),
            "alert_fold_days": float(env.get("BONEMETS_ALERT_FOLD_DAYS", "90")),
            "check_in_days": float(env.get("BONEMETS_CHECK_IN_DAYS", "7")),
            "smart_clients": env.get("BONEMETS_SMART_CLIENTS", ""),
        }
        for name in (
            "public_url",
            "ehr_mrn_system",
            "fhir_oauth_issuer",
            "fhir_oauth_jwks_url",
            "fhir_oauth_audience",
            "fhir_oauth_authorize_url",
            "fhir_oauth_token_url",
            "smart_standalone_iss",
        ):
            value = env.get(f"BONEMETS_{name.upper()}", "").strip()
            if value:
                values[name] = value
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
