"""Komarova et al. 2003 (BIOMD0000000148): osteoclasts, osteoblasts and bone mass.

Steady state, Jacobian and regimes are closed-form: the model is an S-system.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from bonemets.sim import params as kb
from bonemets.sim.models.base import Array, Model, Params, floor_bone, no_breakpoints, power

FILE = "sim_komarova2003"
Regime = Literal["damped", "sustained", "growing"]


def gamma(p: Params) -> Any:
    return p["g12"] * p["g21"] - (1.0 - p["g11"]) * (1.0 - p["g22"])


def steady_state(p: Params) -> tuple[Any, Any]:
    """Non-trivial steady state (x1_bar, x2_bar), with the curators' corrected x2_bar."""
    g = gamma(p)
    r1 = p["beta1"] / p["alpha1"]
    r2 = p["beta2"] / p["alpha2"]
    x1 = r1 ** ((1.0 - p["g22"]) / g) * r2 ** (p["g21"] / g)
    x2 = r1 ** (p["g12"] / g) * r2 ** ((1.0 - p["g11"]) / g)
    return x1, x2


def jacobian(p: Params) -> Array:
    """Jacobian of the cell equations at the steady state."""
    x1, x2 = steady_state(p)
    b1, b2 = p["beta1"], p["beta2"]
    return np.array(
        [
            [b1 * (p["g11"] - 1.0), b1 * p["g21"] * x1 / x2],
            [b2 * p["g12"] * x2 / x1, b2 * (p["g22"] - 1.0)],
        ]
    )


def eigenvalues(p: Params) -> NDArray[np.complex128]:
    return np.linalg.eigvals(jacobian(p)).astype(np.complex128)


def critical_g11(p: Params) -> float:
    """g11 where the Jacobian's trace vanishes (Hopf point, centre): 1 + beta2 (1-g22)/beta1."""
    return float(1.0 + p["beta2"] * (1.0 - p["g22"]) / p["beta1"])


def trace_det(p: Params) -> tuple[float, float]:
    """Trace and determinant of the Jacobian at the steady state; they need no steady state."""
    trace = p["beta1"] * (p["g11"] - 1.0) + p["beta2"] * (p["g22"] - 1.0)
    return float(trace), float(-p["beta1"] * p["beta2"] * gamma(p))


def regime(p: Params, tol: float = 1e-9) -> Regime:
    """Damped single cycle, sustained cycles (centre) or growing (unstable) behaviour."""
    trace, det = trace_det(p)
    if det < 0 or trace > tol:
        return "growing"
    return "sustained" if abs(trace) <= tol else "damped"


def prepare(p: Params) -> Params:
    x1, x2 = steady_state(p)
    return {**p, "x1_bar": x1, "x2_bar": x2}


def rhs(t: Any, y: Array, p: Params) -> Array:
    x1, x2 = y[0], y[1]
    dy = np.empty_like(y)
    dy[0] = p["alpha1"] * power(x1, p["g11"]) * power(x2, p["g21"]) - p["beta1"] * x1
    dy[1] = p["alpha2"] * power(x1, p["g12"]) * power(x2, p["g22"]) - p["beta2"] * x2
    resorbing = np.maximum(x1 - p["x1_bar"], 0.0)
    forming = np.maximum(x2 - p["x2_bar"], 0.0)
    dy[2] = -p["k1"] * resorbing + p["k2"] * forming
    return floor_bone(dy, y)


MODEL = Model(
    name="komarova2003",
    title="Komarova et al. 2003 bone remodelling (BIOMD0000000148)",
    states=("osteoclasts", "osteoblasts", "bone_mass"),
    rhs=rhs,
    prepare=prepare,
    breakpoints=no_breakpoints,
    params=lambda: kb.values(FILE, "params"),
    initial=lambda: kb.values(FILE, "initial"),
    default_days=kb.run_days(FILE),
    spread=lambda: kb.cohort_spread(FILE),
)
