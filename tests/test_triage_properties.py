"""Invariants of the triage engine: rules only raise the level, unknown never reassures, and no
input crashes the engine (bad input gives the contract's clear error instead)."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from bonemets.core.errors import InputError
from bonemets.core.triage import triage
from bonemets.core.triage.context import labs_read
from tests.strategies import LAB_RANGES, labs, reports, symptoms


def rank(report: dict[str, Any]) -> int:
    return triage(report).level.rank


@given(reports(), symptoms())
def test_adding_a_symptom_never_lowers_the_level(
    report: dict[str, Any], extra: dict[str, Any]
) -> None:
    more = copy.deepcopy(report)
    more["symptoms"].append(extra)
    assert rank(more) >= rank(report)


@given(reports(), st.data())
def test_raising_severity_never_lowers_the_level(
    report: dict[str, Any], data: st.DataObject
) -> None:
    if not report["symptoms"]:
        return
    i = data.draw(st.integers(0, len(report["symptoms"]) - 1))
    before = report["symptoms"][i].get("severity", 2)
    after = data.draw(st.integers(before, 4))
    more = copy.deepcopy(report)
    more["symptoms"][i]["severity"] = after
    assert rank(more) >= rank(report)


@given(reports(), st.data())
def test_longer_duration_never_lowers_the_level(
    report: dict[str, Any], data: st.DataObject
) -> None:
    known = [i for i, s in enumerate(report["symptoms"]) if "duration_days" in s]
    if not known:
        return
    i = data.draw(st.sampled_from(known))
    more = copy.deepcopy(report)
    more["symptoms"][i]["duration_days"] += data.draw(st.integers(0, 400))
    assert rank(more) >= rank(report)


@given(reports(), st.data())
def test_worse_trend_never_lowers_the_level(report: dict[str, Any], data: st.DataObject) -> None:
    if not report["symptoms"]:
        return
    i = data.draw(st.integers(0, len(report["symptoms"]) - 1))
    more = copy.deepcopy(report)
    more["symptoms"][i]["trend"] = "worse"
    assert rank(more) >= rank(report)


ABNORMAL_CODES = [
    "calcium_total",
    "calcium_corrected",
    "calcium_ionized",
    "platelets",
    "haemoglobin",
    "neutrophils",
]


@given(reports(), labs(codes=ABNORMAL_CODES))
def test_adding_a_lab_result_never_lowers_the_level(
    report: dict[str, Any], lab: dict[str, Any]
) -> None:
    # Undated results cannot be ordered, so every one of them counts: a new one can only add.
    more = copy.deepcopy(report)
    more["labs"].append(lab)
    assert rank(more) >= rank(report)


@given(
    reports(),
    st.sampled_from(
        [
            "spinal_metastases",
            "on_chemotherapy",
            "bma",
            "on_opioids",
            "on_immunotherapy",
            "on_targeted_therapy",
        ]
    ),
)
def test_unknown_is_never_more_reassuring_than_known(report: dict[str, Any], key: str) -> None:
    unknown = copy.deepcopy(report)
    unknown["patient"][key] = None
    for known_value in (
        [False, True] if key != "bma" else [{"agent": "none"}, {"agent": "denosumab"}]
    ):
        known = copy.deepcopy(report)
        known["patient"][key] = known_value
        if key == "on_opioids" and known_value is True:
            continue  # being on opioids allows the self-care advice for mild constipation
        assert rank(unknown) >= rank(known)


@given(reports())
def test_every_result_is_explained(report: dict[str, Any]) -> None:
    out = triage(report)
    if report["symptoms"] or report["labs"]:
        assert out.reasons or all(s.get("severity") == 0 for s in report["symptoms"])
    for reason in out.reasons:
        assert reason.because and reason.sources and reason.explanation
        assert reason.level.rank <= out.level.rank
    if out.reasons:
        assert out.reasons[0].level == out.level
    assert out.clinician_alert == (out.level.rank >= 2)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def mutated_reports(draw: st.DrawFn) -> dict[str, Any]:
    """A valid report with one value somewhere replaced by arbitrary JSON."""
    report = draw(reports())
    targets: list[tuple[Any, Any]] = [(report, k) for k in list(report)]
    targets += [(report["patient"], k) for k in list(report["patient"])]
    for s in report["symptoms"]:
        targets += [(s, k) for k in list(s)]
    for lab in report["labs"]:
        targets += [(lab, k) for k in list(lab)]
    container, key = draw(st.sampled_from(targets))
    container[key] = draw(json_values)
    return report


@settings(max_examples=300)
@given(st.one_of(mutated_reports(), st.dictionaries(st.text(max_size=10), json_values, max_size=4)))
def test_no_input_crashes_the_engine(report: dict[str, Any]) -> None:
    try:
        out = triage(report)
    except InputError as err:
        assert err.field and err.message
    else:
        assert out.level


def test_lab_strategy_ranges_are_plausible() -> None:
    # guards the strategies themselves: every range lies inside the engine's plausible bounds
    for code, ranges in LAB_RANGES.items():
        for unit, low, high in ranges:
            for value in (low, high):
                triage({"symptoms": [], "labs": [{"code": code, "value": value, "unit": unit}]})


@given(reports())
def test_the_trigger_index_skips_no_rule_that_would_fire(report: dict[str, Any]) -> None:
    # The engine runs only rules whose triggers are present; running all must add nothing.
    from bonemets.core.triage.context import build_context
    from bonemets.core.triage.engine import parse_input, rules_for
    from bonemets.core.triage.rules import LABS, RULES

    ctx = build_context(parse_input(report))
    chosen = set(rules_for(frozenset(ctx.present) | ({LABS} if report["labs"] else frozenset())))
    fired = {rule_id for rule_id, fn in RULES.items() if fn(ctx) is not None}
    assert fired <= chosen


_DAYS = ["2026-10-01", "2026-10-05", "2026-10-08", "2026-10-09", "2026-11-20"]


@st.composite
def _history(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Several results per analyte on a few close dates (same-day and in-window albumin pairs),
    some undated, some typed in by the patient."""
    out = []
    some = st.one_of(labs(), labs(codes=["calcium_total", "albumin"]))
    for lab in draw(st.lists(some, max_size=14)):
        day = draw(st.sampled_from([None, *_DAYS]))
        if day is not None:
            lab["date"] = day
        if draw(st.integers(0, 3)) == 0:
            lab["reported_by_patient"] = True
        out.append(lab)
    return out


@dataclass(frozen=True)
class _Ref:
    code: str
    date: dt.date | None
    index: int
    reported_by_patient: bool = False


@settings(max_examples=300)
@given(reports(), _history())
def test_triage_of_the_labs_it_reads_equals_triage_of_all(
    report: dict[str, Any], history: list[dict[str, Any]]
) -> None:
    """`labs_read` (what the pathway hands triage from a long record) drops nothing that counts."""
    refs = [
        _Ref(
            lab["code"],
            dt.date.fromisoformat(lab["date"]) if "date" in lab else None,
            i,
            lab.get("reported_by_patient", False),
        )
        for i, lab in enumerate(history)
    ]
    chosen = [history[r.index] for r in labs_read(refs)]
    full = triage({**report, "labs": history})
    assert orjson.dumps(triage({**report, "labs": chosen})) == orjson.dumps(full)


def test_labs_read_keeps_the_albumin_an_older_calcium_pairs_with() -> None:
    """Calcium of 8 Oct is current; the albumin it is corrected with (5 Oct) is not the latest
    albumin (20 Nov), and must still be handed over."""
    history = [
        _Ref("albumin", dt.date(2026, 10, 5), 0),
        _Ref("calcium_total", dt.date(2026, 10, 8), 1),
        _Ref("calcium_total", dt.date(2026, 9, 1), 2),
        _Ref("albumin", dt.date(2026, 9, 20), 3),
        _Ref("albumin", dt.date(2026, 11, 20), 4),
        _Ref("creatinine", dt.date(2026, 11, 1), 5),
        _Ref("creatinine", dt.date(2026, 11, 20), 6),
    ]
    assert [r.index for r in labs_read(history)] == [0, 1, 4, 6]
    undated = [*history, _Ref("creatinine", None, 7)]
    assert [r.index for r in labs_read(undated)] == [0, 1, 4, 5, 6, 7]
