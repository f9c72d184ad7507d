"""The local engine: a Bulk Data export -> worklist rows on one machine, in bounded memory.

Pass 1 streams every line once and spills it, tagged with its file and line number, to one of K
bucket files chosen by a hash of its patient key (`keys.classify`), in a temporary folder. Lines
that name no patient are handled there and then (a Medication is kept for the patients that
reference it). Pass 2 takes the buckets one at a time (in worker processes when asked), groups each
bucket's lines by patient, runs `patient.assess_group` per patient and writes the bucket's rows,
sorted, to a run file. The runs are then merged in worklist order. K grows with the export, so a
bucket (and so memory) stays about `bucket_bytes` however large the export; a bucket that still
comes out too large is split again with an independent hash.
"""

from __future__ import annotations

import datetime as dt
import gzip
import heapq
import math
import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import orjson

from bonemets.population.keys import Corrupt, Keyed, Orphan, bucket_of, classify
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

Json = dict[str, Any]

DEFAULT_BUCKET_BYTES = 32 << 20
MAX_BUCKETS = 1024
GZIP_RATIO = 8  # uncompressed bytes per gzipped byte, to size the buckets before reading
MAX_SPLIT_DEPTH = 4

ProgressFn = Callable[[str, int, int], None]  # (phase, lines or patients, resources)


def export_files(folder: Path) -> list[Path]:
    """The ``*.ndjson`` and ``*.ndjson.gz`` files of a Bulk Data export folder, sorted by name."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.endswith((".ndjson", ".ndjson.gz"))
    )


def estimated_bytes(files: list[Path]) -> int:
    return sum(p.stat().st_size * (GZIP_RATIO if p.name.endswith(".gz") else 1) for p in files)


@dataclass(slots=True)
class SpillResult:
    buckets: list[Path]
    meds: dict[str, Json]
    stats: Stats
    problems: list[Problem]


def _open_lines(path: Path, stack: ExitStack) -> tuple[IO[bytes], IO[bytes]]:
    """(line reader, raw file): the raw file's position tells how far a gzip file is read."""
    raw = stack.enter_context(path.open("rb", buffering=1 << 20))
    if path.name.endswith(".gz"):
        return cast(IO[bytes], stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))), raw
    return raw, raw


def spill(
    files: list[Path],
    root: Path,
    tmp: Path,
    n_buckets: int,
    progress: ProgressFn | None = None,
) -> SpillResult:
    """Pass 1: every line of `files` into one of `n_buckets` files in `tmp`, by patient."""
    stats = Stats()
    problems: list[Problem] = []
    meds: dict[str, Json] = {}
    paths = [tmp / f"bucket-{i:04d}" for i in range(n_buckets)]
    with ExitStack() as outs:
        writers = [outs.enter_context(p.open("wb", buffering=1 << 16)) for p in paths]
        for fi, path in enumerate(files):
            name = path.relative_to(root).as_posix()
            done = 0
            with ExitStack() as stack:
                reader, _raw = _open_lines(path, stack)
                for lineno, raw_line in enumerate(reader, 1):
                    line = raw_line.rstrip(b"\r\n")
                    if not line.strip():
                        continue
                    done += 1
                    if done == 50_000:
                        if progress is not None:
                            progress("read", done, 0)
                        done = 0
                    c = classify(line)
                    if isinstance(c, Keyed):
                        writers[bucket_of(c.key, n_buckets)].write(
                            b"%d\t%d\t%s\t%s\n" % (fi, lineno, orjson.dumps(c.key), line)
                        )
                        continue
                    src = Source(name, lineno)
                    if isinstance(c, Corrupt):
                        probs, st = corrupt_orphan(src, c.reason)
                    else:
                        assert isinstance(c, Orphan)
                        med, probs, st = assess_orphan(src, c.resource)
                        if med is not None:
                            meds[med["id"]] = med
                    stats.add(st)
                    problems += probs
            if progress is not None and done:
                progress("read", done, 0)
    return SpillResult(paths, meds, stats, problems)


# --- pass 2 ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    names: list[str]
    meds: dict[str, Json]
    as_of: dt.date
    bucket_bytes: int


_CTX: _Context | None = None


def _init_worker(ctx: _Context) -> None:
    global _CTX
    _CTX = ctx


@dataclass(slots=True)
class BucketResult:
    run: Path
    rows: int
    stats: Stats
    problems: list[Problem] = field(default_factory=list)


def _resplit(path: Path, parts: int, salt: int) -> list[Path]:
    outs = [path.with_name(f"{path.name}.{salt}-{i:03d}") for i in range(parts)]
    with ExitStack() as stack:
        writers = [stack.enter_context(p.open("wb", buffering=1 << 16)) for p in outs]
        with path.open("rb") as fh:
            for line in fh:
                key = orjson.loads(line.split(b"\t", 3)[2])
                writers[bucket_of(key, parts, salt)].write(line)
    path.unlink()
    return outs


def _bucket_rows(path: Path, ctx: _Context, depth: int, out: BucketResult, rows: list[Row]) -> None:
    size = path.stat().st_size
    if size > 2 * ctx.bucket_bytes and depth < MAX_SPLIT_DEPTH:
        parts = _resplit(path, math.ceil(size / ctx.bucket_bytes), depth + 1)
        if sum(1 for p in parts if p.stat().st_size) > 1:  # one huge patient cannot be split
            for part in parts:
                _bucket_rows(part, ctx, depth + 1, out, rows)
            return
        path = next(p for p in parts if p.stat().st_size)
    groups: dict[bytes, list[tuple[Source, bytes]]] = {}
    with path.open("rb") as fh:
        for raw in fh:
            fi, lineno, key, line = raw.rstrip(b"\n").split(b"\t", 3)
            groups.setdefault(key, []).append((Source(ctx.names[int(fi)], int(lineno)), line))
    path.unlink()
    for key in sorted(groups):
        result = assess_group(orjson.loads(key), groups.pop(key), ctx.meds, ctx.as_of)
        out.stats.add(result.stats)
        out.problems += result.problems
        if result.row is not None:
            rows.append(result.row)


def process_bucket(path: Path) -> BucketResult:
    """Pass 2 for one bucket: its patients' rows, sorted, in a run file next to it."""
    ctx = _CTX
    assert ctx is not None
    run = path.with_name(path.name + ".run")
    out = BucketResult(run, 0, Stats())
    rows: list[Row] = []
    if path.stat().st_size:
        _bucket_rows(path, ctx, 0, out, rows)
    else:
        path.unlink()
    rows.sort(key=sort_key)
    with run.open("wb") as fh:
        for row in rows:
            fh.write(orjson.dumps(row) + b"\n")
    out.rows = len(rows)
    return out


def _read_run(path: Path) -> Iterator[Row]:
    with path.open("rb") as fh:
        for line in fh:
            yield tuple(orjson.loads(line))


def merge_runs(runs: list[Path]) -> Iterator[Row]:
    """The rows of all runs, in worklist order (a k-way merge: one row per run in memory)."""
    return heapq.merge(*(_read_run(p) for p in runs), key=sort_key)


@dataclass(slots=True)
class LocalResult:
    runs: list[Path]
    stats: Stats
    problems: list[Problem]
    buckets: int


def run_local(
    export_dir: Path,
    as_of: dt.date,
    tmp: Path,
    *,
    workers: int = 2,
    bucket_bytes: int = DEFAULT_BUCKET_BYTES,
    progress: ProgressFn | None = None,
) -> LocalResult:
    """Both passes; the caller merges `runs` (in `tmp`) with `merge_runs`."""
    files = export_files(export_dir)
    n_buckets = max(1, min(MAX_BUCKETS, math.ceil(estimated_bytes(files) / bucket_bytes)))
    spilled = spill(files, export_dir, tmp, n_buckets, progress)
    names = [p.relative_to(export_dir).as_posix() for p in files]
    ctx = _Context(names, spilled.meds, as_of, bucket_bytes)
    stats, problems = spilled.stats, spilled.problems
    runs: list[Path] = []
    if progress is not None:
        progress("start", 0, 0)

    def collect(res: BucketResult) -> None:
        stats.add(res.stats)
        problems.extend(res.problems)
        runs.append(res.run)
        if progress is not None:
            progress("assess", res.rows, res.stats.resources)

    if workers <= 1:
        _init_worker(ctx)
        for path in spilled.buckets:
            collect(process_bucket(path))
    else:
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        with mp.get_context(method).Pool(workers, _init_worker, (ctx,)) as pool:
            for res in pool.imap_unordered(process_bucket, spilled.buckets):
                collect(res)
    runs.sort()
    problems.sort(key=Problem.sort_key)
    return LocalResult(runs, stats, problems, n_buckets)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))
