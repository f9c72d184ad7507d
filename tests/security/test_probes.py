"""The probes of issue 17, as tests, on SQLite and PostgreSQL: bad values, odd ids, oversized
bodies, hostile headers. Each answer is a 4xx or the intended refusal, and what is refused is
not stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bonemets.adapters.fhir import record_to_fhir, resource_id
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.errors import InputError
from bonemets.faces.web.app import create_app
from bonemets.faces.web.deps import flash_url
from bonemets.service import filing
from bonemets.service.interop import import_resources
from tests.security.conftest import sign_in
from tests.web.conftest import example_record

CSRF = "X-CSRF-Token"


def _entry(client: TestClient, csrf: str, kind: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/patients/pat-a/entries/{kind}", json=body, headers={CSRF: csrf})


def _entries(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(t.Entry)) or 0)


def _refusals(db: Database, action: str) -> list[t.AuditEvent]:
    with db.transaction() as s:
        return [e for e in repo.audit_events(s, limit=1000) if e.action == action]


# --- Values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("lab", {"code": "creatinine", "value": 1.0, "unit": "mg/dL", "date": "0001-01-03"},
         "date"),
        ("lab", {"code": "creatinine", "value": 1.0, "unit": "mg/dL", "date": "1899-12-31"},
         "date"),
        ("bma_dose", {"agent": "zoledronic_acid", "date": "0001-01-03", "dose": 4}, "date"),
        ("imaging", {"date": "0001-01-03", "modality": "ct"}, "date"),
        ("bma_dose", {"agent": "zoledronic_acid", "date": "2026-11-20", "dose": 1e308}, "dose"),
        ("lab", {"code": "creatinine", "value": 1.0, "unit": "mg/dL", "date": "2026-11-20",
                 "lower_limit": 1.2, "upper_limit": 0.5}, "upper_limit"),
        ("treatment", {"kind": "chemotherapy", "start": "2026-11-01", "stop": "2026-10-01"},
         "stop"),
        ("treatment", {"kind": "chemotherapy", "start": "2026-11-01", "stop": "2027-11-25"},
         "stop"),
        ("supplement", {"date": "2026-11-01", "kind": "calcium", "unit": "mg",
                        "daily_amount": 1e308}, "daily_amount"),
        ("lesion", {"date": "2026-11-01", "site": "T10", "id": "x\x00y"}, "id"),
        ("lesion", {"date": "2026-11-01", "site": "T10", "id": "y" * 20_000}, "id"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_naming_the_field(
    client: TestClient, db: Database, kind: str, body: dict[str, Any], field: str
) -> None:
    csrf = sign_in(client, "nurse-a")
    before = _entries(db)
    answer = _entry(client, csrf, kind, body)
    assert answer.status_code in (413, 422), answer.text
    if answer.status_code == 422:
        assert answer.json()["detail"]["field"] == field, answer.text
    assert _entries(db) == before
    if answer.status_code == 422:
        invalid = _refusals(db, "invalid")
        assert invalid and invalid[0].username == "nurse-a" and not invalid[0].allowed
        assert field in invalid[0].what


def test_a_lone_surrogate_is_refused_not_a_crash(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "nurse-a")
    raw = b'{"date": "2026-11-01", "site": "T10", "id": "\\ud800"}'
    answer = client.post(
        "/api/patients/pat-a/entries/lesion",
        content=raw,
        headers={CSRF: csrf, "content-type": "application/json"},
    )
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "id"
    raw = b'{"symptoms": [{"code": "fever"}], "free_text": "\\udfff"}'
    client.cookies.clear()
    csrf = sign_in(client, "user-a")
    answer = client.post(
        "/api/patients/pat-a/reports",
        content=raw,
        headers={CSRF: csrf, "content-type": "application/json"},
    )
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "free_text"


def test_a_patients_lab_from_year_one_is_refused(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "user-a")
    before = _entries(db)
    report = {
        "symptoms": [{"code": "fatigue"}],
        "labs": [{"code": "calcium_total", "value": 2.4, "unit": "mmol/L", "date": "0001-01-03"}],
    }
    answer = client.post("/api/patients/pat-a/reports", json=report, headers={CSRF: csrf})
    assert answer.status_code == 422 and answer.json()["detail"]["field"] == "labs[0].date"
    assert _entries(db) == before


def test_twenty_thousand_symptoms_are_refused(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    """At the door (the body limit) and, for a caller inside, by the service."""
    with db.transaction() as s:
        patient = repo.user_by_name(s, "user-a")
    assert patient is not None
    data = {"symptoms": [{"code": "fatigue"}] * 20_000}
    with pytest.raises(InputError) as caught:
        filing.submit_report(db, settings, patient, people["a"], data)
    assert caught.value.field == "symptoms"
    with TestClient(create_app(settings, db)) as client:
        csrf = sign_in(client, "user-a")
        answer = client.post("/api/patients/pat-a/reports", json=data, headers={CSRF: csrf})
    assert answer.status_code == 413


# --- Identifiers that PostgreSQL refused with a 500 -----------------------------------------------

ODD_IDS = ["a" * 65, "a%00b", "%ED%A0%80", "x" * 300]
ID_ROUTES = [
    "/patients/{}",
    "/patients/{}/careplan.pdf",
    "/patients/{}/calendar.ics",
    "/api/patients/{}/record",
    "/api/patients/{}/assessment",
    "/fhir/Patient/{}",
    "/fhir/Observation?patient={}",
    "/fhir/Observation?patient=Patient/{}",
]


def test_odd_patient_ids_are_not_found_and_audited(client: TestClient, db: Database) -> None:
    sign_in(client, "nurse-a")
    answers = {
        route.format(odd): client.get(route.format(odd)).status_code
        for route in ID_ROUTES
        for odd in ODD_IDS
    }
    bad = {path: code for path, code in answers.items() if code >= 500 or code < 400}
    assert not bad
    denied = _refusals(db, "denied")
    assert len(denied) >= len(ID_ROUTES) * len(ODD_IDS) - len(ODD_IDS) * 2
    assert all(len(e.patient_id or "") <= 64 and "\x00" not in (e.what or "") for e in denied)


def test_a_long_username_on_the_login_form_is_a_plain_refusal(
    client: TestClient, db: Database
) -> None:
    token = client.get("/login").cookies["bm_login_csrf"]
    for name in ("n" * 250, "nurse-a\x00", "é" * 100, ""):
        answer = client.post(
            "/login", data={"csrf_token": token, "username": name, "password": "whatever it is"}
        )
        assert answer.status_code == 401, (name[:10], answer.status_code)
        token = answer.cookies["bm_login_csrf"]  # each answer carries a fresh form token
    assert len(_refusals(db, "login_failed")) == 4


def test_an_imported_id_that_is_not_a_fhir_id_is_refused(db: Database, settings: Settings) -> None:
    resources = [e["resource"] for e in record_to_fhir(example_record("imp-ok"))["entry"]]
    blob = orjson.dumps(resources).decode().replace("imp-ok", "x/../../alerts/1")
    odd = orjson.loads(blob)
    report = import_resources(db, settings, odd, team="Imported")
    assert set(report.outcomes.values()) == {"refused"}
    assert any("id" in r.reason for r in report.fhir.refusals)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(t.Patient)) == 0


def test_an_import_with_a_date_from_year_one_refuses_that_entry_only(
    db: Database, settings: Settings
) -> None:
    """One odd resource never costs the patient the rest of the record (issue 22): the lab dated
    year 1 is listed as refused, naming the field; the other labs are stored."""
    record = example_record("imp-old")
    lab = record.labs[0].model_copy(update={"date": dt.date(1, 1, 3)})
    record = record.model_copy(update={"labs": [lab, *record.labs[1:]]})
    resources = [e["resource"] for e in record_to_fhir(record)["entry"]]
    report = import_resources(db, settings, resources, team="Imported")
    assert report.outcomes == {"imp-old": "created"}
    refused = [(r.resource_type, r.resource_id, r.reason) for r in report.fhir.refusals]
    assert len(refused) == 1 and refused[0][:2] == ("entry", "labs[0].date")
    assert refused[0][2].startswith("labs[0].date: ") and "0001-01-03" in refused[0][2]
    with db.transaction() as s:
        stored = repo.load_record(s, "imp-old")
    assert len(stored.labs) == len(record.labs) - 1
    assert all(stored_lab.date.year > 1 for stored_lab in stored.labs)


# --- Flash messages, links and addresses ----------------------------------------------------------


def test_flash_shows_only_text_this_app_signed(client: TestClient, settings: Settings) -> None:
    sign_in(client, "nurse-a")
    forged = client.get("/patients/pat-a?flash=Call+0800+000+000+now&fs=0").text
    assert "0800 000 000" not in forged
    unsigned = client.get("/patients/pat-a?flash=Call+0800+000+000+now").text
    assert "0800 000 000" not in unsigned
    signed = client.get(flash_url(settings, "/patients/pat-a", "Saved lab.")).text
    assert '<p class="flash" role="status">Saved lab.</p>' in signed


def test_absolute_urls_come_from_the_configured_address(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    configured = Settings(**{**vars(settings), "public_url": "https://bonemets.example.org"})
    with TestClient(create_app(configured, db), base_url="http://evil.example") as client:
        sign_in(client, "nurse-a")
        patient = resource_id("pat-a", "patient")
        bundle = client.get(f"/fhir/Observation?patient={patient}").json()
        assert bundle["entry"] and all(
            e["fullUrl"].startswith("https://bonemets.example.org/fhir/") for e in bundle["entry"]
        )
        client.cookies.clear()
        sign_in(client, "user-a")
        ics = client.get("/portal/calendar.ics").text
    assert "evil.example" not in ics and "https://bonemets.example.org/portal" in ics


def test_an_unknown_host_is_refused(db: Database, settings: Settings) -> None:
    strict = Settings(**{**vars(settings), "allowed_hosts": ("bonemets.example.org",)})
    app = create_app(strict, db)
    with TestClient(app, base_url="http://evil.example") as client:
        assert client.get("/login").status_code == 400
    with TestClient(app, base_url="https://bonemets.example.org") as client:
        assert client.get("/login").status_code == 200


def test_from_env_accepts_only_the_public_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONEMETS_PUBLIC_URL", "https://care.example.org/")
    monkeypatch.delenv("BONEMETS_ALLOWED_HOSTS", raising=False)
    settings = Settings.from_env()
    assert settings.public_url == "https://care.example.org"
    assert settings.allowed_hosts == ("care.example.org", "localhost", "127.0.0.1", "::1")
    assert settings.secure_cookies and settings.hsts_seconds == 31_536_000


# --- Request bodies -------------------------------------------------------------------------------


def test_big_bodies_are_refused_before_they_are_read(client: TestClient) -> None:
    big = b'{"symptoms": [' + b'{"code": "fatigue"},' * 60_000 + b'{"code": "fever"}]}'
    answer = client.post("/api/triage", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        yield b'{"symptoms": ['
        for _ in range(200):
            yield b'{"code": "fatigue"},' * 100
        yield b'{"code": "fever"}]}'

    answer = client.post(
        "/api/triage", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    small = client.post("/api/triage", json={"symptoms": [{"code": "fever"}]})
    assert small.status_code == 200


def test_cds_hooks_has_its_own_body_limit(db: Database, settings: Settings) -> None:
    body = b'{"hook": "patient-view", "pad": "' + b"x" * 200_000 + b'"}'
    headers = {"content-type": "application/json"}
    with TestClient(create_app(settings, db)) as client:  # 20 MiB by default
        answer = client.post("/cds-services/bonemets-patient-view", content=body, headers=headers)
        assert answer.status_code != 413
    tight = Settings(**{**vars(settings), "cds_max_body_kb": 64})
    with TestClient(create_app(tight, db)) as client:
        answer = client.post("/cds-services/bonemets-patient-view", content=body, headers=headers)
        assert answer.status_code == 413
