"""The Spark engine gives the local engine's answer, row for row (one shared local[2] session)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from bonemets.adapters.fhir import bundle_resources, record_to_fhir, write_ndjson
from bonemets.demo.cohort import make_cohort

from .damage import damage
from .helpers import worklist


def _problems(out: Path) -> list[Any]:
    return [orjson.loads(x) for x in (out / "problems.ndjson").read_bytes().splitlines()]


def test_spark_equals_local_on_a_damaged_generated_export(
    small_export: Path, tmp_path: Path, spark: Any, as_of: dt.date
) -> None:
    d = damage(small_export, tmp_path / "damaged")
    local = worklist(d.export, tmp_path / "local", as_of, workers=2)
    on_spark = worklist(
        d.export, tmp_path / "spark", as_of, engine="spark", spark=spark, partitions=2
    )
    assert on_spark == local
    assert local[1]["corrupt_lines"] == 2
    # Spark reports the corrupt lines with the same file and line numbers.
    assert _problems(tmp_path / "spark") == _problems(tmp_path / "local")


def test_spark_equals_local_on_a_demo_cohort_export(
    tmp_path: Path, spark: Any, as_of: dt.date
) -> None:
    cohort = make_cohort(40, seed=3, as_of=as_of)
    resources = [r for p in cohort for r in bundle_resources(record_to_fhir(p.record))]
    write_ndjson(resources, tmp_path / "export", gz=True)
    local = worklist(tmp_path / "export", tmp_path / "local", as_of, workers=1)
    on_spark = worklist(
        tmp_path / "export", tmp_path / "spark", as_of, engine="spark", spark=spark, partitions=2
    )
    assert on_spark == local
    assert local[1]["patients"] == 40 and local[1]["refused_patients"] == 0
    # record_to_fhir writes the record id as an identifier: the adapter's record id is kept.
    assert {r["record_id"] for r in local[0]} == {p.record.id for p in cohort}


def test_cli_spark_workers_run_the_interpreter_bonemets_is_installed_in(
    small_export: Path, tmp_path: Path, as_of: dt.date
) -> None:
    """`bonemets worklist --engine spark` as a user runs it: PYSPARK_PYTHON unset, and the first
    `python3` on PATH is not the interpreter bonemets is installed in (here a decoy that fails).
    PySpark starts its RDD workers with PYSPARK_PYTHON, else `python3`."""
    decoy = tmp_path / "bin"
    decoy.mkdir()
    (decoy / "python3").write_text("#!/bin/sh\necho 'decoy python3' >&2\nexit 3\n")
    (decoy / "python3").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYSPARK_PYTHON"}
    env["PATH"] = f"{decoy}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    out = tmp_path / "spark"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "bonemets.faces.cli.main", "worklist", str(small_export)),
            *("--as-of", as_of.isoformat(), "--out", str(out), "--engine", "spark"),
            *("--master", "local[2]", "--json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert orjson.loads(proc.stdout)["patients"] == 120
    local = worklist(small_export, tmp_path / "local", as_of, workers=1)
    assert pq.read_table(out / "worklist.parquet").to_pylist() == local[0]
