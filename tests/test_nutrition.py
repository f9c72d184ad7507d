"""Calcium and vitamin D daily targets (IOM 2011) and the drug supplement minimum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonemets.core.errors import InputError
from bonemets.core.nutrition import daily_intake


@pytest.mark.parametrize(
    ("age", "sex", "calcium", "vit_d_iu", "vit_d_ug", "band"),
    [
        (19, "female", 1000, 600, 15, "19-50"),
        (19, "male", 1000, 600, 15, "19-50"),
        (50, "female", 1000, 600, 15, "19-50"),
        (50, "male", 1000, 600, 15, "19-50"),
        (51, "female", 1200, 600, 15, "51-70"),
        (51, "male", 1000, 600, 15, "51-70"),
        (70, "female", 1200, 600, 15, "51-70"),
        (70, "male", 1000, 600, 15, "51-70"),
        (71, "female", 1200, 800, 20, "71+"),
        (71, "male", 1200, 800, 20, "71+"),
        (95, "male", 1200, 800, 20, "71+"),
    ],
)
def test_rda_table(
    age: int, sex: str, calcium: int, vit_d_iu: int, vit_d_ug: int, band: str
) -> None:
    r = daily_intake(age, sex)  # type: ignore[arg-type]
    assert (r.calcium_mg, r.vitamin_d_iu, r.vitamin_d_ug, r.age_band) == (
        calcium,
        vit_d_iu,
        vit_d_ug,
        band,
    )
    assert r.sources[0] == "iom-2011"
    assert r.evidence == "S"


@pytest.mark.parametrize(("age", "calcium"), [(30, 1000), (51, 1200), (70, 1200), (80, 1200)])
def test_unknown_sex_takes_higher_target(age: int, calcium: int) -> None:
    r = daily_intake(age, None)
    assert r.calcium_mg == calcium
    assert r.calcium_mg == max(
        daily_intake(age, "female").calcium_mg, daily_intake(age, "male").calcium_mg
    )


def test_unknown_sex_caveat_only_when_it_matters() -> None:
    assert any("Sex unknown" in c for c in daily_intake(60, None).caveats)
    assert not any("Sex unknown" in c for c in daily_intake(30, None).caveats)


def test_drug_supplement_minimum() -> None:
    s = daily_intake(60, "female").drug_supplement
    assert (s.calcium_mg, s.vitamin_d_iu, s.vitamin_d_ug) == (500, 400, 10)
    assert s.sources == ["zometa-label", "xgeva-smpc"]
    assert s.evidence == "V"
    assert set(s.agents) == {"zoledronic acid", "denosumab"}


@pytest.mark.parametrize("age", [0, 10, 18])
def test_under_19_refused(age: int) -> None:
    with pytest.raises(InputError) as exc:
        daily_intake(age, "female")
    assert exc.value.field == "age"


def test_bad_sex_and_age_refused() -> None:
    with pytest.raises(InputError) as exc:
        daily_intake(40, "x")  # type: ignore[arg-type]
    assert exc.value.field == "sex"
    with pytest.raises(InputError) as exc:
        daily_intake(121, "male")
    assert exc.value.field == "age"


@given(st.integers(19, 119), st.sampled_from(["female", "male", None]))
def test_targets_never_fall_with_age(age: int, sex: str | None) -> None:
    now, later = daily_intake(age, sex), daily_intake(age + 1, sex)  # type: ignore[arg-type]
    assert later.calcium_mg >= now.calcium_mg
    assert later.vitamin_d_iu >= now.vitamin_d_iu
    assert now.vitamin_d_ug * 40 == now.vitamin_d_iu
