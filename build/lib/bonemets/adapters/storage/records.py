"""Mapping between the core's patient Record and the profile + entries rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from bonemets.core.record import (
    BmaDose,
    BmaPlan,
    Cancer,
    Condition,
    Demographics,
    DentalExam,
    DentalProcedure,
    Height,
    Imaging,
    Lab,
    Lesion,
    Record,
    Supplement,
    SymptomReport,
    SymptomResolution,
    Treatment,
    Weight,
)

# entry kind -> (the Record list it belongs to, its model). Weights and heights live under
# demographics in the Record but are dated entries like the rest.
KINDS: dict[str, tuple[str, type[BaseModel]]] = {
    "weight": ("weights", Weight),
    "height": ("heights", Height),
    "lesion": ("lesions", Lesion),
    "lab": ("labs", Lab),
    "bma_dose": ("bma_doses", BmaDose),
    "bma_plan": ("bma_plans", BmaPlan),
    "dental_exam": ("dental_exams", DentalExam),
    "dental_procedure": ("dental_procedures", DentalProcedure),
    "imaging": ("imaging", Imaging),
    "supplement": ("supplements", Supplement),
    "condition": ("conditions", Condition),
    "treatment": ("treatments", Treatment),
    "symptom_report": ("symptom_reports", SymptomReport),
    "symptom_resolution": ("symptom_resolutions", SymptomResolution),
}
DEMOGRAPHIC_LISTS = {"weights", "heights"}


def entry_date(model: BaseModel) -> dt.date:
    """The date an entry is filed under (a treatment's start)."""
    value = getattr(model, "date", None) or getattr(model, "start", None)
    if not isinstance(value, dt.date):
        raise ValueError(f"{type(model).__name__} has no date")
    return value


def profile_of(record: Record) -> dict[str, Any]:
    demo = record.demographics.model_dump(mode="json", exclude={"weights", "heights"})
    cancer = record.cancer.model_dump(mode="json") if record.cancer is not None else None
    return {"demographics": demo, "cancer": cancer}


def entries_of(record: Record) -> list[tuple[str, dt.date, dict[str, Any]]]:
    """(kind, date, data) for every dated entry of `record`."""
    out: list[tuple[str, dt.date, dict[str, Any]]] = []
    for kind, (attr, _model) in KINDS.items():
        owner: BaseModel = record.demographics if attr in DEMOGRAPHIC_LISTS else record
        for item in getattr(owner, attr):
            out.append((kind, entry_date(item), item.model_dump(mode="json")))
    return out


def record_from(
    patient_id: str, profile: dict[str, Any], entries: list[tuple[str, dict[str, Any]]]
) -> Record:
    """Rebuild the Record (validated by the core's models) from stored rows."""
    lists: dict[str, list[dict[str, Any]]] = {attr: [] for attr, _ in KINDS.values()}
    for kind, data in entries:
        lists[KINDS[kind][0]].append(data)
    demographics = dict(profile.get("demographics") or {})
    demographics["weights"] = lists.pop("weights")
    demographics["heights"] = lists.pop("heights")
    return Record.model_validate(
        {
            "id": patient_id,
            "demographics": Demographics.model_validate(demographics),
            "cancer": Cancer.model_validate(profile["cancer"]) if profile.get("cancer") else None,
            **lists,
        }
    )


def canonical(record: Record) -> Record:
    """`record` with every dated list in date order (stable), as storage returns it."""
    update: dict[str, Any] = {}
    for attr, _model in KINDS.values():
        if attr in DEMOGRAPHIC_LISTS:
            continue
        update[attr] = sorted(getattr(record, attr), key=entry_date)
    demographics = record.demographics.model_copy(
        update={
            "weights": sorted(record.demographics.weights, key=entry_date),
            "heights": sorted(record.demographics.heights, key=entry_date),
        }
    )
    return record.model_copy(update={**update, "demographics": demographics})


def with_entries(record: Record, added: list[tuple[str, BaseModel]]) -> Record:
    """`record` with newly stored entries, each placed as `record_from` would read it back:
    after every entry of its list dated on or before it (a new entry has the highest id).
    The entries are validated models already, so nothing is validated again."""
    lists: dict[str, list[Any]] = {}
    for kind, model in added:
        attr = KINDS[kind][0]
        owner: BaseModel = record.demographics if attr in DEMOGRAPHIC_LISTS else record
        items = lists.setdefault(attr, list(getattr(owner, attr)))
        day = entry_date(model)
        at = len(items)
        while at > 0 and entry_date(items[at - 1]) > day:
            at -= 1
        items.insert(at, model)
    demographic = {k: v for k, v in lists.items() if k in DEMOGRAPHIC_LISTS}
    update: dict[str, Any] = {k: v for k, v in lists.items() if k not in DEMOGRAPHIC_LISTS}
    if demographic:
        update["demographics"] = record.demographics.model_copy(update=demographic)
    return record.model_copy(update=update)


def parse_entry(kind: str, data: dict[str, Any]) -> BaseModel:
    """Validate one new entry with its core model (raises pydantic ValidationError)."""
    if kind not in KINDS:
        raise KeyError(kind)
    return KINDS[kind][1].model_validate(data)


__all__ = [
    "KINDS",
    "Lab",
    "canonical",
    "entries_of",
    "entry_date",
    "parse_entry",
    "profile_of",
    "record_from",
    "with_entries",
]
