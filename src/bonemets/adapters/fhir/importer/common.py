"""Shared pieces of the FHIR importer: the import result, refusal, dates, codings, numbers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from bonemets.core.errors import InputError
from bonemets.core.record import (
    Record,
)

Json = dict[str, Any]
M = TypeVar("M", bound=BaseModel)

_DATE = re.compile(r"^(\d{4})(-(\d{2})(-(\d{2}))?)?")
_DATETIME_REST = re.compile(r"^(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")
SKIP_STATUS = frozenset({"entered-in-error", "cancelled"})
PATIENT_FIELDS = ("subject", "patient")
HANDLED = frozenset(
    {
        "Observation",
        "Condition",
        "MedicationAdministration",
        "MedicationRequest",
        "MedicationStatement",
        "Procedure",
        "DiagnosticReport",
        "ImagingStudy",
        "QuestionnaireResponse",
    }
)
PERIOD_WEEKS = {"d": 1 / 7, "wk": 1.0, "mo": 52 / 12, "a": 52.0, "h": 1 / 168}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A resource that could not be read, its patient (when known) and why."""

    patient: str | None
    resource_type: str
    resource_id: str | None
    reason: str


@dataclass(slots=True)
class TypeCounts:
    read: int = 0
    imported: int = 0
    skipped: int = 0
    refused: int = 0


@dataclass(slots=True)
class ImportResult:
    records: dict[str, Record] = field(default_factory=dict)
    counts: dict[str, TypeCounts] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    refused_patients: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Patients read with some of their resources refused (record id -> those refusals).
    partial: dict[str, list[Refusal]] = field(default_factory=dict)

    def count(self, rtype: str) -> TypeCounts:
        c = self.counts.get(rtype)
        if c is None:
            c = self.counts[rtype] = TypeCounts()
        return c

    @property
    def resources_read(self) -> int:
        return sum(c.read for c in self.counts.values())


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def validation_reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def make(model: type[M], data: Json) -> M:
    try:
        # model_validate without its Python wrapper: called for every entry of every patient.
        return cast(M, model.__pydantic_validator__.validate_python(data))
    except ValidationError as exc:
        raise Refused(f"{model.__name__}: {validation_reason(exc)}") from None
    except InputError as exc:
        raise Refused(f"{model.__name__}: {exc.field}: {exc.message}") from None


_PARSED_DAYS: dict[str, dt.date] = {}  # a memo: a visit's resources share their timestamps
_PARSED_DAYS_MAX = 50_000


def parse_date(value: Any, what: str) -> dt.date:
    """The calendar day of a FHIR date / dateTime / instant (as written, no time-zone shift)."""
    day = _PARSED_DAYS.get(value) if isinstance(value, str) else None
    if day is not None:
        return day
    day = _parse_date(value, what)
    if len(_PARSED_DAYS) >= _PARSED_DAYS_MAX:
        _PARSED_DAYS.clear()
    _PARSED_DAYS[value] = day
    return day


def _parse_date(value: Any, what: str) -> dt.date:
    if not isinstance(value, str):
        raise Refused(f"{what} is not a date: {value!r}")
    m = _DATE.match(value)
    if m is None or not _DATETIME_REST.match(value[m.end() :]):
        raise Refused(f"{what} is not a FHIR date or dateTime: {value!r}")
    if m.group(5) is None:
        raise Refused(f"{what} {value!r} is not precise to the day")
    try:
        return dt.date(int(m.group(1)), int(m.group(3)), int(m.group(5)))
    except ValueError:
        raise Refused(f"{what} is not a valid date: {value!r}") from None


def codings(cc: Any) -> list[Json]:
    if not isinstance(cc, dict):
        return []
    codings = cc.get("coding")
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def code_in(cc: Any, system: str) -> str | None:
    if not isinstance(cc, dict):
        return None
    codings = cc.get("coding")
    if not isinstance(codings, list):
        return None
    for c in codings:
        if isinstance(c, dict) and c.get("system") == system:
            code = c.get("code")
            if isinstance(code, str):
                return code
    return None


NUMBER = (int, float)


def codes_in(cc: Any, own: str, other: str) -> tuple[str | None, str | None]:
    """The first code of system `own` and the first of system `other` (one walk of the codings:
    our own code system wins, a standard one is read when ours is absent)."""
    mine = theirs = None
    if isinstance(cc, dict):
        codings = cc.get("coding")
        if isinstance(codings, list):
            for c in codings:
                if isinstance(c, dict):
                    system, code = c.get("system"), c.get("code")
                    if isinstance(code, str):
                        if mine is None and system == own:
                            mine = code
                        elif theirs is None and system == other:
                            theirs = code
    return mine, theirs


def number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, NUMBER):
        raise Refused(f"{what} is not a number: {value!r}")
    return float(value)


def status_of(res: Json) -> str | None:
    status = res.get("status")
    return status if isinstance(status, str) else None


def reference_id(ref: Any) -> str | None:
    """The Patient id a reference points at (``Patient/x``, ``urn:uuid:x``, absolute URL)."""
    if not isinstance(ref, dict):
        return None
    text = ref.get("reference")
    if not isinstance(text, str) or not text:
        return None
    if text.startswith("urn:uuid:"):
        return text[9:]
    text = text.split("/_history/")[0]
    head, _, tail = text.rpartition("/")
    if not head.endswith("Patient") or not tail:
        return None
    return tail


def patient_ref(res: Json, seen: dict[str, str] | None = None) -> str:
    """The patient a resource belongs to. `seen` remembers reference texts already read: most
    resources of a patient carry the same one."""
    for name in PATIENT_FIELDS:
        if name in res:
            ref = res[name]
            text = ref.get("reference") if isinstance(ref, dict) else None
            if seen is not None and isinstance(text, str):
                pid = seen.get(text)
                if pid is not None:
                    return pid
            pid = reference_id(ref)
            if pid is None:
                raise Refused(f"{name} does not reference a Patient: {ref!r}")
            if seen is not None and isinstance(text, str):
                seen[text] = pid
            return pid
    raise Refused("no subject: the resource names no patient")
