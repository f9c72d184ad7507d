"""The /learn pages, and the care plan and calendar routes and commands on a real database:
access rules (same as the record pages), audit, content types."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from typer.testing import CliRunner

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.web import learn
from bonemets.faces.web.app import create_app
from tests.web.conftest import PASSWORD


@pytest.fixture
def client(db: Database, settings: Settings, people: dict[str, str]) -> Iterator[TestClient]:
    app = create_app(settings, db)
    if not any(getattr(r, "path", "") == "/learn" for r in app.routes):
        app.include_router(learn.router)
    with TestClient(app) as c:
        yield c


def sign_in(client: TestClient, username: str) -> None:
    response = client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text


def test_learn_index_and_article_are_public(client: TestClient) -> None:
    page = client.get("/learn")
    assert page.status_code == 200
    assert "Spinal cord compression" in page.text
    article = client.get("/learn/zoledronic-acid")
    assert article.status_code == 200
    assert 'id="ref-1"' in article.text and "Last reviewed" in article.text
    assert "Novartis" in article.text  # a reference's citation is shown
    assert client.get("/learn/no-such-article").status_code == 404


def test_learn_search(client: TestClient) -> None:
    found = client.get("/learn", params={"q": "can I have my tooth out on zometa"})
    assert found.status_code == 200
    assert "/learn/jaw-and-dental-care" in found.text and "<mark>" in found.text
    off = client.get("/learn", params={"q": "how do I renew my passport"})
    assert "does not cover that question" in off.text
    sneaky = client.get("/learn", params={"q": "<script>alert(1)</script> tooth"})
    assert "<script>alert(1)" not in sneaky.text


def test_learn_search_understands_paraphrase_and_misspelling(client: TestClient) -> None:
    found = client.get("/learn", params={"q": "what is zomita"})
    assert found.status_code == 200
    assert "We read “zomita” as “zometa”." in found.text
    assert "/learn/zoledronic-acid" in found.text
    # no word in common with the article's title, found by meaning
    para = client.get("/learn", params={"q": "is cancer in my bones the same as bone cancer?"})
    assert "/learn/what-are-bone-metastases" in para.text
    assert "does not cover" not in para.text
    off = client.get("/learn", params={"q": "I have a cold sore on my lip"})
    assert "does not cover" in off.text and 'id="safety-net"' not in off.text


def test_patient_gets_own_care_plan_and_calendar(
    client: TestClient, db: Database, people: dict[str, str]
) -> None:
    sign_in(client, "user-a")
    pdf = client.get("/portal/careplan.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get("/portal/careplan.pdf?paper=letter").status_code == 200
    assert client.get("/portal/careplan.pdf?paper=a3").status_code == 422
    ics = client.get("/portal/calendar.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    events = list(Calendar.from_ical(ics.content).walk("VEVENT"))
    assert events
    assert ics.content == client.get("/portal/calendar.ics").content  # stable across exports
    # A patient may not use the clinician routes, even for their own record.
    assert client.get(f"/patients/{people['a']}/careplan.pdf").status_code == 404
    assert client.get(f"/patients/{people['b']}/calendar.ics").status_code == 404
    with db.transaction() as s:
        whats = {e.what for e in repo.audit_events(s, patient_id=people["a"])}
    assert {"read care plan pdf", "read calendar ics"} <= whats


def test_clinician_access_follows_the_team(client: TestClient, people: dict[str, str]) -> None:
    sign_in(client, "nurse-a")
    assert client.get(f"/patients/{people['a']}/careplan.pdf").status_code == 200
    assert client.get(f"/patients/{people['a']}/calendar.ics").status_code == 200
    assert client.get(f"/patients/{people['b']}/careplan.pdf").status_code == 404
    assert client.get(f"/patients/{people['b']}/calendar.ics").status_code == 404
    assert client.get("/patients/nobody/careplan.pdf").status_code == 404
    assert client.get("/portal/careplan.pdf").status_code == 404  # no portal for clinicians


def test_signed_out_is_sent_to_login(client: TestClient) -> None:
    for path in ("/portal/careplan.pdf", "/portal/calendar.ics", "/patients/pat-a/calendar.ics"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_team_contacts_setting_reaches_the_pdf(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    import shutil
    import subprocess

    with db.transaction() as s:
        repo.set_setting(s, "team_contacts", "Breast care nurse: 0161 555 0101")
    sign_in(client, "user-a")
    pdf = client.get("/portal/careplan.pdf").content
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "p.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([tool, str(path), "-"], capture_output=True, text=True, check=True)
    assert "0161 555 0101" in text.stdout


def test_portal_home_links_to_the_plan_and_calendar(client: TestClient) -> None:
    sign_in(client, "user-a")
    home = client.get("/portal").text
    assert 'href="/portal/careplan.pdf"' in home and 'href="/portal/calendar.ics"' in home


def test_cli_careplan_and_calendar(
    db_url: str, people: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from bonemets.faces.cli import learn_cmds

    monkeypatch.setenv("BONEMETS_DATABASE_URL", db_url)
    app = typer.Typer()
    learn_cmds.register(app)
    runner = CliRunner()
    out = tmp_path / "plan.pdf"
    result = runner.invoke(app, ["careplan", people["a"], "--out", str(out), "--paper", "letter"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    ics = tmp_path / "cal.ics"
    result = runner.invoke(app, ["calendar", people["a"], "--out", str(ics)])
    assert result.exit_code == 0, result.output
    assert list(Calendar.from_ical(ics.read_bytes()).walk("VEVENT"))
    missing = runner.invoke(app, ["calendar", "nobody", "--out", str(ics)])
    assert missing.exit_code == 2
    bad = runner.invoke(app, ["careplan", people["a"], "--out", str(out), "--paper", "a3"])
    assert bad.exit_code == 2


def test_learn_search_puts_what_to_do_first_for_a_red_flag(client: TestClient) -> None:
    page = client.get("/learn", params={"q": "I fell and can't put weight on my hip"})
    assert page.status_code == 200
    text = page.text
    assert 'id="safety-net"' in text and "If this is happening to you now" in text
    answers = text.index('id="answers"')
    assert answers < text.index('id="safety-net"') < text.index("All articles")
    assert "call the emergency number" in text.lower()
    calm = client.get("/learn", params={"q": "can I have a tooth out on zometa"})
    assert 'id="safety-net"' not in calm.text
