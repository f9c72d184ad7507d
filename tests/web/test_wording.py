"""Clinician wording of alert texts: the patient's explanation and the repeated unverified flag
out, what the rule is about in, the patient's quoted words kept as written."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.pathway.alerts import UNVERIFIED
from bonemets.core.triage.engine import rule_table
from bonemets.faces.web.app import create_app
from bonemets.faces.web.forms import input_name
from bonemets.faces.web.pages import ago
from bonemets.service.wording import clinical, rule_label
from tests.web.conftest import PASSWORD


def test_a_triage_alert_reads_in_clinical_terms() -> None:
    first = rule_table()["mscc.neurological"]["explanation"].split(". ")[0] + "."
    message = 'limb_weakness (legs; severity 3) (also in the free text: "my_legs"). ' + first
    said = clinical(message, ["mscc.neurological", "mscc.spinal_pain"])
    assert said.text == (
        "Possible spinal cord compression: limb weakness (legs; severity 3) "
        '(also in the free text: "my_legs").'
    )
    assert "emergency number" not in said.text and not said.unverified


def test_the_unverified_flag_becomes_one_marker() -> None:
    message = "Tumour markers overdue: last 2026-08-26." + UNVERIFIED + UNVERIFIED
    said = clinical(message, ["monitoring.tumour_markers"])
    assert said.unverified and said.text == "Tumour markers overdue: last 2026-08-26."
    assert "[unverified" not in said.text
    assert not clinical("Platelets 44 10*9/L.", []).unverified
    assert clinical(None).text == ""


def test_rule_label_only_for_triage_rules() -> None:
    assert rule_label(["labs.hypercalcaemia"]) != ""
    assert rule_label(["lesions.mirels_fixation"]) == ""


def test_ago_reads_at_a_glance() -> None:
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    assert ago(now - dt.timedelta(seconds=30), now) == "just now"
    assert ago(now - dt.timedelta(minutes=59), now) == "59 min ago"
    assert ago(now - dt.timedelta(hours=47), now) == "47 h ago"
    assert ago(now - dt.timedelta(days=3), now) == "3 days ago"
    assert ago(None) == ""


def test_an_error_field_names_its_form_input() -> None:
    assert input_name("labs[0].unit") == "unit"
    assert input_name("lesions[0].sins.pain") == "sins.pain"
    assert input_name("date") == "date"


def test_the_calcium_check_is_not_a_green_pass_beside_hypercalcaemia(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    """The example record's corrected calcium is 3.05 mmol/L (hypercalcaemia, an alert): the
    check before a dose asks only whether calcium is low, so it passes, and the page says 'not
    low', with the grade and a link to the alert, rather than a green 'pass'."""
    client = TestClient(create_app(settings, db))
    signed = client.post("/api/session", json={"username": "nurse-a", "password": PASSWORD})
    assert signed.status_code == 200
    page = client.get(f"/patients/{people['a']}")
    assert page.status_code == 200
    bma = page.text.split('id="bma"')[1].split("</section>")[0]
    row = next(r for r in bma.split("<tr>") if r.strip().startswith("<td>calcium</td>"))
    assert 'class="pill check-high">not low' in row and "check-pass" not in row
    assert "hypercalcaemia" in row and 'href="#assessment"' in row
