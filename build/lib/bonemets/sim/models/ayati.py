"""Ayati et al. 2010 with a tumour (BIOMD0000000402) and with treatment (BIOMD0000000403).

Curated form (default): the resorption/formation thresholds C_bar, B_bar are the tumour steady
state at T = LT, fixed for the whole run, and k1, k2 are constant, exactly as in the SBML.

The paper instead recomputes the thresholds and the resorption/formation coefficients per phase
(tumour onset, treatment start, tumour extinction), taking k1/k2 from the integrals of the first
complete cycle of each phase (as re-described by Valerio, Coelho, Vinga et al. 2018). The switch
``paper_thresholds = 1`` offers the part of that which is well defined without a cycle detector:
thresholds follow the instantaneous tumour steady state (s = T/LT); k1, k2 stay curated. That
variant is unverified against the paper's figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bonemets.sim import params as kb
from bonemets.sim.models.base import Array, Model, Params, floor_bone, power

FILE = "sim_ayati2010"


def thresholds(p: Params, s: Any) -> tuple[Any, Any]:
    """Steady state (C_bar, B_bar) of the cell equations with the tumour at size s = T/LT."""
    a11 = p["g11"] * (1.0 + p["r11"] * s)
    a21 = p["g21"] * (1.0 + p["r21"] * s)
    a12 = p["g12"] / (1.0 + p["r12"] * s)
    a22 = p["g22"] - p["r22"] * s
    big_gamma = a12 * a21 - (1.0 - a11) * (1.0 - a22)
    r1 = p["beta1"] / p["alpha1"]
    r2 = p["beta2"] / p["alpha2"]
    c_bar = r1 ** ((1.0 - a22) / big_gamma) * r2 ** (a21 / big_gamma)
    b_bar = r1 ** (a12 / big_gamma) * r2 ** ((1.0 - a11) / big_gamma)
    return c_bar, b_bar


def prepare(p: Params) -> Params:
    c_bar, b_bar = thresholds(p, 1.0)
    return {"v1": 0.0, "v2": 0.0, "t_treat": np.inf, "paper_thresholds": 0.0, **p,
            "C_bar": c_bar, "B_bar": b_bar}  # fmt: skip


def gompertz(rate: Any, tumour: Any, lt: Any) -> Any:
    """rate T ln(LT/T), 0 for an extinct tumour (T underflows to 0 under strong treatment)."""
    safe = np.maximum(tumour, 1e-300)
    return np.where(tumour > 0.0, rate * safe * np.log(lt / safe), 0.0)


def rhs(t: Any, y: Array, p: Params) -> Array:
    c, b, tumour = y[0], y[1], y[3]
    s = tumour / p["LT"]
    treated = t >= p["t_treat"]
    v1 = np.where(treated, p["v1"], 0.0)
    v2 = np.where(treated, p["v2"], 0.0)
    dy = np.empty_like(y)
    dy[0] = (
        p["alpha1"]
        * power(c, p["g11"] * (1.0 + p["r11"] * s))
        * power(b, p["g21"] * (1.0 + p["r21"] * s))
        - p["beta1"] * c
    )
    dy[1] = (
        p["alpha2"] * power(c, p["g12"] / (1.0 + p["r12"] * s)) * power(b, p["g22"] - p["r22"] * s)
        - (p["beta2"] - v1) * b
    )  # fmt: skip
    if np.any(p["paper_thresholds"]):
        c_now, b_now = thresholds(p, s)
        c_bar = np.where(p["paper_thresholds"] > 0, c_now, p["C_bar"])
        b_bar = np.where(p["paper_thresholds"] > 0, b_now, p["B_bar"])
    else:
        c_bar, b_bar = p["C_bar"], p["B_bar"]
    dy[2] = p["k2"] * np.maximum(b - b_bar, 0.0) - p["k1"] * np.maximum(c - c_bar, 0.0)
    dy[3] = gompertz(p["gammaT"] - v2, tumour, p["LT"])
    return floor_bone(dy, y)


def treatment_breakpoints(p: Mapping[str, float], days: float) -> list[float]:
    t = float(p.get("t_treat", np.inf))
    return [t] if 0.0 < t < days else []


def _tumour_params() -> dict[str, float]:
    return kb.values(FILE, "params")


def _treatment_params() -> dict[str, float]:
    return {**kb.values(FILE, "params"), **kb.values(FILE, "treatment")}


STATES = ("osteoclasts", "osteoblasts", "bone_mass", "tumour")

TUMOUR = Model(
    name="ayati2010-tumour",
    title="Ayati et al. 2010 with tumour (BIOMD0000000402)",
    states=STATES,
    rhs=rhs,
    prepare=prepare,
    breakpoints=treatment_breakpoints,
    params=_tumour_params,
    initial=lambda: kb.values(FILE, "initial_tumour"),
    default_days=kb.run_days(FILE),
    spread=lambda: kb.cohort_spread(FILE),
)

TREATMENT = Model(
    name="ayati2010-treatment",
    title="Ayati et al. 2010 with tumour and treatment from day 600 (BIOMD0000000403)",
    states=STATES,
    rhs=rhs,
    prepare=prepare,
    breakpoints=treatment_breakpoints,
    params=_treatment_params,
    initial=lambda: kb.values(FILE, "initial_treatment"),
    default_days=kb.run_days(FILE, "treatment_days"),
    spread=lambda: kb.cohort_spread(FILE),
)
