"""The patient portal's check-in, result words and calendar feed, through the app (issue 20)."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from icalendar import Calendar

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.education.calendar import calendar_ics, next_check_in
from bonemets.education.patient_words import patient_date
from bonemets.education.plan import PlanItem
from bonemets.faces.web.pages import patient_result_text
from tests.web.conftest import sign_in


def draft(db: Database, patient_id: str) -> t.CheckInDraft | None:
    with db.transaction() as s:
        row = s.get(t.CheckInDraft, patient_id)
        if row is not None:
            s.expunge(row)
        return row


# --- The check-in ---------------------------------------------------------------------------


def test_fine_this_week_files_an_empty_check_in_at_once(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "user-a")
    sent = client.post(
        "/portal/check-in", data={"csrf_token": csrf, "step": "1", "fine": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303 and re.fullmatch(
        r"/portal/reports/\d+", sent.headers["location"]
    )
    assert draft(db, "pat-a") is None


def test_fine_with_a_symptom_ticked_is_not_fine(client: TestClient) -> None:
    csrf = sign_in(client, "user-a")
    sent = client.post(
        "/portal/check-in",
        data={"csrf_token": csrf, "step": "1", "fine": "1", "symptom": "fatigue"},
        follow_redirects=False,
    )
    assert sent.headers["location"] == "/portal/check-in/details"


def test_step_two_answers_are_kept_and_shown_again(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "user-a")
    client.post("/portal/check-in", data={"csrf_token": csrf, "symptom": "fatigue"})
    saved = client.post(
        "/portal/check-in/save",
        data={"csrf_token": csrf, "symptom": "fatigue", "fatigue.severity": "3",
              "fatigue.duration_text": "since Monday", "free_text": "tired"},
        headers={"X-Autosave": "1"},
    )  # fmt: skip
    assert saved.status_code == 204
    row = draft(db, "pat-a")
    assert row is not None and row.data["details"]["fatigue.duration_text"] == "since Monday"
    assert "csrf_token" not in row.data["details"]
    page = client.get("/portal/check-in/details").text
    assert re.search(r'value="3"\s+checked', page) and 'value="since Monday"' in page
    assert "Carry on with my check-in" in client.get("/portal").text


def test_saving_needs_the_csrf_token(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "user-a")
    client.post("/portal/check-in", data={"csrf_token": csrf, "symptom": "fatigue"})
    refused = client.post("/portal/check-in/save", data={"fatigue.severity": "3"})
    assert refused.status_code in (400, 403)
    row = draft(db, "pat-a")
    assert row is not None and "details" not in row.data


def test_signing_out_from_the_check_in_saves_first(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "user-a")
    client.post("/portal/check-in", data={"csrf_token": csrf, "symptom": "fatigue"})
    left = client.post(
        "/portal/check-in/leave",
        data={"csrf_token": csrf, "step": "2", "symptom": "fatigue", "fatigue.severity": "2"},
        follow_redirects=False,
    )
    assert left.status_code == 307 and left.headers["location"] == "/logout"
    row = draft(db, "pat-a")
    assert row is not None and row.data["details"]["fatigue.severity"] == "2"


def test_a_duration_not_understood_is_asked_again_in_patient_words(client: TestClient) -> None:
    csrf = sign_in(client, "user-a")
    client.post("/portal/check-in", data={"csrf_token": csrf, "symptom": "fatigue"})
    sent = client.post(
        "/portal/check-in/submit",
        data={"csrf_token": csrf, "symptom": "fatigue", "fatigue.severity": "2",
              "fatigue.duration_text": "ages"},
    )  # fmt: skip
    assert sent.status_code == 422
    (error,) = re.findall(r'<p class="error"[^>]*>(.*?)</p>', sent.text)
    assert error.startswith("Please check how long for “Tiredness”")
    assert "symptoms[" not in error and "fatigue" not in error


def test_a_duration_in_words_reaches_the_record(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "user-a")
    client.post("/portal/check-in", data={"csrf_token": csrf, "symptom": "bone_pain"})
    client.post(
        "/portal/check-in/submit",
        data={"csrf_token": csrf, "symptom": "bone_pain", "bone_pain.severity": "2",
              "bone_pain.pain_score": "5", "bone_pain.duration_text": "2 weeks"},
    )  # fmt: skip
    with db.transaction() as s:
        reports = repo.entries(s, "pat-a", ["symptom_report"])
        (symptom,) = [x for e in reports for x in e.data["symptoms"] if x.get("pain_score")]
    assert symptom["duration_days"] == 14 and symptom["pain_score"] == 5


# --- Words ----------------------------------------------------------------------------------


def test_dates_as_a_patient_reads_them() -> None:
    today = dt.date(2026, 11, 23)
    assert patient_date(dt.date(2026, 12, 8), today) == "Tuesday 8 December"
    assert patient_date("2027-01-01", today) == "Friday 1 January 2027"


def test_the_result_says_each_thing_once_in_patient_words() -> None:
    result = {
        "headline": "Bone pain that lasts: let your care team know in the next few days.",
        "patient_action": "Contact your care team in the next few working days.",
        "advice": ["Rest.", "Rest.", "Contact your care team in the next few working days."],
        "reasons": [
            {"rule": "bone.persistent_pain", "explanation": "NICE ...", "patient_why": ""},
            {"rule": "bone.persistent_pain"},
        ],
    }
    text = patient_result_text(result)
    assert text["show_action"] is False  # the headline already says what to do
    assert text["advice"] == ["Rest.", "Contact your care team in the next few working days."]
    (why,) = text["why"]  # from the rule table for an older stored result, once
    assert why["text"].startswith("Bone pain that lasts") and "NICE" not in why["text"]


# --- The calendar -----------------------------------------------------------------------------


def _item(**changes: object) -> PlanItem:
    values: dict[str, object] = {
        "key": "bma-denosumab", "kind": "dose", "title": "Dose", "due": dt.date(2026, 12, 1),
        "status": "due", "detail": "d", "every_weeks": 4.0,
    }  # fmt: skip
    values.update(changes)
    return PlanItem(**values)  # type: ignore[arg-type]


def _events(ics: bytes) -> list[object]:
    return list(Calendar.from_ical(ics).walk("VEVENT"))


def test_doses_and_tests_repeat_while_the_plan_holds() -> None:
    today = dt.date(2026, 11, 23)
    items = [
        _item(),
        _item(key="test-imaging", kind="test", every_weeks=None, every_months=3.0),
        _item(key="late", status="overdue"),
        _item(key="odd", every_weeks=4.3),
    ]
    events = _events(calendar_ics("pat-a", items, today))
    rules = [str(e.get("rrule").to_ical(), "ascii") if e.get("rrule") else None for e in events]  # type: ignore[attr-defined]
    assert rules == [
        "FREQ=WEEKLY;COUNT=12;INTERVAL=4",
        "FREQ=MONTHLY;COUNT=12;INTERVAL=3",
        None,  # overdue: the next date is the team's to set
        None,  # not a whole number of weeks: not guessed
    ]


def test_weekly_check_in_reminders() -> None:
    monday = dt.date(2026, 11, 23)
    assert next_check_in(monday, None) == dt.date(2026, 11, 30)
    assert next_check_in(monday, dt.date(2026, 11, 20)) == dt.date(2026, 11, 27)
    assert next_check_in(monday, dt.date(2026, 11, 2)) == dt.date(2026, 11, 23)
    (event,) = _events(calendar_ics("pat-a", [], monday, check_ins_from=dt.date(2026, 11, 27)))
    assert str(event.get("summary")).startswith("Weekly check-in")  # type: ignore[attr-defined]
    assert event.get("rrule").to_ical() == b"FREQ=WEEKLY"  # type: ignore[attr-defined]


def test_the_calendar_link_works_without_a_cookie_and_is_revocable(
    client: TestClient, db: Database, settings: Settings
) -> None:
    csrf = sign_in(client, "user-a")
    page = client.post("/portal/calendar/link", data={"csrf_token": csrf})
    assert page.headers["cache-control"] == "no-store"
    (link,) = re.findall(r'value="[^"]*(/calendar/[\w-]+\.ics)"', page.text)
    token = link.removeprefix("/calendar/").removesuffix(".ics")
    with db.transaction() as s:
        stored = [row.token_hash for row in s.query(t.CalendarFeed)]
    assert token not in stored and len(stored) == 1  # only the hash is kept

    with TestClient(client.app) as app:  # a calendar app: no cookie
        feed = app.get(link)
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        assert "Weekly check-in" in feed.text and "Patient pat-a" not in feed.text
        # A new link stops the old one; revoking stops the new one.
        newer = client.post("/portal/calendar/link", data={"csrf_token": csrf}).text
        (link2,) = re.findall(r'value="[^"]*(/calendar/[\w-]+\.ics)"', newer)
        assert app.get(link).status_code == 404 and app.get(link2).status_code == 200
        client.post("/portal/calendar/revoke", data={"csrf_token": csrf})
        assert app.get(link2).status_code == 404
        assert app.get("/calendar/not-a-token.ics").status_code == 404
    with db.transaction() as s:
        reads = repo.audit_events(s, patient_id="pat-a", limit=500)
    assert any(e.what.startswith("read calendar feed") and e.user_id is None for e in reads)


def test_only_the_patient_makes_their_calendar_link(client: TestClient) -> None:
    csrf = sign_in(client, "nurse-a")
    refused = client.post("/portal/calendar/link", data={"csrf_token": csrf})
    assert refused.status_code in (403, 404)


def test_the_unit_a_patient_chose_comes_first_next_time(client: TestClient) -> None:
    csrf = sign_in(client, "user-a")
    client.post("/portal/check-in", data={"csrf_token": csrf})
    sent = client.post(
        "/portal/check-in/submit",
        data={"csrf_token": csrf, "lab.calcium_total.value": "9.4",
              "lab.calcium_total.unit": "mg/dL"},
    )  # fmt: skip
    assert sent.status_code == 200, sent.text  # followed to the result
    client.post("/portal/check-in", data={"csrf_token": csrf})
    page = client.get("/portal/check-in/details").text
    assert re.search(r'<option value="mg/dL"\s+selected>', page), "mg/dL not preselected"
    assert "× 10⁹ per litre" in page and "10*9/L</option>" not in page


def test_every_symptom_of_the_catalogue_is_offered_at_step_one(client: TestClient) -> None:
    from bonemets.core.triage.models import symptom_catalogue

    sign_in(client, "user-a")
    page = client.get("/portal/check-in").text
    offered = set(re.findall(r'name="symptom" value="(\w+)"', page))
    assert offered == set(symptom_catalogue())
