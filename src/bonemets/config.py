"""Deployment settings, read from the environment. The clinical core never reads these."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


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
    BONEMETS_SECURE_COOKIES set to 0 only for plain-http local demos (default 1)
    BONEMETS_TEAM_CONTACTS  the team's numbers for the care plan, "Label: number; ..."
    """

    database_url: str = ""
    data_dir: Path = field(default_factory=default_data_dir)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session_hours: float = 8.0
    escalate_minutes: float = 30.0
    secure_cookies: bool = True
    login_attempts: int = 5  # failed logins allowed per username and address ...
    login_window_minutes: float = 15.0  # ... within this window
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
        }
        if env.get("BONEMETS_SECRET_KEY"):
            values["secret_key"] = env["BONEMETS_SECRET_KEY"]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
