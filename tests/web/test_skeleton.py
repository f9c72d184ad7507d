from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET
from typing import get_args

import pytest

from bonemets.core.pathway.models import LesionResult, ScoreSummary
from bonemets.core.record import LesionSite
from bonemets.drawing.skeleton import (
    PAIRED_SITES,
    LesionMark,
    legend_svg,
    mark_from,
    site_position,
    skeleton_svg,
)

NS = {"s": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def markers(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//s:g[@class='lesions']/s:g", NS)


def centre(marker: ET.Element) -> tuple[float, float]:
    circle = marker.findall("s:circle", NS)[-1]  # the marker, after any leader-line dot
    return float(circle.get("cx", "nan")), float(circle.get("cy", "nan"))


def test_empty_figure_is_valid_accessible_svg() -> None:
    root = parse(skeleton_svg([]))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.findtext("s:title", namespaces=NS) == "Skeleton: no bone lesions recorded"
    assert root.findtext("s:desc", namespaces=NS) == "No bone lesions are recorded."
    title_id = root.find("s:title", NS).get("id")  # type: ignore[union-attr]
    desc_id = root.find("s:desc", NS).get("id")  # type: ignore[union-attr]
    assert root.get("aria-labelledby") == f"{title_id} {desc_id}"
    assert markers(root) == []
    assert root.find(".//s:script", NS) is None
    assert "style" not in skeleton_svg([])  # no CSS: works under a strict CSP


def test_width_scales_height() -> None:
    root = parse(skeleton_svg([], width=520))
    assert root.get("width") == "520"
    _, _, vw, vh = (float(v) for v in root.get("viewBox", "").split())
    assert int(root.get("height", "0")) == round(520 * vh / vw)


@pytest.mark.parametrize("site", get_args(LesionSite))
def test_every_record_site_has_a_position_inside_the_figure(site: str) -> None:
    root = parse(skeleton_svg([LesionMark(site, "lytic", "high", f"lesion at {site}")]))
    (marker,) = markers(root)
    assert marker.get("data-site") == site
    x, y = centre(marker)
    _, _, vw, vh = (float(v) for v in root.get("viewBox", "").split())
    assert 0 < x < vw and 0 < y < vh
    assert (x, y) == pytest.approx(site_position(site), abs=0.06)  # 1 decimal in the SVG


def test_vertebrae_run_down_the_midline_in_order() -> None:
    levels = [s for s in get_args(LesionSite) if s[0] in "CTLS" and s[1:].isdigit()]
    assert len(levels) == 29
    positions = [site_position(level) for level in levels]
    assert all(x == pytest.approx(110.0) for x, _ in positions)
    ys = [y for _, y in positions]
    assert ys == sorted(ys) and len(set(ys)) == 29


def test_paired_sites_mirror_and_default_to_the_right() -> None:
    assert "femur_shaft" in PAIRED_SITES and "T12" not in PAIRED_SITES
    assert "sternum" not in PAIRED_SITES and "skull" not in PAIRED_SITES
    rx, ry = site_position("femur_shaft", "right")
    lx, ly = site_position("femur_shaft", "left")
    assert site_position("femur_shaft") == (rx, ry)
    assert ry == ly and rx < 110 < lx  # patient's right on the viewer's left
    assert rx + lx == pytest.approx(220.0)
    assert site_position("T12", "left") == site_position("T12", "right")


def test_side_not_recorded_is_said_in_the_tooltip() -> None:
    root = parse(skeleton_svg([LesionMark("femur_shaft", "lytic", None, "Femur shaft")]))
    assert markers(root)[0].findtext("s:title", namespaces=NS) == (
        "Femur shaft (side not recorded; drawn on the right)"
    )
    root = parse(skeleton_svg([LesionMark("femur_shaft", "lytic", None, "F", side="left")]))
    assert markers(root)[0].findtext("s:title", namespaces=NS) == "F"
    root = parse(skeleton_svg([LesionMark("T4", "lytic", None, "T4")]))
    assert markers(root)[0].findtext("s:title", namespaces=NS) == "T4"


@pytest.mark.parametrize(
    ("kind", "css", "fill", "letter"),
    [
        ("lytic", "lesion--lytic", "#0072B2", "L"),
        ("blastic", "lesion--blastic", "#CC79A7", "B"),
        ("mixed", "lesion--mixed", "url(#", "M"),
        (None, "lesion--unknown", "#ffffff", "?"),
    ],
)
def test_fill_and_letter_by_type(kind: str | None, css: str, fill: str, letter: str) -> None:
    root = parse(skeleton_svg([LesionMark("T7", kind, None, "x")]))
    (marker,) = markers(root)
    assert css in (marker.get("class") or "").split()
    circle = marker.find("s:circle", NS)
    assert circle is not None and (circle.get("fill") or "").startswith(fill)
    assert marker.findtext("s:text", namespaces=NS) == letter


def test_mixed_fill_is_half_lytic_half_blastic_gradient() -> None:
    root = parse(skeleton_svg([LesionMark("T7", "mixed", None, "x")], id_prefix="p1"))
    grad = root.find(".//s:linearGradient[@id='p1-mixed']", NS)
    assert grad is not None
    assert [s.get("stop-color") for s in grad] == ["#0072B2", "#CC79A7"]
    circle = markers(root)[0].find("s:circle", NS)
    assert circle is not None and circle.get("fill") == "url(#p1-mixed)"


@pytest.mark.parametrize(
    ("risk", "css", "stroke", "width", "dashed"),
    [
        ("high", "risk--high", "#8B0000", 2.6, False),
        ("moderate", "risk--moderate", "#D98200", 2.2, True),
        ("low", "risk--low", "#6b6b6b", 0.9, False),
        (None, "risk--none", "#6b6b6b", 0.9, False),
    ],
)
def test_outline_by_risk(
    risk: str | None, css: str, stroke: str, width: float, dashed: bool
) -> None:
    root = parse(skeleton_svg([LesionMark("rib", "lytic", risk, "x")]))
    (marker,) = markers(root)
    assert css in (marker.get("class") or "").split()
    circle = marker.find("s:circle", NS)
    assert circle is not None
    assert circle.get("stroke") == stroke
    assert float(circle.get("stroke-width", "0")) == width
    assert (circle.get("stroke-dasharray") is not None) is dashed


def test_labels_are_escaped() -> None:
    label = 'T12 <script>alert("x")</script> & "quoted" — SINS 11'
    svg = skeleton_svg([LesionMark("T12", "lytic", "moderate", label)])
    assert "<script>" not in svg
    root = parse(svg)
    assert markers(root)[0].findtext("s:title", namespaces=NS) == label
    assert label in (root.findtext("s:desc", namespaces=NS) or "")


def test_same_site_lesions_are_offset_with_a_leader_line() -> None:
    marks = [LesionMark("rib", "lytic", "low", f"rib {i}", side="left") for i in range(4)]
    root = parse(skeleton_svg(marks))
    found = markers(root)
    centres = [centre(m) for m in found]
    assert centres[0] == pytest.approx(site_position("rib", "left"), abs=0.06)
    for i, a in enumerate(centres):
        for b in centres[i + 1 :]:
            assert math.dist(a, b) >= 1.5 * 5.6 - 1e-9
    assert found[0].find("s:line", NS) is None
    for marker in found[1:]:
        line = marker.find("s:line", NS)
        assert line is not None
        assert (float(line.get("x1", "0")), float(line.get("y1", "0"))) == pytest.approx(
            site_position("rib", "left"), abs=0.06
        )


def test_adjacent_levels_do_not_hide_each_other() -> None:
    root = parse(
        skeleton_svg([LesionMark("C3", "lytic", None, "a"), LesionMark("C4", None, None, "b")])
    )
    a, b = (centre(m) for m in markers(root))
    assert math.dist(a, b) >= 1.5 * 5.6 - 1e-9


def test_title_and_desc_summarise_the_lesions() -> None:
    marks = [
        LesionMark("T12", "mixed", "moderate", "T12 mixed — SINS 11 potentially unstable"),
        LesionMark("femur_peritrochanteric", "lytic", "high", "Femur lytic — Mirels 10"),
        LesionMark("rib", "blastic", None, "Rib blastic", side="left"),
    ]
    root = parse(skeleton_svg(marks))
    assert root.findtext("s:title", namespaces=NS) == "Skeleton: 3 bone lesions"
    desc = root.findtext("s:desc", namespaces=NS) or ""
    assert desc.startswith("3 bone lesions (1 high and 1 moderate fracture or instability risk): ")
    assert "T12 mixed — SINS 11 potentially unstable [mixed, moderate risk]" in desc
    assert "Rib blastic [blastic, risk not scored]" in desc
    assert "(side not recorded; drawn on the right)" in desc


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        (LesionMark("knee", "lytic", None, "x"), "'knee'"),
        (LesionMark("rib", "osteoporotic", None, "x"), "'osteoporotic'"),
        (LesionMark("rib", "lytic", "severe", "x"), "'severe'"),
        (LesionMark("rib", "lytic", None, "x", side="middle"), "'middle'"),
    ],
)
def test_unknown_values_are_refused_naming_them(mark: LesionMark, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        skeleton_svg([mark])


def test_legend() -> None:
    root = parse(legend_svg())
    assert root.get("role") == "img"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for words in ("lytic", "blastic", "mixed", "type not recorded", "high", "moderate"):
        assert words in texts
    with_legend = parse(skeleton_svg([]))
    assert with_legend.find(".//s:g[@class='legend']", NS) is not None
    assert parse(skeleton_svg([], legend=False)).find(".//s:g[@class='legend']", NS) is None


def test_ids_are_stable_and_overridable() -> None:
    marks = [LesionMark("T1", "lytic", None, "x")]
    assert skeleton_svg(marks) == skeleton_svg(marks)
    assert 'id="mine-title"' in skeleton_svg(marks, id_prefix="mine")


# --- mark_from ------------------------------------------------------------------------------------


def summary(score: int, band: str) -> ScoreSummary:
    return ScoreSummary(score=score, band=band, recommendation="r")


DAY = dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("result", "risk"),
    [
        (
            LesionResult(
                site="femur_shaft", type="lytic", date=DAY, mirels=summary(10, "fixation")
            ),
            "high",
        ),
        (
            LesionResult(
                site="femur_shaft", type="lytic", date=DAY, mirels=summary(8, "borderline")
            ),
            "moderate",
        ),
        (
            LesionResult(
                site="radius", type="blastic", date=DAY, mirels=summary(6, "radiotherapy_observe")
            ),
            "low",
        ),
        (LesionResult(site="T12", type="mixed", date=DAY, sins=summary(13, "unstable")), "high"),
        (
            LesionResult(
                site="T12", type="mixed", date=DAY, sins=summary(11, "potentially_unstable")
            ),
            "moderate",
        ),
        (LesionResult(site="L2", type="blastic", date=DAY, sins=summary(4, "stable")), "low"),
        (LesionResult(site="rib", type="blastic", date=DAY, note="No score applies."), None),
    ],
)
def test_mark_from_maps_bands_to_risk(result: LesionResult, risk: str | None) -> None:
    mark = mark_from(result)
    assert mark.risk == risk
    assert mark.site == result.site and mark.type == result.type and mark.side is None


def test_mark_from_label() -> None:
    result = LesionResult(
        site="T12", type="mixed", date=DAY, sins=summary(11, "potentially_unstable")
    )
    assert mark_from(result).label == "T12 mixed — SINS 11 potentially unstable (seen 2026-03-02)"
    result = LesionResult(
        site="femur_peritrochanteric", type="lytic", date=DAY, mirels=summary(10, "fixation")
    )
    assert mark_from(result, side="left").label == (
        "Femur, peritrochanteric lytic — Mirels 10 prophylactic fixation (seen 2026-03-02)"
    )
    assert mark_from(result, side="left").side == "left"
    result = LesionResult(
        site="sacrum", type=None, date=DAY, note="SINS not scored: give the level."
    )
    assert mark_from(result).label == (
        "Sacrum (level not given) type not recorded — SINS not scored: give the level. "
        "(seen 2026-03-02)"
    )


def test_mark_from_real_assessment() -> None:
    from bonemets.core.pathway.lesions import assess_lesions
    from bonemets.core.record import Record

    record = Record.model_validate(
        {
            "id": "p",
            "lesions": [
                {
                    "date": "2026-03-02",
                    "site": "femur_peritrochanteric",
                    "type": "lytic",
                    "size_fraction": 0.7,
                    "pain": "functional",
                },
                {"date": "2026-03-02", "site": "rib", "type": "blastic"},
            ],
        }
    )
    marks = [mark_from(r) for r in assess_lesions(record)]
    assert [(m.site, m.risk) for m in marks] == [("femur_peritrochanteric", "high"), ("rib", None)]
    parse(skeleton_svg(marks))
