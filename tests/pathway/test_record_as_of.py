"""`Record.as_of` returns the record itself when nothing is dated after the day: every date in
the record must be looked at, including date fields added after this test was written."""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

from bonemets.core.record import Record
from tests.pathway.test_properties import days, records

DAY = dt.date(2025, 6, 30)
LATER = DAY + dt.timedelta(days=1)
# Dates that `as_of` does not cut: a birth date after the day leaves the age unknown instead.
# `Symptom.reported_on` is set only on the engine's copies of open red flags, never stored.
NOT_CUT = {("Demographics", "birth_date"), ("Symptom", "reported_on")}

# One valid entry of each kind, dated on DAY; each test moves one date of it to LATER.
ENTRIES: dict[str, dict[str, Any]] = {
    "weights": {"date": DAY, "kg": 60},
    "heights": {"date": DAY, "cm": 165},
    "lesions": {"date": DAY, "site": "T10"},
    "labs": {"code": "creatinine", "value": 1.0, "unit": "mg/dL", "date": DAY},
    "bma_doses": {"agent": "denosumab", "date": DAY},
    "bma_plans": {"agent": "denosumab", "date": DAY},
    "dental_exams": {"date": DAY},
    "dental_procedures": {"date": DAY, "kind": "extraction"},
    "imaging": {"date": DAY, "modality": "ct"},
    "supplements": {"date": DAY, "kind": "calcium", "unit": "mg", "stopped": DAY},
    "conditions": {"code": "pregnancy", "date": DAY, "resolved": DAY},
    "treatments": {"kind": "chemotherapy", "start": DAY, "stop": DAY},
    "symptom_reports": {"date": DAY, "symptoms": []},
    "symptom_resolutions": {"date": DAY, "code": "seizure"},
}


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (through lists, optionals and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType, typing.Annotated):
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def _holds_date(annotation: Any) -> bool:
    if annotation is dt.date:
        return True
    return any(_holds_date(arg) for arg in typing.get_args(annotation))


def date_fields() -> list[tuple[str, str, str]]:
    """(record field, entry model, date field) for every date the record can hold."""
    out: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], path: str) -> None:
        for name, info in model.model_fields.items():
            where = f"{path}.{name}".lstrip(".")
            if _holds_date(info.annotation) and (model.__name__, name) not in NOT_CUT:
                out.append((path, model.__name__, name))
            for sub in _models(info.annotation):
                walk(sub, where)

    walk(Record, "")
    return out


def _record_with(path: str, model: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "p", "demographics": {}, "cancer": {"bone_metastases": True}}
    field = path.split(".")[-1]
    if model == "Cancer":
        data["cancer"][name] = LATER
        return data
    if model == "Demographics":
        data["demographics"][name] = LATER
        return data
    entry = {**ENTRIES[field], name: LATER}
    if path.startswith("demographics."):
        data["demographics"][field] = [entry]
    else:
        data[field] = [entry]
    return data


def test_every_date_field_is_known_to_the_test() -> None:
    fields = {
        path.split(".")[-1]
        for path, model, _ in date_fields()
        if model not in ("Cancer", "Demographics")
    }
    assert fields == set(ENTRIES), "a new dated record field: add it to ENTRIES"


@pytest.mark.parametrize(("path", "model", "name"), date_fields())
def test_a_later_date_anywhere_is_cut(path: str, model: str, name: str) -> None:
    record = Record.model_validate(_record_with(path, model, name))
    cut = record.as_of(DAY)
    assert cut is not record
    assert cut != record


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), days)
def test_as_of_equals_the_full_cut(record: Record, day: dt.date) -> None:
    cut = record.as_of(day)
    assert cut == record._cut(day)
    assert cut.as_of(day) is cut  # a cut record has nothing after the day
