"""The alert budget (issue 15, item 8): repeats of what the team already has are folded; anything
worse always raises. Property tests hold both directions."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from bonemets.core.levels import Level
from bonemets.core.pathway import assess
from bonemets.core.pathway.budget import Prior, Signal, absorbed_by, signal_of, signals
from bonemets.core.record import Record
from tests.pathway.builders import D, lab, patient

LEVELS = [Level.SOON, Level.URGENT, Level.EMERGENCY]

sigs = st.builds(
    Signal,
    key=st.sampled_from(["mscc.neurological|limb_weakness:legs", "labs.hypercalcaemia|", "x|y"]),
    rule=st.just("r"),
    level=st.sampled_from(LEVELS),
    severity=st.integers(0, 4),
    grade=st.integers(0, 4),
    stable=st.booleans(),
)
priors = st.lists(st.builds(Prior, signal=sigs, acknowledged=st.booleans()), max_size=4)


def worsen(signal: Signal, how: str) -> Signal:
    if how == "severity":
        return dataclasses.replace(signal, severity=signal.severity + 1)
    if how == "grade":
        return dataclasses.replace(signal, grade=signal.grade + 1)
    return dataclasses.replace(signal, level=Level.EMERGENCY, severity=signal.severity + 1)


@given(priors, sigs, st.sampled_from(["severity", "grade", "level"]))
def test_anything_worse_than_what_absorbed_it_is_news(
    before: list[Prior], signal: Signal, how: str
) -> None:
    prior = absorbed_by(signal, before)
    if prior is None:
        return
    worse = worsen(prior.signal, how)
    assert absorbed_by(dataclasses.replace(worse, stable=signal.stable), before) is None


@given(priors, sigs)
def test_a_new_key_is_always_news(before: list[Prior], signal: Signal) -> None:
    fresh = dataclasses.replace(signal, key="never seen|" + signal.key)
    assert absorbed_by(fresh, before) is None


@given(sigs, st.booleans(), st.integers(0, 4), st.integers(0, 4))
def test_a_stable_repeat_at_the_same_or_lower_intensity_is_folded(
    prior: Signal, acknowledged: bool, less_severe: int, lower_grade: int
) -> None:
    repeat = dataclasses.replace(
        prior,
        severity=min(prior.severity, less_severe),
        grade=min(prior.grade, lower_grade),
        stable=True,
    )
    found = absorbed_by(repeat, [Prior(prior, acknowledged=acknowledged, alert_id=7)])
    assert found is not None and found.alert_id == 7


@given(sigs)
def test_an_acknowledged_alert_does_not_absorb_a_symptom_reported_as_new_or_worse(
    prior: Signal,
) -> None:
    repeat = dataclasses.replace(prior, stable=False)
    assert absorbed_by(repeat, [Prior(prior, acknowledged=True)]) is None
    assert absorbed_by(repeat, [Prior(prior, acknowledged=False)]) is not None  # still open


def test_only_the_newest_alert_for_a_key_counts() -> None:
    key = "labs.hypercalcaemia|"
    old = Signal(key, "labs.hypercalcaemia", Level.EMERGENCY, 0, 3, True)
    new = Signal(key, "labs.hypercalcaemia", Level.SOON, 0, 1, True)
    grade_2 = Signal(key, "labs.hypercalcaemia", Level.URGENT, 0, 2, True)
    # Calcium came down to grade 1 since the grade 3 alert: grade 2 now is a rise, and news.
    assert absorbed_by(grade_2, [Prior(new, True), Prior(old, True)]) is None


def _report(severity: int, trend: str | None) -> dict[str, object]:
    symptom: dict[str, object] = {"code": "limb_weakness", "severity": severity, "site": "legs"}
    if trend:
        symptom["trend"] = trend
    return {"date": "2026-03-01", "symptoms": [symptom]}


def test_signals_from_an_assessment_name_the_symptom_and_its_trend() -> None:
    record = Record.model_validate(patient(symptom_reports=[_report(1, "same")]))
    (mscc,) = [s for s in signals(assess(record, D("2026-03-01")).alerts) if "mscc" in s.rule]
    assert mscc.key == "mscc.neurological|limb_weakness:legs"
    assert (mscc.severity, mscc.stable, mscc.level) == (1, True, Level.EMERGENCY)
    for trend, stable in ((None, True), ("better", True), ("new", False), ("worse", False)):
        record = Record.model_validate(patient(symptom_reports=[_report(1, trend)]))
        alerts = assess(record, D("2026-03-01")).alerts
        (mscc,) = [s for s in signals(alerts) if "mscc" in s.rule]
        assert mscc.stable is stable, trend


def test_a_lab_signal_is_keyed_by_rule_and_graded() -> None:
    def calcium(value: float, day: str) -> Signal:
        labs = [lab("calcium_corrected", value, "mmol/L", day)]
        record = Record.model_validate(patient(labs=labs))
        alert = next(a for a in assess(record, D(day)).alerts if a.rule == "labs.hypercalcaemia")
        return signal_of(alert)

    grade_3, grade_3_later, grade_4 = (
        calcium(3.3, "2026-03-01"),
        calcium(3.25, "2026-03-08"),
        calcium(3.6, "2026-03-08"),
    )
    assert (grade_3.grade, grade_4.grade) == (3, 4)
    assert grade_3.key == grade_3_later.key == grade_4.key
    assert absorbed_by(grade_3_later, [Prior(grade_3, True)]) is not None
    assert absorbed_by(grade_4, [Prior(grade_3, True)]) is None


def test_dates_alone_do_not_make_a_pathway_alert_news() -> None:
    labs = [lab("calcium_corrected", 2.4, "mmol/L", "2025-06-01")]
    plans = [{"date": "2025-06-01", "agent": "denosumab"}]
    doses = [{"agent": "denosumab", "date": "2025-06-02"}]
    record = Record.model_validate(patient(labs=labs, bma_plans=plans, bma_doses=doses))

    def no_calcium(day: str) -> Signal:
        alerts = assess(record, D(day)).alerts
        return signal_of(next(a for a in alerts if a.rule == "pathway.denosumab_no_calcium"))

    assert no_calcium("2026-01-01").key == no_calcium("2026-02-01").key


def test_new_values_of_one_finding_are_not_news_but_another_site_is() -> None:
    from bonemets.core.pathway.models import Alert

    def lesion(text: str) -> Signal:
        return signal_of(
            Alert(rule="lesions.sins_surgical_opinion", level=Level.SOON, message=text, sources=[])
        )

    t10 = lesion("T10 lesion: SINS 13 (unstable): surgical opinion.")
    assert t10.key == lesion("T10 lesion: SINS 15 (unstable): surgical opinion.").key
    assert t10.key != lesion("T12 lesion: SINS 13 (unstable): surgical opinion.").key
    held = "Withhold zoledronic acid: Latest creatinine 0.9 mg/dL on 2026-10-01 is more than 14"
    later = "Withhold zoledronic acid: Latest creatinine 1.1 mg/dL on 2026-11-01 is more than 14"
    assert lesion(held).key == lesion(later).key
