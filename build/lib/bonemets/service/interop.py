"""Interoperability use cases: importing FHIR data into the database. (FHIR reads and searches
of the stored records: fhir_search.py.)"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from bonemets.adapters.fhir import ImportResult, Refusal, fhir_to_records
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.records import entries_of, profile_of
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.errors import InputError
from bonemets.core.record import Record
from bonemets.service import filing, validation

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
            report.outcomes[patient_id], added = _store(s, settings, record, team, today)
            report.added_entries += added
    return report


def _refuse_out_of_bounds(result: ImportResult, today: dt.date) -> None:
    """The import's side of the one validation boundary: an entry with a value the app would
    refuse (a date before 1900, an implausible dose, a stop before its start, ...) is left out
    and listed, naming the field, like a resource the mapping cannot read; the rest of the
    patient is imported. A record whose id is not a FHIR id, or whose profile fails, is
    refused whole (there is nothing to keep it under)."""
    for patient_id, record in list(result.records.items()):
        try:
            kept, refused = validation.without_refused(record, today)
        except InputError as exc:
            reason = f"{exc.field}: {exc.message}"
            del result.records[patient_id]
            result.refused_patients[patient_id] = reason
            result.refusals.append(Refusal(patient_id, "Patient", patient_id, reason))
            continue
        result.records[patient_id] = kept
        for where, message in refused:
            result.refusals.append(Refusal(patient_id, "entry", where, f"{where}: {message}"))


def _store(
    s: Session, settings: Settings, record: Record, team: str, today: dt.date
) -> tuple[Outcome, int]:
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
        s.add(
            t.Entry(
                patient_id=record.id,
                kind=kind,
                date=date,
                data=data,
                source_ref=ref,
                origin="fhir_import",
            )
        )
        known.add(ref)
        added += 1
    if added and outcome == "unchanged":
        outcome = "updated"
    s.flush()
    if outcome != "unchanged":
        # The same path as every other change: assessed, alerts raised, status refreshed.
        stored = repo.load_record(s, record.id)
        filing.settle(s, settings, repo.get_patient(s, record.id), stored, today=today)
    return outcome, added


def _name(record: Record) -> str:
    return f"Patient {record.id[:12]}"
