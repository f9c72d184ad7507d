"""The care plan PDF (A4 and Letter; converted to PNG with pdftoppm when present) and the
iCalendar feed (dates, summaries, stable UIDs)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from icalendar import Calendar

from bonemets.core.pathway import assess
from bonemets.core.record import BmaDose, Record
from bonemets.education.calendar import calendar_ics, uid_for
from bonemets.education.careplan import render_pdf
from bonemets.education.plan import (
    NO_CONTACTS,
    build_care_plan,
    parse_contacts,
    red_flags,
    schedule,
)
from tests.web.conftest import example_record

TODAY = dt.date(2026, 11, 23)


def _record() -> Record:
    return example_record("pat-x")


def _plan(record: Record, contacts: str | None = None, as_of: dt.date = TODAY):  # type: ignore[no-untyped-def]
    return build_care_plan(
        patient_id=record.id,
        display_name="Test Patient",
        record=record,
        assessment=assess(record, as_of),
        contacts_text=contacts,
    )


def _needs_pdftoppm() -> str:
    tool = shutil.which("pdftoppm")
    if tool is None:
        if os.environ.get("BONEMETS_REQUIRE_PDFTOPPM") == "1":
            pytest.fail("BONEMETS_REQUIRE_PDFTOPPM=1 but pdftoppm is not installed")
        pytest.skip("pdftoppm (poppler-utils) is not installed; apt-get install poppler-utils")
    return tool


def test_schedule_has_the_next_dose_and_tests() -> None:
    items = {i.key: i for i in schedule(assess(_record(), TODAY))}
    assert items["bma-zoledronic_acid"].due == dt.date(2026, 11, 17)
    assert items["bma-zoledronic_acid"].kind == "dose"
    assert items["test-imaging"].due == dt.date(2026, 6, 2)
    assert items["test-imaging"].status == "overdue"
    assert items["test-blood_chemistry"].due == dt.date(2027, 2, 20)


def test_red_flags_are_the_emergency_and_urgent_symptom_rules() -> None:
    emergency, urgent = red_flags()
    assert "mscc.neurological" in {f.rule for f in emergency}
    assert "clot.deep_vein_thrombosis" in {f.rule for f in urgent}
    assert not {f.rule for f in emergency + urgent} & {
        "labs.hypercalcaemia",
        "bone.persistent_pain",
    }
    assert all(f.action and f.article for f in emergency + urgent)


def test_contacts_setting() -> None:
    assert parse_contacts(None) == []
    parsed = parse_contacts("Nurse: 0100 ; 24-hour line: 0200\n0300")
    assert [(c.label, c.number) for c in parsed] == [
        ("Nurse", "0100"),
        ("24-hour line", "0200"),
        ("Care team", "0300"),
    ]


def test_supplements_and_advice() -> None:
    plan = _plan(_record())
    assert [(s.what, s.amount) for s in plan.supplements] == [("Calcium", "500 mg a day")]
    assert any("500 mg calcium and 400 IU vitamin D" in a for a in plan.supplement_advice)


@pytest.mark.parametrize(("paper", "ratio"), [("a4", 297 / 210), ("letter", 11 / 8.5)])
def test_pdf_renders_on_a4_and_letter(tmp_path: Path, paper: str, ratio: float) -> None:
    pdf = render_pdf(_plan(_record(), "Breast care nurse: 0161 000 0000"), paper)  # type: ignore[arg-type]
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000
    path = tmp_path / "plan.pdf"
    path.write_bytes(pdf)
    tool = _needs_pdftoppm()
    subprocess.run([tool, "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    from PIL import Image

    with Image.open(pages[0]) as img:
        width, height = img.size
        assert abs(height / width - ratio) < 0.02
        low, high = img.convert("L").getextrema()
        assert high - low > 100, "the page is not blank"


def test_pdf_says_plainly_when_no_contacts(tmp_path: Path) -> None:
    pdf = render_pdf(_plan(_record(), None))
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "plan.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([tool, str(path), "-"], check=True, capture_output=True, text=True)
    flat = " ".join(text.stdout.split())
    assert " ".join(NO_CONTACTS.split()[:8]) in flat
    assert "Lie down flat and move as little as you can" in flat
    assert "Tue 17 Nov" in flat and "2026-11-17" not in flat


def _pdf_pages(tmp_path: Path, pdf: bytes) -> list[str]:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "plan.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([tool, str(path), "-"], check=True, capture_output=True, text=True)
    return [page for page in text.stdout.split("\f") if page.strip()]


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_pdf_in_patient_words_with_the_numbers_on_every_page(tmp_path: Path, paper: str) -> None:
    plan = _plan(_record(), "Breast care nurse: 0161 555 0101")
    pages = _pdf_pages(tmp_path, render_pdf(plan, paper))  # type: ignore[arg-type]
    flat = " ".join(" ".join(pages).split())
    # The signs are what a patient notices, not the rules' headlines.
    assert "If you notice" in flat and "Sign What to do" not in flat
    assert "you cannot put weight on a leg" in flat
    assert "Possible spinal cord compression" not in flat
    # A legend without scoring-system or pathology words; no record id, no ISO dates.
    for word in ("Mirels", "SINS", "lytic", "blastic", plan.patient_id, "2026-11-"):
        assert word not in flat, word
    assert "The cancer has thinned the bone here" in flat
    assert "Made on Monday 23 November 2026" in flat
    for page in pages:  # the team's number and the emergency number on every page
        assert "0161 555 0101" in page and "Emergency: 999" in page
    # No orphan lines: the last page carries more than a stray line or two.
    last = [line for line in pages[-1].splitlines() if line.strip() and "Page " not in line]
    assert len(last) > 3, last


def test_pdf_refuses_an_unknown_paper_size() -> None:
    with pytest.raises(ValueError, match="paper"):
        render_pdf(_plan(_record()), "a3")  # type: ignore[arg-type]


def _events(data: bytes) -> dict[str, dict[str, object]]:
    cal = Calendar.from_ical(data)
    out = {}
    for event in cal.walk("VEVENT"):
        out[str(event["UID"])] = {
            "summary": str(event["SUMMARY"]),
            "start": event.decoded("DTSTART"),
            "end": event.decoded("DTEND"),
        }
    return out


def test_calendar_events() -> None:
    record = _record()
    plan = _plan(record)
    events = _events(calendar_ics(record.id, plan.schedule, plan.as_of))
    dose = events[uid_for(record.id, "bma-zoledronic_acid")]
    assert dose["start"] == dt.date(2026, 11, 17) and dose["end"] == dt.date(2026, 11, 18)
    assert "zoledronic acid" in str(dose["summary"])
    scan = events[uid_for(record.id, "test-imaging")]
    assert scan["summary"] == "Scan (overdue)"
    assert len(events) == sum(1 for i in plan.schedule if i.due is not None)
    assert record.id not in "".join(events), "the UID does not reveal the record id"


def test_calendar_is_stable_and_follows_plan_changes() -> None:
    record = _record()
    plan = _plan(record)
    first = calendar_ics(record.id, plan.schedule, plan.as_of)
    assert first == calendar_ics(record.id, _plan(record).schedule, plan.as_of)
    # A dose is given: the same event (same UID) moves to the next date.
    given = record.model_copy(
        update={
            "bma_doses": [
                *record.bma_doses,
                BmaDose.model_validate(
                    {"agent": "zoledronic_acid", "date": "2026-11-23", "dose": 3.5,
                     "unit": "mg", "route": "iv"}
                ),
            ]
        }
    )  # fmt: skip
    later = _plan(given)
    before, after = _events(first), _events(calendar_ics(record.id, later.schedule, later.as_of))
    uid = uid_for(record.id, "bma-zoledronic_acid")
    assert set(before) == set(after)
    assert after[uid]["start"] != before[uid]["start"]
    assert after[uid]["start"] > TODAY
