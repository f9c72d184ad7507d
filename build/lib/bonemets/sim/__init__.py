"""The vicious-cycle simulator: published bone-remodelling models with tumour and treatment.

Pure numerics (models, PK, solvers) plus a small API; see `bonemets.sim.api`. The vicious-cycle
model is illustrative, not a prediction for any patient.
"""

from __future__ import annotations

from bonemets.sim.api import (
    DISCLAIMER,
    Cohort,
    cohort_summary,
    run_summary,
    simulate,
    simulate_cohort,
)
from bonemets.sim.models import MODELS
from bonemets.sim.pk import REGIMENS
from bonemets.sim.solve import Trajectory

__all__ = [
    "DISCLAIMER",
    "MODELS",
    "REGIMENS",
    "Cohort",
    "Trajectory",
    "cohort_summary",
    "run_summary",
    "simulate",
    "simulate_cohort",
]
