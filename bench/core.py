"""Benchmark of the clinical core: median time per call, and its ratio to a baseline measured in the
same process (machines here are noisy; ratios travel better than absolute times).

    .venv/bin/python bench/core.py

Targets (issue 3/4): triage of a 5-symptom report with labs under 100 us; assess of a two-year
record under 1 ms.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from bonemets.core.pathway import assess
from bonemets.core.record import Record
from bonemets.core.triage import TriageInput, triage, triage_json

REPORT: dict[str, Any] = {
    "as_of": "2026-11-23",
    "patient": {
        "age": 61,
        "sex": "female",
        "bone_metastases": True,
        "spinal_metastases": True,
        "bma": {"agent": "denosumab", "started": "2025-06-01", "last_dose": "2026-11-01"},
        "on_chemotherapy": False,
        "on_opioids": True,
    },
    "symptoms": [
        {"code": "back_pain", "severity": 3, "duration_days": 5, "trend": "worse",
         "site": "mid_back", "features": ["worse_at_night"]},
        {"code": "thirst", "severity": 2},
        {"code": "constipation", "severity": 1},
        {"code": "jaw_pain", "severity": 1, "duration_days": 10},
        {"code": "fatigue", "severity": 2},
    ],
    "labs": [
        {"code": "calcium_total", "value": 2.71, "unit": "mmol/L", "date": "2026-11-22"},
        {"code": "albumin", "value": 31, "unit": "g/L", "date": "2026-11-22"},
        {"code": "platelets", "value": 140, "unit": "10*9/L", "date": "2026-11-22"},
        {"code": "haemoglobin", "value": 104, "unit": "g/L", "date": "2026-11-22"},
    ],
}  # fmt: skip
FREE_TEXT = (
    "My back's been killing me at night and my legs feel like jelly. "
    "No numbness and I haven't wet myself. Temp 37.2, a bit tired."
)


def two_year_record() -> tuple[Record, dt.date]:
    """Two years of history: 50 lab results, 26 doses, 8 imaging tests, 20 symptom reports."""
    start = dt.date(2024, 12, 1)
    day = lambda n: (start + dt.timedelta(days=n)).isoformat()  # noqa: E731
    labs = []
    for i in range(10):  # ten blood draws, five results each = 50
        d = day(i * 70)
        labs += [
            {"code": "calcium_total", "value": 2.35 + 0.01 * i, "unit": "mmol/L", "date": d},
            {"code": "albumin", "value": 36, "unit": "g/L", "date": d},
            {"code": "creatinine", "value": 80 + i, "unit": "umol/L", "date": d},
            {"code": "alkaline_phosphatase", "value": 120 + 3 * i, "unit": "U/L", "date": d},
            {"code": "haemoglobin", "value": 118, "unit": "g/L", "date": d},
        ]
    record = Record.model_validate(
        {
            "id": "bench-1",
            "demographics": {
                "birth_date": "1958-03-14",
                "sex": "female",
                "weights": [{"date": day(0), "kg": 66}, {"date": day(360), "kg": 64}],
            },
            "cancer": {"primary_site": "breast", "er": "positive", "her2": "negative",
                       "bone_metastases": True, "bone_metastases_date": day(0)},
            "lesions": [
                {"date": day(5), "site": "T11", "type": "lytic",
                 "sins": {"pain": "occasional", "alignment": "normal", "collapse": "none",
                          "posterolateral": "none"}},
                {"date": day(5), "site": "femur_shaft", "type": "mixed", "size_fraction": 0.4,
                 "pain": "mild"},
            ],
            "labs": labs,
            "bma_doses": [{"agent": "zoledronic_acid", "date": day(7 + 28 * i), "dose": 4.0,
                           "route": "iv"} for i in range(26)],
            "bma_plans": [{"date": day(7), "agent": "zoledronic_acid", "interval_weeks": 4}],
            "dental_exams": [{"date": day(2), "outcome": "fit"}],
            "imaging": [{"date": day(90 * i), "modality": "ct"} for i in range(8)],
            "supplements": [{"date": day(7), "kind": "calcium", "daily_amount": 500, "unit": "mg"},
                            {"date": day(7), "kind": "vitamin_d", "daily_amount": 400,
                             "unit": "IU"}],
            "symptom_reports": [
                {"date": day(30 * i + 10), "symptoms": [
                    {"code": "bone_pain", "site": "ribs", "severity": 2, "duration_days": 5},
                    {"code": "fatigue", "severity": 1}]}
                for i in range(20)
            ],
        }
    )  # fmt: skip
    return record, start + dt.timedelta(days=730)


def median_seconds(fn: Callable[[], object], *, number: int = 200, repeat: int = 15) -> float:
    """Median over `repeat` rounds of the mean time of `number` calls."""
    fn()  # warm caches (knowledge files are loaded once)
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - start) / number)
    return statistics.median(rounds)


def main() -> None:
    raw = orjson.dumps(REPORT)
    rows: list[tuple[str, float]] = []
    baseline = median_seconds(lambda: TriageInput.model_validate_json(raw))
    rows.append(("baseline: parse + validate the JSON report only", baseline))
    full = median_seconds(lambda: triage_json(raw))
    rows.append(("triage_json: parse, validate, rules, explain", full))
    from_dict = median_seconds(lambda: triage(orjson.loads(raw)))
    rows.append(("triage(dict) after orjson.loads", from_dict))
    # Free text: a message read each time (the finder caches texts it has seen, so each call
    # gets a new one) against the same report without it.
    texts = (f"{FREE_TEXT} (day {i})" for i in itertools.count())
    with_text = median_seconds(
        lambda: triage_json(orjson.dumps({**REPORT, "free_text": next(texts)}))
    )
    rows.append(("triage_json with a 3-sentence free text (a new text each call)", with_text))

    record, as_of = two_year_record()
    assess_baseline = median_seconds(lambda: Record.model_validate(record.model_dump()), number=50)
    rows.append(("baseline: validate the two-year record only", assess_baseline))
    rows.append(("assess: two-year record (50 labs, 26 doses, 8 imaging, 20 reports)",
                 median_seconds(lambda: assess(record, as_of), number=50)))  # fmt: skip

    table = Table(title="bonemets core benchmark (median per call)")
    table.add_column("what")
    table.add_column("median", justify="right")
    table.add_column("x its baseline", justify="right")
    for name, seconds in rows:
        base = assess_baseline if "record" in name else baseline
        table.add_row(name, f"{seconds * 1e6:,.1f} us", f"{seconds / base:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
