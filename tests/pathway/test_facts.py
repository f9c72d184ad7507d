"""Calendar arithmetic the intervals rest on."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonemets.core.pathway.facts import add_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),  # clamped to the month's end
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),  # leap year
        (dt.date(2100, 1, 31), 1, dt.date(2100, 2, 28)),  # not a leap year (century)
        (dt.date(2000, 1, 31), 1, dt.date(2000, 2, 29)),  # leap year (400)
        (dt.date(2025, 3, 31), -1, dt.date(2025, 2, 28)),
        (dt.date(2025, 11, 15), 3, dt.date(2026, 2, 15)),  # across a year
        (dt.date(2025, 2, 15), -3, dt.date(2024, 11, 15)),
        (dt.date(2025, 1, 1), 0.5, dt.date(2025, 1, 16)),  # half a month: 15.2 days -> 15
        (dt.date(2025, 1, 1), 12, dt.date(2026, 1, 1)),
    ],
)
def test_add_months_examples(day: dt.date, months: float, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def _reference(day: dt.date, months: float) -> dt.date:
    """The definition, with the standard library's calendar."""
    whole = int(months)
    index = day.month - 1 + whole
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    extra = round((months - whole) * 30.4375)
    return dt.date(year, month, min(day.day, last)) + dt.timedelta(days=extra)


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
    st.one_of(st.integers(-60, 60), st.sampled_from([0.5, 1.5, 2.25, -0.5, 6.0])),
)
def test_add_months_matches_the_calendar(day: dt.date, months: float) -> None:
    assert add_months(day, months) == _reference(day, months)
