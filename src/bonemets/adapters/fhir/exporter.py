"""Record -> FHIR R4 Bundle (type collection), lossless for everything the record holds.

Resource ids are derived from the record id, the kind of entry and its position, so the same
record always gives the same bundle. Every value is written with the standard code where a
verified one is known and, except where a profile forbids it, with a bonemets code, which the
importer reads first.

Profiles claimed (`meta.profile`), each only when the resource meets it (tests/fhir/
test_profiles.py checks them against the mCODE 4.0.0 and US Core 6.1.0 StructureDefinitions):
mCODE CancerPatient (US Core Patient), PrimaryCancerCondition and SecondaryCancerCondition (US
Core Condition Problems and Health Concerns), TumorMarkerTest (US Core Laboratory Result
Observation) for receptor results with a SNOMED CT value, CancerRelatedMedicationAdministration
and CancerRelatedMedicationRequest (US Core MedicationRequest) when the record names the cancer
they treat. What the record does not hold and a profile requires (a patient's name, a receptor
test's date, who asked for a plan) is written with the data-absent-reason extension, never made
up.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from functools import cache
from typing import Any

from bonemets.adapters.fhir.codes import (
    BASE,
    CONDITION_CLINICAL,
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
    CS_SYMPTOM,
    CS_SYMPTOM_FEATURE,
    CS_SYMPTOM_SITE,
    CS_SYMPTOM_TREND,
    CS_TREATMENT,
    EXT_INVASIVE,
    EXT_PRIMARY_SITE,
    ID_LESION,
    ID_RECORD,
    OBS_CATEGORY,
    QUESTIONNAIRE_SYMPTOMS,
    SYMPTOM_INTEGERS,
    Tables,
    tables,
)
from bonemets.core.knowledge import load
from bonemets.core.record import (
    BmaDose,
    BmaPlan,
    Condition,
    DentalExam,
    DentalProcedure,
    Imaging,
    Lab,
    Lesion,
    Record,
    Supplement,
    SymptomReport,
    Treatment,
)

Json = dict[str, Any]
_NAMESPACE = uuid.UUID("6f1c1f9e-3b9a-5d3e-9a51-bf0e2c7a4d10")
DRUG_TREATMENTS = frozenset(
    {"chemotherapy", "endocrine_therapy", "targeted_therapy", "immunotherapy", "opioid"}
)
_LABELS = {
    "calcium_total": "Calcium (total)",
    "calcium_ionized": "Calcium (ionised)",
    "calcium_corrected": "Calcium (albumin-corrected)",
    "albumin": "Albumin",
    "creatinine": "Creatinine",
    "alkaline_phosphatase": "Alkaline phosphatase",
    "platelets": "Platelets",
    "haemoglobin": "Haemoglobin",
    "vitamin_d_25oh": "25-hydroxyvitamin D",
    "ca15_3": "CA 15-3",
    "ca27_29": "CA 27.29",
    "cea": "CEA",
}


def resource_id(record_id: str, kind: str, index: int | str = 0) -> str:
    """A stable FHIR id for entry `index` of `kind` of record `record_id`.

    The Patient (and the Bundle) get a UUID; every other resource `<patient id>.<26 characters>`
    (63 characters, within FHIR's 64): the id names its patient, so a server finds the one
    patient a read asks for (`patient_of`) without looking at any other.
    """
    digest = uuid.uuid5(_NAMESPACE, f"{record_id}\x1f{kind}\x1f{index}")
    if kind in ("patient", "bundle"):
        return str(digest)
    tail = base64.b32encode(digest.bytes).decode().rstrip("=").lower()
    return f"{patient_fhir_id(record_id)}.{tail}"


def patient_fhir_id(record_id: str) -> str:
    """The id of the record's FHIR Patient."""
    return resource_id(record_id, "patient")


def patient_of(fhir_id: str) -> str:
    """The FHIR Patient id a resource id of ours names (the id itself for a Patient)."""
    return fhir_id.partition(".")[0]


def _day(d: dt.date) -> str:
    return d.isoformat()


def _coding(system: str, code: str, display: str | None = None) -> Json:
    out: Json = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _cc(*codings: Json, text: str | None = None) -> Json:
    out: Json = {"coding": list(codings)}
    if text:
        out["text"] = text
    return out


def _ucum(t: Tables, value: float, unit: str) -> Json:
    return {"value": value, "unit": unit, "system": t.systems["ucum"], "code": unit}


DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
PQ_TRANSLATION = "http://hl7.org/fhir/StructureDefinition/iso21090-PQ-translation"
CONDITION_RELATED = "http://hl7.org/fhir/StructureDefinition/condition-related"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"


def _absent(reason: str = "unknown") -> Json:
    """A data-absent-reason extension: the record does not hold this."""
    return {"extension": [{"url": DAR, "valueCode": reason}]}


@cache
def _export_tables() -> dict[str, Any]:
    """The export-only tables of knowledge/fhir_codes.toml (the EHR-integration block)."""
    raw = load("fhir_codes")
    return {
        "products": list(raw.get("medication_product", [])),
        "primary_sites": dict(raw.get("primary_body_sites", {})),
        "mass_only": dict(raw.get("lab_mass_only", {})),
    }


def product_coding(agent: str, route: str | None, dose_mg: float | None) -> Json | None:
    """The RxNorm clinical drug of a dose (agent, route and dose in a product's range)."""
    if dose_mg is None:
        return None
    for p in _export_tables()["products"]:
        low, high = p["dose_mg"]
        if p["agent"] == agent and (route or p["route"]) == p["route"] and low <= dose_mg <= high:
            coding: Json = {"system": tables().systems["rxnorm"], "code": p["code"]}
            if p["display"]:
                coding["display"] = p["display"]
            return coding
    return None


def _problem_list_item() -> Json:
    return _cc(_coding(CONDITION_CATEGORY, "problem-list-item", "Problem List Item"))


def per_unit(analyte: str) -> dict[str, float]:
    """The analyte's units and their factors to its canonical unit (labs.toml)."""
    table: dict[str, float] = load("labs")["analytes"][analyte]["per_unit"]
    return table


class _Exporter:
    def __init__(self, record: Record) -> None:
        self.record = record
        self.t = tables()
        self.pid = resource_id(record.id, "patient")
        self.subject: Json = {"reference": f"Patient/{self.pid}"}
        self.entries: list[Json] = []
        self.primary_ref: Json | None = None
        self.secondary_ref: Json | None = None

    def add(self, resource: Json) -> None:
        url = f"{BASE}/{resource['resourceType']}/{resource['id']}"
        self.entries.append({"fullUrl": url, "resource": resource})

    def rid(self, kind: str, index: int | str = 0) -> str:
        return resource_id(self.record.id, kind, index)

    # --- Patient and cancer ---------------------------------------------------------------------

    def patient(self) -> None:
        demo = self.record.demographics
        profile = (
            self.t.profiles["cancer_patient"]
            if self.record.cancer is not None
            else f"{US_CORE}/us-core-patient"
        )
        res: Json = {
            "resourceType": "Patient",
            "id": self.pid,
            "meta": {"profile": [profile]},
            "identifier": [{"system": ID_RECORD, "value": self.record.id}],
            # The record holds no name (the app keeps a display name beside it): US Core's
            # data-absent-reason says so.
            "name": [_absent("unknown")],
            "gender": demo.sex or "unknown",
        }
        if demo.birth_date is not None:
            res["birthDate"] = _day(demo.birth_date)
        self.add(res)

    def cancer(self) -> None:
        cancer = self.record.cancer
        if cancer is None:
            return
        t = self.t
        pid = self.rid("primary-cancer")
        if cancer.primary_site == "breast":
            e = t.condition_export["breast_cancer"]
            code = _cc(
                _coding(e["system_url"], e["code"], e["display"]),
                _coding(CS_CONDITION, "primary-cancer", "Primary cancer"),
                text="Breast cancer",
            )
        else:
            code = _cc(
                _coding(CS_CONDITION, "primary-cancer", "Primary cancer"),
                text="Primary cancer"
                + (f" ({cancer.primary_site})" if cancer.primary_site else ", site not recorded"),
            )
        res: Json = {
            "resourceType": "Condition",
            "id": pid,
            "meta": {"profile": [t.profiles["primary_cancer_condition"]]},
            # A record with a cancer is the record of a patient with metastatic cancer.
            "clinicalStatus": _cc(_coding(CONDITION_CLINICAL, "active", "Active")),
            "verificationStatus": _cc(_coding(CONDITION_VERIFICATION, "confirmed", "Confirmed")),
            "category": [_problem_list_item()],
            "code": code,
            "subject": self.subject,
        }
        site = _export_tables()["primary_sites"].get(cancer.primary_site or "")
        if site is not None:
            res["bodySite"] = [
                _cc(
                    _coding(t.systems["snomed"], site["code"], site["display"]),
                    text=cancer.primary_site,
                )
            ]
        if cancer.primary_site:
            # The record's own (free-text) site, which the importer reads back; bodySite carries
            # the SNOMED CT body structure where one is verified.
            res["extension"] = [{"url": EXT_PRIMARY_SITE, "valueString": cancer.primary_site}]
        self.add(res)
        self.primary_ref = {"reference": f"Condition/{pid}"}
        for receptor in ("er", "pr", "her2"):
            value = getattr(cancer, receptor)
            if value is not None:
                self.receptor(receptor, value)
        if cancer.bone_metastases is not None or cancer.bone_metastases_date is not None:
            self.secondary(cancer.bone_metastases, cancer.bone_metastases_date)

    def receptor(self, receptor: str, value: str) -> None:
        t = self.t
        test = t.receptor_export[receptor]
        std = t.receptor_value_export.get(value)
        res: Json = {
            "resourceType": "Observation",
            "id": self.rid("receptor", receptor),
            "status": "final",
            "category": [_cc(_coding(OBS_CATEGORY, "laboratory", "Laboratory"))],
            "code": _cc(_coding(t.systems["loinc"], test["loinc"], test["display"])),
            "subject": self.subject,
            # The record keeps the result, not the day of the test.
            "_effectiveDateTime": _absent("unknown"),
        }
        if std is not None and std["system"] == "snomed":
            # US Core (us-core-4): the value's codings are SNOMED CT only.
            res["meta"] = {"profile": [t.profiles["tumor_marker_test"]]}
            res["valueCodeableConcept"] = _cc(
                _coding(t.systems["snomed"], std["code"], std["display"]), text=value
            )
        else:
            res["valueCodeableConcept"] = _cc(_coding(CS_RECEPTOR_STATUS, value), text=value)
        if self.primary_ref is not None:
            res["focus"] = [self.primary_ref]
        self.add(res)

    def secondary(self, present: bool | None, date: dt.date | None) -> None:
        t = self.t
        e = t.condition_export["bone_metastasis"]
        verification = {True: "confirmed", False: "refuted", None: "unconfirmed"}[present]
        sid = self.rid("bone-metastases")
        # Unknown is the less reassuring case: "active, unconfirmed", never "inactive".
        clinical = "inactive" if present is False else "active"
        res: Json = {
            "resourceType": "Condition",
            "id": sid,
            "meta": {"profile": [t.profiles["secondary_cancer_condition"]]},
            "clinicalStatus": _cc(_coding(CONDITION_CLINICAL, clinical)),
            "verificationStatus": _cc(_coding(CONDITION_VERIFICATION, verification)),
            "category": [_problem_list_item()],
            "code": _cc(
                _coding(e["system_url"], e["code"], e["display"]),
                text="Bone metastases",
            ),
            "subject": self.subject,
        }
        if self.primary_ref is not None:
            res["extension"] = [{"url": CONDITION_RELATED, "valueReference": self.primary_ref}]
        if present is True:
            sites = list(dict.fromkeys(lesion.site for lesion in self.record.lesions))
            if sites:
                res["bodySite"] = [self.site(s) for s in sites]
        if date is not None:
            res["onsetDateTime"] = _day(date)
        self.add(res)
        if present is True:
            self.secondary_ref = {"reference": f"Condition/{sid}"}

    def site(self, site: str) -> Json:
        codings = []
        std = self.t.site_export.get(site)
        if std is not None:
            codings.append(_coding(self.t.systems["snomed"], std["code"], std["display"]))
        codings.append(_coding(CS_SKELETAL_SITE, site))
        return _cc(*codings, text=site)

    # --- Lesions, labs, measurements -------------------------------------------------------------

    def lesion(self, i: int, lesion: Lesion) -> None:
        comps: list[Json] = []

        def comp(name: str, value: Json) -> None:
            comps.append({"code": _cc(_coding(CS_LESION_FIELD, name)), **value})

        def coded(name: str, value: str | None) -> None:
            if value is not None:
                comp(name, {"valueCodeableConcept": _cc(_coding(CS_LESION_VALUE, value))})

        coded("type", lesion.type)
        if lesion.size_fraction is not None:
            comp("size-fraction", {"valueQuantity": _ucum(self.t, lesion.size_fraction, "1")})
        coded("mirels-pain", lesion.pain)
        if lesion.sins is not None:
            comp("sins-recorded", {"valueBoolean": True})
            coded("sins-pain", lesion.sins.pain)
            coded("sins-alignment", lesion.sins.alignment)
            coded("sins-collapse", lesion.sins.collapse)
            coded("sins-posterolateral", lesion.sins.posterolateral)
        res: Json = {
            "resourceType": "Observation",
            "id": self.rid("lesion", i),
            "status": "final",
            "category": [_cc(_coding(OBS_CATEGORY, "imaging", "Imaging"))],
            "code": _cc(_coding(CS_OBSERVATION, "bone-lesion", "Bone lesion"), text="Bone lesion"),
            "subject": self.subject,
            "effectiveDateTime": _day(lesion.date),
            "bodySite": self.site(lesion.site),
        }
        if lesion.id is not None:
            res["identifier"] = [{"system": ID_LESION, "value": lesion.id}]
        if self.secondary_ref is not None:
            res["focus"] = [self.secondary_ref]
        if comps:
            res["component"] = comps
        self.add(res)

    def lab(self, i: int, lab: Lab) -> None:
        mass = _export_tables()["mass_only"].get(lab.code)
        if mass is not None and lab.unit != mass["unit"]:
            self.lab_converted(i, lab, mass["unit"])
            return
        t = self.t
        code = t.lab_export[(lab.code, lab.unit)]
        res: Json = {
            "resourceType": "Observation",
            "id": self.rid("lab", i),
            "status": "final",
            "category": [_cc(_coding(OBS_CATEGORY, "laboratory", "Laboratory"))],
            "code": _cc(
                _coding(t.systems["loinc"], code.loinc, code.display),
                text=_LABELS[lab.code],
            ),
            "subject": self.subject,
            "effectiveDateTime": _day(lab.date),
            "valueQuantity": _ucum(t, lab.value, lab.unit),
        }
        if lab.lower_limit is not None or lab.upper_limit is not None:
            rng: Json = {}
            if lab.lower_limit is not None:
                rng["low"] = _ucum(t, lab.lower_limit, lab.unit)
            if lab.upper_limit is not None:
                rng["high"] = _ucum(t, lab.upper_limit, lab.unit)
            res["referenceRange"] = [rng]
        self.add(res)

    def lab_converted(self, i: int, lab: Lab, unit: str) -> None:
        """A result whose LOINC code exists only in `unit` (25-hydroxyvitamin D: mass): the
        value in that unit, the recorded quantity kept in the Quantity translation extension."""
        t = self.t
        code = t.lab_export[(lab.code, unit)]
        factor = per_unit(lab.code)
        converted = lab.value * factor[lab.unit] / factor[unit]
        quantity = _ucum(t, converted, unit)
        quantity["extension"] = [
            {"url": PQ_TRANSLATION, "valueQuantity": _ucum(t, lab.value, lab.unit)}
        ]
        res: Json = {
            "resourceType": "Observation",
            "id": self.rid("lab", i),
            "status": "final",
            "category": [_cc(_coding(OBS_CATEGORY, "laboratory", "Laboratory"))],
            "code": _cc(
                _coding(t.systems["loinc"], code.loinc, code.display), text=_LABELS[lab.code]
            ),
            "subject": self.subject,
            "effectiveDateTime": _day(lab.date),
            "valueQuantity": quantity,
        }
        if lab.lower_limit is not None or lab.upper_limit is not None:
            rng: Json = {}
            for key, limit in (("low", lab.lower_limit), ("high", lab.upper_limit)):
                if limit is not None:
                    # converted, with the recorded limit kept as the value is (read back exact)
                    rng[key] = _ucum(t, limit * factor[lab.unit] / factor[unit], unit)
                    rng[key]["extension"] = [
                        {"url": PQ_TRANSLATION, "valueQuantity": _ucum(t, limit, lab.unit)}
                    ]
            res["referenceRange"] = [rng]
        self.add(res)

    def vital(self, kind: str, i: int, date: dt.date, value: float) -> None:
        v = self.t.vitals[kind]
        self.add(
            {
                "resourceType": "Observation",
                "id": self.rid(kind, i),
                "status": "final",
                "category": [_cc(_coding(OBS_CATEGORY, "vital-signs", "Vital Signs"))],
                "code": _cc(
                    _coding(self.t.systems["loinc"], v["loinc"], v["display"]),
                    text=v["display"],
                ),
                "subject": self.subject,
                "effectiveDateTime": _day(date),
                "valueQuantity": _ucum(self.t, value, v["record_unit"]),
            }
        )

    # --- Bone-modifying agents -------------------------------------------------------------------

    def agent(self, agent: str, product: Json | None = None) -> Json:
        codings = [product] if product is not None else []
        std = self.t.med_export.get(agent)
        if std is not None:
            codings.append(_coding(self.t.systems["rxnorm"], std["code"], std["display"]))
        codings.append(_coding(CS_AGENT, agent))
        return _cc(*codings, text=agent.replace("_", " "))

    def route(self, route: str) -> Json:
        codings = []
        std = self.t.route_export.get(route)
        if std is not None:
            codings.append(_coding(self.t.systems["snomed"], std["code"], std["display"]))
        codings.append(_coding(CS_ROUTE, route))
        return _cc(*codings)

    def dose(self, i: int, dose: BmaDose) -> None:
        dosage: Json = {}
        if dose.route is not None:
            dosage["route"] = self.route(dose.route)
        if dose.dose is not None:
            dosage["dose"] = _ucum(self.t, dose.dose, dose.unit)
        mg = dose.dose if dose.unit == "mg" else None
        res: Json = {
            "resourceType": "MedicationAdministration",
            "id": self.rid("bma-dose", i),
            "status": "completed",
            "medicationCodeableConcept": self.agent(
                dose.agent, product_coding(dose.agent, dose.route, mg)
            ),
            "subject": self.subject,
            "effectiveDateTime": _day(dose.date),
        }
        reason = self.secondary_ref or self.primary_ref
        if reason is not None:  # mCODE: a cancer-related medication names its cancer
            res["meta"] = {"profile": [self.t.profiles["cancer_related_medication_administration"]]}
            res["reasonReference"] = [reason]
        if dosage:
            res["dosage"] = dosage
        self.add(res)

    def plan(self, i: int, plan: BmaPlan) -> None:
        dosage: Json = {}
        if plan.interval_weeks is not None:
            dosage["timing"] = {
                "repeat": {"frequency": 1, "period": plan.interval_weeks, "periodUnit": "wk"}
            }
        if plan.route is not None:
            dosage["route"] = self.route(plan.route)
        reason = self.secondary_ref or self.primary_ref
        profile = (
            self.t.profiles["cancer_related_medication_request"]
            if reason is not None
            else f"{US_CORE}/us-core-medicationrequest"
        )
        res: Json = {
            "resourceType": "MedicationRequest",
            "id": self.rid("bma-plan", i),
            "meta": {"profile": [profile]},
            "status": "stopped" if plan.stop else "active",
            "intent": "plan",
            "medicationCodeableConcept": self.agent(plan.agent),
            "subject": self.subject,
            "authoredOn": _day(plan.date),
            # The record keeps the plan, not who made it.
            "requester": _absent("unknown"),
        }
        if reason is not None:
            res["reasonReference"] = [reason]
        if dosage:
            res["dosageInstruction"] = [dosage]
        self.add(res)

    # --- Procedures, conditions, treatments, supplements -----------------------------------------

    def procedure(self, kind: str, i: int, date: dt.date, code: Json, **extra: Any) -> None:
        self.add(
            {
                "resourceType": "Procedure",
                "id": self.rid(kind, i),
                **{k: v for k, v in extra.items() if k == "extension"},
                "status": "completed",
                "code": code,
                "subject": self.subject,
                "performedDateTime": _day(date),
                **{k: v for k, v in extra.items() if k != "extension"},
            }
        )

    def dental_exam(self, i: int, exam: DentalExam) -> None:
        e = self.t.dental_export["exam"]
        code = _cc(
            _coding(self.t.systems["snomed"], e["code"], e["display"]),
            _coding(CS_DENTAL_PROCEDURE, "exam"),
            text="Dental examination",
        )
        extra: Json = {}
        if exam.outcome is not None:
            extra["outcome"] = _cc(_coding(CS_DENTAL_OUTCOME, exam.outcome))
        self.procedure("dental-exam", i, exam.date, code, **extra)

    def dental_procedure(self, i: int, proc: DentalProcedure) -> None:
        code = _cc(_coding(CS_DENTAL_PROCEDURE, proc.kind), text=f"Dental {proc.kind}")
        extra: Json = {}
        if proc.invasive is not None:
            extra["extension"] = [{"url": EXT_INVASIVE, "valueBoolean": proc.invasive}]
        self.procedure("dental-procedure", i, proc.date, code, **extra)

    def imaging(self, i: int, img: Imaging) -> None:
        code = _cc(_coding(CS_IMAGING_MODALITY, img.modality), text=f"Imaging: {img.modality}")
        extra: Json = {}
        if img.finding is not None:
            extra["outcome"] = _cc(_coding(CS_IMAGING_FINDING, img.finding))
        self.procedure("imaging", i, img.date, code, **extra)

    def condition(self, i: int, cond: Condition) -> None:
        codings = []
        std = self.t.condition_export.get(cond.code)
        if std is not None:
            codings.append(_coding(std["system_url"], std["code"], std["display"]))
        codings.append(_coding(CS_CONDITION, cond.code))
        res: Json = {
            "resourceType": "Condition",
            "id": self.rid("condition", i),
            "clinicalStatus": _cc(
                _coding(CONDITION_CLINICAL, "resolved" if cond.resolved else "active")
            ),
            "code": _cc(*codings, text=cond.code.replace("_", " ")),
            "subject": self.subject,
            "onsetDateTime": _day(cond.date),
        }
        if cond.resolved is not None:
            res["abatementDateTime"] = _day(cond.resolved)
        self.add(res)

    def treatment(self, i: int, tr: Treatment) -> None:
        codings = []
        std = self.t.treatment_export.get(tr.kind)
        if std is not None:
            codings.append(_coding(self.t.systems[std["system"]], std["code"], std["display"]))
        codings.append(_coding(CS_TREATMENT, tr.kind))
        code = _cc(*codings, text=tr.kind.replace("_", " "))
        period: Json = {"start": _day(tr.start)}
        if tr.stop is not None:
            period["end"] = _day(tr.stop)
        if tr.kind in DRUG_TREATMENTS:
            self.add(
                {
                    "resourceType": "MedicationStatement",
                    "id": self.rid("treatment", i),
                    "status": "active" if tr.stop is None else "completed",
                    "medicationCodeableConcept": code,
                    "subject": self.subject,
                    "effectivePeriod": period,
                }
            )
        else:
            self.add(
                {
                    "resourceType": "Procedure",
                    "id": self.rid("treatment", i),
                    "status": "in-progress" if tr.stop is None else "completed",
                    "code": code,
                    "subject": self.subject,
                    "performedPeriod": period,
                }
            )

    def supplement(self, i: int, sup: Supplement) -> None:
        status = {True: "active", False: "not-taken", None: "unknown"}[sup.active]
        res: Json = {
            "resourceType": "MedicationStatement",
            "id": self.rid("supplement", i),
            "status": status,
            "medicationCodeableConcept": _cc(
                _coding(CS_SUPPLEMENT, sup.kind), text=sup.kind.replace("_", " ")
            ),
            "subject": self.subject,
            "dateAsserted": _day(sup.date),
        }
        if sup.stopped is not None:
            res["effectivePeriod"] = {"end": _day(sup.stopped)}
        if sup.daily_amount is not None:
            unit = "mg" if sup.unit == "mg" else "[iU]"
            quantity = {
                "value": sup.daily_amount,
                "unit": sup.unit,
                "system": self.t.systems["ucum"],
                "code": unit,
            }
            res["dosage"] = [
                {
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": quantity}],
                }
            ]
        self.add(res)

    def symptoms(self, i: int, report: SymptomReport) -> None:
        items: list[Json] = []
        for s in report.symptoms:
            sub: list[Json] = [
                {
                    "linkId": "severity",
                    "answer": [{"valueInteger": s.severity}],
                }
            ]
            if s.duration_days is not None:
                sub.append(
                    {"linkId": "duration_days", "answer": [{"valueDecimal": s.duration_days}]}
                )
            for name in SYMPTOM_INTEGERS:
                value = getattr(s, name)
                if value is not None:
                    sub.append({"linkId": name, "answer": [{"valueInteger": value}]})
            if s.temperature_c is not None:
                sub.append(
                    {"linkId": "temperature_c", "answer": [{"valueDecimal": s.temperature_c}]}
                )
            if s.trend is not None:
                sub.append(
                    {
                        "linkId": "trend",
                        "answer": [{"valueCoding": _coding(CS_SYMPTOM_TREND, s.trend)}],
                    }
                )
            if s.site is not None:
                sub.append(
                    {
                        "linkId": "site",
                        "answer": [{"valueCoding": _coding(CS_SYMPTOM_SITE, s.site)}],
                    }
                )
            if s.features:
                sub.append(
                    {
                        "linkId": "features",
                        "answer": [
                            {"valueCoding": _coding(CS_SYMPTOM_FEATURE, f)} for f in s.features
                        ],
                    }
                )
            items.append(
                {
                    "linkId": "symptom",
                    "answer": [
                        {"valueCoding": _coding(CS_SYMPTOM, s.code), "item": sub},
                    ],
                }
            )
        if report.free_text is not None:
            items.append({"linkId": "free_text", "answer": [{"valueString": report.free_text}]})
        if report.filled_in_by is not None:
            items.append(
                {"linkId": "filled_in_by", "answer": [{"valueString": report.filled_in_by}]}
            )
        res: Json = {
            "resourceType": "QuestionnaireResponse",
            "id": self.rid("symptom-report", i),
            "questionnaire": QUESTIONNAIRE_SYMPTOMS,
            "status": "completed",
            "subject": self.subject,
            "authored": _day(report.date),
        }
        if items:
            res["item"] = items
        self.add(res)

    def run(self) -> Json:
        r = self.record
        self.patient()
        self.cancer()
        for i, lesion in enumerate(r.lesions):
            self.lesion(i, lesion)
        for i, lab in enumerate(r.labs):
            self.lab(i, lab)
        for i, w in enumerate(r.demographics.weights):
            self.vital("weight", i, w.date, w.kg)
        for i, h in enumerate(r.demographics.heights):
            self.vital("height", i, h.date, h.cm)
        for i, dose in enumerate(r.bma_doses):
            self.dose(i, dose)
        for i, plan in enumerate(r.bma_plans):
            self.plan(i, plan)
        for i, exam in enumerate(r.dental_exams):
            self.dental_exam(i, exam)
        for i, proc in enumerate(r.dental_procedures):
            self.dental_procedure(i, proc)
        for i, img in enumerate(r.imaging):
            self.imaging(i, img)
        for i, cond in enumerate(r.conditions):
            self.condition(i, cond)
        for i, tr in enumerate(r.treatments):
            self.treatment(i, tr)
        for i, sup in enumerate(r.supplements):
            self.supplement(i, sup)
        for i, report in enumerate(r.symptom_reports):
            self.symptoms(i, report)
        return {
            "resourceType": "Bundle",
            "id": resource_id(r.id, "bundle"),
            "type": "collection",
            "entry": self.entries,
        }


def record_to_fhir(record: Record) -> Json:
    """`record` as a FHIR R4 Bundle of type collection (deterministic: same record, same bundle)."""
    return _Exporter(record).run()


def records_to_resources(records: list[Record]) -> list[Json]:
    """The resources of every record's bundle, in order (for NDJSON writing)."""
    out: list[Json] = []
    for record in records:
        out.extend(e["resource"] for e in record_to_fhir(record)["entry"])
    return out
