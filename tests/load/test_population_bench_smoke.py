"""Runs bench/population.py on two tiny exports so CI exercises it end to end: synthetic exports,
the worklist in a subprocess, both parse baselines, the fhir.resources pipeline, the JSON and the
chart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_population_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "population.py"),
            "--sizes",
            "120,240",
            "--spark-size",
            "0",
            "--sample",
            "15",
            "--workdir",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    result = json.loads((out / "population.json").read_text())
    assert [r["size"] for r in result["sizes"]] == [120, 240]
    for row in result["sizes"]:
        assert row["patients"] == row["size"]
        assert row["resources"] > 10 * row["size"]
        assert row["orjson_seconds"] > 0 and row["orjson_parallel_seconds"] > 0
        assert row["rss_main_mb"] > 0
    ratios = result["ratios"]
    assert ratios["x_fhir_resources"] > 0 and ratios["pct_of_orjson"] > 0
    assert set(result["steps_ms_per_patient"]) == {"parse", "import", "assess"}
    assert (out / "population.png").stat().st_size > 10_000
    assert not list((tmp_path / "work").glob("export-*"))  # removed unless --keep
