"""Exported bundles pass validators bonemets did not write: FHIR.js and the official R4 schema.

Needs `npm ci --prefix tools/fhir-validate` (node_modules). Without it these tests skip, unless
BONEMETS_REQUIRE_FHIR_TOOLS=1 (CI), where a missing tool is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonemets.adapters.fhir import record_to_fhir
from bonemets.core.record import Record

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "fhir-validate"
MODULES = TOOLS / "node_modules"
SCHEMA = MODULES / "@asymmetrik" / "fhir-json-schema-validator" / "fhir.schema.json"
REQUIRED = os.environ.get("BONEMETS_REQUIRE_FHIR_TOOLS") == "1"


def _need(ok: bool, reason: str) -> None:
    if ok:
        return
    if REQUIRED:
        pytest.fail(f"{reason} (BONEMETS_REQUIRE_FHIR_TOOLS=1)")
    pytest.skip(f"{reason}; run `npm ci --prefix tools/fhir-validate`")


def _node() -> str:
    node = shutil.which("node")
    _need(node is not None, "node is not installed")
    _need(MODULES.is_dir(), f"{MODULES} is absent")
    assert node is not None
    return node


def _broken(bundle: dict[str, Any]) -> dict[str, Any]:
    bad = json.loads(json.dumps(bundle))
    for entry in bad["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Observation" and "valueQuantity" in res:
            res["status"] = "done"  # not in the required value set
            res["valueQuantity"]["value"] = "nine"  # not a decimal
            break
    return bad


def test_fhir_js_and_schema_via_node(cohort: list[Record], tmp_path: Path) -> None:
    node = _node()
    files = []
    for record in cohort:
        path = tmp_path / f"{record.id}.json"
        path.write_bytes(orjson.dumps(record_to_fhir(record)))
        files.append(str(path))
    run = subprocess.run(
        [node, str(TOOLS / "validate.js"), *files], capture_output=True, text=True, timeout=600
    )
    report = json.loads(run.stdout)
    errors = [e for f in report["files"] for e in f["errors"]]
    assert errors == [], errors[:10]
    assert run.returncode == 0
    assert sum(f["resources"] for f in report["files"]) > 1000

    # The validators are not vacuous: a broken resource is caught by both.
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps(_broken(record_to_fhir(cohort[0]))))
    run = subprocess.run(
        [node, str(TOOLS / "validate.js"), str(bad)], capture_output=True, text=True
    )
    assert run.returncode == 1
    found = {e["validator"] for e in json.loads(run.stdout)["files"][0]["errors"]}
    assert found == {"fhir.js", "json-schema"}


def test_official_schema_with_jsonschema_rs(cohort: list[Record]) -> None:
    _need(SCHEMA.is_file(), f"{SCHEMA} is absent")
    pytest.importorskip("jsonschema_rs", reason="pip install jsonschema-rs")
    from bonemets.adapters.fhir.validation import schema_validator

    validator = schema_validator(str(SCHEMA))
    errors: list[str] = []
    for record in cohort:
        errors += validator.bundle_errors(record_to_fhir(record))
    assert errors == [], errors[:10]
    bad = validator.bundle_errors(_broken(record_to_fhir(cohort[0])))
    assert any(e.startswith("Observation/") for e in bad)
