"""The security suite runs on SQLite and PostgreSQL alike, with the web tests' databases and
people (two teams, each with a clinician and a patient, and an admin)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.web.app import create_app
from tests.web.conftest import PASSWORD, db, db_url, people, pg_database, settings

__all__ = ["PASSWORD", "db", "db_url", "people", "pg_database", "settings"]


@pytest.fixture
def client(db: Database, settings: Settings, people: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db)) as c:
        yield c


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheaper argon2 parameters for the accounts these tests create (the fixtures create five
    per test; the deployment's parameters are argon2-cffi's recommended ones, untouched)."""
    from argon2 import PasswordHasher

    from bonemets.service import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


class Clock:
    """The app's clock (`tables.utcnow`), standing still until moved: the login throttle's
    delays then pass when a test says so, not when a busy machine happens to be slow."""

    def __init__(self) -> None:
        import datetime as dt

        from bonemets.adapters.storage import tables as t

        self.now = t.utcnow()
        self._step = dt.timedelta

    def __call__(self) -> Any:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += self._step(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from bonemets.adapters.storage import tables as t

    frozen = Clock()
    monkeypatch.setattr(t, "utcnow", frozen)
    return frozen
