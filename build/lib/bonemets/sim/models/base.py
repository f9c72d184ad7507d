"""What every simulator model provides: a vectorised right-hand side and its defaults.

A right-hand side takes time ``t`` (a scalar, or one time per virtual patient), states ``y`` of
shape ``(n_states,)`` or ``(n_states, n_patients)`` and parameters (floats, or arrays with one
value per patient) and returns ``dy/dt`` of the shape of ``y``. The same function serves the
per-patient SciPy solver and the vectorised cohort engine, so the two integrate the same equations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Params = dict[str, Any]
Rhs = Callable[[Any, Array, Params], Array]

STATES = ("osteoclasts", "osteoblasts", "bone_mass", "tumour")
BONE = 2  # index of bone mass in every model's state vector


@dataclass(frozen=True)
class Model:
    name: str
    title: str
    states: tuple[str, ...]
    rhs: Rhs
    # Adds derived values (steady states, drug constants) once per run, not once per step.
    prepare: Callable[[Params], Params]
    # Times where the right-hand side jumps or kinks (treatment start, doses): solvers stop there.
    breakpoints: Callable[[Mapping[str, float], float], list[float]]
    params: Callable[[], dict[str, float]]
    initial: Callable[[], dict[str, float]]
    default_days: float
    spread: Callable[[], dict[str, float]]
    illustrative: bool = False
    treatments: bool = False  # accepts bonemets drug regimens


def no_breakpoints(params: Mapping[str, float], days: float) -> list[float]:
    return []


def floor_bone(dy: Array, y: Array) -> Array:
    """Bone mass cannot go below 0: at 0, only formation moves it."""
    z = y[BONE]
    dy[BONE] = np.where(z > 0.0, dy[BONE], np.maximum(dy[BONE], 0.0))
    return dy


def power(x: Any, g: Any) -> Any:
    """x**g for cell numbers, which the integrator may push a hair below 0."""
    return np.maximum(x, 0.0) ** g
