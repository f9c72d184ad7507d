"""How long a symptom has lasted, from a patient's own words: "2 weeks", "since Monday",
"a fortnight", "yesterday", "3 days". Pure (today is passed in).

Nothing is guessed: words this does not understand are refused (the caller asks again, naming
the field) rather than read as some number of days. Where the words give a range ("a few
days", "1-2 weeks") the longer end is taken, because a longer duration never lowers the triage
level (the contract's rules only raise it with duration).
"""

from __future__ import annotations

import datetime as dt
import re

from bonemets.core.errors import InputError

UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "year": 365}
WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "couple of": 2, "a few": 5, "few": 5, "several": 6, "half a": 0.5,
}  # fmt: skip
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
]  # fmt: skip
FIXED = {
    "today": 0, "this morning": 0, "tonight": 0, "this evening": 0, "this afternoon": 0,
    "yesterday": 1, "last night": 1, "since yesterday": 1, "since last night": 1,
    "a day or two": 2, "last week": 13, "since last week": 13, "a week or two": 14,
    "since last month": 60, "last month": 60,
}  # fmt: skip

_NUMBER = r"(\d+(?:\.\d+)?|" + "|".join(sorted(map(re.escape, WORD_NUMBERS), key=len)[::-1]) + ")"
_UNIT = r"(days?|weeks?|fortnights?|months?|years?)"
_AMOUNT = re.compile(rf"^(?:about |around |roughly |nearly |almost |over |more than )?{_NUMBER}"
                     rf"(?:\s*(?:-|to|or)\s*{_NUMBER})?\s*{_UNIT}(?: ago)?$")  # fmt: skip
_BARE_UNIT = re.compile(rf"^(?:a |one |about a )?{_UNIT}$")


def _number(text: str) -> float:
    return float(text) if text[0].isdigit() else float(WORD_NUMBERS[text])


def _since_weekday(name: str, today: dt.date) -> int:
    """Days since the last such weekday ("since Monday" on a Monday: a week ago)."""
    back = (today.weekday() - WEEKDAYS.index(name)) % 7
    return back or 7


def _since_date(day: int, month: int, today: dt.date) -> int | None:
    """Days since day/month of this year (or last year, if that date is still to come)."""
    for year in (today.year, today.year - 1):
        try:
            when = dt.date(year, month, day)
        except ValueError:
            return None
        if when <= today:
            return (today - when).days
    return None


def _since_day_month(words: str, today: dt.date) -> int | None:
    """ "3 December", "3rd of December", "December 3": days since then."""
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)? (?:of )?([a-z]+)", words)
    if m is not None:
        day, month = m.group(1), m.group(2)
    elif (m := re.fullmatch(r"([a-z]+) (\d{1,2})(?:st|nd|rd|th)?", words)) is not None:
        month, day = m.group(1), m.group(2)
    else:
        return None
    if month not in MONTHS:
        return None
    return _since_date(int(day), MONTHS.index(month) + 1, today)


def parse_duration(text: str, today: dt.date, *, field: str = "duration_days") -> float:
    """The number of days the words describe; InputError naming `field` when they are unclear."""
    words = " ".join(re.sub(r"[^\w.\- ]", " ", text.lower()).split())
    words = words.removeprefix("for ").removesuffix(" now")
    if not words:
        raise InputError(field, "please say how long, for example 3 days, 2 weeks or since Monday")
    if words in FIXED:
        return float(FIXED[words])
    if re.fullmatch(r"\d+(?:\.\d+)?", words):
        return float(words)  # a bare number: days, as the question asks
    if m := _AMOUNT.match(words):
        low, high, unit = m.group(1), m.group(2), m.group(3).rstrip("s")
        return _number(high or low) * UNIT_DAYS[unit]
    if m := _BARE_UNIT.match(words):
        return float(UNIT_DAYS[m.group(1).rstrip("s")])
    since = words.removeprefix("since ").removeprefix("last ").removeprefix("on ")
    if since in WEEKDAYS:
        return float(_since_weekday(since, today))
    days = _since_day_month(since, today)
    if days is not None:
        return float(days)
    raise InputError(
        field,
        f"we could not read {text.strip()!r} as a length of time; "
        "please write it like 3 days, 2 weeks or since Monday, or pick a choice",
    )


# The choices offered beside the free answer: (value in days, words). A range is given as its
# longer end, which is never less reassuring (see the module docstring).
CHOICES: list[tuple[int, str]] = [
    (1, "Today or yesterday"),
    (6, "A few days (less than a week)"),
    (13, "1 to 2 weeks"),
    (14, "2 weeks or more"),
    (31, "More than a month"),
]
