"""Komarova et al. 2003 (BIOMD0000000148) against the reference numbers in
shared/reference/models.md §1 (computed there with SciPy and libroadrunner, which agree)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bonemets.sim import simulate
from bonemets.sim.models import komarova
from bonemets.sim.models.komarova import critical_g11, eigenvalues, regime, rhs, steady_state

P = komarova.MODEL.params()


def test_analytic_steady_state() -> None:
    x1, x2 = steady_state(P)
    assert x1 == pytest.approx(15 * math.sqrt(0.005), rel=1e-12)  # 1.060660
    assert x2 == pytest.approx(212.132034, rel=1e-8)
    residual = rhs(0.0, np.array([x1, x2, 100.0]), komarova.prepare(P))
    assert np.abs(residual).max() < 1e-12


def test_corrected_x2_bar_differs_from_the_papers_typo() -> None:
    # The paper's printed x2_bar (first exponent on beta2/alpha2) is not a steady state.
    g = komarova.gamma(P)
    typo = (P["beta2"] / P["alpha2"]) ** (P["g12"] / g) * (P["beta2"] / P["alpha2"]) ** (
        (1 - P["g11"]) / g
    )
    assert abs(typo - steady_state(P)[1]) > 1.0


def test_eigenvalues_stable_focus() -> None:
    ev = sorted(eigenvalues(P), key=lambda z: z.imag)
    assert ev[0] == pytest.approx(complex(-0.06, -0.02), abs=1e-12)
    assert ev[1] == pytest.approx(complex(-0.06, 0.02), abs=1e-12)


def test_regime_switch_at_critical_g11() -> None:
    assert critical_g11(P) == pytest.approx(1 + P["beta2"] / P["beta1"]) == pytest.approx(1.1)
    assert regime({**P, "g11": 1.0}) == "damped"
    assert regime({**P, "g11": 1.1}) == "sustained"
    assert regime({**P, "g11": 1.2}) == "growing"
    # Linear period at the centre: 2 pi / 0.04 = 157.1 days.
    omega = abs(eigenvalues({**P, "g11": 1.1})[0].imag)
    assert 2 * math.pi / omega == pytest.approx(157.08, abs=0.01)


@given(
    beta1=st.floats(0.05, 1.0),
    beta2=st.floats(0.005, 0.2),
    g22=st.floats(-0.5, 0.5),
)
def test_trace_vanishes_exactly_at_critical_g11(beta1: float, beta2: float, g22: float) -> None:
    p = {**P, "beta1": beta1, "beta2": beta2, "g22": g22}
    g_star = critical_g11(p)
    # Stay where the steady state exists and is a focus/centre (gamma < 0 on both sides).
    assume(all(komarova.gamma({**p, "g11": g_star + d}) < -1e-3 for d in (-0.05, 0.05)))
    assert regime({**p, "g11": g_star - 0.05}) == "damped"
    assert regime({**p, "g11": g_star + 0.05}) == "growing"
    assert abs(komarova.trace_det({**p, "g11": g_star})[0]) < 1e-12


def test_run1_reference_numbers() -> None:
    run = simulate("komarova2003", days=1000, step=0.1)
    z, x1, x2, t = run["bone_mass"], run["osteoclasts"], run["osteoblasts"], run.t
    low, low_day = run.min_bone()
    assert low == pytest.approx(89.839, abs=0.002)
    assert low_day == pytest.approx(12.3, abs=0.1)
    assert x2.max() == pytest.approx(395.81, abs=0.01)
    assert t[np.argmax(x2)] == pytest.approx(14.1, abs=0.1)
    for day, expected in [(10, 90.025), (20, 91.020), (50, 97.196), (100, 99.774)]:
        assert z[round(day * 10)] == pytest.approx(expected, abs=0.001)
    assert z[-1] == pytest.approx(99.9669, abs=1e-4)  # one cycle restores bone mass (to 0.03%)
    assert abs(z[-1] - 100) < 0.05
    x1_bar, x2_bar = steady_state(P)
    assert t[np.argmax(x1 < x1_bar)] == pytest.approx(22.9, abs=0.1)  # resorption ~3 weeks
    formation_end = t[(t > 20) & (x2 <= x2_bar)][0]
    assert formation_end == pytest.approx(190.1, abs=0.15)
    assert x1.min() == pytest.approx(0.729, abs=0.001)
    assert x1[-1] == pytest.approx(x1_bar, rel=1e-4) and x2[-1] == pytest.approx(x2_bar, rel=1e-4)


def test_run2_from_steady_state_plus_ten_osteoclasts() -> None:
    x1_bar, x2_bar = steady_state(P)
    run = simulate("komarova2003", days=1000, step=0.1,
                   initial={"osteoclasts": x1_bar + 10, "osteoblasts": x2_bar})  # fmt: skip
    assert run["osteoblasts"].max() == pytest.approx(396.92, abs=0.01)
    assert run.min_bone()[0] == pytest.approx(89.785, abs=0.002)
    assert run["bone_mass"][1000] == pytest.approx(99.786, abs=0.001)
    assert run["bone_mass"][-1] == pytest.approx(99.9806, abs=1e-4)


def _peaks(x: np.ndarray) -> np.ndarray:
    return np.flatnonzero((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])) + 1


def test_regimes_in_simulation() -> None:
    x1_bar, x2_bar = steady_state({**P, "g11": 1.1})  # 1.15862, 231.724
    start = {"osteoclasts": x1_bar + 10, "osteoblasts": x2_bar}
    sustained = simulate("komarova2003", days=1100, step=0.1, params={"g11": 1.1}, initial=start)
    x1 = sustained["osteoclasts"]
    peaks = _peaks(x1)
    assert np.diff(sustained.t[peaks]) == pytest.approx(273.5, abs=0.2)  # period from (x1+10, x2)
    assert x1[peaks] == pytest.approx(12.052, abs=0.002)  # constant amplitude
    start = {"osteoclasts": x1_bar + 1, "osteoblasts": x2_bar}
    damped = simulate("komarova2003", days=1500, params={"g11": 1.0}, initial=start)
    d = damped["osteoclasts"][_peaks(damped["osteoclasts"])]
    assert np.all(np.diff(d) < 0)
    x1_bar, x2_bar = steady_state({**P, "g11": 1.2})
    growing = simulate("komarova2003", days=700, step=0.1, params={"g11": 1.2},
                       initial={"osteoclasts": 1.05 * x1_bar, "osteoblasts": x2_bar})  # fmt: skip
    x1 = growing["osteoclasts"]
    peaks = [i for i in _peaks(x1) if x1[i] > 1e-3]
    assert x1[peaks] == pytest.approx([1.324, 2.023, 13.30], abs=0.01)  # growing, then collapse
