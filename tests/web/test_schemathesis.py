"""Property-based tests of the whole JSON API with Schemathesis, in process over ASGI on a real
database (SQLite, and PostgreSQL when BONEMETS_TEST_POSTGRES_URL is set).

Every operation of /api/openapi.json is called with generated input (valid and invalid), signed in
as a clinician and as a patient (session cookie, and the X-CSRF-Token header on writes). Checked
on each answer: no server error, the status code is documented, the content type is documented,
and the body matches the documented schema. Routes on one patient or alert are called twice:
with the generated id (almost always 404) and with the id of the team's own patient or alert, so
that generated bodies reach the services and the clinical core.

Note: `schemathesis.pytest.from_fixture` (lazy schemas) does not work with pytest 9.2 (it sets
`request.node._nodeid`, which pytest 9.2 no longer has), hence a schema loaded at import time from
an app on an empty in-memory database, and every request sent to the test's own app.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine, text

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage.repository import Database
from bonemets.adapters.storage.tables import Base
from bonemets.config import Settings
from bonemets.faces.web.app import create_app
from bonemets.faces.web.deps import CSRF_HEADER, SESSION_COOKIE
from bonemets.service import accounts
from tests.web.conftest import BACKENDS, PASSWORD, TODAY, example_record

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
Case = schemathesis.Case[Any]
PATIENT = "pat-a"
# A valid body per entry kind: the generated body is laid over it (generated keys win), so that
# the generated values also reach the core's models with the rest of the entry valid.
ENTRY: dict[str, dict[str, Any]] = {
    "weight": {"date": "2026-11-20", "kg": 61.5},
    "height": {"date": "2026-11-20", "cm": 163},
    "lesion": {"date": "2026-11-20", "site": "T10", "type": "lytic"},
    "lab": {"code": "creatinine", "value": 1.0, "unit": "mg/dL", "date": "2026-11-20"},
    "bma_dose": {"agent": "zoledronic_acid", "date": "2026-11-20", "dose": 3.5, "route": "iv"},
    "bma_plan": {"date": "2026-11-20", "agent": "zoledronic_acid", "interval_weeks": 12},
    "dental_exam": {"date": "2026-11-20", "outcome": "fit"},
    "dental_procedure": {"date": "2026-11-20", "kind": "extraction", "invasive": True},
    "imaging": {"date": "2026-11-20", "modality": "ct", "finding": "stable"},
    "supplement": {"date": "2026-11-20", "kind": "vitamin_d", "daily_amount": 800, "unit": "IU"},
    "condition": {"code": "heart_failure", "date": "2026-11-20"},
    "treatment": {"kind": "chemotherapy", "start": "2026-11-20"},
}
TRIAGE: dict[str, Any] = {"symptoms": [{"code": "back_pain", "severity": 2, "site": "lower_back"}]}

# The OpenAPI document does not depend on data: load it once, from an app on an empty database.
schema = schemathesis.openapi.from_asgi(
    "/api/openapi.json",
    create_app(
        Settings(database_url="sqlite://", secure_cookies=False, secret_key="schema"),
        Database("sqlite://", migrate=False),
    ),
)


@dataclass
class Api:
    """The app on a seeded database, and a clinician of the patient's team signed in to it."""

    app: FastAPI
    alert_id: int
    username: str = "nurse"
    cookie: str = ""
    csrf: str = ""

    def sign_in(self) -> None:
        with TestClient(self.app) as client:
            body = {"username": self.username, "password": PASSWORD}
            response = client.post("/api/session", json=body)
            assert response.status_code == 200, response.text
            self.cookie = response.cookies[SESSION_COOKIE]
            self.csrf = response.json()["csrf_token"]

    def call(self, case: Case) -> None:
        case.call_and_validate(
            app=self.app,
            headers={CSRF_HEADER: self.csrf},
            cookies={SESSION_COOKIE: self.cookie},
            checks=CHECKS,
        )


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="module", params=["nurse", "patient"])
def role(request: pytest.FixtureRequest) -> str:
    """Who calls: the clinician of the patient's team, or the patient."""
    name: str = request.param
    return name


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_database: str | None,
    role: str,
) -> Iterator[Api]:
    """One database per backend and role for all operations (seeding and migrating cost
    seconds)."""
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('schemathesis')) / 'api.sqlite3'}"
    elif pg_database is None:
        pytest.skip("no PostgreSQL configured (set BONEMETS_TEST_POSTGRES_URL)")
    else:
        url = pg_database
        _empty_postgres(url)
    db = Database(url)
    with db.transaction() as s:
        team = repo.get_or_create_team(s, "Team A")
        repo.create_patient(
            s, example_record(PATIENT), team_id=team.id, display_name="Patient A", mrn="MRN-A"
        )
        accounts.create_user(
            s, username="nurse", password=PASSWORD, role="clinician", team="Team A"
        )
        accounts.create_user(
            s, username="patient", password=PASSWORD, role="patient", patient_id=PATIENT
        )
    settings = Settings(
        database_url=url, secure_cookies=False, fixed_today=TODAY, secret_key="test"
    )
    app = create_app(settings, db)
    with TestClient(app) as client:  # an open alert on the clinician's patient
        csrf = client.post(
            "/api/session", json={"username": "patient", "password": PASSWORD}
        ).json()["csrf_token"]
        alert_id = client.post(
            f"/api/patients/{PATIENT}/reports",
            json={"symptoms": [{"code": "limb_weakness", "site": "legs"}]},
            headers={CSRF_HEADER: csrf},
        ).json()["alert_id"]
    api = Api(app=app, alert_id=alert_id, username=role)
    api.sign_in()
    yield api
    db.dispose()


def _known_ids(case: Case, api: Api) -> dict[str, Any] | None:
    """The path parameters with a record the clinician may see, if the route names one."""
    params = dict(case.path_parameters or {})
    if "patient_id" in params:
        params["patient_id"] = PATIENT
    elif "alert_id" in params:
        params["alert_id"] = api.alert_id
    else:
        return None
    return params


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Case, api: Api) -> None:
    api.call(case)
    known = _known_ids(case, api)
    if known is not None:
        case.path_parameters = known
        api.call(case)
    template = _template(case)
    if template is not None and isinstance(case.body, dict):
        case.body = {**template, **case.body}
        api.call(case)
    if case.method.upper() == "DELETE" and case.path == "/api/session":
        api.sign_in()  # the generated call may have ended the session


def _template(case: Case) -> dict[str, Any] | None:
    if case.path == "/api/triage":
        return TRIAGE
    if case.path.endswith("/entries/{kind}"):
        kind = (case.path_parameters or {}).get("kind")
        return ENTRY.get(kind) if isinstance(kind, str) else None
    return None
