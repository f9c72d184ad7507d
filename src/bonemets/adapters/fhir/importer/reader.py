"""One patient's reader: the base and the readers of each resource kind, put together."""

from __future__ import annotations

from bonemets.adapters.fhir.importer.conditions import ConditionReader
from bonemets.adapters.fhir.importer.medications import MedicationReader
from bonemets.adapters.fhir.importer.observations import ObservationReader
from bonemets.adapters.fhir.importer.procedures import ProcedureReader


class PatientReader(ObservationReader, ConditionReader, MedicationReader, ProcedureReader):
    """Collects one patient's entries from their resources; `build()` makes the Record."""
