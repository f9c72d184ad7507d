"""Secure messages and carer accounts over HTTP (TestClient, with the session's CSRF token as
the page forms send it): the portal's messages page, the team's reply on the patient page, the
worklist's count, and a carer who reaches only their own patient by every portal route."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.education.patient_words import patient_date
from bonemets.faces.web.app import create_app
from tests.web.conftest import PASSWORD, TODAY
from tests.web.test_messages import EMERGENCY_WORDS


@pytest.fixture
def client(db: Database, settings: Settings, people: dict[str, str]) -> Iterator[TestClient]:
    with db.transaction() as s:
        from bonemets.service import accounts

        for side in ("a", "b"):
            accounts.create_user(
                s, username=f"carer-{side}", password=PASSWORD, role="carer",
                display_name=f"Carer {side.upper()}", patient_id=people[side],
            )  # fmt: skip
    with TestClient(create_app(settings, db)) as c:
        yield c


def sign_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    response = client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def post(client: TestClient, path: str, csrf: str, **fields: str) -> httpx.Response:
    return client.post(path, data={"csrf_token": csrf, **fields}, follow_redirects=False)


def test_a_message_exchange_through_the_pages(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "user-a")
    page = client.get("/portal/messages")
    assert page.status_code == 200
    assert "not for emergencies" in page.text and 'href="/portal/messages"' in page.text
    assert post(client, "/portal/messages", "wrong", body="hello").status_code == 403
    sent = post(client, "/portal/messages", csrf, body="Can I have my flu jab this week?")
    assert sent.status_code == 303 and sent.headers["location"].startswith(
        "/portal/messages?sent=1"
    )
    thread = client.get("/portal/messages").text
    assert "Can I have my flu jab this week?" in thread
    # When, in the patient's words, and as a moment the browser shows in local time.
    when = re.search(r'<time data-local datetime="([^"]+)">([^<]+)</time>', thread)
    assert when is not None
    sent_at = dt.datetime.fromisoformat(when.group(1))
    assert sent_at.tzinfo is not None and abs(dt.datetime.now(dt.UTC) - sent_at).seconds < 600
    assert when.group(2) == f"{patient_date(sent_at.date(), TODAY)} at {sent_at:%H:%M} UTC"
    blank = post(client, "/portal/messages", csrf, body="   ")
    assert blank.status_code == 422 and "write your message first" in blank.text

    csrf = sign_in(client, "nurse-a")
    worklist = client.get("/worklist").text
    row = re.search(r'<tr[^>]*data-patient="pat-a".*?</tr>', worklist, re.S)
    assert row is not None and "1 message<" in row.group(0)
    other = re.search(r'<tr[^>]*data-patient="pat-b".*?</tr>', worklist, re.S)
    assert other is None  # another team's patient is not on this worklist
    record = client.get("/patients/pat-a")
    assert 'id="messages"' in record.text and "Can I have my flu jab this week?" in record.text
    assert "1 unread" in record.text
    listed = {r["patient_id"]: r["unread_messages"] for r in client.get("/api/worklist").json()}
    assert listed == {"pat-a": 1}
    reply = post(client, "/patients/pat-a/messages", csrf, body="Yes, any day this week.")
    assert reply.status_code == 303
    assert "1 message<" not in client.get("/worklist").text
    assert client.get("/api/worklist").json()[0]["unread_messages"] == 0

    sign_in(client, "user-a")
    thread = client.get("/portal/messages").text
    assert "Yes, any day this week." in thread and "read by your team" in thread


def test_a_message_describing_an_emergency_shows_what_to_do_now(
    client: TestClient, db: Database
) -> None:
    csrf = sign_in(client, "user-a")
    sent = post(client, "/portal/messages", csrf, body=EMERGENCY_WORDS)
    assert sent.status_code == 303
    where = sent.headers["location"]
    assert re.fullmatch(r"/portal/reports/\d+", where)
    result = client.get(where)
    assert result.status_code == 200 and 'class="emergency-screen"' in result.text
    with db.transaction() as s:
        alerts = list(s.scalars(select(t.Alert).where(t.Alert.patient_id == "pat-a")))
    assert [a.level for a in alerts] == ["emergency"]
    thread = client.get("/portal/messages").text
    assert f'href="{where}"' in thread  # the message links to the advice


def test_the_team_reply_needs_csrf_and_the_team(client: TestClient, db: Database) -> None:
    csrf = sign_in(client, "nurse-b")
    assert post(client, "/patients/pat-a/messages", csrf, body="hi").status_code == 404
    assert post(client, "/patients/pat-a/messages/read", csrf).status_code == 404
    csrf = sign_in(client, "nurse-a")
    assert post(client, "/patients/pat-a/messages", "nope", body="hi").status_code == 403
    empty = post(client, "/patients/pat-a/messages", csrf, body="")
    assert empty.status_code == 422 and "write your message first" in empty.text
    for who in ("user-a", "carer-a"):
        csrf = sign_in(client, who)
        assert post(client, "/patients/pat-a/messages", csrf, body="hi").status_code == 404
        assert client.get("/patients/pat-a").status_code == 404
    with db.transaction() as s:
        assert list(s.scalars(select(t.Message))) == []


# Every portal route, as (method, path, form fields). A carer's portal is their patient's; there
# is no way to name another patient, and the clinician routes are refused.
PORTAL_ROUTES = [
    ("GET", "/portal", {}),
    ("GET", "/portal/check-in", {}),
    ("GET", "/portal/check-in/details", {}),
    ("GET", "/portal/messages", {}),
    ("GET", "/portal/careplan.pdf", {}),
    ("GET", "/portal/calendar.ics", {}),
]
CLINICIAN_ROUTES = [
    ("GET", "/patients/{p}", {}),
    ("GET", "/patients/{p}/careplan.pdf", {}),
    ("GET", "/patients/{p}/calendar.ics", {}),
    ("POST", "/patients/{p}/messages", {"body": "hello"}),
    ("POST", "/patients/{p}/messages/read", {}),
    ("POST", "/patients/{p}/entries/dental_exam", {"date": "2026-11-20"}),
    ("GET", "/api/patients/{p}/record", {}),
    ("GET", "/api/patients/{p}/assessment", {}),
]


@pytest.mark.parametrize(("method", "path", "fields"), PORTAL_ROUTES)
def test_a_carers_portal_is_their_patients(
    client: TestClient, db: Database, method: str, path: str, fields: dict[str, str]
) -> None:
    sign_in(client, "carer-a")
    response = client.request(method, path, follow_redirects=False)
    assert response.status_code == 200, response.text[:300]
    if path == "/portal":
        assert "Carer A" in response.text  # signed in under their own name
    with db.transaction() as s:
        events = repo.audit_events(s, where=repo.AuditFilter(username="carer-a"))
    assert events and {e.patient_id for e in events if e.patient_id} == {"pat-a"}


@pytest.mark.parametrize(("method", "path", "fields"), CLINICIAN_ROUTES)
@pytest.mark.parametrize("target", ["pat-a", "pat-b"])
def test_a_carer_reaches_no_record_by_the_clinician_routes(
    client: TestClient, method: str, path: str, fields: dict[str, str], target: str
) -> None:
    csrf = sign_in(client, "carer-a")
    url = path.format(p=target)
    if method == "GET":
        response = client.get(url, follow_redirects=False)
    elif url.startswith("/api/"):
        response = client.post(url, json=fields, headers={"X-CSRF-Token": csrf})
    else:
        response = client.post(url, data={"csrf_token": csrf, **fields}, follow_redirects=False)
    if url.startswith("/api/") and target == "pat-a":
        assert response.status_code == 200  # the API reads their own patient's record
    else:
        assert response.status_code == 404


def test_carer_b_cannot_see_patient_a_through_the_api(client: TestClient) -> None:
    csrf = sign_in(client, "carer-b")
    for path in ("/api/patients/pat-a/record", "/api/patients/pat-a/assessment"):
        assert client.get(path).status_code == 404
    refused = client.post(
        "/api/patients/pat-a/reports", json={"symptoms": []}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 404
    assert client.get("/api/patients/pat-b/record").status_code == 200


def test_a_carer_checks_in_through_the_pages_and_the_report_says_so(
    client: TestClient, db: Database
) -> None:
    csrf = sign_in(client, "carer-a")
    step1 = client.post(
        "/portal/check-in", data={"csrf_token": csrf, "symptom": "fatigue"},
        follow_redirects=False,
    )  # fmt: skip
    assert step1.status_code == 303
    done = client.post("/portal/check-in/submit", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/portal/reports/")
    entry_id = int(done.headers["location"].rsplit("/", 1)[1])
    with db.transaction() as s:
        entry = s.get(t.Entry, entry_id)
        carer = repo.user_by_name(s, "carer-a")
        assert entry is not None and carer is not None
        assert entry.data["filled_in_by"] == "carer" and entry.created_by == carer.id
    csrf = sign_in(client, "nurse-a")
    assert "filled in by a carer" in client.get("/patients/pat-a").text


def test_user_add_makes_a_carer_from_the_command_line(
    db: Database, settings: Settings, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bonemets.faces.cli.main import app

    monkeypatch.setenv("BONEMETS_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(
        app,
        ["user", "add", "daughter", "--role", "carer", "--for", "pat-a", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Added carer 'daughter'" in result.output
    with db.transaction() as s:
        made = repo.user_by_name(s, "daughter")
        assert made is not None and made.role == "carer" and made.patient_id == "pat-a"
    missing = CliRunner().invoke(
        app, ["user", "add", "son", "--role", "carer", "--password-stdin"], input=f"{PASSWORD}\n"
    )
    assert missing.exit_code == 2 and "patient" in missing.output


def test_a_carer_cannot_open_another_patients_report_by_its_number(client: TestClient) -> None:
    csrf = sign_in(client, "user-a")
    sent = post(client, "/portal/messages", csrf, body=EMERGENCY_WORDS)
    where = sent.headers["location"]
    assert client.get(where).status_code == 200
    sign_in(client, "carer-a")
    assert client.get(where).status_code == 200  # their own patient's report
    assert f'href="{where}"' in client.get("/portal/messages").text
    sign_in(client, "carer-b")
    assert client.get(where).status_code == 404
    assert EMERGENCY_WORDS not in client.get("/portal/messages").text
    assert EMERGENCY_WORDS not in client.get("/portal").text
