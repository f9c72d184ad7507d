"""Monitoring intervals: imaging, tumour markers, blood chemistry (knowledge/monitoring.toml)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.pathway.facts import add_months, flag
from bonemets.core.pathway.models import MonitoringItem, MonitoringStatus, PathwaySettings
from bonemets.core.record import Record

TESTS: tuple[str, ...] = ("imaging", "tumour_markers", "blood_chemistry")


@cache
def table() -> dict[str, Any]:
    data: dict[str, Any] = load("monitoring")
    for name, entry in data["tests"].items():
        check_source_ids(entry["sources"], f"monitoring.tests.{name}")
    check_source_ids(data["due"]["sources"], "monitoring.due")
    return data


@cache
def _lab_codes(test: str) -> frozenset[str]:
    return frozenset(table()["tests"][test]["codes"])


def last_done(record: Record, test: str) -> dt.date | None:
    if test == "imaging":
        dates = [i.date for i in record.imaging]
    else:
        codes = _lab_codes(test)
        # A value the patient typed in is not a blood test the team has seen.
        dates = [
            lab.date for lab in record.labs if lab.code in codes and not lab.reported_by_patient
        ]
    return max(dates) if dates else None


def status_for(last: dt.date | None, due: dt.date | None, as_of: dt.date) -> MonitoringStatus:
    if last is None or due is None:
        return "never"
    if as_of > due:
        return "overdue"
    if (due - as_of).days <= int(table()["due"]["window_days"]):
        return "due"
    return "ok"


@dataclass(frozen=True, slots=True)
class _Interval:
    """What an item says that depends only on the test and the centre's interval."""

    evidence: str
    guideline_range: tuple[float, float]
    sources: tuple[str, ...]
    note: str


@cache
def _interval(test: str, months: float) -> _Interval:
    spec = table()["tests"][test]
    evidence: str = spec["evidence"]
    low, high = (float(x) for x in spec["range"])
    notes = [spec["note"]]
    if flag(evidence):
        notes.append(
            f"The {low:g}-{high:g} month interval is unverified [{evidence}]: no guideline "
            "source confirms it yet."
        )
    if not low <= months <= high:
        notes.append(f"The centre's interval ({months:g} months) is outside {low:g}-{high:g}.")
    return _Interval(evidence, (low, high), tuple(spec["sources"]), " ".join(notes))


def assess_monitoring(
    record: Record, as_of: dt.date, settings: PathwaySettings
) -> list[MonitoringItem]:
    out: list[MonitoringItem] = []
    for test in TESTS:
        months = settings.interval_months(test)
        fixed = _interval(test, months)
        last = last_done(record, test)
        due = add_months(last, months) if last is not None else None
        out.append(
            MonitoringItem(
                test=test,
                last=last,
                due=due,
                status=status_for(last, due, as_of),
                interval_months=months,
                guideline_range_months=list(fixed.guideline_range),
                sources=list(fixed.sources),
                evidence=fixed.evidence,
                unverified=flag(fixed.evidence),
                note=fixed.note,
            )
        )
    return out
