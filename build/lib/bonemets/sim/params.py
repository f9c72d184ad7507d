"""Simulator parameters as data, each value with sources and evidence tag (knowledge/sim_*.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bonemets.core.knowledge import check_source_ids, load


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    value: float
    sources: tuple[str, ...]
    evidence: str
    unit: str = ""
    meaning: str = ""


def _param(file: str, table: str, name: str, raw: dict[str, Any]) -> Param:
    where = f"{file}.toml [{table}] {name}"
    return Param(
        name=name,
        value=float(raw["value"]),
        sources=tuple(check_source_ids(list(raw["sources"]), where)),
        evidence=str(raw["evidence"]),
        unit=str(raw.get("unit", "")),
        meaning=str(raw.get("meaning", "")),
    )


def table(file: str, name: str) -> dict[str, Param]:
    """The parameters of table `name` in knowledge file `file`, sources checked."""
    raw = load(file)[name]
    return {key: _param(file, name, key, value) for key, value in raw.items()}


def values(file: str, name: str) -> dict[str, float]:
    return {key: p.value for key, p in table(file, name).items()}


def run_days(file: str, key: str = "days") -> float:
    return float(load(file)["run"][key])


def cohort_spread(file: str) -> dict[str, float]:
    """Coefficient of variation of the log-normal factor on each varied parameter."""
    out: dict[str, float] = {}
    for key, raw in load(file).get("cohort", {}).items():
        check_source_ids(list(raw["sources"]), f"{file}.toml [cohort] {key}")
        out[key] = float(raw["cv"])
    return out
