"""The FHIR data a CDS call works on: the prefetch the client sent, checked against our templates,
and whatever it left out fetched from its `fhirServer` (see fetch.py for the safeguards).

Nothing is assumed complete that is not:

- a key the client left out, or answered with an OperationOutcome (the specification's way of
  saying that query failed), is fetched from the FHIR server, or named in `Gathered.problems`;
- a paged prefetch Bundle (a `next` link) is followed through the request's FHIR server, or named
  in `Gathered.problems`;
- a `medicationReference` is read from a contained Medication, a Medication in the same Bundle, or
  the FHIR server; one that cannot be read is named in `Gathered.gaps`.

The service answers 412 when one of CORE_KEYS is a problem, and says every other problem and gap on
a card. It never reads our own database.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from bonemets.faces.cds import fhir_bridge
from bonemets.faces.cds.fetch import (
    FetchError,
    FhirFetcher,
    next_link,
    outcome_text,
    server_allowed,
    under,
)

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
MEDICATION_KEYS = ("administrations", "requests", "statements")
MAX_MEDICATION_READS = 20


@dataclass
class Gathered:
    resources: list[dict[str, Any]] = field(default_factory=list)
    origin: dict[str, Origin] = field(default_factory=dict)  # key -> where its data came from
    counts: dict[str, int] = field(default_factory=dict)  # key -> resources read
    problems: dict[str, str] = field(default_factory=dict)  # key -> why it could not be had
    gaps: list[str] = field(default_factory=list)  # what is missing inside data that was had

    @property
    def complete(self) -> bool:
        return not self.problems and not self.gaps

    @property
    def core_problems(self) -> dict[str, str]:
        return {k: why for k, why in self.problems.items() if k in CORE_KEYS}


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


def _accepted(key: str, kind: Any) -> bool:
    """The resource types a search of `key` may hold: its own, and the Medications a medication
    search includes (`_include`)."""
    return kind == RESOURCE_TYPES[key] or (key in MEDICATION_KEYS and kind == "Medication")


def _from_value(key: str, value: Any, patient_id: str) -> list[dict[str, Any]]:
    """The resources of one prefetch value (of its first page, when it is paged)."""
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
        found = []
        for i, entry in enumerate(value.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                raise PrefetchError(key, f"entry[{i}] has no resource")
            if resource.get("resourceType") == "OperationOutcome":
                continue  # search warnings ride along in a searchset
            if not _accepted(key, resource.get("resourceType")):
                raise PrefetchError(
                    key, f"entry[{i}] is a {resource.get('resourceType')!r}, not {expected}"
                )
            found.append(resource)
    _check_patient(key, found, patient_id)
    return found


def _check_patient(key: str, found: list[dict[str, Any]], patient_id: str) -> None:
    for resource in found:
        if not _belongs(resource, patient_id):
            raise PrefetchError(
                key,
                f"holds {resource.get('resourceType')}/{resource.get('id')} of another patient "
                f"than {patient_id}",
            )


# --- Fetching what is missing ---------------------------------------------------------------------


def _query(template: str, patient_id: str) -> tuple[str, dict[str, str]]:
    """(path, params) of one template with the patient id filled in."""
    path, _, query = template.replace("{{context.patientId}}", patient_id).partition("?")
    return path, dict(urllib.parse.parse_qsl(query, keep_blank_values=True))


Answer = list[dict[str, Any]] | str  # the resources, or why they could not be had


async def _fetch_key(fetcher: FhirFetcher, key: str, patient_id: str) -> Answer:
    path, params = _query(templates()[key], patient_id)
    try:
        if key == "patient":
            _type, _, rid = path.partition("/")
            return [await fetcher.read("Patient", rid)]
        return await fetcher.search(path, params)
    except FetchError as exc:
        return str(exc)


async def _follow(fetcher: FhirFetcher, bundle: dict[str, Any]) -> Answer:
    try:
        return await fetcher.follow(bundle)
    except FetchError as exc:
        return f"its next page could not be read: {exc}"


def _check_fetched(key: str, found: list[dict[str, Any]], patient_id: str) -> str | None:
    """Why resources a server returned for `key` cannot be used (None when they can)."""
    strangers = [r for r in found if not _belongs(r, patient_id)]
    if strangers:
        return (
            f"the FHIR server returned {len(strangers)} resource(s) of another patient: "
            "none of this query was used"
        )
    wrong = [r.get("resourceType") for r in found if not _accepted(key, r.get("resourceType"))]
    wrong = [w for w in wrong if w != "OperationOutcome"]
    if wrong:
        return f"the FHIR server returned {wrong[0]} for a {RESOURCE_TYPES[key]} search"
    return None


def _unusable_server(server: str | None, allowed: tuple[str, ...]) -> str | None:
    if server is None:
        return "the request names no fhirServer"
    if not server_allowed(server, allowed):
        return (
            "the fhirServer is not on this service's list of FHIR servers it may call "
            "(BONEMETS_CDS_FHIR_SERVERS)"
        )
    return None


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
    """The patient's resources from prefetch, fetching what the client left out or could not
    answer, and following paged prefetch.

    `exclude` holds `Type/id` references never to read (the draft orders of an order-sign call,
    which a client may also return in its MedicationRequest search).
    """
    out = Gathered()
    prefetch = prefetch or {}
    missing: dict[str, str] = {}  # key -> why the prefetch did not answer it
    paged: dict[str, dict[str, Any]] = {}
    for key in KEYS:
        if key not in prefetch:
            missing[key] = "not in the prefetch"
            continue
        value = prefetch[key]
        if value is None:  # the client has no data for this query
            out.origin[key] = "none"
            out.counts[key] = 0
            continue
        if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
            missing[key] = f"the client's prefetch query failed ({outcome_text(value)})"
            continue
        found = _from_value(key, value, patient_id)
        if key != "patient" and next_link(value) is not None:
            paged[key] = value
            continue
        _add(out, key, "prefetch", found, exclude)

    unusable = _unusable_server(server, allowed_servers)
    if unusable is not None:
        for key, reason in missing.items():
            out.problems[key] = f"{reason}, and {unusable}"
        for key in paged:
            out.problems[key] = f"the prefetch is paged (a next link), and {unusable}"
        _medication_gaps(out)
        return out
    assert server is not None
    try:
        async with (
            httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client,
            asyncio.timeout(timeout_s),
        ):
            fetcher = FhirFetcher(server, token, allowed_servers, client)
            keys = [*missing, *paged]
            answers = await asyncio.gather(
                *(_fetch_key(fetcher, k, patient_id) for k in missing),
                *(_follow(fetcher, paged[k]) for k in paged),
            )
            for key, answer in zip(keys, answers, strict=True):
                origin: Origin = "fetched" if key in missing else "prefetch"
                why: str | None = (
                    answer if isinstance(answer, str) else _check_fetched(key, answer, patient_id)
                )
                if why is not None:
                    before = missing.get(key, "the prefetch is paged")
                    out.problems[key] = f"{before}, and it could not be read from {server}: {why}"
                    continue
                assert not isinstance(answer, str)
                _add(out, key, origin, answer, exclude)
            await _medications(out, fetcher)
    except TimeoutError:
        for key in [*missing, *paged]:
            if key not in out.origin and key not in out.problems:
                out.problems[key] = f"the FHIR server {server} did not answer in time"
        _medication_gaps(out)
    return out


def _add(
    out: Gathered, key: str, origin: Origin, found: list[dict[str, Any]], exclude: frozenset[str]
) -> None:
    kept = [
        r
        for r in found
        if r.get("resourceType") != "OperationOutcome"
        and f"{r.get('resourceType')}/{r.get('id')}" not in exclude
    ]
    out.origin[key] = origin
    out.counts[key] = sum(1 for r in kept if r.get("resourceType") == RESOURCE_TYPES[key])
    out.resources.extend(kept)


# --- Medications behind a reference ---------------------------------------------------------------


def _reference_id(reference: str) -> str:
    return reference.rstrip("/").rpartition("/")[2].removeprefix("urn:uuid:")


def _unresolved(out: Gathered) -> dict[str, str]:
    """`medicationReference`s (not contained) whose Medication was not read: id -> reference."""
    have = {r.get("id") for r in out.resources if r.get("resourceType") == "Medication"}
    wanted: dict[str, str] = {}
    for resource in out.resources:
        ref = resource.get("medicationReference")
        if not isinstance(ref, Mapping) or not isinstance(ref.get("reference"), str):
            continue
        reference: str = ref["reference"]
        if reference.startswith("#"):
            continue  # contained: read with its resource
        rid = _reference_id(reference)
        if rid not in have:
            wanted[rid] = reference
    return wanted


async def _medications(out: Gathered, fetcher: FhirFetcher) -> None:
    wanted = _unresolved(out)
    readable = {
        rid: ref
        for rid, ref in wanted.items()
        if ref.startswith("Medication/") or (ref.startswith("http") and under(ref, fetcher.base))
    }
    reads = list(readable)[:MAX_MEDICATION_READS]

    async def one(rid: str) -> dict[str, Any] | None:
        try:
            found = await fetcher.read("Medication", rid)
        except FetchError:
            return None
        return found if found.get("resourceType") == "Medication" else None

    for med in await asyncio.gather(*(one(rid) for rid in reads)):
        if med is not None:
            out.resources.append(med)
    _medication_gaps(out)


def _medication_gaps(out: Gathered) -> None:
    wanted = _unresolved(out)
    if wanted:
        shown = ", ".join(sorted(wanted.values())[:5])
        out.gaps.append(
            f"{len(wanted)} medication reference(s) could not be read ({shown}): a "
            "bone-modifying agent given or planned under them is not known to this service"
        )
