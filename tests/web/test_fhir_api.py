"""/fhir as a FHIR client meets it: paging with links, token/reference/date search, strict and
lenient handling, OperationOutcome errors, a CapabilityStatement validated by tools we did not
write, one patient's work per read, and SMART bearer tokens (real signed JWTs, the JWK Set served
by a local server), with fhirpy paging through every resource type."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bonemets.adapters.fhir import record_to_fhir, resource_id
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.web.app import create_app
from bonemets.service import accounts, ehr
from bonemets.service.fhir_search import READABLE, date_matches, date_range, parse_date_param
from tests.cds.conftest import CdsClient, free_port
from tests.web.conftest import PASSWORD, example_record

ISSUER = "https://auth.hospital.test"
MRN = "urn:oid:2.16.840.1.113883.19.5"
Json = dict[str, Any]


def fhir_id(pid: str) -> str:
    return resource_id(pid, "patient")


def login(client: TestClient, name: str) -> None:
    response = client.post("/api/session", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200


@pytest.fixture
def client(db: Database, settings: Settings, people: dict[str, str]) -> Iterator[TestClient]:
    # Links in bundles are built from the configured public URL (never the Host header): here,
    # the test client's own.
    settings = Settings(
        **{**settings.__dict__, "ehr_mrn_system": MRN, "public_url": "http://testserver"}
    )
    with TestClient(create_app(settings, db)) as c:
        yield c


def all_pages(client: TestClient, url: str) -> tuple[list[Json], list[Json]]:
    """Every entry of a search, following next links; and the bundles."""
    bundles, entries = [], []
    while url:
        bundle = client.get(url).json()
        assert bundle["resourceType"] == "Bundle", bundle
        bundles.append(bundle)
        entries += [e for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else ""
    return entries, bundles


# --- Paging -------------------------------------------------------------------------------------


def test_count_pages_with_self_next_and_previous_links(client: TestClient, db: Database) -> None:
    login(client, "admin")
    expected = {
        r["resource"]["id"]
        for pid in ("pat-a", "pat-b")
        for r in record_to_fhir(example_record(pid))["entry"]
        if r["resource"]["resourceType"] == "Observation"
    }
    entries, bundles = all_pages(client, "/fhir/Observation?_count=5")
    ids = [e["resource"]["id"] for e in entries]
    assert len(ids) == len(set(ids)) == len(expected) == 44 and set(ids) == expected
    assert [len(b.get("entry", [])) for b in bundles] == [5] * 8 + [4]
    first, second = bundles[0], bundles[1]
    links = {link["relation"]: link["url"] for link in second["link"]}
    assert links["self"].startswith("http://testserver/fhir/Observation?_count=5&_cursor=")
    # previous of page 2 is page 1, exactly
    previous = client.get(links["previous"].replace("http://testserver", "")).json()
    assert [e["resource"]["id"] for e in previous["entry"]] == [
        e["resource"]["id"] for e in first["entry"]
    ]
    assert "previous" not in {link["relation"] for link in first["link"]}
    # A page that did not read every patient gives no total rather than a guess; one that did,
    # does (here a patient's search on one page).
    assert "total" not in first
    whole = client.get(f"/fhir/Observation?patient={fhir_id('pat-a')}&_count=50").json()
    assert whole["total"] == 22 == len(whole["entry"])


def test_paging_is_stable_when_a_record_changes_between_pages(
    client: TestClient, db: Database
) -> None:
    login(client, "admin")
    page1 = client.get("/fhir/Observation?_count=10").json()
    # A new lab for pat-a between the pages: nothing of page 1 comes again, nothing is skipped.
    with db.transaction() as s:
        record = repo.load_record(s, "pat-a")
    from bonemets.core.record import Lab
    from bonemets.service import filing

    admin = _user(db, "admin")
    filing.record_entry(
        db,
        Settings(database_url=str(db.engine.url), fixed_today=record.labs[-1].date),
        admin,
        "pat-a",
        "lab",
        Lab(code="albumin", value=40, unit="g/L", date=record.labs[-1].date).model_dump(
            mode="json"
        ),
    )
    nxt = next(link["url"] for link in page1["link"] if link["relation"] == "next")
    rest, _ = all_pages(client, nxt.replace("http://testserver", ""))
    first_ids = {e["resource"]["id"] for e in page1["entry"]}
    rest_ids = [e["resource"]["id"] for e in rest]
    assert not first_ids & set(rest_ids) and len(rest_ids) == len(set(rest_ids))
    assert len(first_ids) + len(rest_ids) == 45  # the new lab is read once


def _user(db: Database, name: str) -> t.User:
    with db.transaction() as s:
        user = repo.user_by_name(s, name)
        assert user is not None
        return user


# --- Search parameters ----------------------------------------------------------------------------


def test_token_reference_and_date_search(client: TestClient) -> None:
    login(client, "nurse-a")
    pid = fhir_id("pat-a")

    def ids(query: str) -> set[str]:
        bundle = client.get(f"/fhir/{query}").json()
        assert bundle["resourceType"] == "Bundle", bundle
        return {
            e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"
        }

    creat = ids("Observation?code=http://loinc.org|2160-0")
    assert len(creat) == 3
    assert ids("Observation?code=2160-0") == creat  # any system
    assert ids("Observation?code=|2160-0") == set()  # no system: ours all have one
    assert ids("Observation?code=http://snomed.info/sct|2160-0") == set()
    loinc = ids("Observation?code=http://loinc.org|")
    assert creat < loinc and len(loinc) == 18
    assert ids("Observation?code=2160-0,1751-7") > creat  # OR
    for ref in (pid, f"Patient/{pid}", f"http://testserver/fhir/Patient/{pid}"):
        assert ids(f"Observation?patient={ref}") == ids(f"Observation?subject={ref}")
    assert len(ids(f"Observation?patient={pid}")) == 22
    assert ids("Observation?patient=Practitioner/x") == set()
    # Dates at the precision given: a year, a month, a day; prefixes; AND of two.
    year = ids("Observation?date=2026")
    assert year and year == ids("Observation?date=ge2026-01-01&date=lt2027-01-01")
    assert ids("Observation?date=2025") | year == ids("Observation?date=ge2025")
    november = ids("Observation?date=2026-11")
    assert november == ids("Observation?date=ge2026-11-01&date=le2026-11-30") and november
    assert ids("Observation?date=sa2026-11-30") == ids("Observation?date=gt2026-11-30")
    one = next(iter(ids("Observation?_id=" + next(iter(creat)))))
    assert one in creat and ids(f"Observation?_id={one}") == {one}
    assert ids("Condition?category=problem-list-item")
    assert ids("MedicationAdministration?code=http://www.nlm.nih.gov/research/umls/rxnorm|77655")


def test_bad_dates_are_400_operation_outcomes(client: TestClient) -> None:
    login(client, "nurse-a")
    for query in ("date=bogus", "date=2026-13", "date=ap2026", "date=", "_count=many"):
        response = client.get(f"/fhir/Observation?{query}")
        assert response.status_code == 400, query
        body = response.json()
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["diagnostics"].split(":")[0] in ("date", "_count")


def test_date_semantics_at_each_precision() -> None:
    day = "2026-11-20"
    assert date_matches(day, *parse_date_param("2026"))
    assert date_matches(day, *parse_date_param("eq2026-11"))
    assert not date_matches(day, *parse_date_param("eq2026-11-21"))
    assert date_matches(day, *parse_date_param("ne2026-11-21"))
    assert date_matches(day, *parse_date_param("lt2026-11-21")) and not date_matches(
        day, *parse_date_param("lt2026-11-20")
    )
    assert date_matches(day, *parse_date_param("le2026-11-20"))
    assert date_matches(day, *parse_date_param("eb2026-11-21"))
    assert not date_matches(day, *parse_date_param("eb2026-11-20"))
    assert date_matches("2026-11-20T23:30:00+02:00", *parse_date_param("2026-11-20"))
    assert not date_matches("2026-11-21T00:30:00+02:00", *parse_date_param("gt2026-11-20"))
    # An open Period reaches every later search.
    assert date_matches({"start": "2025-01-01"}, *parse_date_param("ge2030"))
    assert date_range("2026-02")[1].isoformat() == "2026-03-01T00:00:00+00:00"
    assert date_range("2026-12")[1].isoformat() == "2027-01-01T00:00:00+00:00"


def test_patient_by_identifier_finds_that_patient_only(client: TestClient) -> None:
    login(client, "admin")

    def patients(query: str) -> list[str]:
        bundle = client.get(f"/fhir/Patient?{query}").json()
        return [
            e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"
        ]

    assert patients(f"identifier={MRN}|PAT-A") == [fhir_id("pat-a")]
    assert patients("identifier=PAT-B") == [fhir_id("pat-b")]
    assert patients("identifier=https://bonemets.example/fhir/record-id|pat-b") == [
        fhir_id("pat-b")
    ]
    assert patients(f"identifier={MRN}|NOBODY") == []
    assert patients("identifier=http://other.example/mrn|PAT-A") == []  # the system counts
    assert sorted(patients("")) == sorted([fhir_id("pat-a"), fhir_id("pat-b")])
    patient = client.get(f"/fhir/Patient/{fhir_id('pat-a')}").json()
    assert {"system": MRN, "value": "PAT-A"}.items() <= patient["identifier"][1].items()
    assert patient["name"][0]["text"] == "Patient pat-a"
    assert patient["meta"]["lastUpdated"].endswith("Z")


def test_unknown_parameters_strict_400_lenient_ignored_and_reported(client: TestClient) -> None:
    login(client, "nurse-a")
    strict = client.get(
        "/fhir/Patient?identifier=PAT-A&nickname=x", headers={"Prefer": "handling=strict"}
    )
    assert strict.status_code == 400
    assert "nickname: unknown search parameter" in strict.json()["issue"][0]["diagnostics"]
    modifier = client.get(
        "/fhir/Observation?code:text=creatinine", headers={"Prefer": "handling=strict"}
    )
    assert modifier.status_code == 400 and "modifier" in modifier.text
    lenient = client.get("/fhir/Patient?identifier=PAT-A&nickname=x").json()
    matches = [e for e in lenient["entry"] if e["search"]["mode"] == "match"]
    assert [e["resource"]["id"] for e in matches] == [fhir_id("pat-a")]
    [warning] = [e["resource"] for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert "nickname" in warning["issue"][0]["diagnostics"]
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(self_link).query)
    assert "nickname" not in query and query["identifier"] == ["PAT-A"]


def test_no_match_is_an_empty_searchset(client: TestClient) -> None:
    login(client, "nurse-a")
    for query in ("Observation?patient=nobody", "Observation?code=nothing", "Patient?_id=nobody"):
        bundle = client.get(f"/fhir/{query}").json()
        assert bundle["type"] == "searchset" and bundle["total"] == 0 and "entry" not in bundle


def test_every_error_is_an_operation_outcome(client: TestClient) -> None:
    unauthenticated = client.get("/fhir/Observation")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["resourceType"] == "OperationOutcome"
    assert unauthenticated.headers["www-authenticate"].startswith('Bearer realm="bonemets"')
    assert unauthenticated.headers["content-type"] == "application/fhir+json"
    login(client, "nurse-a")
    for response, status in (
        (client.get("/fhir/Observation/nope"), 404),
        (client.get("/fhir/Basic"), 404),
        (client.get("/fhir/Patient/x/_history"), 404),
        (client.post("/fhir/Observation", json={"resourceType": "Observation"}), 405),
        (client.delete(f"/fhir/Patient/{fhir_id('pat-a')}"), 405),
        (client.get("/fhir/Observation", headers={"Accept": "application/fhir+xml"}), 406),
    ):
        assert response.status_code == status, response.request.url
        assert response.json()["resourceType"] == "OperationOutcome"
    assert client.put("/fhir/Patient/x", json={}).headers["allow"] == "GET"


# --- One patient's work -------------------------------------------------------------------------


def test_a_read_costs_one_patient_not_the_team(
    db: Database, settings: Settings, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.transaction() as s:
        team = repo.get_or_create_team(s, "Team A")
        for i in range(40):
            repo.create_patient(
                s, example_record(f"extra-{i}"), team_id=team.id, display_name=f"P{i}"
            )
    loads: list[str] = []
    original = repo.load_record_and_key

    def counting(s: Any, patient: t.Patient) -> Any:
        loads.append(patient.id)
        return original(s, patient)

    monkeypatch.setattr(repo, "load_record_and_key", counting)
    with TestClient(create_app(settings, db)) as client:
        login(client, "nurse-a")
        target = next(
            e["resource"]
            for e in record_to_fhir(example_record("extra-17"))["entry"]
            if e["resource"]["resourceType"] == "Observation"
        )
        with db.transaction() as s:
            before = s.scalar(select(func.count()).select_from(t.AuditEvent)) or 0
        got = client.get(f"/fhir/Observation/{target['id']}").json()
        assert got["id"] == target["id"]
        assert loads == ["extra-17"]
        loads.clear()
        bundle = client.get(f"/fhir/Observation?patient={fhir_id('extra-3')}&_count=100").json()
        assert len(bundle["entry"]) == 22 and loads == ["extra-3"]
        loads.clear()
        client.get("/fhir/Observation?_count=5")  # the first page: the first patient is enough
        assert len(loads) == 1
        with db.transaction() as s:
            rows = s.scalars(select(t.AuditEvent).where(t.AuditEvent.id > before)).all()
        assert [r.patient_id for r in rows if r.action == "read"] == [
            "extra-17",
            "extra-3",
            loads[0],
        ]


# --- The CapabilityStatement and SMART discovery ------------------------------------------------

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "fhir-validate"


def test_capability_statement_is_generated_and_valid(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'cs.sqlite3'}")  # no records needed: SQLite only
    settings = Settings(
        **{
            "database_url": str(db.engine.url),
            "fhir_oauth_issuer": ISSUER,
            "fhir_oauth_authorize_url": f"{ISSUER}/authorize",
            "fhir_oauth_token_url": f"{ISSUER}/token",
            "fhir_oauth_jwks_url": f"{ISSUER}/jwks.json",
        }
    )
    with TestClient(create_app(settings, db)) as client:
        cs = client.get("/fhir/metadata").json()
        smart = client.get("/fhir/.well-known/smart-configuration").json()
        assert client.get("/.well-known/smart-configuration").json() == smart
    assert cs["date"] and cs["kind"] == "instance" and cs["fhirVersion"] == "4.0.1"
    security = cs["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris == {"authorize": f"{ISSUER}/authorize", "token": f"{ISSUER}/token"}
    served = {r["type"]: {p["name"] for p in r["searchParam"]} for r in cs["rest"][0]["resource"]}
    assert set(served) == set(READABLE)
    assert {"_id", "_lastUpdated", "patient", "code", "date", "category"} <= served["Observation"]
    assert {"identifier", "_id"} <= served["Patient"]
    assert smart["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert "launch-ehr" in smart["capabilities"] and "permission-v2" in smart["capabilities"]
    # FHIR.js and the official R4 JSON schema (tests/fhir/test_validation.py has the set-up).
    from tests.fhir.test_validation import SCHEMA, _node

    node = _node()
    path, dateless = tmp_path / "cs.json", tmp_path / "cs-without-date.json"
    path.write_text(json.dumps(cs))
    dateless.write_text(json.dumps({k: v for k, v in cs.items() if k != "date"}))
    run = subprocess.run(
        [node, str(TOOLS / "validate.js"), str(path), str(dateless)], capture_output=True, text=True
    )
    report, missing = (f["errors"] for f in json.loads(run.stdout)["files"])
    assert [e for e in report if e["validator"] == "fhir.js"] == []
    # The schema shipped with the validator is R4 4.0.0's, whose list of FHIR versions ends at
    # 4.0.0: it refuses 4.0.1 (our version) and nothing else.
    assert {(e["location"], e["message"]) for e in report} <= {
        (".fhirVersion", "should be equal to one of the allowed values"),
        ("", "should match exactly one schema in oneOf"),
    }
    schema = json.loads(SCHEMA.read_text())
    schema["definitions"]["CapabilityStatement"]["properties"]["fhirVersion"]["enum"].append(
        "4.0.1"
    )
    patched = tmp_path / "fhir.schema.json"
    patched.write_text(json.dumps(schema))
    from bonemets.adapters.fhir.validation import SchemaValidator

    assert SchemaValidator(patched).errors(cs) == []
    # Without `date` (the old statement), FHIR.js refuses it (the schema has no cardinalities).
    assert any(e["location"] == "CapabilityStatement.date" for e in missing)
    db.dispose()


# --- SMART bearer tokens --------------------------------------------------------------------------


@pytest.fixture
def auth_server() -> Iterator[tuple[CdsClient, str]]:
    """An authorization server's keys, its JWK Set served over HTTP on a free loopback port."""
    issuer = CdsClient(issuer=ISSUER)
    url, stop = _serve(issuer.app())
    yield issuer, url
    stop()


def _serve(app: FastAPI) -> tuple[str, Any]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}", stop


def _bearer_settings(
    settings: Settings, jwks: str, audience: str, public_url: str = "http://testserver"
) -> Settings:
    return Settings(
        **{
            **settings.__dict__,
            "public_url": public_url,
            "fhir_oauth_issuer": ISSUER,
            "fhir_oauth_jwks_url": f"{jwks}/jwks.json",
            "fhir_oauth_audience": audience,
            "ehr_mrn_system": MRN,
        }
    )


def _link(db: Database, username: str, subject: str) -> None:
    ehr.link_identity(db, username, ISSUER, subject)


def test_bearer_tokens_user_and_patient_scopes(
    db: Database, settings: Settings, people: dict[str, str], auth_server: tuple[CdsClient, str]
) -> None:
    issuer, jwks = auth_server
    aud = "http://testserver/fhir"
    _link(db, "nurse-a", "Practitioner/123")
    now = time.time()

    def token(scope: str, **claims: Any) -> dict[str, str]:
        claims.setdefault("fhirUser", "https://ehr.hospital.test/fhir/Practitioner/123")
        return {"Authorization": f"Bearer {issuer.token(aud, now, scope=scope, **claims)}"}

    with TestClient(create_app(_bearer_settings(settings, jwks, aud), db)) as client:
        # user/ scope: what nurse-a may see (team A), nothing of team B
        team = token("user/*.rs")
        assert len(client.get("/fhir/Patient", headers=team).json()["entry"]) == 1
        other = fhir_id("pat-b")
        assert client.get(f"/fhir/Patient/{other}", headers=team).status_code == 404
        # patient/ scope: only the token's patient, even within the user's team
        with db.transaction() as s:
            team_a = repo.get_or_create_team(s, "Team A")
            repo.create_patient(s, example_record("pat-a2"), team_id=team_a.id, display_name="A2")
        assert len(client.get("/fhir/Patient", headers=team).json()["entry"]) == 2
        mine = token("patient/*.rs", patient=fhir_id("pat-a"))
        assert [
            e["resource"]["id"] for e in client.get("/fhir/Patient", headers=mine).json()["entry"]
        ] == [fhir_id("pat-a")]
        assert client.get(f"/fhir/Patient/{fhir_id('pat-a2')}", headers=mine).status_code == 404
        assert (
            client.get(f"/fhir/Observation?patient={fhir_id('pat-a2')}", headers=mine).json()[
                "total"
            ]
            == 0
        )
        # v1 .read, and a per-type scope
        v1 = token("patient/Observation.read", patient=fhir_id("pat-a"))
        assert client.get("/fhir/Observation", headers=v1).json()["total"] == 22
        assert client.get("/fhir/Condition", headers=v1).status_code == 403
        read_only = token("patient/Observation.r", patient=fhir_id("pat-a"))
        assert client.get("/fhir/Observation", headers=read_only).status_code == 403
        # a granular scope with a query is not honoured (it would read wider than granted)
        granular = token("patient/Observation.rs?category=laboratory", patient=fhir_id("pat-a"))
        assert client.get("/fhir/Observation", headers=granular).status_code == 403
        # patient/ scopes without a patient in the token: nothing
        nobody = token("patient/*.rs")
        assert client.get("/fhir/Observation", headers=nobody).json()["total"] == 0
        # a user not linked to one of ours
        stranger = token("user/*.rs", fhirUser="Practitioner/999", sub="someone")
        refused = client.get("/fhir/Patient", headers=stranger)
        assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome"
        # bad tokens: 401 with WWW-Authenticate
        for bad in (
            issuer.token(
                "http://elsewhere/fhir", now, scope="user/*.rs", fhirUser="Practitioner/123"
            ),
            issuer.token(
                aud, now, scope="user/*.rs", fhirUser="Practitioner/123", exp=int(now) - 100
            ),
            issuer.token(
                aud, now, scope="user/*.rs", fhirUser="Practitioner/123", iss="https://other"
            ),
            CdsClient(issuer=ISSUER).token(
                aud, now, scope="user/*.rs", fhirUser="Practitioner/123"
            ),
            "eyJhbGciOiJub25lIn0.eyJzY29wZSI6InVzZXIvKi5ycyJ9.",
        ):
            response = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {bad}"})
            assert response.status_code == 401, bad
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
    with db.transaction() as s:
        via = {e.what for e in repo.audit_events(s) if e.action == "read"}
    assert any(f"token from {ISSUER}" in w for w in via)


def test_fhirpy_pages_through_every_resource_type_with_a_bearer_token(
    db: Database, settings: Settings, people: dict[str, str], auth_server: tuple[CdsClient, str]
) -> None:
    fhirpy = pytest.importorskip("fhirpy")
    issuer, jwks = auth_server
    _link(db, "nurse-a", "Practitioner/123")
    with db.transaction() as s:
        team_a = repo.get_or_create_team(s, "Team A")
        for i in range(4):
            repo.create_patient(
                s, example_record(f"fp-{i}"), team_id=team_a.id, display_name=f"F{i}"
            )
    port = free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    app = create_app(_bearer_settings(settings, jwks, base, base.removesuffix("/fhir")), db)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        token = issuer.token(base, time.time(), scope="user/*.rs", fhirUser="Practitioner/123")
        client = fhirpy.SyncFHIRClient(base, authorization=f"Bearer {token}")
        expected: dict[str, set[str]] = {}
        for pid in ("pat-a", *(f"fp-{i}" for i in range(4))):
            for entry in record_to_fhir(example_record(pid))["entry"]:
                res = entry["resource"]
                expected.setdefault(res["resourceType"], set()).add(res["id"])
        assert set(expected) == set(READABLE)
        for rtype in READABLE:
            found = client.resources(rtype).search(_count=3).fetch_all()
            ids = [r.id for r in found]
            assert len(ids) == len(set(ids)) == len(expected[rtype]), rtype
            assert set(ids) == expected[rtype], rtype
        # a bad token is a FHIR error fhirpy raises, not an empty result
        bad = fhirpy.SyncFHIRClient(base, authorization="Bearer not-a-token")
        with pytest.raises(fhirpy.base.exceptions.AuthorizationError):
            bad.resources("Patient").fetch()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_an_unlinked_identity_cannot_be_a_patient_account(
    db: Database, people: dict[str, str]
) -> None:
    with pytest.raises(accounts.AccountError, match="care-team"):
        ehr.link_identity(db, "user-a", ISSUER, "Patient/1")
    with pytest.raises(accounts.AccountError, match="no user"):
        ehr.link_identity(db, "nobody", ISSUER, "Practitioner/1")


def test_card_links_open_our_patient_by_the_ehr_identifier(client: TestClient) -> None:
    link = f"/ehr/patient?identifier={urllib.parse.quote(f'{MRN}|PAT-A', safe='')}"
    first = client.get(link, follow_redirects=False)
    assert first.status_code == 303  # sign in first, then back to this very link
    assert first.headers["location"] == f"/login?next={urllib.parse.quote(link)}"
    login(client, "nurse-a")
    found = client.get(link, follow_redirects=False)
    assert (found.status_code, found.headers["location"]) == (303, "/patients/pat-a")
    other_system = client.get("/ehr/patient?identifier=http://other.example/mrn%7CPAT-A")
    assert other_system.status_code == 404
    # Another team's patient: the same 404 as no patient, its id never shown.
    hidden = client.get(f"/ehr/patient?identifier={urllib.parse.quote(f'{MRN}|PAT-B', safe='')}")
    assert hidden.status_code == 404 and "pat-b" not in hidden.text + hidden.url.path
