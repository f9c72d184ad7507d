"""Single runs with SciPy: tight tolerances, bounded step, bone mass floored at 0 (event kept).

The run is cut at every breakpoint (dose, treatment start) so that no step straddles a jump or kink
of the right-hand side, and at every time bone mass reaches 0: the integrator restarts there with
bone mass exactly 0, so it never chatters around the floor.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.integrate import solve_ivp

from bonemets.sim.models.base import BONE, Array, Model

Method = Literal["LSODA", "Radau", "BDF", "DOP853", "RK45"]


@dataclass(frozen=True)
class Trajectory:
    """States on a fixed time grid. `y` has shape (len(states), len(t))."""

    model: str
    states: tuple[str, ...]
    t: Array
    y: Array
    bone_zero_days: tuple[float, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    treatment: str = "none"

    def __getitem__(self, state: str) -> Array:
        row: Array = self.y[self.states.index(state)]
        return row

    @property
    def bone_zero_day(self) -> float | None:
        """First day bone mass reached 0, if it did."""
        return self.bone_zero_days[0] if self.bone_zero_days else None

    def min_bone(self) -> tuple[float, float]:
        """(minimum bone mass, its day) on the output grid."""
        i = int(np.argmin(self.y[BONE]))
        return float(self.y[BONE][i]), float(self.t[i])


def output_grid(days: float, step: float) -> Array:
    n = int(np.floor(days / step + 1e-9))
    return np.arange(n + 1, dtype=float) * step


def _bone_zero(t: float, y: Array, *args: Any) -> float:
    return float(y[BONE])


def _bone_lifts(t: float, y: Array, *args: Any) -> float:
    return float(y[BONE]) - 1e-9


_bone_zero.terminal = True  # type: ignore[attr-defined]
_bone_zero.direction = -1  # type: ignore[attr-defined]
_bone_lifts.terminal = True  # type: ignore[attr-defined]
_bone_lifts.direction = 1  # type: ignore[attr-defined]


def integrate(
    model: Model,
    params: Mapping[str, Any],
    y0: Sequence[float],
    days: float,
    *,
    step: float = 1.0,
    method: Method = "LSODA",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_step: float = 1.0,
) -> Trajectory:
    """Integrate one patient from day 0 to `days`; output every `step` days."""
    p = model.prepare(dict(params))
    grid = output_grid(days, step)
    out = np.full((len(model.states), grid.size), np.nan)
    stops = [0.0, *model.breakpoints(params, days), float(days)]
    y = np.asarray(y0, dtype=float).copy()
    zeros: list[float] = []
    out[:, 0] = y

    def fun(t: float, state: Array) -> Array:
        return model.rhs(t, state, p)

    for a, b in itertools.pairwise(stops):
        t = a
        while t < b:
            # On the floor, watch for lift-off instead: a zero-crossing event started at 0
            # would fire at once and never advance.
            on_floor = y[BONE] <= 0.0
            event = _bone_lifts if on_floor else _bone_zero
            sol = solve_ivp(fun, (t, b), y, method=method, rtol=rtol, atol=atol,
                            max_step=max_step, events=event, dense_output=True)  # fmt: skip
            if sol.status < 0:
                raise RuntimeError(
                    f"{model.name}: solver failed at day {sol.t[-1]:.3f}: {sol.message}"
                )
            t_end = float(sol.t[-1])
            inside = (grid > t) & (grid <= t_end)
            dense = sol.sol  # always set: dense_output=True
            if inside.any() and dense is not None:
                out[:, inside] = dense(grid[inside])
            y = sol.y[:, -1].copy()
            if sol.status == 1 and not on_floor:  # bone mass reached 0: restart on the floor
                zeros.append(t_end)
                y[BONE] = 0.0
                out[BONE, inside & (grid >= t_end)] = 0.0
            t = t_end
    out[BONE] = np.maximum(out[BONE], 0.0)  # dense output may undershoot the floor by rounding
    return Trajectory(model.name, model.states, grid, out, tuple(zeros), dict(params))
