"""The JSON API over HTTP (FastAPI TestClient) on a real database: sign-in, CSRF, access rules
on every patient route, and the flows the pages use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.web.app import create_app
from tests.web.conftest import PASSWORD, sign_in


@pytest.fixture
def app_client(db: Database, settings: Settings, people: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db)) as client:
        yield client


# Every route that reads or writes a patient's record, as (method, path template, body).
PATIENT_ROUTES = [
    ("GET", "/api/patients/{p}/assessment", None),
    ("GET", "/api/patients/{p}/assessment?as_of=2026-06-01", None),
    ("GET", "/api/patients/{p}/record", None),
    ("GET", "/api/patients/{p}/reports", None),
    ("GET", "/api/patients/{p}/alerts", None),
    ("POST", "/api/patients/{p}/reports", {"symptoms": []}),
    ("POST", "/api/patients/{p}/entries/dental_exam", {"date": "2026-11-20"}),
    ("GET", "/patients/{p}", None),
]


def test_sign_in_and_out(app_client: TestClient) -> None:
    assert app_client.get("/api/session").status_code == 401
    assert (
        app_client.post(
            "/api/session", json={"username": "nurse-a", "password": "wrong password"}
        ).status_code
        == 401
    )
    csrf = sign_in(app_client, "nurse-a")
    me = app_client.get("/api/session").json()
    assert me["role"] == "clinician" and me["csrf_token"] == csrf
    assert app_client.delete("/api/session").status_code == 403  # no CSRF header
    assert app_client.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert app_client.get("/api/session").status_code == 401


def test_session_cookie_is_http_only(app_client: TestClient) -> None:
    response = app_client.post("/api/session", json={"username": "nurse-a", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie


def test_login_rate_limit(app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock stands still, so the delay after the fifth failure has not passed (on a busy
    # machine five argon2 checks may take longer than the first delay's one second).
    frozen = t.utcnow()
    monkeypatch.setattr(t, "utcnow", lambda: frozen)
    for _ in range(5):
        assert (
            app_client.post(
                "/api/session", json={"username": "nurse-a", "password": "nope nope"}
            ).status_code
            == 401
        )
    # waiting out the delay now, even with the right password
    refused = app_client.post("/api/session", json={"username": "nurse-a", "password": PASSWORD})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    frozen += dt.timedelta(seconds=2)  # the delay passes: a delay, not a lockout
    assert (
        app_client.post(
            "/api/session", json={"username": "nurse-a", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_writes_need_the_csrf_token(app_client: TestClient) -> None:
    sign_in(app_client, "user-a")
    response = app_client.post("/api/patients/pat-a/reports", json={"symptoms": []})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("who", "target"),
    [("user-a", "pat-b"), ("user-b", "pat-a"), ("nurse-a", "pat-b"), ("nurse-b", "pat-a")],
)
@pytest.mark.parametrize(("method", "path", "body"), PATIENT_ROUTES)
def test_no_route_shows_another_patients_record(
    app_client: TestClient,
    db: Database,
    who: str,
    target: str,
    method: str,
    path: str,
    body: object,
) -> None:
    csrf = sign_in(app_client, who)
    headers = {"X-CSRF-Token": csrf}
    response = app_client.request(method, path.format(p=target), json=body, headers=headers)
    missing = app_client.request(
        method, path.format(p="no-such-patient"), json=body, headers=headers
    )
    assert response.status_code == 404
    assert missing.status_code == 404
    if path.startswith("/api/"):  # the same answer whether the record exists or not
        assert response.json() == missing.json() == {"detail": "not found"}
    with db.transaction() as s:
        denied = [e for e in repo.audit_events(s) if e.action == "denied" and e.username == who]
    assert {e.patient_id for e in denied} >= {target, "no-such-patient"}


def test_patient_reads_own_record_and_submits_a_report(app_client: TestClient) -> None:
    csrf = sign_in(app_client, "user-a")
    assert app_client.get("/api/patients/pat-a/record").json()["id"] == "pat-a"
    response = app_client.post(
        "/api/patients/pat-a/reports",
        json={
            "symptoms": [
                {"code": "limb_weakness", "site": "legs"},
                {"code": "back_pain", "site": "lower_back"},
            ]
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["result"]["level"] == "emergency" and body["alert_id"]
    assert app_client.get("/api/worklist").status_code == 404  # patients have no worklist
    bad = app_client.post(
        "/api/patients/pat-a/reports",
        json={"symptoms": [{"code": "nope"}]},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "symptoms[0].code"


def test_clinician_worklist_assessment_entries_and_acknowledgement(app_client: TestClient) -> None:
    patient_csrf = sign_in(app_client, "user-a")
    alert_id = app_client.post(
        "/api/patients/pat-a/reports",
        json={"symptoms": [{"code": "seizure"}]},
        headers={"X-CSRF-Token": patient_csrf},
    ).json()["alert_id"]
    csrf = sign_in(app_client, "nurse-a")
    rows = app_client.get("/api/worklist").json()
    assert (
        rows[0]["patient_id"] == "pat-a"
        and rows[0]["level"] == "emergency"
        and rows[0]["open_alerts"] == 1
    )
    assert app_client.get("/api/worklist?level=urgent").json() == []
    assert app_client.get("/api/worklist?level=nonsense").status_code == 422
    past = app_client.get("/api/patients/pat-a/assessment?as_of=2026-06-01").json()
    assert past["as_of"] == "2026-06-01" and past["bma"]["agent"] == "zoledronic_acid"
    assert app_client.get("/api/patients/pat-a/assessment?as_of=2026-02-30").status_code == 422
    added = app_client.post(
        "/api/patients/pat-a/entries/imaging",
        json={"date": "2026-11-22", "modality": "ct"},
        headers={"X-CSRF-Token": csrf},
    )
    assert added.status_code == 201
    assert {m["test"]: m["status"] for m in added.json()["monitoring"]}["imaging"] == "ok"
    bad = app_client.post(
        "/api/patients/pat-a/entries/imaging",
        json={"date": "2026-11-22", "modality": "xray"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "modality"
    ack = app_client.post(
        f"/api/alerts/{alert_id}/acknowledge",
        json={"action_taken": "Phoned, ambulance called"},
        headers={"X-CSRF-Token": csrf},
    )
    assert ack.status_code == 200 and ack.json()["acknowledged_at"]
    assert app_client.get("/api/worklist").json()[0]["open_alerts"] == 0


def test_stateless_triage_endpoint_speaks_the_contract(app_client: TestClient) -> None:
    response = app_client.post(
        "/api/triage", json={"symptoms": [{"code": "limb_weakness", "site": "legs"}]}
    )
    assert response.status_code == 200
    assert (
        response.json()["level"] == "emergency"
        and response.json()["reasons"][0]["rule"] == "mscc.neurological"
    )
    bad = app_client.post("/api/triage", json={"symptoms": [{"code": "back_pain", "severity": 7}]})
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "symptoms[0].severity"


def test_security_headers(app_client: TestClient) -> None:
    response = app_client.get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_assessment_for_a_future_day_is_refused_and_today_is_cached(app_client: TestClient) -> None:
    sign_in(app_client, "nurse-a")
    future = app_client.get("/api/patients/pat-a/assessment?as_of=2099-01-01")
    assert future.status_code == 422 and future.json()["detail"]["field"] == "as_of"
    first = app_client.get("/api/patients/pat-a/assessment").json()
    again = app_client.get("/api/patients/pat-a/assessment").json()
    explicit = app_client.get("/api/patients/pat-a/assessment?as_of=2026-11-23").json()
    assert first == again == explicit and first["as_of"] == "2026-11-23"


def test_acknowledging_a_missing_alert_with_an_empty_action_is_404_not_a_crash(
    app_client: TestClient,
) -> None:
    sign_in(app_client, "nurse-a")
    csrf = app_client.get("/api/session").json()["csrf_token"]
    form = app_client.post("/alerts/999/ack", data={"csrf_token": csrf, "action_taken": ""})
    assert form.status_code == 404
    api = app_client.post(
        "/api/alerts/999/acknowledge", json={"action_taken": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert api.status_code == 404
