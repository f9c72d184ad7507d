"""Unit handling for laboratory values: normalising spellings, converting, checking plausibility."""

from __future__ import annotations

from functools import cache
from typing import Any

from bonemets.core.errors import InputError
from bonemets.core.knowledge import load

ANALYTES: tuple[str, ...] = (
    "calcium_total",
    "calcium_ionized",
    "calcium_corrected",
    "albumin",
    "creatinine",
    "alkaline_phosphatase",
    "platelets",
    "haemoglobin",
    "vitamin_d_25oh",
    "neutrophils",
)


@cache
def _analytes() -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = load("labs")["analytes"]
    return table


@cache
def _synonyms() -> dict[str, str]:
    table: dict[str, str] = load("labs")["unit_synonyms"]
    return table


def analyte(code: str) -> dict[str, Any]:
    """The knowledge entry of a lab code (label, units, plausible bounds, reference limits)."""
    try:
        return _analytes()[code]
    except KeyError:
        raise InputError(
            "code", f"unknown lab code {code!r}; expected one of {list(ANALYTES)}"
        ) from None


@cache
def _checks(code: str) -> tuple[dict[str, float], float, float]:
    """Per-unit factors to the canonical unit, and the plausible range in it, of lab `code`:
    what every lab value is checked against, looked up once."""
    entry = analyte(code)
    low, high = entry["plausible"]
    return entry["per_unit"], low, high


def normalise_unit(code: str, unit: str, field: str = "unit") -> str:
    """The canonical spelling of `unit` for lab `code`, or an InputError naming `field`."""
    accepted = _checks(code)[0]
    if unit in accepted:
        return unit
    spelled = _synonyms().get(unit.strip().lower())
    if spelled in accepted:
        return spelled
    raise InputError(field, f"unit {unit!r} does not fit {code}; expected one of {list(accepted)}")


def to_canonical(code: str, value: float, unit: str) -> float:
    """`value` in `unit` converted to the canonical unit of `code` (unit already normalised)."""
    factor: float = analyte(code)["per_unit"][unit]
    return value * factor


def from_canonical(code: str, value: float, unit: str) -> float:
    factor: float = analyte(code)["per_unit"][unit]
    return value / factor


def convert(code: str, value: float, from_unit: str, to_unit: str) -> float:
    """Convert a lab value between two accepted units of the same analyte."""
    src = normalise_unit(code, from_unit, "from_unit")
    dst = normalise_unit(code, to_unit, "to_unit")
    return from_canonical(code, to_canonical(code, value, src), dst)


def check_plausible(code: str, value: float, unit: str, field: str = "value") -> None:
    """Refuse a value no living patient could have in this unit (most often a unit mix-up)."""
    per_unit, low, high = _checks(code)
    if not (low <= value * per_unit[unit] <= high):  # value in the canonical unit
        entry = analyte(code)
        hint = ""
        others = [u for u in entry["per_unit"] if u != unit]
        for other in others:
            if low <= to_canonical(code, value, other) <= high:
                hint = f" (is the unit {other}?)"
                break
        raise InputError(
            field,
            f"{entry['label']} {value} {unit} is outside the plausible range "
            f"{from_canonical(code, low, unit):.4g}-{from_canonical(code, high, unit):.4g} {unit}"
            f"{hint}; check the value and its unit",
        )


# --- Unit systems: how a person chose to see results (knowledge/labs.toml [unit_systems]) --------

DEFAULT_UNIT_SYSTEM = "si"


@cache
def unit_systems() -> dict[str, dict[str, Any]]:
    """Each unit system's label and the unit it shows for each analyte that has several."""
    table: dict[str, dict[str, Any]] = load("labs")["unit_systems"]
    return table


def unit_in_system(code: str, system: str) -> str:
    """The unit `code` is shown in under `system` (an analyte with one unit: that unit)."""
    if system not in unit_systems():
        known = list(unit_systems())
        raise InputError("unit_system", f"unknown unit system {system!r}; expected one of {known}")
    chosen: str | None = unit_systems()[system]["units"].get(code)
    return chosen if chosen is not None else analyte(code)["canonical_unit"]
