"""The per-worker record cache and the cheaper request path (bench/web_cpu.py): a write is seen
by the next read, in this worker and in another one; what is served from the cache is what a
fresh read of the database gives; every read is still audited; sessions and CSRF still hold."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.db import make_engine, upgrade
from bonemets.adapters.storage.records import with_entries
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.pathway import assess
from bonemets.core.record import Lab, SymptomReport
from bonemets.service import care, filing
from tests.web.conftest import TODAY, sign_in
from tests.web.test_care import EMERGENCY, user

CALM = {"symptoms": [{"code": "fatigue", "severity": 1}]}


def stored_record(db: Database, patient_id: str) -> dict[str, Any]:
    with db.transaction() as s:
        return repo.load_record(s, patient_id).model_dump(mode="json")


def audit_count(db: Database, what: str, patient_id: str | None = None) -> int:
    with db.transaction() as s:
        query = select(func.count()).select_from(t.AuditEvent).where(t.AuditEvent.what == what)
        if patient_id is not None:
            query = query.where(t.AuditEvent.patient_id == patient_id)
        return int(s.scalar(query) or 0)


# --- A write is visible to the next read ---------------------------------------------------


def test_a_report_is_in_the_next_read_of_the_record_and_the_assessment(
    client: TestClient, db: Database
) -> None:
    sign_in(client, "nurse-a")
    before_record = client.get("/api/patients/pat-a/record").json()
    before = client.get("/api/patients/pat-a/assessment").json()
    # The example record is already an emergency since issue 21 (two UKONS Ambers, chemotherapy
    # unknown); the report's own red flag is what must appear.
    assert "mscc.neurological" not in {a["rule"] for a in before["alerts"]}
    assert client.get("/api/patients/pat-a/record").json() == before_record  # from the cache

    with TestClient(client.app) as patient:  # another browser: the patient's own session
        csrf = sign_in(patient, "user-a")
        answer = patient.post(
            "/api/patients/pat-a/reports", json=EMERGENCY, headers={"X-CSRF-Token": csrf}
        )
        assert answer.status_code == 201, answer.text

    after_record = client.get("/api/patients/pat-a/record").json()
    assert len(after_record["symptom_reports"]) == len(before_record["symptom_reports"]) + 1
    assert after_record == stored_record(db, "pat-a")
    after = client.get("/api/patients/pat-a/assessment").json()
    assert after["level"] == "emergency"
    assert "mscc.neurological" in {a["rule"] for a in after["alerts"]}
    assert client.get("/api/worklist").json()[0]["level"] == "emergency"


def test_a_dose_is_in_the_next_read(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "nurse-a")
    before = client.get("/api/patients/pat-a/assessment").json()
    doses = len(client.get("/api/patients/pat-a/record").json()["bma_doses"])
    dose = {"agent": "zoledronic_acid", "date": TODAY.isoformat(), "dose": 3.5, "route": "iv"}
    url = "/api/patients/pat-a/entries/bma_dose"
    # The example record's creatinine rose: the kidney rule advises against the dose, so it is
    # refused without a reason (and stores nothing), and recorded with one.
    refused = client.post(url, json=dose, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"]["findings"][0]["rule"] == "bma.kidney_rise"
    assert len(client.get("/api/patients/pat-a/record").json()["bma_doses"]) == doses
    answer = client.post(
        url,
        params={"override_reason": "nephrology agreed; creatinine repeat pending"},
        json=dose,
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 201, answer.text
    record = client.get("/api/patients/pat-a/record").json()
    assert len(record["bma_doses"]) == doses + 1 and record == stored_record(db, "pat-a")
    after = client.get("/api/patients/pat-a/assessment").json()
    assert after == answer.json()
    assert before["bma"]["last_dose"] != TODAY.isoformat() == after["bma"]["last_dose"]


def test_a_write_through_another_worker_is_seen(
    db: Database, db_url: str, settings: Settings, people: dict[str, str]
) -> None:
    """Two Database objects on one database stand for two uvicorn workers, each with its own
    cache: the one that did not write must not serve its stale copy."""
    nurse = user(db, "nurse-a")
    first = care.record_json(db, nurse, "pat-a")
    assert care.record_json(db, nurse, "pat-a") is first  # cached
    other = Database(db_url)
    try:
        filing.submit_report(other, settings, user(other, "user-a"), "pat-a", EMERGENCY)
        # And a row written by anything else at all (an import, a script): the key still moves.
        with other.transaction() as s:
            lab = Lab.model_validate(
                {"code": "creatinine", "value": 80, "unit": "umol/L", "date": "2026-11-01"}
            )
            repo.add_entry(s, "pat-a", "lab", lab, created_by=None)
    finally:
        other.dispose()
    seen = json.loads(care.record_json(db, nurse, "pat-a"))
    assert seen == stored_record(db, "pat-a")
    assert len(seen["symptom_reports"]) == len(json.loads(first)["symptom_reports"]) + 1
    today = json.loads(care.assessment_json(db, settings, nurse, "pat-a"))
    assert today["level"] == "emergency"


def test_a_profile_change_is_seen(db: Database, settings: Settings, people: dict[str, str]) -> None:
    nurse = user(db, "nurse-a")
    care.record_json(db, nurse, "pat-a")
    with db.transaction() as s:
        patient = repo.get_patient(s, "pat-a")
        profile = json.loads(json.dumps(patient.profile))
        profile["demographics"]["sex"] = (
            "male" if profile["demographics"]["sex"] != "male" else "female"
        )
        patient.profile = profile  # as an import does: a new dict, no new entry
    seen = json.loads(care.record_json(db, nurse, "pat-a"))
    assert seen["demographics"]["sex"] == profile["demographics"]["sex"]


def test_a_rolled_back_report_leaves_nothing_in_the_cache(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    nurse, patient = user(db, "nurse-a"), user(db, "user-a")
    before = care.record_json(db, nurse, "pat-a")
    with pytest.raises(RuntimeError), db.transaction() as s:
        filing.submit_report(db, settings, patient, "pat-a", EMERGENCY, s=s)
        raise RuntimeError("the caller's unit of work fails after the report")
    assert care.record_json(db, nurse, "pat-a") == before
    assert json.loads(before) == stored_record(db, "pat-a")
    # The next report (SQLite may hand out the rolled-back entry id again) is read correctly.
    filing.submit_report(db, settings, patient, "pat-a", CALM)
    assert json.loads(care.record_json(db, nurse, "pat-a")) == stored_record(db, "pat-a")


# --- What the cache serves is what the database holds ------------------------------------------


def test_records_built_from_the_cache_equal_a_fresh_read(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    nurse, patient = user(db, "nurse-a"), user(db, "user-a")
    care.record_json(db, nurse, "pat-a")  # cache the record, so writes extend the cached copy
    # A lab dated before the latest entries goes in the middle of its list, as storage orders it.
    older_lab = {"code": "calcium_total", "value": 2.4, "unit": "mmol/L", "date": "2026-10-01"}
    reports = [CALM, {**CALM, "labs": [older_lab]}, EMERGENCY, {"symptoms": []}]
    for report in reports:
        filing.submit_report(db, settings, patient, "pat-a", report)
        with db.transaction() as s:
            fresh = repo.load_record(s, "pat-a")
            slot = db.records.get("pat-a", repo.record_key(s, repo.get_patient(s, "pat-a")))
        assert slot is not None and slot.record == fresh
    assert json.loads(care.record_json(db, nurse, "pat-a")) == fresh.model_dump(mode="json")
    served = json.loads(care.assessment_json(db, settings, nurse, "pat-a"))
    assert served == assess(fresh, TODAY).model_dump(mode="json")


def test_with_entries_places_entries_as_storage_reads_them_back(
    db: Database, people: dict[str, str]
) -> None:
    with db.transaction() as s:
        record = repo.load_record(s, "pat-a")
    dates = [lab.date for lab in record.labs]
    middle = dates[len(dates) // 2]
    lab = Lab.model_validate({"code": "albumin", "value": 35, "unit": "g/L", "date": middle})
    report = SymptomReport.model_validate({"date": TODAY.isoformat(), "symptoms": []})
    extended = with_entries(record, [("lab", lab), ("symptom_report", report)])
    with db.transaction() as s:
        repo.add_entry(s, "pat-a", "lab", lab, created_by=None)
        repo.add_entry(s, "pat-a", "symptom_report", report, created_by=None)
    with db.transaction() as s:
        assert extended == repo.load_record(s, "pat-a")


# --- Every read is still audited, once per request ---------------------------------------------


def test_every_read_is_audited_even_when_served_from_the_cache(
    client: TestClient, db: Database
) -> None:
    sign_in(client, "nurse-a")
    reads = {
        "/api/patients/pat-a/record": "read record",
        "/api/patients/pat-a/assessment": f"read assessment as of {TODAY}",
        "/api/patients/pat-a/alerts": "read alerts",
    }
    for path, what in reads.items():
        before = audit_count(db, what, "pat-a")
        for _ in range(3):
            assert client.get(path).status_code == 200
        assert audit_count(db, what, "pat-a") == before + 3, path
    before = audit_count(db, "read worklist (1 patients)")
    for _ in range(2):
        assert client.get("/api/worklist").status_code == 200
    assert audit_count(db, "read worklist (1 patients)") == before + 2
    with db.transaction() as s:
        last = repo.audit_events(s, patient_id="pat-a", limit=1)[0]
    assert (last.username, last.action, last.allowed) == ("nurse-a", "read", True)


def test_refused_reads_are_audited_and_look_missing(client: TestClient, db: Database) -> None:
    sign_in(client, "nurse-a")
    for path in ("record", "assessment", "alerts"):
        answer = client.get(f"/api/patients/pat-b/{path}")
        assert answer.status_code == 404 and answer.json() == {"detail": "not found"}
    with db.transaction() as s:
        denied = [e for e in repo.audit_events(s, patient_id="pat-b") if e.action == "denied"]
    assert len(denied) == 3 and all(e.username == "nurse-a" for e in denied)


# --- Sessions and CSRF on the routes that check the session inside their own work -------------


def test_hot_routes_need_a_live_session(client: TestClient, db: Database) -> None:
    paths = ["/api/worklist", "/api/patients/pat-a/record", "/api/patients/pat-a/assessment"]
    paths.append("/api/patients/pat-a/alerts")
    for path in paths:
        assert client.get(path).status_code == 401  # no cookie
    csrf = sign_in(client, "nurse-a")
    assert all(client.get(path).status_code == 200 for path in paths)
    with db.transaction() as s:  # the session expires
        s.execute(
            t.Session.__table__.update().values(expires_at=t.utcnow() - dt.timedelta(minutes=1))
        )
    assert all(client.get(path).status_code == 401 for path in paths)
    with db.transaction() as s:  # and an expired session is deleted when it is presented
        assert s.scalar(select(func.count()).select_from(t.Session)) == 0
    csrf = sign_in(client, "nurse-a")
    assert client.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert all(client.get(path).status_code == 401 for path in paths)


def test_a_report_needs_the_csrf_token_and_stores_nothing_without_it(
    client: TestClient, db: Database
) -> None:
    csrf = sign_in(client, "user-a")
    before = stored_record(db, "pat-a")
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": "é".encode("latin-1")}):
        answer = client.post("/api/patients/pat-a/reports", json=CALM, headers=headers)
        assert answer.status_code == 403
    assert stored_record(db, "pat-a") == before
    ok = client.post("/api/patients/pat-a/reports", json=CALM, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201 and {"entry_id", "alert_id", "result"} <= set(ok.json())


def test_a_deactivated_user_is_signed_out_at_once(client: TestClient, db: Database) -> None:
    sign_in(client, "nurse-a")
    assert client.get("/api/worklist").status_code == 200
    with db.transaction() as s:
        found = repo.user_by_name(s, "nurse-a")
        assert found is not None
        found.active = False
    assert client.get("/api/worklist").status_code == 401


# --- The worklist's alert summary -------------------------------------------------------------


def test_worklist_alert_summary_matches_the_alerts(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    """Open alerts counted, the newest one's headline, escalation as `is_escalated` decides,
    with alerts of several levels and ages, some acknowledged."""
    patient, nurse = user(db, "user-a"), user(db, "nurse-a")
    # Three reports each with a new red flag (a repeat would fold into the open alert).
    news = [EMERGENCY, {"symptoms": [{"code": "seizure"}]}, {"symptoms": [{"code": "chest_pain"}]}]
    ids = [filing.submit_report(db, settings, patient, "pat-a", r).alert_id for r in news]
    assert None not in ids
    late = dt.timedelta(minutes=settings.escalate_minutes + 5)
    with db.transaction() as s:
        alerts = [repo.get_alert(s, i or 0) for i in ids]
        alerts[0].created_at = t.utcnow() - late  # escalated, unless acknowledged
        alerts[1].created_at = t.utcnow() - 2 * late
        alerts[1].level = "soon"  # old, but not a level that escalates
    row = care.worklist(db, settings, nurse)[0]
    with db.transaction() as s:
        open_alerts = repo.alerts_for(s, ["pat-a"], open_only=True)
    now = t.utcnow()
    assert row.open_alerts == len(open_alerts) == 3
    assert row.headline == open_alerts[0].headline
    assert row.escalated == any(care.is_escalated(a, settings, now) for a in open_alerts) is True
    care.acknowledge(db, nurse, ids[0] or 0, "phoned")
    row = care.worklist(db, settings, nurse)[0]
    assert row.open_alerts == 2 and not row.escalated


# --- The status column the worklist reads -----------------------------------------------------


@pytest.fixture
def empty_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A database with no schema yet on the backend under test (PostgreSQL: a scratch one)."""
    if make_url(db_url).get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    name = f"bonemets_mig_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migration_fills_the_top_alert_of_stored_statuses(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        upgrade(engine, "0001")
        summary = {"alerts": [{"message": "Calcium is high"}], "level": "urgent"}
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (id, name) VALUES (1, 'T')"))
            conn.execute(
                t.Patient.__table__.insert().values(
                    id="p", team_id=1, display_name="P", profile={}, created_at=t.utcnow(),
                    updated_at=t.utcnow(),
                )
            )  # fmt: skip
            row = {
                "patient_id": "p", "as_of": TODAY, "level": "urgent", "level_rank": 3,
                "overdue": 0, "bma_status": "due", "next_due": None, "summary": summary,
                "computed_at": t.utcnow(),
            }  # fmt: skip
            conn.execute(t.PatientStatus.__table__.insert().values(**row))
        upgrade(engine)
        with engine.begin() as conn:
            top = conn.execute(select(t.PatientStatus.top_alert)).scalar_one()
        assert top == "Calcium is high"
    finally:
        engine.dispose()
