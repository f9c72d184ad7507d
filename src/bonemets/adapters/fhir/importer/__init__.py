"""FHIR R4 resources -> patient records, grouped by patient.

Plain dicts in, validated ``Record`` out. The per-resource path is a dict walk plus the record's own
pydantic model for the entry it makes (so a bad value is refused naming the resource). A resource
that cannot be read is refused alone, listed with its reason, and the rest of its patient is read
(issue 22: one odd unit must not hide a patient). Resources of types or codes the record has no
place for are skipped and counted.

Modules: ``common`` (result, refusal, dates, codings), ``base`` (a patient's state, the Patient
resource, build), one reader per resource kind (``observations``, ``conditions``, ``medications``,
``procedures``), ``reader`` (them together) and ``run`` (``fhir_to_records``).
"""

from __future__ import annotations

from bonemets.adapters.fhir.importer.common import (
    ImportResult,
    Refusal,
    Refused,
    TypeCounts,
    parse_date,
    reference_id,
)
from bonemets.adapters.fhir.importer.run import fhir_to_records

__all__ = [
    "ImportResult",
    "Refusal",
    "Refused",
    "TypeCounts",
    "fhir_to_records",
    "parse_date",
    "reference_id",
]
