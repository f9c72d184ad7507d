"""Cockcroft-Gault creatinine clearance (existing core function)."""

from __future__ import annotations

import pytest

from bonemets.core.errors import InputError
from bonemets.core.renal import cockcroft_gault


def test_published_worked_example() -> None:
    r = cockcroft_gault(age=72, weight_kg=60, sex="female", creatinine=1.0, creatinine_unit="mg/dL")
    # (140 - 72) x 60 / (72 x 1.0) x 0.85 = 48.17
    assert r.value == 48.2
    assert r.sex_used == "female"
    assert "cockcroft-gault-1976" in r.sources


def test_umol_equals_mg_dl() -> None:
    si = cockcroft_gault(
        age=72, weight_kg=60, sex="female", creatinine=88.4, creatinine_unit="umol/L"
    )
    assert si.value == 48.2
    assert si.creatinine_mg_dl == pytest.approx(1.0)


def test_male_factor() -> None:
    r = cockcroft_gault(age=72, weight_kg=60, sex="male", creatinine=1.0, creatinine_unit="mg/dL")
    assert r.value == 56.7  # 68 x 60 / 72
    assert r.sex_used == "male"


def test_unknown_sex_uses_female_factor_with_caveat() -> None:
    r = cockcroft_gault(age=72, weight_kg=60, sex=None, creatinine=1.0, creatinine_unit="mg/dL")
    assert r.value == 48.2
    assert r.sex_used == "female"
    assert any("0.85" in c for c in r.caveats)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("age", {"age": 17}),
        ("age", {"age": 121}),
        ("weight_kg", {"weight_kg": 10.0}),
        ("weight_kg", {"weight_kg": 400.0}),
        ("creatinine_unit", {"creatinine_unit": "mmol/dL"}),
    ],
)
def test_bad_input_refused(field: str, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "age": 60,
        "weight_kg": 70.0,
        "sex": "male",
        "creatinine": 1.0,
        "creatinine_unit": "mg/dL",
    } | kwargs
    with pytest.raises(InputError) as exc:
        cockcroft_gault(**args)  # type: ignore[arg-type]
    assert exc.value.field == field
