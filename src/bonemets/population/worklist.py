"""`run_worklist(export_dir, as_of, out)`: a Bulk Data export -> the population worklist.

Writes, in folder `out`: ``worklist.parquet`` and ``worklist.csv`` (one row per patient, most
urgent level first, then patient id), ``summary.json`` and ``summary.png`` (counts by level and by
care gap), and ``problems.ndjson`` (corrupt lines with file and line number, refused resources and
patients). Both engines write the same rows.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bonemets.population.local import (
    DEFAULT_BUCKET_BYTES,
    DEFAULT_CHUNK_BYTES,
    default_workers,
    export_files,
    merge_runs,
    run_local,
)
from bonemets.population.output import (
    SUMMARY_PNG,
    Summary,
    WorklistWriter,
    draw_chart,
    write_problems,
    write_summary,
)
from bonemets.population.patient import Problem, Row, Stats

Json = dict[str, Any]
Engine = Literal["local", "spark"]


@dataclass(slots=True)
class WorklistResult:
    out: Path
    summary: Json
    problems: list[Problem]
    seconds: float


class _Meter:
    """Progress: resources and patients per second, on a rich progress bar (or nowhere)."""

    def __init__(self, show: bool, total_patients: int | None = None) -> None:
        self.show = show
        self.start = time.perf_counter()
        self.lines = 0
        self.patients = 0
        self.resources = 0
        self.progress: Any = None
        self.assess_start = self.start
        if show:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            from bonemets.faces.cli.common import err_console

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[rates]}"),
                TimeElapsedColumn(),
                console=err_console,
                transient=False,
            )
            self.read = self.progress.add_task("reading", total=None, rates="")
            self.assess = self.progress.add_task("assessing", total=None, rates="", start=False)

    def __enter__(self) -> _Meter:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, phase: str, count: int, resources: int) -> None:
        if self.progress is None:
            return
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        if phase == "read":
            self.lines += count
            self.progress.update(
                self.read,
                completed=self.lines,
                rates=f"{self.lines:,} lines, {self.lines / elapsed:,.0f} resources/s",
            )
        elif phase == "start":
            self.progress.update(self.read, total=self.lines, completed=self.lines)
            self.progress.start_task(self.assess)
            self.assess_start = time.perf_counter()
        else:
            self.patients += count
            self.resources += resources
            t = max(time.perf_counter() - self.assess_start, 1e-9)
            self.progress.update(
                self.assess,
                completed=self.patients,
                rates=(
                    f"{self.patients:,} patients, {self.patients / t:,.0f} patients/s, "
                    f"{self.resources / t:,.0f} resources/s"
                ),
            )


def run_worklist(
    export_dir: Path,
    as_of: dt.date,
    out: Path,
    *,
    engine: Engine = "local",
    workers: int | None = None,
    bucket_bytes: int = DEFAULT_BUCKET_BYTES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    master: str | None = None,
    spark: Any = None,
    tmp_dir: Path | None = None,
    partitions: int | None = None,
    show_progress: bool = False,
    chart: bool = True,
) -> WorklistResult:
    """Assess every patient of the export in `export_dir` on `as_of`; write the results to `out`."""
    start = time.perf_counter()
    if not export_files(export_dir):
        raise FileNotFoundError(f"{export_dir} holds no *.ndjson or *.ndjson.gz files")
    out.mkdir(parents=True, exist_ok=True)
    extra: Json = {"engine": engine, "export": str(export_dir)}
    with (
        _Meter(show_progress) as meter,
        tempfile.TemporaryDirectory(prefix="bonemets-worklist-", dir=tmp_dir) as tmp,
    ):
        rows: Iterator[Row]
        counted: Summary | None = None  # the rows' summary, when known before they are written
        stop: Callable[[], None] = lambda: None  # noqa: E731
        if engine == "local":
            n_workers = workers if workers is not None else default_workers()
            local = run_local(
                export_dir,
                as_of,
                Path(tmp),
                workers=n_workers,
                bucket_bytes=bucket_bytes,
                chunk_bytes=chunk_bytes,
                progress=meter,
            )
            rows, stats, problems = merge_runs(local.runs), local.stats, local.problems
            counted = local.summary
            extra |= {"buckets": local.buckets, "workers": n_workers}
        else:
            from bonemets.population.spark import run_spark, spark_session

            session = spark if spark is not None else spark_session(master)
            if spark is None:
                stop = session.stop
            meter("start", 0, 0)
            result = run_spark(export_dir, as_of, session, partitions)
            rows, stats, problems = result.rows, result.stats, result.problems
            extra |= {"master": session.sparkContext.master, "partitions": result.partitions}
        try:
            with WorklistWriter(out, summary=counted) as writer:
                for row in rows:
                    writer.write(row)
        finally:
            stop()
        if engine == "spark":
            meter("assess", writer.summary.rows, stats.resources)
    summary = writer.summary.as_json(stats, problems, as_of)
    write_problems(out, problems)
    seconds = time.perf_counter() - start
    extra["seconds"] = round(seconds, 3)
    write_summary(out, summary, extra)
    if chart:
        draw_chart(summary, out / SUMMARY_PNG)
    return WorklistResult(out, summary, problems, seconds)


__all__ = ["Engine", "Stats", "WorklistResult", "run_worklist"]
