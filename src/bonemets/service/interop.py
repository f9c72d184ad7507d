"""Interoperability use cases: importing FHIR data into the database, and answering FHIR reads
and searches from the stored records (with the app's access rules and audit)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from bonemets.adapters.fhir import (
    ImportResult,
    Refusal,
    fhir_to_records,
    record_to_fhir,
    resource_id,
)
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.records import entries_of, profile_of
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.errors import InputError
from bonemets.core.record import Record
from bonemets.service import care, validation

Outcome = Literal["created", "updated", "unchanged", "refused"]


@dataclass
class ImportReport:
    fhir: ImportResult
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    added_entries: int = 0


def _fingerprint(kind: str, data: dict[str, Any]) -> str:
    """Identifies an entry by its content, so importing the same data again adds nothing."""
    blob = orjson.dumps({"kind": kind, "data": data}, option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def import_resources(
    db: Database, settings: Settings, resources: Iterable[dict[str, Any]], *, team: str
) -> ImportReport:
    """Import FHIR resources: one transaction per patient (a refused patient stores nothing,
    the others go on); idempotent (entries already stored, by content, are not added again)."""
    result = fhir_to_records(resources)
    report = ImportReport(fhir=result)
    today = settings.today()
    _refuse_out_of_bounds(result, today)
    for patient_id in result.refused_patients:
        report.outcomes[patient_id] = "refused"
    for patient_id, record in result.records.items():
        with db.transaction() as s:
            report.outcomes[patient_id], added = _store(s, record, team, today)
            report.added_entries += added
    return report


def _refuse_out_of_bounds(result: ImportResult, today: dt.date) -> None:
    """The import's side of the one validation boundary: a record whose id is not a FHIR id,
    or with a value the app would refuse (a date before 1900, an implausible dose, a stop
    before its start, ...), is refused whole, naming the field, like a malformed resource."""
    for patient_id, record in list(result.records.items()):
        try:
            validation.check_record(record, today)
        except InputError as exc:
            reason = f"{exc.field}: {exc.message}"
            del result.records[patient_id]
            result.refused_patients[patient_id] = reason
            result.refusals.append(Refusal(patient_id, "Patient", patient_id, reason))


def _store(s: Session, record: Record, team: str, today: dt.date) -> tuple[Outcome, int]:
    existing = s.get(t.Patient, record.id)
    profile = profile_of(record)
    if existing is None:
        team_id = repo.get_or_create_team(s, team).id
        s.add(t.Patient(id=record.id, team_id=team_id, display_name=_name(record), profile=profile))
        s.flush()  # the patient row first: entries refer to it
        outcome: Outcome = "created"
        known: set[str | None] = set()
    else:
        outcome = "unchanged"
        if existing.profile != profile:
            existing.profile = profile
            outcome = "updated"
        known = set(s.scalars(select(t.Entry.source_ref).where(t.Entry.patient_id == record.id)))
    added = 0
    for kind, date, data in entries_of(record):
        ref = _fingerprint(kind, data)
        if ref in known:
            continue
        s.add(t.Entry(patient_id=record.id, kind=kind, date=date, data=data, source_ref=ref))
        known.add(ref)
        added += 1
    if added and outcome == "unchanged":
        outcome = "updated"
    s.flush()
    if outcome != "unchanged":
        stored = repo.load_record(s, record.id)
        care.backfill_reports(s, record.id, stored, today)
        care.refresh_status(s, record.id, today, stored)
    return outcome, added


def _name(record: Record) -> str:
    return f"Patient {record.id[:12]}"


# --- FHIR reads and searches ----------------------------------------------------------------

READABLE = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationAdministration",
    "MedicationRequest",
    "Procedure",
)


def _resources_of(record: Record) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in record_to_fhir(record)["entry"]]


def _patient_ids(db: Database, user: t.User) -> list[str]:
    with db.transaction() as s:
        if user.role == "patient":
            return [user.patient_id] if user.patient_id else []
        if user.role == "admin":
            return repo.all_patient_ids(s)
        return [p.id for p in repo.team_patients(s, user.team_id)] if user.team_id else []


def _patient_for_reference(db: Database, user: t.User, reference: str) -> str | None:
    """Our record id behind `Patient/<fhir id>` (or a bare id), among those `user` may see."""
    fhir_id = reference.split("/")[-1]
    for pid in _patient_ids(db, user):
        if fhir_id in (pid, resource_id(pid, "patient")):
            return pid
    return None


def _load(db: Database, user: t.User, patient_id: str, what: str) -> Record:
    with db.transaction() as s:
        care.authorize(db, s, user, patient_id, what)
        return repo.load_record(s, patient_id)


def read(db: Database, user: t.User, rtype: str, rid: str) -> dict[str, Any]:
    """One resource by type and id, from the records `user` may see (404 otherwise)."""
    for pid in _patient_ids(db, user):
        if rtype == "Patient" and rid not in (pid, resource_id(pid, "patient")):
            continue
        for resource in _resources_of(_load(db, user, pid, f"read fhir {rtype}/{rid}")):
            if resource["resourceType"] == rtype and resource["id"] == rid:
                return resource
    raise care.deny(db, user, None, f"read fhir {rtype}/{rid}")


def _matches_code(resource: dict[str, Any], code: str) -> bool:
    system, _, value = code.rpartition("|")
    for key in ("code", "medicationCodeableConcept"):
        for coding in (resource.get(key) or {}).get("coding", []):
            if coding.get("code") == value and (not system or coding.get("system") == system):
                return True
    return False


def _dates(resource: dict[str, Any]) -> list[str]:
    out = []
    for key in (
        "effectiveDateTime",
        "onsetDateTime",
        "recordedDate",
        "performedDateTime",
        "authoredOn",
        "birthDate",
    ):
        if isinstance(resource.get(key), str):
            out.append(resource[key][:10])
    for key in ("effectivePeriod", "performedPeriod"):
        start = (resource.get(key) or {}).get("start")
        if isinstance(start, str):
            out.append(start[:10])
    return out


def _matches_date(resource: dict[str, Any], expr: str) -> bool:
    """FHIR date search with the prefixes eq, ge, le, gt, lt (day precision)."""
    prefix, value = (
        (expr[:2], expr[2:]) if expr[:2] in ("eq", "ge", "le", "gt", "lt") else ("eq", expr)
    )
    value = value[:10]
    tests = {
        "eq": lambda d: d == value,
        "ge": lambda d: d >= value,
        "le": lambda d: d <= value,
        "gt": lambda d: d > value,
        "lt": lambda d: d < value,
    }
    return any(tests[prefix](d) for d in _dates(resource))


def search(
    db: Database,
    user: t.User,
    rtype: str,
    *,
    patient: str | None,
    code: str | None,
    dates: list[str],
    base_url: str,
) -> dict[str, Any]:
    """A searchset Bundle of `rtype` resources, by patient, code and date."""
    if patient is not None:
        pid = _patient_for_reference(db, user, patient)
        if pid is None:
            raise care.deny(db, user, patient, f"search fhir {rtype}?patient={patient}")
        pids = [pid]
    else:
        pids = _patient_ids(db, user)
    found = []
    for pid in pids:
        for resource in _resources_of(_load(db, user, pid, f"read fhir search {rtype}")):
            if resource["resourceType"] != rtype:
                continue
            if code is not None and not any(_matches_code(resource, c) for c in code.split(",")):
                continue
            if dates and not all(_matches_date(resource, d) for d in dates):
                continue
            found.append(resource)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": [
            {
                "fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in found
        ],
    }
