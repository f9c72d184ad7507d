"""The export meets the mCODE 4.0.0 and US Core 6.1.0 profiles it claims (checks generated from
their StructureDefinitions: profiles.py), with RxNorm clinical drugs, SNOMED CT body sites and the
elements the profiles require; and the import of our export and of mCODE's example bundle."""

from __future__ import annotations

import copy
import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonemets.adapters.fhir import fhir_to_records, record_to_fhir
from bonemets.core.record import BmaDose, Cancer, Lab, Record
from tests.fhir.profiles import check, structure_definitions

DATA = Path(__file__).parent / "data"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
Json = dict[str, Any]


def resources(record: Record) -> list[Json]:
    return [e["resource"] for e in record_to_fhir(record)["entry"]]


def claims(resource: Json) -> list[str]:
    return list((resource.get("meta") or {}).get("profile") or [])


def violations(resource: Json) -> list[str]:
    return [str(v) for url in claims(resource) for v in check(resource, url)]


def test_every_claimed_profile_is_met(cohort: list[Record]) -> None:
    claimed: Counter[str] = Counter()
    found: list[str] = []
    for record in cohort:
        for res in resources(record):
            claimed.update(claims(res))
            found += violations(res)
    assert found == [], found[:10]
    # Not vacuous: each profile the export claims is claimed, many times.
    expected = {
        f"{MCODE}mcode-cancer-patient",
        f"{MCODE}mcode-primary-cancer-condition",
        f"{MCODE}mcode-secondary-cancer-condition",
        f"{MCODE}mcode-tumor-marker-test",
        f"{MCODE}mcode-cancer-related-medication-administration",
        f"{MCODE}mcode-cancer-related-medication-request",
    }
    assert expected <= set(claimed) <= set(structure_definitions())
    assert all(claimed[url] >= 10 for url in expected), claimed


def _first(record: Record, rtype: str, profile: str) -> Json:
    return next(
        r for r in resources(record) if r["resourceType"] == rtype and profile in str(claims(r))
    )


@pytest.mark.parametrize(
    ("rtype", "profile", "breaks", "rule"),
    [
        ("Patient", "cancer-patient", lambda r: r.pop("name"), "Patient.name: min 1"),
        ("Patient", "cancer-patient", lambda r: r["name"][0].pop("extension"), "us-core-6"),
        ("Condition", "secondary-cancer", lambda r: r.pop("category"), "Condition.category: min 1"),
        (
            "Condition",
            "secondary-cancer",
            lambda r: r["category"][0]["coding"][0].update(code="encounter-diagnosis"),
            "category:us-core: min 1",
        ),
        (
            "Observation",
            "tumor-marker",
            lambda r: r["valueCodeableConcept"]["coding"].append(
                {
                    "system": "https://bonemets.example/fhir/CodeSystem/receptor-status",
                    "code": "positive",
                }
            ),
            "us-core-4",
        ),
        (
            "Observation",
            "tumor-marker",
            lambda r: r.pop("valueCodeableConcept"),
            "Observation.value[x]: min 1",
        ),
        (
            "MedicationAdministration",
            "medication-administration",
            lambda r: r.pop("reasonReference"),
            "mcode-reason-required",
        ),
        (
            "MedicationAdministration",
            "medication-administration",
            lambda r: r.pop("effectiveDateTime"),
            "effective[x]: min 1",
        ),
        (
            "MedicationRequest",
            "medication-request",
            lambda r: r.update(intent="order"),
            "us-core-21",
        ),
    ],
)
def test_the_checks_catch_what_the_profiles_forbid(
    cohort: list[Record], rtype: str, profile: str, breaks: Any, rule: str
) -> None:
    good = _first(cohort[0], rtype, profile)
    assert violations(good) == []
    bad = copy.deepcopy(good)
    breaks(bad)
    if rule == "us-core-21":
        bad.pop("requester")
    found = violations(bad)
    assert any(rule in v for v in found), found


def test_secondary_cancer_condition_has_snomed_body_sites_and_its_primary(
    cohort: list[Record],
) -> None:
    record = next(r for r in cohort if r.cancer and r.cancer.bone_metastases and r.lesions)
    secondary = _first(record, "Condition", "secondary-cancer")
    primary = _first(record, "Condition", "primary-cancer")
    assert secondary["category"][0]["coding"][0]["code"] == "problem-list-item"
    assert secondary["clinicalStatus"]["coding"][0]["code"] == "active"
    assert secondary["verificationStatus"]["coding"][0]["code"] == "confirmed"
    snomed = [
        c
        for site in secondary["bodySite"]
        for c in site["coding"]
        if c["system"] == "http://snomed.info/sct"
    ]
    assert snomed and all(c["code"].isdigit() for c in snomed)
    assert secondary["extension"][0]["valueReference"] == {
        "reference": f"Condition/{primary['id']}"
    }
    assert primary["bodySite"][0]["coding"][0]["code"] == "76752008"  # breast structure
    assert primary["clinicalStatus"]["coding"][0]["code"] == "active"


def test_unknown_bone_metastases_are_active_and_unconfirmed_never_inactive() -> None:
    def secondary(present: bool | None) -> Json:
        cancer = Cancer(
            primary_site="breast", bone_metastases=present, bone_metastases_date=dt.date(2026, 1, 5)
        )
        return _first(Record(id="bm", cancer=cancer), "Condition", "secondary-cancer")

    unknown, absent = secondary(None), secondary(False)
    assert unknown["clinicalStatus"]["coding"][0]["code"] == "active"
    assert unknown["verificationStatus"]["coding"][0]["code"] == "unconfirmed"
    assert absent["clinicalStatus"]["coding"][0]["code"] == "inactive"
    assert absent["verificationStatus"]["coding"][0]["code"] == "refuted"
    assert violations(unknown) == violations(absent) == []


def _dose_coding(agent: str, mg: float, route: str) -> list[tuple[str, str]]:
    record = Record(
        id="rx-1",
        bma_doses=[BmaDose(agent=agent, date=dt.date(2026, 1, 5), dose=mg, unit="mg", route=route)],
    )
    [admin] = [r for r in resources(record) if r["resourceType"] == "MedicationAdministration"]
    return [(c["system"], c["code"]) for c in admin["medicationCodeableConcept"]["coding"]]


def test_doses_carry_rxnorm_clinical_drugs(cohort: list[Record]) -> None:
    assert (RXNORM, "1114085") in _dose_coding("zoledronic_acid", 3.5, "iv")
    assert (RXNORM, "77655") in _dose_coding("zoledronic_acid", 3.5, "iv")  # the ingredient too
    assert (RXNORM, "1046398") in _dose_coding("denosumab", 120, "sc")  # Xgeva [S]
    assert (RXNORM, "993452") in _dose_coding("denosumab", 60, "sc")  # Prolia
    assert (RXNORM, "1737449") in _dose_coding("pamidronate", 90, "iv")
    # No clinical drug for a dose no product fits: the ingredient (and our code) only.
    assert [c for s, c in _dose_coding("ibandronate", 6, "iv") if s == RXNORM] == []
    # Never the codes the reference sheet found nowhere.
    written = {
        c["code"]
        for record in cohort
        for r in resources(record)
        for c in (r.get("medicationCodeableConcept") or {}).get("coding", [])
        if c["system"] == RXNORM
    }
    assert "1114085" in written and not written & {"1114086", "904918", "993457"}


def test_vitamin_d_is_written_in_the_unit_of_its_loinc_code() -> None:
    record = Record(
        id="vd-1",
        labs=[Lab(code="vitamin_d_25oh", value=30.0, unit="nmol/L", date=dt.date(2026, 1, 5))],
    )
    [obs] = [r for r in resources(record) if r["resourceType"] == "Observation"]
    assert obs["code"]["coding"][0]["code"] == "62292-8"  # 25-OH vitamin D2+D3 [Mass/volume]
    quantity = obs["valueQuantity"]
    assert (quantity["code"], round(quantity["value"], 3)) == ("ng/mL", 12.019)
    [translation] = quantity["extension"]
    assert translation["valueQuantity"]["value"] == 30.0
    assert translation["valueQuantity"]["code"] == "nmol/L"


def test_vitamin_d_comes_back_in_its_recorded_unit() -> None:
    lab = Lab(code="vitamin_d_25oh", value=30.0, unit="nmol/L", date=dt.date(2026, 1, 5))
    record = Record(id="vd-2", labs=[lab])
    back = fhir_to_records(resources(record)).records["vd-2"]
    assert back.labs == [lab]


def test_the_patient_is_named_absent_and_has_a_gender(cohort: list[Record]) -> None:
    patient = _first(cohort[0], "Patient", "cancer-patient")
    assert patient["name"] == [
        {
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                    "valueCode": "unknown",
                }
            ]
        }
    ]
    assert patient["gender"] in ("female", "male", "unknown")
    bare = _first(Record(id="no-cancer"), "Patient", "us-core-patient")
    assert bare["gender"] == "unknown" and violations(bare) == []


def test_the_mcode_example_bundle_is_read_without_refusal() -> None:
    bundle = orjson.loads((DATA / "Bundle-mcode-patient-bundle-jenny-m.json").read_bytes())
    result = fhir_to_records(e["resource"] for e in bundle["entry"])
    assert result.refusals == [] and list(result.records) == ["cancer-patient-jenny-m"]
    cancer = result.records["cancer-patient-jenny-m"].cancer
    assert cancer is not None
    assert (cancer.er, cancer.pr, cancer.her2) == ("positive", "negative", "negative")


def test_the_mcode_example_bundle_round_trips_its_cancer_and_treatments() -> None:
    bundle = orjson.loads((DATA / "Bundle-mcode-patient-bundle-jenny-m.json").read_bytes())
    record = fhir_to_records(e["resource"] for e in bundle["entry"]).records[
        "cancer-patient-jenny-m"
    ]
    assert record.cancer is not None and record.cancer.primary_site == "breast"
    assert {t.kind for t in record.treatments} >= {"chemotherapy", "endocrine_therapy"}
