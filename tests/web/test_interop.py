"""FHIR into the database (idempotent, per-patient transactions) and the read-only /fhir API."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from bonemets.adapters.fhir import record_to_fhir, resource_id
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.records import canonical
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.cli.main import app as cli
from bonemets.service.interop import import_resources
from tests.web.conftest import PASSWORD, example_record


def resources_of(patient_id: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in record_to_fhir(example_record(patient_id))["entry"]]


def entry_count(db: Database) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(t.Entry)) or 0)


def test_import_is_lossless_and_idempotent(db: Database, settings: Settings) -> None:
    first = import_resources(db, settings, resources_of("imp-1"), team="Imported")
    assert first.outcomes == {"imp-1": "created"} and first.added_entries > 0
    with db.transaction() as s:
        assert repo.load_record(s, "imp-1") == canonical(example_record("imp-1"))
    stored = entry_count(db)
    again = import_resources(db, settings, resources_of("imp-1"), team="Imported")
    assert again.outcomes == {"imp-1": "unchanged"} and again.added_entries == 0
    assert entry_count(db) == stored


def test_a_malformed_resource_is_refused_alone(db: Database, settings: Settings) -> None:
    # Issue 22: per-resource refusal, never per-patient. The resource is listed with its reason
    # and the rest of its patient is imported.
    bad = resources_of("imp-bad")
    for resource in bad:
        if resource["resourceType"] == "Observation" and "valueQuantity" in resource:
            resource["valueQuantity"]["code"] = "furlongs"
            resource["valueQuantity"]["unit"] = "furlongs"
            broken_id = resource["id"]
            break
    report = import_resources(db, settings, [*bad, *resources_of("imp-good")], team="Imported")
    assert report.outcomes == {"imp-bad": "created", "imp-good": "created"}
    [refusal] = [r for r in report.fhir.refusals if r.resource_id == broken_id]
    assert "furlongs" in refusal.reason
    assert report.fhir.partial == {"imp-bad": [refusal]}

    def stored(pid: str) -> int:
        query = select(func.count()).select_from(t.Entry).where(t.Entry.patient_id == pid)
        with db.transaction() as s:
            return int(s.scalar(query) or 0)

    assert stored("imp-bad") == stored("imp-good") - 1


def login(client: TestClient, name: str) -> None:
    assert (
        client.post("/api/session", json={"username": name, "password": PASSWORD}).status_code
        == 200
    )


def test_fhir_search_and_read_follow_the_access_rules(client: TestClient, db: Database) -> None:
    assert client.get("/fhir/Observation?patient=pat-a").status_code == 401
    login(client, "nurse-a")
    fhir_patient = resource_id("pat-a", "patient")
    bundle = client.get(
        f"/fhir/Observation?patient=Patient/{fhir_patient}&code=http://loinc.org|17861-6,http://loinc.org|2000-8"
    ).json()
    assert (
        bundle["resourceType"] == "Bundle"
        and bundle["type"] == "searchset"
        and bundle["total"] >= 1
    )
    for entry in bundle["entry"]:
        codes = {c["code"] for c in entry["resource"]["code"]["coding"]}
        assert codes & {"17861-6", "2000-8"}
    dated = client.get(
        f"/fhir/Observation?patient={fhir_patient}&date=ge2026-11-01&date=le2026-11-30"
    ).json()
    assert dated["total"] >= 1
    assert all("2026-11" in e["resource"]["effectiveDateTime"] for e in dated["entry"])
    one = bundle["entry"][0]["resource"]
    assert client.get(f"/fhir/Observation/{one['id']}").json() == one
    assert client.get(f"/fhir/Patient/{fhir_patient}").json()["resourceType"] == "Patient"
    # another team's patient: the same 404 as a resource that does not exist
    other = client.get(f"/fhir/Patient/{resource_id('pat-b', 'patient')}")
    missing = client.get("/fhir/Patient/does-not-exist")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json() and other.json()["resourceType"] == "OperationOutcome"
    # A search on another team's patient: an empty searchset, as for a patient that does not exist
    # (and the attempt is audited as denied).
    hidden = client.get(f"/fhir/Observation?patient={resource_id('pat-b', 'patient')}").json()
    unknown = client.get("/fhir/Observation?patient=does-not-exist").json()
    assert hidden["total"] == unknown["total"] == 0 and "entry" not in hidden
    assert client.get("/fhir/Basic/x").status_code == 404
    assert client.get("/fhir/metadata").json()["fhirVersion"] == "4.0.1"
    with db.transaction() as s:
        denied = [
            e for e in repo.audit_events(s) if e.action == "denied" and e.username == "nurse-a"
        ]
    assert len(denied) >= 2


def test_cli_import_reports_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    monkeypatch.setenv("BONEMETS_DATABASE_URL", url)
    bundle = record_to_fhir(example_record("cli-1"))
    broken = copy.deepcopy(record_to_fhir(example_record("cli-2")))
    for entry in broken["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["birthDate"] = "not-a-date"
    bundle["entry"] += broken["entry"]
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(bundle))
    runner = CliRunner()
    first = runner.invoke(cli, ["import", str(path), "--team", "Breast", "--json"])
    assert first.exit_code == 0, first.output
    out = orjson.loads(first.stdout)
    # Issue 22: the unreadable Patient resource alone is refused (birth date left unknown); the
    # rest of cli-2 is imported and the refusal listed.
    assert out["patients"] == {"cli-1": "created", "cli-2": "created"}
    [refusal] = out["refusals"]
    assert refusal["resource_type"] == "Patient" and "birthDate" in refusal["reason"]
    assert out["patients_with_refused_resources"] == ["cli-2"]
    second = orjson.loads(
        runner.invoke(cli, ["import", str(path), "--team", "Breast", "--json"]).stdout
    )
    assert second["patients"]["cli-1"] == "unchanged" and second["added_entries"] == 0
    assert runner.invoke(cli, ["import", str(tmp_path / "nothing.json")]).exit_code == 2
