"""The knowledge files are consistent with each other and with the code."""

from __future__ import annotations

from importlib import resources
from typing import Any, get_args

import pytest

from bonemets.core.knowledge import load, sources
from bonemets.core.triage.engine import rule_table
from bonemets.core.triage.models import SymptomCode, symptom_catalogue
from bonemets.core.triage.rules import CATCH_ALL, FREE_TEXT, RULES, TWO_AMBERS

KNOWLEDGE_FILES = sorted(
    p.name.removesuffix(".toml")
    for p in resources.files("bonemets.knowledge").iterdir()
    if p.name.endswith(".toml")
)


def _source_lists(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("sources", "reference_sources") and isinstance(value, list):
                found += value
            else:
                found += _source_lists(value)
    elif isinstance(node, list):
        for item in node:
            found += _source_lists(item)
    return found


@pytest.mark.parametrize("name", KNOWLEDGE_FILES)
def test_every_source_id_resolves(name: str) -> None:
    known = sources()
    for source_id in _source_lists(load(name)):
        assert source_id in known, f"{name}.toml cites unknown source {source_id!r}"


def test_sources_cover_the_required_citations() -> None:
    ids = set(sources())
    for required in [
        "nice-ng234", "nice-cg75", "ctcae-v5", "asco-2017", "esmo-2020", "mirels-1989",
        "fisher-2010", "fourney-2011", "cockcroft-gault-1976", "who-pain-ladder", "iom-2011",
        "zometa-label", "xgeva-smpc", "aredia-label", "bondronat-smpc", "bonefos-smpc",
    ]:  # fmt: skip
        assert required in ids
    assert sum(1 for i in ids if i.startswith("seed:")) == 5


def test_rule_table_and_rule_code_match() -> None:
    assert set(rule_table()) == set(RULES) | {CATCH_ALL, FREE_TEXT, TWO_AMBERS}


def test_rule_entries_are_complete() -> None:
    for rule_id, entry in rule_table().items():
        assert entry["evidence"] in ("V", "S", "U", "P"), rule_id
        assert "level" in entry or "levels_by_grade" in entry, rule_id
        assert entry["headline"] and entry["explanation"] and entry["sources"], rule_id
        assert entry.get("advice"), rule_id


def test_symptom_codes_match_the_catalogue() -> None:
    assert set(get_args(SymptomCode)) == set(symptom_catalogue())
    for code, entry in symptom_catalogue().items():
        assert entry["label"] and entry["question"] and entry["sources"], code


def test_corrected_calcium_sources_resolve() -> None:
    from bonemets.core.labs import _CC_SOURCES_MG_DL, _CC_SOURCES_MMOL_L

    assert set(_CC_SOURCES_MG_DL) | set(_CC_SOURCES_MMOL_L) <= set(sources())
