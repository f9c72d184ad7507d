"""Durations in a patient's words (core/durations.py): read, or refused naming the field."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonemets.core.durations import CHOICES, parse_duration
from bonemets.core.errors import InputError

MONDAY = dt.date(2026, 11, 23)
THURSDAY = dt.date(2026, 11, 26)


@pytest.mark.parametrize(
    ("words", "today", "days"),
    [
        ("2 weeks", MONDAY, 14),
        ("two weeks", MONDAY, 14),
        ("a fortnight", MONDAY, 14),
        ("3 days", MONDAY, 3),
        ("for 3 days now", MONDAY, 3),
        ("10", MONDAY, 10),  # a bare number is days, as the question asks
        ("yesterday", MONDAY, 1),
        ("today", MONDAY, 0),
        ("about a month", MONDAY, 30),
        ("1-2 weeks", MONDAY, 14),  # a range: its longer end
        ("a few days", MONDAY, 5),
        ("since Monday", THURSDAY, 3),
        ("since monday", MONDAY, 7),  # said on a Monday: last Monday
        ("since Friday", MONDAY, 3),
        ("since 20 November", MONDAY, 3),
        ("November 20th", MONDAY, 3),
        ("since 1 December", MONDAY, 357),  # not yet this year: last year's
        ("Since  MONDAY!", THURSDAY, 3),
    ],
)
def test_words_read_as_days(words: str, today: dt.date, days: float) -> None:
    assert parse_duration(words, today) == days


@pytest.mark.parametrize("words", ["banana", "since the summer fete", "weeks and weeks", "", "  "])
def test_words_not_understood_are_refused_naming_the_field(words: str) -> None:
    with pytest.raises(InputError) as err:
        parse_duration(words, MONDAY, field="back_pain.duration")
    assert err.value.field == "back_pain.duration"


def test_31_february_is_no_date() -> None:
    with pytest.raises(InputError):
        parse_duration("since 31 February", MONDAY)


@given(st.integers(min_value=0, max_value=400), st.sampled_from(["day", "week", "month"]))
def test_a_number_and_a_unit(n: int, unit: str) -> None:
    per = {"day": 1, "week": 7, "month": 30}[unit]
    assert parse_duration(f"{n} {unit}s", MONDAY) == n * per
    assert parse_duration(f"{n} {unit}s ago", MONDAY) == n * per


def test_choices_cover_the_two_week_threshold_from_both_sides() -> None:
    # Bone pain for 2 weeks or more is reported (triage_rules.toml, bone.persistent_pain).
    values = [days for days, _words in CHOICES]
    assert 13 in values and 14 in values and values == sorted(values)
