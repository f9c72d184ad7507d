"""Lesions: Mirels for long bones, SINS for the spine, where the inputs are recorded."""

from __future__ import annotations

from bonemets.core.pathway import LesionResult, assess
from bonemets.core.record import Record
from tests.pathway.builders import D, patient


def _lesions(*lesions: dict[str, object]) -> list[LesionResult]:
    return list(
        assess(Record.model_validate(patient(lesions=list(lesions))), D("2026-03-01")).lesions
    )


def test_mirels_for_a_peritrochanteric_lytic_lesion() -> None:
    (result,) = _lesions(
        {
            "date": "2026-02-01",
            "site": "femur_peritrochanteric",
            "type": "lytic",
            "size_fraction": 0.7,
            "pain": "functional",
        }
    )
    assert result.mirels is not None
    assert (result.mirels.score, result.mirels.band) == (12, "fixation")


def test_mirels_upper_limb_low_score() -> None:
    (result,) = _lesions(
        {
            "date": "2026-02-01",
            "site": "humerus_shaft",
            "type": "blastic",
            "size_fraction": 0.2,
            "pain": "mild",
        }
    )
    assert result.mirels is not None
    assert (result.mirels.score, result.mirels.band) == (4, "radiotherapy_observe")


def test_mirels_missing_input_is_said() -> None:
    (result,) = _lesions({"date": "2026-02-01", "site": "tibia", "type": "lytic"})
    assert result.mirels is None
    assert result.note is not None
    assert "pain" in result.note and "size_fraction" in result.note


def test_sins_for_a_vertebral_lesion() -> None:
    sins = {
        "pain": "mechanical",
        "alignment": "normal",
        "collapse": "under_50",
        "posterolateral": "unilateral",
    }
    (result,) = _lesions({"date": "2026-02-01", "site": "T12", "type": "lytic", "sins": sins})
    # junctional 3 + mechanical 3 + lytic 2 + normal 0 + under 50% 2 + unilateral 1 = 11
    assert result.sins is not None
    assert (result.sins.score, result.sins.band) == (11, "potentially_unstable")
    assert result.sins.surgical_opinion is True


def test_latest_entry_of_a_lesion_id_counts_and_future_entries_do_not() -> None:
    old = {
        "id": "a",
        "date": "2026-01-01",
        "site": "femur_shaft",
        "type": "blastic",
        "size_fraction": 0.2,
        "pain": "mild",
    }
    new = {**old, "date": "2026-02-01", "type": "lytic", "size_fraction": 0.7, "pain": "functional"}
    future = {**old, "date": "2026-04-01", "type": "mixed"}
    results = _lesions(old, new, future)
    assert len(results) == 1
    assert results[0].type == "lytic"
    assert results[0].mirels is not None and results[0].mirels.score == 11


def test_fixation_band_raises_an_alert() -> None:
    lesion = {
        "date": "2026-02-01",
        "site": "femur_peritrochanteric",
        "type": "lytic",
        "size_fraction": 0.7,
        "pain": "functional",
    }
    result = assess(Record.model_validate(patient(lesions=[lesion])), D("2026-03-01"))
    assert any(a.rule == "lesions.mirels_fixation" and a.level == "soon" for a in result.alerts)
