"""The worklist's Arrow tables, built from their buffers, are what `pa.array` builds; no pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]

from bonemets.population.output import (
    CSV_SCHEMA,
    LIST_COLUMNS,
    SCHEMA,
    _csv_table,
    rows_to_table,
)
from bonemets.population.patient import COLUMNS, Row


def row(**values: Any) -> Row:
    """A worklist row: `values` by column, nothing in the others (no lists, no counts)."""
    empty = {name: [] if name in LIST_COLUMNS else None for name in COLUMNS}
    return tuple({**empty, "resources": 0, "skipped_lines": 0, **values}.values())


ROWS = [
    row(
        patient_id="p1",
        record_id="r1",
        level="urgent",
        level_rank=3,
        bma_agent="denosumab",
        bma_status="due",
        bma_next_due="2025-07-01",
        failed_checks=["calcium"],
        never_monitored=["a"],
        resources=9,
    ),
    row(
        patient_id="p\u00e9\u4e2d",
        record_id="r2",
        level="error",
        level_rank=-1,
        missing_checks=["x\u00e9", ""],
        alert_rules=["a;b"],
        skipped_lines=2,
        error='bad "unit"',
    ),
    row(
        patient_id="p3",
        record_id="",
        level="self_care",
        level_rank=0,
        bma_status="not_started",
        overdue_monitoring=["b", "c"],
        resources=1,
    ),
]


def reference_table(rows: list[Row]) -> pa.Table:
    """What `pa.array` makes of the rows (the way the table used to be built)."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(SCHEMA)
    arrays = [
        pa.array(v, pa.string()).cast(f.type) if f.type == pa.date32() else pa.array(v, f.type)
        for v, f in zip(cols, SCHEMA, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def test_rows_to_table_is_what_pa_array_builds() -> None:
    for rows in (ROWS, ROWS[:1], ROWS[1:2], []):
        table = rows_to_table(rows)
        table.validate(full=True)
        assert table.equals(reference_table(rows))


def test_csv_table_joins_lists() -> None:
    table = _csv_table(rows_to_table(ROWS))
    assert table.schema == CSV_SCHEMA
    for name in LIST_COLUMNS:
        index = SCHEMA.names.index(name)
        assert table.column(name).to_pylist() == [";".join(r[index]) for r in ROWS]


def test_writing_a_worklist_does_not_import_pandas(tmp_path: Path) -> None:
    code = f"""
import sys
from pathlib import Path
from bonemets.population.output import WorklistWriter
with WorklistWriter(Path({str(tmp_path)!r})) as writer:
    writer.write_all({ROWS!r})
assert "pandas" not in sys.modules
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    assert pacsv.read_csv(tmp_path / "worklist.csv").num_rows == len(ROWS)
