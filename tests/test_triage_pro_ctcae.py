"""PRO-CTCAE-style answers and the 0-10 pain score (contract additions): refused when out of
range, and read by triage only to raise the severity (knowledge/pro_ctcae.toml)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonemets.core.errors import InputError
from bonemets.core.knowledge import load
from bonemets.core.levels import Level
from bonemets.core.triage.engine import triage
from bonemets.core.triage.models import symptom_catalogue

PATIENT = {"bone_metastases": True, "spinal_metastases": True, "on_chemotherapy": False}


def run(symptom: dict[str, Any]) -> Any:
    return triage({"as_of": "2026-11-23", "patient": PATIENT, "symptoms": [symptom]})


def rules(result: Any) -> set[str]:
    return {r.rule for r in result.reasons}


@pytest.mark.parametrize(("score", "fires"), [(8, False), (9, True), (10, True)])
def test_a_pain_score_of_9_or_10_is_very_severe_pain(score: int, fires: bool) -> None:
    result = run({"code": "bone_pain", "severity": 1, "pain_score": score, "duration_days": 1})
    assert ("pain.very_severe" in rules(result)) is fires


@pytest.mark.parametrize(("interference", "fires"), [(3, False), (4, True)])
def test_interference_very_much_is_read_as_very_severe(interference: int, fires: bool) -> None:
    result = run({"code": "bone_pain", "severity": 1, "interference": interference})
    assert ("pain.very_severe" in rules(result)) is fires


def test_mild_nausea_that_gets_in_the_way_is_no_longer_self_care() -> None:
    assert run({"code": "nausea_vomiting", "severity": 1}).level.value == "self_care"
    raised = run({"code": "nausea_vomiting", "severity": 1, "interference": 3})
    assert raised.level.value != "self_care"
    assert "self_care.mild_nausea" not in rules(raised)


def test_the_answers_are_quoted_to_the_team() -> None:
    result = run({"code": "bone_pain", "severity": 2, "pain_score": 9, "frequency": 3})
    because = " ".join(b for r in result.reasons for b in r.because)
    assert "pain 9/10" in because and "frequency 3/4" in because and "severity 4" in because


@pytest.mark.parametrize(
    ("field", "value"), [("pain_score", 11), ("pain_score", -1), ("interference", 5),
                         ("frequency", 7), ("pain_score", "8")],
)  # fmt: skip
def test_out_of_range_answers_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InputError) as err:
        run({"code": "back_pain", field: value})
    assert err.value.field == f"symptoms[0].{field}"


CODES = sorted(symptom_catalogue())


@settings(max_examples=300, deadline=None)
@given(
    code=st.sampled_from(CODES),
    severity=st.integers(0, 4),
    frequency=st.none() | st.integers(0, 4),
    interference=st.none() | st.integers(0, 4),
    pain=st.none() | st.integers(0, 10),
)
def test_the_answers_never_lower_the_level(
    code: str, severity: int, frequency: int | None, interference: int | None, pain: int | None
) -> None:
    plain = {"code": code, "severity": severity}
    extra = {"frequency": frequency, "interference": interference, "pain_score": pain}
    with_answers = {**plain, **{k: v for k, v in extra.items() if v is not None}}
    assert run(with_answers).level.rank >= run(plain).level.rank


CLINICIAN_WORDS = re.compile(r"NICE|CTCAE|MRI|ESMO|ASCO|\[[VSUP]\]|unverified|policy|mmol|10\^9")


def test_every_rule_has_patient_words_without_clinician_terms() -> None:
    for rule_id, rule in load("triage_rules")["rules"].items():
        text = rule.get("patient_why", "")
        assert len(text) > 40, f"{rule_id}: no patient_why"
        assert not CLINICIAN_WORDS.search(text), f"{rule_id}: {text}"
        assert text != rule["explanation"]


def test_a_reason_carries_its_patient_words() -> None:
    (reason,) = [r for r in run({"code": "bowel_control_loss"}).reasons]
    assert reason.patient_why.startswith("Problems passing urine")
    assert "NICE" not in reason.patient_why


def test_answers_raise_only_a_symptom_reported_present() -> None:
    """Severity 0 says the symptom is absent: its answers do not make it present (mild nausea
    would be self-care advice, lower than "nothing reported"). Given as present, a 9/10 pain
    score reads as very severe."""
    absent = run({"code": "bone_pain", "severity": 0, "pain_score": 9, "interference": 4})
    assert absent.level == run({"code": "bone_pain", "severity": 0}).level == Level.ROUTINE
    assert absent.reasons == []
    present = run({"code": "bone_pain", "severity": 1, "pain_score": 9})
    assert "severity 4" in " ".join(b for r in present.reasons for b in r.because)
    assert present.level.rank > absent.level.rank
