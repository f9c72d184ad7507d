"""The app's use cases against a real database: reports, alerts, worklist, entries, access."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.errors import InputError
from bonemets.service import care, filing
from tests.web.conftest import sign_in

EMERGENCY = {
    "symptoms": [
        {"code": "limb_weakness", "site": "legs", "severity": 3},
        {"code": "back_pain", "site": "mid_back", "severity": 3},
    ]
}


def user(db: Database, name: str) -> t.User:
    with db.transaction() as s:
        found = repo.user_by_name(s, name)
        assert found is not None
        return found


def counts(db: Database) -> tuple[int, int, int]:
    with db.transaction() as s:
        return tuple(  # type: ignore[return-value]
            int(s.scalar(select(func.count()).select_from(tab)) or 0)
            for tab in (t.Entry, t.Alert, t.ReportResult)
        )


def test_emergency_report_alerts_the_team_and_tops_the_worklist(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    patient = user(db, "user-a")
    done = filing.submit_report(db, settings, patient, "pat-a", EMERGENCY)
    assert done.result.level == "emergency"
    assert done.result.reasons[0].rule == "mscc.neurological"
    assert done.alert_id is not None
    rows = care.worklist(db, settings, user(db, "nurse-a"))
    assert [r.patient_id for r in rows] == ["pat-a"]  # only the team's patient
    assert rows[0].level == "emergency" and rows[0].open_alerts == 1
    assert "spinal cord" in (rows[0].headline or "")


def test_a_normal_value_typed_in_by_the_patient_does_not_hide_the_laboratory_calcium(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    # The record's own calcium (3.05 mmol/L three days ago) is part of the triage context ...
    calm = {"symptoms": [{"code": "fatigue", "severity": 1}]}
    first = filing.submit_report(db, settings, user(db, "user-a"), "pat-a", calm)
    assert first.result.level == "urgent" and first.result.reasons[0].rule == "labs.hypercalcaemia"
    assert first.alert_id is not None
    # ... a normal calcium the patient types in today does not supersede it (it is stored as
    # reported by the patient, to confirm) ...
    today_normal = {**calm, "labs": [{"code": "calcium_corrected", "value": 2.4, "unit": "mmol/L"}]}
    done = filing.submit_report(db, settings, user(db, "user-a"), "pat-a", today_normal)
    assert done.result.level == "urgent"
    assert done.alert_id is None and done.raised.folded == [first.alert_id]  # already open
    with db.transaction() as s:
        typed = [e for e in repo.entries(s, "pat-a", ["lab"]) if e.origin == "api"]
    assert [e.data["reported_by_patient"] for e in typed] == [True]
    # ... and the same value from the laboratory, entered by the team, does.
    nurse = user(db, "nurse-a")
    lab = {"code": "calcium_corrected", "value": 2.4, "unit": "mmol/L", "date": "2026-11-23"}
    after = filing.record_entry(db, settings, nurse, "pat-a", "lab", lab)
    assert not [a for a in after.assessment.alerts if a.rule == "labs.hypercalcaemia"]


def test_a_refused_report_stores_nothing(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    before = counts(db)
    bad = {
        "symptoms": [{"code": "fatigue"}],
        "labs": [{"code": "calcium_total", "value": 40, "unit": "mmol/L"}],
    }
    with pytest.raises(InputError) as err:
        filing.submit_report(db, settings, user(db, "user-a"), "pat-a", bad)
    assert err.value.field == "labs[0].value"
    with pytest.raises(InputError) as err:
        filing.submit_report(
            db,
            settings,
            user(db, "user-a"),
            "pat-a",
            {"symptoms": [{"code": "fatigue", "severity": 9}]},
        )
    assert err.value.field == "symptoms[0].severity"
    assert counts(db) == before


def test_a_lab_value_with_the_report_is_stored_and_used(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    report = {
        "symptoms": [],
        "labs": [{"code": "calcium_corrected", "value": 3.3, "unit": "mmol/L"}],
    }
    done = filing.submit_report(db, settings, user(db, "user-a"), "pat-a", report)
    assert done.result.level == "emergency"
    with db.transaction() as s:
        record = repo.load_record(s, "pat-a")
    assert any(
        lab.code == "calcium_corrected" and lab.value == 3.3 and lab.date == settings.today()
        for lab in record.labs
    )


def test_recording_a_dose_moves_the_next_due_date(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    nurse = user(db, "nurse-a")
    before = care.patient_view(db, settings, nurse, "pat-a").assessment.bma
    # clear the kidney hold first: a creatinine back at baseline
    filing.record_entry(
        db,
        settings,
        nurse,
        "pat-a",
        "lab",
        {"code": "creatinine", "value": 0.9, "unit": "mg/dL", "date": "2026-11-22"},
    )
    after = filing.record_entry(
        db,
        settings,
        nurse,
        "pat-a",
        "bma_dose",
        {"agent": "zoledronic_acid", "date": "2026-11-23", "dose": 3.5, "route": "iv"},
    ).assessment.bma
    assert before.next_due is not None and after.next_due is not None
    assert after.last_dose == dt.date(2026, 11, 23)
    assert after.next_due == dt.date(2026, 11, 23) + dt.timedelta(weeks=after.interval_weeks or 4)
    assert after.next_due > before.next_due


def test_bad_entry_names_the_field_and_stores_nothing(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    before = counts(db)
    with pytest.raises(InputError) as err:
        filing.record_entry(
            db,
            settings,
            user(db, "nurse-a"),
            "pat-a",
            "bma_dose",
            {"agent": "denosumab", "date": "2026-11-23", "route": "iv"},
        )
    assert err.value.field == "route"
    with pytest.raises(InputError) as err:
        filing.record_entry(
            db,
            settings,
            user(db, "nurse-a"),
            "pat-a",
            "lab",
            {"code": "creatinine", "value": 1, "unit": "mmol/L", "date": "2026-11-23"},
        )
    assert err.value.field == "unit"
    assert counts(db) == before


def test_acknowledging_needs_an_action_and_records_who(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    done = filing.submit_report(db, settings, user(db, "user-a"), "pat-a", EMERGENCY)
    nurse = user(db, "nurse-a")
    assert done.alert_id is not None
    with pytest.raises(InputError):
        care.acknowledge(db, nurse, done.alert_id, "   ")
    alert = care.acknowledge(db, nurse, done.alert_id, "Phoned; sent to ED for MRI")
    assert alert.acknowledged_by == nurse.id and alert.action_taken == "Phoned; sent to ED for MRI"
    assert care.worklist(db, settings, nurse)[0].open_alerts == 0
    with pytest.raises(care.AccessDenied):  # the other team cannot acknowledge it
        care.acknowledge(db, user(db, "nurse-b"), done.alert_id, "x")


def test_unacknowledged_urgent_alert_is_escalated_after_the_set_time(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    done = filing.submit_report(db, settings, user(db, "user-a"), "pat-a", EMERGENCY)
    nurse = user(db, "nurse-a")
    assert not care.worklist(db, settings, nurse)[0].escalated
    with db.transaction() as s:
        alert = repo.get_alert(s, done.alert_id or 0)
        alert.created_at = t.utcnow() - dt.timedelta(minutes=settings.escalate_minutes + 1)
    assert care.worklist(db, settings, nurse)[0].escalated


@pytest.mark.parametrize(
    ("who", "patient"),
    [
        ("user-a", "pat-b"),
        ("nurse-a", "pat-b"),
        ("user-b", "pat-a"),
        ("nurse-b", "pat-a"),
        ("nurse-a", "no-such"),
    ],
)
def test_access_is_refused_and_audited(
    db: Database, settings: Settings, people: dict[str, str], who: str, patient: str
) -> None:
    someone = user(db, who)
    with pytest.raises(care.AccessDenied):
        care.patient_view(db, settings, someone, patient)
    with pytest.raises(care.AccessDenied):
        filing.submit_report(db, settings, someone, patient, {"symptoms": []})
    with db.transaction() as s:
        denied = [e for e in repo.audit_events(s) if e.action == "denied"]
    assert len(denied) == 2 and all(e.username == who and e.patient_id == patient for e in denied)


def test_reads_and_writes_are_audited(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    filing.submit_report(db, settings, user(db, "user-a"), "pat-a", {"symptoms": []})
    care.patient_view(db, settings, user(db, "nurse-a"), "pat-a")
    with db.transaction() as s:
        events = [(e.username, e.action) for e in repo.audit_events(s, patient_id="pat-a")]
    assert ("user-a", "write") in events and ("nurse-a", "read") in events


def test_admin_sees_every_patient_and_patients_have_no_worklist(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    assert {r.patient_id for r in care.worklist(db, settings, user(db, "admin"))} == {
        "pat-a",
        "pat-b",
    }
    with pytest.raises(care.AccessDenied):
        care.worklist(db, settings, user(db, "user-a"))


def test_future_dates_nul_text_and_impossible_alert_ids_are_refused(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    nurse = user(db, "nurse-a")
    before = counts(db)
    with pytest.raises(InputError) as err:
        filing.record_entry(
            db, settings, nurse, "pat-a", "weight", {"date": "9999-12-31", "kg": 60}
        )
    assert err.value.field == "date"
    with pytest.raises(InputError) as err:
        filing.record_entry(
            db,
            settings,
            nurse,
            "pat-a",
            "lesion",
            {"date": "2026-11-01", "site": "T4", "id": "a\x00b"},
        )
    assert err.value.field == "id"
    with pytest.raises(InputError) as err:
        filing.submit_report(
            db, settings, user(db, "user-a"), "pat-a", {"symptoms": [], "free_text": "pain\x00"}
        )
    assert err.value.field == "free_text"
    with pytest.raises(care.AccessDenied):
        care.acknowledge(db, nurse, 2**31, "done")
    assert counts(db) == before


def test_a_deceased_patient_is_left_off_the_worklist(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    # Issue 22 (H145): a patient the record says has died is no one's task.
    nurse = user(db, "nurse-a")
    assert [r.patient_id for r in care.worklist(db, settings, nurse)] == ["pat-a"]
    with db.transaction() as s:
        patient = repo.get_patient(s, "pat-a")
        profile = dict(patient.profile)
        profile["demographics"] = {**profile["demographics"], "deceased_date": "2026-11-01"}
        patient.profile = profile
        s.execute(t.PatientStatus.__table__.delete().where(t.PatientStatus.patient_id == "pat-a"))
    db.records.discard("pat-a")
    assert care.worklist(db, settings, nurse) == []


def test_a_deceased_patients_page_says_so_and_a_dose_needs_a_reason(
    db: Database, settings: Settings, client: TestClient
) -> None:
    """H145: the page carries a badge; a dose dated on or after the death is a wrong-patient
    signal that needs a reason (the same check CDS order-sign runs)."""
    with db.transaction() as s:
        patient = repo.get_patient(s, "pat-a")
        profile = dict(patient.profile)
        profile["demographics"] = {**profile["demographics"], "deceased_date": "2026-11-01"}
        patient.profile = profile
    db.records.discard("pat-a")
    sign_in(client, "nurse-a")
    page = client.get("/patients/pat-a").text
    assert '<span class="pill deceased" id="deceased">Died 2026-11-01</span>' in page
    nurse = user(db, "nurse-a")
    dose = {"agent": "zoledronic_acid", "date": "2026-11-23", "dose": 3.5, "route": "iv"}
    found = {f.rule: f for f in filing.check_dose(db, settings, nurse, "pat-a", dose)}
    assert found["bma.deceased"].override and found["bma.deceased"].severity == "critical"
    with pytest.raises(filing.OverrideRequired) as refused:
        filing.record_entry(db, settings, nurse, "pat-a", "bma_dose", dose)
    assert "bma.deceased" in {f.rule for f in refused.value.findings}
    # A dose given before the death and entered late is checked as any other.
    earlier = {**dose, "date": "2026-10-20"}
    assert "bma.deceased" not in {
        f.rule for f in filing.check_dose(db, settings, nurse, "pat-a", earlier)
    }
