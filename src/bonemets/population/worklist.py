"""`run_worklist(export_dir, as_of, out)`: a Bulk Data export -> the population worklist.

Writes, in folder `out`: ``worklist.parquet`` and ``worklist.csv`` (one row per patient, most
urgent level first, then patient id), ``summary.json`` and ``summary.png`` (counts by level and by
care gap), and ``problems.ndjson`` (corrupt lines with file and line number, refused resources and
patients). Both engines write the same rows.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bonemets.extras import missing_extra_message
from bonemets.population.local import (
    DEFAULT_BUCKET_BYTES,
    DEFAULT_CHUNK_BYTES,
    default_workers,
    merge_runs,
    run_local,
)
from bonemets.population.output import (
    PROBLEMS_NDJSON,
    SUMMARY_JSON,
    SUMMARY_PNG,
    WORKLIST_CSV,
    WORKLIST_PARQUET,
    Summary,
    WorklistWriter,
    draw_chart,
    run_metadata,
    write_problems,
    write_summary,
)
from bonemets.population.patient import Problem, Row, Stats
from bonemets.population.storage import (
    Export,
    Location,
    list_export,
    location,
    make_folder,
    remove_written,
    write_bytes,
)

Json = dict[str, Any]
Engine = Literal["local", "spark"]


@dataclass(slots=True)
class WorklistResult:
    out: Path | str  # a local folder, or the URI written to
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
    export_dir: Path | str,
    as_of: dt.date,
    out: Path | str,
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
    executor_timeout: float | None = None,
    notify: Callable[[str], None] | None = None,
) -> WorklistResult:
    """Assess every patient of the export in `export_dir` on `as_of`; write the results to `out`.

    Both are local paths or URIs (`bonemets.population.storage`). The export is listed (and, on
    Spark, the session started) before anything is written; a run that fails removes what it
    wrote, and the folder if it made it."""
    start = time.perf_counter()
    where = location(str(out))
    extra: Json = {"engine": engine, "export": str(export_dir)}
    stop: Callable[[], None] = lambda: None  # noqa: E731
    local_export: Export | None = None
    spark_files: Any = None
    session: Any = None
    if engine == "local":
        local_export = list_export(str(export_dir))
    else:
        from bonemets.population.spark import list_spark_export, spark_session

        if spark is not None:
            session = spark
        else:
            made = spark_session(master)
            session = made.spark
            stop = session.stop
            if made.note and notify is not None:
                notify(made.note)
            extra["executor_python"] = made.python
        try:
            spark_files = list_spark_export(session, str(export_dir))
        except BaseException:
            stop()
            raise
    try:
        created = make_folder(where)
    except BaseException:
        stop()
        raise
    try:
        result = _run(
            local_export,
            spark_files,
            session,
            as_of,
            where,
            extra,
            engine=engine,
            workers=workers,
            bucket_bytes=bucket_bytes,
            chunk_bytes=chunk_bytes,
            tmp_dir=tmp_dir,
            partitions=partitions,
            show_progress=show_progress,
            executor_timeout=executor_timeout,
            stop=stop,
        )
    except BaseException:
        remove_written(where, list(OUTPUT_FILES), created)
        raise
    if chart:
        try:
            buf = io.BytesIO()
            draw_chart(result.summary, buf)
            write_bytes(where, SUMMARY_PNG, buf.getvalue())
        except ModuleNotFoundError as exc:  # matplotlib: the [sim] extra
            if notify is not None:
                notify(f"summary.png not drawn: {missing_extra_message(exc) or exc}")
    result.seconds = time.perf_counter() - start
    return result


OUTPUT_FILES = (WORKLIST_PARQUET, WORKLIST_CSV, SUMMARY_JSON, PROBLEMS_NDJSON, SUMMARY_PNG)


def _run(
    local_export: Export | None,
    spark_files: Any,
    session: Any,
    as_of: dt.date,
    where: Location,
    extra: Json,
    *,
    engine: Engine,
    workers: int | None,
    bucket_bytes: int,
    chunk_bytes: int,
    tmp_dir: Path | None,
    partitions: int | None,
    show_progress: bool,
    executor_timeout: float | None,
    stop: Callable[[], None],
) -> WorklistResult:
    start = time.perf_counter()
    with (
        _Meter(show_progress) as meter,
        tempfile.TemporaryDirectory(prefix="bonemets-worklist-", dir=tmp_dir) as tmp,
    ):
        rows: Iterator[Row]
        counted: Summary | None = None  # the rows' summary, when known before they are written
        try:
            if local_export is not None:
                n_workers = workers if workers is not None else default_workers()
                local = run_local(
                    local_export,
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
                from bonemets.population.spark import DEFAULT_EXECUTOR_TIMEOUT, run_spark

                meter("start", 0, 0)
                result = run_spark(
                    str(extra["export"]),
                    as_of,
                    session,
                    partitions,
                    executor_timeout=executor_timeout or DEFAULT_EXECUTOR_TIMEOUT,
                    files=spark_files,
                )
                rows, stats, problems = result.rows, result.stats, result.problems
                extra |= {
                    "master": session.sparkContext.master,
                    "partitions": result.partitions,
                    "executors": result.executors,
                }
            with WorklistWriter(where, summary=counted, as_of=as_of) as writer:
                for row in rows:
                    writer.write(row)
        finally:
            stop()
        if engine == "spark":
            meter("assess", writer.summary.rows, stats.resources)
    summary = writer.summary.as_json(stats, problems, as_of)
    write_problems(where, problems)
    seconds = time.perf_counter() - start
    extra |= run_metadata(as_of) | {"seconds": round(seconds, 3)}
    write_summary(where, summary, extra)
    return WorklistResult(
        Path(where.path) if where.local else where.text, summary, problems, seconds
    )


__all__ = ["Engine", "Stats", "WorklistResult", "run_worklist"]
