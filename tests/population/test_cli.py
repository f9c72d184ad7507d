from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from bonemets.faces.cli.population_cmds import register


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


runner = CliRunner()


def test_synth_then_worklist(app: typer.Typer, tmp_path: Path, as_of: dt.date) -> None:
    export = tmp_path / "export"
    r = runner.invoke(
        app,
        [
            "synth-export",
            str(export),
            "--patients",
            "25",
            "--seed",
            "3",
            "--as-of",
            "2025-06-30",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert orjson.loads(r.stdout)["patients"] == 25
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        [
            "worklist",
            str(export),
            "--as-of",
            "2025-06-30",
            "--out",
            str(out),
            "--workers",
            "1",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    summary = orjson.loads(r.stdout)
    assert summary["patients"] == 25 and summary["refused_patients"] == 0
    assert (out / "worklist.parquet").exists() and (out / "summary.png").exists()
    r = runner.invoke(
        app,
        [
            "worklist",
            str(export),
            "--as-of",
            "2025-06-30",
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "25 patients" in r.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["worklist", "{export}", "--as-of", "2025-02-30", "--out", "{out}"], "--as-of"),
        (
            ["worklist", "{export}", "--as-of", "2025-06-30", "--out", "{out}", "--engine", "dask"],
            "--engine",
        ),
        (["worklist", "{missing}", "--as-of", "2025-06-30", "--out", "{out}"], "EXPORT_DIR"),
        (["worklist", "{empty}", "--as-of", "2025-06-30", "--out", "{out}"], "EXPORT_DIR"),
        (
            [
                "worklist",
                "{export}",
                "--as-of",
                "2025-06-30",
                "--out",
                "{out}",
                "--master",
                "local[2]",
            ],
            "--master",
        ),
        (
            ["worklist", "{export}", "--as-of", "2025-06-30", "--out", "{out}", "--workers", "0"],
            "--workers",
        ),
        (["synth-export", "{new}", "--patients", "-1"], "--patients"),
        (["synth-export", "{new}", "--as-of", "June"], "--as-of"),
        (["synth-export", "{export}"], "OUT_DIR"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    app: typer.Typer, small_export: Path, tmp_path: Path, args: list[str], field: str
) -> None:
    (tmp_path / "empty").mkdir()
    paths = {
        "export": small_export,
        "out": tmp_path / "out",
        "missing": tmp_path / "missing",
        "empty": tmp_path / "empty",
        "new": tmp_path / "new",
    }
    r = runner.invoke(app, [a.format(**paths) for a in args])
    assert r.exit_code == 2, r.output
    assert field in r.output
