"""What a value may be before anything stores it: the pure rules of the one validation boundary.

Every path that writes (the web forms and API through the services, the FHIR import) applies
these through `bonemets.service.validation`, so SQLite and PostgreSQL see the same values and a
bad one is refused naming its field. They are not applied when a stored record is read back:
whatever is already stored must still open (see `bonemets.service.validation`).

No clock here: the latest sane date depends on "today", which the caller passes in.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from bonemets.core.errors import InputError

# FHIR R4 `id`: 1-64 of A-Z a-z 0-9 - . (https://hl7.org/fhir/R4/datatypes.html#id). Our record
# ids are FHIR ids: they are stored in String(64) columns and put into URLs unescaped.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
MAX_ID = 64
EARLIEST_DATE = dt.date(1900, 1, 1)
FUTURE_DAYS = 366  # the latest date accepted: today + one year
MAX_TEXT = 10_000  # characters in one free-text field
MAX_LIST = 200  # items in one list of an input (a report's symptoms, an entry's features)
MAX_DEPTH = 12  # nesting of a JSON input
MAX_INT = 2**53  # integers beyond this are not exact in JSON numbers (nor in JavaScript)


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def check_text(value: str, field: str, max_length: int = MAX_TEXT) -> str:
    """Text that every database stores the same: no NUL (PostgreSQL refuses it), no lone
    surrogate (not encodable as UTF-8), and not longer than `max_length` characters."""
    if "\x00" in value:
        raise InputError(field, "text may not contain the NUL character")
    if len(value) > max_length:
        raise InputError(field, f"at most {max_length} characters (got {len(value)})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(field, "text is not valid Unicode (a lone surrogate)") from None
    return value


def is_fhir_id(value: object) -> bool:
    return isinstance(value, str) and FHIR_ID.fullmatch(value) is not None


def check_id(value: str, field: str) -> str:
    """A record id: the FHIR id grammar (letters, digits, '-' and '.', 1-64 of them)."""
    if not is_fhir_id(value):
        raise InputError(field, "an id is 1-64 letters, digits, '-' or '.' (the FHIR id grammar)")
    return value


def check_number(
    value: float, field: str, low: float | None = None, high: float | None = None
) -> float:
    """A finite number, within [low, high] when given."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(field, "expected a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(field, "must be a finite number")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise InputError(field, f"{value} is out of range")
    if low is not None and value < low:
        raise InputError(field, f"{value:g} is below the plausible minimum {low:g}")
    if high is not None and value > high:
        raise InputError(field, f"{value:g} is above the plausible maximum {high:g}")
    return value


def check_json(
    value: Any,
    field: str = "",
    *,
    max_list: int = MAX_LIST,
    max_text: int = MAX_TEXT,
    max_depth: int = MAX_DEPTH,
) -> None:
    """Walk a JSON value as read from a request: every string (keys too) passes `check_text`,
    every number is finite, lists and objects have at most `max_list` items, nesting at most
    `max_depth`. Names the first offending field (`symptoms[3].site`)."""
    _walk(value, field, 0, max_list, max_text, max_depth)


def _walk(value: Any, field: str, depth: int, max_list: int, max_text: int, max_depth: int) -> None:
    if depth > max_depth:
        raise InputError(field or "body", f"nested deeper than {max_depth} levels")
    if isinstance(value, str):
        check_text(value, field or "body", max_text)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        check_number(value, field or "body")
    elif isinstance(value, dict):
        if len(value) > max_list:
            raise InputError(field or "body", f"at most {max_list} fields (got {len(value)})")
        for key, item in value.items():
            check_text(str(key), field or "body", 200)
            _walk(item, _path(field, str(key)), depth + 1, max_list, max_text, max_depth)
    elif isinstance(value, list | tuple):
        if len(value) > max_list:
            raise InputError(field or "body", f"at most {max_list} items (got {len(value)})")
        for i, item in enumerate(value):
            _walk(item, _path(field, i), depth + 1, max_list, max_text, max_depth)


def latest_date(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=FUTURE_DAYS)


def dates_in(model: BaseModel, field: str = "") -> Iterator[tuple[str, dt.date]]:
    """Every date in a model (nested models and lists too), with its field path."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = _path(field, name)
        if isinstance(value, dt.date):
            yield path, value
        elif isinstance(value, BaseModel):
            yield from dates_in(value, path)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, dt.date):
                    yield _path(path, i), item
                elif isinstance(item, BaseModel):
                    yield from dates_in(item, _path(path, i))


def check_dates(model: BaseModel, today: dt.date, field: str = "") -> None:
    """Every date of `model` between 1900-01-01 and today + one year, naming the field."""
    latest = latest_date(today)
    for path, day in dates_in(model, field):
        if day < EARLIEST_DATE:
            raise InputError(path or "date", f"{day} is before {EARLIEST_DATE}: check the year")
        if day > latest:
            raise InputError(
                path or "date", f"{day} is more than a year after today ({today}): check the year"
            )


@dataclass(frozen=True)
class Range:
    """A plausible range of one numeric field of a record entry (inclusive)."""

    low: float
    high: float
    why: str


# Per entry kind and field: the widest values a real record could hold. They catch typing and
# unit slips (a dose in micrograms, 1e308) and leave clinical judgement (is this dose right for
# this patient and agent?) to the pathway's checks.
PLAUSIBLE: dict[str, dict[str, Range]] = {
    "bma_dose": {
        # The largest labelled bone-agent doses are clodronate's 1,600-3,200 mg a day by mouth.
        "dose": Range(0.001, 5000, "mg of a bone-modifying agent"),
    },
    "supplement": {"daily_amount": Range(0, 1_000_000, "mg calcium or IU vitamin D a day")},
    "lab": {
        # Reference limits: any finite value on the lab's own scale; tumour markers can run to
        # tens of thousands.
        "value": Range(-1e6, 1e7, "a laboratory value"),
        "lower_limit": Range(-1e6, 1e7, "a reference limit"),
        "upper_limit": Range(-1e6, 1e7, "a reference limit"),
    },
    "weight": {"kg": Range(0.5, 500, "kg body weight")},
    "height": {"cm": Range(20, 275, "cm body height")},
}

# Pairs that must be in order: (entry kind, earlier field, later field, what it means).
ORDERED: tuple[tuple[str, str, str, str], ...] = (
    ("lab", "lower_limit", "upper_limit", "the lower reference limit is above the upper one"),
    ("treatment", "start", "stop", "the treatment stops before it starts"),
    ("supplement", "date", "stopped", "the supplement stops before it was recorded"),
    ("condition", "date", "resolved", "the condition resolves before it was recorded"),
)


def check_plausible_fields(kind: str, model: BaseModel, field: str = "") -> None:
    """The numbers of one record entry within their plausible ranges, and its paired fields
    (limits, start and stop) in order."""
    for name, bound in PLAUSIBLE.get(kind, {}).items():
        value = getattr(model, name, None)
        if value is not None:
            check_number(value, _path(field, name), bound.low, bound.high)
    for of_kind, first, second, meaning in ORDERED:
        if of_kind != kind:
            continue
        a, b = getattr(model, first, None), getattr(model, second, None)
        if a is not None and b is not None and b < a:
            raise InputError(_path(field, second), f"{meaning} ({first} {a}, {second} {b})")


def check_entry(kind: str, model: BaseModel, today: dt.date, field: str = "") -> None:
    """Every rule of this module for one new record entry: its text, dates and numbers."""
    check_json(model.model_dump(mode="python", exclude_none=True, warnings=False), field)
    check_dates(model, today, field)
    check_plausible_fields(kind, model, field)


__all__ = [
    "EARLIEST_DATE",
    "FHIR_ID",
    "FUTURE_DAYS",
    "MAX_LIST",
    "MAX_TEXT",
    "PLAUSIBLE",
    "check_dates",
    "check_entry",
    "check_id",
    "check_json",
    "check_number",
    "check_plausible_fields",
    "check_text",
    "dates_in",
    "is_fhir_id",
    "latest_date",
]
