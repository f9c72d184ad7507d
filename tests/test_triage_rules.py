"""Each triage rule of the contract, on both sides of its condition."""

from __future__ import annotations

from typing import Any

import pytest

from bonemets.core.errors import InputError
from bonemets.core.triage import triage

KNOWN = {
    "spinal_metastases": False,
    "on_chemotherapy": False,
    "bma": {"agent": "none"},
    "on_opioids": False,
    # Added with acute oncology: unknown treatment is read as possibly on it.
    "on_immunotherapy": False,
    "on_targeted_therapy": False,
}


def run(
    symptoms: list[dict[str, Any]], labs: list[dict[str, Any]] | None = None, **patient: Any
) -> Any:
    report: dict[str, Any] = {"symptoms": symptoms, "patient": {**KNOWN, **patient}}
    if labs:
        report["labs"] = labs
    if "as_of" in patient:
        report["as_of"] = report["patient"].pop("as_of")
    return triage(report)


def level(*args: Any, **kwargs: Any) -> str:
    return str(run(*args, **kwargs).level)


def rules(*args: Any, **kwargs: Any) -> set[str]:
    return {r.rule for r in run(*args, **kwargs).reasons}


def S(code: str, **kw: Any) -> dict[str, Any]:
    return {"code": code, **kw}


# --- emergency ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "symptom",
    [
        S("limb_weakness", site="arms"),
        S("limb_weakness", site="legs", severity=1),
        S("limb_weakness"),
        S("difficulty_walking"),
        S("bladder_problem"),
        S("bowel_control_loss"),
        S("numbness_tingling", site="legs"),
        S("numbness_tingling", site="arms"),
        S("numbness_tingling", site="trunk"),
        S("numbness_tingling", site="saddle"),
        S("numbness_tingling"),  # no site: could be anywhere
        S("radiating_pain", site="leg"),
        S("radiating_pain", site="chest_band"),
        S("suspected_fracture"),
        S("seizure"),
        S("confusion"),
        S("shortness_of_breath", features=["sudden"]),
        S("chest_pain"),
        S("coughing_blood"),
    ],
)
def test_emergency_symptoms(symptom: dict[str, Any]) -> None:
    assert level([symptom]) == "emergency"


def test_hands_feet_numbness_emergency_only_with_back_pain_or_spinal_disease() -> None:
    hands = S("numbness_tingling", site="hands")
    assert level([hands]) == "urgent"
    assert level([S("numbness_tingling", site="feet")]) == "urgent"
    assert level([hands, S("back_pain", site="lower_back")]) == "emergency"
    assert level([hands], spinal_metastases=True) == "emergency"
    assert level([hands], spinal_metastases=None) == "emergency"  # unknown is not "no"
    assert "mscc.sensory_with_spinal_risk" in rules([hands], spinal_metastases=True)


def test_fever_on_chemotherapy() -> None:
    fever = S("fever", features=["temperature_38_or_more"])
    assert level([fever], on_chemotherapy=True) == "emergency"
    assert level([fever], on_chemotherapy=None) == "emergency"
    assert level([fever], on_chemotherapy=False) == "urgent"
    assert level([S("fever")], on_chemotherapy=True) == "emergency"
    out = run([fever], on_chemotherapy=True)
    assert out.reasons[0].rule == "infection.fever_on_chemotherapy"
    # 37.5 C and below 36 C are on the alert cards [V]; paracetamol is never advised first.
    assert not out.reasons[0].unverified and "chemo-alert-card" in out.reasons[0].sources
    assert any("paracetamol" in a and a.startswith("Do not") for a in out.advice)
    # Either side of 37.5 C and of 36 C, measured, on chemotherapy:
    assert level([S("fever", temperature_c=37.5)], on_chemotherapy=True) == "emergency"
    assert level([S("fever", temperature_c=37.4)], on_chemotherapy=True) == "urgent"
    assert level([S("fever", temperature_c=36.0)], on_chemotherapy=True) == "urgent"
    assert level([S("fever", temperature_c=35.9)], on_chemotherapy=True) == "emergency"
    shivery = S("fever", temperature_c=37.0, features=["shivers"])
    assert level([shivery], on_chemotherapy=True) == "emergency"
    unwell = S("fever", temperature_c=36.8, features=["feeling_unwell"])
    assert level([unwell], on_chemotherapy=True) == "emergency"
    # Other systemic treatment, or chemotherapy stopped 6 weeks ago or less, counts too.
    assert level([fever], on_immunotherapy=True) == "emergency"
    assert level([fever], on_targeted_therapy=True) == "emergency"
    assert level([fever], on_immunotherapy=None) == "emergency"
    assert level([fever], days_since_chemotherapy=42) == "emergency"
    assert level([fever], days_since_chemotherapy=43) == "urgent"


def test_confusion_or_drowsiness_with_a_calcium_symptom() -> None:
    # Drowsiness alone is UKONS Amber at any severity (issue 21); with a calcium sign, emergency.
    assert level([S("drowsiness", severity=1)]) == "urgent"
    assert level([S("drowsiness"), S("thirst")]) == "emergency"
    assert level([S("drowsiness"), S("fatigue", severity=1)]) == "urgent"
    assert "calcium.severe_symptoms" in rules([S("confusion"), S("constipation")])


# --- calcium labs, both units, both sides -------------------------------------------------------


def CA(
    value: float, unit: str = "mmol/L", code: str = "calcium_corrected", **kw: Any
) -> dict[str, Any]:
    return {"code": code, "value": value, "unit": unit, **kw}


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (3.11, "mmol/L", "emergency"),
        (3.1, "mmol/L", "urgent"),
        (2.91, "mmol/L", "urgent"),
        (2.9, "mmol/L", "soon"),
        (2.61, "mmol/L", "soon"),
        (2.6, "mmol/L", "routine"),
        (12.6, "mg/dL", "emergency"),
        (12.5, "mg/dL", "urgent"),
        (11.6, "mg/dL", "urgent"),
        (11.5, "mg/dL", "soon"),
        (10.5, "mg/dL", "soon"),
        (10.4, "mg/dL", "routine"),
        (1.74, "mmol/L", "emergency"),
        (1.75, "mmol/L", "urgent"),
        (1.99, "mmol/L", "urgent"),
        (2.0, "mmol/L", "soon"),
        (2.19, "mmol/L", "soon"),
        (2.2, "mmol/L", "routine"),
        (6.9, "mg/dL", "emergency"),
        (7.0, "mg/dL", "urgent"),
        (7.9, "mg/dL", "urgent"),
        (8.0, "mg/dL", "soon"),
        (8.7, "mg/dL", "soon"),
        (8.8, "mg/dL", "routine"),
    ],
)
def test_corrected_calcium_levels(value: float, unit: str, expected: str) -> None:
    assert level([], [CA(value, unit)]) == expected


def test_total_calcium_is_corrected_with_albumin() -> None:
    # 2.75 + 0.02 x (40 - 20) = 3.15: grade 3 -> emergency, though the total alone is grade 1
    labs = [
        CA(2.75, code="calcium_total", date="2026-11-01"),
        {"code": "albumin", "value": 20, "unit": "g/L", "date": "2026-11-01"},
    ]
    out = run([], labs)
    assert out.level == "emergency"
    assert "3.15" in out.reasons[0].because[0]
    # mg/dL: 11.0 + 0.8 x (4.0 - 2.0) = 12.6 -> emergency
    labs = [
        CA(11.0, "mg/dL", code="calcium_total"),
        {"code": "albumin", "value": 2.0, "unit": "g/dL"},
    ]
    assert level([], labs) == "emergency"


def test_total_calcium_without_albumin_is_graded_uncorrected_and_says_so() -> None:
    out = run([], [CA(2.95, code="calcium_total")])
    assert out.level == "urgent"
    assert any("no albumin" in c for c in out.caveats)


def test_ionised_calcium_on_its_own_scale() -> None:
    assert level([], [CA(1.61, code="calcium_ionized")]) == "emergency"
    assert level([], [CA(1.6, code="calcium_ionized")]) == "urgent"
    assert level([], [CA(0.89, code="calcium_ionized")]) == "emergency"
    assert level([], [CA(0.9, code="calcium_ionized")]) == "urgent"


def test_laboratory_limits_decide_grade_1() -> None:
    assert level([], [CA(2.62, upper_limit=2.65)]) == "routine"
    assert level([], [CA(2.66, upper_limit=2.65)]) == "soon"
    out = run([], [CA(2.62)])
    assert out.level == "soon" and out.reasons[0].unverified


def test_latest_lab_wins_and_undated_labs_take_the_worst() -> None:
    old_high = CA(3.3, date="2026-10-01")
    new_normal = CA(2.4, date="2026-11-01")
    assert level([], [old_high, new_normal]) == "routine"
    assert level([], [CA(3.3), CA(2.4)]) == "emergency"


def test_low_calcium_symptoms_on_a_bone_modifying_agent() -> None:
    mouth = S("numbness_tingling", site="around_mouth")
    assert level([mouth], bma={"agent": "denosumab"}) == "urgent"
    assert level([mouth], bma=None) == "urgent"  # unknown agent
    assert level([mouth]) == "soon"  # known not to be on one
    assert level([S("muscle_cramps_twitching")], bma={"agent": "zoledronic_acid"}) == "urgent"


# --- urgent -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "back_pain",
    [
        S("back_pain", site="lower_back", features=["worse_at_night"]),
        S("back_pain", site="lower_back", features=["worse_lying_down"]),
        S("back_pain", site="lower_back", features=["worse_on_straining"]),
        S("back_pain", site="lower_back", features=["worse_on_movement"]),
        S("back_pain", site="lower_back", features=["unremitting"]),
        S("back_pain", site="lower_back", features=["tender_spot"]),
        S("back_pain", site="lower_back", trend="worse"),
        S("back_pain", site="neck"),
        S("back_pain", site="upper_back"),
        S("back_pain", site="mid_back"),
        S("back_pain"),  # site unknown: could be thoracic
    ],
)
def test_spinal_pain_is_urgent(back_pain: dict[str, Any]) -> None:
    assert level([back_pain]) == "urgent"
    assert "mscc.spinal_pain" in rules([back_pain])


def test_plain_lower_back_pain() -> None:
    plain = S("back_pain", site="lower_back", trend="same", duration_days=3)
    assert level([plain]) == "routine"
    assert level([plain], spinal_metastases=True) == "soon"
    assert level([plain], spinal_metastases=None) == "soon"


def test_calcium_symptom_cluster() -> None:
    assert level([S("thirst")]) == "routine"
    assert level([S("thirst"), S("thirst")]) == "routine"  # the same symptom twice is one
    for pair in [
        ("thirst", "constipation"),
        ("loss_of_appetite", "muscle_weakness"),
        ("nausea_vomiting", "passing_much_urine"),
    ]:
        assert level([S(pair[0]), S(pair[1])]) == "urgent"


@pytest.mark.parametrize(
    ("symptom", "expected"),
    [
        (S("leg_swelling", features=["one_leg"]), "urgent"),
        (S("leg_swelling"), "soon"),
        (S("leg_pain_redness_warmth"), "urgent"),
        (S("line_site_swelling"), "urgent"),
        (S("bruising_bleeding"), "urgent"),
        (S("shortness_of_breath"), "urgent"),
        (S("headache", severity=3), "urgent"),
        (S("headache", severity=2, trend="worse"), "urgent"),
        (S("headache", severity=2, trend="same"), "routine"),
        (S("bone_pain", site="arm", severity=4, duration_days=1), "urgent"),
        (S("bone_pain", site="arm", severity=3, duration_days=1), "urgent"),
        (S("bone_pain", site="arm", severity=2, duration_days=1, trend="new"), "urgent"),
        (S("bone_pain", site="arm", severity=2, duration_days=1, trend="same"), "routine"),
    ],
)
def test_urgent_and_neighbours(symptom: dict[str, Any], expected: str) -> None:
    assert level([symptom]) == expected


@pytest.mark.parametrize(
    ("code", "value", "unit", "expected"),
    [
        ("platelets", 49.9, "10*9/L", "urgent"),
        ("platelets", 50, "10*9/L", "routine"),
        ("haemoglobin", 79, "g/L", "urgent"),
        ("haemoglobin", 80, "g/L", "routine"),
        ("haemoglobin", 7.9, "g/dL", "urgent"),
        ("haemoglobin", 8.0, "g/dL", "routine"),
    ],
)
def test_blood_count_thresholds(code: str, value: float, unit: str, expected: str) -> None:
    assert level([], [{"code": code, "value": value, "unit": unit}]) == expected


# --- soon ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["jaw_pain", "loose_teeth", "gum_problem", "exposed_bone_mouth"])
def test_jaw_symptoms_are_soon(code: str) -> None:
    assert level([S(code, severity=1)]) == "soon"


def test_thigh_and_ear_symptoms_on_a_bone_modifying_agent() -> None:
    for code in ("thigh_hip_groin_pain", "ear_pain_discharge"):
        assert level([S(code, duration_days=2)], bma={"agent": "denosumab"}) == "soon"
        assert level([S(code, duration_days=2)], bma=None) == "soon"
    assert level([S("ear_pain_discharge")]) == "routine"
    assert level([S("thigh_hip_groin_pain", duration_days=2)]) == "routine"
    assert level([S("thigh_hip_groin_pain", duration_days=20)]) == "soon"


def test_bone_pain_duration_boundary_is_flagged_unverified() -> None:
    assert level([S("bone_pain", site="ribs", duration_days=13)]) == "routine"
    out = run([S("bone_pain", site="ribs", duration_days=14)])
    assert out.level == "soon" and out.reasons[0].rule == "bone.persistent_pain"
    assert out.reasons[0].evidence == "U" and out.reasons[0].unverified
    assert (
        level([S("bone_pain", site="ribs", duration_days=3, trend="worse", severity=1)]) == "soon"
    )
    assert level([S("bone_pain", site="ribs")]) == "soon"  # duration unknown


# --- self care and routine ----------------------------------------------------------------------


def dose_on(last: str) -> dict[str, str]:
    return {"agent": "zoledronic_acid", "last_dose": last}


def test_flu_like_window() -> None:
    flu = [S("flu_like_after_infusion")]
    assert level(flu, as_of="2026-11-23", bma=dose_on("2026-11-20")) == "self_care"
    assert level(flu, as_of="2026-11-23", bma=dose_on("2026-11-23")) == "self_care"
    assert level(flu, as_of="2026-11-23", bma=dose_on("2026-11-19")) == "routine"
    assert level(flu, bma=dose_on("2026-11-21")) == "routine"  # no as_of: cannot tell


def test_constipation_and_nausea() -> None:
    assert level([S("constipation", severity=1)], on_opioids=True) == "self_care"
    assert level([S("constipation", severity=1)], on_opioids=None) == "routine"
    # Moderate is UKONS Amber (issue 21): no longer left for the next appointment.
    assert level([S("constipation", severity=2)], on_opioids=True) == "urgent"
    assert level([S("nausea_vomiting", severity=1)]) == "self_care"
    assert level([S("nausea_vomiting", severity=2)]) == "urgent"


def test_free_text_is_carried_and_floors_at_routine() -> None:
    out = run([S("nausea_vomiting", severity=1)])
    assert out.level == "self_care" and out.free_text is None
    report = {"symptoms": [S("nausea_vomiting", severity=1)], "free_text": "the pain is bad"}
    out = triage(report)
    assert out.level == "routine" and out.free_text == "the pain is bad"
    assert "report.free_text" in {r.rule for r in out.reasons}
    assert triage({"symptoms": [], "free_text": "   "}).level == "routine"


def test_severity_zero_means_absent_and_default_severity_is_moderate() -> None:
    assert level([S("limb_weakness", severity=0)]) == "routine"
    assert (
        run([S("bone_pain", site="ribs", duration_days=1)])
        .reasons[0]
        .because[0]
        .count("severity 2")
    )


def test_empty_report() -> None:
    out = triage({"symptoms": []})
    assert out.level == "routine" and out.reasons == [] and not out.clinician_alert


def test_reasons_sorted_most_urgent_first_with_inputs_and_sources() -> None:
    out = run([S("jaw_pain"), S("limb_weakness", site="legs"), S("thirst"), S("constipation")])
    ranks = [r.level.rank for r in out.reasons]
    assert ranks == sorted(ranks, reverse=True)
    assert out.reasons[0].rule == "mscc.neurological"
    assert out.advice[0].startswith("Call the emergency number")
    assert out.clinician_alert


def test_spec_example_reason_quotes_back_pain() -> None:
    out = run(
        [S("limb_weakness", site="legs"), S("back_pain", site="mid_back")], spinal_metastases=True
    )
    first = out.reasons[0]
    assert first.rule == "mscc.neurological"
    assert any(b.startswith("limb_weakness (legs") for b in first.because)
    assert any(b.startswith("back_pain (mid_back") for b in first.because)
    assert "nice-ng234" in first.sources


@pytest.mark.parametrize(
    ("report", "field"),
    [
        ({"symptoms": [{"code": "bone_pain", "severity": 7}]}, "symptoms[0].severity"),
        ({"symptoms": [{"code": "bone_pain", "severity": 2.5}]}, "symptoms[0].severity"),
        ({"symptoms": [{"code": "bone_pain", "severity": True}]}, "symptoms[0].severity"),
        ({"symptoms": [{"code": "elbow"}]}, "symptoms[0].code"),
        ({"symptoms": [{"code": "back_pain", "features": ["sudden"]}]}, "symptoms[0].features[0]"),
        (
            {"symptoms": [], "labs": [{"code": "calcium_total", "value": 40, "unit": "mmol/L"}]},
            "labs[0].value",
        ),
        (
            {"symptoms": [], "labs": [{"code": "calcium_total", "value": 2.4, "unit": "g/L"}]},
            "labs[0].unit",
        ),
        (
            {
                "symptoms": [],
                "labs": [{"code": "calcium_total", "value": float("nan"), "unit": "mmol/L"}],
            },
            "labs[0].value",
        ),
        (
            {"symptoms": [], "labs": [{"code": "albumin", "value": "30", "unit": "g/L"}]},
            "labs[0].value",
        ),
        ({"symptoms": [], "as_of": "2026-02-30"}, "as_of"),
        ({"symptoms": [], "as_of": "2026-11-23T10:00:00"}, "as_of"),
        ({"symptoms": [], "patient": {"age": -1}}, "patient.age"),
        ({"symptoms": [], "patient": {"bma": {"agent": "aspirin"}}}, "patient.bma.agent"),
        ({"symptoms": [], "patient": {"spinal_mets": True}}, "patient.spinal_mets"),
        ({"symptoms": "back pain"}, "symptoms"),
    ],
)
def test_bad_input_is_refused_naming_the_field(report: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        triage(report)
    assert err.value.field == field


def test_the_latest_calcium_of_any_kind_is_the_current_one() -> None:
    old_total = [
        CA(2.85, code="calcium_total", date="2026-11-20"),
        {"code": "albumin", "value": 30, "unit": "g/L", "date": "2026-11-20"},
    ]
    assert level([], old_total) == "urgent"  # corrected 3.05
    assert level([], [*old_total, CA(2.4, date="2026-11-23")]) == "routine"
    assert (
        level([], [*old_total, CA(1.7, code="calcium_ionized", date="2026-11-23")]) == "emergency"
    )
    # same day: the worst counts
    assert level([], [*old_total, CA(2.4, date="2026-11-20")]) == "urgent"


def test_albumin_pairs_only_within_the_window_before_the_calcium() -> None:
    calcium = CA(2.75, code="calcium_total", date="2026-11-20")
    albumin = lambda d: {"code": "albumin", "value": 25, "unit": "g/L", "date": d}  # noqa: E731
    # same day: 2.75 + 0.02 x 15 = 3.05 -> grade 2
    assert level([], [calcium, albumin("2026-11-20")]) == "urgent"
    assert level([], [calcium, albumin("2026-11-13")]) == "urgent"  # 7 days before
    out = run([], [calcium, albumin("2026-11-12")])  # 8 days before: not used
    assert out.level == "soon" and any("no albumin" in c for c in out.caveats)
    assert level([], [calcium, albumin("2026-11-21")]) == "soon"  # after the calcium: not used
