from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]

from bonemets.population import run_worklist

Result = tuple[list[dict[str, Any]], dict[str, Any]]
VOLATILE = {"seconds", "engine", "export", "buckets", "workers", "master", "partitions"}


def worklist(export: Path, out: Path, as_of: dt.date, **kw: Any) -> Result:
    result = run_worklist(export, as_of, out, chart=kw.pop("chart", False), **kw)
    rows = pq.read_table(out / "worklist.parquet").to_pylist()
    summary = {k: v for k, v in result.summary.items() if k not in VOLATILE}
    return rows, summary


def copy_export(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def lines_of(export: Path) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for p in sorted(export.iterdir()):
        opener: Any = gzip.open if p.name.endswith(".gz") else open
        with opener(p, "rb") as fh:
            out[p.name] = fh.read().splitlines()
    return out
