"""Issue 22 in the pathway: kidney function now, regimens, a course's life, freshness, deceased
patients, supplements in hypercalcaemia and two agents at once. Each rule on both sides."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bonemets.core.pathway import PathwaySettings, assess
from bonemets.core.pathway.models import Assessment
from bonemets.core.record import Record
from tests.pathway.builders import D, creat, lab, on_agent, patient, plan, weight

# A man aged 40 (born 1985-06-01) weighing 50.4 kg: CrCl = 100 x 50.4 / (72 x SCr) = 70 / SCr.
W = 50.4


def _record(
    agent: str,
    creatinines: list[tuple[float, str]],
    doses: list[str],
    unit: str = "mg/dL",
    **extra: Any,
) -> Record:
    data = patient(**extra)
    data["demographics"]["weights"] = [weight("2026-01-02", W)]
    data["labs"] = [creat(v, d, unit) for v, d in creatinines] + data.get("labs", [])
    data["bma_doses"] = [{"agent": agent, "date": d} for d in doses]
    data.setdefault("bma_plans", [plan(doses[0], agent, interval_weeks=4)])
    return Record.model_validate(data)


def _check(result: Assessment, name: str) -> Any:
    return next(c for c in result.bma.checks if c.check == name)


def _rules(result: Assessment) -> dict[str, Any]:
    return {a.rule: a for a in result.alerts}


# --- Kidney function now ------------------------------------------------------------------------

# Baseline 2.0 mg/dL (CrCl 35: 3.0 mg); the rise rule for an abnormal baseline is 1.0 mg/dL, so a
# creatinine of 2.3-2.4 passes it and only the current clearance can tell.
MGDL = [(2.3, 30.4), (2.4, 29.2)]
UMOL = [(203.32, 30.4), (212.16, 29.2)]


@pytest.mark.parametrize(("unit", "values"), [("mg/dL", MGDL), ("umol/L", UMOL)])
@pytest.mark.parametrize("agent", ["zoledronic_acid", "pamidronate"])
def test_current_clearance_below_30_withholds_as_not_recommended(
    unit: str, values: list[tuple[float, float]], agent: str
) -> None:
    base = 2.0 if unit == "mg/dL" else 176.8
    (above, crcl_above), (below, crcl_below) = values
    ok = _record(agent, [(base, "2026-01-02"), (above, "2026-01-28")], ["2026-01-05"], unit)
    result = assess(ok, D("2026-01-30"))
    now = _check(result, "creatinine_clearance_current")
    assert now.status == "pass" and result.bma.status == "due"
    assert result.bma.crcl_current_ml_min == crcl_above
    assert result.bma.crcl_baseline_ml_min == 35.0 or agent == "pamidronate"

    low = _record(agent, [(base, "2026-01-02"), (below, "2026-01-28")], ["2026-01-05"], unit)
    result = assess(low, D("2026-01-30"))
    now = _check(result, "creatinine_clearance_current")
    assert now.status == "fail" and "not recommended below CrCl 30" in now.detail
    assert _check(result, "renal_function").status == "pass"  # the rise rule alone misses it
    assert result.bma.status == "withhold"
    assert result.bma.crcl_current_ml_min == crcl_below
    assert "zometa-smpc" in now.sources and "aredia-label" in now.sources
    assert "bma.withhold" in _rules(result)


def test_dialysis_withholds_zoledronic_acid_whatever_the_clearance() -> None:
    on = on_agent(conditions=[{"code": "dialysis", "date": "2026-01-20"}])
    result = assess(on, D("2026-01-30"))
    assert _check(result, "creatinine_clearance_current").status == "fail"
    assert result.bma.status == "withhold"
    off = on_agent(
        conditions=[{"code": "dialysis", "date": "2026-01-20", "resolved": "2026-01-25"}]
    )
    assert _check(assess(off, D("2026-01-30")), "creatinine_clearance_current").status != "fail"


def test_pamidronate_started_below_30_is_withheld() -> None:
    record = _record("pamidronate", [(2.4, "2026-01-02")], ["2026-01-05"])
    result = assess(record, D("2026-01-06"))
    assert result.bma.status == "withhold"
    assert _check(result, "creatinine_clearance").status == "fail"
    at_30 = _record("pamidronate", [(2.3, "2026-01-02")], ["2026-01-05"])
    assert _check(assess(at_30, D("2026-01-06")), "creatinine_clearance").status == "pass"


def test_denosumab_below_30_gets_a_caution_that_is_read() -> None:
    low = _record("denosumab", [(2.4, "2026-01-28")], ["2026-01-05"])
    result = assess(low, D("2026-01-30"))
    alert = _rules(result)["bma.denosumab_low_clearance"]
    assert alert.level == "soon"
    assert result.bma.status != "withhold"  # no dose change for denosumab
    assert result.bma.crcl_current_ml_min == 29.2
    fine = _record("denosumab", [(2.3, "2026-01-28")], ["2026-01-05"])
    assert "bma.denosumab_low_clearance" not in _rules(assess(fine, D("2026-01-30")))


def test_an_old_creatinine_below_30_asks_for_a_new_one_rather_than_holding() -> None:
    # Baseline 2.0 mg/dL (CrCl 35); 2.4 (CrCl 29.2) on 2025-10-01 is past the 92-day window.
    creats = [(2.0, "2025-06-01"), (2.4, "2025-10-01")]
    record = _record("zoledronic_acid", creats, ["2025-06-02", "2026-01-05"])
    result = assess(record, D("2026-01-30"))
    assert _check(result, "creatinine_clearance_current").status == "missing"
    assert result.bma.status == "due"
    task = _rules(result)["bma.measure_before_dose"]
    assert task.level == "soon" and "not recommended below 30" in task.message
    fine = _record(
        "zoledronic_acid", [(2.0, "2025-06-01"), (2.3, "2025-10-01")], ["2025-06-02", "2026-01-05"]
    )
    assert _rules(assess(fine, D("2026-01-30")))["bma.measure_before_dose"].level == "routine"


# --- Regimens ------------------------------------------------------------------------------------


def _course(agent: str, doses: list[tuple[str, float | None]], **kw: Any) -> Record:
    data = patient(**kw)
    data["demographics"]["weights"] = [weight("2024-01-01", 70.0)]
    data["labs"] = [creat(1.0, "2024-01-01")]
    data["bma_doses"] = [
        {"agent": agent, "date": d, **({"dose": mg} if mg else {})} for d, mg in doses
    ]
    return Record.model_validate(data)


def test_prolia_is_its_own_regimen_with_its_own_schedule() -> None:
    record = _course("denosumab", [("2025-06-02", 60.0), ("2025-12-01", 60.0)])
    result = assess(record, D("2026-03-01"))
    assert result.bma.regimen == "denosumab.osteoporosis"
    assert result.bma.dose is not None and result.bma.dose.value == 60.0
    assert result.bma.interval_weeks == 26 and result.bma.status == "not_due"
    assert "Not the bone-metastasis regimen" in (result.bma.status_reason or "")
    late = assess(record, D("2026-06-15"))  # 28 weeks after the last dose: a late Prolia dose
    assert late.bma.status == "overdue"
    assert "Prolia" in _rules(late)["bma.overdue"].message


def test_prolia_by_product_code_without_a_dose() -> None:
    data = _course("denosumab", [("2025-12-01", None)]).model_dump(mode="json")
    data["bma_doses"][0]["product_code"] = "993452"
    result = assess(Record.model_validate(data), D("2026-02-01"))
    assert result.bma.regimen == "denosumab.osteoporosis"
    assert result.bma.dose is not None and result.bma.dose.value == 60.0
    data["bma_doses"][0]["product_code"] = "1046398"  # Xgeva
    assert assess(Record.model_validate(data), D("2026-02-01")).bma.regimen == (
        "denosumab.bone_metastases"
    )


def test_reclast_and_adjuvant_zoledronic_acid_are_not_given_metastatic_doses() -> None:
    reclast = assess(_course("zoledronic_acid", [("2025-09-01", 5.0)]), D("2026-03-01"))
    assert reclast.bma.regimen == "zoledronic_acid.osteoporosis"
    assert reclast.bma.dose is not None and reclast.bma.dose.value == 5.0
    assert reclast.bma.interval_weeks == 52 and reclast.bma.status == "not_due"
    adjuvant = _course("zoledronic_acid", [("2025-03-03", 4.0), ("2025-09-01", 4.0)])
    result = assess(adjuvant, D("2026-01-05"))
    assert result.bma.regimen == "zoledronic_acid.adjuvant"
    assert result.bma.interval_weeks == 26 and result.bma.status == "not_due"
    monthly = _course("zoledronic_acid", [("2025-12-01", 4.0), ("2025-12-29", 4.0)])
    assert assess(monthly, D("2026-01-05")).bma.regimen == "zoledronic_acid.bone_metastases"


def test_a_missing_interval_is_not_read_as_four_weekly() -> None:
    one = _course("zoledronic_acid", [("2026-01-05", None)])
    result = assess(one, D("2026-02-10"))  # 5 weeks on: not overdue, 12-weekly is allowed
    assert result.bma.status == "not_due"
    assert result.bma.interval_weeks == 12
    assert result.bma.earliest_due == D("2026-02-02")
    assert "Interval not recorded" in (result.bma.status_reason or "")
    assert assess(one, D("2026-03-31")).bma.status == "overdue"  # past 12 weeks
    four = _course("zoledronic_acid", [("2025-12-08", None), ("2026-01-05", None)])
    assert assess(four, D("2026-02-10")).bma.interval_weeks == 4  # as between its doses


# --- A course's life -----------------------------------------------------------------------------


def test_a_course_lapses_after_its_interval_and_the_lapse_time() -> None:
    record = on_agent(crcl=70.0, doses=["2025-01-06"], labs=[creat(1.0, "2025-01-05")])
    last_overdue = D("2025-01-06") + dt.timedelta(weeks=4 + 26)
    assert assess(record, last_overdue).bma.status in ("overdue", "withhold")
    lapsed = assess(record, last_overdue + dt.timedelta(days=1))
    assert lapsed.bma.status == "lapsed" and lapsed.bma.course_state == "lapsed"
    assert "bma.overdue" not in _rules(lapsed)
    longer = PathwaySettings(course_lapse_weeks=52)
    assert assess(record, last_overdue + dt.timedelta(days=1), longer).bma.status == "overdue"


def test_a_held_course_is_not_due_and_a_stop_keeps_its_reason() -> None:
    held = on_agent(
        crcl=70.0,
        bma_plans=[
            plan("2026-01-05", interval_weeks=4),
            plan("2026-01-20", hold=True, interval_weeks=4),
        ],
    )
    result = assess(held, D("2026-02-10"))
    assert result.bma.status == "held" and "bma.overdue" not in _rules(result)
    stopped = on_agent(crcl=70.0, bma_plans=[plan("2026-01-20", stop=True, stop_reason="onj")])
    result = assess(stopped, D("2026-02-10"))
    assert result.bma.status == "stopped" and result.bma.stop_reason == "onj"
    assert "(onj)" in (result.bma.status_reason or "")


def test_a_deceased_patient_gets_no_alerts_and_is_shown_as_deceased() -> None:
    record = on_agent(crcl=70.0, doses=["2025-10-06"], labs=[creat(1.0, "2025-10-01")])
    data = record.model_dump(mode="json")
    data["demographics"]["deceased_date"] = "2026-01-10"
    dead = Record.model_validate(data)
    before = assess(dead, D("2026-01-09"))
    assert before.alerts and not before.patient.deceased
    after = assess(dead, D("2026-01-11"))
    assert after.alerts == [] and after.patient.deceased
    assert after.patient.deceased_date == D("2026-01-10")
    data["demographics"] = {**data["demographics"], "deceased_date": None, "deceased": True}
    assert assess(Record.model_validate(data), D("2026-01-09")).alerts == []


# --- Freshness ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "unit"), [(6.5, "mg/dL"), (1.62, "mmol/L")])
def test_an_old_low_calcium_withholds_nothing(value: float, unit: str) -> None:
    low = lab("calcium_corrected", value, unit, "2018-03-01")
    result = assess(on_agent(crcl=70.0, labs=[low, creat(1.0, "2026-01-30")]), D("2026-02-01"))
    assert result.bma.status == "due"
    assert not any(a.rule.startswith("labs.hypocalcaemia") for a in result.alerts)
    assert _check(result, "calcium").status == "missing"
    recent = lab("calcium_corrected", value, unit, "2026-01-01")  # 31 days: still current
    result = assess(on_agent(crcl=70.0, labs=[recent, creat(1.0, "2026-01-30")]), D("2026-02-01"))
    assert result.bma.status == "withhold"
    assert any(a.rule == "labs.hypocalcaemia" for a in result.alerts)
    older = lab("calcium_corrected", value, unit, "2025-12-31")  # 32 days: past the window
    result = assess(on_agent(crcl=70.0, labs=[older, creat(1.0, "2026-01-30")]), D("2026-02-01"))
    assert result.bma.status == "due"


def test_a_pregnancy_from_long_ago_is_not_read_as_now() -> None:
    old = on_agent(crcl=70.0, conditions=[{"code": "pregnancy", "date": "1990-05-01"}])
    assert "bma.pregnancy" not in _rules(assess(old, D("2026-01-20")))
    near = on_agent(crcl=70.0, conditions=[{"code": "pregnancy", "date": "2025-03-27"}])
    assert "bma.pregnancy" in _rules(assess(near, D("2026-01-20")))  # 299 days
    assert "bma.pregnancy" not in _rules(assess(near, D("2026-01-22")))  # 301 days


# --- Supplements and two agents ------------------------------------------------------------------


def test_calcium_supplements_in_hypercalcaemia_are_not_a_pass() -> None:
    sup = [
        {"date": "2026-01-02", "kind": "calcium", "unit": "mg", "daily_amount": 1000},
        {"date": "2026-01-02", "kind": "vitamin_d", "unit": "IU", "daily_amount": 800},
    ]
    high = lab("calcium_corrected", 13.0, "mg/dL", "2026-01-28")
    result = assess(on_agent(crcl=70.0, labs=[high], supplements=sup), D("2026-01-30"))
    check = _check(result, "calcium_vitamin_d_supplement")
    assert check.status == "fail" and "stop calcium supplements" in check.detail
    normal = lab("calcium_corrected", 9.5, "mg/dL", "2026-01-28")
    result = assess(on_agent(crcl=70.0, labs=[normal], supplements=sup), D("2026-01-30"))
    assert _check(result, "calcium_vitamin_d_supplement").status == "pass"


def test_two_agents_within_weeks_raise_a_finding() -> None:
    record = on_agent(crcl=70.0, doses=["2026-01-05"])
    close = record.model_copy(
        update={
            "bma_doses": [*record.bma_doses, *on_agent("denosumab", doses=["2026-01-14"]).bma_doses]
        }
    )
    result = assess(close, D("2026-01-20"))
    alert = _rules(result)["bma.two_agents"]
    assert alert.level == "soon" and "9 days apart" in alert.message
    apart = record.model_copy(
        update={
            "bma_doses": [*record.bma_doses, *on_agent("denosumab", doses=["2026-02-03"]).bma_doses]
        }
    )
    assert "bma.two_agents" not in _rules(assess(apart, D("2026-02-10")))  # 29 days
