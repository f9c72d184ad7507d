"""SINS: location map, component points, bands, totals and bad input."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonemets.core.errors import InputError
from bonemets.core.scores import LEVELS, sins, sins_location_category
from bonemets.core.scores.sins import SinsResult, band_for

JUNCTIONAL = ["occiput", "C1", "C2", "C7", "T1", "T2", "T11", "T12", "L1", "L5", "S1"]
MOBILE = ["C3", "C4", "C5", "C6", "L2", "L3", "L4"]
SEMIRIGID = ["T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10"]
RIGID = ["S2", "S3", "S4", "S5"]
EXPECTED = (
    {lv: "junctional" for lv in JUNCTIONAL}
    | {lv: "mobile" for lv in MOBILE}
    | {lv: "semirigid" for lv in SEMIRIGID}
    | {lv: "rigid" for lv in RIGID}
)

# Options of each component, in increasing points, with the points.
OPTIONS: dict[str, list[tuple[str, int]]] = {
    "location": [("rigid", 0), ("semirigid", 1), ("mobile", 2), ("junctional", 3)],
    "pain": [("none", 0), ("occasional", 1), ("mechanical", 3)],
    "lesion": [("blastic", 0), ("mixed", 1), ("lytic", 2)],
    "alignment": [("normal", 0), ("de_novo_deformity", 2), ("subluxation", 4)],
    "collapse": [("none", 0), ("none_over_50_involved", 1), ("under_50", 2), ("over_50", 3)],
    "posterolateral": [("none", 0), ("unilateral", 1), ("bilateral", 3)],
}
BAND_RANK = {"stable": 0, "potentially_unstable": 1, "unstable": 2}


def run(**values: str) -> SinsResult:
    return sins(**values)  # type: ignore[arg-type]


def test_level_list_is_complete() -> None:
    assert len(LEVELS) == 1 + 7 + 12 + 5 + 5
    assert set(LEVELS) == set(EXPECTED)


@pytest.mark.parametrize(("level", "category"), sorted(EXPECTED.items()))
def test_every_level_category(level: str, category: str) -> None:
    assert sins_location_category(level) == (category, level)
    assert sins_location_category(level.lower()) == (category, level)


@pytest.mark.parametrize("category", ["junctional", "mobile", "semirigid", "rigid"])
def test_category_accepted(category: str) -> None:
    assert sins_location_category(category) == (category, None)


@pytest.mark.parametrize(("component", "options"), sorted(OPTIONS.items()))
def test_component_points(component: str, options: list[tuple[str, int]]) -> None:
    base = {name: opts[0][0] for name, opts in OPTIONS.items()}
    for value, points in options:
        r = run(**(base | {component: value}))
        assert r.components[component] == points
        assert r.score == points


def test_pain_is_3_1_0_not_3_2_1() -> None:
    base = {name: opts[0][0] for name, opts in OPTIONS.items()}
    assert run(**(base | {"pain": "mechanical"})).components["pain"] == 3
    assert run(**(base | {"pain": "occasional"})).components["pain"] == 1
    assert run(**(base | {"pain": "none"})).components["pain"] == 0


def test_worked_example_t12() -> None:
    r = sins(
        location="T12",
        pain="mechanical",
        lesion="lytic",
        alignment="normal",
        collapse="over_50",
        posterolateral="none",
    )
    assert r.components == {
        "location": 3,
        "pain": 3,
        "lesion": 2,
        "alignment": 0,
        "collapse": 3,
        "posterolateral": 0,
    }
    assert r.score == 11
    assert r.band == "potentially_unstable"
    assert r.surgical_opinion is True
    assert r.location_category == "junctional"
    assert r.level == "T12"
    assert r.sources == ["fisher-2010", "fourney-2011"]


def test_minimum_and_maximum() -> None:
    low = {name: opts[0][0] for name, opts in OPTIONS.items()}
    high = {name: opts[-1][0] for name, opts in OPTIONS.items()}
    r_low, r_high = run(**low), run(**high)
    assert (r_low.score, r_low.band, r_low.surgical_opinion) == (0, "stable", False)
    assert (r_high.score, r_high.band, r_high.surgical_opinion) == (18, "unstable", True)


@pytest.mark.parametrize(
    ("values", "total", "band", "opinion"),
    [
        # 6: mobile 2 + occasional 1 + mixed 1 + under_50 2
        (
            {"location": "L3", "pain": "occasional", "lesion": "mixed", "collapse": "under_50"},
            6,
            "stable",
            False,
        ),
        # 7: junctional 3 + occasional 1 + mixed 1 + under_50 2
        (
            {"location": "C2", "pain": "occasional", "lesion": "mixed", "collapse": "under_50"},
            7,
            "potentially_unstable",
            True,
        ),
        # 12: junctional 3 + mechanical 3 + lytic 2 + de novo 2 + none_over_50 1 + unilateral 1
        (
            {
                "location": "L5",
                "pain": "mechanical",
                "lesion": "lytic",
                "alignment": "de_novo_deformity",
                "collapse": "none_over_50_involved",
                "posterolateral": "unilateral",
            },
            12,
            "potentially_unstable",
            True,
        ),
        # 13: as 12 but under_50 collapse (2)
        (
            {
                "location": "L5",
                "pain": "mechanical",
                "lesion": "lytic",
                "alignment": "de_novo_deformity",
                "collapse": "under_50",
                "posterolateral": "unilateral",
            },
            13,
            "unstable",
            True,
        ),
    ],
)
def test_band_boundaries(values: dict[str, str], total: int, band: str, opinion: bool) -> None:
    base = {name: opts[0][0] for name, opts in OPTIONS.items()}
    r = run(**(base | values))
    assert r.score == total
    assert r.band == band
    assert r.surgical_opinion is opinion


def test_every_combination_band() -> None:
    totals = set()
    for combo in itertools.product(*OPTIONS.values()):
        r = run(**{name: value for name, (value, _) in zip(OPTIONS, combo, strict=True)})
        assert r.score == sum(points for _, points in combo)
        totals.add(r.score)
        expected = (
            "stable" if r.score <= 6 else "potentially_unstable" if r.score <= 12 else ("unstable")
        )
        assert r.band == expected
        assert r.surgical_opinion is (r.score >= 7)
    assert totals == set(range(19))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("location", "T13"),
        ("location", "coccyx"),
        ("location", ""),
        ("pain", "moderate"),
        ("lesion", "sclerotic"),
        ("alignment", "kyphosis"),
        ("collapse", "50"),
        ("posterolateral", "both"),
    ],
)
def test_bad_value_names_parameter(field: str, value: str) -> None:
    base = {name: opts[0][0] for name, opts in OPTIONS.items()}
    with pytest.raises(InputError) as exc:
        run(**(base | {field: value}))
    assert exc.value.field == field


choice = st.fixed_dictionaries({name: st.sampled_from(opts) for name, opts in OPTIONS.items()})


@given(choice)
def test_score_is_sum_of_components(picked: dict[str, tuple[str, int]]) -> None:
    r = run(**{name: value for name, (value, _) in picked.items()})
    assert r.score == sum(r.components.values()) == sum(p for _, p in picked.values())


@given(choice, st.sampled_from(sorted(OPTIONS)))
def test_more_points_never_lowers_the_band(picked: dict[str, tuple[str, int]], comp: str) -> None:
    base = run(**{name: value for name, (value, _) in picked.items()})
    for value, points in OPTIONS[comp]:
        if points < picked[comp][1]:
            continue
        r = run(**({name: v for name, (v, _) in picked.items()} | {comp: value}))
        assert r.score >= base.score
        assert BAND_RANK[r.band] >= BAND_RANK[base.band]
        assert r.surgical_opinion >= base.surgical_opinion


@given(st.integers(0, 18), st.integers(0, 18))
def test_band_monotone_in_score(s1: int, s2: int) -> None:
    lo, hi = sorted((s1, s2))
    assert BAND_RANK[band_for(lo)["name"]] <= BAND_RANK[band_for(hi)["name"]]
