"""The bone-modifying-agent answer: statuses, doses by kidney function, checks, suggestions."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from bonemets.core.pathway import assess
from bonemets.core.record import Record
from tests.pathway.builders import FIRST, D, check, creat, lab, on_agent, patient, plan, weight

SOON = FIRST + dt.timedelta(days=3)  # not due yet: next dose FIRST + 28 days


# --- Doses by creatinine clearance: both sides of every band, in mg/dL and umol/L --------------

ZA_BANDS = [
    (60.1, 4.0),
    (60.0, 3.5),
    (50.0, 3.5),
    (49.9, 3.3),
    (40.0, 3.3),
    (39.9, 3.0),
    (30.0, 3.0),
]


@pytest.mark.parametrize("unit", ["mg/dL", "umol/L"])
@pytest.mark.parametrize(("crcl", "mg"), ZA_BANDS)
def test_zoledronic_acid_dose_bands(crcl: float, mg: float, unit: str) -> None:
    result = assess(on_agent(crcl=crcl, unit=unit), SOON)
    assert result.bma.dose is not None
    assert result.bma.dose.crcl_ml_min == crcl
    assert result.bma.dose.value == mg
    assert result.bma.status == "not_due"
    assert check(result, "creatinine_clearance").status == "pass"
    assert f"CrCl {crcl:g} mL/min" in result.bma.dose.basis


@pytest.mark.parametrize("unit", ["mg/dL", "umol/L"])
def test_zoledronic_acid_below_30_is_withheld(unit: str) -> None:
    result = assess(on_agent(crcl=29.9, unit=unit), SOON)
    assert result.bma.status == "withhold"
    assert result.bma.dose is not None and result.bma.dose.value is None
    assert check(result, "creatinine_clearance").status == "fail"
    assert any(a.rule == "bma.withhold" for a in result.alerts)


@pytest.mark.parametrize(
    ("crcl", "status", "mg"), [(30.0, "not_due", 90.0), (29.9, "withhold", None)]
)
def test_pamidronate_kidney_threshold(crcl: float, status: str, mg: float | None) -> None:
    result = assess(on_agent("pamidronate", crcl=crcl), SOON)
    assert result.bma.status == status
    assert result.bma.dose is not None and result.bma.dose.value == mg


@pytest.mark.parametrize(("crcl", "mg"), [(50.0, 6.0), (49.9, 4.0), (30.0, 4.0), (29.9, 2.0)])
def test_ibandronate_iv_bands(crcl: float, mg: float) -> None:
    result = assess(on_agent("ibandronate", crcl=crcl, route="iv"), SOON)
    assert result.bma.dose is not None and result.bma.dose.value == mg
    assert result.bma.dose.evidence == "S"
    assert result.bma.interval_weeks == 4


@pytest.mark.parametrize(
    ("crcl", "frequency"),
    [
        (50.0, "once daily"),
        (49.9, "every second day"),
        (30.0, "every second day"),
        (29.9, "once weekly"),
    ],
)
def test_ibandronate_oral_bands(crcl: float, frequency: str) -> None:
    result = assess(on_agent("ibandronate", crcl=crcl, route="oral"), SOON)
    assert result.bma.dose is not None
    assert (result.bma.dose.value, result.bma.dose.frequency) == (50.0, frequency)
    assert result.bma.next_due is None and result.bma.status == "not_due"


@pytest.mark.parametrize(
    ("crcl", "mg"),
    [(50.0, 1600.0), (49.9, 1200.0), (30.0, 1200.0), (29.9, 800.0), (10.0, 800.0), (9.9, None)],
)
def test_clodronate_bands(crcl: float, mg: float | None) -> None:
    result = assess(on_agent("clodronate", crcl=crcl), SOON)
    assert result.bma.dose is not None and result.bma.dose.value == mg
    assert result.bma.status == ("withhold" if mg is None else "not_due")


def test_ibandronate_without_route_has_no_dose() -> None:
    result = assess(on_agent("ibandronate", crcl=70.0), SOON)
    assert result.bma.dose is not None and result.bma.dose.value is None
    assert check(result, "creatinine_clearance").status == "missing"


# --- Missing inputs: answered as missing/null, never guessed ------------------------------------


def test_missing_weight_gives_null_dose() -> None:
    data = patient(
        labs=[creat(1.0, "2026-01-02")],
        bma_doses=[{"agent": "zoledronic_acid", "date": "2026-01-05"}],
    )
    data["demographics"]["weights"] = []
    result = assess(Record.model_validate(data), SOON)
    assert result.bma.dose is not None and result.bma.dose.value is None
    assert "no weight" in result.bma.dose.basis
    assert check(result, "creatinine_clearance").status == "missing"
    assert result.bma.status == "not_due"


def test_a_weight_only_after_the_baseline_is_used_and_named() -> None:
    # Issue 22: with no weight at baseline the clearance was never worked out, even with a later
    # weight. The nearest weight is used, and the basis says it came after the creatinine.
    data = patient(
        labs=[creat(1.0, "2026-01-02")],
        bma_doses=[{"agent": "zoledronic_acid", "date": "2026-01-05"}],
    )
    data["demographics"]["weights"] = [weight("2026-01-06", 70.0)]
    result = assess(Record.model_validate(data), SOON)
    assert result.bma.dose is not None and result.bma.dose.crcl_ml_min == 97.2
    assert "weight 70 kg on 2026-01-06 (the nearest weight, 4 days after" in result.bma.dose.basis
    assert check(result, "creatinine_clearance").status == "pass"


def test_missing_creatinine_gives_null_dose_and_missing_renal_check() -> None:
    result = assess(on_agent(crcl=None), SOON)
    assert result.bma.dose is not None and result.bma.dose.value is None
    assert "no creatinine" in result.bma.dose.basis
    assert check(result, "creatinine_clearance").status == "missing"
    assert check(result, "renal_function").status == "missing"


def test_missing_birth_date_gives_null_dose() -> None:
    record = on_agent(crcl=70.0)
    data = record.model_dump(mode="json")
    data["demographics"]["birth_date"] = None
    result = assess(Record.model_validate(data), SOON)
    assert result.bma.dose is not None and result.bma.dose.value is None
    assert "birth date" in result.bma.dose.basis


def test_denosumab_dose_needs_no_clearance() -> None:
    result = assess(on_agent("denosumab", crcl=None), SOON)
    assert result.bma.dose is not None and result.bma.dose.value == 120.0
    assert not any(c.check == "creatinine_clearance" for c in result.bma.checks)


# --- Baseline selection ---------------------------------------------------------------------------


def test_baseline_is_latest_creatinine_on_or_before_first_dose() -> None:
    data = patient(
        labs=[
            creat(2.0, "2025-12-01"),
            creat(1.0, "2026-01-05"),  # same day as the first dose: this is the baseline
            creat(0.5, "2026-01-06"),  # after the first dose: not the baseline
        ],
        bma_doses=[{"agent": "zoledronic_acid", "date": "2026-01-05"}],
    )
    data["demographics"]["weights"] = [weight("2025-12-20", 43.2), weight("2026-01-06", 100.0)]
    result = assess(Record.model_validate(data), SOON)
    assert result.bma.dose is not None
    assert result.bma.dose.crcl_ml_min == 60.0  # creatinine 1.0 and weight 43.2 (not 100)
    assert result.bma.dose.value == 3.5
    assert "creatinine 1 mg/dL on 2026-01-05" in result.bma.dose.basis
    assert "weight 43.2 kg on 2025-12-20" in result.bma.dose.basis


def test_not_started_dose_uses_latest_values() -> None:
    data = patient(labs=[creat(1.0, "2026-01-02")], bma_plans=[plan("2026-01-03")])
    data["demographics"]["weights"] = [weight("2026-01-02", 43.2)]
    result = assess(Record.model_validate(data), D("2026-01-04"))
    assert result.bma.status == "not_started"
    assert result.bma.agent == "zoledronic_acid"
    assert result.bma.dose is not None and result.bma.dose.value == 3.5


# --- The kidney withhold rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "latest", "unit", "withheld"),
    [
        (0.9, 1.4, "mg/dL", True),  # rise exactly 0.5 from a normal baseline
        (0.9, 1.39, "mg/dL", False),  # just below
        (1.39, 1.89, "mg/dL", True),  # 1.39 is a normal baseline: 0.5 rule
        (1.4, 1.9, "mg/dL", False),  # 1.4 is abnormal: needs 1.0
        (1.4, 2.39, "mg/dL", False),
        (1.4, 2.4, "mg/dL", True),  # rise exactly 1.0 from an abnormal baseline
        (80.0, 124.0, "umol/L", True),  # rise exactly 44 umol/L
        (80.0, 123.0, "umol/L", False),
        (123.0, 167.0, "umol/L", True),  # 123 is normal (< 124)
        (124.0, 167.0, "umol/L", False),  # 124 is abnormal: needs 88
        (124.0, 211.0, "umol/L", False),
        (124.0, 212.0, "umol/L", True),
    ],
)
def test_creatinine_rise_rule(baseline: float, latest: float, unit: str, withheld: bool) -> None:
    record = on_agent(
        crcl=None,
        labs=[creat(baseline, "2026-01-02", unit), creat(latest, "2026-01-07", unit)],
    )
    result = assess(record, SOON)
    renal = check(result, "renal_function")
    assert renal.status == ("fail" if withheld else "pass")
    assert result.bma.status == ("withhold" if withheld else "not_due")


def test_rise_judged_in_baseline_unit_when_units_differ() -> None:
    # baseline 0.9 mg/dL; 123.76 umol/L = 1.4 mg/dL: a rise of exactly 0.5 mg/dL
    record = on_agent(
        crcl=None, labs=[creat(0.9, "2026-01-02"), creat(123.76, "2026-01-07", "umol/L")]
    )
    assert check(assess(record, SOON), "renal_function").status == "fail"


def test_resume_only_within_10_percent_of_baseline_at_same_dose() -> None:
    labs = [creat(1.6, "2026-01-20"), creat(1.11, "2026-01-27")]
    record = on_agent(crcl=60.0, labs=labs, doses=["2026-01-05"])
    still = assess(record, D("2026-01-28"))
    assert check(still, "renal_function").status == "fail"  # 1.11 > 1.1 = baseline + 10%
    assert still.bma.status == "withhold"
    assert "at most 1.1 mg/dL" in (check(still, "renal_function").detail or "")

    record = on_agent(crcl=60.0, labs=[*labs, creat(1.1, "2026-01-29")], doses=["2026-01-05"])
    back = assess(record, D("2026-01-30"))
    renal = check(back, "renal_function")
    assert renal.status == "pass"
    assert "resume at the same dose" in (renal.detail or "")
    assert back.bma.status == "due"  # next due 2026-02-02
    assert back.bma.dose is not None and back.bma.dose.value == 3.5  # baseline dose, unchanged


def test_a_rise_dated_after_as_of_is_ignored() -> None:
    record = on_agent(crcl=70.0, labs=[creat(2.0, "2026-01-10")])
    before = assess(record, D("2026-01-09"))
    after = assess(record, D("2026-01-10"))
    assert before.bma.status == "not_due"
    assert check(before, "renal_function").status == "pass"
    assert after.bma.status == "withhold"


def test_no_baseline_before_first_dose_is_missing() -> None:
    record = on_agent(crcl=None, labs=[creat(1.0, "2026-01-07")])
    renal = check(assess(record, D("2026-01-08")), "renal_function")
    assert renal.status == "missing"
    assert "baseline" in (renal.detail or "")


# --- Timing statuses ------------------------------------------------------------------------------


def _timed(as_of: str, creatinine_day: str | None = None) -> str:
    labs = [creat(1.0, creatinine_day)] if creatinine_day else []
    return assess(on_agent(crcl=70.0, labs=labs), D(as_of)).bma.status


def test_timing_statuses() -> None:
    # first dose 2026-01-05, every 4 weeks: next due 2026-02-02
    assert _timed("2026-01-25", "2026-01-25") == "not_due"  # 8 days before
    assert _timed("2026-01-26", "2026-01-26") == "due"  # 7 days before
    assert _timed("2026-02-02", "2026-02-01") == "due"  # on the day
    assert _timed("2026-02-03", "2026-02-01") == "overdue"
    result = assess(on_agent(crcl=70.0, labs=[creat(1.0, "2026-01-25")]), D("2026-01-25"))
    assert result.bma.next_due == D("2026-02-02")
    assert result.bma.last_dose == FIRST
    assert result.bma.interval_weeks == 4


def test_planned_interval_is_used() -> None:
    record = on_agent(crcl=70.0, bma_plans=[plan("2026-01-01", interval_weeks=12)])
    result = assess(record, SOON)
    assert result.bma.interval_weeks == 12
    assert result.bma.next_due == FIRST + dt.timedelta(weeks=12)


def test_creatinine_older_than_window_asks_for_a_measurement_not_a_hold() -> None:
    # due on 2026-02-02; window 14 days. Issue 22: an old creatinine is a blood test to take
    # before the dose (a task alert), not a clinical hold.
    assert _timed("2026-02-01", "2026-01-18") == "due"  # 14 days old
    assert _timed("2026-02-01", "2026-01-17") == "due"  # 15 days old: due, with a task
    stale = assess(on_agent(crcl=70.0, labs=[creat(1.0, "2026-01-17")]), D("2026-02-01"))
    task = next(a for a in stale.alerts if a.rule == "bma.measure_before_dose")
    assert task.level == "routine" and "creatinine" in task.message
    assert not any(a.rule == "bma.withhold" for a in stale.alerts)
    fresh = assess(on_agent(crcl=70.0, labs=[creat(1.0, "2026-01-18")]), D("2026-02-01"))
    # (no calcium on record: calcium is still asked for, creatinine is not)
    asked = [a.message for a in fresh.alerts if a.rule == "bma.measure_before_dose"]
    assert asked and not any("creatinine" in m.split(":")[0] for m in asked)
    # not yet due: the check says missing but nothing is withheld
    result = assess(on_agent(crcl=70.0), D("2026-01-22"))
    assert result.bma.status == "not_due"
    assert check(result, "renal_function").status == "missing"


def test_not_indicated_and_not_started() -> None:
    none = Record.model_validate(
        {"id": "x", "cancer": {"primary_site": "breast", "bone_metastases": False}}
    )
    result = assess(none, SOON)
    assert result.bma.status == "not_indicated"
    assert not any(a.rule == "pathway.no_bma" for a in result.alerts)
    started = assess(Record.model_validate(patient()), SOON)
    assert started.bma.status == "not_started"
    assert started.bma.agent is None
    assert any(a.rule == "pathway.no_bma" for a in started.alerts)


def test_stopped_denosumab_warns_of_rebound() -> None:
    record = on_agent(
        "denosumab", crcl=70.0, bma_plans=[plan("2026-02-01", "denosumab", stop=True)]
    )
    result = assess(record, D("2026-02-10"))
    assert result.bma.status == "stopped"
    assert any(w.rule == "bma.denosumab_stopped" for w in result.bma.warnings)
    assert any(a.rule == "bma.denosumab_stopped" for a in result.alerts)
    before = assess(record, D("2026-01-31"))
    assert before.bma.status != "stopped"


# --- Denosumab and calcium ------------------------------------------------------------------------


def _calcium(value: float, day: str = "2026-01-07") -> list[dict[str, object]]:
    return [lab("calcium_total", value, "mmol/L", day), lab("albumin", 40, "g/L", day)]


def test_denosumab_withheld_while_calcium_low() -> None:
    low = assess(on_agent("denosumab", labs=_calcium(2.0)), SOON)
    assert low.bma.status == "withhold"
    assert check(low, "calcium").status == "fail"
    assert check(low, "calcium").evidence == "V"
    normal = assess(on_agent("denosumab", labs=_calcium(2.3)), SOON)
    assert normal.bma.status == "not_due"
    assert check(normal, "calcium").status == "pass"


def test_calcium_missing_never_passes() -> None:
    result = assess(on_agent("denosumab"), SOON)
    assert check(result, "calcium").status == "missing"
    assert result.bma.status == "not_due"
    old = assess(on_agent("denosumab", labs=_calcium(2.3, "2026-01-01")), D("2026-01-20"))
    assert check(old, "calcium").status == "missing"


def test_denosumab_low_clearance_or_dialysis_flags_close_monitoring() -> None:
    low = assess(on_agent("denosumab", crcl=29.9), SOON)
    assert any(w.rule == "bma.denosumab_low_clearance" for w in low.bma.warnings)
    ok = assess(on_agent("denosumab", crcl=30.0), SOON)
    assert not any(w.rule == "bma.denosumab_low_clearance" for w in ok.bma.warnings)
    dialysis = assess(
        on_agent("denosumab", crcl=70.0, conditions=[{"code": "dialysis", "date": "2025-01-01"}]),
        SOON,
    )
    assert any(w.rule == "bma.denosumab_low_clearance" for w in dialysis.bma.warnings)
    assert dialysis.bma.status == "not_due"


def test_denosumab_without_calcium_for_3_months_is_a_gap() -> None:
    record = on_agent(
        "denosumab", labs=_calcium(2.3, "2026-01-07"), doses=["2026-01-05", "2026-02-02"]
    )
    assert not any(
        a.rule == "pathway.denosumab_no_calcium" for a in assess(record, D("2026-04-06")).alerts
    )
    assert any(
        a.rule == "pathway.denosumab_no_calcium" for a in assess(record, D("2026-04-07")).alerts
    )


# --- Other checks ---------------------------------------------------------------------------------


def test_dental_exam_before_first_dose() -> None:
    done = assess(on_agent(dental_exams=[{"date": "2026-01-04"}]), SOON)
    assert check(done, "dental_exam").status == "done"
    assert check(done, "dental_exam").date == D("2026-01-04")
    late = assess(on_agent(dental_exams=[{"date": "2026-01-06"}]), SOON)
    assert check(late, "dental_exam").status == "done"
    assert "after the first dose" in (check(late, "dental_exam").detail or "")
    assert check(assess(on_agent(), SOON), "dental_exam").status == "missing"


def _supp(calcium: float | None, vit_d: float | None) -> str:
    items = []
    if calcium is not None:
        items.append(
            {"date": "2026-01-01", "kind": "calcium", "daily_amount": calcium, "unit": "mg"}
        )
    if vit_d is not None:
        items.append(
            {"date": "2026-01-01", "kind": "vitamin_d", "daily_amount": vit_d, "unit": "IU"}
        )
    result = assess(on_agent(supplements=items), SOON)
    status: str = check(result, "calcium_vitamin_d_supplement").status
    return status


def test_supplement_check() -> None:
    assert _supp(500, 400) == "pass"
    assert _supp(499, 400) == "fail"
    assert _supp(500, 399) == "fail"
    assert _supp(500, None) == "unknown"
    assert _supp(None, None) == "unknown"
    stopped = [
        {
            "date": "2026-01-01",
            "kind": "calcium",
            "daily_amount": 500,
            "unit": "mg",
            "stopped": "2026-01-06",
        },
        {"date": "2026-01-01", "kind": "vitamin_d", "daily_amount": 800, "unit": "IU"},
    ]
    result = assess(on_agent(supplements=stopped), SOON)
    assert check(result, "calcium_vitamin_d_supplement").status == "fail"
    # the stop date is in the future on 2026-01-05
    assert (
        check(assess(on_agent(supplements=stopped), FIRST), "calcium_vitamin_d_supplement").status
        == "pass"
    )


def test_pregnancy_warning() -> None:
    record = on_agent(conditions=[{"code": "pregnancy", "date": "2026-01-06"}])
    result = assess(record, SOON)
    assert any(w.rule == "bma.pregnancy" for w in result.bma.warnings)
    assert any(a.rule == "bma.pregnancy" and a.level == "urgent" for a in result.alerts)
    assert not assess(record, FIRST).bma.warnings


# --- De-escalation --------------------------------------------------------------------------------


def test_de_escalation_after_12_months() -> None:
    doses = [(D("2025-01-06") + dt.timedelta(weeks=4 * i)).isoformat() for i in range(13)]
    record = on_agent(crcl=70.0, doses=doses, labs=[creat(1.0, "2025-01-01")])
    before = assess(record, D("2026-01-05"))
    after = assess(record, D("2026-01-06"))
    assert before.bma.suggestions == []
    assert len(after.bma.suggestions) == 1
    assert "12-weekly" in after.bma.suggestions[0]
    assert set(after.bma.suggestion_details[0].sources) >= {
        "calgb-70604",
        "zoom-2013",
        "optimize2-2017",
    }


def test_no_de_escalation_when_already_12_weekly_or_not_zoledronic_acid() -> None:
    twelve = on_agent(
        crcl=70.0, doses=["2025-01-06"], bma_plans=[plan("2025-01-01", interval_weeks=12)]
    )
    assert assess(twelve, D("2026-02-01")).bma.suggestions == []
    pam = on_agent("pamidronate", crcl=70.0, doses=["2025-01-06"])
    assert assess(pam, D("2026-02-01")).bma.suggestions == []


def test_switching_agent_starts_a_new_course() -> None:
    record = on_agent(crcl=70.0, doses=["2025-01-06"])
    data = record.model_dump(mode="json")
    data["bma_doses"].append({"agent": "denosumab", "date": "2026-01-05"})
    result = assess(Record.model_validate(data), D("2026-01-06"))
    assert result.bma.agent == "denosumab"
    assert result.bma.course_start == D("2026-01-05")
    assert result.bma.dose is not None and result.bma.dose.value == 120.0


def test_route_must_fit_the_agent() -> None:
    with pytest.raises(ValidationError) as err:
        Record.model_validate(
            patient(bma_doses=[{"agent": "denosumab", "date": "2026-01-05", "route": "iv"}])
        )
    assert err.value.errors()[0]["loc"] == ("bma_doses", 0, "route")


def test_a_withheld_dose_past_its_due_date_is_also_overdue() -> None:
    # due on 2026-02-02; creatinine up 0.6 mg/dL from a normal baseline -> withhold, and overdue
    result = assess(on_agent(crcl=70.0, labs=[creat(1.6, "2026-01-10")]), D("2026-02-10"))
    assert result.bma.status == "withhold"
    rules = {a.rule: a.message for a in result.alerts}
    assert "bma.withhold" in rules and "bma.overdue" in rules
    assert "on hold" in rules["bma.overdue"]
    # before the due date the withhold alone is raised
    early = assess(on_agent(crcl=70.0, labs=[creat(1.6, "2026-01-10")]), D("2026-02-01"))
    assert early.bma.status == "withhold"
    assert "bma.overdue" not in {a.rule for a in early.alerts}
