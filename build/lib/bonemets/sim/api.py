"""Notebook-friendly entry points: one patient (`simulate`) or a virtual cohort (`simulate_cohort`).

    >>> from bonemets.sim import simulate
    >>> run = simulate("komarova2003")
    >>> run.min_bone()
    (89.84..., 12.0)

Every model runs with its published initial state and parameters unless overridden.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from bonemets.core.errors import InputError
from bonemets.sim import pk
from bonemets.sim.cohort import integrate_batch, sample_patients, stack_breakpoints
from bonemets.sim.models import MODELS, Model
from bonemets.sim.models.base import BONE, Array
from bonemets.sim.solve import Method, Trajectory, integrate

DISCLAIMER = (
    "Illustrative model built from published equations; not a prediction for any patient and "
    "not a basis for treatment decisions."
)
Variant = Literal["curated", "paper"]
MAX_DAYS = 36500.0


def model(name: str) -> Model:
    if name not in MODELS:
        raise InputError("MODEL", f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]


def _check_run(m: Model, treatments: Sequence[str], days: float, step: float) -> None:
    if not (math.isfinite(days) and 0 < days <= MAX_DAYS):
        raise InputError("--days", f"must be between 0 and {MAX_DAYS:g} days, got {days:g}")
    if not (math.isfinite(step) and 0 < step <= days):
        raise InputError("--step", f"must be > 0 and at most --days, got {step:g}")
    for spec in treatments:
        if spec != "none" and not m.treatments:
            raise InputError(
                "--treatment", f"model {m.name} takes no treatments (use vicious-cycle)"
            )
        try:
            pk.parse(spec)
        except KeyError as exc:
            raise InputError("--treatment", f"unknown treatment {exc.args[0]!r}; choose from "
                             f"{', '.join(pk.REGIMENS)} (combine with +)") from None  # fmt: skip
        except ValueError as exc:
            raise InputError("--treatment", str(exc)) from None


def run_params(m: Model, treatment: str, start_day: float, variant: Variant,
            overrides: Mapping[str, float] | None) -> dict[str, float]:  # fmt: skip
    p = m.params()
    if m.treatments:
        p |= pk.regimen_params(treatment, start_day)
    if variant == "paper":
        if not m.name.startswith("ayati"):
            raise InputError("--variant", "the paper variant exists only for the Ayati models")
        p["paper_thresholds"] = 1.0
    for key, value in (overrides or {}).items():
        if key not in p:
            raise InputError(f"params.{key}", f"not a parameter of {m.name}")
        p[key] = float(value)
    return p


def _initial(m: Model, initial: Mapping[str, float] | None) -> list[float]:
    y0 = m.initial()
    for key, value in (initial or {}).items():
        if key not in y0:
            raise InputError(f"initial.{key}", f"not a state of {m.name}")
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"initial.{key}", "must be a finite number >= 0")
        y0[key] = float(value)
    return [y0[s] for s in m.states]


def simulate(
    name: str = "vicious-cycle",
    treatment: str = "none",
    *,
    days: float | None = None,
    step: float = 1.0,
    start_day: float = 0.0,
    params: Mapping[str, float] | None = None,
    initial: Mapping[str, float] | None = None,
    variant: Variant = "curated",
    method: Method = "LSODA",
) -> Trajectory:
    """One run of model `name`; `treatment` like 'denosumab' or 'denosumab+anti-tumour'."""
    m = model(name)
    days = m.default_days if days is None else float(days)
    _check_run(m, [treatment], days, step)
    p = run_params(m, treatment, start_day, variant, params)
    traj = integrate(m, p, _initial(m, initial), days, step=step, method=method)
    return replace(traj, treatment=treatment)


@dataclass(frozen=True)
class Cohort:
    """Virtual patients per treatment arm; `y[arm]` has shape (n, n_states, len(t))."""

    model: str
    states: tuple[str, ...]
    arms: tuple[str, ...]
    t: Array
    y: Mapping[str, NDArray[np.float32]]
    bone_zero_day: Mapping[str, Array]

    def band(self, arm: str, state: str, quantiles: Sequence[float] = (10, 50, 90)) -> Array:
        """Percentiles over patients, shape (len(quantiles), len(t))."""
        values = self.y[arm][:, self.states.index(state), :]
        bands: Array = np.percentile(values, quantiles, axis=0)
        return bands


def simulate_cohort(
    name: str = "vicious-cycle",
    treatments: Sequence[str] = ("none",),
    *,
    n: int = 1000,
    days: float | None = None,
    step: float = 1.0,
    start_day: float = 0.0,
    seed: int = 0,
    variant: Variant = "curated",
    progress: Callable[[float], None] | None = None,
) -> Cohort:
    """The same n virtual patients (common random numbers) under each treatment arm."""
    m = model(name)
    days = m.default_days if days is None else float(days)
    if not 1 <= n <= 100_000:
        raise InputError("--cohort", f"must be between 1 and 100000 patients, got {n}")
    arms = tuple(dict.fromkeys(treatments or ("none",)))
    _check_run(m, arms, days, step)
    per_arm = [run_params(m, arm, start_day, variant, None) for arm in arms]
    patients, y0 = sample_patients(m, n, seed, per_arm[0], m.initial())
    varied = {k for k, v in patients.items() if np.ptp(v) > 0}
    params = {k: np.concatenate([np.where(k in varied, patients[k], p[k]) for p in per_arm])
              for k in per_arm[0]}  # fmt: skip
    bps = stack_breakpoints([m.breakpoints(p, days) for p in per_arm for _ in range(n)])
    res = integrate_batch(
        m, params, np.tile(y0, len(arms)), days, bps, step=step, progress=progress
    )
    y = {arm: res.y[i * n : (i + 1) * n] for i, arm in enumerate(arms)}
    zero = {arm: res.bone_zero_day[i * n : (i + 1) * n] for i, arm in enumerate(arms)}
    return Cohort(m.name, m.states, arms, res.t, y, zero)


def run_summary(traj: Trajectory) -> dict[str, Any]:
    m = MODELS[traj.model]
    low, low_day = traj.min_bone()
    return {
        "model": m.name,
        "title": m.title,
        "treatment": traj.treatment,
        "days": float(traj.t[-1]),
        "min_bone_mass": low,
        "min_bone_mass_day": low_day,
        "bone_mass_zero_day": traj.bone_zero_day,
        "final": {s: float(traj[s][-1]) for s in traj.states},
        "illustrative": m.illustrative,
        "disclaimer": DISCLAIMER,
    }


def cohort_summary(cohort: Cohort) -> dict[str, Any]:
    arms: dict[str, Any] = {}
    for arm in cohort.arms:
        bone = cohort.y[arm][:, BONE, :].astype(float)
        zero = cohort.bone_zero_day[arm]
        reached = zero[np.isfinite(zero)]
        arms[arm] = {
            "patients": int(bone.shape[0]),
            "median_min_bone_mass": float(np.median(bone.min(axis=1))),
            "median_final": {
                s: float(np.median(cohort.y[arm][:, i, -1])) for i, s in enumerate(cohort.states)
            },
            "fraction_bone_mass_zero": float(reached.size / bone.shape[0]),
            "median_bone_mass_zero_day": float(np.median(reached)) if reached.size else None,
        }
    m = MODELS[cohort.model]
    return {"model": m.name, "title": m.title, "days": float(cohort.t[-1]), "arms": arms,
            "illustrative": m.illustrative, "disclaimer": DISCLAIMER}  # fmt: skip


def write_trajectory_csv(traj: Trajectory, path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["day", *traj.states])
        for i, day in enumerate(traj.t):
            writer.writerow([f"{day:g}", *(f"{v:.10g}" for v in traj.y[:, i])])


def write_cohort_csv(cohort: Cohort, path: Path) -> None:
    """Long format: arm, day, state, p10, median, p90."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["arm", "day", "state", "p10", "median", "p90"])
        for arm in cohort.arms:
            for state in cohort.states:
                band = cohort.band(arm, state)
                for i, day in enumerate(cohort.t):
                    writer.writerow([arm, f"{day:g}", state, *(f"{v:.8g}" for v in band[:, i])])
