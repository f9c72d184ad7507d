"""Values the patient typed in: triaged and marked "to confirm", never used for dosing, holds,
lab alerts or monitoring, and never in place of a confirmed value (issue 15, item 6)."""

from __future__ import annotations

from typing import Any

from bonemets.core.levels import Level
from bonemets.core.pathway import assess
from bonemets.core.record import Record
from bonemets.core.triage import triage
from tests.pathway.builders import D, creat, lab, on_agent

DENTAL = [{"date": "2025-12-20", "outcome": "fit"}]


def typed(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "reported_by_patient": True}


def test_a_creatinine_typed_in_by_the_patient_does_not_withhold_the_dose() -> None:
    base = [creat(1.0, "2026-01-28"), lab("calcium_corrected", 2.4, "mmol/L", "2026-01-28")]
    confirmed = on_agent(dental_exams=DENTAL, labs=base)
    typed_in = on_agent(
        dental_exams=DENTAL, labs=[*base, typed(creat(450.0, "2026-01-30", "umol/L"))]
    )
    as_of = D("2026-02-02")
    assert assess(confirmed, as_of).bma.status == "due"
    after = assess(typed_in, as_of)
    assert after.bma.status == "due"
    assert not [a for a in after.alerts if a.rule == "labs.creatinine_increased"]
    # The same value from the laboratory does withhold: the difference is the provenance only.
    lab_value = on_agent(dental_exams=DENTAL, labs=[*base, creat(450.0, "2026-01-30", "umol/L")])
    assert assess(lab_value, as_of).bma.status == "withhold"


def test_a_low_calcium_typed_in_is_triaged_but_does_not_fail_the_denosumab_check() -> None:
    record = on_agent(
        "denosumab",
        crcl=None,
        dental_exams=DENTAL,
        labs=[
            lab("calcium_corrected", 2.4, "mmol/L", "2026-01-20"),
            typed(lab("calcium_corrected", 1.6, "mmol/L", "2026-01-30")),
        ],
    )
    result = assess(record, D("2026-02-02"))
    calcium = next(c for c in result.bma.checks if c.check == "calcium")
    assert (calcium.status, calcium.date) == ("pass", D("2026-01-20"))
    low = [a for a in result.alerts if a.rule == "labs.hypocalcaemia"]
    assert low and low[0].level is Level.EMERGENCY  # grade 3: the patient is told at once
    assert "reported by the patient, to confirm" in low[0].message


def test_a_normal_value_typed_in_never_hides_a_confirmed_high_one() -> None:
    report = {
        "as_of": "2026-11-23",
        "symptoms": [],
        "labs": [
            {"code": "calcium_corrected", "value": 3.5, "unit": "mmol/L", "date": "2026-11-20"},
            {
                "code": "calcium_corrected",
                "value": 2.4,
                "unit": "mmol/L",
                "date": "2026-11-22",
                "reported_by_patient": True,
            },
        ],
    }
    result = triage(report)
    assert result.level is Level.EMERGENCY
    hyper = next(r for r in result.reasons if r.rule == "labs.hypercalcaemia")
    assert "2026-11-20" in hyper.because[0]
    assert "to confirm" not in hyper.because[0]
    # Without the confirmed value, the patient's normal value is just that.
    only_typed = {**report, "labs": report["labs"][1:]}
    assert triage(only_typed).level is not Level.EMERGENCY


def test_a_value_typed_in_does_not_count_as_the_blood_test_done() -> None:
    data: dict[str, Any] = {
        "id": "m1",
        "labs": [
            lab("calcium_corrected", 2.4, "mmol/L", "2026-06-01"),
            typed(lab("calcium_corrected", 2.4, "mmol/L", "2026-11-01")),
        ],
    }
    chemistry = next(
        m
        for m in assess(Record.model_validate(data), D("2026-11-23")).monitoring
        if m.test == "blood_chemistry"
    )
    assert chemistry.last == D("2026-06-01")
