from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonemets.core.record import Record
from bonemets.core.renal import cockcroft_gault
from bonemets.faces.web import charts
from bonemets.faces.web.charts import figure_json, plotly_js_path, timeline_figure

AS_OF = dt.date(2026, 11, 20)


def record(**parts: Any) -> Record:
    base: dict[str, Any] = {
        "id": "p1",
        "demographics": {"birth_date": "1954-03-14", "sex": "female"},
    }
    base.update(parts)
    return Record.model_validate(base)


def lab(code: str, value: float, unit: str, date: str, **limits: float) -> dict[str, Any]:
    return {"code": code, "value": value, "unit": unit, "date": date, **limits}


def trace(fig: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [t for t in fig["data"] if t["name"] == name]
    assert len(found) == 1, [t["name"] for t in fig["data"]]
    return found[0]


def axis_of(fig: dict[str, Any], t: dict[str, Any]) -> dict[str, Any]:
    axis: dict[str, Any] = fig["layout"]["yaxis" + t["yaxis"][1:]]
    return axis


def names(fig: dict[str, Any]) -> list[str]:
    return [t["name"] for t in fig["data"]]


CALCIUM_LABS = [
    lab("calcium_total", 9.4, "mg/dL", "2025-04-28"),
    lab("albumin", 3.9, "g/dL", "2025-04-28"),
    lab("calcium_total", 2.85, "mmol/L", "2026-11-20"),
    lab("albumin", 30, "g/L", "2026-11-20"),
]


def test_corrected_calcium_in_mmol_l() -> None:
    fig = timeline_figure(record(labs=CALCIUM_LABS), AS_OF)
    ca = trace(fig, "Corrected calcium")
    assert ca["x"] == ["2025-04-28", "2026-11-20"]
    # 9.4 mg/dL + 0.8 x (4.0 - 3.9) = 9.48 mg/dL = 2.365 mmol/L; 2.85 + 0.02 x (40 - 30) = 3.05
    assert ca["y"][0] == pytest.approx(9.48 * 0.249501, abs=1e-3)
    assert ca["y"][1] == pytest.approx(3.05)
    assert "2.85 + 0.02 x (40 - 30 g/L) = 3.05 mmol/L" in ca["customdata"][1]
    assert "CTCAE hypercalcemia grade 2" in ca["customdata"][1]
    assert "9.4 + 0.8 x (4.0 - 3.9 g/dL) = 9.48 mg/dL" in ca["customdata"][0]
    assert "CTCAE" not in ca["customdata"][0]
    assert "mmol/L" in ca["hovertemplate"]
    assert axis_of(fig, ca)["title"]["text"] == "Calcium, corrected (mmol/L)"


def test_calcium_and_creatinine_in_the_readers_conventional_units() -> None:
    labs = [*CALCIUM_LABS, lab("creatinine", 132.6, "umol/L", "2026-11-20")]
    fig = timeline_figure(record(labs=labs), AS_OF, "conventional")
    ca = trace(fig, "Corrected calcium")
    # 9.48 mg/dL as measured; 3.05 mmol/L / 0.249501 = 12.22 mg/dL.
    assert ca["y"] == [pytest.approx(9.48, abs=1e-3), pytest.approx(3.05 / 0.249501, abs=1e-3)]
    assert axis_of(fig, ca)["title"]["text"] == "Calcium, corrected (mg/dL)"
    band = trace(fig, "Calcium normal range (default)")
    assert band["y"] == [10.4, 10.4]
    lines = [s for s in fig["layout"]["shapes"] if s.get("yref") == band["yaxis"]]
    assert sorted(s["label"]["text"] for s in lines) == ["CTCAE G2 > 11.5", "CTCAE G3 > 12.5"]
    creat = trace(fig, "Creatinine")
    assert creat["y"] == [pytest.approx(1.5)] and "mg/dL" in creat["hovertemplate"]
    assert axis_of(fig, creat)["title"]["text"] == "Creatinine (mg/dL)"


@pytest.mark.parametrize(
    ("albumin_day", "corrected"), [("2026-11-13", True), ("2026-11-12", False)]
)
def test_an_albumin_up_to_seven_days_before_corrects_as_in_triage(
    albumin_day: str, corrected: bool
) -> None:
    labs = [
        lab("calcium_total", 2.30, "mmol/L", "2026-11-20"),
        lab("albumin", 30, "g/L", albumin_day),
    ]
    fig = timeline_figure(record(labs=labs), AS_OF)
    if corrected:
        ca = trace(fig, "Corrected calcium")
        assert ca["y"] == [pytest.approx(2.50)]
        assert f"(albumin of {albumin_day})" in ca["customdata"][0]
    else:
        assert trace(fig, "Total calcium, uncorrected")["y"] == [pytest.approx(2.30)]


def test_calcium_normal_band_and_ctcae_lines() -> None:
    fig = timeline_figure(record(labs=CALCIUM_LABS), AS_OF)
    band = trace(fig, "Calcium normal range (default)")
    low = fig["data"][fig["data"].index(band) - 1]
    assert band["fill"] == "tonexty" and band["y"] == [2.6, 2.6] and low["y"] == [2.2, 2.2]
    assert band["x"][-1] == "2026-11-20" and band["hoverinfo"] == "skip"
    lines = [s for s in fig["layout"]["shapes"] if s.get("yref") == band["yaxis"]]
    assert sorted((s["y0"], s["label"]["text"]) for s in lines) == [
        (2.9, "CTCAE G2 > 2.9"),
        (3.1, "CTCAE G3 > 3.1"),
    ]


def test_laboratory_limits_and_hypocalcaemia_lines() -> None:
    labs = [lab("calcium_corrected", 8.0, "mg/dL", "2026-10-01", lower_limit=8.6, upper_limit=10.2)]
    fig = timeline_figure(record(labs=labs), AS_OF)
    ca = trace(fig, "Corrected calcium")
    assert ca["y"] == [pytest.approx(8.0 * 0.249501, abs=1e-3)]
    assert ca["customdata"] == [
        "corrected by the laboratory: 8 mg/dL<br>CTCAE hypocalcemia grade 1"
    ]
    band = trace(fig, "Calcium normal range (laboratory)")
    assert band["y"][0] == pytest.approx(10.2 * 0.249501, abs=1e-3)
    texts = {s["label"]["text"] for s in fig["layout"]["shapes"] if "label" in s}
    assert {"CTCAE G2 < 2", "CTCAE G3 < 1.75"} <= texts


def test_lab_corrected_value_wins_over_computed_and_uncorrected_is_separate() -> None:
    labs = [
        lab("calcium_total", 2.5, "mmol/L", "2026-01-05"),
        lab("albumin", 30, "g/L", "2026-01-05"),
        lab("calcium_corrected", 2.68, "mmol/L", "2026-01-05"),
        lab("calcium_total", 10.0, "mg/dL", "2026-02-05"),  # no albumin that day
    ]
    fig = timeline_figure(record(labs=labs), AS_OF)
    assert trace(fig, "Corrected calcium")["y"] == [2.68]
    raw = trace(fig, "Total calcium, uncorrected")
    assert raw["x"] == ["2026-02-05"] and raw["y"] == [pytest.approx(2.495, abs=1e-3)]
    assert "not corrected" in raw["customdata"][0]


def test_crcl_omitted_without_weight() -> None:
    labs = [lab("creatinine", 1.5, "mg/dL", "2026-11-20", upper_limit=1.1)]
    fig = timeline_figure(record(labs=labs), AS_OF)
    creat = trace(fig, "Creatinine")
    assert creat["y"] == [pytest.approx(132.6)]
    assert "CrCl (Cockcroft-Gault)" not in names(fig)
    assert not any("overlaying" in v for k, v in fig["layout"].items() if k.startswith("yaxis"))
    assert trace(fig, "Creatinine ULN")["y"] == [pytest.approx(97.2), pytest.approx(97.2)]


def test_crcl_omitted_without_birth_date() -> None:
    rec = Record.model_validate(
        {
            "id": "p",
            "demographics": {"sex": "male", "weights": [{"date": "2026-01-01", "kg": 70}]},
            "labs": [lab("creatinine", 90, "umol/L", "2026-11-20")],
        }
    )
    assert "CrCl (Cockcroft-Gault)" not in names(timeline_figure(rec, AS_OF))


def test_crcl_with_weight_on_second_axis() -> None:
    labs = [
        lab("creatinine", 0.9, "mg/dL", "2025-04-28"),
        lab("creatinine", 1.5, "mg/dL", "2026-11-20"),
    ]
    weights = [{"date": "2025-04-28", "kg": 64.0}, {"date": "2026-11-01", "kg": 60.0}]
    demographics = {"birth_date": "1954-03-14", "sex": "female", "weights": weights}
    rec = record(labs=labs, demographics=demographics)
    fig = timeline_figure(rec, AS_OF)
    crcl = trace(fig, "CrCl (Cockcroft-Gault)")
    first = cockcroft_gault(
        age=71, weight_kg=64.0, sex="female", creatinine=0.9, creatinine_unit="mg/dL"
    )
    last = cockcroft_gault(
        age=72, weight_kg=60.0, sex="female", creatinine=1.5, creatinine_unit="mg/dL"
    )
    assert crcl["y"] == [first.value, last.value]
    assert last.value == pytest.approx(32.1, abs=0.05)
    assert "weight 60 kg on 2026-11-01" in crcl["customdata"][1]
    axis = axis_of(fig, crcl)
    base = trace(fig, "Creatinine")["yaxis"]
    assert axis["overlaying"] == base and axis["side"] == "right"


def test_nothing_after_as_of() -> None:
    labs = [
        *CALCIUM_LABS,
        lab("creatinine", 80, "umol/L", "2026-06-01"),
        lab("creatinine", 300, "umol/L", "2026-12-01"),
        lab("alkaline_phosphatase", 150, "U/L", "2026-12-01"),
        lab("cea", 9, "ng/mL", "2027-01-01"),
    ]
    doses = [
        {"agent": "zoledronic_acid", "date": "2026-10-20", "dose": 3.5, "route": "iv"},
        {"agent": "zoledronic_acid", "date": "2026-11-21", "dose": 3.5, "route": "iv"},
    ]
    imaging = [{"date": "2026-12-02", "modality": "ct", "finding": "progression"}]
    fig = timeline_figure(record(labs=labs, bma_doses=doses, imaging=imaging), AS_OF)
    for t in fig["data"]:
        assert all(dt.date.fromisoformat(x) <= AS_OF for x in t["x"]), t["name"]
    for shape in fig["layout"]["shapes"]:
        if shape.get("xref") == "x":
            assert dt.date.fromisoformat(shape["x0"]) <= AS_OF
    assert trace(fig, "Creatinine")["y"] == [80.0]
    assert "Alkaline phosphatase" not in names(fig)
    assert "CEA" not in names(fig)
    assert "Imaging" not in names(fig)
    assert trace(fig, "Zoledronic acid")["x"] == ["2026-10-20"]


def test_dose_and_imaging_markers() -> None:
    doses = [
        {"agent": "zoledronic_acid", "date": "2025-05-05", "dose": 3.5, "route": "iv"},
        {"agent": "denosumab", "date": "2026-01-05", "dose": 120, "route": "sc"},
        {"agent": "denosumab", "date": "2026-02-05"},
    ]
    imaging = [
        {"date": "2025-04-15", "modality": "bone_scan", "finding": "new_lesion"},
        {"date": "2026-03-02", "modality": "ct"},
    ]
    fig = timeline_figure(record(bma_doses=doses, imaging=imaging), AS_OF)
    zol = trace(fig, "Zoledronic acid")
    assert zol["x"] == ["2025-05-05"] and zol["customdata"] == ["3.5 mg IV"]
    assert zol["marker"]["symbol"] == "line-ns-open"
    assert "Zoledronic acid %{customdata}" in zol["hovertemplate"]
    deno = trace(fig, "Denosumab")
    assert deno["customdata"] == ["120 mg SC", "dose not recorded"]
    scans = trace(fig, "Imaging")
    assert scans["marker"]["symbol"] == "diamond"
    assert scans["customdata"] == ["Bone scan: new lesion", "CT: finding not recorded"]
    assert scans["yaxis"] == zol["yaxis"] == "y"  # the events strip is the top panel
    dose_lines = [s for s in fig["layout"]["shapes"] if s.get("yref") == "paper"][:-1]
    assert [s["x0"] for s in dose_lines] == ["2025-05-05", "2026-01-05", "2026-02-05"]


def test_panels_only_with_data_and_layout() -> None:
    labs = [lab("alkaline_phosphatase", 150, "U/L", "2026-09-20", upper_limit=120)]
    fig = timeline_figure(record(labs=labs), AS_OF)
    assert names(fig) == ["ALP ULN", "Alkaline phosphatase"]
    assert trace(fig, "ALP ULN")["y"] == [120.0, 120.0]
    layout = fig["layout"]
    assert layout["hovermode"] == "x unified"
    assert [k for k in layout if k.startswith("yaxis")] == ["yaxis"]
    assert layout["yaxis"]["domain"] == [0.0, 1.0]
    assert layout["xaxis"]["type"] == "date" and layout["xaxis"]["anchor"] == "y"
    assert "title" not in layout
    assert 150 < layout["height"] < 400
    json.dumps(fig)  # plain JSON-able


def test_stacked_panels_share_the_date_axis() -> None:
    labs = [
        *CALCIUM_LABS,
        lab("creatinine", 80, "umol/L", "2026-06-01"),
        lab("alkaline_phosphatase", 150, "U/L", "2026-06-01"),
        lab("ca15_3", 48, "U/mL", "2026-10-01", upper_limit=30),
        lab("cea", 6.3, "ng/mL", "2026-10-01", upper_limit=5),
    ]
    doses = [{"agent": "zoledronic_acid", "date": "2026-10-20", "dose": 3.5}]
    fig = timeline_figure(record(labs=labs, bma_doses=doses), AS_OF)
    layout = fig["layout"]
    assert {t["xaxis"] for t in fig["data"]} == {"x"}
    domains = [
        layout[k]["domain"]
        for k in sorted(layout)
        if k.startswith("yaxis") and "domain" in layout[k]
    ]
    assert len(domains) == 5  # events, calcium, renal, ALP, markers
    assert domains[0][1] == 1.0 and domains[-1][0] == 0.0
    assert all(a[0] > b[1] for a, b in itertools.pairwise(domains))  # no overlap
    assert trace(fig, "CA 15-3")["y"] == [48]
    cea = trace(fig, "CEA")
    assert axis_of(fig, cea)["title"]["text"] == "CEA (ng/mL)"
    assert trace(fig, "CEA ULN")["y"] == [5, 5]


def test_empty_record() -> None:
    fig = timeline_figure(record(), AS_OF)
    assert fig["data"] == []
    assert "No results" in fig["layout"]["annotations"][0]["text"]


def test_figure_json_is_script_safe() -> None:
    fig = {"data": [{"name": "</script><b>&", "x": [dt.date(2026, 1, 2)]}], "layout": {}}
    text = figure_json(fig)
    assert "<" not in text and ">" not in text and "&" not in text
    assert orjson.loads(text) == {
        "data": [{"name": "</script><b>&", "x": ["2026-01-02"]}],
        "layout": {},
    }
    real = timeline_figure(record(labs=CALCIUM_LABS), AS_OF)
    assert orjson.loads(figure_json(real)) == real


def test_plotly_js_path() -> None:
    try:
        path = plotly_js_path()
    except FileNotFoundError:
        pytest.skip("plotly is not installed")
    assert path.name == "plotly.min.js" and path.stat().st_size > 1_000_000
    assert charts.plotly_js_version().count(".") == 2


def test_plotly_js_path_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install"):
        plotly_js_path()


def test_no_plotly_python_import() -> None:
    source = Path(charts.__file__).read_text("utf-8")
    assert "import plotly" not in source
