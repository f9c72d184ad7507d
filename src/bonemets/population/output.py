"""Writing the worklist (Parquet and CSV, with PyArrow), the summary (JSON and a PNG chart) and
the problem list. Rows arrive already in worklist order and are written in batches, so memory does
not grow with the population."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from bonemets.population.patient import COLUMNS, LEVELS_BY_RANK, Problem, Row, Stats

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

WORKLIST_PARQUET = "worklist.parquet"
WORKLIST_CSV = "worklist.csv"
SUMMARY_JSON = "summary.json"
SUMMARY_PNG = "summary.png"
PROBLEMS_NDJSON = "problems.ndjson"
MAX_PROBLEMS_IN_SUMMARY = 20


def rows_to_table(rows: list[Row]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    arrays: list[pa.Array] = []
    for name, values in zip(COLUMNS, cols, strict=True):
        if name == "bma_next_due":
            arrays.append(pa.array(values, pa.string()).cast(pa.date32()))
        else:
            arrays.append(pa.array(values, SCHEMA.field(name).type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _csv_table(table: pa.Table) -> pa.Table:
    arrays = []
    for name in COLUMNS:
        col = table.column(name)
        if name in LIST_COLUMNS:
            col = pa.array([";".join(v) for v in col.to_pylist()], pa.string())
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=CSV_SCHEMA)


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

    def add(self, row: Row) -> None:
        r = dict(zip(COLUMNS, row, strict=True))
        self.rows += 1
        self.levels[r["level"]] += 1
        if r["bma_status"] is not None:
            self.bma_status[r["bma_status"]] += 1
        self.failed_checks.update(r["failed_checks"])
        self.missing_checks.update(r["missing_checks"])
        self.overdue_monitoring.update(r["overdue_monitoring"])
        self.never_monitored.update(r["never_monitored"])
        self.alerts.update(set(r["alert_rules"]))

    def as_json(self, stats: Stats, problems: list[Problem], as_of: dt.date) -> Json:
        def ordered(c: Counter[str]) -> dict[str, int]:
            return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

        return {
            "as_of": as_of.isoformat(),
            "patients": self.rows,
            "assessed": stats.patients,
            "refused_patients": stats.refused_patients,
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
            "resources": {
                rtype: dict(zip(("read", "imported", "skipped", "refused"), c, strict=True))
                for rtype, c in sorted(stats.types.items())
            },
            "resource_count": stats.resources,
            "groups_without_record": stats.groups_without_record,
            "problems": len(problems),
            "first_problems": [p.as_json() for p in problems[:MAX_PROBLEMS_IN_SUMMARY]],
        }


class WorklistWriter:
    """Parquet + CSV writers fed in batches of rows (already in worklist order)."""

    def __init__(self, out: Path, batch_rows: int = 8192) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.batch_rows = batch_rows
        self.batch: list[Row] = []
        self.summary = Summary()
        self.parquet = pq.ParquetWriter(out / WORKLIST_PARQUET, SCHEMA, compression="zstd")
        self.csv = pacsv.CSVWriter(out / WORKLIST_CSV, CSV_SCHEMA)

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
        self.parquet.write_table(table)
        self.csv.write_table(_csv_table(table))
        self.batch = []

    def close(self) -> None:
        self.flush()
        self.parquet.close()
        self.csv.close()


def write_problems(out: Path, problems: list[Problem]) -> None:
    with (out / PROBLEMS_NDJSON).open("wb") as fh:
        for p in problems:
            fh.write(orjson.dumps(p.as_json()) + b"\n")


def write_summary(out: Path, summary: Json, extra: Json) -> Path:
    path = out / SUMMARY_JSON
    path.write_bytes(orjson.dumps({**summary, **extra}, option=orjson.OPT_INDENT_2) + b"\n")
    return path


_LEVEL_COLOURS = {
    "emergency": "#b2182b",
    "urgent": "#ef8a62",
    "soon": "#fddbc7",
    "routine": "#92c5de",
    "self_care": "#4393c3",
    "error": "#7f7f7f",
}


def draw_chart(summary: Json, path: Path) -> Path:
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
