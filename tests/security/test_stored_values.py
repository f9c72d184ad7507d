"""Rendering never fails on a stored value: values the write path now refuses (dates in year 1
or 9999, a dose of 1e308 mg, limits upside down, a stop before its start, hundreds of symptoms)
may already be in a database, written before the rules or by another tool. They are put
straight into the database here, and every page, export and API read of the record must still
answer (and the clinician's page still show the patient's alerts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from bonemets.adapters.fhir import resource_id
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage.records import parse_entry
from bonemets.adapters.storage.repository import Database
from tests.security.conftest import sign_in
from tests.web.conftest import example_record

ODD_ENTRIES: list[tuple[str, dict[str, Any]]] = [
    ("lab", {"code": "creatinine", "value": 1.0, "unit": "mg/dL", "date": "0001-01-03"}),
    ("lab", {"code": "calcium_total", "value": 2.4, "unit": "mmol/L", "date": "9999-12-31"}),
    ("lab", {"code": "cea", "value": 1e308, "unit": "ng/mL", "date": "2026-11-01",
             "lower_limit": 5.0, "upper_limit": 1.0}),
    ("lab", {"code": "ca15_3", "value": 12.0, "unit": "U/mL", "date": "0001-01-01"}),
    ("bma_dose", {"agent": "zoledronic_acid", "date": "0001-01-03", "dose": 1e308, "route": "iv"}),
    ("bma_dose", {"agent": "denosumab", "date": "9999-12-31", "dose": 120, "route": "sc"}),
    ("bma_plan", {"agent": "denosumab", "date": "0001-01-01", "interval_weeks": 4}),
    ("imaging", {"date": "0001-01-03", "modality": "ct", "finding": "progression"}),
    ("lesion", {"date": "0001-01-03", "site": "T10", "id": "<script>alert(1)</script>"}),
    ("treatment", {"kind": "chemotherapy", "start": "0001-01-01", "stop": "9999-12-31"}),
    ("treatment", {"kind": "opioid", "start": "2026-10-01", "stop": "2026-01-01"}),
    ("supplement", {"date": "2026-11-01", "kind": "vitamin_d", "unit": "IU",
                    "daily_amount": 1e308, "stopped": "0001-01-01"}),
    ("condition", {"code": "heart_failure", "date": "9999-12-31", "resolved": "0001-01-01"}),
    ("weight", {"date": "0001-01-03", "kg": 999.0}),
    ("dental_exam", {"date": "0001-01-03", "outcome": "fit"}),
    ("symptom_report", {"date": "2026-11-22", "free_text": "x" * 50_000,
                        "symptoms": [{"code": "back_pain"}] * 400}),
]  # fmt: skip


def _store_odd_values(db: Database, patient_id: str) -> None:
    with db.transaction() as s:
        for kind, data in ODD_ENTRIES:
            repo.add_entry(s, patient_id, kind, parse_entry(kind, data), created_by=None)
        patient = repo.get_patient(s, patient_id)
        patient.profile = {
            **patient.profile,
            "demographics": {**patient.profile["demographics"], "birth_date": "0001-01-01"},
        }


def test_every_page_opens_on_odd_stored_values(
    client: TestClient, db: Database, people: dict[str, str]
) -> None:
    pid = people["a"]
    _store_odd_values(db, pid)
    fhir_patient = resource_id(pid, "patient")
    sign_in(client, "nurse-a")
    clinician = [
        "/worklist",
        f"/patients/{pid}",
        f"/patients/{pid}/careplan.pdf",
        f"/patients/{pid}/calendar.ics",
        "/api/worklist",
        f"/api/patients/{pid}/record",
        f"/api/patients/{pid}/assessment",
        f"/api/patients/{pid}/assessment?as_of=2026-01-01",
        f"/api/patients/{pid}/reports",
        f"/api/patients/{pid}/alerts",
        f"/fhir/Patient/{fhir_patient}",
        f"/fhir/Observation?patient={fhir_patient}",
        f"/fhir/MedicationAdministration?patient={fhir_patient}",
        f"/fhir/Procedure?patient={fhir_patient}",
        f"/fhir/Condition?patient={fhir_patient}",
    ]
    answers = {path: client.get(path).status_code for path in clinician}
    assert answers == dict.fromkeys(clinician, 200)
    page = client.get(f"/patients/{pid}").text
    assert "<script>alert(1)</script>" not in page  # escaped, as every stored text
    client.cookies.clear()
    sign_in(client, "user-a")
    reports = client.get(f"/api/patients/{pid}/reports").json()
    portal = ["/portal", "/portal/careplan.pdf", "/portal/calendar.ics"]
    portal += [f"/portal/reports/{r['entry_id']}" for r in reports if r["result"]]
    answers = {path: client.get(path).status_code for path in portal}
    assert answers == dict.fromkeys(portal, 200)


def test_the_patient_page_opens_with_each_odd_value_alone(
    client: TestClient, db: Database, people: dict[str, str]
) -> None:
    with db.transaction() as s:
        team = repo.get_patient(s, people["a"]).team_id
        for i, (kind, data) in enumerate(ODD_ENTRIES):
            pid = f"odd-{i}"
            repo.create_patient(s, example_record(pid), team_id=team, display_name=pid)
            repo.add_entry(s, pid, kind, parse_entry(kind, data), created_by=None)
    sign_in(client, "nurse-a")
    answers = {
        f"{kind} {data}"[:90]: client.get(f"/patients/odd-{i}").status_code
        for i, (kind, data) in enumerate(ODD_ENTRIES)
    }
    assert answers == dict.fromkeys(answers, 200)
    assert client.get("/worklist").status_code == 200


def test_odd_values_are_refused_at_the_door(client: TestClient, people: dict[str, str]) -> None:
    """The same values through the API are refused, naming the field (nothing stored)."""
    csrf = sign_in(client, "nurse-a")
    before = client.get(f"/api/patients/{people['a']}/record").json()
    refused = 0
    for kind, data in ODD_ENTRIES:
        if kind == "symptom_report":
            continue
        answer = client.post(
            f"/api/patients/{people['a']}/entries/{kind}", json=data, headers={"X-CSRF-Token": csrf}
        )
        assert answer.status_code == 422, (kind, data, answer.text)
        assert answer.json()["detail"]["field"], answer.text
        refused += 1
    assert refused == len(ODD_ENTRIES) - 1
    assert client.get(f"/api/patients/{people['a']}/record").json() == before
    assert dt.date(1900, 1, 1)  # the earliest date accepted (core.bounds.EARLIEST_DATE)
