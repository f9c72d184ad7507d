"""Closed-form dosing against explicit superposition, and the label's denosumab trough."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonemets.sim import pk


def _explicit(t: float, start: float, interval: float, dose: float, ka: float, ke: float) -> float:
    total = 0.0
    td = start
    while td <= t + 1e-9:
        u = t - td
        total += dose * ka / (ka - ke) * (math.exp(-ke * u) - math.exp(-ka * u))
        td += interval
    return total


@given(
    t=st.floats(0, 2000),
    start=st.floats(0, 500),
    interval=st.floats(7, 120),
    ka=st.floats(0.05, 20),
    half_life=st.floats(1, 400),
)
def test_geometric_sum_equals_explicit_superposition(
    t: float, start: float, interval: float, ka: float, half_life: float
) -> None:
    ke = math.log(2) / half_life
    if abs(ka - ke) < 1e-3:
        return
    got = float(pk.amount(t, start, interval, 10.0, ka, ke))
    assert got == pytest.approx(_explicit(t, start, interval, 10.0, ka, ke), rel=1e-9, abs=1e-12)


def test_denosumab_trough_matches_label() -> None:
    p = pk.drug_constants() | pk.regimen_params("denosumab")
    troughs = pk.denosumab_concentration(np.array([28.0 * k - 1e-9 for k in (6, 12, 24)]), p)
    assert troughs == pytest.approx(20.5, abs=1.0)  # label: 20.5 +/- 13.5 ug/mL at steady state
    first_trough = float(pk.denosumab_concentration(28.0 - 1e-9, p))
    assert 1.8 < troughs[-1] / first_trough < 2.8  # label: up to 2.8-fold accumulation


def test_regimen_parsing() -> None:
    p = pk.regimen_params("denosumab+anti-tumour", start_day=10)
    assert (p["den_on"], p["za_on"], p["at_on"], p["ai_on"]) == (1.0, 0.0, 1.0, 0.0)
    assert p["den_start"] == 10 and p["den_interval"] == 28
    assert pk.regimen_params("zoledronic-acid-q12w")["za_interval"] == 84
    assert pk.dose_times(pk.regimen_params("zoledronic-acid-q12w"), 200) == [84.0, 168.0]
    with pytest.raises(KeyError):
        pk.parse("denosumab+magic")
    with pytest.raises(ValueError):
        pk.parse("zoledronic-acid+zoledronic-acid-q12w")
