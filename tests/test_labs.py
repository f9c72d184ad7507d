"""Corrected calcium, unit conversion and CTCAE v5 grades: worked examples and every boundary on
both sides, in both unit systems."""

from __future__ import annotations

import pytest

from bonemets.core.errors import InputError
from bonemets.core.labs import corrected_calcium, ctcae_grade, usual_range
from bonemets.core.units import convert


def test_corrected_calcium_worked_examples() -> None:
    # mg/dL (Zometa US PI): 10.0 + 0.8 x (4.0 - 2.5) = 11.2
    cc = corrected_calcium(10.0, "mg/dL", 2.5, "g/dL")
    assert cc.value == pytest.approx(11.2)
    assert cc.unit == "mg/dL"
    # mmol/L (UK): 2.30 + 0.02 x (40 - 25) = 2.60
    assert corrected_calcium(2.30, "mmol/L", 25, "g/L").value == pytest.approx(2.60)
    # albumin above 40 g/L lowers the corrected value
    assert corrected_calcium(2.50, "mmol/L", 45, "g/L").value == pytest.approx(2.40)
    # mixed units are converted: albumin 30 g/L = 3.0 g/dL
    assert corrected_calcium(9.0, "mg/dL", 30, "g/L").value == pytest.approx(9.8)
    assert corrected_calcium(2.2, "mmol/L", 3.0, "g/dL").value == pytest.approx(2.4)


def test_bondronat_form_equals_uk_form() -> None:
    for ca, alb in [(2.1, 22.0), (2.6, 41.0), (3.0, 35.5)]:
        uk = corrected_calcium(ca, "mmol/L", alb, "g/L").value
        assert uk == pytest.approx(ca - 0.02 * alb + 0.8)


@pytest.mark.parametrize(
    ("code", "value", "src", "dst", "expected"),
    [
        ("calcium_total", 10.0, "mg/dL", "mmol/L", 2.495),
        ("calcium_total", 2.5, "mmol/L", "mg/dL", 10.02),
        ("albumin", 3.5, "g/dL", "g/L", 35.0),
        ("creatinine", 1.0, "mg/dL", "umol/L", 88.4),
        ("creatinine", 176.8, "µmol/L", "mg/dL", 2.0),
        ("haemoglobin", 8.0, "g/dL", "g/L", 80.0),
        ("vitamin_d_25oh", 20.0, "ng/mL", "nmol/L", 49.92),
    ],
)
def test_unit_conversion(code: str, value: float, src: str, dst: str, expected: float) -> None:
    assert convert(code, value, src, dst) == pytest.approx(expected, rel=1e-3)


# (criterion, unit, value just inside the lower grade, value just over, grade below, grade above)
BOUNDARIES = [
    ("hypercalcaemia", "mmol/L", 2.9, 2.91, 1, 2),
    ("hypercalcaemia", "mmol/L", 3.1, 3.11, 2, 3),
    ("hypercalcaemia", "mmol/L", 3.4, 3.41, 3, 4),
    ("hypercalcaemia", "mg/dL", 11.5, 11.6, 1, 2),
    ("hypercalcaemia", "mg/dL", 12.5, 12.6, 2, 3),
    ("hypercalcaemia", "mg/dL", 13.5, 13.6, 3, 4),
    ("hypocalcaemia", "mmol/L", 2.0, 1.99, 1, 2),
    ("hypocalcaemia", "mmol/L", 1.75, 1.74, 2, 3),
    ("hypocalcaemia", "mmol/L", 1.5, 1.49, 3, 4),
    ("hypocalcaemia", "mg/dL", 8.0, 7.9, 1, 2),
    ("hypocalcaemia", "mg/dL", 7.0, 6.9, 2, 3),
    ("hypocalcaemia", "mg/dL", 6.0, 5.9, 3, 4),
    ("hypercalcaemia_ionized", "mmol/L", 1.5, 1.51, 1, 2),
    ("hypercalcaemia_ionized", "mmol/L", 1.6, 1.61, 2, 3),
    ("hypercalcaemia_ionized", "mmol/L", 1.8, 1.81, 3, 4),
    ("hypocalcaemia_ionized", "mmol/L", 1.0, 0.99, 1, 2),
    ("hypocalcaemia_ionized", "mmol/L", 0.9, 0.89, 2, 3),
    ("hypocalcaemia_ionized", "mmol/L", 0.8, 0.79, 3, 4),
    ("platelets_decreased", "10*9/L", 75, 74.9, 1, 2),
    ("platelets_decreased", "10*9/L", 50, 49.9, 2, 3),
    ("platelets_decreased", "10*9/L", 25, 24.9, 3, 4),
    ("anaemia", "g/L", 100, 99, 1, 2),
    ("anaemia", "g/L", 80, 79, 2, 3),
    ("anaemia", "g/dL", 10.0, 9.9, 1, 2),
    ("anaemia", "g/dL", 8.0, 7.9, 2, 3),
    ("hypoalbuminaemia", "g/L", 30, 29, 1, 2),
    ("hypoalbuminaemia", "g/dL", 2.0, 1.9, 2, 3),
]


@pytest.mark.parametrize(("criterion", "unit", "inside", "over", "below", "above"), BOUNDARIES)
def test_ctcae_boundaries(
    criterion: str, unit: str, inside: float, over: float, below: int, above: int
) -> None:
    assert ctcae_grade(criterion, inside, unit).grade == below
    assert ctcae_grade(criterion, over, unit).grade == above


def test_grade_1_starts_at_the_laboratory_limit() -> None:
    assert ctcae_grade("hypercalcaemia", 2.6, "mmol/L").grade == 0
    g = ctcae_grade("hypercalcaemia", 2.61, "mmol/L")
    assert g.grade == 1 and g.limit_from == "default" and g.evidence == "U"
    assert any("default" in c for c in g.caveats)
    # the laboratory's own limit wins and is not flagged
    g = ctcae_grade("hypercalcaemia", 2.61, "mmol/L", upper_limit=2.65)
    assert g.grade == 0
    g = ctcae_grade("hypercalcaemia", 2.66, "mmol/L", upper_limit=2.65)
    assert g.grade == 1 and g.limit_from == "laboratory" and g.evidence == "V" and not g.caveats
    assert ctcae_grade("hypercalcaemia", 10.4, "mg/dL").grade == 0
    assert ctcae_grade("hypercalcaemia", 10.5, "mg/dL").grade == 1
    assert ctcae_grade("hypocalcaemia", 2.2, "mmol/L").grade == 0
    assert ctcae_grade("hypocalcaemia", 2.19, "mmol/L").grade == 1
    assert ctcae_grade("hypocalcaemia", 8.8, "mg/dL").grade == 0
    assert ctcae_grade("hypocalcaemia", 8.7, "mg/dL").grade == 1


def test_float_noise_does_not_cross_a_boundary() -> None:
    cc = corrected_calcium(2.5, "mmol/L", 20, "g/L")  # 2.5 + 0.02 x 20 = 2.9 exactly
    assert ctcae_grade("hypercalcaemia", cc.value, cc.unit).grade == 1


def test_uln_multiples() -> None:
    assert ctcae_grade("alkaline_phosphatase_increased", 250, "U/L", upper_limit=100).grade == 1
    assert ctcae_grade("alkaline_phosphatase_increased", 251, "U/L", upper_limit=100).grade == 2
    assert ctcae_grade("alkaline_phosphatase_increased", 500, "U/L", upper_limit=100).grade == 2
    assert ctcae_grade("alkaline_phosphatase_increased", 501, "U/L", upper_limit=100).grade == 3
    assert ctcae_grade("alkaline_phosphatase_increased", 2001, "U/L", upper_limit=100).grade == 4
    assert ctcae_grade("creatinine_increased", 1.5, "mg/dL", upper_limit=1.0).grade == 1
    assert ctcae_grade("creatinine_increased", 1.51, "mg/dL", upper_limit=1.0).grade == 2
    assert ctcae_grade("creatinine_increased", 3.01, "mg/dL", upper_limit=1.0).grade == 3
    assert ctcae_grade("creatinine_increased", 6.01, "mg/dL", upper_limit=1.0).grade == 4
    # against a baseline: above 1.5 x baseline is grade 2 even when within 1.5 x ULN
    assert (
        ctcae_grade("creatinine_increased", 1.4, "mg/dL", upper_limit=1.2, baseline=0.9).grade == 2
    )


def test_ionised_calcium_in_mg_dl_is_graded_in_mmol() -> None:
    assert ctcae_grade("hypercalcaemia_ionized", 7.0, "mg/dL").grade == 3  # 1.75 mmol/L


def test_unknown_sex_takes_the_stricter_default() -> None:
    assert ctcae_grade("anaemia", 125, "g/L", sex="female").grade == 0
    assert ctcae_grade("anaemia", 125, "g/L", sex="male").grade == 1
    assert ctcae_grade("anaemia", 125, "g/L").grade == 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("hypercalcaemia", 40.0, "mmol/L"), "value"),
        (("hypercalcaemia", 2.5, "g/L"), "unit"),
        (("no_such", 2.5, "mmol/L"), "criterion"),
    ],
)
def test_bad_input_names_the_field(args: tuple[str, float, str], field: str) -> None:
    with pytest.raises(InputError) as err:
        ctcae_grade(*args)
    assert err.value.field == field


def test_unit_mix_up_gets_a_hint() -> None:
    with pytest.raises(InputError, match=r"is the unit mg/dL"):
        ctcae_grade("hypercalcaemia", 10.2, "mmol/L")


@pytest.mark.parametrize(
    ("lower", "upper", "expected"),
    [
        (None, None, (45.0, 90.0, "default")),  # female defaults, umol/L
        (None, 80.0, (45.0, 80.0, "laboratory")),  # a stricter laboratory ULN is kept
        (50.0, None, (50.0, 90.0, "laboratory")),
        (0.6, 1.0, (0.6 * 88.4, 1.0 * 88.4, "laboratory")),  # given in mg/dL
    ],
)
def test_usual_range_takes_each_limit_the_laboratory_gave(
    lower: float | None, upper: float | None, expected: tuple[float, float, str]
) -> None:
    unit = "mg/dL" if upper == 1.0 else "umol/L"
    found = usual_range("creatinine", "umol/L", "female", lower=lower, upper=upper, given_unit=unit)
    assert found is not None
    assert found[:2] == pytest.approx(expected[:2]) and found[2] == expected[2]


def test_usual_range_is_unknown_when_a_limit_is() -> None:
    assert usual_range("vitamin_d_25oh", "nmol/L", None) is None  # no default range
    assert usual_range("vitamin_d_25oh", "nmol/L", None, upper=250.0) is None
    found = usual_range("vitamin_d_25oh", "nmol/L", None, lower=50.0, upper=250.0)
    assert found == (50.0, 250.0, "laboratory")
