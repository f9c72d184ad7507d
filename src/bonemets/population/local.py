"""The local engine: a Bulk Data export -> worklist rows on one machine, in bounded memory.

Pass 1 cuts the export into chunks (a plain file at line boundaries, a gzipped file whole) and
streams them in `workers` processes; each line is spilled, tagged with its chunk and its line
number within the chunk, to one of K bucket files chosen by a hash of its patient key
(`keys.classify`). Each worker writes its own set of bucket files, so nothing is shared. Lines
that name no patient are handled there and then (a Medication is kept for the patients that
reference it). Once every chunk is read, chunk line counts give each chunk's first line number.
Pass 2 takes the buckets one at a time (in worker processes when asked), groups each bucket's
lines by patient, runs `patient.assess_group` per patient and writes the bucket's rows, sorted, to a
run file. The runs are then merged in worklist order. K grows with the export, so a bucket (and so
memory) stays about `bucket_bytes` however large the export; a bucket that still comes out too
large is split again with an independent hash.
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

from bonemets.population.keys import (
    Corrupt,
    Keyed,
    Orphan,
    bucket_of,
    classify,
    fast_reference,
    key_of_reference,
)
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

DEFAULT_BUCKET_BYTES = 16 << 20  # small enough that the workers' last buckets end together
DEFAULT_CHUNK_BYTES = 16 << 20
MAX_BUCKETS = 1024
GZIP_RATIO = 8  # uncompressed bytes per gzipped byte, to size the buckets before reading
MAX_SPLIT_DEPTH = 4
KEY_CACHE = 200_000  # reference -> (key, bucket) memo; cleared when full, so memory stays bounded
PROGRESS_EVERY = 50_000

ProgressFn = Callable[[str, int, int], None]  # (phase, lines or patients, resources)


def export_files(folder: Path) -> list[Path]:
    """The ``*.ndjson`` and ``*.ndjson.gz`` files of a Bulk Data export folder, sorted by name."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.endswith((".ndjson", ".ndjson.gz"))
    )


def estimated_bytes(files: list[Path]) -> int:
    return sum(p.stat().st_size * (GZIP_RATIO if p.name.endswith(".gz") else 1) for p in files)


# --- pass 1 ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes [start, end) of file `file` (index into the export's files); end -1: to the end."""

    index: int
    file: int
    start: int
    end: int


def plan_chunks(files: list[Path], chunk_bytes: int) -> list[Chunk]:
    """Cut plain files into chunks of about `chunk_bytes` at line boundaries; a gzipped file is
    one chunk (it cannot be entered in the middle)."""
    chunks: list[Chunk] = []
    for fi, path in enumerate(files):
        size = path.stat().st_size
        if path.name.endswith(".gz") or size <= chunk_bytes:
            chunks.append(Chunk(len(chunks), fi, 0, -1))
            continue
        cuts = [0]
        with path.open("rb") as fh:
            while cuts[-1] + chunk_bytes < size:
                fh.seek(cuts[-1] + chunk_bytes - 1)
                fh.readline()  # to just after the next newline
                if fh.tell() >= size:
                    break
                cuts.append(fh.tell())
        for a, b in zip(cuts, [*cuts[1:], -1], strict=True):
            chunks.append(Chunk(len(chunks), fi, a, b))
    return chunks


def balance(chunks: list[Chunk], files: list[Path], parts: int) -> list[list[Chunk]]:
    """Share chunks between `parts` workers, largest first to the least loaded (by bytes)."""

    def size(c: Chunk) -> int:
        end = c.end if c.end >= 0 else files[c.file].stat().st_size
        return (end - c.start) * (GZIP_RATIO if files[c.file].name.endswith(".gz") else 1)

    loads = [0] * parts
    groups: list[list[Chunk]] = [[] for _ in range(parts)]
    for c in sorted(chunks, key=lambda c: (-size(c), c.index)):
        i = loads.index(min(loads))
        groups[i].append(c)
        loads[i] += size(c)
    return [sorted(g, key=lambda c: c.index) for g in groups if g]


@dataclass(slots=True)
class SpillTask:
    part: int
    chunks: list[Chunk]
    files: list[Path]
    root: Path
    tmp: Path
    n_buckets: int


@dataclass(slots=True)
class SpillResult:
    buckets: list[list[Path]]  # bucket -> its part files (one per spill worker)
    meds: dict[str, Json]
    stats: Stats
    problems: list[Problem]  # `line` relative to the chunk until `number_lines`
    chunk_lines: dict[int, int]
    problem_chunks: list[int]
    chunk_file: list[int] = field(default_factory=list)  # chunk -> file index
    chunk_base: list[int] = field(default_factory=list)  # chunk -> line number before it


def _chunk_lines(path: Path, chunk: Chunk, stack: ExitStack) -> Iterator[bytes]:
    raw = stack.enter_context(path.open("rb", buffering=1 << 20))
    if path.name.endswith(".gz"):
        yield from cast(IO[bytes], stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")))
        return
    raw.seek(chunk.start)
    if chunk.end < 0:
        yield from raw
        return
    left = chunk.end - chunk.start
    for line in raw:
        yield line
        left -= len(line)
        if left <= 0:
            return


_REPORT: Callable[[int], None] | None = None  # lines read, for the progress bar


def _init_spill(report: Callable[[int], None] | None) -> None:
    global _REPORT
    _REPORT = report


class _SharedCounter:
    """Spill workers add the lines they read; the parent shows the total."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, n: int) -> None:
        with self.value.get_lock():
            self.value.value += n


def _json_key(key: str) -> bytes:
    """The key as JSON, in a bytes object of its own size: orjson's result for a short string
    holds a ~4 KB block, which the key memo would keep once per patient."""
    return bytes(memoryview(orjson.dumps(key)))


def spill_part(task: SpillTask) -> SpillResult:
    """Pass 1 for one worker's chunks: every line into this worker's bucket files."""
    stats = Stats()
    problems: list[Problem] = []
    problem_chunks: list[int] = []
    meds: dict[str, Json] = {}
    chunk_lines: dict[int, int] = {}
    n = task.n_buckets
    paths = [task.tmp / f"bucket-{i:04d}.{task.part}" for i in range(n)]
    memo: dict[bytes, tuple[bytes, int]] = {}
    pending = 0
    with ExitStack() as outs:
        writers = [outs.enter_context(p.open("wb", buffering=1 << 16)).write for p in paths]
        for chunk in task.chunks:
            path = task.files[chunk.file]
            name = path.relative_to(task.root).as_posix()
            lineno = 0
            with ExitStack() as stack:
                for raw_line in _chunk_lines(path, chunk, stack):
                    lineno += 1
                    line = raw_line.rstrip(b"\r\n")
                    if not line or line.isspace():
                        continue
                    pending += 1
                    if pending == PROGRESS_EVERY and _REPORT is not None:
                        _REPORT(pending)
                        pending = 0
                    # Most lines: the reference's bytes, remembered with their key and bucket.
                    ref = fast_reference(line)
                    hit = memo.get(ref) if ref is not None else None
                    if hit is None:
                        key = key_of_reference(ref) if ref is not None else None
                        if key is not None:
                            if len(memo) >= KEY_CACHE:
                                memo.clear()
                            hit = memo[cast(bytes, ref)] = (_json_key(key), bucket_of(key, n))
                        else:
                            c = classify(line)
                            if isinstance(c, Keyed):
                                hit = (_json_key(c.key), bucket_of(c.key, n))
                    if hit is not None:
                        writers[hit[1]](b"%s\t%d:%d\t%s\n" % (hit[0], chunk.index, lineno, line))
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
                    problem_chunks += [chunk.index] * len(probs)
            chunk_lines[chunk.index] = lineno
    if pending and _REPORT is not None:
        _REPORT(pending)
    return SpillResult([[p] for p in paths], meds, stats, problems, chunk_lines, problem_chunks)


def first_lines(chunks: list[Chunk], chunk_lines: dict[int, int]) -> list[int]:
    """The line number before each chunk's first line, in its file."""
    base = [0] * len(chunks)
    seen: dict[int, int] = {}
    for c in chunks:  # in file order, then byte order
        base[c.index] = seen.get(c.file, 0)
        seen[c.file] = base[c.index] + chunk_lines[c.index]
    return base


def spill(
    files: list[Path],
    root: Path,
    tmp: Path,
    n_buckets: int,
    progress: ProgressFn | None = None,
    *,
    workers: int = 1,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> SpillResult:
    """Pass 1: every line of `files` into one of `n_buckets` buckets in `tmp`, by patient."""
    chunks = plan_chunks(files, chunk_bytes)
    groups = balance(chunks, files, max(1, workers))
    tasks = [SpillTask(i, g, files, root, tmp, n_buckets) for i, g in enumerate(groups)]
    if len(tasks) <= 1:
        _init_spill(None if progress is None else (lambda n: progress("read", n, 0)))
        try:
            parts = [spill_part(t) for t in tasks]
        finally:
            _init_spill(None)
    else:
        ctx = mp.get_context(_method())
        counter = ctx.Value("q", 0)
        with ctx.Pool(len(tasks), _init_spill, (_SharedCounter(counter),)) as pool:
            pending = pool.map_async(spill_part, tasks)
            shown = 0
            while True:
                pending.wait(0.25)
                if progress is not None and counter.value > shown:
                    progress("read", counter.value - shown, 0)
                    shown = counter.value
                if pending.ready():
                    break
            parts = pending.get()
    merged = SpillResult([[] for _ in range(n_buckets)], {}, Stats(), [], {}, [])
    for part in parts:
        for i, b in enumerate(part.buckets):
            merged.buckets[i] += b
        merged.meds.update(part.meds)
        merged.stats.add(part.stats)
        merged.chunk_lines.update(part.chunk_lines)
        merged.problems += part.problems
        merged.problem_chunks += part.problem_chunks
    merged.chunk_file = [c.file for c in chunks]
    merged.chunk_base = base = first_lines(chunks, merged.chunk_lines)
    for problem, ci in zip(merged.problems, merged.problem_chunks, strict=True):
        if problem.line is not None:
            problem.line += base[ci]
    return merged


# --- pass 2 ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    names: list[str]
    chunk_file: list[int]
    chunk_base: list[int]
    meds: dict[str, Json]
    as_of: dt.date
    bucket_bytes: int

    def source(self, tag: bytes) -> Source:
        """The file and line of a spilled line's ``chunk:line`` tag."""
        chunk, _, line = tag.partition(b":")
        c = int(chunk)
        return Source(self.names[self.chunk_file[c]], self.chunk_base[c] + int(line))


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


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def _resplit(paths: list[Path], parts: int, salt: int) -> list[list[Path]]:
    first = paths[0]
    outs = [first.with_name(f"{first.name}.{salt}-{i:03d}") for i in range(parts)]
    with ExitStack() as stack:
        writers = [stack.enter_context(p.open("wb", buffering=1 << 16)) for p in outs]
        for path in paths:
            with path.open("rb") as fh:
                for line in fh:
                    key = orjson.loads(line.split(b"\t", 1)[0])
                    writers[bucket_of(key, parts, salt)].write(line)
            path.unlink()
    return [[p] for p in outs]


def _bucket_rows(
    paths: list[Path], ctx: _Context, depth: int, out: BucketResult, rows: list[Row]
) -> None:
    size = _size(paths)
    if size > 2 * ctx.bucket_bytes and depth < MAX_SPLIT_DEPTH:
        parts = _resplit(paths, math.ceil(size / ctx.bucket_bytes), depth + 1)
        if sum(1 for p in parts if _size(p)) > 1:  # one huge patient cannot be split
            for part in parts:
                _bucket_rows(part, ctx, depth + 1, out, rows)
            return
        paths = next(p for p in parts if _size(p))
    groups: dict[bytes, list[tuple[bytes, bytes]]] = {}
    for path in paths:
        with path.open("rb") as fh:
            for raw in fh:
                key, tag, line = raw.rstrip(b"\n").split(b"\t", 2)
                group = groups.get(key)
                if group is None:
                    groups[key] = [(tag, line)]
                else:
                    group.append((tag, line))
        path.unlink()
    for key in sorted(groups):
        result = assess_group(
            orjson.loads(key), groups.pop(key), ctx.meds, ctx.as_of, source=ctx.source
        )
        out.stats.add(result.stats)
        out.problems += result.problems
        if result.row is not None:
            rows.append(result.row)


def process_bucket(paths: list[Path]) -> BucketResult:
    """Pass 2 for one bucket (its part files): its patients' rows, sorted, in a run file."""
    ctx = _CTX
    assert ctx is not None
    run = paths[0].with_name(paths[0].name.split(".")[0] + ".run")
    out = BucketResult(run, 0, Stats())
    rows: list[Row] = []
    if _size(paths):
        _bucket_rows(paths, ctx, 0, out, rows)
    else:
        for p in paths:
            p.unlink()
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


def _method() -> str:
    return "fork" if sys.platform.startswith("linux") else "spawn"


def run_local(
    export_dir: Path,
    as_of: dt.date,
    tmp: Path,
    *,
    workers: int = 2,
    bucket_bytes: int = DEFAULT_BUCKET_BYTES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: ProgressFn | None = None,
) -> LocalResult:
    """Both passes; the caller merges `runs` (in `tmp`) with `merge_runs`."""
    files = export_files(export_dir)
    n_buckets = max(1, min(MAX_BUCKETS, math.ceil(estimated_bytes(files) / bucket_bytes)))
    spilled = spill(
        files, export_dir, tmp, n_buckets, progress, workers=workers, chunk_bytes=chunk_bytes
    )
    names = [p.relative_to(export_dir).as_posix() for p in files]
    ctx = _Context(names, spilled.chunk_file, spilled.chunk_base, spilled.meds, as_of, bucket_bytes)
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
        for paths in spilled.buckets:
            collect(process_bucket(paths))
    else:
        with mp.get_context(_method()).Pool(workers, _init_worker, (ctx,)) as pool:
            for res in pool.imap_unordered(process_bucket, spilled.buckets):
                collect(res)
    runs.sort()
    problems.sort(key=Problem.sort_key)
    return LocalResult(runs, stats, problems, n_buckets)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))
