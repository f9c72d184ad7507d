"""The patient's "My symptoms and results" page and the choice of units, through the app on SQLite
and PostgreSQL (issue 20 items 2 and 4)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.web.app import create_app
from bonemets.service import accounts
from tests.web.conftest import PASSWORD, sign_in


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def latest(html: str, name: str) -> str:
    """The 'Latest: ...' sentence of one result."""
    section = html.split(f">{name}</h3>", 1)[1]
    found = re.search(r"Latest: <strong>([^<]+)</strong>", section)
    assert found is not None, name
    return found.group(1)


def choose(client: TestClient, csrf: str, system: str, back: str = "/portal/results") -> str:
    sent = client.post(
        "/account/units",
        data={"csrf_token": csrf, "unit_system": system, "next": back},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    return sent.headers["location"]


def test_results_are_shown_in_the_units_the_patient_chose(client: TestClient, db: Database) -> None:
    # The example record (today 23 November 2026): on 20 November total calcium 2.85 mmol/L with
    # albumin 30 g/L (adjusted: 3.05 mmol/L = 12.2 mg/dL) and creatinine 1.5 mg/dL (133 umol/L).
    csrf = sign_in(client, "user-a")
    page = client.get("/portal/results")
    assert page.status_code == 200
    assert latest(page.text, "Calcium") == "3.05 mmol/L"
    assert latest(page.text, "Kidney test (creatinine)") == "133 µmol/L"
    assert "above the usual range" in text_of(page.text)
    location = choose(client, csrf, "conventional", "/portal/results?months=12")
    assert location.startswith("/portal/results?months=12&flash=")
    page = client.get(location)
    assert "now shown in the units you chose" in page.text
    assert latest(page.text, "Calcium") == "12.2 mg/dL"
    assert latest(page.text, "Kidney test (creatinine)") == "1.5 mg/dL"
    assert 'value="conventional" selected' in page.text
    with db.transaction() as s:
        user = s.scalars(select(t.User).where(t.User.username == "user-a")).one()
        assert user.unit_system == "conventional"
        audit = s.scalars(select(t.AuditEvent).where(t.AuditEvent.action == "units_chosen")).all()
        assert [a.user_id for a in audit] == [user.id]
        # What is stored is never converted.
        stored = s.scalars(
            select(t.Entry).where(t.Entry.patient_id == "pat-a", t.Entry.kind == "lab")
        ).all()
        assert {(e.data["code"], e.data["unit"]) for e in stored} >= {("creatinine", "mg/dL")}


def test_symptoms_at_each_check_in_and_the_pain_score(client: TestClient) -> None:
    csrf = sign_in(client, "user-a")
    sent = client.post(
        "/portal/check-in", data={"csrf_token": csrf, "step": "1", "fine": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303
    page = text_of(client.get("/portal/results").text)
    # The example's 21 November report (bone pain, thirst, constipation: moderate) and today's
    # "I'm fine": two columns, the second empty.
    assert "Sat 21 Nov" in page and "Mon 23 Nov" in page
    assert "Pain in a bone Moderate –" in page
    months = client.get("/portal/results?months=7").text  # not offered: the default window
    assert 'aria-current="page">6 months' in months


def test_the_deployments_default_applies_until_a_person_chooses(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    from dataclasses import replace

    us = replace(settings, unit_system="conventional")
    with TestClient(create_app(us, db)) as c:
        sign_in(c, "user-a")
        assert latest(c.get("/portal/results").text, "Calcium") == "12.2 mg/dL"
    with pytest.raises(ValueError, match="BONEMETS_UNIT_SYSTEM='imperial'"):
        Settings(unit_system="imperial")


def test_a_carer_sees_the_patients_results(client: TestClient, db: Database) -> None:
    with db.transaction() as s:
        accounts.create_user(s, username="carer-a", password=PASSWORD, role="carer",
                             patient_id="pat-a")  # fmt: skip
    sign_in(client, "carer-a")
    assert latest(client.get("/portal/results").text, "Calcium") == "3.05 mmol/L"


def test_clinicians_have_no_portal_results_page(client: TestClient) -> None:
    sign_in(client, "nurse-a")
    # As for the rest of the portal: denied (and audited) as a record they cannot see, 404.
    assert client.get("/portal/results", follow_redirects=False).status_code == 404
    assert client.get("/portal", follow_redirects=False).status_code == 404


def test_a_clinician_chooses_units_too_and_bad_choices_are_refused(client: TestClient) -> None:
    csrf = sign_in(client, "nurse-a")
    assert "Calcium, corrected (mmol/L)" in client.get("/patients/pat-a").text
    assert choose(client, csrf, "conventional", "/account").startswith("/account?flash=")
    # The patient page's timeline follows the clinician's choice; the account page shows it.
    page = client.get("/patients/pat-a").text
    assert "Calcium, corrected (mg/dL)" in page and "Creatinine (mg/dL)" in page
    assert 'value="conventional" selected' in client.get("/account").text
    bad = client.post(
        "/account/units", data={"csrf_token": csrf, "unit_system": "imperial"},
        follow_redirects=False,
    )  # fmt: skip
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "unit_system"
    # Only our own pages to go back to.
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        assert choose(client, csrf, "si", target).startswith("/account?flash=")
    no_csrf = client.post("/account/units", data={"unit_system": "si"}, follow_redirects=False)
    assert no_csrf.status_code in (400, 403)


def test_the_check_in_offers_blood_tests_in_the_chosen_units(client: TestClient) -> None:
    csrf = sign_in(client, "user-a")
    choose(client, csrf, "conventional")
    client.post("/portal/check-in", data={"csrf_token": csrf, "symptom": "fatigue"})
    page = client.get("/portal/check-in/details").text
    assert '<option value="mg/dL" selected>' in page.split('id="lab-calcium_total-unit"')[1]
    assert '<option value="g/dL" selected>' in page.split('id="lab-albumin-unit"')[1]
