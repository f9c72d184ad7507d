"""Laboratory interpretation: albumin-corrected calcium and CTCAE v5 grades.

Grades are computed in the unit the laboratory reported: the CTCAE mg/dL and mmol/L boundaries are
separately defined and are not exact conversions of each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, Protocol, TypeVar

from bonemets.core.errors import InputError
from bonemets.core.knowledge import check_source_ids, load
from bonemets.core.units import analyte, check_plausible, normalise_unit, to_canonical
from bonemets.core.units import convert as convert_value

Sex = Literal["female", "male"]

# Float noise such as 2.9000000000000004 must not cross a CTCAE boundary.
_ROUND = 9


@dataclass(frozen=True, slots=True)
class CorrectedCalcium:
    value: float
    unit: str
    formula: str
    calcium: float
    albumin: float
    albumin_unit: str
    sources: list[str]
    caveats: list[str] = field(default_factory=list)


_CC_SOURCES_MG_DL = ("zometa-label", "payne-1973", "lian-asberg-2018")
_CC_SOURCES_MMOL_L = ("bondronat-smpc", "payne-1973", "lian-asberg-2018")
_CC_CAVEAT = (
    "Albumin correction is unreliable in kidney impairment (eGFR below 60); "
    "measure ionised calcium where it matters."
)


def corrected_calcium(
    calcium: float,
    calcium_unit: str,
    albumin: float,
    albumin_unit: str,
    *,
    validated: bool = False,
) -> CorrectedCalcium:
    """Albumin-corrected total calcium, in the unit system of the calcium value.

    mg/dL: Ca + 0.8 x (4.0 - albumin g/dL)  (Zometa US PI 1.1)
    mmol/L: Ca + 0.02 x (40 - albumin g/L)  (UK convention; equal to the Bondronat SmPC form)
    """
    ca_unit, alb_unit = calcium_unit, albumin_unit
    if not validated:  # `validated=True`: units normalised and values checked by the caller
        ca_unit = normalise_unit("calcium_total", calcium_unit, "calcium_unit")
        alb_unit = normalise_unit("albumin", albumin_unit, "albumin_unit")
        check_plausible("calcium_total", calcium, ca_unit, "calcium")
        check_plausible("albumin", albumin, alb_unit, "albumin")
    alb_g_l = to_canonical("albumin", albumin, alb_unit)
    if ca_unit == "mg/dL":
        alb_g_dl = alb_g_l / 10.0
        value = calcium + 0.8 * (4.0 - alb_g_dl)
        formula = f"{calcium:g} + 0.8 x (4.0 - {alb_g_dl:g} g/dL)"
        sources = _CC_SOURCES_MG_DL
    else:
        value = calcium + 0.02 * (40.0 - alb_g_l)
        formula = f"{calcium:g} + 0.02 x (40 - {alb_g_l:g} g/L)"
        sources = _CC_SOURCES_MMOL_L
    return CorrectedCalcium(
        value=round(value, _ROUND),
        unit=ca_unit,
        formula=formula,
        calcium=calcium,
        albumin=albumin,
        albumin_unit=alb_unit,
        sources=list(sources),
        caveats=[_CC_CAVEAT],
    )


@dataclass(slots=True)  # not frozen: about ten are built per assessment, at a third of the cost
class Grade:
    """A CTCAE v5 grade of one laboratory value. Grade 0 means within the CTCAE normal band."""

    criterion: str
    term: str
    grade: int
    value: float
    unit: str
    limit: float | None
    limit_from: Literal["laboratory", "default", "baseline", "none"]
    sources: list[str]
    evidence: str
    caveats: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.grade == 0:
            return f"{self.term}: {self.value:g} {self.unit}, no CTCAE grade"
        return f"{self.term}: {self.value:g} {self.unit}, CTCAE grade {self.grade}"


CRITERIA: tuple[str, ...] = (
    "hypercalcaemia",
    "hypercalcaemia_ionized",
    "hypocalcaemia",
    "hypocalcaemia_ionized",
    "platelets_decreased",
    "anaemia",
    "hypoalbuminaemia",
    "creatinine_increased",
    "alkaline_phosphatase_increased",
    "neutrophil_count_decreased",
)


@dataclass(frozen=True, slots=True)
class _Criterion:
    """A CTCAE criterion compiled from ctcae.toml: thresholds as (grade, limit), highest first."""

    name: str
    term: str
    analyte: str
    high: bool
    evidence: str
    sources: tuple[str, ...]
    by_unit: dict[str, tuple[tuple[int, float], ...]]
    uln_multiples: tuple[tuple[int, float], ...] = ()
    baseline_multiples: tuple[tuple[int, float], ...] = ()


def _ranked(table: dict[str, float]) -> tuple[tuple[int, float], ...]:
    return tuple(sorted(((int(g), float(t)) for g, t in table.items()), reverse=True))


@cache
def _criterion(name: str) -> _Criterion:
    table = load("ctcae")
    if name not in table:
        raise InputError(
            "criterion", f"unknown CTCAE criterion {name!r}; expected one of {list(CRITERIA)}"
        )
    entry: dict[str, Any] = table[name]
    check_source_ids(entry["sources"], f"ctcae.{name}")
    thresholds: dict[str, dict[str, float]] = entry["thresholds"]
    multiple = bool(entry.get("multiple_of_uln"))
    return _Criterion(
        name=name,
        term=entry["term"],
        analyte=entry["analyte"],
        high=entry["direction"] == "high",
        evidence=entry["evidence"],
        sources=tuple(entry["sources"]),
        by_unit={} if multiple else {u: _ranked(t) for u, t in thresholds.items()},
        uln_multiples=_ranked(thresholds["uln"]) if multiple else (),
        baseline_multiples=_ranked(entry.get("baseline_thresholds", {})),
    )


@cache
class Measured(Protocol):
    """A lab value with an optional date: the record's labs and the triage contract's alike."""

    @property
    def date(self) -> dt.date | None: ...

    @property
    def value(self) -> float: ...


M = TypeVar("M", bound=Measured)


@cache
def albumin_pairing_window() -> dt.timedelta:
    """How long before a calcium an albumin may still correct it (knowledge/labs.toml)."""
    return dt.timedelta(days=int(load("labs")["albumin_pairing_days"]))


def albumin_for(calcium: Measured, albumins: list[M]) -> M | None:
    """The albumin to correct `calcium` with: the same day's (the lowest, which gives the higher
    corrected value), else the latest within the pairing window before it. Undated values pair
    only with undated ones. Triage and the patient's own results both pair through here."""
    if calcium.date is None:
        undated = [a for a in albumins if a.date is None]
        return min(undated, key=lambda a: a.value) if undated else None
    day = calcium.date
    same_day = [a for a in albumins if a.date == day]
    if same_day:
        return min(same_day, key=lambda a: a.value)
    window = albumin_pairing_window()
    before = [a for a in albumins if a.date is not None and day - window <= a.date < day]
    return max(before, key=lambda a: a.date or dt.date.min) if before else None


def default_limits(code: str, unit: str, sex: Sex | None) -> tuple[float, float] | None:
    """The default reference range of `code` in `unit`, or None when the project has none.

    Sex-specific ranges pick, for unknown sex, the limit that flags more results.
    """
    entry = analyte(code)
    if unit == "mg/dL" and "reference_mg_dl" in entry:
        low, high = entry["reference_mg_dl"]
        return float(low), float(high)
    if "reference" in entry:
        low, high = entry["reference"]
    elif "reference_female" in entry:
        female, male = entry["reference_female"], entry["reference_male"]
        if sex == "female":
            low, high = female
        elif sex == "male":
            low, high = male
        else:
            low, high = max(female[0], male[0]), min(female[1], male[1])
    else:
        return None
    factor: float = entry["per_unit"][unit]
    return low / factor, high / factor


def usual_range(
    code: str,
    unit: str,
    sex: Sex | None,
    *,
    lower: float | None = None,
    upper: float | None = None,
    given_unit: str | None = None,
) -> tuple[float, float, str] | None:
    """The usual range of `code` in `unit` for showing a result: each limit the laboratory gave
    (`lower`, `upper` in `given_unit`; a laboratory often gives only an upper one), the project's
    default for a limit it did not; with where it came from ("laboratory" when it gave any,
    else "default"). None when a limit is unknown: a value is then never called usual."""
    fallback: tuple[float | None, float | None] = default_limits(code, unit, sex) or (None, None)
    low, high = (
        convert_value(code, given, given_unit or unit, unit) if given is not None else default
        for given, default in zip((lower, upper), fallback, strict=True)
    )
    if low is None or high is None:
        return None
    return low, high, "laboratory" if lower is not None or upper is not None else "default"


def ctcae_grade(
    criterion: str,
    value: float,
    unit: str,
    *,
    lower_limit: float | None = None,
    upper_limit: float | None = None,
    baseline: float | None = None,
    sex: Sex | None = None,
    field_name: str = "value",
    validated: bool = False,
) -> Grade:
    """The CTCAE v5 grade of `value` for `criterion` (see CRITERIA).

    `lower_limit`/`upper_limit` are the laboratory's own limits in `unit`; without them the
    project's default range is used and the grade says so. `baseline` (same unit) is used by
    creatinine increased. `validated=True` skips the unit and plausibility checks for a value
    that has already passed them (the triage input models do).
    """
    spec = _criterion(criterion)
    code = spec.analyte
    if not validated:
        unit = normalise_unit(code, unit, "unit")
        check_plausible(code, value, unit, field_name)
    value = round(value, _ROUND)
    high = spec.high

    limit_from: Literal["laboratory", "default", "baseline", "none"] = "laboratory"
    limit = upper_limit if high else lower_limit
    if limit is None:
        defaults = default_limits(code, unit, sex)
        if defaults is not None:
            limit = defaults[1] if high else defaults[0]
            limit_from = "default"
        else:
            limit_from = "none"

    grade = 0
    if spec.uln_multiples:
        if limit is None:
            raise InputError("upper_limit", f"{criterion} needs the laboratory upper limit")
        for g, multiple in spec.uln_multiples:
            if value > multiple * limit:
                grade = g
                break
        if baseline is not None:
            for g, multiple in spec.baseline_multiples:
                if value > multiple * baseline:
                    if g > grade:
                        grade, limit_from = g, "baseline"
                    break
    else:
        ranked = spec.by_unit.get(unit)
        if ranked is None:
            # e.g. ionised calcium reported in mg/dL: grade it in the canonical unit.
            canonical = analyte(code)["canonical_unit"]
            value = round(to_canonical(code, value, unit), _ROUND)
            if limit is not None:
                limit = to_canonical(code, limit, unit)
            unit = canonical
            ranked = spec.by_unit[unit]
        for g, threshold in ranked:
            if (value > threshold) if high else (value < threshold):
                grade = g
                break
    if grade == 0 and limit is not None and ((value > limit) if high else (value < limit)):
        grade = 1

    evidence = spec.evidence
    sources = list(spec.sources)
    caveats: list[str] = []
    if grade == 1 and limit_from == "default" and limit is not None:
        # The project's default limit decided this grade: say so, and flag weak evidence.
        entry = analyte(code)
        caveats.append(
            f"No laboratory {'upper' if high else 'lower'} limit was given; the default "
            f"{limit:g} {unit} was used for grade 1."
        )
        sources += entry.get("reference_sources", [])
        if entry.get("reference_evidence") in ("U", "P"):
            caveats.append("That default limit is not from a verified source.")
            evidence = "U"
    return Grade(
        criterion=criterion,
        term=spec.term,
        grade=grade,
        value=value,
        unit=unit,
        limit=limit,
        limit_from=limit_from,
        sources=sources,
        evidence=evidence,
        caveats=caveats,
    )
