"""The Spark engine: the same per-patient step (`patient.assess_group`), grouped by Spark.

``spark.read.text`` reads the export's files (plain or gzipped), the light parser (`keys.classify`)
keys each line in the Python workers, Spark groups the lines by patient key, and each partition
runs `assess_group` per patient. Lines that name no patient go through `patient.assess_orphan` in a
first, cheap job (its Medication resources are broadcast to the second). The rows are sorted by
Spark in worklist order and streamed to the driver (`toLocalIterator`), so the driver holds one
partition at a time and writes the same files as the local engine.

Spark's text reader does not number lines: a corrupted line is reported with its file and its
CRC, and the driver finds its line number by reading that file once at the end.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bonemets.population.keys import Corrupt, Keyed, Orphan, classify
from bonemets.population.local import export_files
from bonemets.population.patient import (
    Problem,
    Row,
    Source,
    Stats,
    assess_group,
    assess_orphan,
    corrupt_orphan,
    sort_key,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Json = dict[str, Any]


def spark_session(master: str | None = None, app_name: str = "bonemets-worklist") -> SparkSession:
    """A SparkSession for `master`: ``local[*]`` (every CPU here, the default), ``local[2]``,
    ``spark://host:7077``, ``yarn``, ``k8s://...``."""
    from pyspark.sql import SparkSession

    master = master or "local[*]"

    if master.startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        # Local workers must run this interpreter (the one with bonemets installed), not
        # whatever `python3` is first on PATH. PySpark's RDD functions take their interpreter from
        # this variable alone (`spark.pyspark.python` is not read for them). On a cluster the
        # cluster's setting decides.
        os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _source(file: str, line: bytes) -> Source:
    return Source(file, None, zlib.crc32(line), len(line))


def _lines(rows: Iterable[Any]) -> Iterator[tuple[str, bytes]]:
    for r in rows:
        value: str = r[1]
        if value.strip():
            yield r[0], value.encode()


def _orphans(rows: Iterable[Any]) -> Iterator[tuple[Json | None, list[Problem], Stats]]:
    for file, line in _lines(rows):
        c = classify(line)
        if isinstance(c, Keyed):
            continue
        src = _source(file, line)
        if isinstance(c, Corrupt):
            probs, st = corrupt_orphan(src, c.reason)
            yield None, probs, st
        else:
            assert isinstance(c, Orphan)
            yield assess_orphan(src, c.resource)


def _keyed(rows: Iterable[Any]) -> Iterator[tuple[str, tuple[str, bytes]]]:
    for file, line in _lines(rows):
        fast = classify(line)
        if isinstance(fast, Keyed):
            yield fast.key, (file, line)


@dataclass(slots=True)
class SparkResult:
    rows: Iterator[Row]
    stats: Stats
    problems: list[Problem]
    partitions: int


def run_spark(
    export_dir: Path, as_of: dt.date, spark: SparkSession, partitions: int | None = None
) -> SparkResult:
    """Group and assess with Spark. `rows` must be consumed while `spark` is running."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    files = export_files(export_dir)
    names = {p.name: p.relative_to(export_dir).as_posix() for p in files}
    df = spark.read.text([str(p) for p in files]).select(
        F.col("_metadata.file_name").alias("file"), F.col("value")
    )
    lines = df.rdd.map(lambda r: (names.get(r[0], r[0]), r[1]))
    # Job 1: lines without a patient (Medication, corrupt lines, ...): few, to the driver.
    stats = Stats()
    problems: list[Problem] = []
    meds: dict[str, Json] = {}
    for med, probs, st in lines.mapPartitions(_orphans).collect():
        stats.add(st)
        problems += probs
        if med is not None:
            meds[med["id"]] = med
    meds_bc = spark.sparkContext.broadcast(meds)
    n = partitions or max(2, spark.sparkContext.defaultParallelism * 4)

    def assess_partition(
        groups: Iterable[tuple[str, Iterable[tuple[str, bytes]]]],
    ) -> Iterator[Any]:
        part = Stats()
        part_problems: list[Problem] = []
        for key, items in groups:
            result = assess_group(
                key, [(_source(f, line), line) for f, line in items], meds_bc.value, as_of
            )
            part.add(result.stats)
            part_problems += result.problems
            if result.row is not None:
                yield ("row", result.row)
        yield ("stats", (part, part_problems))

    # Job 2: group by patient, assess each group in the Python workers.
    out = lines.mapPartitions(_keyed).groupByKey(n).mapPartitions(assess_partition)
    out.persist(StorageLevel.MEMORY_AND_DISK)
    for _, (st, probs) in out.filter(lambda x: x[0] == "stats").collect():
        stats.add(st)
        problems += probs
    rows_rdd = out.filter(lambda x: x[0] == "row").map(lambda x: x[1]).sortBy(sort_key, True, n)
    _number_lines(export_dir, problems)
    problems.sort(key=Problem.sort_key)

    def rows() -> Iterator[Row]:
        try:
            for row in rows_rdd.toLocalIterator():
                yield tuple(row)
        finally:
            out.unpersist()
            meds_bc.unpersist()

    return SparkResult(rows(), stats, problems, n)


def _number_lines(export_dir: Path, problems: list[Problem]) -> None:
    """Fill in the line numbers of problems Spark reported by file and CRC."""
    wanted: dict[str, dict[tuple[int, int], list[Problem]]] = {}
    for p in problems:
        if p.file is not None and p.line is None and p.length:
            wanted.setdefault(p.file, {}).setdefault((p.crc, p.length), []).append(p)
    for file, by_crc in wanted.items():
        lengths = {length for _, length in by_crc}
        path = export_dir / file
        opener: Any = gzip.open if path.name.endswith(".gz") else open
        seen: dict[tuple[int, int], int] = {}
        with opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                line = raw.rstrip(b"\r\n")
                if len(line) not in lengths:
                    line = line.decode(errors="replace").encode()  # as Spark decoded it
                    if len(line) not in lengths:
                        continue
                crc = (zlib.crc32(line), len(line))
                waiting = by_crc.get(crc)
                if waiting:
                    i = seen.get(crc, 0)
                    # Identical corrupt lines of one file: each problem gets the next occurrence.
                    for p in waiting[i : i + 1]:
                        p.line = lineno
                    seen[crc] = i + 1
