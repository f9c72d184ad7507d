"""Vectorised cohort engine: thousands of virtual patients integrated at once in NumPy.

Dormand-Prince 5(4) with one adaptive step size per patient: every iteration advances all
patients by their own step, accepting or rejecting each one on its own error estimate. Like the
SciPy path, each patient stops exactly on the output grid and at its breakpoints (doses, treatment
starts), steps are at most `max_step` days, and bone mass is floored at 0. Because both paths call
the same right-hand side, agreement is a check of the integrators, not of two implementations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bonemets.sim.models.base import BONE, Array, Model, Params
from bonemets.sim.solve import output_grid

# Dormand & Prince (1980) RK5(4)7M tableau.
_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
_A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
]
_B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0])
_E = _B - np.array(
    [5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40]
)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class BatchResult:
    t: Array  # output grid, days
    y: NDArray[np.float32]  # (n_patients, n_states, len(t)): float32 keeps 10,000 x 5 years small
    bone_zero_day: Array  # (n_patients,), NaN where bone mass never reached 0
    steps: int


def integrate_batch(
    model: Model,
    params: Mapping[str, object],
    y0: Array,
    days: float,
    breakpoints: Array | None = None,
    *,
    step: float = 1.0,
    rtol: float = 1e-9,
    atol: float = 1e-11,
    max_step: float = 1.0,
    progress: Progress | None = None,
) -> BatchResult:
    """Integrate patients with states y0 (n_states, n) and per-patient params (floats or (n,))."""
    p: Params = model.prepare(dict(params))
    n_states, n = y0.shape
    grid = output_grid(days, step)
    out = np.empty((n, n_states, grid.size), dtype=np.float32)
    out[:, :, 0] = y0.T
    bps = np.full((n, 1), np.inf) if breakpoints is None else np.asarray(breakpoints, float)
    bps = np.concatenate([bps, np.full((n, 1), np.inf)], axis=1)  # sentinel
    rows = np.arange(n)

    t = np.zeros(n)
    y = np.array(y0, dtype=float)
    h = np.full(n, min(0.05, max_step))
    g_idx = np.ones(n, dtype=np.int64)
    b_idx = np.zeros(n, dtype=np.int64)
    zero_day = np.full(n, np.nan)
    active = g_idx < grid.size
    k1 = model.rhs(t, y, p)
    steps = 0
    stages = [np.empty_like(y) for _ in range(7)]

    while active.any():
        steps += 1
        next_stop = np.minimum(grid[np.minimum(g_idx, grid.size - 1)], bps[rows, b_idx])
        h_try = np.where(active, np.minimum(np.minimum(h, max_step), next_stop - t), 0.0)
        stages[0] = k1
        for i in range(1, 7):
            dy = sum((a * stages[j] for j, a in enumerate(_A[i]) if a != 0.0), np.zeros_like(y))
            stages[i] = model.rhs(t + _C[i] * h_try, y + h_try * dy, p)
        y_new = y + h_try * sum(b * stages[j] for j, b in enumerate(_B) if b != 0.0)
        err_vec = h_try * sum(e * stages[j] for j, e in enumerate(_E) if e != 0.0)
        scale = atol + rtol * np.maximum(np.abs(y), np.abs(y_new))
        err = np.sqrt(np.mean((err_vec / scale) ** 2, axis=0))
        ok = active & (err <= 1.0) & np.isfinite(err)

        with np.errstate(divide="ignore"):
            factor = np.clip(0.9 * err**-0.2, 0.2, 5.0)
        factor = np.where(np.isfinite(err), factor, 0.2)
        # After a step cut short to land on a stop, keep the natural step if it was larger.
        clipped = h_try < np.minimum(h, max_step)
        grown = np.where(clipped, np.maximum(h, h_try * factor), h_try * factor)
        h = np.minimum(np.where(ok, grown, h_try * np.minimum(factor, 1.0)), max_step)
        h = np.where(active, h, 1.0)

        z_old, z_new = y[BONE], y_new[BONE]
        crossed = ok & (z_old > 0.0) & (z_new <= 0.0) & np.isnan(zero_day)
        if crossed.any():
            frac = z_old[crossed] / (z_old[crossed] - z_new[crossed])
            zero_day[crossed] = t[crossed] + frac * h_try[crossed]
        y = np.where(ok, y_new, y)
        y[BONE] = np.maximum(y[BONE], 0.0)
        t = np.where(ok, t + h_try, t)
        k1 = np.where(ok, stages[6], k1)

        at_grid = ok & (
            np.abs(t - grid[np.minimum(g_idx, grid.size - 1)]) <= 1e-9 * np.maximum(t, 1.0)
        )
        if at_grid.any():
            idx = rows[at_grid]
            t[idx] = grid[g_idx[idx]]
            out[idx, :, g_idx[idx]] = y[:, idx].T
            g_idx[idx] += 1
        at_bp = ok & (np.abs(t - bps[rows, b_idx]) <= 1e-9 * np.maximum(t, 1.0))
        if at_bp.any():  # the right-hand side jumps here: restart the stage reuse
            idx = rows[at_bp]
            t[idx] = bps[idx, b_idx[idx]]
            while True:
                behind = bps[rows, b_idx] <= t + 1e-9
                if not behind.any():
                    break
                b_idx[behind] += 1
            fresh = model.rhs(t, y, p)
            k1[:, idx] = fresh[:, idx]
        active = g_idx < grid.size
        if progress is not None and steps % 25 == 0:
            progress(float(np.min(np.where(active, t, days))))
    if progress is not None:
        progress(float(days))
    return BatchResult(grid, out, zero_day, steps)


def lognormal_factors(rng: np.random.Generator, cv: float, n: int) -> Array:
    """Mean-1 log-normal factors with coefficient of variation `cv`."""
    sigma = np.sqrt(np.log1p(cv**2))
    factors: Array = np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2.0)
    return factors


def sample_patients(
    model: Model,
    n: int,
    seed: int,
    base_params: Mapping[str, float],
    initial: Mapping[str, float],
) -> tuple[dict[str, Array], Array]:
    """n virtual patients: parameters and initial states with the documented log-normal spreads.

    A spread named `<state>0` varies that state's initial value (e.g. `tumour0`).
    """
    rng = np.random.default_rng(seed)
    params = {k: np.full(n, float(v)) for k, v in base_params.items()}
    y0 = np.array([np.full(n, float(initial[s])) for s in model.states])
    for key, cv in sorted(model.spread().items()):
        factors = lognormal_factors(rng, cv, n)
        if key in params:
            params[key] = params[key] * factors
        elif key.endswith("0") and key[:-1] in model.states:
            y0[model.states.index(key[:-1])] *= factors
        else:
            raise KeyError(f"{model.name}: cohort spread names unknown parameter {key!r}")
    return params, y0


def stack_breakpoints(lists: Sequence[Sequence[float]]) -> Array:
    """Per-patient breakpoint lists -> (n, K) array padded with +inf."""
    width = max((len(b) for b in lists), default=0)
    out = np.full((len(lists), max(width, 1)), np.inf)
    for i, b in enumerate(lists):
        out[i, : len(b)] = sorted(b)
    return out
