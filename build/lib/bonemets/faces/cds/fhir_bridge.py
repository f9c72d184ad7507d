"""Every call the CDS service makes into the FHIR adapter (`bonemets.adapters.fhir`), in one place.

FHIR resources -> patient records is the adapter's job (`fhir_to_records`); its code tables
(`knowledge/fhir_codes.toml`, read through `bonemets.adapters.fhir.codes`) say which LOINC codes we
read and which RxNorm / SNOMED CT codes name a bone-modifying agent and a route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast, get_args

from bonemets.adapters.fhir import fhir_to_records
from bonemets.adapters.fhir.codes import CS_AGENT, CS_OBSERVATION, CS_ROUTE, tables
from bonemets.core.record import Agent, Record, Route


@dataclass(frozen=True)
class Imported:
    records: dict[str, Record]
    refusals: list[str] = field(default_factory=list)  # what was not read, and why
    notes: list[str] = field(default_factory=list)  # what was read with a caveat


def import_records(resources: Iterable[dict[str, Any]]) -> Imported:
    """The adapter's `fhir_to_records`: one record per patient, what it refused, its notes.

    The adapter refuses a patient whole when one of its resources is malformed (no half record);
    its records are keyed by our record-id identifier when the Patient carries one, else by the
    FHIR Patient.id.
    """
    result = fhir_to_records(resources)
    refusals = [
        f"{r.resource_type}/{r.resource_id or '(no id)'}: {r.reason}" for r in result.refusals
    ]
    refusals += [f"patient {pid} not read: {why}" for pid, why in result.refused_patients.items()]
    return Imported(records=dict(result.records), refusals=refusals, notes=list(result.notes))


def observation_codes() -> list[str]:
    """`system|code` tokens of every Observation code the adapter reads (labs, weight and height,
    receptor status, bone lesions)."""
    t = tables()
    loinc = t.systems["loinc"]
    codes = dict.fromkeys([*t.labs_by_loinc, *t.vitals_by_loinc, *t.receptor_by_loinc])
    return [f"{loinc}|{code}" for code in codes] + [f"{CS_OBSERVATION}|bone-lesion"]


def _codings(concept: Any) -> list[Mapping[str, Any]]:
    if not isinstance(concept, Mapping):
        return []
    codings = concept.get("coding")
    return [c for c in codings if isinstance(c, Mapping)] if isinstance(codings, list) else []


def agent_of(concept: Any) -> Agent | None:
    """The bone-modifying agent a medication CodeableConcept names (our code, RxNorm, then the
    adapter's text table); None when it names none."""
    t = tables()
    rxnorm = t.systems["rxnorm"]
    agents = get_args(Agent)
    for coding in _codings(concept):
        system, code = coding.get("system"), coding.get("code")
        if system == CS_AGENT and code in agents:
            return cast(Agent, code)
        if system == rxnorm and isinstance(code, str) and code in t.meds:
            return cast(Agent, t.meds[code])
    texts = [concept.get("text")] if isinstance(concept, Mapping) else []
    texts += [c.get("display") for c in _codings(concept)]
    for text in texts:
        if isinstance(text, str):
            lowered = text.lower()
            for fragment, agent in t.med_text.items():
                if fragment in lowered:
                    return cast(Agent, agent)
    return None


def route_of(concept: Any) -> Route | None:
    """The route a route CodeableConcept names (our code, then SNOMED CT); None when unknown."""
    t = tables()
    snomed = t.systems["snomed"]
    routes = get_args(Route)
    for coding in _codings(concept):
        system, code = coding.get("system"), coding.get("code")
        if system == CS_ROUTE and code in routes:
            return cast(Route, code)
        if system == snomed and isinstance(code, str) and code in t.routes:
            return cast(Route, t.routes[code])
    return None


def ucum_system() -> str:
    return tables().systems["ucum"]
