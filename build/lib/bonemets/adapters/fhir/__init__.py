"""FHIR R4 adapter: patient records to and from FHIR resources (Bundle, NDJSON).

Pure mapping over plain dicts (orjson for I/O); the code tables are data
(``knowledge/fhir_codes.toml``). `fhir.resources` is used only when asked (``validate=True``).

Public API:
    fhir_to_records(resources, validate=False) -> ImportResult
    record_to_fhir(record) -> dict (Bundle, type collection)
    read_bundle(path), read_ndjson_dir(path), write_ndjson(resources, folder)
    load_record(path) -> Record (FHIR Bundle file, NDJSON folder, or bonemets record JSON)
"""

from __future__ import annotations

from bonemets.adapters.fhir.exporter import record_to_fhir, records_to_resources, resource_id
from bonemets.adapters.fhir.importer import (
    ImportResult,
    Refusal,
    TypeCounts,
    fhir_to_records,
)
from bonemets.adapters.fhir.readers import (
    FormatError,
    bundle_resources,
    load_record,
    read_bundle,
    read_ndjson_dir,
    write_ndjson,
)

__all__ = [
    "FormatError",
    "ImportResult",
    "Refusal",
    "TypeCounts",
    "bundle_resources",
    "fhir_to_records",
    "load_record",
    "read_bundle",
    "read_ndjson_dir",
    "record_to_fhir",
    "records_to_resources",
    "resource_id",
    "write_ndjson",
]
