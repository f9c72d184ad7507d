"""Small read-only helpers over a record already cut to its as_of date."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bonemets.core.knowledge import is_unverified
from bonemets.core.record import Lab, Record, Weight
from bonemets.core.units import convert

MAX_AGE = 125  # the oldest age the triage contract accepts (PatientContext.age)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: dt.date, months: float) -> dt.date:
    """`day` plus whole calendar months (clamped to the month's end), plus any fraction as days."""
    whole = int(months)
    extra_days = round((months - whole) * 30.4375)
    index = day.month - 1 + whole
    year, month = day.year + index // 12, index % 12 + 1
    last = 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]
    moved = dt.date(year, month, min(day.day, last))
    return moved + dt.timedelta(days=extra_days) if extra_days else moved


def age_on(record: Record, day: dt.date) -> int | None:
    born = record.demographics.birth_date
    if born is None or born > day:
        return None
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    # A birth date no living patient has (a slip stored before dates were checked) is an
    # unknown age, never an age of 2,000 years in a creatinine clearance.
    return age if age <= MAX_AGE else None


def labs_of(record: Record, *codes: str) -> list[Lab]:
    """Confirmed labs of `codes` (not values the patient typed in), oldest first (stable for the
    same date). Every dosing, hold, lab-alert and monitoring rule reads labs through here."""
    return sorted(
        (lab for lab in record.labs if lab.code in codes and not lab.reported_by_patient),
        key=lambda lab: lab.date,
    )


def latest_lab(record: Record, code: str, day: dt.date) -> Lab | None:
    found = [lab for lab in labs_of(record, code) if lab.date <= day]
    return found[-1] if found else None


def latest_weight(record: Record, day: dt.date) -> Weight | None:
    found = sorted((w for w in record.demographics.weights if w.date <= day), key=lambda w: w.date)
    return found[-1] if found else None


def in_unit(lab: Lab, unit: str) -> float:
    """The value of `lab` in `unit` (same analyte)."""
    if lab.unit == unit:
        return lab.value
    return convert(lab.code, lab.value, lab.unit, unit)


def flag(evidence: str) -> bool:
    return is_unverified(evidence)


def unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


@dataclass(frozen=True, slots=True)
class CalciumFinding:
    """The latest calcium as the triage engine graded it (corrected when albumin was given)."""

    date: dt.date | None
    state: Literal["low", "high", "normal"]
    text: str
