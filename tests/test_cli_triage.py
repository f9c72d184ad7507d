"""Hand-written JSON reports through the CLI, as another tool would send them."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from bonemets.faces.cli.main import app

DATA = Path(__file__).parent / "data"
GOOD = sorted((DATA / "triage").glob("*.json"))
BAD = sorted((DATA / "triage_bad").glob("*.json"))
runner = CliRunner()


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_cli_gives_the_expected_level(path: Path) -> None:
    expected = path.stem.split("__")[0]
    result = runner.invoke(app, ["triage", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout)
    assert out["level"] == expected
    assert out["clinician_alert"] is (expected in ("emergency", "urgent", "soon"))
    assert out["engine_version"]
    assert out["reasons"][0]["level"] == expected
    for reason in out["reasons"]:
        assert reason["sources"] and reason["because"]


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_malformed_report_exits_2_naming_the_field(path: Path) -> None:
    result = runner.invoke(app, ["triage", str(path)])
    assert result.exit_code == 2
    assert path.stem in result.stderr


def test_human_summary_and_stdin() -> None:
    report = (DATA / "triage" / "emergency__spec_example.json").read_text()
    result = runner.invoke(app, ["triage", "-"], input=report)
    assert result.exit_code == 0
    assert "EMERGENCY" in result.stdout
    assert "mscc.neurological" in result.stdout
    assert "optional words from the patient" in result.stdout
    assert "does not replace" in result.stdout


def test_not_json_and_missing_file_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert runner.invoke(app, ["triage", str(broken)]).exit_code == 2
    assert runner.invoke(app, ["triage", str(tmp_path / "absent.json")]).exit_code == 2
    assert runner.invoke(app, ["triage", "-"], input="[1, 2]").exit_code == 2


def test_schema_triage_is_generated_from_the_models() -> None:
    result = runner.invoke(app, ["schema", "triage"])
    schema = orjson.loads(result.stdout)
    assert schema["required"] == ["symptoms"]
    assert "free_text" in schema["properties"]


def test_sources_resolve_by_id() -> None:
    result = runner.invoke(app, ["sources", "nice-ng234", "--json"])
    assert result.exit_code == 0
    [entry] = orjson.loads(result.stdout)
    assert "NG234" in entry["citation"]
    assert runner.invoke(app, ["sources", "no-such-source"]).exit_code == 2
    listing = runner.invoke(app, ["sources"])
    assert "cockcroft-gault-1976" in listing.stdout


def test_calc_corrected_calcium_and_ctcae() -> None:
    result = runner.invoke(
        app, ["calc", "corrected-calcium", "--calcium", "2.5", "--albumin", "20", "--json"]
    )
    out = orjson.loads(result.stdout)
    assert out["corrected_calcium"]["value"] == pytest.approx(2.9)
    assert out["ctcae"]["grade"] == 1
    result = runner.invoke(
        app, ["calc", "ctcae", "platelets_decreased", "--value", "49", "--unit", "10^9/L", "--json"]
    )
    assert orjson.loads(result.stdout)["grade"] == 3
    bad = runner.invoke(app, ["calc", "ctcae", "hypercalcaemia", "--value", "3", "--unit", "g/L"])
    assert bad.exit_code == 2 and "unit" in bad.stderr
