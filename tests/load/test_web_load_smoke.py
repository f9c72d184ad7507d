"""Runs bench/web_load.py's machinery briefly (SQLite, 20 req/s for 5 s) so CI exercises the
load script: a real uvicorn server on 127.0.0.1, locust in a child process, zero errors."""

from __future__ import annotations

from pathlib import Path

from bench.web_load import MIXED, Options, run


def test_web_load_smoke(tmp_path: Path) -> None:
    result = run(
        Options(
            rate=20.0,
            seconds=5.0,
            baseline_seconds=1.0,
            warmup_seconds=0.25,
            sign_ins_per_second=20.0,
            workers=1,
            patients=12,
            results=tmp_path,
        )
    )
    assert "setup_error" not in result, result.get("setup_error")
    assert result["overall"]["failures"] == 0, {
        name: row["errors"] for name, row in result["endpoints"].items() if row["errors"]
    }
    assert result["baseline"]["failures"] == 0
    assert not result["unexpected_requests"]
    assert all(result["endpoints"][name]["requests"] > 0 for name in MIXED)
    assert result["overall"]["requests"] >= 0.8 * 20 * 5
    assert (tmp_path / "web_load-sqlite.json").exists()
