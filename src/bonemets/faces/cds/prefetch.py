"""The FHIR data a CDS call works on: the prefetch the client sent, checked against our templates,
and whatever it left out fetched from its `fhirServer` (fhirpy, async).

Nothing is assumed: a prefetch key the client did not satisfy and that cannot be fetched is named in
`Gathered.problems`, and the service says so on a card. The service never reads our own database.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bonemets.faces.cds import fhir_bridge

# The queries of the brief (CORE_KEYS: without them the pathway cannot be judged), and the other
# resource types the FHIR adapter reads (treatments, supplements, symptom reports, imaging).
CORE_KEYS = (
    "patient",
    "conditions",
    "observations",
    "administrations",
    "requests",
    "procedures",
)
EXTRA_KEYS = ("statements", "symptoms", "imaging", "reports")
KEYS = (*CORE_KEYS, *EXTRA_KEYS)

# key -> the resource type its query returns
RESOURCE_TYPES: dict[str, str] = {
    "patient": "Patient",
    "conditions": "Condition",
    "observations": "Observation",
    "administrations": "MedicationAdministration",
    "requests": "MedicationRequest",
    "procedures": "Procedure",
    "statements": "MedicationStatement",
    "symptoms": "QuestionnaireResponse",
    "imaging": "ImagingStudy",
    "reports": "DiagnosticReport",
}

# What each key is for, named on cards when it is missing.
PURPOSE: dict[str, str] = {
    "patient": "birth date and sex (creatinine clearance, age)",
    "conditions": "bone metastases, pregnancy, dialysis",
    "observations": "labs (creatinine, calcium, albumin, ...), weight",
    "administrations": "bone-modifying agent doses given",
    "requests": "bone-modifying agent plans (agent, route, interval)",
    "procedures": "dental exams and procedures, imaging, radiotherapy",
    "statements": "treatments (chemotherapy, opioids, ...) and calcium / vitamin D supplements",
    "symptoms": "symptom reports (the triage engine's red flags)",
    "imaging": "imaging studies (restaging intervals)",
    "reports": "imaging reports (restaging intervals and findings)",
}


def templates() -> dict[str, str]:
    """The prefetch templates of both services (the same data: one record per patient)."""
    codes = ",".join(fhir_bridge.observation_codes())
    pid = "{{context.patientId}}"
    return {
        "patient": f"Patient/{pid}",
        "conditions": f"Condition?patient={pid}",
        "observations": f"Observation?patient={pid}&code={codes}",
        "administrations": f"MedicationAdministration?patient={pid}",
        "requests": f"MedicationRequest?patient={pid}",
        "procedures": f"Procedure?patient={pid}",
        "statements": f"MedicationStatement?patient={pid}",
        "symptoms": f"QuestionnaireResponse?patient={pid}",
        "imaging": f"ImagingStudy?patient={pid}",
        "reports": f"DiagnosticReport?patient={pid}",
    }


class PrefetchError(ValueError):
    """A prefetch value that is not what its template asks for (answered with 422)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.field = f"prefetch.{key}"
        self.message = message


Origin = Literal["prefetch", "fetched", "none"]


@dataclass
class Gathered:
    resources: list[dict[str, Any]] = field(default_factory=list)
    origin: dict[str, Origin] = field(default_factory=dict)  # key -> where its data came from
    counts: dict[str, int] = field(default_factory=dict)  # key -> resources read
    problems: dict[str, str] = field(default_factory=dict)  # key -> why it could not be had

    @property
    def complete(self) -> bool:
        return not self.problems


# --- Checking the prefetch ------------------------------------------------------------------------


def _belongs(resource: Mapping[str, Any], patient_id: str) -> bool:
    """False when the resource names another patient as its subject (a reference we can read)."""
    if resource.get("resourceType") == "Patient":
        return resource.get("id") == patient_id
    for attr in ("subject", "patient"):
        ref = resource.get(attr)
        if isinstance(ref, Mapping) and isinstance(ref.get("reference"), str):
            reference: str = ref["reference"]
            return reference == f"Patient/{patient_id}" or reference.endswith(
                f"/Patient/{patient_id}"
            )
    return True


def _next_link(bundle: Mapping[str, Any]) -> bool:
    links = bundle.get("link")
    return isinstance(links, list) and any(
        isinstance(link, Mapping) and link.get("relation") == "next" for link in links
    )


def _from_value(key: str, value: Any, patient_id: str) -> list[dict[str, Any]] | None:
    """The resources of one prefetch value; None when it is paged (to be fetched in full)."""
    expected = RESOURCE_TYPES[key]
    if not isinstance(value, dict):
        raise PrefetchError(key, f"must be a FHIR resource or null, not {type(value).__name__}")
    kind = value.get("resourceType")
    if key == "patient":
        if kind != "Patient":
            raise PrefetchError(key, f"must be a Patient resource, not {kind!r}")
        found = [value]
    else:
        if kind != "Bundle":
            raise PrefetchError(key, f"must be a searchset Bundle of {expected}, not {kind!r}")
        if _next_link(value):
            return None  # the specification forbids paged prefetch; fetch the whole search
        found = []
        for i, entry in enumerate(value.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                raise PrefetchError(key, f"entry[{i}] has no resource")
            if resource.get("resourceType") == "OperationOutcome":
                continue  # search warnings ride along in a searchset
            if resource.get("resourceType") != expected:
                raise PrefetchError(
                    key, f"entry[{i}] is a {resource.get('resourceType')!r}, not {expected}"
                )
            found.append(resource)
    for resource in found:
        if not _belongs(resource, patient_id):
            raise PrefetchError(
                key,
                f"holds {resource.get('resourceType')}/{resource.get('id')} of another patient "
                f"than {patient_id}",
            )
    return found


# --- Fetching what is missing ---------------------------------------------------------------------


def server_allowed(server: str, allowed: tuple[str, ...]) -> bool:
    """True when `server` starts with one of the allowed base URLs ("*" allows any)."""
    if "*" in allowed:
        return True
    norm = server.rstrip("/") + "/"
    return any(norm.startswith(a.rstrip("/") + "/") for a in allowed)


def _query(template: str, patient_id: str) -> tuple[str, dict[str, str]]:
    """(path, params) of one template with the patient id filled in."""
    path, _, query = template.replace("{{context.patientId}}", patient_id).partition("?")
    return path, dict(urllib.parse.parse_qsl(query, keep_blank_values=True))


async def _fetch_one(client: Any, key: str, template: str, patient_id: str) -> list[dict[str, Any]]:
    path, params = _query(template, patient_id)
    if key == "patient":
        resource_type, _, rid = path.partition("/")
        patient = await client.reference(resource_type, rid).to_resource()
        return [patient.serialize()]
    found = await client.resources(path).search(**params).fetch_all()
    return [r.serialize() for r in found]


def _why(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    if isinstance(exc, TimeoutError):
        return "the FHIR server did not answer in time"
    return f"{name}: {text}" if text else name


async def fetch_missing(
    keys: list[str],
    *,
    server: str,
    token: str | None,
    patient_id: str,
    timeout_s: float,
) -> dict[str, list[dict[str, Any]] | str]:
    """Each key's resources from the FHIR server, or why they could not be fetched."""
    import aiohttp
    from fhirpy import AsyncFHIRClient

    client = AsyncFHIRClient(
        server,
        authorization=f"Bearer {token}" if token else None,
        aiohttp_config={"timeout": aiohttp.ClientTimeout(total=timeout_s)},
    )
    all_templates = templates()

    async def one(key: str) -> list[dict[str, Any]] | str:
        try:
            async with asyncio.timeout(timeout_s):
                return await _fetch_one(client, key, all_templates[key], patient_id)
        except Exception as exc:
            return _why(exc)

    answers = await asyncio.gather(*(one(k) for k in keys))
    return dict(zip(keys, answers, strict=True))


async def gather(
    prefetch: Mapping[str, Any] | None,
    *,
    patient_id: str,
    server: str | None,
    token: str | None,
    allowed_servers: tuple[str, ...],
    timeout_s: float,
    exclude: frozenset[str] = frozenset(),
) -> Gathered:
    """The patient's resources from prefetch, fetching what the client left out.

    `exclude` holds `Type/id` references never to read (the draft orders of an order-sign call,
    which a client may also return in its MedicationRequest search).
    """
    out = Gathered()
    prefetch = prefetch or {}
    missing: list[str] = []
    for key in KEYS:
        if key not in prefetch:
            missing.append(key)
            continue
        value = prefetch[key]
        if value is None:  # the client has no data for this query
            out.origin[key] = "none"
            out.counts[key] = 0
            continue
        found = _from_value(key, value, patient_id)
        if found is None:
            missing.append(key)
            continue
        out.origin[key] = "prefetch"
        kept = [r for r in found if f"{r.get('resourceType')}/{r.get('id')}" not in exclude]
        out.counts[key] = len(kept)
        out.resources.extend(kept)
    if not missing:
        return out
    if server is None:
        for key in missing:
            out.problems[key] = "not in the prefetch, and the request names no fhirServer"
        return out
    if not server_allowed(server, allowed_servers):
        for key in missing:
            out.problems[key] = (
                "not in the prefetch, and the fhirServer is not on this service's list of FHIR "
                "servers it may call (BONEMETS_CDS_FHIR_SERVERS)"
            )
        return out
    fetched = await fetch_missing(
        missing, server=server, token=token, patient_id=patient_id, timeout_s=timeout_s
    )
    for key, answer in fetched.items():
        if isinstance(answer, str):
            out.problems[key] = f"could not be fetched from {server}: {answer}"
            continue
        strangers = [r for r in answer if not _belongs(r, patient_id)]
        if strangers:
            out.problems[key] = (
                f"the FHIR server returned {len(strangers)} resource(s) of another patient: "
                "none of this query was used"
            )
            continue
        kept = [r for r in answer if f"{r.get('resourceType')}/{r.get('id')}" not in exclude]
        out.origin[key] = "fetched"
        out.counts[key] = len(kept)
        out.resources.extend(kept)
    return out
