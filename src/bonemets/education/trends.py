"""A patient's own trends: how their symptoms went from one check-in to the next, and their results
over time in the units they chose (knowledge/labs.toml [unit_systems]).

Pure: a record in, what the portal's "My symptoms and results" page shows out. Values are
converted for showing only; what is stored is never changed. Values the patient typed in are kept
and marked, as everywhere else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from bonemets.core.knowledge import load
from bonemets.core.labs import Sex, albumin_for, corrected_calcium, usual_range
from bonemets.core.record import TUMOUR_MARKERS, Lab, Record
from bonemets.core.triage.models import Symptom, symptom_catalogue
from bonemets.core.units import convert, unit_in_system

# The windows a patient can pick, in months (0: everything on the record).
WINDOWS: tuple[int, ...] = (3, 6, 12, 0)
DEFAULT_WINDOW = 6


@dataclass(frozen=True)
class ResultPoint:
    day: dt.date
    value: float  # in the trend's unit
    typed_by_patient: bool
    not_adjusted: bool = False  # a total calcium with no albumin to adjust it with
    position: str = "usual"  # "below", "usual" or "above" the usual range (or "unknown")


@dataclass(frozen=True)
class ResultTrend:
    code: str  # "calcium" or a lab code
    name: str
    about: str
    unit: str
    usual: tuple[float, float] | None  # the latest point's usual range, in `unit`
    points: tuple[ResultPoint, ...]  # oldest first


@dataclass(frozen=True)
class SymptomRow:
    code: str
    label: str
    cells: tuple[int | None, ...]  # the severity (0-4) at each check-in; None: not reported


@dataclass(frozen=True)
class PainPoint:
    day: dt.date
    score: int  # 0-10, the highest of the day
    symptom: str  # the label of the symptom it was given for


@dataclass(frozen=True)
class SymptomTrend:
    days: tuple[dt.date, ...]  # every check-in in the window, oldest first
    rows: tuple[SymptomRow, ...]
    pain: tuple[PainPoint, ...]


@cache
def _results_words() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = load("patient_words")["results"]
    return table


def severity_words() -> tuple[str, ...]:
    """'None', 'Mild', ... 'Very severe': the PRO-CTCAE severity scale (pro_ctcae.toml)."""
    return tuple(load("pro_ctcae")["scales"]["severity"])


def window_start(today: dt.date, months: int) -> dt.date | None:
    """The first day of a window of `months` months ending `today`; None for everything."""
    if months not in WINDOWS:
        raise ValueError(f"months must be one of {WINDOWS}")
    if months == 0:
        return None
    month0 = today.month - months
    year = today.year + (month0 - 1) // 12
    month = (month0 - 1) % 12 + 1
    last_day = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(today.day, last_day))


def _in_window(day: dt.date, start: dt.date | None, today: dt.date) -> bool:
    return (start is None or day >= start) and day <= today


# --- Symptoms -------------------------------------------------------------------------------------


def symptom_trend(record: Record, today: dt.date, months: int = DEFAULT_WINDOW) -> SymptomTrend:
    start = window_start(today, months)
    reports = sorted(
        (r for r in record.symptom_reports if _in_window(r.date, start, today)),
        key=lambda r: r.date,
    )
    days = tuple(sorted({r.date for r in reports}))
    column = {day: i for i, day in enumerate(days)}
    # The newest answer of the day about each symptom (reports of a day are in filing order): the
    # check-in's second step refines what its first step filed at the default severity, and a
    # second check-in that day is the patient's newer word. Triage still reads every report.
    latest: dict[tuple[dt.date, str], Symptom] = {}
    for report in reports:
        for symptom in report.symptoms:
            latest[(report.date, symptom.code)] = symptom
    worst: dict[str, list[int | None]] = {}
    pain: dict[dt.date, PainPoint] = {}
    catalogue = symptom_catalogue()
    for (day, code), symptom in latest.items():
        worst.setdefault(code, [None] * len(days))[column[day]] = symptom.severity
        if symptom.pain_score is not None:
            known = pain.get(day)
            if known is None or symptom.pain_score > known.score:
                pain[day] = PainPoint(day, symptom.pain_score, str(catalogue[code]["label"]))
    # Symptoms in the catalogue's order, so that the same symptom is on the same row each visit.
    rows = tuple(
        SymptomRow(code, str(catalogue[code]["label"]), tuple(worst[code]))
        for code in catalogue
        if code in worst
    )
    return SymptomTrend(days, rows, tuple(pain[d] for d in sorted(pain)))


# --- Results --------------------------------------------------------------------------------------


def _position(value: float, usual: tuple[float, float] | None) -> str:
    if usual is None:
        return "unknown"
    low, high = usual
    return "below" if value < low else "above" if value > high else "usual"


def _usual(lab: Lab, code: str, unit: str, sex: Sex | None) -> tuple[float, float] | None:
    """core.labs.usual_range for `lab`; tumour markers have none."""
    if code in TUMOUR_MARKERS:
        return None
    found = usual_range(code, unit, sex, lower=lab.lower_limit, upper=lab.upper_limit,
                        given_unit=lab.unit)  # fmt: skip
    return found[:2] if found is not None else None


def _calcium_points(
    labs: list[Lab], unit: str, sex: Sex | None
) -> tuple[list[ResultPoint], tuple[float, float] | None]:
    """Total calcium adjusted for albumin as triage pairs them (core.labs.albumin_for), and the
    laboratory's own corrected calcium, which replaces a total of the same day."""
    albumins = [x for x in labs if x.code == "albumin"]
    lab_corrected = {(x.date, x.reported_by_patient) for x in labs if x.code == "calcium_corrected"}
    points: list[tuple[ResultPoint, tuple[float, float] | None]] = []
    for lab in labs:
        if lab.code == "calcium_corrected":
            value = convert(lab.code, lab.value, lab.unit, unit)
            usual = _usual(lab, "calcium_corrected", unit, sex)
            points.append((ResultPoint(lab.date, value, lab.reported_by_patient), usual))
        elif lab.code == "calcium_total":
            if (lab.date, lab.reported_by_patient) in lab_corrected:
                continue
            same_source = [a for a in albumins if a.reported_by_patient == lab.reported_by_patient]
            albumin = albumin_for(lab, same_source)
            usual = _usual(lab, "calcium_total", unit, sex)
            if albumin is None:
                value = convert(lab.code, lab.value, lab.unit, unit)
                point = ResultPoint(lab.date, value, lab.reported_by_patient, not_adjusted=True)
            else:
                cc = corrected_calcium(
                    lab.value, lab.unit, albumin.value, albumin.unit, validated=True
                )
                value = convert("calcium_corrected", cc.value, cc.unit, unit)
                point = ResultPoint(lab.date, value, lab.reported_by_patient)
            points.append((point, usual))
    points.sort(key=lambda p: p[0].day)
    shown = [
        ResultPoint(p.day, p.value, p.typed_by_patient, p.not_adjusted, _position(p.value, u))
        for p, u in points
    ]
    return shown, (points[-1][1] if points else None)


def result_trends(
    record: Record, today: dt.date, unit_system: str, months: int = DEFAULT_WINDOW
) -> list[ResultTrend]:
    """One trend per kind of result on the record in the window (patient_words.toml [results]),
    in the units of `unit_system`."""
    start = window_start(today, months)
    labs = sorted(
        (x for x in record.labs if _in_window(x.date, start, today)), key=lambda x: x.date
    )
    sex: Sex | None = record.demographics.sex
    trends: list[ResultTrend] = []
    for code, words in _results_words().items():
        unit: str
        usual: tuple[float, float] | None
        if code == "calcium":
            unit = unit_in_system("calcium_corrected", unit_system)
            points, usual = _calcium_points(labs, unit, sex)
        else:
            mine = [x for x in labs if x.code == code]
            if not mine:
                continue
            if code in TUMOUR_MARKERS:  # one unit each once read (core.record): no conversion
                unit, usual = mine[-1].unit, None
                points = [
                    ResultPoint(x.date, x.value, x.reported_by_patient, position="unknown")
                    for x in mine
                ]
            else:
                unit = unit_in_system(code, unit_system)
                usual = _usual(mine[-1], code, unit, sex)
                points = []
                for x in mine:
                    value = convert(code, x.value, x.unit, unit)
                    where = _position(value, _usual(x, code, unit, sex))
                    points.append(ResultPoint(x.date, value, x.reported_by_patient, False, where))
        if points:
            trends.append(
                ResultTrend(code, words["name"], words["about"], unit, usual, tuple(points))
            )
    return trends


def shown_value(value: float) -> str:
    """A result as a patient reads it: three significant figures, whole numbers from 100 up."""
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def unit_system_choices() -> list[dict[str, Any]]:
    """[{code, label}] of the unit systems a person can choose."""
    systems: dict[str, dict[str, Any]] = load("labs")["unit_systems"]
    return [{"code": code, "label": entry["label"]} for code, entry in systems.items()]
