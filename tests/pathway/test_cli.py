"""`bonemets assess`, `schema record`, `example-record`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bonemets.core.record import Record
from bonemets.faces.cli.main import app

runner = CliRunner()


def test_example_record_is_valid_and_assessable(tmp_path: Path) -> None:
    out = runner.invoke(app, ["example-record"])
    assert out.exit_code == 0
    record = Record.model_validate_json(out.stdout)
    path = tmp_path / "r.json"
    path.write_text(out.stdout)
    result = runner.invoke(app, ["assess", str(path), "--as-of", "2026-11-23", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["patient"] == {
        "id": record.id,
        "age": 72,
        "sex": "female",
        "deceased": False,
        "deceased_date": None,
        "primary_site": "breast",
    }
    # Thirst, constipation and tiredness with chemotherapy status unknown: two UKONS Ambers,
    # read as possibly on treatment (issue 21), so emergency rather than the calcium's urgent.
    assert answer["level"] == "emergency"
    assert "ukons.two_ambers" in {a["rule"] for a in answer["alerts"]}
    assert answer["bma"]["agent"] == "zoledronic_acid"
    assert answer["bma"]["status"] == "withhold"
    assert answer["bma"]["next_due"] == "2026-11-17"
    assert {c["check"] for c in answer["bma"]["checks"]} >= {
        "dental_exam",
        "renal_function",
        "calcium",
        "calcium_vitamin_d_supplement",
    }
    assert [m["test"] for m in answer["monitoring"]] == [
        "imaging",
        "tumour_markers",
        "blood_chemistry",
    ]
    assert answer["engine_version"]
    human = runner.invoke(app, ["assess", str(path), "--as-of", "2026-11-23"])
    assert human.exit_code == 0 and "withhold" in human.stdout


def test_bad_input_exits_2_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "id": "x",
                "labs": [
                    {"code": "creatinine", "unit": "mmol/L", "value": 1, "date": "2026-01-01"}
                ],
            }
        )
    )
    result = runner.invoke(app, ["assess", str(path), "--as-of", "2026-11-23"])
    assert result.exit_code == 2
    assert "labs[0].unit" in result.output
    bad_date = runner.invoke(app, ["assess", str(path), "--as-of", "23/11/2026"])
    assert bad_date.exit_code == 2 and "as_of" in bad_date.output
    missing = runner.invoke(app, ["assess", str(tmp_path / "nope.json"), "--as-of", "2026-11-23"])
    assert missing.exit_code == 2 and "RECORD" in missing.output


def test_schema_record() -> None:
    result = runner.invoke(app, ["schema", "record"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "labs" in schema["properties"] and "Lab" in schema["$defs"]
