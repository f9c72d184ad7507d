"""A patient's own trends (education/trends.py) and the chart that draws them
(drawing/trend_chart.py): values converted to the units the patient chose, calcium adjusted for
albumin exactly as triage pairs them, what they typed in kept and marked."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonemets.core.errors import InputError
from bonemets.core.record import Record
from bonemets.core.units import convert, unit_in_system
from bonemets.drawing.trend_chart import Point, line_chart, nice_ticks
from bonemets.education.trends import (
    result_trends,
    shown_value,
    symptom_trend,
    window_start,
)

TODAY = dt.date(2026, 11, 23)


def lab(code: str, value: float, unit: str, day: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "value": value, "unit": unit, "date": day, **extra}


def record(labs: list[dict[str, Any]], reports: list[dict[str, Any]] | None = None) -> Record:
    return Record.model_validate(
        {"id": "p", "demographics": {"sex": "female"}, "labs": labs,
         "symptom_reports": reports or []}
    )  # fmt: skip


def trend(rec: Record, code: str, system: str = "si", months: int = 6) -> Any:
    found = [t for t in result_trends(rec, TODAY, system, months) if t.code == code]
    return found[0] if found else None


# --- Units ----------------------------------------------------------------------------------------


def test_each_system_shows_each_analyte_in_its_own_unit() -> None:
    assert unit_in_system("calcium_corrected", "si") == "mmol/L"
    assert unit_in_system("calcium_corrected", "conventional") == "mg/dL"
    assert unit_in_system("creatinine", "conventional") == "mg/dL"
    assert unit_in_system("vitamin_d_25oh", "conventional") == "ng/mL"
    assert unit_in_system("alkaline_phosphatase", "conventional") == "U/L"  # one unit only
    with pytest.raises(InputError) as err:
        unit_in_system("creatinine", "imperial")
    assert err.value.field == "unit_system"


@pytest.mark.parametrize(
    ("code", "value", "unit", "system", "shown", "shown_unit"),
    [
        ("creatinine", 88.4, "umol/L", "conventional", "1", "mg/dL"),
        ("creatinine", 1.5, "mg/dL", "si", "133", "umol/L"),  # 132.6
        ("vitamin_d_25oh", 50.0, "nmol/L", "conventional", "20", "ng/mL"),  # 20.03
        ("vitamin_d_25oh", 20.0, "ng/mL", "si", "49.9", "nmol/L"),  # 49.92
        ("haemoglobin", 120.0, "g/L", "conventional", "12", "g/dL"),
        ("alkaline_phosphatase", 1234.0, "U/L", "conventional", "1234", "U/L"),
    ],
)
def test_results_are_converted_for_showing(
    code: str, value: float, unit: str, system: str, shown: str, shown_unit: str
) -> None:
    t = trend(record([lab(code, value, unit, "2026-11-01")]), code, system)
    assert t.unit == shown_unit and shown_value(t.points[0].value) == shown


def test_calcium_is_adjusted_for_albumin_and_shown_in_either_system() -> None:
    # The demo patient's 20 November: total 2.85 mmol/L, albumin 30 g/L:
    # 2.85 + 0.02 x (40 - 30) = 3.05 mmol/L = 12.2 mg/dL (1 mg/dL = 0.249501 mmol/L).
    rec = record([lab("calcium_total", 2.85, "mmol/L", "2026-11-20"),
                  lab("albumin", 30.0, "g/L", "2026-11-20")])  # fmt: skip
    si, us = trend(rec, "calcium", "si"), trend(rec, "calcium", "conventional")
    assert si.points[0].value == pytest.approx(3.05)
    assert us.points[0].value == pytest.approx(3.05 / 0.249501)
    assert (shown_value(si.points[0].value), shown_value(us.points[0].value)) == ("3.05", "12.2")
    assert si.usual == (2.2, 2.6) and us.usual == (8.8, 10.4)
    assert si.points[0].position == us.points[0].position == "above"
    assert not si.points[0].not_adjusted


@pytest.mark.parametrize(("albumin_day", "adjusted"), [("2026-11-13", True), ("2026-11-12", False)])
def test_albumin_pairs_within_seven_days_before_as_in_triage(
    albumin_day: str, adjusted: bool
) -> None:
    rec = record([lab("calcium_total", 2.30, "mmol/L", "2026-11-20"),
                  lab("albumin", 30.0, "g/L", albumin_day)])  # fmt: skip
    point = trend(rec, "calcium").points[0]
    assert point.not_adjusted is not adjusted
    assert point.value == pytest.approx(2.50 if adjusted else 2.30)


def test_an_albumin_after_the_calcium_never_adjusts_it() -> None:
    rec = record([lab("calcium_total", 2.30, "mmol/L", "2026-11-20"),
                  lab("albumin", 30.0, "g/L", "2026-11-21")])  # fmt: skip
    assert trend(rec, "calcium").points[0].not_adjusted


def test_the_laboratorys_corrected_calcium_replaces_the_total_of_that_day() -> None:
    rec = record([lab("calcium_total", 2.30, "mmol/L", "2026-11-20"),
                  lab("albumin", 30.0, "g/L", "2026-11-20"),
                  lab("calcium_corrected", 2.48, "mmol/L", "2026-11-20")])  # fmt: skip
    points = trend(rec, "calcium").points
    assert [p.value for p in points] == [2.48]


def test_what_the_patient_typed_is_marked_and_not_adjusted_with_a_lab_albumin() -> None:
    typed = {"reported_by_patient": True}
    rec = record([lab("calcium_total", 2.30, "mmol/L", "2026-11-20", **typed),
                  lab("albumin", 30.0, "g/L", "2026-11-20"),
                  lab("creatinine", 90.0, "umol/L", "2026-11-20", **typed)])  # fmt: skip
    calcium = trend(rec, "calcium").points[0]
    assert calcium.typed_by_patient and calcium.not_adjusted and calcium.value == 2.30
    assert trend(rec, "creatinine").points[0].typed_by_patient


def test_the_laboratorys_own_range_is_used_when_it_gave_one() -> None:
    rec = record([lab("creatinine", 100.0, "umol/L", "2026-11-20", lower_limit=50, upper_limit=98)])
    t = trend(rec, "creatinine", "conventional")
    assert t.usual == pytest.approx((50 / 88.4, 98 / 88.4))
    assert t.points[0].position == "above"
    # Without one: the project's female default (45-90 umol/L) holds 89 as usual.
    assert (
        trend(record([lab("creatinine", 89.0, "umol/L", "2026-11-20")]), "creatinine")
        .points[0]
        .position
        == "usual"
    )


@pytest.mark.parametrize(("value", "position"), [(80.0, "usual"), (80.1, "above")])
def test_a_laboratorys_upper_limit_alone_is_used_with_the_default_lower_one(
    value: float, position: str
) -> None:
    """A stricter laboratory ULN (80) than the default (90) is not hidden by the default."""
    point = trend(record([lab("creatinine", value, "umol/L", "2026-11-20", upper_limit=80)]),
                  "creatinine").points[0]  # fmt: skip
    assert point.position == position


def test_a_value_with_no_known_range_is_never_called_usual() -> None:
    t = trend(record([lab("vitamin_d_25oh", 60.0, "nmol/L", "2026-11-20")]), "vitamin_d_25oh")
    assert t.usual is None and t.points[0].position == "unknown"


def test_tumour_markers_are_not_converted_and_carry_no_range() -> None:
    t = trend(record([lab("ca15_3", 48.0, "U/mL", "2026-10-01")]), "ca15_3", "conventional")
    assert t.unit == "U/mL" and t.usual is None and t.points[0].position == "unknown"


def test_only_results_in_the_window_are_shown_oldest_first() -> None:
    rec = record([lab("creatinine", 80.0, "umol/L", "2026-08-22"),
                  lab("creatinine", 85.0, "umol/L", "2026-08-23"),
                  lab("creatinine", 90.0, "umol/L", "2026-11-24"),  # after today
                  lab("creatinine", 70.0, "umol/L", "2026-11-01")])  # fmt: skip
    assert [p.day.isoformat() for p in trend(rec, "creatinine", months=3).points] == [
        "2026-08-23", "2026-11-01"
    ]  # fmt: skip
    assert len(trend(rec, "creatinine", months=0).points) == 3
    assert trend(record([]), "creatinine") is None and trend(record([]), "calcium") is None


@pytest.mark.parametrize(
    ("today", "months", "start"),
    [("2026-11-23", 3, "2026-08-23"), ("2026-05-31", 3, "2026-02-28"),
     ("2024-05-31", 3, "2024-02-29"), ("2026-01-15", 12, "2025-01-15"),
     ("2026-03-10", 6, "2025-09-10")],
)  # fmt: skip
def test_window_start_is_calendar_months_back(today: str, months: int, start: str) -> None:
    assert window_start(dt.date.fromisoformat(today), months) == dt.date.fromisoformat(start)
    assert window_start(dt.date.fromisoformat(today), 0) is None


@given(
    st.sampled_from(["creatinine", "calcium_total", "vitamin_d_25oh", "haemoglobin"]),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_showing_converts_and_never_changes_what_is_stored(code: str, fraction: float) -> None:
    from bonemets.core.units import analyte

    entry = analyte(code)
    low, high = entry["plausible"]
    value = low + (high - low) * fraction
    unit = entry["canonical_unit"]
    rec = record([lab(code, value, unit, "2026-11-20")])
    before = rec.model_dump()
    for system in ("si", "conventional"):
        (t,) = result_trends(rec, TODAY, system)
        back = convert(code, t.points[0].value, t.unit, unit)
        assert back == pytest.approx(value, rel=1e-9)
    assert rec.model_dump() == before


# --- Symptoms -------------------------------------------------------------------------------------


def test_symptom_grid_keeps_the_newest_answer_of_each_day_and_its_pain_score() -> None:
    # Two reports on 15 November (a check-in's two steps): the second's answers stand.
    reports = [
        {"date": "2026-11-01", "symptoms": [{"code": "bone_pain", "severity": 1, "pain_score": 3}]},
        {"date": "2026-11-08", "symptoms": []},  # "I'm fine this week"
        {"date": "2026-11-15", "symptoms": [{"code": "bone_pain", "severity": 2, "pain_score": 6},
                                            {"code": "fatigue", "severity": 3}]},
        {"date": "2026-11-15", "symptoms": [{"code": "bone_pain", "severity": 1, "pain_score": 5}]},
        {"date": "2026-05-01", "symptoms": [{"code": "nausea_vomiting", "severity": 2}]},  # old
    ]  # fmt: skip
    trend_ = symptom_trend(record([], reports), TODAY, 6)
    assert [d.isoformat() for d in trend_.days] == ["2026-11-01", "2026-11-08", "2026-11-15"]
    cells = {row.code: row.cells for row in trend_.rows}
    assert cells == {"bone_pain": (1, None, 1), "fatigue": (None, None, 3)}
    assert [(p.day.day, p.score) for p in trend_.pain] == [(1, 3), (15, 5)]  # not the 6 it replaced
    assert trend_.rows[0].label == "Pain in a bone"


# --- The chart ------------------------------------------------------------------------------------


def test_ticks_are_round_and_cover_the_values() -> None:
    assert nice_ticks(2.2, 3.05) == [2.0, 2.5, 3.0, 3.5]  # steps of 0.5: 0.85 / 3 rounded up
    assert nice_ticks(0, 10, 3) == [0, 5, 10]
    assert nice_ticks(45, 133)[0] <= 45 and nice_ticks(45, 133)[-1] >= 133


def test_the_chart_is_one_labelled_image_with_the_points_in_order() -> None:
    points = [Point(dt.date(2026, 9, 20), 88.4), Point(dt.date(2026, 11, 20), 132.6, hollow=True)]
    svg = line_chart(points, label="Kidney test <in µmol/L>", band=(45.0, 90.0))
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Kidney test <in µmol/L>"
    dots = [c for c in root if c.tag == "circle"]
    assert [d.get("class") for d in dots] == ["dot", "dot hollow"]
    # Higher values are higher on the page (smaller y), later days further right.
    assert float(dots[1].get("cy") or 0) < float(dots[0].get("cy") or 0)
    assert float(dots[1].get("cx") or 0) > float(dots[0].get("cx") or 0)
    band = next(c for c in root if c.tag == "rect")
    assert float(band.get("height") or 0) > 0
    assert line_chart([], label="x") == ""
