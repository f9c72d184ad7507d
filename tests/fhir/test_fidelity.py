"""Issue 22 at the FHIR boundary: records other systems write (Synthea, mCODE, EHR exports)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bonemets.adapters.fhir import fhir_to_records
from bonemets.core.pathway import assess
from tests.fhir.test_import import LOINC, RX, SCT, lab, patient

ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def _condition(pid: str, rid: str, system: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": system, "code": code}]},
        "onsetDateTime": "2025-06-01",
        **extra,
    }


def _read(*resources: dict[str, Any]) -> Any:
    return fhir_to_records([patient("p1"), *resources])


def test_deceased_is_read_and_the_patient_is_quiet() -> None:
    dead = {**patient("p1"), "deceasedDateTime": "2026-02-01T10:00:00Z"}
    result = fhir_to_records(
        [
            dead,
            _condition("p1", "m", SCT, "94222008"),
            lab("p1", "ca", "17861-6", 6.0, "mg/dL", "2026-01-30"),
        ]
    )
    record = result.records["p1"]
    assert record.demographics.deceased_date == dt.date(2026, 2, 1)
    assert assess(record, dt.date(2026, 1, 31)).alerts  # alive then: low calcium
    after = assess(record, dt.date(2026, 2, 2))
    assert after.patient.deceased and after.alerts == []
    flag = fhir_to_records([{**patient("p1"), "deceasedBoolean": True}]).records["p1"]
    assert flag.demographics.deceased is True and flag.demographics.deceased_date is None
    alive = fhir_to_records([{**patient("p1"), "deceasedBoolean": False}]).records["p1"]
    assert not assess(alive, dt.date(2026, 2, 2)).patient.deceased


@pytest.mark.parametrize(
    ("loinc", "analyte", "value", "unit"),
    [
        ("38483-4", "creatinine", 0.9, "mg/dL"),  # Synthea's blood creatinine
        ("2160-0", "creatinine", 0.9, "mg/dL"),
        ("14682-9", "creatinine", 80.0, "umol/L"),
        ("49765-1", "calcium_total", 9.4, "mg/dL"),  # Synthea's blood calcium
        ("17861-6", "calcium_total", 9.4, "mg/dL"),
        ("2000-8", "calcium_total", 2.35, "mmol/L"),
    ],
)
def test_lab_codes_of_the_field_are_read(loinc: str, analyte: str, value: float, unit: str) -> None:
    record = _read(lab("p1", "x", loinc, value, unit, "2026-11-20")).records["p1"]
    assert [(x.code, x.value, x.unit) for x in record.labs] == [(analyte, value, unit)]


def test_odd_units_are_read_or_refused_alone() -> None:
    alp = lab("p1", "alp", "6768-6", 95, "[iU]/L", "2026-11-20")
    lbs = lab("p1", "w", "29463-7", 150, "lbs", "2026-11-20")
    del lbs["valueQuantity"]["code"], lbs["valueQuantity"]["system"]
    issued = lab("p1", "ca", "17861-6", 9.4, "mg/dL", "2026-11-20")
    del issued["effectiveDateTime"]
    issued["issued"] = "2026-11-21T09:00:00Z"
    cr = lab("p1", "cr", "2160-0", 0.9, "mg/dL", "2026-11-20")
    result = _read(alp, lbs, issued, cr)
    record = result.records["p1"]
    assert [(x.code, x.unit) for x in record.labs] == [
        ("alkaline_phosphatase", "U/L"),
        ("creatinine", "mg/dL"),
    ]
    assert record.demographics.weights[0].kg == pytest.approx(68.0388555)
    [refusal] = result.refusals
    assert refusal.resource_id == "ca" and "issued" in refusal.reason
    assert list(result.partial) == ["p1"] and not result.refused_patients


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD10, "C79.5"),  # WHO: bone and bone marrow
        (ICD10CM, "C79.51"),
        (ICD10CM, "C79.52"),
        (SCT, "94222008"),
        (SCT, "94602001"),  # a descendant: vertebral column
    ],
)
def test_bone_metastasis_codes(system: str, code: str) -> None:
    record = _read(_condition("p1", "m", system, code)).records["p1"]
    assert record.cancer is not None and record.cancer.bone_metastases is True
    other = _read(_condition("p1", "m", ICD10, "C78.0")).records["p1"]  # lung secondary
    assert other.cancer is None


def test_a_non_breast_primary_is_read_and_shown() -> None:
    lung = _read(
        _condition("p1", "l", ICD10CM, "C34.90"), _condition("p1", "m", SCT, "94222008")
    ).records["p1"]
    assert lung.cancer is not None and lung.cancer.primary_site == "lung"
    result = assess(lung, dt.date(2026, 11, 23))
    assert result.patient.primary_site == "lung"
    assert "tumour_markers" not in {m.test for m in result.monitoring}  # breast markers
    no_bma = next(a for a in result.alerts if a.rule == "pathway.no_bma")
    assert "the primary here is lung" in no_bma.message
    both = _read(
        _condition("p1", "b", SCT, "353431000119107"), _condition("p1", "l", ICD10, "C34.1")
    ).records["p1"]
    assert both.cancer is not None and both.cancer.primary_site == "breast"


def _order(code: str, status: str = "active", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"rx-{code}-{status}",
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2025-06-02",
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": code}]},
        **extra,
    }


def test_prolia_by_its_product_code_is_not_the_metastatic_regimen() -> None:
    record = _read(_order("993452"), _condition("p1", "m", SCT, "94222008")).records["p1"]
    (plan,) = record.bma_plans
    assert (plan.agent, plan.product_code) == ("denosumab", "993452")
    result = assess(record, dt.date(2025, 9, 1))
    assert result.bma.regimen == "denosumab.osteoporosis"
    assert result.bma.dose is not None and result.bma.dose.value == 60.0


@pytest.mark.parametrize("code", ["1114086", "904918", "993457"])
def test_unverified_product_codes_are_not_read(code: str) -> None:
    assert _read(_order(code)).records["p1"].bma_plans == []


def test_an_ended_order_does_not_keep_a_course_going() -> None:
    ended = _read(_order("1114085", "completed")).records["p1"]
    assert ended.bma_plans[0].ended is True
    held = _read(_order("1114085", "on-hold")).records["p1"]
    assert held.bma_plans[0].hold is True
    stop = {**_order("77655", "stopped"), "intent": "plan", "statusReason": {"text": "ONJ"}}
    assert _read(stop).records["p1"].bma_plans[0].stop_reason == "onj"


@pytest.mark.parametrize(
    ("code", "kind"),
    [("3002", "chemotherapy"), ("3639", "chemotherapy"), ("56946", "chemotherapy"),
     ("84857", "endocrine_therapy")],
)  # fmt: skip
def test_cancer_drug_orders_are_treatments(code: str, kind: str) -> None:
    (treatment,) = _read(_order(code)).records["p1"].treatments
    assert (treatment.kind, treatment.start, treatment.ended) == (
        kind, dt.date(2025, 6, 2), False)  # fmt: skip
    (done,) = _read(_order(code, "completed")).records["p1"].treatments
    assert done.ended is True


def _report(code: dict[str, Any], category: str | None = "RAD") -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": "r",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": code,
        "effectiveDateTime": "2026-10-01",
    }
    if category:
        out["category"] = [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": category}
                ]
            }
        ]
    return out


@pytest.mark.parametrize(
    ("text", "modality"),
    [("NM Bone scan whole body", "bone_scan"), ("CT Chest W contrast", "ct"),
     ("MRI Lumbar spine", "mri"), ("PET-CT skull base to thigh", "pet_ct"),
     ("Radiology report", "other")],
)  # fmt: skip
def test_radiology_reports_are_imaging(text: str, modality: str) -> None:
    code = {"coding": [{"system": LOINC, "code": "18748-4", "display": text}], "text": text}
    record = _read(_report(code)).records["p1"]
    assert [(i.modality, i.date) for i in record.imaging] == [(modality, dt.date(2026, 10, 1))]
    lab_report = {"coding": [{"system": LOINC, "code": "24323-8"}], "text": "CMP"}
    assert _read(_report(lab_report, "LAB")).records["p1"].imaging == []


def test_an_inactive_old_pregnancy_is_not_read_as_now() -> None:
    preg = _condition(
        "p1",
        "p",
        SCT,
        "72892002",
        onsetDateTime="1990-03-01",
        clinicalStatus={
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "resolved",
                }
            ]
        },
    )
    record = _read(preg).records["p1"]
    assert record.conditions[0].resolved == dt.date(1990, 3, 1)
