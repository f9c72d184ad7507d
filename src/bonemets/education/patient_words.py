"""What a patient reads in place of codes, units and ISO dates (knowledge/patient_words.toml).

Used by the patient portal's templates (as Jinja filters), the care plan PDF and the calendar,
so that a patient meets the same words everywhere.
"""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bonemets.core.knowledge import load


@cache
def _words() -> dict[str, Any]:
    return load("patient_words")


def _plain(code: str) -> str:
    """A code with no wording yet: its words, never hidden (and never the raw underscores)."""
    return code.replace("_", " ")


def site_words(code: str | None) -> str:
    if not code:
        return ""
    return str(_words()["sites"].get(code) or _plain(code))


def feature_words(code: str) -> str:
    return str(_words()["features"].get(code) or _plain(code))


def unit_words(unit: str) -> str:
    return str(_words()["units"].get(unit) or unit)


def areas() -> dict[str, dict[str, str]]:
    """Body area code -> {label, hint}, in the order the check-in shows them."""
    table: dict[str, dict[str, str]] = _words()["areas"]
    return table


def asks_pain_score(code: str) -> bool:
    return code in _words()["pain_score"]["codes"]


def patient_date(value: dt.date | str | None, today: dt.date | None = None) -> str:
    """'Tuesday 8 December' (the year added when it is not this year's): no ISO dates, no
    leading zeros, and a weekday to plan by."""
    if value is None or value == "":
        return ""
    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(day, dt.datetime):
        day = day.date()
    text = f"{day:%A} {day.day} {day:%B}"
    if today is None or day.year != today.year:
        text += f" {day.year}"
    return text


def short_date(value: dt.date | str | None, today: dt.date | None = None) -> str:
    """'Tue 8 Dec' for narrow places (tables, the PDF's schedule), the year as above."""
    if value is None or value == "":
        return ""
    day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
    text = f"{day:%a} {day.day} {day:%b}"
    if today is None or day.year != today.year:
        text += f" {day.year}"
    return text


# --- Saying it in the reader's language ----------------------------------------------------------

DateWords = Callable[[dt.date | str | None, dt.date | None], str]


def N_(message: str) -> str:
    """Marks an English text for the catalogue where it is defined (a table of words);
    translated where it is said, with `Wording.tr`."""
    return message


@dataclass(frozen=True)
class Wording:
    """How patient text is said in one language: its translations (gettext, with the English
    text as the msgid: faces/web/i18n.py finds them) and its dates. The default is English, as
    the CLI and tests use it; the web faces pass the reader's language."""

    translations: gettext.NullTranslations = field(default_factory=gettext.NullTranslations)
    long_date: DateWords = patient_date
    short_date: DateWords = short_date

    def _(self, message: str) -> str:
        """A sentence written here, to be formatted with % {...} after translation."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def tr(self, text: str) -> str:
        """A text that is a msgid but not a literal here (a table's, a knowledge file's)."""
        return self.translations.gettext(text) if text else text


ENGLISH = Wording()
