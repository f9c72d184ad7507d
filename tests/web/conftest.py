"""Databases for the web and storage tests: SQLite always, PostgreSQL when a server is
configured (BONEMETS_TEST_POSTGRES_URL; CI always sets it)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage.repository import Database
from bonemets.adapters.storage.tables import Base
from bonemets.config import Settings
from bonemets.core.record import Record
from bonemets.service import accounts

TODAY = dt.date(2026, 11, 23)
PG_URL = os.environ.get("BONEMETS_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    if not PG_URL:
        yield None
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"bonemets_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    Database(url).dispose()  # migrate once
    yield url
    with admin.connect() as conn:
        conn.execute(
            text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: str | None
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    if pg_database is None:
        if os.environ.get("BONEMETS_REQUIRE_POSTGRES") == "1":
            pytest.fail("BONEMETS_REQUIRE_POSTGRES=1 but BONEMETS_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL configured (set BONEMETS_TEST_POSTGRES_URL)")
    engine = create_engine(pg_database)
    with engine.begin() as conn:  # empty every table, keep the migrated schema
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield pg_database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, secure_cookies=False, fixed_today=TODAY, secret_key="test")


def example_record(patient_id: str) -> Record:
    from importlib import resources

    raw = resources.files("bonemets.examples").joinpath("record.json").read_text()
    record = Record.model_validate_json(raw)
    return record.model_copy(update={"id": patient_id})


PASSWORD = "correct horse battery"


@pytest.fixture
def people(db: Database) -> dict[str, str]:
    """Two teams, each with a clinician and a patient, and an admin. Returns patient ids."""
    with db.transaction() as s:
        for team, pid in (("Team A", "pat-a"), ("Team B", "pat-b")):
            t = repo.get_or_create_team(s, team)
            repo.create_patient(
                s, example_record(pid), team_id=t.id, display_name=f"Patient {pid}", mrn=pid.upper()
            )
            accounts.create_user(
                s, username=f"nurse-{pid[-1]}", password=PASSWORD, role="clinician", team=team
            )
            accounts.create_user(
                s, username=f"user-{pid[-1]}", password=PASSWORD, role="patient", patient_id=pid
            )
        accounts.create_user(s, username="admin", password=PASSWORD, role="admin")
    return {"a": "pat-a", "b": "pat-b"}


@pytest.fixture
def client(db: Database, settings: Settings, people: dict[str, str]) -> Iterator[TestClient]:
    """The app on the test database, with the two teams of `people`."""
    from bonemets.faces.web.app import create_app

    with TestClient(create_app(settings, db)) as c:
        yield c


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the API; the session's CSRF token."""
    response = client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token
