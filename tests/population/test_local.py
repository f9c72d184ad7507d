"""The local engine's reading and spilling: line ends, blank lines, a missing last line end, lines
longer than a read, one record a frame, gzip: the rows, summary and problems (with their line
numbers) of the plain export."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonemets.population import local

from .damage import damage
from .helpers import Result, worklist

BLANKS = 2  # blank lines put before each file's first line


def run(export: Path, out: Path, as_of: dt.date, **kw: Any) -> tuple[Result, list[Any]]:
    result = worklist(export, out, as_of, **kw)
    return result, [orjson.loads(x) for x in (out / "problems.ndjson").read_bytes().splitlines()]


@pytest.fixture(scope="module")
def damaged(small_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return damage(small_export, tmp_path_factory.mktemp("damaged") / "export").export


@pytest.fixture(scope="module")
def plain(
    damaged: Path, tmp_path_factory: pytest.TempPathFactory, as_of: dt.date
) -> tuple[Result, list[Any]]:
    result, problems = run(damaged, tmp_path_factory.mktemp("plain"), as_of, workers=1)
    assert result[1]["corrupt_lines"] == 2
    return result, problems


def rewrite(src: Path, dst: Path, end: bytes, *, gz: bool = False) -> Path:
    """`src` with `end` after each line, `BLANKS` blank lines first and no end to the last line."""
    dst.mkdir()
    for p in src.iterdir():
        lines = [b"", b" \t", *p.read_bytes().splitlines()]
        data = end.join(lines)
        if gz:
            (dst / (p.name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (dst / p.name).write_bytes(data)
    return dst


def moved(problems: list[Any], suffix: str) -> list[Any]:
    """The problems `BLANKS` lines further down, in files named with `suffix`."""
    return [
        p | {"file": p["file"] + suffix, "line": p["line"] + BLANKS} if p["line"] else p
        for p in problems
    ]


def check(got: tuple[Result, list[Any]], plain: tuple[Result, list[Any]], suffix: str = "") -> None:
    """The plain export's answer, its problems moved (`moved`)."""
    (rows, summary), problems = got
    assert rows == plain[0][0]
    first = moved(plain[0][1]["first_problems"], suffix)
    assert summary == plain[0][1] | {"first_problems": first}
    assert problems == moved(plain[1], suffix)


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r\r\n"])
def test_line_ends_and_blank_lines(
    damaged: Path, tmp_path: Path, plain: tuple[Result, list[Any]], as_of: dt.date, end: bytes
) -> None:
    export = rewrite(damaged, tmp_path / "export", end)
    check(run(export, tmp_path / "out", as_of, workers=2, chunk_bytes=4096), plain)


@pytest.mark.parametrize("gz", [False, True])
def test_reads_shorter_than_a_line_and_one_record_a_frame(
    damaged: Path,
    tmp_path: Path,
    plain: tuple[Result, list[Any]],
    as_of: dt.date,
    monkeypatch: pytest.MonkeyPatch,
    gz: bool,
) -> None:
    monkeypatch.setattr(local, "READ_BYTES", 100)  # most lines span several reads
    monkeypatch.setattr(local, "FRAME_BYTES", 1)
    export = rewrite(damaged, tmp_path / "export", b"\n", gz=gz)
    got = run(export, tmp_path / "out", as_of, workers=1, bucket_bytes=8192)
    check(got, plain, ".gz" if gz else "")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_default_workers_are_the_cpus_this_process_may_use() -> None:
    """One worker per CPU the process may run on: in a container or under taskset, that share."""
    code = (
        "import os\n"
        "from bonemets.population.local import default_workers\n"
        "before = default_workers()\n"
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "print(before, default_workers())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, pinned = map(int, out.stdout.split())
    assert (before, pinned) == (len(os.sched_getaffinity(0)), 1)


def test_an_in_process_run_collects_garbage_as_a_worker_does_then_restores_the_collector() -> None:
    """One worker runs in this process: while it runs, the collector is tuned as in a worker
    process (`_tune_gc`); afterwards it is as it was, and a caller's own frozen objects stay so."""
    code = (
        "import gc\n"
        "from bonemets.population import local\n"
        "before = gc.get_threshold()\n"
        "with local._tuned_gc():\n"
        "    inside = (gc.get_threshold()[0], gc.get_freeze_count() > 0)\n"
        "after = (gc.get_threshold() == before, gc.get_freeze_count())\n"
        "gc.freeze()\n"
        "mine = gc.get_freeze_count()\n"
        "with local._tuned_gc():\n"
        "    pass\n"
        "print(inside[0], inside[1], after[0], after[1], gc.get_freeze_count() == mine)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(local.WORKER_GC_THRESHOLD), "True", "True", "0", "True"]
