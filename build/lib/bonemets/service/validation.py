"""The one validation boundary: what every write (form, API, FHIR import) passes before it is
stored, with the rules of `bonemets.core.bounds` and the day the service knows as "today".

Reading is the other way round: a record already stored is never refused (it may predate a
rule), so nothing here runs on the read path, and the pages cope with any stored value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from bonemets.adapters.storage.records import DEMOGRAPHIC_LISTS, KINDS
from bonemets.core import bounds
from bonemets.core.errors import InputError
from bonemets.core.record import Record

# What the database can hold in a patient id column, and what a lookup may safely compare.
PATIENT_ID_COLUMN = 64


def lookup_safe(patient_id: str) -> bool:
    """True when `patient_id` can be looked up on every database (PostgreSQL refuses NUL and
    text that is not UTF-8; nothing longer than the column can match). Ids stored before the
    FHIR id grammar was enforced stay reachable, so the grammar itself is not asked for."""
    if not patient_id or len(patient_id) > PATIENT_ID_COLUMN or "\x00" in patient_id:
        return False
    try:
        patient_id.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_payload(data: Any, field: str = "") -> None:
    """A request body or form before any model reads it: strings, numbers, list sizes."""
    bounds.check_json(data, field)


def check_entry(kind: str, model: BaseModel, today: dt.date, field: str = "") -> None:
    """A new record entry (a dose, a lab, ...): text, dates between 1900 and a year from
    today, plausible numbers, stop after start."""
    bounds.check_entry(kind, model, today, field)


def check_report(report: BaseModel, labs: Sequence[BaseModel], today: dt.date) -> None:
    """A patient's symptom report and the lab values sent with it."""
    bounds.check_entry("symptom_report", report, today)
    for i, lab in enumerate(labs):
        bounds.check_entry("lab", lab, today, f"labs[{i}]")


def check_record(record: Record, today: dt.date) -> None:
    """A whole record about to be stored (a FHIR import): its id is a FHIR id, and every
    entry and the profile pass the same rules as an entry made in the app."""
    bounds.check_id(record.id, "id")
    bounds.check_dates(record.demographics.model_copy(update={"weights": [], "heights": []}),
                       today, "demographics")  # fmt: skip
    if record.cancer is not None:
        bounds.check_dates(record.cancer, today, "cancer")
    for kind, (attr, _model) in KINDS.items():
        owner: BaseModel = record.demographics if attr in DEMOGRAPHIC_LISTS else record
        for i, entry in enumerate(getattr(owner, attr)):
            bounds.check_entry(kind, entry, today, f"{attr}[{i}]")


def without_refused(record: Record, today: dt.date) -> tuple[Record, list[tuple[str, str]]]:
    """A record from another system (a FHIR import) with the entries the rules refuse taken
    out, and each refusal as (field, reason): one odd resource never costs the patient the rest
    of their record. The id and the profile must pass (InputError otherwise): without them
    there is no record to keep."""
    bounds.check_id(record.id, "id")
    bounds.check_dates(record.demographics.model_copy(update={"weights": [], "heights": []}),
                       today, "demographics")  # fmt: skip
    if record.cancer is not None:
        bounds.check_dates(record.cancer, today, "cancer")
    refused: list[tuple[str, str]] = []
    kept: dict[str, list[BaseModel]] = {}
    for kind, (attr, _model) in KINDS.items():
        owner: BaseModel = record.demographics if attr in DEMOGRAPHIC_LISTS else record
        kept[attr] = []
        for i, entry in enumerate(getattr(owner, attr)):
            try:
                bounds.check_entry(kind, entry, today, f"{attr}[{i}]")
            except InputError as exc:
                refused.append((exc.field, exc.message))
            else:
                kept[attr].append(entry)
    if not refused:
        return record, []
    demographics = record.demographics.model_copy(
        update={attr: kept[attr] for attr in DEMOGRAPHIC_LISTS}
    )
    lists = {a: v for a, v in kept.items() if a not in DEMOGRAPHIC_LISTS}
    return record.model_copy(update={"demographics": demographics, **lists}), refused


__all__ = [
    "check_entry",
    "check_payload",
    "check_record",
    "check_report",
    "lookup_safe",
    "without_refused",
]
