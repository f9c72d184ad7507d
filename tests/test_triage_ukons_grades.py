"""The graded acute-oncology reports (tests/triage_grades.py): no report is under-triaged, every
UKONS category is covered, and the over-triage count is the one the README states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bonemets.core.knowledge import sources
from bonemets.core.levels import Level
from bonemets.core.triage import triage
from tests.triage_grades import CASES, Case

CATEGORIES = {
    "nausea and vomiting", "diarrhoea", "constipation", "fatigue", "oral / stomatitis",
    "decreased oral intake", "skin", "urinary", "cough", "sore throat", "abdominal pain",
    "dizziness", "eyes", "fever / neutropenic sepsis", "breathlessness", "bleeding",
    "chest pain", "two Ambers", "pain", "neurosensory", "confusion / drowsiness", "fracture",
    "limb swelling", "lines",
}  # fmt: skip


def _rank(level: str) -> int:
    return Level(level).rank


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_report_is_under_triaged(case: Case) -> None:
    out = triage(case.report)
    expected, _ = case.grade
    assert out.level.rank >= _rank(expected), (case.name, out.level, [r.rule for r in out.reasons])


def test_the_suite_covers_every_category_with_sources() -> None:
    assert len(CASES) >= 150
    assert {c.category for c in CASES} == CATEGORIES
    known = sources()
    for case in CASES:
        assert case.sources and all(s in known for s in case.sources), case.name
        expected, highest = case.grade
        assert _rank(expected) <= _rank(highest)
    assert len({c.name for c in CASES}) == len(CASES)


def over_triaged() -> list[Case]:
    return [c for c in CASES if triage(c.report).level.rank > _rank(c.grade[1])]


def test_over_triage_is_counted_in_the_readme() -> None:
    over = over_triaged()
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    found = re.search(r"over-triaged: (\d+) of (\d+) graded reports", readme, re.I)
    assert found, "README lacks the over-triage count of the graded suite"
    assert (int(found.group(1)), int(found.group(2))) == (len(over), len(CASES)), [
        c.name for c in over
    ]


def test_green_is_never_sent_to_the_emergency_department() -> None:
    # Over-triage is counted, but a Green report at emergency would be a design error.
    for case in CASES:
        if case.grade[1] in ("self_care", "routine"):
            assert triage(case.report).level is not Level.EMERGENCY, case.name
