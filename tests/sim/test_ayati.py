"""Ayati et al. 2010 as curated (BIOMD0000000402/403); numbers from shared/reference/models.md §2
and our own libroadrunner runs of the curated SBML (see test_sbml_oracle.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bonemets.core.errors import InputError
from bonemets.sim import simulate
from bonemets.sim.models import ayati

P = ayati.TUMOUR.params()


def test_thresholds_tumour_free_and_at_full_tumour() -> None:
    assert ayati.thresholds(P, 0.0) == pytest.approx((1.15862, 231.724), rel=1e-5)
    assert ayati.thresholds(P, 1.0) == pytest.approx((4.99381, 315.9015), rel=1e-6)


def test_untreated_tumour_402() -> None:
    run = simulate("ayati2010-tumour", days=1200)
    # Gompertz has a closed form: T = LT exp(ln(T0/LT) exp(-gammaT t)).
    expected = 100 * math.exp(math.log(1 / 100) * math.exp(-0.005 * 600))
    assert run["tumour"][600] == pytest.approx(expected, rel=1e-8)
    assert run["tumour"][600] == pytest.approx(79.511, abs=0.001)
    assert run["bone_mass"][1000] == pytest.approx(35.70, abs=0.01)
    assert run.bone_zero_day == pytest.approx(1199, abs=1)  # floored there; the SBML goes negative
    assert run["bone_mass"][-1] == 0.0
    # Abstract: osteoclasts increase and osteoblasts decrease as the tumour grows (averaged
    # over the oscillation).
    assert run["osteoclasts"][800:1200].mean() > run["osteoclasts"][:400].mean()


def test_treatment_403() -> None:
    run = simulate("ayati2010-treatment", days=3000)
    low, day = run.min_bone()
    assert low == pytest.approx(54.81, abs=0.01)
    assert day == pytest.approx(1001, abs=1)
    assert run["bone_mass"][-1] == pytest.approx(98.22, abs=0.01)
    tumour = run["tumour"]
    assert run.t[np.argmax((tumour <= 1.0) & (run.t > 700))] == pytest.approx(1600, abs=1)
    assert run.bone_zero_day is None


def test_paper_variant_switch() -> None:
    curated = simulate("ayati2010-tumour", days=1000)
    paper = simulate("ayati2010-tumour", days=1000, variant="paper")
    # Same cells and tumour (thresholds only enter bone mass), different bone mass.
    assert paper["tumour"] == pytest.approx(curated["tumour"], rel=1e-9)
    cells = np.abs(paper["osteoclasts"] - curated["osteoclasts"]).max()
    assert cells < 1e-3 * curated["osteoclasts"].max()  # solver-tolerance level only
    assert abs(paper["bone_mass"][1000] - curated["bone_mass"][1000]) > 1.0
    with pytest.raises(InputError) as exc:
        simulate("komarova2003", variant="paper")
    assert exc.value.field == "--variant"
