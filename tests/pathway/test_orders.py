"""`check_proposed` and `check_plausible_dose`: a dose about to be given, checked against the
record (the one implementation behind CDS order-sign and the app's dose entry)."""

from __future__ import annotations

from typing import Any

import pytest

from bonemets.core.errors import InputError
from bonemets.core.pathway.orders import (
    ProposedDose,
    check_plausible_dose,
    check_proposed,
    needs_override,
)
from bonemets.core.record import Record
from tests.pathway.builders import D, creat, lab, on_agent

DENTAL = [{"date": "2025-12-20", "outcome": "fit"}]
CALCIUM = [lab("calcium_corrected", 2.4, "mmol/L", "2026-01-20")]


def za(day: str, dose: float | None = 4.0, **kw: Any) -> ProposedDose:
    return ProposedDose(
        agent="zoledronic_acid", date=D(day), dose=dose, unit="mg", route="iv", **kw
    )


def ready(**kw: Any) -> Record:
    """On zoledronic acid since 2026-01-05 (CrCl 70), dental exam done, creatinine and calcium
    measured before the next dose."""
    labs = [creat(1.0, "2026-01-28"), *CALCIUM, *kw.pop("labs", [])]
    return on_agent(dental_exams=DENTAL, labs=labs, **kw)


def rules(record: Record, proposed: ProposedDose) -> dict[str, bool]:
    """rule -> whether it needs an override."""
    return {f.rule: f.override for f in check_proposed(record, proposed)}


# --- Plausible doses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "route", "dose", "ok"),
    [
        ("zoledronic_acid", "iv", 400.0, False),
        ("zoledronic_acid", "iv", 5.0, True),
        ("zoledronic_acid", "iv", 5.01, False),
        ("zoledronic_acid", "iv", 3.0, True),
        ("zoledronic_acid", "iv", 2.99, False),
        ("pamidronate", "iv", 90.0, True),
        ("pamidronate", "iv", 90.5, False),
        ("ibandronate", "iv", 6.0, True),
        ("ibandronate", "iv", 50.0, False),  # the oral tablet's dose, given as IV
        ("ibandronate", "oral", 50.0, True),
        ("clodronate", "oral", 3200.0, True),
        ("clodronate", "oral", 3201.0, False),
        ("denosumab", "sc", 120.0, True),
        ("denosumab", "sc", 60.0, True),
        ("denosumab", "sc", 59.0, False),
        ("denosumab", "sc", 121.0, False),
    ],
)
def test_implausible_doses_are_refused_naming_the_dose(
    agent: Any, route: Any, dose: float, ok: bool
) -> None:
    proposed = ProposedDose(agent=agent, date=D("2026-02-02"), dose=dose, unit="mg", route=route)
    if ok:
        check_plausible_dose(proposed, required=True)
    else:
        with pytest.raises(InputError) as exc:
            check_plausible_dose(proposed, required=True)
        assert exc.value.field == "dose"
        assert f"{dose:g} mg" in exc.value.message


def test_a_recorded_dose_must_say_how_much_and_in_mg() -> None:
    with pytest.raises(InputError, match="how many mg") as exc:
        check_plausible_dose(za("2026-02-02", None), required=True)
    assert exc.value.field == "dose"
    check_plausible_dose(za("2026-02-02", None), required=False)  # an order may leave it out
    grams = ProposedDose(agent="zoledronic_acid", date=D("2026-02-02"), dose=4.0, unit="g")
    with pytest.raises(InputError) as exc:
        check_plausible_dose(grams, required=True)
    assert exc.value.field == "unit"


# --- Findings -------------------------------------------------------------------------------------


def test_a_due_dose_with_every_check_passed_needs_no_override() -> None:
    findings = check_proposed(ready(), za("2026-02-02"))
    assert needs_override(findings) == []


@pytest.mark.parametrize(("day", "too_soon"), [("2026-01-26", False), ("2026-01-25", True)])
def test_too_soon_boundary_of_the_due_window(day: str, too_soon: bool) -> None:
    # Last dose 2026-01-05, every 4 weeks: due 2026-02-02; a dose is due from 7 days before it.
    record = ready(labs=[creat(1.0, "2026-01-20")])
    assert rules(record, za(day)).get("bma.interval") is (True if too_soon else None)


def test_a_second_dose_on_the_same_day_is_too_soon_and_says_so() -> None:
    record = ready(doses=["2026-01-05", "2026-02-02"])
    found = [f for f in check_proposed(record, za("2026-02-02")) if f.rule == "bma.interval"]
    assert found and found[0].override
    assert "already recorded on 2026-02-02" in found[0].message


def test_kidney_rise_withholds_and_needs_an_override() -> None:
    # Baseline 1.0 mg/dL; 1.5 is a rise of 0.5 from a normal baseline: withhold.
    record = on_agent(dental_exams=DENTAL, labs=[creat(1.5, "2026-01-28"), *CALCIUM])
    found = {f.rule: f for f in check_proposed(record, za("2026-02-02"))}
    assert found["bma.kidney_rise"].severity == "critical"
    assert found["bma.kidney_rise"].override
    assert found["bma.kidney_rise"].headline.startswith("Zoledronic acid: withhold: Creatinine")


def test_no_dental_exam_needs_an_override() -> None:
    record = on_agent(labs=[creat(1.0, "2026-01-28"), *CALCIUM])
    assert rules(record, za("2026-02-02"))["bma.dental_exam"] is True


def test_no_bone_metastases_means_not_indicated() -> None:
    record = ready(cancer={"primary_site": "breast", "bone_metastases": False})
    assert rules(record, za("2026-02-02"))["bma.not_indicated"] is True


def _died(record: Record, day: str | None) -> Record:
    demographics = record.demographics.model_copy(
        update={"deceased": True, "deceased_date": D(day) if day else None}
    )
    return record.model_copy(update={"demographics": demographics})


@pytest.mark.parametrize(
    ("died", "dose_day", "flagged"),
    [("2026-02-02", "2026-02-02", True), ("2026-02-01", "2026-02-02", True),
     ("2026-02-03", "2026-02-02", False), (None, "2026-02-02", True)],
)  # fmt: skip
def test_a_dose_on_or_after_the_recorded_death_is_critical_and_needs_a_reason(
    died: str | None, dose_day: str, flagged: bool
) -> None:
    """A wrong-patient signal; a past dose entered after the death (dated before it) is not."""
    findings = {f.rule: f for f in check_proposed(_died(ready(), died), za(dose_day))}
    assert ("bma.deceased" in findings) is flagged
    if flagged:
        found = findings["bma.deceased"]
        assert (found.severity, found.override, found.evidence) == ("critical", True, "P")
        assert found.unverified and found.sources == ["bonemets-policy"]
        assert "check that this is the right patient" in found.message
        assert (f"died on {died}" in found.headline) is (died is not None)
    assert "bma.deceased" not in rules(ready(), za(dose_day))


def test_a_dose_above_the_kidney_dose_is_critical_and_below_it_a_warning() -> None:
    record = ready(crcl=45.0)  # 3.3 mg band
    above = {f.rule: f for f in check_proposed(record, za("2026-02-02", 4.0))}["bma.dose"]
    assert (above.severity, above.override, above.advised_dose) == ("critical", True, 3.3)
    below = {f.rule: f for f in check_proposed(record, za("2026-02-02", 3.0))}["bma.dose"]
    assert (below.severity, below.override) == ("warning", False)
    assert [f.rule for f in check_proposed(record, za("2026-02-02", 3.3))] == []


def test_low_calcium_before_denosumab_needs_an_override() -> None:
    record = on_agent(
        "denosumab",
        crcl=None,
        dental_exams=DENTAL,
        labs=[lab("calcium_corrected", 1.9, "mmol/L", "2026-01-30")],
    )
    proposed = ProposedDose(
        agent="denosumab", date=D("2026-02-02"), dose=120.0, unit="mg", route="sc"
    )
    found = {f.rule: f for f in check_proposed(record, proposed)}
    assert found["bma.low_calcium"].override
    assert found["bma.low_calcium"].severity == "critical"


def test_findings_are_ordered_most_serious_first() -> None:
    record = on_agent(labs=[creat(1.5, "2026-01-28"), *CALCIUM])
    severities = [f.severity for f in check_proposed(record, za("2026-02-02"))]
    order = {"critical": 0, "warning": 1, "info": 2}
    assert severities == sorted(severities, key=order.__getitem__)
