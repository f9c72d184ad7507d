"""Every simulator number is data with resolvable sources and an evidence tag."""

from __future__ import annotations

import pytest

from bonemets.core.knowledge import load, sources
from bonemets.sim import params as kb

FILES = ["sim_komarova2003", "sim_ayati2010", "sim_vicious_cycle", "sim_drugs"]


@pytest.mark.parametrize("file", FILES)
def test_values_have_sources_and_evidence(file: str) -> None:
    known = sources()
    count = 0
    for table_name, _table in load(file).items():
        if table_name in ("run", "cohort"):
            continue
        for key, param in kb.table(file, table_name).items():
            count += 1
            assert param.evidence in ("V", "S", "U", "P"), (file, key)
            assert param.sources and all(s in known for s in param.sources), (file, key)
    assert count > 5
    for key, cv in kb.cohort_spread(file).items():
        assert 0 < cv < 1, key


def test_sim_sources_are_registered() -> None:
    registry = sources()
    for key in ("sim:biomodels-148", "sim:biomodels-402", "sim:biomodels-403", "sim:xgeva-us-pi"):
        assert registry[key].citation


def test_curated_values_match_the_sbml_copies() -> None:
    # Spot-check a few values against the curated files shipped in tests/data/biomodels.
    from pathlib import Path

    data = Path(__file__).parents[1] / "data" / "biomodels"
    sbml402 = (data / "BIOMD0000000402_url.xml").read_text()
    ayati = kb.values("sim_ayati2010", "params")
    assert (
        'id="k1" metaid="metaid_0000015" name="k1" sboTerm="SBO:0000009" value="0.0748"' in sbml402
    )
    assert ayati["k1"] == 0.0748 and ayati["k2"] == 0.0006395 and ayati["r22"] == 0.2
    sbml403 = (data / "BIOMD0000000403_url.xml").read_text()
    assert 'value="0.008"' in sbml403 and kb.values("sim_ayati2010", "treatment")["v2"] == 0.008
