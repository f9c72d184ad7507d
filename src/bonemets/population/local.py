"""The local engine: a Bulk Data export -> worklist rows on one machine, in bounded memory.

Pass 1 cuts the export into chunks (a plain file at line boundaries, a gzipped file whole) and
streams them in `workers` processes; each line is spilled, tagged with its chunk and its line
number within the chunk, to one of K bucket files chosen by a hash of its patient key
(`keys.fast_reference`, else `keys.parse_classify`), in LZ4-compressed frames (`SpillWriter`).
Each worker writes its own set of bucket files, so nothing is shared. Lines that name no patient
are handled there and then (a Medication is kept for the patients that reference it). Once every
chunk is read, chunk line counts give each chunk's first line number.
Pass 2 takes the buckets one at a time (in worker processes when asked), groups each bucket's
lines by patient, runs `patient.assess_group` per patient and writes the bucket's rows, sorted, to a
run file. The runs are then merged in worklist order. K grows with the export, so a bucket (and so
memory) stays about `bucket_bytes` however large the export; a bucket that still comes out too
large is split again with an independent hash.
"""

from __future__ import annotations

import datetime as dt
import gc
import heapq
import io
import math
import multiprocessing as mp
import os
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from bonemets.population.keys import (
    Corrupt,
    Keyed,
    Orphan,
    bucket_of,
    fast_reference,
    key_of_reference,
    parse_classify,
)
from bonemets.population.output import Summary
from bonemets.population.patient import (
    Problem,
    Row,
    Source,
    Stats,
    assess_group,
    assess_orphan,
    corrupt_file,
    corrupt_orphan,
    sort_key,
)
from bonemets.population.storage import CorruptFile, Export, ExportFile, gz_blocks, list_export

Json = dict[str, Any]

DEFAULT_BUCKET_BYTES = 16 << 20  # small enough that the workers' last buckets end together
DEFAULT_CHUNK_BYTES = 16 << 20
MAX_BUCKETS = 1024
GZIP_RATIO = 8  # uncompressed bytes per gzipped byte, to size the buckets before reading
MAX_SPLIT_DEPTH = 4
KEY_CACHE = 200_000  # reference -> (key, bucket) memo; cleared when full, so memory stays bounded
PROGRESS_EVERY = 50_000
READ_BYTES = 1 << 20  # pass 1 reads and splits the export this much at a time
FRAME_BYTES = 1 << 16  # a bucket's buffer in pass 1: records compressed together (`SpillWriter`)
_FRAME = struct.Struct("<II")  # a frame's header: its records' size, then its compressed size
_CODEC = pa.Codec("lz4_raw")
WORKER_GC_THRESHOLD = 50_000  # a worker's first-generation threshold (CPython's default: 700)
FD_RESERVE = 64  # open files kept free for all but the bucket files (export, pipes, run files)

ProgressFn = Callable[[str, int, int], None]  # (phase, lines or patients, resources)


def export_files(folder: Path | str) -> list[ExportFile]:
    """The ``*.ndjson`` and ``*.ndjson.gz`` files of a Bulk Data export folder (a local path or a
    URI), sorted by name."""
    return list(list_export(str(folder)).files)


def estimated_bytes(files: Iterable[ExportFile]) -> int:
    return sum(f.size * (GZIP_RATIO if f.gz else 1) for f in files)


def open_file_budget(wanted: int) -> int:
    """How many bucket files a process may hold open at once, at most `wanted`.

    Each spill worker holds all its bucket files open, and the merge all the run files. Linux's
    usual soft limit on open files (1,024) is below `MAX_BUCKETS` plus what a process holds
    already, so the soft limit is first raised towards the hard one (worker processes inherit
    it). Where even the hard limit is lower, fewer buckets are used: each comes out larger, and
    pass 2 splits it again (`_resplit`), so memory per bucket stays the same."""
    try:
        import resource
    except ImportError:  # not POSIX: no limit to read
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < need:
        raised = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return min(wanted, max(2, soft - FD_RESERVE))  # two at least: a split must make progress


# --- pass 1 ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes [start, end) of file `file` (index into the export's files); end -1: to the end."""

    index: int
    file: int
    start: int
    end: int


def plan_chunks(export: Export, chunk_bytes: int) -> list[Chunk]:
    """Cut plain files into chunks of about `chunk_bytes` at line boundaries; a gzipped file is
    one chunk (it cannot be entered in the middle)."""
    chunks: list[Chunk] = []
    for fi, f in enumerate(export.files):
        size = f.size
        if f.gz or size <= chunk_bytes:
            chunks.append(Chunk(len(chunks), fi, 0, -1))
            continue
        cuts = [0]
        with export.open(f, buffering=1 << 16) as fh:
            while cuts[-1] + chunk_bytes < size:
                fh.seek(cuts[-1] + chunk_bytes - 1)
                fh.readline()  # to just after the next newline
                if fh.tell() >= size:
                    break
                cuts.append(fh.tell())
        for a, b in zip(cuts, [*cuts[1:], -1], strict=True):
            chunks.append(Chunk(len(chunks), fi, a, b))
    return chunks


def balance(chunks: list[Chunk], files: tuple[ExportFile, ...], parts: int) -> list[list[Chunk]]:
    """Share chunks between `parts` workers, largest first to the least loaded (by bytes)."""

    def size(c: Chunk) -> int:
        end = c.end if c.end >= 0 else files[c.file].size
        return (end - c.start) * (GZIP_RATIO if files[c.file].gz else 1)

    loads = [0] * parts
    groups: list[list[Chunk]] = [[] for _ in range(parts)]
    for c in sorted(chunks, key=lambda c: (-size(c), c.index)):
        i = loads.index(min(loads))
        groups[i].append(c)
        loads[i] += size(c)
    return [sorted(g, key=lambda c: c.index) for g in groups if g]


@dataclass(slots=True)
class Bucket:
    """A bucket's files (one per spill worker) and the size of their records, uncompressed: what
    pass 2 holds in memory to group them."""

    paths: list[Path]
    size: int = 0


class _Frames(io.RawIOBase):
    """A bucket file as a raw stream: each write is stored as a frame, LZ4-compressed, after a
    header of its two sizes (`_FRAME`)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self.size = 0  # bytes written, uncompressed

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        stored = _CODEC.compress(data, asbytes=True)
        self._file.write(_FRAME.pack(n, len(stored)) + stored)
        self.size += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


class SpillWriter:
    """Spilled records (``key\\tchunk:line\\tline\\n``) into bucket files, compressed.

    `writes[b]` writes a record to bucket b's `BufferedWriter` of `FRAME_BYTES`, which hands its
    records on as frames (`_Frames`): a fixed buffer a bucket, as without compression, and each
    record copied once. NDJSON compresses five- to eightfold at ~1 GB/s, and the spill, otherwise
    as large as the export, costs that much less writing, reading back, page cache and disk: on a
    100,000-patient export, 0.37 instead of 3.1 GB, and a quarter of the system time."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._frames: list[_Frames] = []
        self.writes: list[Callable[[bytes], int]] = []
        with ExitStack() as stack:
            for path in paths:
                self._frames.append(stack.enter_context(_Frames(path)))
                buffer = stack.enter_context(io.BufferedWriter(self._frames[-1], FRAME_BYTES))
                self.writes.append(buffer.write)
            self._stack = stack.pop_all()

    def buckets(self) -> list[Bucket]:
        """The buckets written, once closed."""
        return [Bucket([p], f.size) for p, f in zip(self.paths, self._frames, strict=True)]

    def __enter__(self) -> SpillWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def _lines(blocks: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The lines (each with its ``\\n``, bar a last one without) of the bytes given in `blocks`, a
    block's worth at a time: `BytesIO.readlines` (memchr, no copy of the block) costs less than a
    `readline` a line, and the caller's loop over a list less than over a generator."""
    tail: list[bytes] = []  # the unfinished last line of the blocks so far
    for data in blocks:
        end = data.rfind(b"\n") + 1
        if not end:  # a line longer than a block
            tail.append(data)
            continue
        lines = io.BytesIO(data).readlines(end)  # the lines that end by `end`
        if tail:
            lines[0] = b"".join([*tail, lines[0]])
        tail = [data[end:]] if end < len(data) else []
        yield lines
    if tail:
        yield [b"".join(tail)]


def _frames(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while header := fh.read(_FRAME.size):
            size, stored = _FRAME.unpack(header)
            yield _CODEC.decompress(fh.read(stored), size, asbytes=True)


def spilled_records(path: Path) -> Iterator[list[bytes]]:
    """The records of a bucket file (each with its ``\\n``), a frame or so at a time."""
    return _lines(_frames(path))


@dataclass(slots=True)
class SpillTask:
    part: int
    chunks: list[Chunk]
    export: Export
    tmp: Path
    n_buckets: int


@dataclass(slots=True)
class SpillResult:
    buckets: list[Bucket]
    meds: dict[str, Json]
    stats: Stats
    problems: list[Problem]  # `line` relative to the chunk until `number_lines`
    chunk_lines: dict[int, int]
    problem_chunks: list[int]
    chunk_file: list[int] = field(default_factory=list)  # chunk -> file index
    chunk_base: list[int] = field(default_factory=list)  # chunk -> line number before it


def _chunk_reads(export: Export, chunk: Chunk) -> Iterator[bytes]:
    """The chunk's bytes, `READ_BYTES` at a time; `CorruptFile` where a gzip stream breaks."""
    f = export.files[chunk.file]
    with export.open(f) as fh:
        left = -1  # bytes of the chunk still to read; -1: to the end of the file
        if f.gz:
            yield from gz_blocks(fh, READ_BYTES)
            return
        else:
            fh.seek(chunk.start)
            if chunk.end >= 0:
                left = chunk.end - chunk.start
        while left != 0:
            data = fh.read(READ_BYTES if left < 0 else min(READ_BYTES, left))
            if not data:
                return
            if left > 0:
                left -= len(data)
            yield data


_REPORT: Callable[[int], None] | None = None  # lines read, for the progress bar


def _init_spill(report: Callable[[int], None] | None) -> None:
    global _REPORT
    _REPORT = report


def _tune_gc() -> None:
    """In a worker process, before it starts: collect garbage less often and never look again at
    what the worker inherited. A collection walks every tracked object of its generations, and a
    bucket's grouping alone makes tens of thousands of tuples that are not garbage; this cuts pass
    2's collection time from ~65 to under 10 us a patient (6-9% of its CPU time).

    Safe: `gc.freeze` only exempts the objects alive now (modules, tables, the context: all kept
    until the worker exits) from collection, so nothing collectable is lost, and it spares their
    pages the copy-on-write a collection's bookkeeping would cause. Reference counting still frees
    almost everything; reference cycles made later are still collected, after at most
    `WORKER_GC_THRESHOLD` new container objects rather than 700."""
    gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


@contextmanager
def _tuned_gc() -> Iterator[None]:
    """`_tune_gc` while the engine runs in this process (one worker), then as it was: what was
    frozen can be collected again. A process that froze objects itself keeps them frozen: only
    the threshold is changed then."""
    before = gc.get_threshold()
    frozen_here = gc.get_freeze_count() == 0
    if frozen_here:
        gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if frozen_here:
            gc.unfreeze()


def _spill_worker(report: Callable[[int], None]) -> None:
    _tune_gc()
    _init_spill(report)


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


def _key_line(
    line: bytes, ref: bytes | None, memo: dict[bytes, tuple[bytes, int]], n: int
) -> tuple[bytes, int] | Orphan | Corrupt:
    """A line the memo did not know: its JSON key and bucket (remembered when they came from its
    reference), or what it is when it belongs to no patient."""
    key = key_of_reference(ref) if ref is not None else None
    if ref is not None and key is not None:
        if len(memo) >= KEY_CACHE:
            memo.clear()
        hit = memo[ref] = (_json_key(key), bucket_of(key, n))
        return hit
    c = parse_classify(line)
    if isinstance(c, Keyed):
        return _json_key(c.key), bucket_of(c.key, n)
    return c


def _orphan(out: SpillResult, src: Source, chunk: int, c: Orphan | Corrupt) -> None:
    """A line of no patient, dealt with in pass 1 (a Medication is kept for pass 2)."""
    if isinstance(c, Corrupt):
        probs, st = corrupt_orphan(src, c.reason)
    else:
        med, probs, st = assess_orphan(src, c.resource)
        if med is not None:
            out.meds[med["id"]] = med
    out.stats.add(st)
    out.problems += probs
    out.problem_chunks += [chunk] * len(probs)


def _file_problem(out: SpillResult, name: str, lines: int, reason: str, chunk: int) -> None:
    problem, stats = corrupt_file(name, lines, reason)
    out.stats.add(stats)
    out.problems.append(problem)
    out.problem_chunks.append(chunk)


def spill_part(task: SpillTask) -> SpillResult:
    """Pass 1 for one worker's chunks: every line into this worker's bucket files."""
    n = task.n_buckets
    paths = [task.tmp / f"bucket-{i:04d}.{task.part}" for i in range(n)]
    out = SpillResult([], {}, Stats(), [], {}, [])
    memo: dict[bytes, tuple[bytes, int]] = {}  # reference -> (JSON key, bucket)
    unreported = 0
    with SpillWriter(paths) as spill:
        writes = spill.writes
        for chunk in task.chunks:
            name = task.export.files[chunk.file].name
            tag = b"\t%d:" % chunk.index
            lineno = 0
            try:
                for lines in _lines(_chunk_reads(task.export, chunk)):
                    for line in lines:  # each with its end: the line proper is line.rstrip(b"\r\n")
                        lineno += 1
                        if line.isspace():
                            continue
                        # Most lines: the reference's bytes (the same with or without the line end),
                        # remembered with their key and bucket.
                        ref = fast_reference(line)
                        hit = memo.get(ref) if ref is not None else None
                        if hit is None:
                            found = _key_line(line.rstrip(b"\r\n"), ref, memo, n)
                            if not isinstance(found, tuple):
                                _orphan(out, Source(name, lineno), chunk.index, found)
                                continue
                            hit = found
                        if line[-1] != 10 or line[-2] == 13:  # spilled lines end with one b"\n"
                            line = line.rstrip(b"\r\n") + b"\n"
                        writes[hit[1]](b"%s%s%d\t%s" % (hit[0], tag, lineno, line))
                    unreported += len(lines)
                    if unreported >= PROGRESS_EVERY and _REPORT is not None:
                        _REPORT(unreported)
                        unreported = 0
            except CorruptFile as exc:
                # The file's lines so far are kept; the rest of it is a problem of the file.
                _file_problem(out, name, lineno, str(exc), chunk.index)
            out.chunk_lines[chunk.index] = lineno
    if unreported and _REPORT is not None:
        _REPORT(unreported)
    out.buckets = spill.buckets()
    return out


def first_lines(chunks: list[Chunk], chunk_lines: dict[int, int]) -> list[int]:
    """The line number before each chunk's first line, in its file."""
    base = [0] * len(chunks)
    seen: dict[int, int] = {}
    for c in chunks:  # in file order, then byte order
        base[c.index] = seen.get(c.file, 0)
        seen[c.file] = base[c.index] + chunk_lines[c.index]
    return base


def spill(
    export: Export,
    tmp: Path,
    n_buckets: int,
    progress: ProgressFn | None = None,
    *,
    workers: int = 1,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> SpillResult:
    """Pass 1: every line of the export into one of `n_buckets` buckets in `tmp`, by patient."""
    chunks = plan_chunks(export, chunk_bytes)
    groups = balance(chunks, export.files, max(1, workers))
    tasks = [SpillTask(i, g, export, tmp, n_buckets) for i, g in enumerate(groups)]
    if len(tasks) <= 1:
        _init_spill(None if progress is None else (lambda n: progress("read", n, 0)))
        try:
            with _tuned_gc():
                parts = [spill_part(t) for t in tasks]
        finally:
            _init_spill(None)
    else:
        ctx = mp.get_context(_method(export))
        counter = ctx.Value("q", 0)
        with ctx.Pool(len(tasks), _spill_worker, (_SharedCounter(counter),)) as pool:
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
    merged = SpillResult([Bucket([]) for _ in range(n_buckets)], {}, Stats(), [], {}, [])
    for part in parts:
        for bucket, b in zip(merged.buckets, part.buckets, strict=True):
            bucket.paths += b.paths
            bucket.size += b.size
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


def _assess_worker(ctx: _Context) -> None:
    _tune_gc()
    _init_worker(ctx)


@dataclass(slots=True)
class BucketResult:
    run: Path
    rows: int
    stats: Stats
    problems: list[Problem] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)  # of the rows, counted in the worker


def _resplit(bucket: Bucket, parts: int, salt: int) -> list[Bucket]:
    first = bucket.paths[0]
    outs = [first.with_name(f"{first.name}.{salt}-{i:03d}") for i in range(parts)]
    with SpillWriter(outs) as spill:
        for path in bucket.paths:
            for records in spilled_records(path):
                for record in records:
                    key = orjson.loads(record.partition(b"\t")[0])
                    spill.writes[bucket_of(key, parts, salt)](record)
            path.unlink()
    return spill.buckets()


def _groups(paths: list[Path]) -> dict[bytes, list[tuple[bytes, bytes]]]:
    """A bucket's lines by patient (JSON key -> (chunk:line tag, line)); its files are removed."""
    groups: dict[bytes, list[tuple[bytes, bytes]]] = {}
    for path in paths:
        for records in spilled_records(path):
            for record in records:
                key, tag, line = record.split(b"\t", 2)
                line = line[:-1]  # without its b"\n"
                group = groups.get(key)
                if group is None:
                    groups[key] = [(tag, line)]
                else:
                    group.append((tag, line))
        path.unlink()
    return groups


def _bucket_rows(
    bucket: Bucket, ctx: _Context, depth: int, out: BucketResult, rows: list[Row]
) -> None:
    if bucket.size > 2 * ctx.bucket_bytes and depth < MAX_SPLIT_DEPTH:
        wanted = math.ceil(bucket.size / ctx.bucket_bytes)
        parts = _resplit(bucket, open_file_budget(wanted), depth + 1)
        if sum(1 for p in parts if p.size) > 1:  # one huge patient cannot be split
            for part in parts:
                _bucket_rows(part, ctx, depth + 1, out, rows)
            return
        bucket = next(p for p in parts if p.size)
    groups = _groups(bucket.paths)
    for key in sorted(groups):
        result = assess_group(
            orjson.loads(key), groups.pop(key), ctx.meds, ctx.as_of, source=ctx.source
        )
        out.stats.add(result.stats)
        out.problems += result.problems
        if result.row is not None:
            rows.append(result.row)


def process_bucket(bucket: Bucket) -> BucketResult:
    """Pass 2 for one bucket: its patients' rows, sorted, in a run file, and counted."""
    ctx = _CTX
    assert ctx is not None
    first = bucket.paths[0]
    run = first.with_name(first.name.split(".")[0] + ".run")
    out = BucketResult(run, 0, Stats())
    rows: list[Row] = []
    if bucket.size:
        _bucket_rows(bucket, ctx, 0, out, rows)
    else:
        for p in bucket.paths:
            p.unlink()
    rows.sort(key=sort_key)
    with run.open("wb") as fh:
        for row in rows:
            fh.write(orjson.dumps(row) + b"\n")
            out.summary.add(row)
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
    summary: Summary  # of the runs' rows


def _method(export: Export) -> str:
    """Fork on Linux for a local export; spawn otherwise (an object store's client, once started
    in this process, must not be forked: its threads and connections would not follow)."""
    return "fork" if sys.platform.startswith("linux") and export.where.local else "spawn"


def run_local(
    export_dir: Path | str | Export,
    as_of: dt.date,
    tmp: Path,
    *,
    workers: int = 2,
    bucket_bytes: int = DEFAULT_BUCKET_BYTES,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: ProgressFn | None = None,
) -> LocalResult:
    """Both passes; the caller merges `runs` (in `tmp`) with `merge_runs`."""
    export = export_dir if isinstance(export_dir, Export) else list_export(str(export_dir))
    n_buckets = max(1, min(MAX_BUCKETS, math.ceil(estimated_bytes(export.files) / bucket_bytes)))
    n_buckets = min(n_buckets, open_file_budget(n_buckets))
    spilled = spill(export, tmp, n_buckets, progress, workers=workers, chunk_bytes=chunk_bytes)
    names = [f.name for f in export.files]
    ctx = _Context(names, spilled.chunk_file, spilled.chunk_base, spilled.meds, as_of, bucket_bytes)
    stats, problems = spilled.stats, spilled.problems
    runs: list[Path] = []
    summary = Summary()
    if progress is not None:
        progress("start", 0, 0)

    def collect(res: BucketResult) -> None:
        stats.add(res.stats)
        problems.extend(res.problems)
        runs.append(res.run)
        summary.update(res.summary)
        if progress is not None:
            progress("assess", res.rows, res.stats.resources)

    if workers <= 1:
        _init_worker(ctx)
        with _tuned_gc():
            for bucket in spilled.buckets:
                collect(process_bucket(bucket))
    else:
        with mp.get_context(_method(export)).Pool(workers, _assess_worker, (ctx,)) as pool:
            for res in pool.imap_unordered(process_bucket, spilled.buckets):
                collect(res)
    runs.sort()
    problems.sort(key=Problem.sort_key)
    return LocalResult(runs, stats, problems, n_buckets, summary)


def default_workers() -> int:
    """One worker process per CPU this process may run on (a container's or `taskset`'s share,
    where the system says). Memory grows with the workers (~100 MB each), not with the export."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus)
