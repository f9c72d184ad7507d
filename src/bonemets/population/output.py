"""Writing the worklist (Parquet and CSV, with PyArrow), the summary (JSON and a PNG chart) and
the problem list. Rows arrive already in worklist order and are written in batches, so memory does
not grow with the population."""

from __future__ import annotations

import datetime as dt
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import repeat
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import orjson
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from bonemets import ENGINE_VERSION
from bonemets.core.knowledge import rule_set_id
from bonemets.population.patient import COLUMNS, LEVELS_BY_RANK, Problem, Row, Stats
from bonemets.population.storage import Location, location, output_stream, write_bytes

Json = dict[str, Any]

LIST_COLUMNS = (
    "failed_checks",
    "missing_checks",
    "overdue_monitoring",
    "never_monitored",
    "alert_rules",
)
SCHEMA = pa.schema(
    [
        ("patient_id", pa.string()),
        ("record_id", pa.string()),
        ("level", pa.string()),
        ("level_rank", pa.int8()),
        ("bma_agent", pa.string()),
        ("bma_status", pa.string()),
        ("bma_next_due", pa.date32()),
        *((name, pa.list_(pa.string())) for name in LIST_COLUMNS),
        ("resources", pa.int32()),
        ("skipped_lines", pa.int32()),
        ("error", pa.string()),
    ]
)
CSV_SCHEMA = pa.schema(
    [pa.field(f.name, pa.string()) if f.name in LIST_COLUMNS else f for f in SCHEMA]
)
assert tuple(SCHEMA.names) == COLUMNS
# What produced the rows, the same in every row (and in the Parquet file's metadata): a worklist
# file found on its own still says on which day and by which rules it was made.
RUN_FIELDS = [
    pa.field("as_of", pa.date32()),
    pa.field("engine_version", pa.string()),
    pa.field("rule_set", pa.string()),
]

WORKLIST_PARQUET = "worklist.parquet"
WORKLIST_CSV = "worklist.csv"
SUMMARY_JSON = "summary.json"
SUMMARY_PNG = "summary.png"
PROBLEMS_NDJSON = "problems.ndjson"
MAX_PROBLEMS_IN_SUMMARY = 20


# The columns are built from their buffers rather than by `pa.array`, whose first call imports
# pandas (~0.25 s and ~35 MB in the main process, after both passes), though nothing here uses
# pandas. That costs ~1.2 us a row more, but the CSV's joined lists now cost ~1 us a row less
# (`pc.binary_join` rather than Python), so a row costs about what it did.


def _validity(values: Sequence[Any]) -> tuple[pa.Buffer | None, int]:
    """Arrow's validity bitmap of `values` (None is null; no bitmap when none is) and null count."""
    nulls = values.count(None)
    if not nulls:
        return None, 0
    valid = np.fromiter(map(operator.is_not, values, repeat(None)), bool, len(values))
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def _offsets(lengths: Iterable[int], n: int) -> pa.Buffer:
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.fromiter(lengths, np.int32, n), out=offsets[1:])
    return pa.py_buffer(offsets)


def _strings(values: Sequence[str | None]) -> pa.Array:
    validity, nulls = _validity(values)
    data = [b"" if v is None else v.encode() for v in values]
    offsets = _offsets(map(len, data), len(data))
    return pa.StringArray.from_buffers(
        len(data), offsets, pa.py_buffer(b"".join(data)), validity, nulls
    )


def _string_lists(values: Sequence[list[str] | None]) -> pa.Array:
    validity, nulls = _validity(values)
    lists = [v or () for v in values]
    offsets = _offsets(map(len, lists), len(lists))
    flat = _strings([x for v in lists for x in v])
    return pa.Array.from_buffers(
        pa.list_(pa.string()), len(lists), [validity, offsets], nulls, children=[flat]
    )


def _ints(
    values: Sequence[int | None], type_: pa.DataType, dtype: type[np.integer[Any]]
) -> pa.Array:
    validity, nulls = _validity(values)
    ints = values if not nulls else [0 if v is None else v for v in values]
    data = np.fromiter(ints, dtype, len(values))
    return pa.Array.from_buffers(type_, len(values), [validity, pa.py_buffer(data)], nulls)


def _column(values: Sequence[Any], type_: pa.DataType) -> pa.Array:
    if type_ == pa.string():
        return _strings(values)
    if type_ == pa.date32():  # ISO dates, parsed by Arrow
        return _strings(values).cast(type_)
    if type_ == pa.list_(pa.string()):
        return _string_lists(values)
    if type_ == pa.int8():
        return _ints(values, type_, np.int8)
    return _ints(values, type_, np.int32)


def rows_to_table(rows: list[Row]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    arrays = [_column(values, field.type) for values, field in zip(cols, SCHEMA, strict=True)]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


_SEPARATOR = _strings([";"])[0]  # an Arrow scalar: a Python str would be converted by pa.scalar


def _csv_table(table: pa.Table) -> pa.Table:
    """The CSV's columns: each list joined with ``;``."""
    arrays = []
    for name in COLUMNS:
        col = table.column(name)
        if name in LIST_COLUMNS:
            col = pc.binary_join(col, _SEPARATOR)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=CSV_SCHEMA)


_LEVEL = COLUMNS.index("level")
_BMA_STATUS = COLUMNS.index("bma_status")
_ALERT_RULES = COLUMNS.index("alert_rules")
GAP_COLUMNS = ("failed_checks", "missing_checks", "overdue_monitoring", "never_monitored")


class Summary:
    """Counts by level and by gap, added up row by row."""

    def __init__(self) -> None:
        self.levels: Counter[str] = Counter()
        self.bma_status: Counter[str] = Counter()
        self.failed_checks: Counter[str] = Counter()
        self.missing_checks: Counter[str] = Counter()
        self.overdue_monitoring: Counter[str] = Counter()
        self.never_monitored: Counter[str] = Counter()
        self.alerts: Counter[str] = Counter()
        self.rows = 0
        self._gaps = [(COLUMNS.index(name), getattr(self, name)) for name in GAP_COLUMNS]

    def add(self, row: Row) -> None:
        self.rows += 1
        self.levels[row[_LEVEL]] += 1
        if row[_BMA_STATUS] is not None:
            self.bma_status[row[_BMA_STATUS]] += 1
        for i, counter in self._gaps:
            for gap in row[i]:  # mostly none: a loop costs less than a `Counter.update` call
                counter[gap] += 1
        if row[_ALERT_RULES]:
            self.alerts.update(set(row[_ALERT_RULES]))  # patients, not alerts

    def update(self, other: Summary) -> None:
        """Add the counts of other rows."""
        self.rows += other.rows
        for name in ("levels", "bma_status", *GAP_COLUMNS, "alerts"):
            getattr(self, name).update(getattr(other, name))

    def as_json(self, stats: Stats, problems: list[Problem], as_of: dt.date) -> Json:
        def ordered(c: Counter[str]) -> dict[str, int]:
            return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

        return {
            "as_of": as_of.isoformat(),
            "patients": self.rows,
            "assessed": stats.patients,
            "refused_patients": stats.refused_patients,
            # Issue 22: patients read with some resources refused (listed in problems), and
            # deceased patients left off the worklist.
            "patients_with_refused_resources": stats.partial_patients,
            "deceased_not_listed": stats.deceased,
            "levels": {level: self.levels.get(level, 0) for level in LEVELS_BY_RANK},
            "gaps": {
                "bma_overdue": self.bma_status.get("overdue", 0),
                "bma_due": self.bma_status.get("due", 0),
                "bma_not_started": self.bma_status.get("not_started", 0),
                "failed_checks": ordered(self.failed_checks),
                "missing_checks": ordered(self.missing_checks),
                "overdue_monitoring": ordered(self.overdue_monitoring),
                "never_monitored": ordered(self.never_monitored),
            },
            "bma_status": ordered(self.bma_status),
            "alerts": ordered(self.alerts),
            "lines": stats.lines,
            "corrupt_lines": stats.corrupt_lines,
            "corrupt_files": stats.corrupt_files,
            "resources": {
                rtype: dict(zip(("read", "imported", "skipped", "refused"), c, strict=True))
                for rtype, c in sorted(stats.types.items())
            },
            "resource_count": stats.resources,
            "groups_without_record": stats.groups_without_record,
            "problems": len(problems),
            "first_problems": [p.as_json() for p in problems[:MAX_PROBLEMS_IN_SUMMARY]],
        }


def run_metadata(as_of: dt.date | None) -> dict[str, str]:
    return {
        "as_of": as_of.isoformat() if as_of else "",
        "engine_version": ENGINE_VERSION,
        "rule_set": rule_set_id(),
    }


class WorklistWriter:
    """Parquet + CSV writers fed in batches of rows (already in worklist order). The rows are
    counted into `summary`, unless a summary of them is given (the local engine counts them in its
    workers). `out` is a local folder or a `Location` (any file system); each row also gets the
    run's `as_of`, engine version and rule set, which the Parquet file's metadata repeats
    (``bonemets.as_of``, ``bonemets.engine_version``, ``bonemets.rule_set``)."""

    def __init__(
        self,
        out: Path | Location,
        batch_rows: int = 8192,
        summary: Summary | None = None,
        as_of: dt.date | None = None,
    ) -> None:
        where = out if isinstance(out, Location) else location(str(out))
        if where.local:
            Path(where.path).mkdir(parents=True, exist_ok=True)
        self.out = where
        self.batch_rows = batch_rows
        self.batch: list[Row] = []
        self.summary = Summary() if summary is None else summary
        self._count = summary is None
        meta = run_metadata(as_of)
        self._run = [
            _strings([meta["as_of"] or None]).cast(pa.date32())[0],
            _strings([meta["engine_version"]])[0],
            _strings([meta["rule_set"]])[0],
        ]
        schema = pa.schema([*SCHEMA, *RUN_FIELDS]).with_metadata(
            {f"bonemets.{k}": v for k, v in meta.items()}
        )
        csv_schema = pa.schema([*CSV_SCHEMA, *RUN_FIELDS])
        self._schema, self._csv_schema = schema, csv_schema
        self._csv_sink = output_stream(where, WORKLIST_CSV)
        self.parquet = pq.ParquetWriter(
            where.join(WORKLIST_PARQUET), schema, filesystem=where.fs, compression="zstd"
        )
        self.csv = pacsv.CSVWriter(self._csv_sink, csv_schema)

    def __enter__(self) -> WorklistWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, row: Row) -> None:
        if self._count:
            self.summary.add(row)
        self.batch.append(row)
        if len(self.batch) >= self.batch_rows:
            self.flush()

    def write_all(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.write(row)

    def flush(self) -> None:
        if not self.batch:
            return
        table = rows_to_table(self.batch)
        run = [_repeat(value, len(self.batch)) for value in self._run]
        self.parquet.write_table(pa.Table.from_arrays([*table.columns, *run], schema=self._schema))
        csv = _csv_table(table)
        self.csv.write_table(pa.Table.from_arrays([*csv.columns, *run], schema=self._csv_schema))
        self.batch = []

    def close(self) -> None:
        self.flush()
        self.parquet.close()
        self.csv.close()
        self._csv_sink.close()


def _repeat(value: pa.Scalar, n: int) -> pa.Array:
    """`value` n times, without `pa.array` (which imports pandas)."""
    return pa.repeat(value, n)


def write_problems(out: Location, problems: list[Problem]) -> None:
    write_bytes(out, PROBLEMS_NDJSON, b"".join(orjson.dumps(p.as_json()) + b"\n" for p in problems))


def write_summary(out: Location, summary: Json, extra: Json) -> None:
    data = orjson.dumps({**summary, **extra}, option=orjson.OPT_INDENT_2) + b"\n"
    write_bytes(out, SUMMARY_JSON, data)


_LEVEL_COLOURS = {
    "emergency": "#b2182b",
    "urgent": "#ef8a62",
    "soon": "#fddbc7",
    "routine": "#92c5de",
    "self_care": "#4393c3",
    "error": "#7f7f7f",
}


def draw_chart(summary: Json, path: Path | IO[bytes]) -> Path | IO[bytes]:
    """Two panels: patients by level, and patients by care gap (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = summary["levels"]
    gaps = summary["gaps"]
    gap_items: list[tuple[str, int]] = [
        ("BMA overdue", gaps["bma_overdue"]),
        ("BMA due", gaps["bma_due"]),
        ("BMA not started", gaps["bma_not_started"]),
    ]
    gap_items += [(f"check failed: {k}", v) for k, v in gaps["failed_checks"].items()]
    gap_items += [(f"check missing: {k}", v) for k, v in gaps["missing_checks"].items()]
    gap_items += [(f"overdue: {k}", v) for k, v in gaps["overdue_monitoring"].items()]
    gap_items += [(f"never done: {k}", v) for k, v in gaps["never_monitored"].items()]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1, 1.6]})
    names = list(levels)
    ax1.bar(
        [n.replace("_", " ") for n in names],
        [levels[n] for n in names],
        color=[_LEVEL_COLOURS.get(n, "#999999") for n in names],
        edgecolor="#333333",
        linewidth=0.5,
    )
    for i, n in enumerate(names):
        ax1.annotate(f"{levels[n]:,}", (i, levels[n]), ha="center", va="bottom", fontsize=8)
    ax1.set_title("Patients by level")
    ax1.set_ylabel("Patients")
    ax1.tick_params(axis="x", labelrotation=30)
    ax1.grid(axis="y", alpha=0.3)
    labels = [g[0].replace("_", " ") for g in gap_items][::-1]
    values = [g[1] for g in gap_items][::-1]
    ax2.barh(labels, values, color="#1f77b4")
    ax2.set_title("Patients by care gap")
    ax2.set_xlabel("Patients")
    ax2.tick_params(axis="y", labelsize=8)
    ax2.grid(axis="x", alpha=0.3)
    fig.suptitle(
        f"Population worklist on {summary['as_of']}: {summary['patients']:,} patients "
        f"({summary['refused_patients']:,} refused), {summary['resource_count']:,} resources",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return path
