"""Properties: an answer for a past day never depends on anything dated after it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bonemets.core.pathway import assess
from bonemets.core.record import Record
from tests.pathway.builders import patient

START = dt.date(2025, 1, 1)
days = st.integers(min_value=0, max_value=540).map(lambda n: START + dt.timedelta(days=n))


def _lab(code: str, unit: str, low: float, high: float) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda d, v: {"code": code, "unit": unit, "value": round(v, 2), "date": d.isoformat()},
        days,
        st.floats(min_value=low, max_value=high),
    )


labs = st.one_of(
    _lab("creatinine", "mg/dL", 0.5, 3.0),
    _lab("creatinine", "umol/L", 45, 260),
    _lab("calcium_total", "mmol/L", 1.8, 3.6),
    _lab("albumin", "g/L", 25, 45),
    _lab("calcium_corrected", "mg/dL", 7.0, 14.0),
    _lab("platelets", "10*9/L", 20, 400),
    _lab("haemoglobin", "g/L", 70, 150),
    _lab("alkaline_phosphatase", "U/L", 40, 600),
    _lab("cea", "ng/mL", 0, 50),
)
agents = st.sampled_from(
    ["zoledronic_acid", "pamidronate", "denosumab", "ibandronate", "clodronate"]
)
ROUTES = {"zoledronic_acid": "iv", "pamidronate": "iv", "denosumab": "sc", "clodronate": "oral"}
doses = st.builds(
    lambda a, d, oral, known: {
        "agent": a,
        "date": d.isoformat(),
        "route": (ROUTES.get(a) or ("oral" if oral else "iv")) if known else None,
    },
    agents,
    days,
    st.booleans(),
    st.booleans(),
)
weights = st.builds(
    lambda d, kg: {"date": d.isoformat(), "kg": round(kg, 1)}, days, st.floats(45, 110)
)
plans = st.builds(
    lambda a, d, i, stop: {"date": d.isoformat(), "agent": a, "interval_weeks": i, "stop": stop},
    agents,
    days,
    st.sampled_from([None, 3, 4, 12]),
    st.booleans(),
)
SYMPTOM_CODES = ["back_pain", "thirst", "constipation", "seizure", "jaw_pain", "fatigue"]
symptom_reports = st.builds(
    lambda d, found: {
        "date": d.isoformat(),
        "symptoms": [{"code": c, "severity": n} for c, n in found],
    },
    days,
    st.lists(st.tuples(st.sampled_from(SYMPTOM_CODES), st.integers(0, 4)), max_size=3),
)
resolutions = st.builds(
    lambda d, c: {"date": d.isoformat(), "code": c}, days, st.sampled_from(SYMPTOM_CODES)
)
supplements = st.builds(
    lambda d, amount, stopped: {
        "date": d.isoformat(),
        "kind": "calcium",
        "daily_amount": amount,
        "unit": "mg",
        "stopped": stopped.isoformat() if stopped else None,
    },
    days,
    st.sampled_from([None, 300.0, 500.0, 1000.0]),
    st.one_of(st.none(), days),
)


@st.composite
def records(draw: st.DrawFn) -> Record:
    data = patient(
        labs=draw(st.lists(labs, max_size=12)),
        bma_doses=draw(st.lists(doses, max_size=6)),
        bma_plans=draw(st.lists(plans, max_size=2)),
        imaging=[
            {"date": d.isoformat(), "modality": "ct"} for d in draw(st.lists(days, max_size=3))
        ],
        dental_exams=[{"date": d.isoformat()} for d in draw(st.lists(days, max_size=2))],
        symptom_reports=draw(st.lists(symptom_reports, max_size=3)),
        symptom_resolutions=draw(st.lists(resolutions, max_size=1)),
        supplements=draw(st.lists(supplements, max_size=2)),
        conditions=[
            {"code": "pregnancy", "date": d.isoformat()} for d in draw(st.lists(days, max_size=1))
        ],
    )
    data["demographics"]["weights"] = draw(st.lists(weights, max_size=3))
    return Record.model_validate(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), days, days)
def test_earlier_answer_uses_nothing_after_its_date(record: Record, a: dt.date, b: dt.date) -> None:
    d1, d2 = min(a, b), max(a, b)
    earlier = assess(record, d1)
    assert earlier == assess(record.as_of(d1), d1)
    assess(record, d2)  # the later day may use more; it must not change the earlier answer
    assert assess(record, d1) == earlier


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), records(), days)
def test_adding_future_data_never_changes_the_answer(
    record: Record, other: Record, day: dt.date
) -> None:
    """Graft everything another record has after `day` onto this one: the answer for `day` holds."""
    future = other.model_dump(mode="json")
    mine = record.model_dump(mode="json")
    for key in (
        "labs",
        "bma_doses",
        "bma_plans",
        "imaging",
        "dental_exams",
        "symptom_reports",
        "symptom_resolutions",
        "supplements",
        "conditions",
    ):
        mine[key] += [x for x in future[key] if dt.date.fromisoformat(x["date"]) > day]
    mine["demographics"]["weights"] += [
        w for w in future["demographics"]["weights"] if dt.date.fromisoformat(w["date"]) > day
    ]
    grown = Record.model_validate(mine)
    assert assess(grown, day) == assess(record, day)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), symptom_reports, days)
def test_an_earlier_report_never_lowers_the_level(
    record: Record, report: dict[str, Any], day: dt.date
) -> None:
    """A report dated before every other can only add open red flags: it closes nothing later."""
    first = min([r.date for r in record.symptom_reports], default=day)
    older = {**report, "date": (first - dt.timedelta(days=1)).isoformat()}
    grown = record.model_copy(
        update={
            "symptom_reports": [
                Record.model_validate({"id": "x", "symptom_reports": [older]}).symptom_reports[0],
                *record.symptom_reports,
            ]
        }
    )
    assert assess(grown, day).level.rank >= assess(record, day).level.rank


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), resolutions, days)
def test_a_clinician_resolution_never_raises_the_level(
    record: Record, resolution: dict[str, Any], day: dt.date
) -> None:
    closed = Record.model_validate(
        {**record.model_dump(mode="json"), "symptom_resolutions": [resolution]}
    )
    unresolved = record.model_copy(update={"symptom_resolutions": []})
    assert assess(closed, day).level.rank <= assess(unresolved, day).level.rank
