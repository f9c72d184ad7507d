"""Dosing regimens, closed-form pharmacokinetics and Emax effects (illustrative drug layer).

One compartment with first-order input (rate ka) and first-order loss (rate ke = ln 2 / t_half).
Repeated doses of equal size at a fixed interval superpose; the sum over past doses is a geometric
series, so the amount at any time costs O(1) however many doses were given. That keeps the
cohort engine's right-hand side cheap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bonemets.sim import params as kb

FILE = "sim_drugs"
LN2 = math.log(2.0)


@dataclass(frozen=True, slots=True)
class Component:
    """One drug of a regimen: `key` prefixes its parameters (den_, za_, at_, ai_)."""

    key: str
    label: str
    interval_days: float | None = None  # None: continuous exposure (oral, daily)


REGIMENS: dict[str, tuple[Component, ...]] = {
    "none": (),
    "denosumab": (Component("den", "denosumab 120 mg SC every 4 weeks", 28.0),),
    "zoledronic-acid": (Component("za", "zoledronic acid 4 mg IV every 4 weeks", 28.0),),
    "zoledronic-acid-q12w": (Component("za", "zoledronic acid 4 mg IV every 12 weeks", 84.0),),
    "anti-tumour": (Component("at", "anti-tumour therapy (continuous)"),),
    "aromatase-inhibitor": (Component("ai", "aromatase inhibitor (oestrogen deprivation)"),),
}


def drug_constants() -> dict[str, float]:
    """Per-drug PK/PD constants from sim_drugs.toml, in the units the model uses (days, mg)."""
    den = kb.values(FILE, "denosumab")
    za = kb.values(FILE, "zoledronic_acid")
    return {
        "den_amount": den["dose_mg"] * den["bioavailability"],
        "den_ka": den["ka_per_day"],
        "den_ke": LN2 / den["half_life_days"],
        "den_volume_l": den["volume_l"],
        "den_emax": den["emax"],
        "den_ec50": den["ec50_mg_per_l"],
        "za_amount": za["dose_mg"] * za["bone_fraction"],
        "za_ka": LN2 / (za["uptake_half_life_hours"] / 24.0),
        "za_release_half_life_days": za["release_half_life_days"],
        "za_emax": za["emax"],
        "za_ec50": za["ec50_mg"],
        "at_emax": kb.values(FILE, "anti_tumour")["emax"],
        "ai_effect": kb.values(FILE, "aromatase_inhibitor")["effect"],
    }


def parse(spec: str) -> tuple[Component, ...]:
    """'denosumab+anti-tumour' -> its components. Raises KeyError naming an unknown part."""
    parts = [s.strip() for s in spec.split("+") if s.strip()]
    out: list[Component] = []
    for part in parts or ["none"]:
        if part not in REGIMENS:
            raise KeyError(part)
        out.extend(REGIMENS[part])
    keys = [c.key for c in out]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{spec!r} gives the same drug twice")
    return tuple(out)


def regimen_params(spec: str, start_day: float = 0.0) -> dict[str, float]:
    """Switches and schedule of a regimen, as flat model parameters (0 = drug not given)."""
    out = {f"{k}_on": 0.0 for k in ("den", "za", "at", "ai")}
    out |= {"den_interval": 28.0, "za_interval": 28.0}
    for c in parse(spec):
        out[f"{c.key}_on"] = 1.0
        out[f"{c.key}_start"] = start_day
        if c.interval_days is not None:
            out[f"{c.key}_interval"] = c.interval_days
    for k in ("den", "za", "at", "ai"):
        out.setdefault(f"{k}_start", start_day)
    return out


def dose_times(p: Mapping[str, float], days: float) -> list[float]:
    """Dose days of the injected drugs within (0, days), plus start days of continuous ones."""
    times: list[float] = []
    for key in ("den", "za"):
        if p.get(f"{key}_on", 0.0) > 0:
            start, step = float(p[f"{key}_start"]), float(p[f"{key}_interval"])
            times.extend(float(t) for t in np.arange(start, days, step))
    for key in ("at", "ai"):
        if p.get(f"{key}_on", 0.0) > 0:
            times.append(float(p[f"{key}_start"]))
    return sorted(t for t in set(times) if 0.0 < t < days)


def _series(k: Any, since_last: Any, n: Any, interval: Any) -> Any:
    """sum_{j<n} exp(-k (since_last + j interval)), written to stay finite for long runs."""
    return np.exp(-k * since_last) * -np.expm1(-k * n * interval) / -np.expm1(-k * interval)


def amount(t: Any, start: Any, interval: Any, dose: Any, ka: Any, ke: Any) -> Any:
    """Amount in the compartment at time t after doses `dose` at start, start + interval, ..."""
    elapsed = t - start
    n = np.where(elapsed >= 0.0, np.floor(elapsed / interval + 1e-9) + 1.0, 0.0)
    since_last = np.maximum(elapsed - np.maximum(n - 1.0, 0.0) * interval, 0.0)
    bateman = _series(ke, since_last, n, interval) - _series(ka, since_last, n, interval)
    return np.where(n > 0, dose * ka / (ka - ke) * bateman, 0.0)


def emax(conc: Any, top: Any, ec50: Any) -> Any:
    return top * conc / (conc + ec50)


def denosumab_effect(t: Any, p: Mapping[str, Any]) -> Any:
    """Fraction by which denosumab lowers osteoclast formation (0 when not given)."""
    a = amount(t, p["den_start"], p["den_interval"], p["den_amount"], p["den_ka"], p["den_ke"])
    return p["den_on"] * emax(a / p["den_volume_l"], p["den_emax"], p["den_ec50"])


def zoledronic_effect(t: Any, p: Mapping[str, Any]) -> Any:
    """Relative rise of osteoclast removal by bone-bound zoledronic acid (0 when not given)."""
    ke = LN2 / p["za_release_half_life_days"]
    a = amount(t, p["za_start"], p["za_interval"], p["za_amount"], p["za_ka"], ke)
    return p["za_on"] * emax(a, p["za_emax"], p["za_ec50"])


def denosumab_concentration(t: Any, p: Mapping[str, Any]) -> Any:
    """Serum denosumab in mg/L (= ug/mL)."""
    a = amount(t, p["den_start"], p["den_interval"], p["den_amount"], p["den_ka"], p["den_ke"])
    return a / p["den_volume_l"]
