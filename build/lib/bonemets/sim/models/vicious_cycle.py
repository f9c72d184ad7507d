"""Illustrative vicious-cycle model: Komarova core + Ayati tumour + bone-to-tumour feedback + drugs.

ILLUSTRATIVE, NOT A PREDICTION FOR A PATIENT. Equations and the source of every value:
knowledge/sim_vicious_cycle.toml and knowledge/sim_drugs.toml. The loop closes the way the biology
does: osteoclasts above their healthy level resorb bone, the matrix releases growth factors
(TGF-beta and others) and the tumour grows faster; the tumour in turn drives osteoclasts up and
osteoblasts down (PTHrP -> RANKL, as Ayati's r11, r22). Drugs act as control actions on rates
(Coelho et al. 2016): denosumab lowers osteoclast formation, zoledronic acid raises osteoclast
removal, anti-tumour therapy lowers tumour growth, an aromatase inhibitor raises osteoclast drive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bonemets.sim import params as kb
from bonemets.sim import pk
from bonemets.sim.models.ayati import gompertz
from bonemets.sim.models.base import Array, Model, Params, floor_bone, power
from bonemets.sim.models.komarova import steady_state

FILE = "sim_vicious_cycle"


def defaults() -> dict[str, float]:
    return {**kb.values(FILE, "params"), **pk.drug_constants(), **pk.regimen_params("none")}


def prepare(p: Params) -> Params:
    c_bar, b_bar = steady_state(p)  # healthy (tumour-free, untreated) thresholds
    return {**p, "C_bar": c_bar, "B_bar": b_bar}


def drug_actions(t: Any, p: Mapping[str, Any]) -> tuple[Any, Any, Any, Any]:
    """Multipliers on osteoclast formation, osteoclast removal, tumour growth, osteoclast drive."""
    formation = 1.0 - pk.denosumab_effect(t, p)
    removal = 1.0 + pk.zoledronic_effect(t, p)
    growth = 1.0 - p["at_on"] * np.where(t >= p["at_start"], p["at_emax"], 0.0)
    drive = 1.0 + p["ai_on"] * np.where(t >= p["ai_start"], p["ai_effect"], 0.0)
    return formation, removal, growth, drive


def rhs(t: Any, y: Array, p: Params) -> Array:
    c, b, tumour = y[0], y[1], y[3]
    s = tumour / p["LT"]
    formation, removal, growth, drive = drug_actions(t, p)
    dy = np.empty_like(y)
    dy[0] = (
        p["alpha1"] * formation * drive
        * power(c, p["g11"] * (1.0 + p["r11"] * s)) * power(b, p["g21"] * (1.0 + p["r21"] * s))
        - p["beta1"] * removal * c
    )  # fmt: skip
    dy[1] = (
        p["alpha2"] * power(c, p["g12"] / (1.0 + p["r12"] * s)) * power(b, p["g22"] - p["r22"] * s)
        - p["beta2"] * b
    )  # fmt: skip
    resorbing = np.maximum(c - p["C_bar"], 0.0)
    dy[2] = p["k2"] * np.maximum(b - p["B_bar"], 0.0) - p["k1"] * resorbing
    feedback = 1.0 + p["rho"] * resorbing / p["C_bar"]  # growth factors released by resorption
    dy[3] = gompertz(p["gammaT"] * feedback * growth, tumour, p["LT"])
    return floor_bone(dy, y)


def breakpoints(p: Mapping[str, float], days: float) -> list[float]:
    return pk.dose_times(p, days)


MODEL = Model(
    name="vicious-cycle",
    title="Illustrative vicious cycle: tumour, bone cells, bone mass and drugs",
    states=("osteoclasts", "osteoblasts", "bone_mass", "tumour"),
    rhs=rhs,
    prepare=prepare,
    breakpoints=breakpoints,
    params=defaults,
    initial=lambda: kb.values(FILE, "initial"),
    default_days=kb.run_days(FILE),
    spread=lambda: kb.cohort_spread(FILE),
    illustrative=True,
    treatments=True,
)
