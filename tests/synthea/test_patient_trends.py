"""The patient's own trends (education/trends.py) and their charts on records Synthea wrote and
our importer read: every result on the record in the window is shown, in either unit system,
converted back to exactly what is stored, and every chart is one well-formed labelled image."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bonemets.core.units import convert
from bonemets.drawing.trend_chart import Point, line_chart
from bonemets.education.trends import result_trends, symptom_trend, window_start
from tests.synthea.conftest import REFERENCE_DATE, Patient

SHOWN = {"creatinine", "vitamin_d_25oh", "haemoglobin", "alkaline_phosphatase"}


def test_trends_on_synthea_records(module_cohort: list[Patient]) -> None:
    start = window_start(REFERENCE_DATE, 12)
    assert start is not None
    shown = 0
    with_labs = 0
    for patient in module_cohort:
        for record in patient.result.records.values():
            in_window = [lab for lab in record.labs if start <= lab.date <= REFERENCE_DATE]
            with_labs += bool(in_window)
            for system in ("si", "conventional"):
                trends = {t.code: t for t in result_trends(record, REFERENCE_DATE, system, 12)}
                for code in SHOWN:
                    stored = [lab for lab in in_window if lab.code == code]
                    if not stored:
                        assert code not in trends
                        continue
                    trend = trends[code]
                    assert [p.day for p in trend.points] == [lab.date for lab in stored]
                    for point, lab in zip(trend.points, stored, strict=True):
                        back = convert(code, point.value, trend.unit, lab.unit)
                        assert back == pytest.approx(lab.value, rel=1e-9)
                # Calcium: one point per total calcium, adjusted with the panel's own albumin.
                totals = [lab for lab in in_window if lab.code == "calcium_total"]
                if totals:
                    calcium = trends["calcium"].points
                    assert len(calcium) == len(totals)
                    assert not any(p.not_adjusted for p in calcium)
                for trend in trends.values():
                    points = [Point(p.day, p.value, p.typed_by_patient) for p in trend.points]
                    svg = ET.fromstring(line_chart(points, label=trend.name, band=trend.usual))
                    assert svg.get("role") == "img" and svg.get("aria-label") == trend.name
                    shown += 1
            symptom_trend(record, REFERENCE_DATE, 12)  # reads what the import gave, no crash
    # Our module's panels carry calcium, albumin, creatinine, ALP and CA 15-3 (2021-2024).
    assert with_labs >= 6 and shown >= 2 * 3 * with_labs
