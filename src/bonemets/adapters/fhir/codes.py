"""The FHIR code tables (``knowledge/fhir_codes.toml``) as lookup structures, built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bonemets.core.knowledge import load

BASE = "https://bonemets.example/fhir"
CS = f"{BASE}/CodeSystem"
SD = f"{BASE}/StructureDefinition"

# bonemets CodeSystems (one per record vocabulary) and extensions.
CS_SKELETAL_SITE = f"{CS}/skeletal-site"
CS_OBSERVATION = f"{CS}/observation"
CS_LESION_FIELD = f"{CS}/lesion-field"
CS_LESION_VALUE = f"{CS}/lesion-value"
CS_AGENT = f"{CS}/bone-modifying-agent"
CS_ROUTE = f"{CS}/route"
CS_RECEPTOR_STATUS = f"{CS}/receptor-status"
CS_CONDITION = f"{CS}/condition"
CS_DENTAL_OUTCOME = f"{CS}/dental-exam-outcome"
CS_DENTAL_PROCEDURE = f"{CS}/dental-procedure"
CS_IMAGING_MODALITY = f"{CS}/imaging-modality"
CS_IMAGING_FINDING = f"{CS}/imaging-finding"
CS_TREATMENT = f"{CS}/treatment"
CS_SUPPLEMENT = f"{CS}/supplement"
CS_SYMPTOM = f"{CS}/symptom"
CS_SYMPTOM_ITEM = f"{CS}/symptom-item"
CS_SYMPTOM_TREND = f"{CS}/symptom-trend"
CS_SYMPTOM_SITE = f"{CS}/symptom-site"
CS_SYMPTOM_FEATURE = f"{CS}/symptom-feature"
EXT_PRIMARY_SITE = f"{SD}/primary-site"
EXT_INVASIVE = f"{SD}/dental-procedure-invasive"
ID_RECORD = f"{BASE}/record-id"
ID_LESION = f"{BASE}/lesion-id"
QUESTIONNAIRE_SYMPTOMS = f"{BASE}/Questionnaire/symptom-report"

OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


@dataclass(frozen=True, slots=True)
class LabCode:
    analyte: str
    loinc: str
    display: str
    export_units: tuple[str, ...]
    evidence: str


@dataclass(slots=True)
class Tables:
    systems: dict[str, str]
    labs_by_loinc: dict[str, LabCode]
    lab_export: dict[tuple[str, str], LabCode]  # (analyte, record unit) -> code
    ucum_lab_units: dict[str, str]
    vitals_by_loinc: dict[str, tuple[str, dict[str, float]]]  # loinc -> (kind, ucum -> factor)
    vitals: dict[str, dict[str, Any]]
    receptor_by_loinc: dict[str, str]
    receptor_export: dict[str, dict[str, Any]]
    receptor_values: dict[tuple[str, str], str]  # (system url, code) -> value
    receptor_value_export: dict[str, dict[str, Any]]
    conditions: dict[tuple[str, str], str]  # (system url, code) -> concept
    condition_prefixes: list[tuple[str, str, str]]  # (system url, prefix, concept)
    condition_export: dict[str, dict[str, Any]]
    meds: dict[str, str]  # rxnorm code -> agent
    med_export: dict[str, dict[str, Any]]
    med_text: dict[str, str]
    supplements: dict[str, str]
    supplement_text: dict[str, str]
    routes: dict[str, str]  # snomed -> route
    route_export: dict[str, dict[str, Any]]
    dental: dict[str, tuple[str, bool | None]]  # snomed -> (kind, invasive)
    dental_export: dict[str, dict[str, Any]]
    imaging: dict[tuple[str, str], str]
    dicom: dict[str, str]
    treatments: dict[tuple[str, str], str]
    treatment_export: dict[str, dict[str, Any]]
    sites_by_snomed: dict[str, str]
    site_export: dict[str, dict[str, Any]]
    profiles: dict[str, str]
    code_sources: dict[str, Any] = field(default_factory=dict)
    # Primary cancers other than breast: (system url, code) -> site, and prefixes.
    primaries: dict[tuple[str, str], str] = field(default_factory=dict)
    primary_prefixes: list[tuple[str, str, str]] = field(default_factory=list)
    vital_unit_text: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> text -> ucum
    radiology: dict[str, Any] = field(default_factory=dict)


def system_url(tables: Tables, key: str) -> str:
    return tables.systems[key]


@cache
def tables() -> Tables:
    raw = load("fhir_codes")
    systems: dict[str, str] = dict(raw["systems"])
    labs_by_loinc: dict[str, LabCode] = {}
    lab_export: dict[tuple[str, str], LabCode] = {}
    for entry in raw["lab"]:
        code = LabCode(
            analyte=entry["analyte"],
            loinc=entry["loinc"],
            display=entry["display"],
            export_units=tuple(entry.get("export_units", [])),
            evidence=entry["evidence"],
        )
        labs_by_loinc[code.loinc] = code
        for unit in code.export_units:
            lab_export[(code.analyte, unit)] = code
    vitals_by_loinc = {v["loinc"]: (kind, dict(v["units"])) for kind, v in raw["vitals"].items()}
    receptor_by_loinc = {e["loinc"]: e["receptor"] for e in raw["receptor_test"]}
    receptor_export = {e["receptor"]: e for e in raw["receptor_test"] if e.get("export")}
    receptor_values = {(systems[e["system"]], e["code"]): e["value"] for e in raw["receptor_value"]}
    receptor_value_export = {e["value"]: e for e in raw["receptor_value"] if e.get("export")}
    conditions: dict[tuple[str, str], str] = {}
    prefixes: list[tuple[str, str, str]] = []
    condition_export: dict[str, dict[str, Any]] = {}
    for e in raw["condition"]:
        url = systems[e["system"]]
        if e.get("prefix"):
            prefixes.append((url, e["code"], e["concept"]))
        else:
            conditions[(url, e["code"])] = e["concept"]
        if e.get("export"):
            condition_export[e["concept"]] = {**e, "system_url": url}
    meds = {e["code"]: e["agent"] for e in raw["medication"]}
    med_export = {e["agent"]: e for e in raw["medication"] if e.get("export")}
    routes = {e["code"]: e["route"] for e in raw["route"]}
    route_export = {e["route"]: e for e in raw["route"] if e.get("export")}
    dental = {e["code"]: (e["kind"], e.get("invasive")) for e in raw["dental"]}
    dental_export = {e["kind"]: e for e in raw["dental"] if e.get("export")}
    imaging = {(systems[e["system"]], e["code"]): e["modality"] for e in raw["imaging"]}
    treatments = {(systems[e["system"]], e["code"]): e["kind"] for e in raw["treatment"]}
    treatment_export = {e["kind"]: e for e in raw["treatment"] if e.get("export")}
    sites_by_snomed: dict[str, str] = {}
    site_export: dict[str, dict[str, Any]] = {}
    for site, e in raw["body_sites"].items():
        sites_by_snomed[e["code"]] = site
        for extra in e.get("also", []):
            sites_by_snomed[extra] = site
        if e.get("export", True):
            site_export[site] = e
    profiles = {k: v for k, v in raw["profiles"].items() if isinstance(v, str)}
    primaries: dict[tuple[str, str], str] = {}
    primary_prefixes: list[tuple[str, str, str]] = []
    for e in raw["primary_cancer"]:
        url = systems[e["system"]]
        if e.get("prefix"):
            primary_prefixes.append((url, e["code"], e["site"]))
        else:
            primaries[(url, e["code"])] = e["site"]
    return Tables(
        primaries=primaries,
        primary_prefixes=primary_prefixes,
        vital_unit_text={k: dict(v.get("unit_text", {})) for k, v in raw["vitals"].items()},
        radiology=dict(raw["radiology"]),
        systems=systems,
        labs_by_loinc=labs_by_loinc,
        lab_export=lab_export,
        ucum_lab_units=dict(raw["ucum_lab_units"]),
        vitals_by_loinc=vitals_by_loinc,
        vitals=dict(raw["vitals"]),
        receptor_by_loinc=receptor_by_loinc,
        receptor_export=receptor_export,
        receptor_values=receptor_values,
        receptor_value_export=receptor_value_export,
        conditions=conditions,
        condition_prefixes=prefixes,
        condition_export=condition_export,
        meds=meds,
        med_export=med_export,
        med_text=dict(raw["medication_text"]),
        supplements={e["code"]: e["kind"] for e in raw["supplement"]},
        supplement_text=dict(raw["supplement_text"]),
        routes=routes,
        route_export=route_export,
        dental=dental,
        dental_export=dental_export,
        imaging=imaging,
        dicom=dict(raw["dicom_modalities"]),
        treatments=treatments,
        treatment_export=treatment_export,
        sites_by_snomed=sites_by_snomed,
        site_export=site_export,
        profiles=profiles,
        code_sources=dict(raw["code_sources"]),
    )


def unverified_codes() -> list[dict[str, str]]:
    """Every code tagged U in the tables: (table, system, code, display) for reports and docs."""
    raw = load("fhir_codes")
    out: list[dict[str, str]] = []
    for table in (
        "lab",
        "receptor_test",
        "receptor_value",
        "condition",
        "medication",
        "supplement",
        "route",
        "dental",
        "imaging",
        "treatment",
        "primary_cancer",
    ):
        for e in raw[table]:
            if e["evidence"] == "U":
                code = e.get("loinc") or e.get("code", "")
                out.append({"table": table, "code": code, "display": e.get("display", "")})
    return out


# Whole-number answers a symptom may carry (PRO-CTCAE-style answers; UKONS counts), each an item
# of its own under the symptom, named as in the triage contract.
SYMPTOM_INTEGERS = (
    "frequency",
    "interference",
    "pain_score",
    "stools_per_day",
    "days_without_stool",
    "vomits_per_day",
)
