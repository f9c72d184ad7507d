from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from bonemets.adapters.fhir import fhir_to_records, read_ndjson_dir
from bonemets.population import synth_export
from bonemets.population.synth import TYPES

from .helpers import lines_of


def test_small_export_imports_with_zero_refusals(small_export: Path) -> None:
    result = fhir_to_records(read_ndjson_dir(small_export))
    assert result.refusals == []
    assert len(result.records) == 120
    assert set(result.counts) == set(TYPES)
    # Noise is there: unrelated codes are read and skipped, not refused.
    assert result.counts["Observation"].skipped > 0
    assert result.counts["Condition"].skipped > 0
    # Both unit systems are written.
    text = b"\n".join(line for lines in lines_of(small_export).values() for line in lines)
    assert b'"code":"mmol/L"' in text and b'"code":"mg/dL"' in text
    assert b'"code":"[lb_av]"' in text and b'"code":"kg"' in text


def test_resources_are_not_in_patient_order(small_export: Path) -> None:
    obs = lines_of(small_export)["Observation.000.ndjson"]
    subjects = [line.split(b'"subject":')[1][:60] for line in obs]
    runs = sum(1 for a, b in itertools.pairwise(subjects) if a != b)
    assert runs > len(subjects) // 2  # interleaved, not grouped by patient


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, as_of: dt.date) -> None:
    a = synth_export(tmp_path / "a", 40, 5, as_of=as_of, workers=2)
    b = synth_export(tmp_path / "b", 40, 5, as_of=as_of, workers=1)
    synth_export(tmp_path / "c", 40, 6, as_of=as_of, workers=1)
    assert a.resources == b.resources
    assert lines_of(tmp_path / "a") == lines_of(tmp_path / "b")
    assert lines_of(tmp_path / "a") != lines_of(tmp_path / "c")


def test_gzip_export_has_the_same_lines(tmp_path: Path, as_of: dt.date) -> None:
    synth_export(tmp_path / "plain", 30, 2, as_of=as_of, workers=1)
    synth_export(tmp_path / "gz", 30, 2, as_of=as_of, workers=1, gz=True)
    plain = lines_of(tmp_path / "plain")
    gz = {k.removesuffix(".gz"): v for k, v in lines_of(tmp_path / "gz").items()}
    assert plain == gz
