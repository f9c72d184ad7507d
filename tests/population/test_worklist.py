from __future__ import annotations

import datetime as dt
import gzip
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import orjson
import pyarrow.csv as pacsv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from bonemets.adapters.fhir import fhir_to_records, read_ndjson_dir
from bonemets.core.pathway import assess
from bonemets.population.keys import Keyed, classify
from bonemets.population.local import FD_RESERVE, MAX_BUCKETS
from bonemets.population.patient import LEVEL_RANK

from .damage import damage
from .helpers import Result, lines_of, worklist


@pytest.fixture(scope="module")
def clean(small_export: Path, tmp_path_factory: pytest.TempPathFactory, as_of: dt.date) -> Result:
    return worklist(small_export, tmp_path_factory.mktemp("clean"), as_of, workers=1)


def test_rows_match_a_direct_import_and_assess(
    small_export: Path, clean: Result, as_of: dt.date
) -> None:
    rows, summary = clean
    direct = fhir_to_records(read_ndjson_dir(small_export))
    by_id = {r["patient_id"]: r for r in rows}
    assert len(rows) == len(direct.records) == summary["patients"] == 120
    for pid, record in direct.records.items():
        a = assess(record, as_of)
        row = by_id[pid]
        assert row["level"] == a.level.value
        assert row["bma_status"] == a.bma.status
        assert row["bma_next_due"] == a.bma.next_due
        assert row["alert_rules"] == [x.rule for x in a.alerts]
        assert row["overdue_monitoring"] == [m.test for m in a.monitoring if m.status == "overdue"]
        assert row["failed_checks"] == [c.check for c in a.bma.checks if c.status == "fail"]
    # Worklist order: most urgent first, then patient id.
    keys = [(-LEVEL_RANK[r["level"]], r["patient_id"]) for r in rows]
    assert keys == sorted(keys)
    assert sum(summary["levels"].values()) == 120
    assert summary["problems"] == 0 and summary["corrupt_lines"] == 0


def test_outputs_written(small_export: Path, tmp_path: Path, as_of: dt.date) -> None:
    out = tmp_path / "out"
    rows, _ = worklist(small_export, out, as_of, workers=1, chart=True)
    for name in (
        "worklist.parquet",
        "worklist.csv",
        "summary.json",
        "summary.png",
        "problems.ndjson",
    ):
        assert (out / name).stat().st_size > 0 or name == "problems.ndjson"
    csv = pacsv.read_csv(out / "worklist.csv").to_pylist()
    assert [r["patient_id"] for r in csv] == [r["patient_id"] for r in rows]
    first = next(r for r in rows if r["alert_rules"])
    row = next(r for r in csv if r["patient_id"] == first["patient_id"])
    assert row["alert_rules"] == ";".join(first["alert_rules"])
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"


def _sorted_export(src: Path, dst: Path) -> None:
    """One file per type, lines sorted by patient (reversed, to be sure order does not matter)."""
    dst.mkdir()
    by_type: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    for name, lines in lines_of(src).items():
        rtype = name.split(".")[0]
        for line in lines:
            c = classify(line)
            assert isinstance(c, Keyed)
            by_type[rtype].append((c.key, line))
    for rtype, items in by_type.items():
        items.sort(reverse=True)
        (dst / f"{rtype}.ndjson").write_bytes(b"\n".join(x[1] for x in items) + b"\n")


def test_sorted_and_unsorted_exports_agree(
    small_export: Path, tmp_path: Path, clean: Result, as_of: dt.date
) -> None:
    _sorted_export(small_export, tmp_path / "sorted")
    assert worklist(tmp_path / "sorted", tmp_path / "out", as_of, workers=1) == clean


def test_gzip_and_plain_agree(
    small_export: Path, tmp_path: Path, clean: Result, as_of: dt.date
) -> None:
    gz = tmp_path / "gz"
    gz.mkdir()
    for p in small_export.iterdir():
        (gz / (p.name + ".gz")).write_bytes(gzip.compress(p.read_bytes()))
    rows, summary = worklist(gz, tmp_path / "out", as_of, workers=1)
    assert (rows, summary) == clean


def test_tiny_buckets_and_two_workers_agree(
    small_export: Path, tmp_path: Path, clean: Result, as_of: dt.date
) -> None:
    # 8 KiB buckets: hundreds of buckets, some split again; memory per bucket is tiny.
    result = worklist(small_export, tmp_path / "out", as_of, workers=2, bucket_bytes=8192)
    assert result == clean
    result = worklist(small_export, tmp_path / "out1", as_of, workers=1, bucket_bytes=1 << 30)
    assert result == clean


def test_a_low_limit_on_open_files_gives_fewer_buckets_and_the_same_answer(
    small_export: Path, tmp_path: Path, clean: Result, as_of: dt.date
) -> None:
    """Each spill worker holds all its bucket files open. Under a hard limit of 120 open files
    (Linux's usual soft limit, 1,024, is below MAX_BUCKETS plus what a process holds) the
    worklist must use fewer buckets, split them again in pass 2, and give the same rows."""
    limit, bucket_mb = 120, 0.002
    out = tmp_path / "out"
    argv = [
        *("bonemets", "worklist", str(small_export), "--as-of", as_of.isoformat()),
        *("--out", str(out), "--bucket-mb", str(bucket_mb), "--workers", "2", "--no-progress"),
    ]
    code = (
        "import resource, runpy, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}))\n"
        f"sys.argv = {argv!r}\n"
        "runpy.run_module('bonemets.faces.cli.main', run_name='__main__')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wanted = sum(p.stat().st_size for p in small_export.iterdir()) / int(bucket_mb * (1 << 20))
    assert wanted > MAX_BUCKETS  # without the limit, MAX_BUCKETS buckets
    assert orjson.loads((out / "summary.json").read_bytes())["buckets"] == limit - FD_RESERVE
    assert pq.read_table(out / "worklist.parquet").to_pylist() == clean[0]


def test_corrupt_line_and_refused_patient(
    small_export: Path, tmp_path: Path, clean: Result, as_of: dt.date
) -> None:
    d = damage(small_export, tmp_path / "damaged")
    rows, summary = worklist(d.export, tmp_path / "out", as_of, workers=2)
    clean_rows = {r["patient_id"]: r for r in clean[0]}
    by_id = {r["patient_id"]: r for r in rows}
    assert set(by_id) == set(clean_rows)  # nobody lost
    # The patient with the truncated line keeps every other resource.
    victim = by_id[d.truncated_patient]
    assert victim["skipped_lines"] == 1
    assert victim["resources"] == clean_rows[d.truncated_patient]["resources"] - 1
    assert victim["level"] != "error"
    # Issue 22: the resource in furlongs is refused alone; its patient is assessed without it
    # and counted, the resource listed in problems with the adapter's reason.
    refused = by_id[d.refused_patient]
    assert refused["level"] != "error" and refused["error"] is None
    assert summary["levels"]["error"] == 0 and summary["refused_patients"] == 0
    assert summary["patients_with_refused_resources"] == 1
    # Everybody else is unchanged.
    for pid, row in by_id.items():
        if pid not in (d.truncated_patient, d.refused_patient):
            assert row == clean_rows[pid]
    problems = [
        orjson.loads(x) for x in (tmp_path / "out" / "problems.ndjson").read_bytes().splitlines()
    ]
    corrupt = {
        (p["file"], p["line"], p["patient"]) for p in problems if p["kind"] == "corrupt_line"
    }
    assert corrupt == {
        (d.truncated_file, d.truncated_line, d.truncated_patient),
        (d.garbage_file, d.garbage_line, None),
    }
    assert summary["corrupt_lines"] == 2
    assert any(
        p["kind"] == "refused_resource"
        and p["patient"] == d.refused_patient
        and "furlong" in p["reason"]
        for p in problems
    )


def test_files_cut_into_chunks_give_the_same_answer_and_line_numbers(
    small_export: Path, tmp_path: Path, as_of: dt.date
) -> None:
    """Pass 1 reads 4 KiB pieces of each file in two processes: rows, summary and every problem's
    file and line number are those of reading each file whole in one process."""
    d = damage(small_export, tmp_path / "damaged")
    whole = worklist(d.export, tmp_path / "whole", as_of, workers=1, chunk_bytes=1 << 30)
    cut = worklist(d.export, tmp_path / "cut", as_of, workers=2, chunk_bytes=4096)
    assert cut == whole
    problems = [(tmp_path / n / "problems.ndjson").read_bytes() for n in ("whole", "cut")]
    assert problems[0] == problems[1]
    assert b"corrupt_line" in problems[0]


def test_medication_by_reference_is_resolved(tmp_path: Path, as_of: dt.date) -> None:
    export = tmp_path / "meds"
    export.mkdir()
    pat = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-01-01"}
    med = {
        "resourceType": "Medication",
        "id": "zol",
        "code": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "77655"}]
        },
    }
    admin = {
        "resourceType": "MedicationAdministration",
        "id": "a1",
        "status": "completed",
        "medicationReference": {"reference": "Medication/zol"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2025-06-01",
    }
    (export / "Patient.ndjson").write_bytes(orjson.dumps(pat) + b"\n")
    (export / "Medication.ndjson").write_bytes(orjson.dumps(med) + b"\n")
    (export / "MedicationAdministration.ndjson").write_bytes(orjson.dumps(admin) + b"\n")
    rows, summary = worklist(export, tmp_path / "out", as_of, workers=1)
    assert rows[0]["bma_agent"] == "zoledronic_acid"
    assert summary["resources"]["Medication"] == {
        "read": 1,
        "imported": 1,
        "skipped": 0,
        "refused": 0,
    }
    assert pq.read_table(tmp_path / "out" / "worklist.parquet").num_rows == 1


def test_memoised_keys_are_compact() -> None:
    """Pass 1 keeps one JSON key per patient: 10,000 of them must not take ~40 MB (orjson's
    result for a short string holds a ~4 KB block)."""
    import tracemalloc

    from bonemets.population.local import _json_key

    tracemalloc.start()
    try:
        keys = [_json_key(f"Patient/{i:036d}") for i in range(10_000)]
        used = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert orjson.loads(keys[7]) == f"Patient/{7:036d}"
    assert used < 2 << 20
