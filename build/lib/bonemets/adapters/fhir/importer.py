"""FHIR R4 resources -> patient records, grouped by patient.

Plain dicts in, validated ``Record`` out. The per-resource path is a dict walk plus the record's own
pydantic model for the entry it makes (so a bad value is refused naming the resource). A malformed
resource refuses its whole patient (no half import); other patients go on. Resources of types or
codes the record has no place for are skipped and counted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from bonemets.adapters.fhir.codes import (
    CONDITION_VERIFICATION,
    CS_AGENT,
    CS_CONDITION,
    CS_DENTAL_OUTCOME,
    CS_DENTAL_PROCEDURE,
    CS_IMAGING_FINDING,
    CS_IMAGING_MODALITY,
    CS_LESION_FIELD,
    CS_LESION_VALUE,
    CS_OBSERVATION,
    CS_RECEPTOR_STATUS,
    CS_ROUTE,
    CS_SKELETAL_SITE,
    CS_SUPPLEMENT,
    CS_TREATMENT,
    EXT_INVASIVE,
    EXT_PRIMARY_SITE,
    ID_LESION,
    ID_RECORD,
    QUESTIONNAIRE_SYMPTOMS,
    Tables,
    tables,
)
from bonemets.core.errors import InputError
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
    Treatment,
    Weight,
)
from bonemets.core.units import ANALYTES, convert

Json = dict[str, Any]
M = TypeVar("M", bound=BaseModel)

_DATE = re.compile(r"^(\d{4})(-(\d{2})(-(\d{2}))?)?")
_DATETIME_REST = re.compile(r"^(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")
_SKIP_STATUS = frozenset({"entered-in-error", "cancelled"})
_PATIENT_FIELDS = ("subject", "patient")
_HANDLED = frozenset(
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
_PERIOD_WEEKS = {"d": 1 / 7, "wk": 1.0, "mo": 52 / 12, "a": 52.0, "h": 1 / 168}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A resource that could not be read, and the patient it took down with it."""

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


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _make(model: type[M], data: Json) -> M:
    try:
        # model_validate without its Python wrapper: called for every entry of every patient.
        return cast(M, model.__pydantic_validator__.validate_python(data))
    except ValidationError as exc:
        raise Refused(f"{model.__name__}: {_validation_reason(exc)}") from None
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


def _codings(cc: Any) -> list[Json]:
    if not isinstance(cc, dict):
        return []
    codings = cc.get("coding")
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def _code_in(cc: Any, system: str) -> str | None:
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


_NUMBER = (int, float)


def _codes_in(cc: Any, own: str, other: str) -> tuple[str | None, str | None]:
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


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        raise Refused(f"{what} is not a number: {value!r}")
    return float(value)


def _status(res: Json) -> str | None:
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


def _patient_ref(res: Json, seen: dict[str, str] | None = None) -> str:
    """The patient a resource belongs to. `seen` remembers reference texts already read: most
    resources of a patient carry the same one."""
    for name in _PATIENT_FIELDS:
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


class _Patient:
    """Collects one patient's entries; `build()` makes the Record."""

    def __init__(self, key: str, t: Tables, meds: dict[str, Json], notes: list[str]) -> None:
        self.key = key
        self.t = t
        self.meds = meds
        self.notes = notes
        self.record_id = key
        self.birth_date: dt.date | None = None
        self.sex: str | None = None
        self.cancer_seen = False
        self.cancer: Json = {}
        self.bone_mets: list[tuple[bool | None, dt.date | None, list[str]]] = []
        self.lists: dict[str, list[Any]] = {
            k: []
            for k in (
                "weights",
                "heights",
                "lesions",
                "labs",
                "bma_doses",
                "bma_plans",
                "dental_exams",
                "dental_procedures",
                "imaging",
                "supplements",
                "conditions",
                "treatments",
                "symptom_reports",
            )
        }
        self.extra_imaging: list[tuple[str, Imaging]] = []
        self.receptors: dict[str, tuple[dt.date | None, str]] = {}

    def note(self, text: str) -> None:
        self.notes.append(f"patient {self.record_id}: {text}")

    # --- Patient ---------------------------------------------------------------------------------

    def patient(self, res: Json) -> bool:
        for ident in res.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("system") == ID_RECORD:
                value = ident.get("value")
                if isinstance(value, str):
                    self.record_id = value
        gender = res.get("gender")
        if gender in ("female", "male"):
            self.sex = gender
        elif gender is not None and gender not in ("other", "unknown"):
            raise Refused(f"gender {gender!r} is not a FHIR administrative gender")
        birth = res.get("birthDate")
        if birth is not None:
            if isinstance(birth, str) and re.fullmatch(r"\d{4}(-\d{2})?", birth):
                self.note(f"birthDate {birth!r} is partial: birth date left unknown")
            else:
                self.birth_date = parse_date(birth, "birthDate")
        return True

    # --- Observation -----------------------------------------------------------------------------

    def observation(self, res: Json) -> bool:
        if _status(res) in _SKIP_STATUS:
            return False
        t = self.t
        code = res.get("code")
        codings = code.get("coding") if isinstance(code, dict) else None
        if not isinstance(codings, list):
            return False
        loinc = t.systems["loinc"]
        for c in codings:
            if not isinstance(c, dict):
                continue
            system, value = c.get("system"), c.get("code")
            if system == loinc:
                if value in t.labs_by_loinc:
                    return self.lab(res, t.labs_by_loinc[value].analyte)
                if value in t.vitals_by_loinc:
                    return self.vital(res, *t.vitals_by_loinc[value])
                if value in t.receptor_by_loinc:
                    return self.receptor(res, t.receptor_by_loinc[value])
            elif system == CS_OBSERVATION and value == "bone-lesion":
                return self.lesion(res)
            elif (
                isinstance(system, str)
                and isinstance(value, str)
                and t.conditions.get((system, value)) == "bone_metastasis"
            ):
                return self.metastasis_finding(res)
        return False

    def metastasis_finding(self, res: Json) -> bool:
        """An Observation coded as a bone metastasis whose value is the skeletal site (how a
        Synthea module, which cannot put a body site on a condition, records where it is):
        read as a bone-metastasis condition at that site, dated by the observation."""
        site = self.site(res.get("valueCodeableConcept")) or self.site(res.get("bodySite"))
        if site is None:
            # The finding still says bone metastases are present: keep that, without a lesion.
            self.note(f"Observation/{res.get('id')}: bone metastasis site not placed in a region")
        self.bone_mets.append((True, self._effective(res), [site] if site else []))
        self.cancer_seen = True
        return True

    def _effective(self, res: Json) -> dt.date:
        if "effectiveDateTime" in res:
            return parse_date(res["effectiveDateTime"], "effectiveDateTime")
        period = res.get("effectivePeriod")
        if isinstance(period, dict) and "start" in period:
            return parse_date(period["start"], "effectivePeriod.start")
        if "effectiveInstant" in res:
            return parse_date(res["effectiveInstant"], "effectiveInstant")
        raise Refused("no effective date")

    def _quantity(self, q: Any, what: str) -> tuple[float, str | None]:
        if not isinstance(q, dict):
            raise Refused(f"{what} is not a Quantity")
        value = q.get("value")
        if isinstance(value, bool) or not isinstance(value, _NUMBER):
            raise Refused(f"{what}.value is not a number: {value!r}")
        unit = q.get("code")
        if not isinstance(unit, str):
            unit = q.get("unit")
        return float(value), unit if isinstance(unit, str) else None

    def _lab_unit(self, unit: str | None, what: str) -> str:
        if unit is None:
            raise Refused(f"{what} has no unit")
        return self.t.ucum_lab_units.get(unit, unit)

    def lab(self, res: Json, analyte: str) -> bool:
        q = res.get("valueQuantity")
        if q is None:
            self.note(f"Observation/{res.get('id')}: {analyte} has no valueQuantity; skipped")
            return False
        if isinstance(q, dict) and q.get("comparator") is not None:
            self.note(
                f"Observation/{res.get('id')}: {analyte} {q.get('comparator')}{q.get('value')} "
                "is a bound, not a value; skipped"
            )
            return False
        value, raw_unit = self._quantity(q, "valueQuantity")
        unit = self._lab_unit(raw_unit, "valueQuantity")
        data: Json = {
            "code": analyte,
            "unit": unit,
            "value": value,
            "date": self._effective(res),
        }
        ranges = res.get("referenceRange")
        if isinstance(ranges, list) and ranges and isinstance(ranges[0], dict):
            for key, name in (("low", "lower_limit"), ("high", "upper_limit")):
                if key in ranges[0]:
                    limit, limit_unit = self._quantity(ranges[0][key], f"referenceRange.{key}")
                    lu = self._lab_unit(limit_unit or raw_unit, f"referenceRange.{key}")
                    if lu != unit:
                        if analyte not in ANALYTES:
                            raise Refused(f"referenceRange.{key} unit {lu!r} differs from {unit!r}")
                        try:
                            limit = convert(analyte, limit, lu, unit)
                        except InputError as exc:
                            raise Refused(f"referenceRange.{key}: {exc.message}") from None
                    data[name] = limit
        self.lists["labs"].append(_make(Lab, data))
        return True

    def vital(self, res: Json, kind: str, units: dict[str, float]) -> bool:
        q = res.get("valueQuantity")
        if q is None:
            return False
        value, unit = self._quantity(q, "valueQuantity")
        if unit not in units:
            raise Refused(f"{kind} unit {unit!r} is not one of {sorted(units)}")
        date = self._effective(res)
        if kind == "weight":
            self.lists["weights"].append(_make(Weight, {"date": date, "kg": value * units[unit]}))
        else:
            self.lists["heights"].append(_make(Height, {"date": date, "cm": value * units[unit]}))
        return True

    def receptor(self, res: Json, receptor: str) -> bool:
        cc = res.get("valueCodeableConcept")
        value = _code_in(cc, CS_RECEPTOR_STATUS)
        if value is None:
            for c in _codings(cc):
                key = (c.get("system"), c.get("code"))
                if key in self.t.receptor_values:
                    value = self.t.receptor_values[key]
                    break
        if value is None:
            self.note(f"Observation/{res.get('id')}: {receptor} value not recognised; skipped")
            return False
        date = None
        if any(k in res for k in ("effectiveDateTime", "effectivePeriod", "effectiveInstant")):
            date = self._effective(res)
        old = self.receptors.get(receptor)
        if old is None or (date is not None and (old[0] is None or date >= old[0])):
            self.receptors[receptor] = (date, value)
        self.cancer_seen = True
        return True

    def site(self, cc: Any) -> str | None:
        site, snomed = _codes_in(cc, CS_SKELETAL_SITE, self.t.systems["snomed"])
        if site is not None:
            return site
        if snomed is not None:
            return self.t.sites_by_snomed.get(snomed)
        return None

    def lesion(self, res: Json) -> bool:
        site = self.site(res.get("bodySite"))
        if site is None:
            raise Refused("bone lesion without a recognised bodySite")
        data: Json = {"date": self._effective(res), "site": site}
        for ident in res.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("system") == ID_LESION:
                data["id"] = ident.get("value")
        sins: Json | None = None
        for comp in res.get("component") or []:
            name = _code_in(comp.get("code"), CS_LESION_FIELD)
            coded = _code_in(comp.get("valueCodeableConcept"), CS_LESION_VALUE)
            if name == "type":
                data["type"] = coded
            elif name == "mirels-pain":
                data["pain"] = coded
            elif name == "size-fraction":
                data["size_fraction"] = self._quantity(comp.get("valueQuantity"), name)[0]
            elif name == "sins-recorded":
                sins = sins if sins is not None else {}
            elif name is not None and name.startswith("sins-"):
                sins = sins if sins is not None else {}
                sins[name.removeprefix("sins-")] = coded
        if sins is not None:
            data["sins"] = sins
        self.lists["lesions"].append(_make(Lesion, data))
        return True

    # --- Condition -------------------------------------------------------------------------------

    def concept(self, cc: Any) -> str | None:
        own = _code_in(cc, CS_CONDITION)
        if own is not None:
            return "primary_cancer" if own == "primary-cancer" else own
        for c in _codings(cc):
            key = (c.get("system"), c.get("code"))
            if key in self.t.conditions:
                return self.t.conditions[key]
            code = c.get("code")
            if isinstance(code, str):
                for system, prefix, concept in self.t.condition_prefixes:
                    if c.get("system") == system and code.startswith(prefix):
                        return concept
        return None

    def _onset(self, res: Json) -> dt.date | None:
        if "onsetDateTime" in res:
            return parse_date(res["onsetDateTime"], "onsetDateTime")
        period = res.get("onsetPeriod")
        if isinstance(period, dict) and "start" in period:
            return parse_date(period["start"], "onsetPeriod.start")
        if "recordedDate" in res:
            return parse_date(res["recordedDate"], "recordedDate")
        return None

    def condition(self, res: Json) -> bool:
        verification = _code_in(res.get("verificationStatus"), CONDITION_VERIFICATION)
        if verification == "entered-in-error":
            return False
        concept = self.concept(res.get("code"))
        profiles = (res.get("meta") or {}).get("profile") or []
        if concept is None and self.t.profiles["primary_cancer_condition"] in profiles:
            concept = "primary_cancer"
        if concept in ("primary_cancer", "breast_cancer"):
            if verification == "refuted":
                return False
            site = None
            for ext in res.get("extension") or []:
                if isinstance(ext, dict) and ext.get("url") == EXT_PRIMARY_SITE:
                    site = ext.get("valueString")
            if site is None and concept == "breast_cancer":
                site = "breast"
            if site is not None:
                self.cancer["primary_site"] = site
            self.cancer_seen = True
            return True
        if concept == "bone_metastasis":
            present = {"refuted": False, "unconfirmed": None, "provisional": None}.get(
                verification or "", True
            )
            if verification == "differential":
                present = None
            sites = []
            for cc in res.get("bodySite") or []:
                site = self.site(cc)
                if site is None:
                    self.note(f"Condition/{res.get('id')}: bodySite not placed in a region")
                else:
                    sites.append(site)
            self.bone_mets.append((present, self._onset(res), sites))
            self.cancer_seen = True
            return True
        if concept in ("heart_failure", "pregnancy", "dialysis"):
            if verification == "refuted":
                return False
            date = self._onset(res)
            if date is None:
                raise Refused(f"{concept}: no onset or recorded date")
            data: Json = {"code": concept, "date": date}
            if "abatementDateTime" in res:
                data["resolved"] = parse_date(res["abatementDateTime"], "abatementDateTime")
            elif isinstance(res.get("abatementPeriod"), dict) and "end" in res["abatementPeriod"]:
                data["resolved"] = parse_date(res["abatementPeriod"]["end"], "abatementPeriod.end")
            else:
                status = _code_in(
                    res.get("clinicalStatus"),
                    "http://terminology.hl7.org/CodeSystem/condition-clinical",
                )
                if status in ("resolved", "inactive", "remission"):
                    self.note(f"Condition/{res.get('id')}: {concept} {status} without a date")
            self.lists["conditions"].append(_make(Condition, data))
            return True
        if concept is not None:
            self.note(f"Condition/{res.get('id')}: {concept} has no place in the record")
        return False

    # --- Medications -----------------------------------------------------------------------------

    def medication(self, res: Json) -> Any:
        if "medicationCodeableConcept" in res:
            return res["medicationCodeableConcept"]
        ref = res.get("medicationReference")
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            text = ref["reference"]
            if text.startswith("#"):
                for contained in res.get("contained") or []:
                    if isinstance(contained, dict) and contained.get("id") == text[1:]:
                        return contained.get("code")
            else:
                med = self.meds.get(text.rpartition("/")[2].removeprefix("urn:uuid:"))
                if med is not None:
                    return med.get("code")
            if isinstance(ref.get("display"), str):
                return {"text": ref["display"]}
        return None

    def _by_text(self, cc: Any, table: dict[str, str]) -> str | None:
        texts = [cc.get("text")] if isinstance(cc, dict) else []
        texts += [c.get("display") for c in _codings(cc)]
        for text in texts:
            if isinstance(text, str):
                low = text.lower()
                for needle, value in table.items():
                    if needle in low:
                        return value
        return None

    def agent(self, cc: Any) -> str | None:
        own, rx = _codes_in(cc, CS_AGENT, self.t.systems["rxnorm"])
        if own is not None:
            return own
        if rx is not None and rx in self.t.meds:
            return self.t.meds[rx]
        return self._by_text(cc, self.t.med_text)

    def route(self, cc: Any) -> str | None:
        if cc is None:
            return None
        own, snomed = _codes_in(cc, CS_ROUTE, self.t.systems["snomed"])
        if own is not None:
            return own
        if snomed is not None and snomed in self.t.routes:
            return self.t.routes[snomed]
        self.note(f"route {cc!r} not recognised: route left unknown")
        return None

    def medication_administration(self, res: Json) -> bool:
        agent = self.agent(self.medication(res))
        if agent is None or _status(res) not in ("completed", "in-progress", None):
            return False
        data: Json = {"agent": agent, "date": self._effective(res)}
        dosage = res.get("dosage")
        if isinstance(dosage, dict):
            if "dose" in dosage:
                value, unit = self._quantity(dosage["dose"], "dosage.dose")
                if unit not in ("mg", None):
                    raise Refused(f"dose unit {unit!r}: bone-modifying agent doses are in mg")
                data["dose"] = value
            data["route"] = self.route(dosage.get("route"))
        self.lists["bma_doses"].append(_make(BmaDose, data))
        return True

    def medication_request(self, res: Json) -> bool:
        agent = self.agent(self.medication(res))
        status = _status(res)
        if agent is None or status not in ("active", "completed", "on-hold", "stopped"):
            return False
        if "authoredOn" not in res:
            raise Refused("no authoredOn date")
        # A stopped *plan* authored on a day is a decision to stop on that day (how bonemets
        # writes one). A stopped *order* (Synthea writes every ended prescription so) says only
        # that it ended some time after it was authored: read as started then, never as a stop on
        # the day it began, which would silence every later due date.
        stop = status == "stopped" and res.get("intent") == "plan"
        if status == "stopped" and not stop:
            self.note(
                f"MedicationRequest/{res.get('id')}: {agent} order stopped on an unknown date; "
                "read as started on authoredOn"
            )
        data: Json = {
            "agent": agent,
            "date": parse_date(res["authoredOn"], "authoredOn"),
            "stop": stop,
        }
        instructions = res.get("dosageInstruction")
        if isinstance(instructions, list) and instructions and isinstance(instructions[0], dict):
            dosage = instructions[0]
            data["route"] = self.route(dosage.get("route"))
            repeat = (dosage.get("timing") or {}).get("repeat")
            if isinstance(repeat, dict) and "period" in repeat:
                period = _number(repeat["period"], "timing.repeat.period")
                unit = repeat.get("periodUnit")
                if unit not in _PERIOD_WEEKS:
                    raise Refused(f"timing.repeat.periodUnit {unit!r} not understood")
                frequency = _number(repeat.get("frequency", 1), "timing.repeat.frequency")
                # Exact for the weekly form bonemets writes (frequency 1 per n weeks).
                data["interval_weeks"] = period * _PERIOD_WEEKS[unit] / frequency
        self.lists["bma_plans"].append(_make(BmaPlan, data))
        return True

    def medication_statement(self, res: Json) -> bool:
        status = _status(res)
        if status in _SKIP_STATUS:
            return False
        cc = self.medication(res)
        treatment = _code_in(cc, CS_TREATMENT)
        if treatment is not None:
            return self.treatment(res, treatment, "effective")
        kind = _code_in(cc, CS_SUPPLEMENT)
        if kind is None:
            rx = _code_in(cc, self.t.systems["rxnorm"])
            kind = self.t.supplements.get(rx or "")
        agent = self.agent(cc)
        if agent is not None:
            if "effectiveDateTime" not in res:
                self.note(f"MedicationStatement/{res.get('id')}: {agent} without a dose date")
                return False
            date = parse_date(res["effectiveDateTime"], "effectiveDateTime")
            self.lists["bma_doses"].append(_make(BmaDose, {"agent": agent, "date": date}))
            return True
        if kind is None:
            kind = self._by_text(cc, self.t.supplement_text)
        if kind is None:
            return False
        return self.supplement(res, kind, status)

    def supplement(self, res: Json, kind: str, status: str | None) -> bool:
        if "dateAsserted" in res:
            date = parse_date(res["dateAsserted"], "dateAsserted")
        else:
            date = self._effective(res)
        active = {
            "active": True,
            "intended": True,
            "not-taken": False,
            "stopped": False,
            "completed": False,
            "on-hold": False,
        }.get(status or "")
        data: Json = {"date": date, "kind": kind, "active": active}
        data["unit"] = "mg" if kind == "calcium" else "IU"
        period = res.get("effectivePeriod")
        if isinstance(period, dict) and "end" in period:
            data["stopped"] = parse_date(period["end"], "effectivePeriod.end")
        dosages = res.get("dosage")
        if isinstance(dosages, list) and dosages and isinstance(dosages[0], dict):
            for dr in dosages[0].get("doseAndRate") or []:
                if isinstance(dr, dict) and "doseQuantity" in dr:
                    value, unit = self._quantity(dr["doseQuantity"], "doseQuantity")
                    if unit in ("[iU]", "[IU]", "IU"):
                        unit = "IU"
                    data["unit"] = unit
                    repeat = (dosages[0].get("timing") or {}).get("repeat") or {}
                    per_day = repeat.get("frequency", 1) if repeat.get("periodUnit") == "d" else 0
                    if repeat.get("period", 1) == 1 and per_day:
                        data["daily_amount"] = value * _number(per_day, "frequency")
                    else:
                        self.note(f"MedicationStatement/{res.get('id')}: not a daily dose")
        self.lists["supplements"].append(_make(Supplement, data))
        return True

    def treatment(self, res: Json, kind: str, prefix: str) -> bool:
        period = res.get(f"{prefix}Period")
        if isinstance(period, dict) and "start" in period:
            start = parse_date(period["start"], f"{prefix}Period.start")
        elif f"{prefix}DateTime" in res:
            start = parse_date(res[f"{prefix}DateTime"], f"{prefix}DateTime")
        else:
            raise Refused(f"{kind}: no start date")
        data: Json = {"kind": kind, "start": start}
        if isinstance(period, dict) and "end" in period:
            data["stop"] = parse_date(period["end"], f"{prefix}Period.end")
        self.lists["treatments"].append(_make(Treatment, data))
        return True

    # --- Procedures, imaging, symptom reports ----------------------------------------------------

    def _performed(self, res: Json) -> dt.date:
        if "performedDateTime" in res:
            return parse_date(res["performedDateTime"], "performedDateTime")
        period = res.get("performedPeriod")
        if isinstance(period, dict) and "start" in period:
            return parse_date(period["start"], "performedPeriod.start")
        raise Refused("no performed date")

    def modality(self, cc: Any) -> str | None:
        own = _code_in(cc, CS_IMAGING_MODALITY)
        if own is not None:
            return own
        for c in _codings(cc):
            key = (c.get("system"), c.get("code"))
            if key in self.t.imaging:
                return self.t.imaging[key]
        return None

    def procedure(self, res: Json) -> bool:
        if _status(res) in ("entered-in-error", "not-done", "preparation"):
            return False
        cc = res.get("code")
        t = self.t
        dental, snomed = _codes_in(cc, CS_DENTAL_PROCEDURE, t.systems["snomed"])
        invasive: bool | None = None
        if dental is None and snomed in t.dental:
            dental, invasive = t.dental[snomed]
        if dental == "exam":
            outcome = _code_in(res.get("outcome"), CS_DENTAL_OUTCOME)
            self.lists["dental_exams"].append(
                _make(DentalExam, {"date": self._performed(res), "outcome": outcome})
            )
            return True
        if dental is not None:
            for ext in res.get("extension") or []:
                if isinstance(ext, dict) and ext.get("url") == EXT_INVASIVE:
                    invasive = ext.get("valueBoolean")
            data = {"date": self._performed(res), "kind": dental, "invasive": invasive}
            self.lists["dental_procedures"].append(_make(DentalProcedure, data))
            return True
        modality = self.modality(cc)
        if modality is not None:
            finding = _code_in(res.get("outcome"), CS_IMAGING_FINDING)
            data = {"date": self._performed(res), "modality": modality, "finding": finding}
            self.lists["imaging"].append(_make(Imaging, data))
            return True
        kind = _code_in(cc, CS_TREATMENT)
        if kind is None:
            for c in _codings(cc):
                key = (c.get("system"), c.get("code"))
                if key in t.treatments:
                    kind = t.treatments[key]
        if kind is not None:
            return self.treatment(res, kind, "performed")
        return False

    def diagnostic_report(self, res: Json) -> bool:
        if _status(res) in _SKIP_STATUS:
            return False
        modality = self.modality(res.get("code"))
        if modality is None:
            return False
        date = self._effective(res) if "issued" not in res or "effectiveDateTime" in res else None
        if date is None:
            date = parse_date(res["issued"], "issued")
        finding = None
        for cc in res.get("conclusionCode") or []:
            finding = finding or _code_in(cc, CS_IMAGING_FINDING)
        img = _make(Imaging, {"date": date, "modality": modality, "finding": finding})
        self.extra_imaging.append(("DiagnosticReport", img))
        return True

    def imaging_study(self, res: Json) -> bool:
        if _status(res) in ("entered-in-error", "cancelled"):
            return False
        modality = None
        for cc in res.get("procedureCode") or []:
            modality = modality or self.modality(cc)
        if modality is None:
            codes = [m.get("code") for m in res.get("modality") or [] if isinstance(m, dict)]
            for series in res.get("series") or []:
                if isinstance(series, dict) and isinstance(series.get("modality"), dict):
                    codes.append(series["modality"].get("code"))
            for code in codes:
                if isinstance(code, str) and code in self.t.dicom:
                    modality = self.t.dicom[code]
                    break
        if modality is None:
            return False
        if "started" not in res:
            raise Refused("no started date")
        date = parse_date(res["started"], "started")
        img = _make(Imaging, {"date": date, "modality": modality})
        self.extra_imaging.append(("ImagingStudy", img))
        return True

    def questionnaire_response(self, res: Json) -> bool:
        if res.get("questionnaire") != QUESTIONNAIRE_SYMPTOMS or _status(res) in _SKIP_STATUS:
            return False
        if "authored" not in res:
            raise Refused("no authored date")
        symptoms: list[Json] = []
        free_text = None
        for item in res.get("item") or []:
            link = item.get("linkId")
            answers = item.get("answer") or [{}]
            if link == "free_text":
                free_text = answers[0].get("valueString")
            elif link == "symptom":
                answer = answers[0]
                code = (answer.get("valueCoding") or {}).get("code")
                symptom: Json = {"code": code}
                for sub in answer.get("item") or []:
                    name = sub.get("linkId")
                    values = sub.get("answer") or []
                    if not values:
                        continue
                    if name == "severity":
                        symptom["severity"] = values[0].get("valueInteger")
                    elif name == "duration_days":
                        symptom["duration_days"] = values[0].get("valueDecimal")
                    elif name == "trend":
                        symptom["trend"] = (values[0].get("valueCoding") or {}).get("code")
                    elif name == "site":
                        symptom["site"] = (values[0].get("valueCoding") or {}).get("code")
                    elif name == "features":
                        symptom["features"] = [
                            (v.get("valueCoding") or {}).get("code") for v in values
                        ]
                symptoms.append(symptom)
        data = {
            "date": parse_date(res["authored"], "authored"),
            "symptoms": symptoms,
            "free_text": free_text,
        }
        self.lists["symptom_reports"].append(_make(SymptomReport, data))
        return True

    # --- Build -----------------------------------------------------------------------------------

    def build(self) -> Record:
        lesions: list[Lesion] = self.lists["lesions"]
        covered: set[str] = {lesion.site for lesion in lesions}
        cancer: Cancer | None = None
        if self.cancer_seen:
            data = dict(self.cancer)
            for receptor, (_, value) in self.receptors.items():
                data[receptor] = value
            if self.bone_mets:
                states = [p for p, _, _ in self.bone_mets]
                present = True if True in states else (False if False in states else None)
                dates = [d for p, d, _ in self.bone_mets if p is present and d is not None]
                data["bone_metastases"] = present
                data["bone_metastases_date"] = min(dates) if dates else None
                # Earliest first: a site seen again later keeps the date it was first seen.
                by_date = sorted(self.bone_mets, key=lambda x: (x[1] is None, x[1] or dt.date.min))
                for p, d, sites in by_date:
                    for site in sites:
                        if p is not True or site in covered:
                            continue
                        if d is None:
                            self.note(f"bone metastasis at {site} has no date: no lesion made")
                            continue
                        lesions.append(_make(Lesion, {"date": d, "site": site}))
                        covered.add(site)
            cancer = _make(Cancer, data)
        images: list[Imaging] = self.lists["imaging"]
        seen = {(i.date, i.modality) for i in images}
        for source in ("DiagnosticReport", "ImagingStudy"):
            for kind, img in self.extra_imaging:
                if kind == source and (img.date, img.modality) not in seen:
                    images.append(img)
                    seen.add((img.date, img.modality))
        demographics = Demographics.model_construct(
            birth_date=self.birth_date,
            sex=self.sex,  # type: ignore[arg-type]
            weights=self.lists.pop("weights"),
            heights=self.lists.pop("heights"),
        )
        return Record.model_validate(
            {"id": self.record_id, "demographics": demographics, "cancer": cancer, **self.lists}
        )


_HANDLERS: dict[str, Callable[[_Patient, Json], bool]] = {
    "Observation": _Patient.observation,
    "Condition": _Patient.condition,
    "MedicationAdministration": _Patient.medication_administration,
    "MedicationRequest": _Patient.medication_request,
    "MedicationStatement": _Patient.medication_statement,
    "Procedure": _Patient.procedure,
    "DiagnosticReport": _Patient.diagnostic_report,
    "ImagingStudy": _Patient.imaging_study,
    "QuestionnaireResponse": _Patient.questionnaire_response,
}


def _validator() -> Callable[[Json], str | None]:
    """A function returning None or the reason `fhir.resources` (R4B) refuses a resource."""
    from fhir.resources.R4B import get_fhir_model_class

    def check(res: Json) -> str | None:
        try:
            model = get_fhir_model_class(res["resourceType"])
        except (KeyError, ValueError):
            return f"unknown resource type {res.get('resourceType')!r}"
        try:
            model.model_validate(res)
        except ValidationError as exc:
            return f"not valid FHIR R4B: {_validation_reason(exc)}"[:2000]
        return None

    return check


def fhir_to_records(resources: Iterable[Json], *, validate: bool = False) -> ImportResult:
    """Group FHIR R4 resources by patient and read each patient's record.

    Any order of resources is accepted. `validate=True` first checks every resource with the
    `fhir.resources` R4B models (slower; strict).
    """
    result = ImportResult()
    t = tables()
    check = _validator() if validate else None
    patients: dict[str, Json] = {}
    meds: dict[str, Json] = {}
    grouped: dict[str, list[Json]] = {}
    refused: dict[str, list[Refusal]] = {}
    counts = result.counts
    refs: dict[str, str] = {}  # reference text -> patient id

    def refuse(pid: str | None, rtype: str, res: Json, reason: str) -> None:
        rid = res.get("id") if isinstance(res.get("id"), str) else None
        refusal = Refusal(pid, rtype, rid, reason)
        result.refusals.append(refusal)
        result.count(rtype).refused += 1
        if pid is not None:
            refused.setdefault(pid, []).append(refusal)

    for res in resources:
        rtype = res.get("resourceType") if isinstance(res, dict) else None
        if not isinstance(rtype, str):
            result.count("(none)").read += 1
            refuse(None, "(none)", res if isinstance(res, dict) else {}, "no resourceType")
            continue
        c = counts.get(rtype)
        if c is None:
            c = counts[rtype] = TypeCounts()
        c.read += 1
        if check is not None and (rtype in _HANDLED or rtype in ("Patient", "Medication")):
            reason = check(res)
            if reason is not None:
                pid = None
                if rtype == "Patient":
                    pid = res.get("id") if isinstance(res.get("id"), str) else None
                else:
                    try:
                        pid = _patient_ref(res)
                    except Refused:
                        pid = None
                refuse(pid, rtype, res, reason)
                continue
        if rtype == "Patient":
            pid = res.get("id")
            if not isinstance(pid, str):
                refuse(None, rtype, res, "Patient without an id")
                continue
            patients[pid] = res
        elif rtype == "Medication":
            if isinstance(res.get("id"), str):
                meds[res["id"]] = res
            result.count(rtype).imported += 1
        elif rtype in _HANDLED:
            try:
                pid = _patient_ref(res, refs)
            except Refused as exc:
                refuse(None, rtype, res, exc.reason)
                continue
            group = grouped.get(pid)
            if group is None:
                grouped[pid] = [res]
            else:
                group.append(res)
        else:
            result.count(rtype).skipped += 1

    for pid in list(dict.fromkeys([*patients, *grouped])):
        builder = _Patient(pid, t, meds, result.notes)
        pres = patients.get(pid)
        if pres is not None:
            try:
                builder.patient(pres)
                result.count("Patient").imported += 1
            except Refused as exc:
                refuse(pid, "Patient", pres, exc.reason)
        else:
            result.notes.append(f"patient {pid}: no Patient resource; demographics unknown")
        for res in grouped.get(pid, ()):
            rtype = res["resourceType"]
            try:
                used = _HANDLERS[rtype](builder, res)
            except Refused as exc:
                refuse(pid, rtype, res, exc.reason)
                continue
            except (TypeError, AttributeError, KeyError) as exc:  # a shape we did not expect
                refuse(pid, rtype, res, f"malformed resource ({type(exc).__name__}: {exc})")
                continue
            if used:
                counts[rtype].imported += 1  # counted as read above
            else:
                counts[rtype].skipped += 1
        if pid in refused:
            reasons = refused[pid]
            first = reasons[0]
            result.refused_patients[builder.record_id] = (
                f"{len(reasons)} resource(s) refused; first: {first.resource_type}/"
                f"{first.resource_id}: {first.reason}"
            )
            continue
        try:
            record = builder.build()
        except Refused as exc:
            refuse(pid, "Patient", pres or {"id": pid}, exc.reason)
            result.refused_patients[builder.record_id] = exc.reason
            continue
        except ValidationError as exc:
            reason = _validation_reason(exc)
            refuse(pid, "Patient", pres or {"id": pid}, reason)
            result.refused_patients[builder.record_id] = reason
            continue
        if builder.record_id in result.records:
            reason = f"two patients share the record id {builder.record_id!r}"
            refuse(pid, "Patient", pres or {"id": pid}, reason)
            result.refused_patients[builder.record_id] = reason
            del result.records[builder.record_id]
            continue
        result.records[builder.record_id] = record
    return result
