"""Benchmark of the clinical core: median time per call, and its ratio to a baseline measured in the
same process (machines here are noisy; ratios travel better than absolute times).

    .venv/bin/python bench/core.py

Targets (issue 3/4): triage of a 5-symptom report with labs under 100 us; assess of a two-year
record under 1 ms.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

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

    try:  # the assessment arrives with clinical core II
        from bench.records import two_year_record
        from bonemets.core.pathway import assess

        record, as_of = two_year_record()
        rows.append(("assess: two-year record (50 labs, 26 doses, 8 imaging, 20 reports)",
                     median_seconds(lambda: assess(record, as_of), number=50)))  # fmt: skip
    except ImportError:
        pass

    table = Table(title="bonemets core benchmark (median per call)")
    table.add_column("what")
    table.add_column("median", justify="right")
    table.add_column("x baseline", justify="right")
    for name, seconds in rows:
        table.add_row(name, f"{seconds * 1e6:,.1f} us", f"{seconds / baseline:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
