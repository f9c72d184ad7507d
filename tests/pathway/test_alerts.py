"""Alerts and the overall level: labs, triage red flags, pathway gaps."""

from __future__ import annotations

from bonemets.core.pathway import Assessment, assess
from bonemets.core.record import Record
from tests.pathway.builders import D, creat, lab, on_agent, patient


def _assess(as_of: str = "2026-03-01", **extra: object) -> Assessment:
    return assess(Record.model_validate(patient(**extra)), D(as_of))


def test_hypercalcaemia_from_corrected_calcium() -> None:
    labs = [
        lab("calcium_total", 2.85, "mmol/L", "2026-02-27"),
        lab("albumin", 30, "g/L", "2026-02-27"),
    ]
    result = _assess(labs=labs)
    alert = next(a for a in result.alerts if a.rule == "labs.hypercalcaemia")
    assert alert.level == "urgent"
    assert "3.05" in alert.message and "grade 2" in alert.message
    assert result.level == "urgent"


def test_latest_calcium_wins_and_future_results_are_ignored() -> None:
    labs = [
        lab("calcium_corrected", 3.6, "mmol/L", "2026-01-01"),
        lab("calcium_corrected", 2.4, "mmol/L", "2026-02-01"),
        lab("calcium_corrected", 3.6, "mmol/L", "2026-03-02"),
    ]
    result = _assess(labs=labs)
    assert not any(a.rule.startswith("labs.hyper") for a in result.alerts)
    later = _assess("2026-03-02", labs=labs)
    assert later.level == "emergency"


def test_symptom_red_flag_through_triage() -> None:
    lesion = {"date": "2026-01-01", "site": "T10", "type": "lytic"}
    report = {
        "date": "2026-02-28",
        "symptoms": [
            {"code": "limb_weakness", "severity": 3, "site": "legs"},
            {"code": "back_pain", "severity": 3, "site": "mid_back"},
        ],
    }
    result = _assess(lesions=[lesion], symptom_reports=[report])
    assert result.level == "emergency"
    assert any(a.rule.startswith("mscc.") for a in result.alerts)


def test_old_symptom_report_is_not_read_as_today_but_its_red_flags_stay_open() -> None:
    old = {
        "date": "2026-02-01",
        "symptoms": [{"code": "seizure", "severity": 4}, {"code": "fatigue", "severity": 1}],
    }
    result = _assess(symptom_reports=[old])
    # The mild fatigue of a month ago (UKONS Green) is not today's; the seizure is a red flag
    # nobody has closed.
    assert result.level == "emergency"
    seizure = next(a for a in result.alerts if a.rule == "neuro.seizure")
    assert "reported 2026-02-01, not marked resolved" in seizure.message
    assert not any("fatigue" in a.message for a in result.alerts)


def test_a_red_flag_closes_when_the_patient_says_it_has_gone() -> None:
    old = {"date": "2026-02-01", "symptoms": [{"code": "seizure", "severity": 4}]}
    benign = {"date": "2026-02-20", "symptoms": [], "free_text": "thank you"}
    gone = {"date": "2026-02-25", "symptoms": [{"code": "seizure", "severity": 0}]}
    # Silence is not "gone": a later check-in that does not mention it leaves it open.
    assert _assess(symptom_reports=[old, benign]).level == "emergency"
    assert _assess(symptom_reports=[old, benign, gone]).level == "routine"


def test_a_red_flag_closes_when_a_clinician_records_it_resolved() -> None:
    old = {
        "date": "2026-02-01",
        "symptoms": [{"code": "limb_weakness", "severity": 2, "site": "legs"}],
    }
    other_site = {"date": "2026-02-02", "code": "limb_weakness", "site": "arms"}
    resolved = {"date": "2026-02-02", "code": "limb_weakness", "site": "legs", "note": "MRI clear"}
    assert _assess(symptom_reports=[old], symptom_resolutions=[other_site]).level == "emergency"
    assert _assess(symptom_reports=[old], symptom_resolutions=[resolved]).level == "routine"
    # A resolution dated before the report does not close it.
    early = {**resolved, "date": "2026-01-31"}
    assert _assess(symptom_reports=[old], symptom_resolutions=[early]).level == "emergency"


def test_a_later_report_of_the_symptom_speaks_for_it() -> None:
    # Back pain worse at night (urgent) a month ago; reported again since as mild, no features.
    then = {
        "date": "2026-02-01",
        "symptoms": [
            {
                "code": "back_pain",
                "severity": 3,
                "site": "lower_back",
                "features": ["worse_at_night"],
            }
        ],
    }
    since = {
        "date": "2026-02-10",
        "symptoms": [{"code": "back_pain", "severity": 1, "site": "lower_back", "trend": "better"}],
    }
    assert _assess(symptom_reports=[then]).level == "urgent"
    result = _assess(symptom_reports=[then, since])
    assert not any(a.rule == "mscc.spinal_pain" for a in result.alerts)


def test_platelets_creatinine_and_rising_alp() -> None:
    labs = [
        lab("platelets", 60, "10*9/L", "2026-02-27"),
        lab("creatinine", 200, "umol/L", "2026-02-27", upper_limit=90),
        lab("alkaline_phosphatase", 150, "U/L", "2026-01-01", upper_limit=120),
        lab("alkaline_phosphatase", 200, "U/L", "2026-02-27", upper_limit=120),
    ]
    rules = {a.rule: a.level for a in _assess(labs=labs).alerts}
    assert rules["labs.platelets_decreased"] == "soon"  # grade 2
    assert rules["labs.creatinine_increased"] == "soon"  # 200 > 1.5 x 90: grade 2
    assert rules["labs.alkaline_phosphatase_rising"] == "routine"


def test_falling_alp_raises_nothing() -> None:
    labs = [
        lab("alkaline_phosphatase", 250, "U/L", "2026-01-01", upper_limit=120),
        lab("alkaline_phosphatase", 200, "U/L", "2026-02-27", upper_limit=120),
    ]
    assert not any(a.rule == "labs.alkaline_phosphatase_rising" for a in _assess(labs=labs).alerts)


def test_level_is_the_most_urgent_alert() -> None:
    # overdue, creatinine risen 0.6 mg/dL from a normal baseline: withhold
    result = assess(on_agent(labs=[creat(1.6, "2026-03-01")]), D("2026-03-10"))
    levels = {a.level for a in result.alerts}
    assert result.bma.status == "withhold"
    assert result.level == max(levels)
    assert result.level == "soon"


def test_unverified_rules_say_so() -> None:
    result = _assess()
    gap = next(a for a in result.alerts if a.rule == "pathway.no_bma")
    assert gap.evidence == "V" and not gap.unverified
    assert "asco-2017" in gap.sources


def test_a_red_flag_written_rather_than_ticked_stays_open_too() -> None:
    written = {
        "date": "2026-02-20",
        "symptoms": [],
        "free_text": "I suddenly can't feel my legs and can't walk, and I wet myself",
    }
    benign = {"date": "2026-02-25", "symptoms": [], "free_text": "thank you"}
    result = _assess(symptom_reports=[written, benign])
    assert result.level == "emergency"
    sphincter = next(a for a in result.alerts if a.rule == "mscc.sphincter")
    assert [(s.code, s.carried) for s in sphincter.symptoms] == [("bladder_problem", True)]
    gone = {"date": "2026-02-27", "symptoms": [{"code": "bladder_problem", "severity": 0}]}
    after = _assess(symptom_reports=[written, benign, gone])
    assert not any(a.rule == "mscc.sphincter" for a in after.alerts)
