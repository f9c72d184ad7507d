"""The vectorised cohort engine against per-patient SciPy runs of the same virtual patients.

Agreement: per patient and state, max |cohort - SciPy| / max |SciPy| over the daily outputs must be
below 1e-4 (the issue's target; measured ~4e-8, the float32 storage limit).
"""

from __future__ import annotations

import numpy as np
import pytest

from bonemets.core.errors import InputError
from bonemets.sim import simulate_cohort
from bonemets.sim.api import model, run_params
from bonemets.sim.cohort import (
    integrate_batch,
    lognormal_factors,
    sample_patients,
    stack_breakpoints,
)
from bonemets.sim.solve import integrate

TOL = 1e-4


def _compare(name: str, treatment: str, n: int, days: float) -> None:
    m = model(name)
    base = run_params(m, treatment, 100.0, "curated", None)
    params, y0 = sample_patients(m, n, seed=3, base_params=base, initial=m.initial())
    bps = stack_breakpoints([m.breakpoints(base, days)] * n)
    batch = integrate_batch(m, params, y0, days, bps)
    for i in range(n):
        one = integrate(m, {k: float(v[i]) for k, v in params.items()}, y0[:, i], days)
        scale = np.abs(one.y).max(axis=1)
        err = np.abs(batch.y[i] - one.y).max(axis=1) / scale
        assert err.max() < TOL, (i, err)
        if one.bone_zero_day is None:
            assert np.isnan(batch.bone_zero_day[i])
        else:
            assert batch.bone_zero_day[i] == pytest.approx(one.bone_zero_day, abs=0.01)


@pytest.mark.parametrize(
    ("name", "treatment", "days"),
    [
        ("komarova2003", "none", 300),
        ("ayati2010-treatment", "none", 1500),
        ("vicious-cycle", "none", 1500),
        ("vicious-cycle", "denosumab+anti-tumour", 900),
        ("vicious-cycle", "zoledronic-acid-q12w", 900),
    ],
)
def test_cohort_engine_agrees_with_scipy(name: str, treatment: str, days: float) -> None:
    _compare(name, treatment, n=3, days=days)


def test_lognormal_factors_have_mean_one_and_the_cv() -> None:
    f = lognormal_factors(np.random.default_rng(0), 0.3, 200_000)
    assert f.mean() == pytest.approx(1.0, abs=0.005)
    assert f.std() / f.mean() == pytest.approx(0.3, abs=0.005)


def test_cohort_arms_share_patients_and_bands_are_ordered() -> None:
    c = simulate_cohort(
        "vicious-cycle", ["none", "denosumab"], n=40, days=400, start_day=100, seed=1
    )
    assert c.y["none"].shape == (40, 4, 401)
    # Same virtual patients: identical until treatment starts.
    np.testing.assert_allclose(c.y["none"][:, :, :100], c.y["denosumab"][:, :, :100], rtol=1e-6)
    low, mid, high = c.band("none", "tumour")
    assert np.all(low <= mid) and np.all(mid <= high)
    assert np.ptp(c.y["none"][:, 3, -1]) > 1.0  # patients differ
    again = simulate_cohort("vicious-cycle", ["none"], n=40, days=400, seed=1)
    np.testing.assert_array_equal(again.y["none"], c.y["none"])


def test_cohort_bad_size() -> None:
    with pytest.raises(InputError) as exc:
        simulate_cohort("vicious-cycle", n=0)
    assert exc.value.field == "--cohort"
