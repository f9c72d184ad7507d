"""Runs bench/web_cpu.py briefly (SQLite) so CI exercises it: the load script's mix through the
app's ASGI interface, every answer with its expected status, CPU figures per endpoint."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.web_cpu import Options, run
from bench.web_load import MIXED


def test_web_cpu_smoke(tmp_path: Path) -> None:
    options = Options(requests=60, warmup=10, baseline=20, patients=12, rate=20.0, results=tmp_path)
    # In a thread of its own: in the whole suite, Playwright's sync API can leave an event loop
    # running in this xdist worker's main thread, where asyncio.run refuses to start.
    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(run, options).result()
    assert set(result["endpoints"]) == set(MIXED)
    assert sum(row["n"] for row in result["endpoints"].values()) == 60
    assert result["mix"]["mean_ms"] > 0 and result["baseline"]["mean_ms"] > 0
    assert result["mix"]["mean_x_baseline"] > 0
    written = json.loads((tmp_path / "web_cpu-sqlite.json").read_text())
    assert written["mix"] == result["mix"]
