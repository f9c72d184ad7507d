"""Our Synthea module (synthea/modules/metastatic_breast_cancer_bone.json): generate, import,
assess. Each patient alive when the module's window opens must come out as a woman with breast
cancer metastatic to bone, on denosumab or zoledronic acid, with the pathway's checks met."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics

import orjson
import pytest

from bonemets.core.pathway import assess
from bonemets.core.record import Record
from tests.synthea.conftest import (
    AGES,
    MODULE_NAME,
    MODULE_POPULATION,
    REFERENCE_DATE,
    SYNTHEA_DIR,
    Patient,
    generator_script,
)

WINDOW_OPENS = dt.date(2021, 1, 1)  # the module's Date guard
SNOMED = "http://snomed.info/sct"
BONE_METS = "94222008"
LESION_SITES = {"77435000", "55492004", "22356005", "29627003", "113197003"}


def on_pathway(cohort: list[Patient]) -> list[tuple[Patient, Record, dt.date]]:
    """(patient, record, as_of) for everyone alive when the window opened."""
    out = []
    for p in cohort:
        if p.deceased is not None and p.deceased < WINDOW_OPENS:
            continue
        record = next(iter(p.result.records.values()))
        out.append((p, record, p.deceased or REFERENCE_DATE))
    return out


def test_module_is_valid_gmf(synthea_version: str) -> None:
    from synthea.engine.module import Module

    definition = orjson.loads((SYNTHEA_DIR / "modules" / f"{MODULE_NAME}.json").read_bytes())
    module = Module._create_from_json(MODULE_NAME, definition)
    assert module.validate() == []


def test_every_bundle_imports_without_refusal(module_cohort: list[Patient]) -> None:
    assert len(module_cohort) == MODULE_POPULATION
    for p in module_cohort:
        assert p.result.refusals == [], p.path.name
        assert p.result.refused_patients == {}
        assert len(p.result.records) == 1


def test_cohort_has_both_agents_and_both_intervals(module_cohort: list[Patient]) -> None:
    patients = on_pathway(module_cohort)
    assert len(patients) >= 8
    seen = {(r.bma_plans[0].agent, r.bma_plans[0].interval_weeks) for _, r, _ in patients}
    assert seen == {("denosumab", 4.0), ("zoledronic_acid", 4.0), ("zoledronic_acid", 12.0)}


def test_records_show_breast_cancer_metastatic_to_bone(module_cohort: list[Patient]) -> None:
    for p, record, _ in on_pathway(module_cohort):
        assert p.has_code("Condition", SNOMED, BONE_METS)
        assert record.cancer is not None
        assert record.cancer.primary_site == "breast"
        assert record.cancer.bone_metastases is True
        assert record.cancer.bone_metastases_date is not None
        assert WINDOW_OPENS <= record.cancer.bone_metastases_date <= dt.date(2023, 1, 31)
        codes = {lab.code for lab in record.labs}
        assert {"calcium_total", "albumin", "creatinine", "alkaline_phosphatase", "ca15_3"} <= codes
        assert {i.modality for i in record.imaging} == {"bone_scan", "ct"}
        # The lesion sites are in the bundle, on the imaging series...
        sites = {
            s["bodySite"]["code"]
            for res in p.resources
            if res["resourceType"] == "ImagingStudy"
            for s in res["series"]
        }
        assert sites & LESION_SITES


def test_doses_follow_the_planned_interval(module_cohort: list[Patient]) -> None:
    for _, record, _ in on_pathway(module_cohort):
        (plan,) = record.bma_plans
        assert plan.interval_weeks is not None
        days = sorted(d.date for d in record.bma_doses)
        assert days[0] == plan.date
        gaps = [(b - a).days for a, b in itertools.pairwise(days)]
        step = round(plan.interval_weeks * 7)
        assert statistics.median(gaps) == step
        assert all(step <= g <= step + 7 for g in gaps), gaps


def test_assess_on_each_patient(module_cohort: list[Patient]) -> None:
    statuses = []
    for p, record, as_of in on_pathway(module_cohort):
        a = assess(record, as_of)
        bma = a.bma
        assert a.patient.sex == "female"
        assert a.patient.age is not None and AGES[0] - 1 <= a.patient.age <= AGES[1]
        assert bma.agent == record.bma_plans[0].agent, p.path.name
        assert bma.interval_weeks == record.bma_plans[0].interval_weeks
        assert bma.course_start == min(d.date for d in record.bma_doses)
        assert bma.last_dose == max(d.date for d in record.bma_doses)
        assert bma.route == ("sc" if bma.agent == "denosumab" else "iv")
        assert bma.status in ("not_due", "due", "withhold"), (p.path.name, bma.status_reason)
        checks = {c.check: c for c in bma.checks}
        dental = checks["dental_exam"]
        assert dental.status == "done"
        assert dental.date is not None and bma.course_start is not None
        assert dental.date < bma.course_start  # the exam came before the first dose
        if bma.status == "withhold":
            # Only for want of a creatinine within 14 days of a due zoledronic acid dose.
            assert bma.agent == "zoledronic_acid"
            assert checks["renal_function"].status == "missing"
            assert "creatinine" in (bma.status_reason or "").lower()
        if bma.agent == "zoledronic_acid":
            assert checks["creatinine_clearance"].status == "pass"
            assert bma.dose is not None and bma.dose.value is not None
        for item in a.monitoring:
            assert item.status != "never", (p.path.name, item.test)
            assert item.last is not None
        statuses.append(bma.status)
    assert "not_due" in statuses


SITE_OF = {
    "77435000": "T8",
    "55492004": "L3",
    "22356005": "pelvis_ilium",
    "29627003": "femur_head_neck",
    "113197003": "rib",
}


def test_lesions_are_read_at_their_site_and_date(module_cohort: list[Patient]) -> None:
    """Each bone-metastasis finding Observation (site as its value) is one lesion, dated by it."""
    for p, record, as_of in on_pathway(module_cohort):
        findings = {
            (SITE_OF[r["valueCodeableConcept"]["coding"][0]["code"]], r["effectiveDateTime"][:10])
            for r in p.resources
            if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == BONE_METS
        }
        assert findings, p.path.name
        lesions = {(x.site, x.date.isoformat()) for x in record.lesions}
        assert lesions == findings, p.path.name
        assert {x.site for x in assess(record, as_of).lesions} == {s for s, _ in findings}


def test_generation_is_deterministic(
    synthea_version: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gen = generator_script()
    runs = []
    for _ in range(2):
        paths = gen.generate(
            tmp_path_factory.mktemp("synthea-det"),
            population=2,
            seed=7,
            modules=[MODULE_NAME],
            extra_modules=SYNTHEA_DIR / "modules",
        )
        runs.append([(path.name, path.read_bytes()) for path in paths])
    assert runs[0] == runs[1]
    assert len(runs[0]) == 2
