"""How old a result may be and still speak for today (``knowledge/monitoring.toml [freshness]``).

Every rule that reads a lab for an alert reads it through `fresh`: an older confirmed value raises
no alert and decides no hold (an 8-year-old low calcium must not withhold a dose today). Values the
patient typed in are kept as they are: triage shows them, to be confirmed, whatever their age.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.record import Condition, Lab, Record


@cache
def spec() -> dict[str, Any]:
    data: dict[str, Any] = load("monitoring")["freshness"]
    check_source_ids(data["sources"], "monitoring.freshness")
    return data


def lab_window(code: str) -> int | None:
    """Days a confirmed `code` result stays current; None: no window (tumour markers)."""
    days = spec()["lab_days"].get(code)
    return int(days) if days is not None else None


def is_fresh(lab: Lab, as_of: dt.date) -> bool:
    window = lab_window(lab.code)
    return window is None or (as_of - lab.date).days <= window


def fresh(labs: list[Lab], as_of: dt.date) -> list[Lab]:
    """`labs` without the confirmed values older than their window (patient values kept)."""
    return [lab for lab in labs if lab.reported_by_patient or is_fresh(lab, as_of)]


def stale_labs(record: Record, as_of: dt.date) -> int:
    """How many confirmed results on the record are past their window (for reports)."""
    return sum(1 for lab in record.labs if not lab.reported_by_patient and not is_fresh(lab, as_of))


def condition_current(condition: Condition, as_of: dt.date) -> bool:
    """An unresolved condition that still speaks for today: within its window when it has one
    (a pregnancy recorded 30 years ago is not a pregnancy now)."""
    if condition.resolved is not None and condition.resolved <= as_of:
        return False
    days = spec()["condition_days"].get(condition.code)
    return days is None or (as_of - condition.date).days <= int(days)


def window_text(code: str) -> str:
    window = lab_window(code)
    return f"{window} days" if window is not None else "no limit"
