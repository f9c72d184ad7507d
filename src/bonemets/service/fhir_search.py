"""FHIR R4 read and search over the stored records, as a client can trust them.

- A read finds its one patient from the resource id (ids of our resources name their patient,
  `exporter.patient_of`), checks access to that patient only, and audits that one read.
- A search runs over the caller's patients in FHIR-id order and stops when its page is full:
  paging is by keyset (`_cursor` after the last id of a page, `_before` before the first), so a
  page never repeats or skips a resource when records change between pages.
- Search parameters: those in SEARCH_PARAMS, with token (`system|code`, `code`, `system|`,
  `|code`), reference (`id`, `Patient/id`, absolute URL) and date (with the prefixes eq, ne, gt,
  lt, ge, le, sa, eb, at the precision given) semantics; `_id`, `_lastUpdated`, `_count`.
  An unknown parameter (or modifier) is refused under `Prefer: handling=strict`, else ignored,
  left out of the self link, and named in an OperationOutcome entry of the Bundle.
- No match is an empty searchset, whether the patient is unknown or not the caller's (the latter
  audited as denied): the answer never tells which.
- `meta.lastUpdated` of a resource is when its patient's record last changed (a bound: the record
  is stored as a whole, not per resource).
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bonemets.adapters.fhir import record_to_fhir
from bonemets.adapters.fhir.exporter import patient_of
from bonemets.adapters.storage import ehr as store
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.records import record_from
from bonemets.adapters.storage.repository import Database
from bonemets.core.bounds import is_fhir_id
from bonemets.service import care

Json = dict[str, Any]
DEFAULT_COUNT = 50
MAX_COUNT = 500
DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


class SearchError(ValueError):
    """A search the server cannot run as asked (400, naming the parameter)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


# --- Who asks, and for what ---------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What a caller may read: our user's access (care.may_access), narrowed by a token's scopes:
    `read_types` / `search_types` the resource types it may read by id / search (None: all),
    `patient` the one FHIR Patient id its patient/ scopes are bound to, and `patient_only` the
    types it may read only for that patient.
    """

    user: t.User
    read_types: frozenset[str] | None = None
    search_types: frozenset[str] | None = None
    patient_only: frozenset[str] = frozenset()
    patient: str | None = None
    via: str = "session"  # for the audit trail: session, or the token's issuer

    def may_read(self, rtype: str) -> bool:
        return self.read_types is None or rtype in self.read_types

    def may_search(self, rtype: str) -> bool:
        return self.search_types is None or rtype in self.search_types

    def bound_to(self, rtype: str) -> str | None:
        """The FHIR Patient id reads of `rtype` are bound to (None: the user's whole access)."""
        if rtype in self.patient_only:
            return self.patient or ""  # no patient in context: nothing
        return None


# --- Search parameters --------------------------------------------------------------------------

Kind = Literal["token", "reference", "date", "string"]


@dataclass(frozen=True)
class Param:
    kind: Kind
    paths: tuple[str, ...]  # where in the resource (dotted; lists are walked)


_SUBJECT = Param("reference", ("subject", "patient"))
_COMMON: dict[str, Param] = {
    "_id": Param("token", ("id",)),
    "_lastUpdated": Param("date", ("meta.lastUpdated",)),
}
SEARCH_PARAMS: dict[str, dict[str, Param]] = {
    "Patient": {
        "identifier": Param("token", ("identifier",)),
        "gender": Param("token", ("gender",)),
        "birthdate": Param("date", ("birthDate",)),
    },
    "Condition": {
        "patient": _SUBJECT,
        "subject": _SUBJECT,
        "code": Param("token", ("code",)),
        "category": Param("token", ("category",)),
        "clinical-status": Param("token", ("clinicalStatus",)),
        "verification-status": Param("token", ("verificationStatus",)),
        "onset-date": Param("date", ("onsetDateTime", "onsetPeriod")),
        "body-site": Param("token", ("bodySite",)),
    },
    "Observation": {
        "patient": _SUBJECT,
        "subject": _SUBJECT,
        "code": Param("token", ("code",)),
        "category": Param("token", ("category",)),
        "status": Param("token", ("status",)),
        "date": Param("date", ("effectiveDateTime", "effectivePeriod")),
    },
    "MedicationAdministration": {
        "patient": _SUBJECT,
        "subject": _SUBJECT,
        "code": Param("token", ("medicationCodeableConcept",)),
        "status": Param("token", ("status",)),
        "effective-time": Param("date", ("effectiveDateTime", "effectivePeriod")),
    },
    "MedicationRequest": {
        "patient": _SUBJECT,
        "subject": _SUBJECT,
        "code": Param("token", ("medicationCodeableConcept",)),
        "status": Param("token", ("status",)),
        "intent": Param("token", ("intent",)),
        "authoredon": Param("date", ("authoredOn",)),
    },
    "MedicationStatement": {
        "patient": _SUBJECT,
        "subject": _SUBJECT,
        "code": Param("token", ("medicationCodeableConcept",)),
        "status": Param("token", ("status",)),
        "effective": Param("date", ("effectiveDateTime", "effectivePeriod")),
    },
    "Procedure": {
        "patient": _SUBJECT,
        "subject": _SUBJECT,
        "code": Param("token", ("code",)),
        "status": Param("token", ("status",)),
        "date": Param("date", ("performedDateTime", "performedPeriod")),
    },
    "QuestionnaireResponse": {
        "patient": _SUBJECT,
        "subject": _SUBJECT,
        "status": Param("token", ("status",)),
        "authored": Param("date", ("authored",)),
    },
}
READABLE = tuple(SEARCH_PARAMS)
CONTROL = ("_count", "_cursor", "_before", "_format")


def params_of(rtype: str) -> dict[str, Param]:
    return {**_COMMON, **SEARCH_PARAMS[rtype]}


# --- Values: tokens, references, dates ----------------------------------------------------------


def _walk(node: Any, path: Sequence[str]) -> Iterator[Any]:
    if not path:
        if isinstance(node, list):
            yield from node
        elif node is not None:
            yield node
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, path)
        return
    if isinstance(node, Mapping):
        yield from _walk(node.get(path[0]), path[1:])


def values(resource: Mapping[str, Any], param: Param) -> list[Any]:
    out: list[Any] = []
    for path in param.paths:
        out.extend(_walk(resource, path.split(".")))
    return out


def _token_pairs(value: Any) -> list[tuple[str | None, str]]:
    """(system, code) pairs of a code, Coding, CodeableConcept or Identifier value."""
    if isinstance(value, str):
        return [(None, value)]
    if not isinstance(value, Mapping):
        return []
    if isinstance(value.get("coding"), list):
        return [p for c in value["coding"] for p in _token_pairs(c)]
    code = value.get("code", value.get("value"))
    if isinstance(code, str):
        system = value.get("system")
        return [(system if isinstance(system, str) else None, code)]
    return []


def token_matches(value: Any, wanted: str) -> bool:
    """FHIR token search: `code`, `system|code`, `|code` (no system), `system|` (any code)."""
    if "|" not in wanted:
        return any(code == wanted for _system, code in _token_pairs(value))
    system, _, code = wanted.partition("|")
    for s, c in _token_pairs(value):
        if system and s != system:
            continue
        if not system and s is not None:
            continue
        if code and c != code:
            continue
        return True
    return False


_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


def date_range(value: str) -> tuple[dt.datetime, dt.datetime]:
    """The half-open range [start, end) a FHIR date, dateTime or instant stands for, at its
    precision (2024 is the whole year). Times without an offset are taken as UTC."""
    m = _DATE.match(value)
    if m is None:
        raise ValueError(f"{value!r} is not a FHIR date")
    y = int(m["y"])
    try:
        if m["m"] is None:
            return _utc(y, 1, 1), _utc(y + 1, 1, 1)
        mo = int(m["m"])
        if m["d"] is None:
            start = _utc(y, mo, 1)
            return start, _utc(y + (mo == 12), mo % 12 + 1, 1)
        day = int(m["d"])
        if m["H"] is None:
            start = _utc(y, mo, day)
            return start, start + dt.timedelta(days=1)
        tz = dt.UTC
        if m["tz"] and m["tz"] != "Z":
            sign = 1 if m["tz"][0] == "+" else -1
            hours, minutes = int(m["tz"][1:3]), int(m["tz"][4:6])
            tz = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        start = dt.datetime(y, mo, day, int(m["H"]), int(m["M"]), int(m["S"] or 0), tzinfo=tz)
    except ValueError:
        raise ValueError(f"{value!r} is not a FHIR date") from None
    step = dt.timedelta(seconds=1) if m["S"] is not None else dt.timedelta(minutes=1)
    return start, start + step


def _utc(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=dt.UTC)


def _target_range(value: Any) -> tuple[dt.datetime, dt.datetime] | None:
    if isinstance(value, str):
        try:
            return date_range(value)
        except ValueError:
            return None
    if isinstance(value, Mapping):  # a Period: open ends are unbounded
        start = _target_range(value.get("start")) if value.get("start") else None
        end = _target_range(value.get("end")) if value.get("end") else None
        low = start[0] if start else dt.datetime.min.replace(tzinfo=dt.UTC)
        high = end[1] if end else dt.datetime.max.replace(tzinfo=dt.UTC)
        return low, high
    return None


def parse_date_param(expr: str) -> tuple[str, tuple[dt.datetime, dt.datetime]]:
    prefix, value = (expr[:2], expr[2:]) if expr[:2] in _PREFIXES else ("eq", expr)
    if expr[:2] == "ap":
        raise ValueError("the prefix ap (approximately) is not supported")
    return prefix, date_range(value)


def date_matches(value: Any, prefix: str, search: tuple[dt.datetime, dt.datetime]) -> bool:
    """FHIR date search (R4 3.1.1.5.5): ranges compared at the precision of each side."""
    target = _target_range(value)
    if target is None:
        return False
    (s0, s1), (t0, t1) = search, target
    contains = s0 <= t0 and t1 <= s1
    if prefix == "eq":
        return contains
    if prefix == "ne":
        return not contains
    if prefix == "gt":
        return t1 > s1
    if prefix == "lt":
        return t0 < s0
    if prefix == "ge":
        return t1 > s1 or contains
    if prefix == "le":
        return t0 < s0 or contains
    if prefix == "sa":
        return t0 >= s1
    return t1 <= s0  # eb


def reference_id(value: str, rtype: str = "Patient") -> str:
    """The id of `id`, `Patient/id` or `http(s)://.../Patient/id`."""
    value = value.split("/_history/")[0]
    if "/" not in value:
        return value
    parts = value.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == rtype:
        return parts[-1]
    return ""  # a reference to another type: matches nothing


# --- Parsed searches ----------------------------------------------------------------------------


@dataclass
class Criterion:
    name: str
    param: Param
    alternatives: list[Any]  # OR within one parameter; separate criteria are AND

    def matches(self, resource: Mapping[str, Any]) -> bool:
        found = values(resource, self.param)
        for alt in self.alternatives:
            if self.param.kind == "token" and any(token_matches(v, alt) for v in found):
                return True
            if self.param.kind == "date" and any(date_matches(v, *alt) for v in found):
                return True
            if self.param.kind == "reference":
                for v in found:
                    ref = v.get("reference") if isinstance(v, Mapping) else None
                    if isinstance(ref, str) and reference_id(ref) == alt:
                        return True
        return False


@dataclass
class Search:
    rtype: str
    criteria: list[Criterion] = field(default_factory=list)
    used: list[tuple[str, str]] = field(default_factory=list)  # for the self link
    ignored: list[str] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    cursor: str | None = None
    before: str | None = None

    def patient_ids(self) -> set[str] | None:
        """The FHIR Patient ids the search is limited to (None: not limited)."""
        out: set[str] | None = None
        for c in self.criteria:
            by_subject = c.param.kind == "reference" and c.name in ("patient", "subject")
            if not (by_subject or (self.rtype == "Patient" and c.name == "_id")):
                continue
            ids = {str(a) for a in c.alternatives}
            out = ids if out is None else out & ids
        return out

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return resource.get("resourceType") == self.rtype and all(
            c.matches(resource) for c in self.criteria
        )


NOT_AN_ID = "not a FHIR id (letters, digits, '-' and '.', at most 64)"


class NotAnId(SearchError):
    """A patient or resource id that cannot be one: refused and audited as a probe."""


def parse(rtype: str, query: Sequence[tuple[str, str]], *, strict: bool) -> Search:
    """A search of `rtype` from its query parameters (repeated names kept)."""
    known = params_of(rtype)
    search = Search(rtype)
    for name, raw in query:
        if name in CONTROL:
            _control(search, name, raw)
            continue
        base, _, modifier = name.partition(":")
        param = known.get(base)
        if param is None or (
            modifier and not (param.kind == "reference" and modifier == "Patient")
        ):
            if strict:
                what = "modifier" if param is not None else "parameter"
                raise SearchError(name, f"unknown search {what} for {rtype}")
            search.ignored.append(name)
            continue
        alternatives: list[Any] = []
        for value in raw.split(","):
            if value == "":
                raise SearchError(name, "an empty value")
            if param.kind == "date":
                try:
                    alternatives.append(parse_date_param(value))
                except ValueError as exc:
                    raise SearchError(name, str(exc)) from None
            elif param.kind == "reference":
                rid = reference_id(value)
                if rid and not is_fhir_id(rid):
                    # Refused before any query: a NUL byte or a 300-character "id" is not an id,
                    # and PostgreSQL refuses NUL in text with an error, not an empty answer.
                    raise NotAnId(name, NOT_AN_ID)
                alternatives.append(rid)
            elif base == "_id" and not is_fhir_id(value):
                raise NotAnId(name, NOT_AN_ID)
            else:
                alternatives.append(value)
        search.criteria.append(Criterion(base, param, alternatives))
        search.used.append((name, raw))
    return search


def _control(search: Search, name: str, raw: str) -> None:
    if name == "_count":
        if not raw.isdigit():
            raise SearchError("_count", "must be a whole number")
        search.count = min(int(raw), MAX_COUNT)
    elif name == "_cursor":
        search.cursor = raw
    elif name == "_before":
        search.before = raw
    elif name == "_format" and raw not in ("json", "application/fhir+json", "application/json"):
        raise SearchError("_format", "only JSON is served")


# --- Reading the records ------------------------------------------------------------------------


def _last_updated(s: Session, patient: t.Patient) -> str:
    latest = s.scalar(select(func.max(t.Entry.created_at)).where(t.Entry.patient_id == patient.id))
    moments = [m for m in (patient.updated_at, patient.created_at, latest) if m is not None]
    moment = max(m if m.tzinfo else m.replace(tzinfo=dt.UTC) for m in moments)
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _with_our_details(resource: Json, patient: t.Patient, mrn_system: str | None) -> Json:
    """The Patient as this server knows it: its name and MRN (not in the clinical record)."""
    if resource.get("resourceType") != "Patient":
        return resource
    out = dict(resource)
    idents = list(out.get("identifier") or [])
    if mrn_system and patient.mrn:
        idents.append(
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                        }
                    ]
                },
                "system": mrn_system,
                "value": patient.mrn,
            }
        )
    out["identifier"] = idents
    # The display name is free text: not split into given and family names (that would be a
    # guess), so US Core's data-absent-reason says the parts are not known.
    out["name"] = [
        {
            "text": patient.display_name,
            "extension": [{"url": DAR, "valueCode": "unknown"}],
        }
    ]
    return out


def _resources(
    db: Database, s: Session, patient: t.Patient, rtype: str, mrn_system: str | None
) -> list[Json]:
    """The patient's resources of `rtype`, as exported, with meta.lastUpdated."""
    if rtype == "Patient":  # the profile alone: no need to read the record's entries
        record = record_from(patient.id, patient.profile, [])
        found = [r for r in _export(record) if r["resourceType"] == "Patient"]
    else:
        slot = repo.cached_record(s, db.records, patient)
        exported = slot.memo("fhir-resources", lambda: _export(slot.record))
        found = [r for r in exported if r["resourceType"] == rtype]
    updated = _last_updated(s, patient)
    out = []
    for r in found:
        r = _with_our_details(r, patient, mrn_system)
        out.append({**r, "meta": {**(r.get("meta") or {}), "lastUpdated": updated}})
    return sorted(out, key=lambda r: str(r["id"]))  # the order pages are cut in (by id)


def _export(record: Any) -> list[Json]:
    return [e["resource"] for e in record_to_fhir(record)["entry"]]


def _readable(access: Access, patient: t.Patient, rtype: str) -> bool:
    if not care.may_access(access.user, patient):
        return False
    bound = access.bound_to(rtype)
    return bound is None or bound == patient.fhir_id


def read(
    db: Database, access: Access, rtype: str, rid: str, *, mrn_system: str | None = None
) -> Json | None:
    """One resource by type and id; None when it does not exist or is not the caller's (the
    same answer). Costs one patient: the one the id names."""
    if not is_fhir_id(rid):
        _denied(db, access, None, f"read fhir {rtype}: {NOT_AN_ID}")
        return None
    what = f"read fhir {rtype}/{rid}"
    with db.transaction() as s:
        patient = store.patient_by_fhir_id(s, patient_of(rid))
        if patient is None or not access.may_read(rtype) or not _readable(access, patient, rtype):
            # Unknown and not yours get the same answer, and both are written down (probing ids).
            _denied(db, access, patient.id if patient else None, what)
            return None
        repo.audit(
            s, user=access.user, action="read", what=f"{what} ({access.via})", patient_id=patient.id
        )
        for resource in _resources(db, s, patient, rtype, mrn_system):
            if resource["id"] == rid:
                return resource
    return None


def refused_search(db: Database, access: Access, rtype: str, error: NotAnId) -> None:
    _denied(db, access, None, f"search fhir {rtype}: {error.param} {NOT_AN_ID}")


def _denied(db: Database, access: Access, patient_id: str | None, what: str) -> None:
    with db.transaction() as s:
        repo.audit(
            s,
            user=access.user,
            action="denied",
            what=f"{what} ({access.via})",
            patient_id=patient_id,
            allowed=False,
        )


@dataclass
class Page:
    resources: list[Json]
    next_cursor: str | None  # the last id of this page, when more follow
    previous_before: str | None  # the first id of this page, when some come before
    total: int | None  # when known without reading more patients than the page did


def _candidate_patients(s: Session, access: Access, search: Search) -> list[t.Patient]:
    """The patients a search may read, in FHIR-id order (before paging)."""
    wanted = search.patient_ids()
    bound = access.bound_to(search.rtype)
    if bound is not None:
        wanted = {bound} if wanted is None else wanted & {bound}
    if search.rtype == "Patient":
        wanted = _patients_by_identifier(s, search, wanted)
    if wanted is not None:
        found = [store.patient_by_fhir_id(s, pid) for pid in sorted(wanted)]
        return [p for p in found if p is not None]
    user = access.user
    if user.role == "admin":
        return store.patients_of(s, None)
    if user.role == "clinician" and user.team_id is not None:
        return store.patients_of(s, user.team_id)
    if user.role == "patient" and user.patient_id:
        own = s.get(t.Patient, user.patient_id)
        return [own] if own is not None else []
    return []


def _patients_by_identifier(s: Session, search: Search, wanted: set[str] | None) -> set[str] | None:
    """Narrow a Patient search by its identifier criteria with an indexed lookup (MRN or our
    record id), so `Patient?identifier=X` reads only X's patient, never every patient."""
    for c in search.criteria:
        if c.name != "identifier":
            continue
        ids: set[str] = set()
        for alt in c.alternatives:
            _system, _, value = str(alt).rpartition("|")
            value = value if "|" in str(alt) else str(alt)
            for patient in (store.patient_by_mrn(s, value), s.get(t.Patient, value)):
                if patient is not None and patient.fhir_id:
                    ids.add(patient.fhir_id)
        wanted = ids if wanted is None else wanted & ids
    return wanted


def search(db: Database, access: Access, q: Search, *, mrn_system: str | None = None) -> Page:
    """One page of matches, reading patients in FHIR-id order only until the page is full."""
    if not access.may_search(q.rtype):
        return Page([], None, None, 0)
    backwards = q.before is not None and q.cursor is None
    with db.transaction() as s:
        patients = _candidate_patients(s, access, q)
        if backwards:
            assert q.before is not None
            limit = patient_of(q.before)
            patients = [p for p in reversed(patients) if (p.fhir_id or "") <= limit]
        elif q.cursor is not None:
            limit = patient_of(q.cursor)
            patients = [p for p in patients if (p.fhir_id or "") >= limit]
        found: list[Json] = []
        scanned_all = True
        for patient in patients:
            if not _readable(access, patient, q.rtype):
                _denied(db, access, patient.id, f"search fhir {q.rtype}")
                continue
            matches = [r for r in _resources(db, s, patient, q.rtype, mrn_system) if q.matches(r)]
            if backwards:
                assert q.before is not None
                matches = [r for r in matches if r["id"] < q.before][::-1]
            elif q.cursor is not None:
                matches = [r for r in matches if r["id"] > q.cursor]
            if not matches:
                continue
            repo.audit(
                s,
                user=access.user,
                action="read",
                what=f"search fhir {q.rtype} ({access.via})",
                patient_id=patient.id,
            )
            found.extend(matches)
            if len(found) > q.count:
                scanned_all = False
                break
    more = len(found) > q.count
    page = found[: q.count]
    if backwards:
        page = page[::-1]
        return Page(
            page, page[-1]["id"] if page else None, page[0]["id"] if more and page else None, None
        )
    first_page = q.cursor is None
    total = len(found) if (scanned_all and first_page) else None
    next_cursor = page[-1]["id"] if more and page else None
    previous = page[0]["id"] if (not first_page and page) else None
    return Page(page, next_cursor, previous, total)


# --- Bundles ------------------------------------------------------------------------------------


def link(base: str, rtype: str, used: Sequence[tuple[str, str]], **control: str | int) -> str:
    query = [*used, *((k, str(v)) for k, v in control.items())]
    return f"{base}/{rtype}" + (f"?{urllib.parse.urlencode(query)}" if query else "")


def bundle(base: str, q: Search, page: Page) -> Json:
    """The searchset Bundle of a page, with self, next and previous links; ignored parameters
    are left out of the self link and named in an OperationOutcome entry."""
    links = [{"relation": "self", "url": _self(base, q)}]
    if page.next_cursor is not None:
        links.append(
            {
                "relation": "next",
                "url": link(base, q.rtype, q.used, _count=q.count, _cursor=page.next_cursor),
            }
        )
    if page.previous_before is not None:
        links.append(
            {
                "relation": "previous",
                "url": link(base, q.rtype, q.used, _count=q.count, _before=page.previous_before),
            }
        )
    entries: list[Json] = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in page.resources
    ]
    if q.ignored:
        entries.append(
            {
                "resource": outcome(
                    "warning",
                    "not-supported",
                    "search parameters ignored (not supported by this server): "
                    + ", ".join(q.ignored),
                ),
                "search": {"mode": "outcome"},
            }
        )
    out: Json = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "link": links,
        "entry": entries,
    }
    if page.total is not None:
        out["total"] = page.total
    if not entries:
        del out["entry"]
    return out


def _self(base: str, q: Search) -> str:
    control: dict[str, str | int] = {"_count": q.count}
    if q.cursor is not None:
        control["_cursor"] = q.cursor
    elif q.before is not None:
        control["_before"] = q.before
    return link(base, q.rtype, q.used, **control)


def outcome(severity: str, code: str, text: str) -> Json:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text}],
    }
