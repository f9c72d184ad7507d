"""WHO T-score categories and the Z-score note."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonemets.core.bone_density import tscore_category
from bonemets.core.errors import InputError

RANK = {"normal": 0, "osteopenia": 1, "osteoporosis": 2, "severe_osteoporosis": 3}


@pytest.mark.parametrize(
    ("t", "category"),
    [
        (2.0, "normal"),
        (0.0, "normal"),
        (-1.0, "normal"),
        (-1.01, "osteopenia"),
        (-2.0, "osteopenia"),
        (-2.49, "osteopenia"),
        (-2.5, "osteoporosis"),
        (-2.51, "osteoporosis"),
        (-4.0, "osteoporosis"),
    ],
)
def test_category_boundaries(t: float, category: str) -> None:
    assert tscore_category(t, age=65, sex="female", menopausal=True).category == category


def test_float_noise_does_not_cross_boundary() -> None:
    noisy_low = -2.5 + 1e-15  # -2.499999999999999, float noise for -2.5
    assert noisy_low > -2.5
    assert tscore_category(noisy_low).category == "osteoporosis"
    noisy_high = -1.0 - 1e-15  # -1.000000000000001
    assert noisy_high < -1.0
    assert tscore_category(noisy_high).category == "normal"


def test_severe_needs_fragility_fracture_and_low_t() -> None:
    assert tscore_category(-2.5, fragility_fracture=True).category == "severe_osteoporosis"
    assert tscore_category(-3.2, fragility_fracture=True).category == "severe_osteoporosis"
    r = tscore_category(-2.49, fragility_fracture=True)
    assert r.category == "osteopenia"
    assert any("fragility fracture" in c for c in r.caveats)
    assert tscore_category(-1.0, fragility_fracture=True).category == "normal"


def test_applies_to_postmenopausal_woman_and_man_50_plus() -> None:
    woman = tscore_category(-2.6, sex="female", menopausal=True, age=60)
    assert woman.applicability == "applies"
    assert woman.z_score_note is None
    assert woman.sources == ["who-tscore-1994"]
    man = tscore_category(-2.6, sex="male", age=50)
    assert man.applicability == "applies"
    assert man.z_score_note is None


def test_z_score_note_for_premenopausal_woman_and_man_under_50() -> None:
    for r in (
        tscore_category(-2.6, sex="female", menopausal=False, age=40),
        tscore_category(-2.6, sex="male", age=49),
    ):
        assert r.applicability == "use_z_score"
        assert r.z_score_note is not None and "Z-score" in r.z_score_note
        assert "-2.0" in r.z_score_note
        assert "iscd-zscore" in r.sources
        assert r.category == "osteoporosis"  # still computed; the note says it does not apply


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"sex": "female"}, {"sex": "female", "age": 55}, {"sex": "male"}, {"age": 70}],
)
def test_unknown_applicability_says_who_it_applies_to(kwargs: dict[str, object]) -> None:
    r = tscore_category(-1.5, **kwargs)  # type: ignore[arg-type]
    assert r.applicability == "unknown"
    assert r.z_score_note is not None
    assert "postmenopausal women and men aged 50" in r.z_score_note
    assert "iscd-zscore" in r.sources


def test_evidence_and_unverified() -> None:
    r = tscore_category(-1.5, sex="male", age=70)
    assert r.evidence == "S"
    assert any("[U]" in u for u in r.unverified)


@pytest.mark.parametrize(
    ("field", "args", "kwargs"),
    [
        ("t_score", (float("nan"),), {}),
        ("t_score", (-12.0,), {}),
        ("t_score", (11.0,), {}),
        ("age", (-1.0,), {"age": 5}),
        ("age", (-1.0,), {"age": 130}),
        ("sex", (-1.0,), {"sex": "x"}),
    ],
)
def test_bad_input(field: str, args: tuple[float], kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError) as exc:
        tscore_category(*args, **kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field


@given(st.floats(-10, 10), st.floats(-10, 10), st.booleans())
def test_lower_t_never_better_category(t1: float, t2: float, fracture: bool) -> None:
    lo, hi = sorted((t1, t2))
    assert (
        RANK[tscore_category(lo, fragility_fracture=fracture).category]
        >= RANK[tscore_category(hi, fragility_fracture=fracture).category]
    )
