"""CLI: `bonemets score mirels|sins` and `bonemets calc crcl|tscore|intake|pain-ladder`."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from bonemets.faces.cli.main import app

runner = CliRunner()


def run_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = orjson.loads(result.stdout)
    return data


def test_mirels_json() -> None:
    data = run_json(
        "score",
        "mirels",
        "--site",
        "peritrochanteric",
        "--pain",
        "functional",
        "--lesion",
        "lytic",
        "--size",
        "0.7",
    )
    assert data["score"] == 12
    assert data["band"] == "fixation"
    assert data["components"] == {"site": 3, "pain": 3, "lesion": 3, "size": 3}
    assert data["sources"] == ["mirels-1989", "jawad-scully-2010", "evans-2008"]


def test_mirels_summary_names_sources_and_unverified() -> None:
    result = runner.invoke(
        app,
        [
            "score",
            "mirels",
            "--site",
            "upper_limb",
            "--pain",
            "mild",
            "--lesion",
            "blastic",
            "--size-fraction",
            "0.2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Mirels score 4" in result.stdout
    assert "mirels-1989" in result.stdout
    assert "Unverified basis" in result.stdout


def test_sins_json_worked_example() -> None:
    data = run_json(
        "score",
        "sins",
        "--location",
        "T12",
        "--pain",
        "mechanical",
        "--lesion",
        "lytic",
        "--alignment",
        "normal",
        "--collapse",
        "over_50",
        "--posterolateral",
        "none",
    )
    assert data["score"] == 11
    assert data["band"] == "potentially_unstable"
    assert data["surgical_opinion"] is True
    assert data["location_category"] == "junctional"


def test_sins_summary() -> None:
    result = runner.invoke(
        app,
        [
            "score",
            "sins",
            "--location",
            "rigid",
            "--pain",
            "none",
            "--lesion",
            "blastic",
            "--alignment",
            "normal",
            "--collapse",
            "none",
            "--posterolateral",
            "none",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "SINS 0" in result.stdout
    assert "fisher-2010" in result.stdout


def test_crcl_json() -> None:
    data = run_json(
        "calc",
        "crcl",
        "--age",
        "72",
        "--weight",
        "60",
        "--sex",
        "female",
        "--creatinine",
        "1.0",
        "--unit",
        "mg/dL",
    )
    assert data["value"] == 48.2
    si = run_json(
        "calc",
        "crcl",
        "--age",
        "72",
        "--weight",
        "60",
        "--creatinine",
        "88.4",
        "--unit",
        "umol/L",
    )
    assert si["value"] == 48.2
    assert si["sex_used"] == "female"


def test_crcl_summary() -> None:
    result = runner.invoke(
        app,
        [
            "calc",
            "crcl",
            "--age",
            "72",
            "--weight",
            "60",
            "--sex",
            "male",
            "--creatinine",
            "1",
            "--unit",
            "mg/dL",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "56.7 mL/min" in result.stdout
    assert "cockcroft-gault-1976" in result.stdout


def test_tscore_json_and_negative_value() -> None:
    data = run_json("calc", "tscore", "--t-score", "-2.5", "--sex", "female", "--postmenopausal")
    assert data["category"] == "osteoporosis"
    assert data["applicability"] == "applies"
    data = run_json("calc", "tscore", "--t-score", "-2.6", "--fragility-fracture")
    assert data["category"] == "severe_osteoporosis"
    assert data["applicability"] == "unknown"
    data = run_json("calc", "tscore", "--t-score", "-1.2", "--sex", "male", "--age", "45")
    assert data["category"] == "osteopenia"
    assert data["applicability"] == "use_z_score"


def test_tscore_summary() -> None:
    result = runner.invoke(app, ["calc", "tscore", "--t-score", "-1.0"])
    assert result.exit_code == 0, result.output
    assert "normal" in result.stdout
    assert "who-tscore-1994" in result.stdout


def test_intake_json() -> None:
    data = run_json("calc", "intake", "--age", "60", "--sex", "male")
    assert (data["calcium_mg"], data["vitamin_d_iu"]) == (1000, 600)
    supplement = data["drug_supplement"]
    assert isinstance(supplement, dict)
    assert (supplement["calcium_mg"], supplement["vitamin_d_iu"]) == (500, 400)
    assert run_json("calc", "intake", "--age", "60")["calcium_mg"] == 1200


def test_intake_summary() -> None:
    result = runner.invoke(app, ["calc", "intake", "--age", "75", "--sex", "female"])
    assert result.exit_code == 0, result.output
    assert "calcium 1200 mg" in result.stdout
    assert "iom-2011" in result.stdout


def test_pain_ladder_json() -> None:
    data = run_json(
        "calc",
        "pain-ladder",
        "--score",
        "5",
        "--egfr",
        "90",
        "--no-heart-failure",
        "--platelets",
        "200",
        "--no-anticoagulant",
        "--age",
        "50",
    )
    assert data["step"] == 2
    assert data["nsaid_cautions"] == []
    unknown = run_json("calc", "pain-ladder", "--score", "8", "--heart-failure")
    assert unknown["step"] == 3
    cautions = unknown["nsaid_cautions"]
    assert isinstance(cautions, list)
    assert {"factor": "heart_failure", "reason": "present"}.items() <= cautions[1].items()
    assert len(cautions) == 5


def test_pain_ladder_summary_flags_policy() -> None:
    result = runner.invoke(app, ["calc", "pain-ladder", "--score", "2"])
    assert result.exit_code == 0, result.output
    assert "Step 1" in result.stdout
    assert "who-pain-ladder" in result.stdout
    assert "policy" in result.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (
            [
                "score",
                "mirels",
                "--site",
                "femur",
                "--pain",
                "mild",
                "--lesion",
                "lytic",
                "--size",
                "0.5",
            ],
            "site",
        ),
        (
            [
                "score",
                "mirels",
                "--site",
                "upper_limb",
                "--pain",
                "mild",
                "--lesion",
                "lytic",
                "--size",
                "1.5",
            ],
            "size_fraction",
        ),
        (
            [
                "score",
                "sins",
                "--location",
                "T13",
                "--pain",
                "none",
                "--lesion",
                "lytic",
                "--alignment",
                "normal",
                "--collapse",
                "none",
                "--posterolateral",
                "none",
            ],
            "location",
        ),
        (
            [
                "score",
                "sins",
                "--location",
                "T1",
                "--pain",
                "moderate",
                "--lesion",
                "lytic",
                "--alignment",
                "normal",
                "--collapse",
                "none",
                "--posterolateral",
                "none",
            ],
            "pain",
        ),
        (
            [
                "calc",
                "crcl",
                "--age",
                "10",
                "--weight",
                "60",
                "--creatinine",
                "1",
                "--unit",
                "mg/dL",
            ],
            "age",
        ),
        (
            [
                "calc",
                "crcl",
                "--age",
                "60",
                "--weight",
                "60",
                "--sex",
                "x",
                "--creatinine",
                "1",
                "--unit",
                "mg/dL",
            ],
            "sex",
        ),
        (["calc", "tscore", "--t-score", "-20"], "t_score"),
        (["calc", "intake", "--age", "18"], "age"),
        (["calc", "pain-ladder", "--score", "11"], "score"),
        (["calc", "pain-ladder", "--score", "5", "--platelets", "-1"], "platelets"),
    ],
)
def test_bad_input_exits_2_naming_field(args: list[str], field: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert f"{field}:" in result.stderr
