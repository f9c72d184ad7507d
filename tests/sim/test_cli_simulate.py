"""`bonemets simulate`: the file contract other tools read, and exit 2 naming the field."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bonemets.faces.cli.simulate_cmd import register

app = typer.Typer()
register(app)


@app.callback()
def _root() -> None:
    """Keep `simulate` a sub-command, as in the real app."""


runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["simulate", *args])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_single_run_writes_contract(tmp_path: Path) -> None:
    code, out = invoke("ayati2010-tumour", "--days", "1300", "--out", str(tmp_path))
    assert code == 0, out
    table = rows(tmp_path / "trajectory.csv")
    assert list(table[0]) == ["day", "osteoclasts", "osteoblasts", "bone_mass", "tumour"]
    assert len(table) == 1301 and table[0]["day"] == "0" and table[-1]["day"] == "1300"
    assert float(table[0]["bone_mass"]) == 100.0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["bone_mass_zero_day"] == pytest.approx(1198.8, abs=0.1)
    assert summary["min_bone_mass"] == 0.0
    assert (tmp_path / "trajectory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_step_and_no_tumour_column(tmp_path: Path) -> None:
    code, out = invoke("komarova2003", "--days", "70", "--step", "7", "--no-plot",
                       "--out", str(tmp_path))  # fmt: skip
    assert code == 0, out
    table = rows(tmp_path / "trajectory.csv")
    assert list(table[0]) == ["day", "osteoclasts", "osteoblasts", "bone_mass"]
    assert [r["day"] for r in table] == [str(7 * k) for k in range(11)]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["min_bone_mass_day"] == 14.0 and summary["bone_mass_zero_day"] is None
    assert not (tmp_path / "trajectory.png").exists()


def test_cohort_writes_bands_per_arm(tmp_path: Path) -> None:
    code, out = invoke("vicious-cycle", "--treatment", "none", "--treatment", "denosumab",
                       "--cohort", "20", "--days", "200", "--start-day", "50", "--json",
                       "--out", str(tmp_path))  # fmt: skip
    assert code == 0, out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["arms"]) == {"none", "denosumab"} and summary["cohort_size"] == 20
    assert json.loads(out) == summary
    table = rows(tmp_path / "cohort.csv")
    assert list(table[0]) == ["arm", "day", "state", "p10", "median", "p90"]
    assert len(table) == 2 * 4 * 201
    assert (tmp_path / "cohort.png").exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["nope"], "MODEL"),
        (["komarova2003", "--treatment", "denosumab"], "--treatment"),
        (["vicious-cycle", "--treatment", "magic"], "--treatment"),
        (["vicious-cycle", "--treatment", "denosumab", "--treatment", "none"], "--treatment"),
        (["vicious-cycle", "--days", "0"], "--days"),
        (["vicious-cycle", "--step", "-1"], "--step"),
        (["vicious-cycle", "--cohort", "0"], "--cohort"),
        (["komarova2003", "--variant", "paper"], "--variant"),
        (["komarova2003", "--variant", "other"], "--variant"),
    ],
)
def test_bad_input_exits_2_naming_the_field(tmp_path: Path, args: list[str], field: str) -> None:
    code, out = invoke(*args, "--out", str(tmp_path / "o"))
    assert code == 2
    assert field in out
