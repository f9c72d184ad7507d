"""Import of hand-written FHIR resources: both unit systems, refusals, skips, all three formats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonemets.adapters.fhir import (
    FormatError,
    Refusal,
    fhir_to_records,
    load_record,
    record_to_fhir,
    write_ndjson,
)
from bonemets.adapters.storage.records import canonical
from bonemets.core.pathway import assess
from bonemets.core.record import Record
from tests.fhir.conftest import AS_OF, as_read_back

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
DCM = "http://dicom.nema.org/resources/ontology/DCM"


def patient(pid: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1954-03-14"}


def lab(pid: str, rid: str, loinc: str, value: float, unit: str, day: str, **extra: Any) -> dict:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **extra,
    }


def _labs_us(pid: str) -> list[dict[str, Any]]:
    return [
        lab(pid, "ca", "17861-6", 9.4, "mg/dL", "2026-11-20T08:30:00+01:00"),
        lab(
            pid,
            "cr",
            "2160-0",
            0.9,
            "mg/dL",
            "2026-11-20",
            referenceRange=[
                {"high": {"value": 1.1, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"}}
            ],
        ),
        lab(pid, "alb", "1751-7", 3.9, "g/dL", "2026-11-20"),
        lab(pid, "plt", "777-3", 180, "10*3/uL", "2026-11-20"),  # Synthea's spelling
        lab(pid, "hb", "718-7", 11.2, "g/dL", "2026-11-20"),
        lab(pid, "w", "29463-7", 132.3, "[lb_av]", "2026-11-01"),
        lab(pid, "h", "8302-2", 64.2, "[in_i]", "2026-11-01"),
    ]


def _labs_si(pid: str) -> list[dict[str, Any]]:
    return [
        lab(pid, "ca", "2000-8", 2.35, "mmol/L", "2026-11-20"),
        lab(
            pid,
            "cr",
            "14682-9",
            80,
            "umol/L",
            "2026-11-20",
            referenceRange=[
                {
                    "low": {"value": 45, "unit": "umol/L"},
                    "high": {"value": 1.1, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"},
                }
            ],
        ),
        lab(pid, "alb", "1751-7", 39, "g/L", "2026-11-20"),
        lab(pid, "vd", "62292-8", 75, "nmol/L", "2026-11-20"),
        lab(pid, "ca153", "6875-9", 48, "U/mL", "2026-11-20"),
        lab(pid, "w", "29463-7", 60, "kg", "2026-11-01"),
        lab(pid, "h", "8302-2", 163, "cm", "2026-11-01"),
    ]


def test_labs_in_us_units() -> None:
    result = fhir_to_records([patient("p1"), *_labs_us("p1")])
    assert not result.refusals
    rec = result.records["p1"]
    labs = {x.code: x for x in rec.labs}
    assert labs["calcium_total"].unit == "mg/dL" and labs["calcium_total"].value == 9.4
    assert labs["calcium_total"].date == dt.date(2026, 11, 20)  # the day as written
    assert labs["creatinine"].upper_limit == 1.1
    assert labs["platelets"].unit == "10*9/L" and labs["platelets"].value == 180
    assert rec.demographics.weights[0].kg == pytest.approx(132.3 * 0.45359237)
    assert rec.demographics.heights[0].cm == pytest.approx(163.07, abs=0.01)
    assert rec.demographics.sex == "female"
    assert rec.demographics.birth_date == dt.date(1954, 3, 14)


def test_labs_in_si_units_with_a_reference_range_in_another_unit() -> None:
    result = fhir_to_records([patient("p1"), *_labs_si("p1")])
    assert not result.refusals
    labs = {x.code: x for x in result.records["p1"].labs}
    assert labs["creatinine"].unit == "umol/L"
    assert labs["creatinine"].lower_limit == 45
    assert labs["creatinine"].upper_limit == pytest.approx(97.24)
    assert labs["vitamin_d_25oh"].unit == "nmol/L"
    assert labs["ca15_3"].value == 48


def _clinical(pid: str) -> list[dict[str, Any]]:
    subject = {"reference": f"urn:uuid:{pid}"}
    return [
        {
            "resourceType": "Condition",
            "id": "bc",
            "subject": subject,
            "code": {"coding": [{"system": SCT, "code": "254837009"}]},
            "onsetDateTime": "2020-01-01",
        },
        {
            "resourceType": "Condition",
            "id": "mets",
            "subject": subject,
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C79.51"}]},
            "onsetDateTime": "2025-04-15",
            "bodySite": [
                {"coding": [{"system": SCT, "code": "280849005"}]},
                {"coding": [{"system": SCT, "code": "71341001"}]},
            ],
        },
        {
            "resourceType": "Observation",
            "id": "er",
            "status": "final",
            "subject": subject,
            "code": {"coding": [{"system": LOINC, "code": "85337-4"}]},
            "valueCodeableConcept": {"coding": [{"system": SCT, "code": "10828004"}]},
        },
        {
            "resourceType": "Condition",
            "id": "hf",
            "subject": subject,
            "code": {"coding": [{"system": SCT, "code": "88805009"}]},
            "onsetDateTime": "2019-05-01",
        },
        {
            "resourceType": "MedicationAdministration",
            "id": "z1",
            "status": "completed",
            "subject": subject,
            "effectiveDateTime": "2026-10-20T10:00:00Z",
            "medicationCodeableConcept": {"coding": [{"system": RX, "code": "1114085"}]},
            "dosage": {
                "dose": {"value": 3.5, "unit": "mg", "system": UCUM, "code": "mg"},
                "route": {"coding": [{"system": SCT, "code": "47625008"}]},
            },
        },
        {
            "resourceType": "MedicationRequest",
            "id": "zp",
            "status": "active",
            "intent": "order",
            "subject": subject,
            "authoredOn": "2025-05-01",
            "medicationReference": {"reference": "Medication/m1"},
            "dosageInstruction": [
                {"timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "wk"}}}
            ],
        },
        {"resourceType": "Medication", "id": "m1", "code": {"text": "Zometa 4 mg"}},
        {
            "resourceType": "Procedure",
            "id": "dx",
            "status": "completed",
            "subject": subject,
            "code": {"coding": [{"system": SCT, "code": "34043003"}]},
            "performedPeriod": {"start": "2025-05-02T09:00:00Z"},
        },
        {
            "resourceType": "ImagingStudy",
            "id": "is1",
            "status": "available",
            "subject": subject,
            "started": "2026-03-02",
            "series": [{"uid": "1.2", "modality": {"system": DCM, "code": "CT"}}],
        },
        {
            "resourceType": "ImagingStudy",
            "id": "dental-xray",
            "status": "available",
            "subject": subject,
            "started": "2026-03-02",
            "series": [{"uid": "1.3", "modality": {"code": "DX"}}],
        },
        {"resourceType": "Encounter", "id": "e1", "subject": subject},
        {"resourceType": "Claim", "id": "c1", "patient": subject},
    ]


def test_clinical_resources_from_another_system() -> None:
    result = fhir_to_records([*_clinical("p1"), patient("p1")])  # any order
    assert not result.refusals, result.refusals
    rec = result.records["p1"]
    assert rec.cancer is not None
    assert rec.cancer.primary_site == "breast" and rec.cancer.er == "positive"
    assert rec.cancer.bone_metastases is True
    assert rec.cancer.bone_metastases_date == dt.date(2025, 4, 15)
    assert [(x.site, x.date) for x in rec.lesions] == [("T12", dt.date(2025, 4, 15))]
    assert any("not placed in a region" in n for n in result.notes)  # whole femur: reported
    assert [c.code for c in rec.conditions] == ["heart_failure"]
    dose = rec.bma_doses[0]
    assert (dose.agent, dose.dose, dose.route, dose.date) == (
        "zoledronic_acid", 3.5, "iv", dt.date(2026, 10, 20))  # fmt: skip
    plan = rec.bma_plans[0]
    assert (plan.agent, plan.interval_weeks) == ("zoledronic_acid", 4.0)
    assert rec.dental_exams[0].date == dt.date(2025, 5, 2)
    assert [(i.modality, i.date) for i in rec.imaging] == [("ct", dt.date(2026, 3, 2))]


def test_unknown_resource_types_are_skipped_and_counted() -> None:
    result = fhir_to_records([*_clinical("p1"), patient("p1")])
    assert result.counts["Encounter"].read == 1 and result.counts["Encounter"].skipped == 1
    assert result.counts["Claim"].skipped == 1
    assert result.counts["ImagingStudy"].imported == 1
    assert result.counts["ImagingStudy"].skipped == 1  # the plain radiograph
    assert result.counts["Medication"].imported == 1


@pytest.mark.parametrize(
    ("corrupt", "reason"),
    [
        ({"valueQuantity": {"value": 9.4, "unit": "mg/L", "code": "mg/L"}}, "unit"),
        ({"effectiveDateTime": "2026-13-45"}, "not a valid date"),
        ({"effectiveDateTime": "2026-11"}, "not precise to the day"),
        ({"valueQuantity": {"value": "high", "code": "mg/dL"}}, "not a number"),
        ({"valueQuantity": {"value": 94, "code": "mg/dL"}}, "plausible"),
    ],
)
def test_a_corrupted_resource_is_refused_alone(corrupt: dict, reason: str) -> None:
    # Issue 22: per-resource refusal, never per-patient. The resource is listed with its reason,
    # and the rest of its patient is read.
    bad = {**lab("p2", "bad-ca", "17861-6", 9.4, "mg/dL", "2026-11-20"), **corrupt}
    resources = [patient("p1"), *_labs_us("p1"), patient("p2"), *_labs_si("p2"), bad]
    result = fhir_to_records(resources)
    assert list(result.records) == ["p1", "p2"]
    assert not result.refused_patients
    [refusal] = result.refusals
    assert (refusal.patient, refusal.resource_type, refusal.resource_id) == (
        "p2", "Observation", "bad-ca")  # fmt: skip
    assert reason in refusal.reason
    assert result.partial == {"p2": [refusal]}
    clean = fhir_to_records([patient("p2"), *_labs_si("p2")]).records["p2"]
    assert result.records["p2"] == clean  # everything but the refused resource
    assert result.counts["Observation"].refused == 1


def test_a_resource_without_subject_is_refused() -> None:
    orphan = lab("x", "orphan", "2000-8", 2.3, "mmol/L", "2026-11-20")
    del orphan["subject"]
    result = fhir_to_records([patient("p1"), orphan])
    assert list(result.records) == ["p1"]
    assert result.refusals[0].resource_id == "orphan" and result.refusals[0].patient is None
    assert "no subject" in result.refusals[0].reason


def test_validate_mode_refuses_invalid_fhir() -> None:
    bad = {**lab("p1", "x", "2000-8", 2.3, "mmol/L", "2026-11-20"), "status": 42}
    result = fhir_to_records([patient("p1"), bad], validate=True)
    assert result.records["p1"].labs == []  # the invalid resource alone is left out
    assert result.refusals[0].resource_id == "x"
    assert "R4B" in result.refusals[0].reason


# --- load_record: the same patient in all three formats gives the same answer -------------------


def test_load_record_on_three_formats(cohort: list[Record], tmp_path: Path) -> None:
    for record in cohort[:8]:
        own = tmp_path / f"{record.id}.json"
        own.write_bytes(orjson.dumps(record.model_dump(mode="json")))
        bundle = tmp_path / f"{record.id}.bundle.json"
        bundle.write_bytes(orjson.dumps(record_to_fhir(record)))
        folder = tmp_path / f"{record.id}-ndjson"
        write_ndjson((e["resource"] for e in record_to_fhir(record)["entry"]), folder)
        loaded = [load_record(own), load_record(bundle), load_record(folder)]
        assert canonical(loaded[1]) == canonical(as_read_back(loaded[0]))
        answers = [assess(r, AS_OF).model_dump(mode="json") for r in loaded]
        assert (
            answers[1] == answers[2] == assess(as_read_back(record), AS_OF).model_dump(mode="json")
        )
        assert answers[0] == assess(record, AS_OF).model_dump(mode="json")


def test_load_record_wants_exactly_one_patient(cohort: list[Record], tmp_path: Path) -> None:
    folder = tmp_path / "two"
    resources = [e["resource"] for r in cohort[:2] for e in record_to_fhir(r)["entry"]]
    write_ndjson(resources, folder)
    with pytest.raises(FormatError, match="exactly one patient, found 2"):
        load_record(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FormatError, match=r"no \*\.ndjson"):
        load_record(empty)
    obs = tmp_path / "obs.json"
    obs.write_bytes(orjson.dumps({"resourceType": "Observation"}))
    with pytest.raises(FormatError, match="not a Bundle"):
        load_record(obs)


def test_load_record_lists_a_refused_resource(tmp_path: Path) -> None:
    bad = lab("p1", "bad", "17861-6", 9.4, "furlongs", "2026-11-20")
    path = tmp_path / "b.json"
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": patient("p1")}, {"resource": bad}]}  # fmt: skip
    path.write_bytes(orjson.dumps(bundle))
    refused: list[Refusal] = []
    record = load_record(path, refusals=refused)  # the patient is read without it
    assert record.labs == []
    assert [(r.resource_type, r.resource_id) for r in refused] == [("Observation", "bad")]
    assert "furlongs" in refused[0].reason


def _request(status: str, intent: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"{status}-{intent}",
        "status": status,
        "intent": intent,
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2026-01-05",
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": "77655"}]},
    }


@pytest.mark.parametrize(
    ("status", "intent", "stop"),
    [("stopped", "plan", True), ("stopped", "order", False), ("active", "order", False)],
)
def test_a_stopped_order_is_not_a_stop_on_the_day_it_was_written(
    status: str, intent: str, stop: bool
) -> None:
    result = fhir_to_records([patient("p1"), _request(status, intent)])
    (plan,) = result.records["p1"].bma_plans
    assert (plan.agent, plan.date, plan.stop) == ("zoledronic_acid", dt.date(2026, 1, 5), stop)
    noted = any("stopped on an unknown date" in n for n in result.notes)
    assert noted is (status == "stopped" and intent == "order")


def test_a_bone_metastasis_observation_with_its_site_as_value_is_a_lesion() -> None:
    """How our Synthea module records a lesion (the GMF has no body site on a condition)."""

    def finding(rid: str, site: str, day: str) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "code": {"coding": [{"system": SCT, "code": "94222008"}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": day,
            "valueCodeableConcept": {"coding": [{"system": SCT, "code": site}]},
        }

    result = fhir_to_records(
        [
            patient("p1"),
            finding("f2", "77435000", "2026-06-01"),  # T8 again, later: one lesion
            finding("f1", "77435000", "2026-02-01T10:00:00Z"),  # T8
            finding("f3", "71341001", "2026-02-01"),  # the whole femur: no region, noted
        ]
    )
    record = result.records["p1"]
    assert [(x.site, x.date) for x in record.lesions] == [("T8", dt.date(2026, 2, 1))]
    assert record.cancer is not None and record.cancer.bone_metastases is True
    assert record.cancer.bone_metastases_date == dt.date(2026, 2, 1)
    assert any("f3: bone metastasis site not placed" in n for n in result.notes)
    assert result.counts["Observation"].imported == 3


def test_a_bone_metastasis_observation_without_a_placeable_site_still_says_present() -> None:
    """The whole femur has no region on the map: no lesion, but bone metastases are not lost."""
    obs = {
        "resourceType": "Observation",
        "id": "f1",
        "status": "final",
        "code": {"coding": [{"system": SCT, "code": "94222008"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-04",
        "valueCodeableConcept": {"coding": [{"system": SCT, "code": "71341001"}]},
    }
    record = fhir_to_records([patient("p1"), obs]).records["p1"]
    assert record.lesions == []
    assert record.cancer is not None and record.cancer.bone_metastases is True
    assert record.cancer.bone_metastases_date == dt.date(2026, 3, 4)
