"""Mirels' score: points, size boundaries, bands, totals, caveats and bad input."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonemets.core.errors import InputError
from bonemets.core.knowledge import sources
from bonemets.core.scores import mirels
from bonemets.core.scores.mirels import MirelsResult, band_for, size_points

SITES = ("upper_limb", "lower_limb", "peritrochanteric")
PAINS = ("mild", "moderate", "functional")
LESIONS = ("blastic", "mixed", "lytic")
# A size fraction giving 1, 2 and 3 points.
SIZES = {1: 0.2, 2: 0.5, 3: 0.9}
BAND_RANK = {"radiotherapy_observe": 0, "borderline": 1, "fixation": 2}


def score(site: int, pain: int, lesion: int, size: int) -> MirelsResult:  # points 1-3 each
    return mirels(
        site=SITES[site - 1],  # type: ignore[arg-type]
        pain=PAINS[pain - 1],  # type: ignore[arg-type]
        lesion=LESIONS[lesion - 1],  # type: ignore[arg-type]
        size_fraction=SIZES[size],
    )


def test_worked_example_maximum() -> None:
    r = mirels(site="peritrochanteric", pain="functional", lesion="lytic", size_fraction=0.7)
    assert r.score == 12
    assert r.components == {"site": 3, "pain": 3, "lesion": 3, "size": 3}
    assert r.band == "fixation"
    assert "fixation" in r.recommendation.lower()
    assert "33%" in r.fracture_risk


def test_worked_example_minimum() -> None:
    r = mirels(site="upper_limb", pain="mild", lesion="blastic", size_fraction=0.2)
    assert r.score == 4
    assert r.components == {"site": 1, "pain": 1, "lesion": 1, "size": 1}
    assert r.band == "radiotherapy_observe"
    assert "radiotherapy" in r.recommendation.lower()
    assert "4%" in r.fracture_risk


def test_middle_points() -> None:
    r = mirels(site="lower_limb", pain="moderate", lesion="mixed", size_fraction=0.5)
    assert r.components == {"site": 2, "pain": 2, "lesion": 2, "size": 2}
    assert r.score == 8
    assert r.band == "borderline"
    assert r.fracture_risk == "15%"


@pytest.mark.parametrize(
    ("fraction", "points"),
    [
        (0.01, 1),
        (0.33, 1),
        (1 / 3 - 1e-6, 1),
        (1 / 3, 2),
        (1 / 3 + 1e-6, 2),
        (0.5, 2),
        (2 / 3 - 1e-6, 2),
        (2 / 3, 2),
        (2 / 3 + 1e-6, 3),
        (0.67, 3),
        (1.0, 3),
    ],
)
def test_size_boundaries(fraction: float, points: int) -> None:
    assert size_points(fraction) == points


@pytest.mark.parametrize(
    ("points", "band"),
    [(7, "radiotherapy_observe"), (8, "borderline"), (9, "fixation")],
)
def test_band_boundaries(points: int, band: str) -> None:
    # 7 = 1+2+2+2, 8 = 2+2+2+2, 9 = 3+2+2+2
    combos = {7: (1, 2, 2, 2), 8: (2, 2, 2, 2), 9: (3, 2, 2, 2)}
    r = score(*combos[points])
    assert r.score == points
    assert r.band == band


def test_every_total_from_4_to_12_has_the_right_band() -> None:
    seen = set()
    for combo in itertools.product((1, 2, 3), repeat=4):
        r = score(*combo)
        seen.add(r.score)
        expected = (
            "fixation"
            if r.score >= 9
            else "borderline"
            if r.score == 8
            else ("radiotherapy_observe")
        )
        assert r.band == expected
    assert seen == set(range(4, 13))


def test_caveats_and_sources() -> None:
    r = score(1, 1, 1, 1)
    assert r.sources == ["mirels-1989", "jawad-scully-2010", "evans-2008"]
    assert all(s in sources() for s in r.sources)
    assert r.evidence == "S"
    text = " ".join(r.caveats)
    assert "35%" in text  # low specificity at >= 9
    assert "14.5%" in text and "82.9%" in text  # Evans 2008 humerus
    assert "diameter" in r.size_basis
    assert any("[U]" in c and "cortical" in c for c in r.unverified)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.01, float("nan"), float("inf")])
def test_bad_size_refused(bad: float) -> None:
    with pytest.raises(InputError) as exc:
        mirels(site="upper_limb", pain="mild", lesion="blastic", size_fraction=bad)
    assert exc.value.field == "size_fraction"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("site", {"site": "femur"}),
        ("pain", {"pain": "severe"}),
        ("lesion", {"lesion": "sclerotic"}),
    ],
)
def test_bad_choice_names_the_parameter(field: str, kwargs: dict[str, str]) -> None:
    args = {"site": "upper_limb", "pain": "mild", "lesion": "blastic", "size_fraction": 0.5}
    args.update(kwargs)
    with pytest.raises(InputError) as exc:
        mirels(**args)  # type: ignore[arg-type]
    assert exc.value.field == field


points = st.integers(min_value=1, max_value=3)


@given(points, points, points, points)
def test_score_is_sum_of_components(a: int, b: int, c: int, d: int) -> None:
    r = score(a, b, c, d)
    assert r.score == sum(r.components.values()) == a + b + c + d


@given(st.lists(points, min_size=4, max_size=4), st.integers(0, 3))
def test_more_points_never_lowers_the_band(combo: list[int], which: int) -> None:
    base = score(*combo)
    for higher in range(combo[which], 4):
        raised = list(combo)
        raised[which] = higher
        r = score(*raised)
        assert r.score >= base.score
        assert BAND_RANK[r.band] >= BAND_RANK[base.band]


@given(st.floats(min_value=1e-9, max_value=1.0), st.floats(min_value=1e-9, max_value=1.0))
def test_size_points_monotone(f1: float, f2: float) -> None:
    lo, hi = sorted((f1, f2))
    assert size_points(lo) <= size_points(hi)


@given(st.integers(4, 12), st.integers(4, 12))
def test_band_monotone_in_score(s1: int, s2: int) -> None:
    lo, hi = sorted((s1, s2))
    assert BAND_RANK[band_for(lo)["name"]] <= BAND_RANK[band_for(hi)["name"]]


@pytest.mark.parametrize("total", [3, 13])
def test_band_outside_range_refused(total: int) -> None:
    with pytest.raises(InputError):
        band_for(total)
