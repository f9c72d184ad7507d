"""The real app, served by uvicorn on a loopback port, in a real Chromium (Playwright).

One server for the whole session, on a fresh SQLite database: a care team with one clinician,
one patient with a login whose record is calm (the example record with its abnormal recent labs
and its symptom report replaced by normal results), and three synthetic patients at lower levels.

Chromium is Debian's (/usr/bin/chromium); Playwright's own download is not used. Without it the
browser tests are skipped, unless BONEMETS_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.pathway import assess
from bonemets.core.record import Lab, Record
from bonemets.service import accounts, care, filing
from tests.notify_servers import Mailbox, smtp_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ViewportSize
    from sqlalchemy.orm import Session

TODAY = dt.date(2026, 11, 23)
PASSWORD = "correct horse battery"
TEAM = "Breast oncology team"
LOOP_TEAM = "Acute oncology team"
LOOP_PATIENTS = {"joan": "pat-joan", "ruth": "pat-ruth", "edith": "pat-edith", "iris": "pat-iris"}
TEAM_EMAIL = "acute-oncology@hospital.test"
# The patient-experience walks (test_patient_ux.py): a team of their own, so that their check-ins
# never move the other journeys' worklists. Each walk has its own patient.
UX_TEAM = "Patient experience team"
UX_PATIENTS = {
    "fiona": "pat-fiona",
    "una": "pat-una",
    "emma": "pat-emma",
    "leah": "pat-leah",
    "cara": "pat-cara",
    "kate": "pat-kate",
    "zoe": "pat-zoe",
    "ivy": "pat-ivy",
    "nora": "pat-nora",
}

# Secure messages and a carer (issue 20): a team of its own, so other journeys' worklists stay
# as they expect them. Rose's carer is her daughter Lily.
MESSAGE_TEAM = "Community oncology team"
CHROMIUM = os.environ.get("BONEMETS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DOCS_IMG = ROOT / "docs" / "img"
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Site:
    base_url: str
    patient_id: str  # the patient with a login
    patient_name: str
    others: dict[str, str]  # patient id -> level, the synthetic patients of the team
    lesions: int  # lesions in the patient's assessment (markers on the skeleton map)
    # The care-loop journeys' patients (a second care team, so the first team's worklist stays
    # as the older journeys expect it): login -> record id, all calm to begin with.
    loop: dict[str, str] = field(default_factory=dict)
    mailbox: Mailbox | None = None


def calm_record(patient_id: str) -> Record:
    """The example record without its abnormal recent labs (raised calcium, rising creatinine)
    and its symptom report; normal labs of the same day instead."""
    raw = resources.files("bonemets.examples").joinpath("record.json").read_text()
    record = Record.model_validate_json(raw)
    recent = dt.date(2026, 11, 20)
    labs = [lab for lab in record.labs if lab.date < recent] + [
        Lab(code="creatinine", value=0.9, unit="mg/dL", date=recent, upper_limit=1.1),
        Lab(code="calcium_total", value=2.35, unit="mmol/L", date=recent),
        Lab(code="albumin", value=40, unit="g/L", date=recent),
    ]
    return record.model_copy(update={"id": patient_id, "labs": labs, "symptom_reports": []})


def example(patient_id: str) -> Record:
    raw = resources.files("bonemets.examples").joinpath("record.json").read_text()
    record = Record.model_validate_json(raw)
    return record.model_copy(update={"id": patient_id, "symptom_reports": []})


def _seed(url: str) -> Site:
    from bonemets.demo.cohort import make_cohort

    db = Database(url)
    patient = calm_record("pat-calm")
    assessment = assess(patient, TODAY)
    assert assessment.level.rank < 3, assessment.level  # below urgent: calm before the report
    others: dict[str, str] = {}
    wanted = ["urgent", "soon", "routine"]  # one of each, all below the coming emergency
    with db.transaction() as s:
        team = repo.get_or_create_team(s, TEAM)
        repo.create_patient(
            s, patient, team_id=team.id, display_name="Margaret Example", mrn="EX-0001"
        )
        care.refresh_status(s, patient.id, TODAY, patient)
        for person in make_cohort(12, seed=7, as_of=TODAY):
            level = assess(person.record, TODAY).level.value
            if level not in wanted:
                continue
            wanted.remove(level)
            made = repo.create_patient(
                s, person.record, team_id=team.id, display_name=person.display_name, mrn=person.mrn
            )
            quiet = Settings(database_url=url, fixed_today=TODAY)
            filing.settle(s, quiet, made, person.record, today=TODAY)
            others[person.record.id] = level
        assert not wanted, f"the cohort has no patient at level {wanted}"
        accounts.create_user(
            s,
            username="nurse",
            password=PASSWORD,
            role="clinician",
            display_name="Nurse Demo",
            team=TEAM,
        )
        accounts.create_user(
            s,
            username="margaret",
            password=PASSWORD,
            role="patient",
            display_name="Margaret",
            patient_id=patient.id,
        )
        loop_team = repo.get_or_create_team(s, LOOP_TEAM)
        loop_team.alert_email = TEAM_EMAIL
        quiet = Settings(database_url=url, fixed_today=TODAY)
        for login, pid in LOOP_PATIENTS.items():
            # Edith keeps the example record's rising creatinine (her next dose is on hold).
            record = example(pid) if login == "edith" else calm_record(pid)
            made = repo.create_patient(
                s, record, team_id=loop_team.id, display_name=f"{login.title()} Loop", mrn=pid
            )
            filing.settle(s, quiet, made, record, today=TODAY)
            accounts.create_user(
                s,
                username=login,
                password=PASSWORD,
                role="patient",
                display_name=login.title(),
                patient_id=pid,
            )
        ux_team = repo.get_or_create_team(s, UX_TEAM)
        for login, pid in UX_PATIENTS.items():
            record = calm_record(pid)
            made = repo.create_patient(
                s, record, team_id=ux_team.id, display_name=f"{login.title()} Walk", mrn=pid
            )
            filing.settle(s, quiet, made, record, today=TODAY)
            accounts.create_user(
                s,
                username=login,
                password=PASSWORD,
                role="patient",
                display_name=login.title(),
                patient_id=pid,
            )
        accounts.create_user(
            s,
            username="acute",
            password=PASSWORD,
            role="clinician",
            display_name="Acute Nurse",
            team=LOOP_TEAM,
        )
        _seed_messages(s, url)
    db.dispose()
    return Site(
        base_url="",
        patient_id=patient.id,
        patient_name="Margaret Example",
        others=others,
        lesions=len(assessment.lesions),
    )


def _seed_messages(s: Session, url: str) -> None:
    team = repo.get_or_create_team(s, MESSAGE_TEAM)
    record = calm_record("pat-rose")
    made = repo.create_patient(s, record, team_id=team.id, display_name="Rose Message", mrn="ROSE")
    filing.settle(s, Settings(database_url=url, fixed_today=TODAY), made, record, today=TODAY)
    for username, role, name in (
        ("rose", "patient", "Rose"),
        ("lily", "carer", "Lily (Rose's daughter)"),
    ):
        accounts.create_user(
            s, username=username, password=PASSWORD, role=role, display_name=name,
            patient_id=record.id,
        )  # fmt: skip
    accounts.create_user(
        s, username="community", password=PASSWORD, role="clinician",
        display_name="Community Nurse", team=MESSAGE_TEAM,
    )  # fmt: skip


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """The care team's mail server: a real SMTP server on loopback for the whole session."""
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[Site]:
    """The app served by uvicorn in a background thread, on a port chosen by the system."""
    import uvicorn

    from bonemets.faces.web.app import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'app.sqlite3'}"
    seeded = _seed(url)
    settings = Settings(
        database_url=url,
        secure_cookies=False,
        fixed_today=TODAY,
        secret_key="browser-tests",
        smtp_url=mailbox.url,
        alert_email="breast-oncology@hospital.test",
        team_contacts="Acute oncology 24-hour line: +44 20 7946 0000; Clinic: 020 7946 0001",
        public_url="https://bonemets.hospital.test",
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app server did not start")
        time.sleep(0.05)
    try:
        yield Site(
            **{
                **seeded.__dict__,
                "base_url": f"http://127.0.0.1:{port}",
                "loop": LOOP_PATIENTS,
                "mailbox": mailbox,
            }
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    required = os.environ.get("BONEMETS_REQUIRE_BROWSER") == "1"
    exe = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if exe is None:
        reason = f"Chromium not found at {CHROMIUM} or on PATH (apt-get install chromium)"
        if required:
            pytest.fail(f"BONEMETS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def desktop(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A clinician's desk (1280x860)."""
    context = browser.new_context(base_url=site.base_url, viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture
def phone(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A patient's or carer's phone (390x844, touch)."""
    context = browser.new_context(
        base_url=site.base_url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    yield context
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
