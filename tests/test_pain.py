"""WHO pain ladder: score to step, drug classes, NSAID cautions, opioid advice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonemets.core.errors import InputError
from bonemets.core.pain import pain_ladder

REASSURING = {
    "egfr_or_crcl": 90.0,
    "heart_failure": False,
    "platelets": 250.0,
    "on_anticoagulant": False,
    "age": 50,
}


@pytest.mark.parametrize(
    ("score", "step", "severity"),
    [
        (0, 0, "none"),
        (1, 1, "mild"),
        (3, 1, "mild"),
        (4, 2, "moderate"),
        (6, 2, "moderate"),
        (7, 3, "severe"),
        (10, 3, "severe"),
    ],
)
def test_score_to_step(score: int, step: int, severity: str) -> None:
    r = pain_ladder(score)
    assert (r.step, r.severity) == (step, severity)
    assert r.evidence == "P"
    assert any("policy" in u for u in r.unverified)


def test_drug_classes_per_step() -> None:
    assert pain_ladder(0).drug_classes == []
    assert "non-opioid" in pain_ladder(2).drug_classes[0]
    assert "weak opioid" in pain_ladder(5).drug_classes[0]
    assert "codeine" in pain_ladder(5).drug_classes[0]
    assert "strong opioid" in pain_ladder(8).drug_classes[0]
    assert "morphine" in pain_ladder(8).drug_classes[0]


def test_principles() -> None:
    text = " ".join(pain_ladder(5).principles).lower()
    assert "by the mouth" in text and "by the clock" in text and "by the ladder" in text
    assert "3-6 hours" in text


def test_opioid_constipation_advice_only_at_steps_2_and_3() -> None:
    assert pain_ladder(3).opioid_advice == []
    for score in (4, 10):
        r = pain_ladder(score)
        assert any("constipation" in a for a in r.opioid_advice)
        assert "seed:bone-metastases-and-metastatic-breast-cancer" in r.sources


def test_no_cautions_when_all_reassuring() -> None:
    r = pain_ladder(5, **REASSURING)  # type: ignore[arg-type]
    assert r.nsaid_cautions == []


def test_every_unknown_gives_a_caution() -> None:
    r = pain_ladder(2)
    assert {(c.factor, c.reason) for c in r.nsaid_cautions} == {
        ("kidney", "unknown"),
        ("heart_failure", "unknown"),
        ("platelets", "unknown"),
        ("anticoagulant", "unknown"),
        ("age_renal", "unknown"),
    }
    kidney = next(c for c in r.nsaid_cautions if c.factor == "kidney")
    assert "check kidney function before an NSAID" in kidney.message
    assert "nsaid-cautions" in r.sources


def test_no_cautions_at_step_0() -> None:
    assert pain_ladder(0).nsaid_cautions == []


@pytest.mark.parametrize(
    ("change", "factor", "shown"),
    [
        ({"egfr_or_crcl": 59.9}, "kidney", True),
        ({"egfr_or_crcl": 60.0}, "kidney", False),
        ({"heart_failure": True}, "heart_failure", True),
        ({"platelets": 49.0}, "platelets", True),
        ({"platelets": 50.0}, "platelets", False),
        ({"on_anticoagulant": True}, "anticoagulant", True),
        ({"age": 65}, "age_renal", False),
        ({"age": 66}, "age_renal", True),
        ({"age": 75}, "age_gi", False),
        ({"age": 76}, "age_gi", True),
    ],
)
def test_caution_thresholds(change: dict[str, object], factor: str, shown: bool) -> None:
    r = pain_ladder(5, **(REASSURING | change))  # type: ignore[arg-type]
    found = [c for c in r.nsaid_cautions if c.factor == factor]
    assert bool(found) is shown
    if shown:
        assert found[0].reason == "present"


def test_platelet_caution_is_flagged_unverified() -> None:
    r = pain_ladder(5, **(REASSURING | {"platelets": 30.0}))  # type: ignore[arg-type]
    caution = next(c for c in r.nsaid_cautions if c.factor == "platelets")
    assert caution.evidence == "U"
    assert "ctcae-v5" in caution.sources
    assert any("platelet" in u for u in r.unverified)


def test_heart_failure_message_names_diclofenac() -> None:
    r = pain_ladder(5, **(REASSURING | {"heart_failure": True}))  # type: ignore[arg-type]
    assert "diclofenac" in r.nsaid_cautions[0].message


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("score", {"score": -1}),
        ("score", {"score": 11}),
        ("score", {"score": 2.5}),
        ("egfr_or_crcl", {"egfr_or_crcl": -5.0}),
        ("platelets", {"platelets": float("nan")}),
        ("age", {"age": 12}),
        ("heart_failure", {"heart_failure": "yes"}),
    ],
)
def test_bad_input(field: str, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"score": 5} | kwargs
    with pytest.raises(InputError) as exc:
        pain_ladder(**args)  # type: ignore[arg-type]
    assert exc.value.field == field


maybe_bool = st.sampled_from([None, True, False])


@given(
    st.integers(1, 10),
    st.one_of(st.none(), st.floats(0, 300)),
    maybe_bool,
    st.one_of(st.none(), st.floats(0, 3000)),
    maybe_bool,
    st.one_of(st.none(), st.integers(18, 120)),
)
def test_unknown_never_fewer_cautions_than_known(
    score: int,
    egfr: float | None,
    hf: bool | None,
    plt: float | None,
    anticoag: bool | None,
    age: int | None,
) -> None:
    known = pain_ladder(
        score,
        egfr_or_crcl=egfr,
        heart_failure=hf,
        platelets=plt,
        on_anticoagulant=anticoag,
        age=age,
    )
    unknown = pain_ladder(score)
    known_factors = {c.factor for c in known.nsaid_cautions} - {"age_gi"}
    assert known_factors <= {c.factor for c in unknown.nsaid_cautions}


@given(st.integers(0, 9))
def test_step_monotone(score: int) -> None:
    assert pain_ladder(score + 1).step >= pain_ladder(score).step
