"""order-sign over HTTP: a draft bone-modifying-agent order checked by the core's rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.cds.conftest import (
    AUTHORIZATION,
    PID,
    FhirServer,
    Service,
    bone_mets,
    by_rule,
    cards_of,
    corrected_calcium,
    creatinine,
    dental_exam,
    draft_order,
    order_sign_request,
    patient,
    prefetch_of,
    weight,
    zoledronic_given,
)

URL = "/cds-services/bonemets-order-sign"
Json = dict[str, Any]


def first_dose_patient(
    *, creat: float = 1.2, calcium: float = 2.4, dental: bool = True
) -> list[Json]:
    """Female, 76 on 2026-11-23, 70 kg: creatinine 1.2 mg/dL gives CrCl 44 mL/min."""
    out = [
        patient(),
        bone_mets(),
        creatinine("cr-1", creat, "2026-11-20"),
        corrected_calcium("ca-1", calcium, "2026-11-20"),
        weight("wt-1", 70, "2026-11-01"),
    ]
    if dental:
        out.append(dental_exam("dent-1", "2026-10-01"))
    return out


def on_zoledronic(doses: list[str], baseline_date: str, latest_creat: float) -> list[Json]:
    """On zoledronic acid since doses[0]; baseline creatinine 0.9 mg/dL (normal)."""
    return [
        patient(),
        bone_mets(),
        creatinine("cr-0", 0.9, baseline_date),
        creatinine("cr-1", latest_creat, "2026-11-20"),
        corrected_calcium("ca-1", 2.4, "2026-11-20"),
        weight("wt-1", 70, "2026-01-01"),
        dental_exam("dent-1", "2025-12-01"),
        *(zoledronic_given(f"zol-{i}", d, mg=3.5) for i, d in enumerate(doses)),
    ]


def sign(service: Service, orders: list[Json], resources: list[Json]) -> list[Json]:
    return cards_of(
        service.client.post(URL, json=order_sign_request(orders, prefetch_of(resources)))
    )


def serious(cards: list[Json]) -> list[Json]:
    return [c for c in cards if c["indicator"] != "info"]


def test_dose_above_the_clearance_band_is_critical_with_a_corrected_order(
    service: Service,
) -> None:
    order = draft_order("zoledronic_acid", 4, "iv", text="4 mg IV over 15 minutes every 4 weeks")
    cards = sign(service, [order], first_dose_patient())
    assert [c["source"]["topic"]["code"] for c in serious(cards)] == ["bma.dose"]
    dose = cards[0]
    assert dose["indicator"] == "critical"
    assert dose["summary"] == (
        "Zoledronic acid 4 mg; the dose for CrCl 44.1 mL/min is 3.3 mg (above it)."
    )
    assert "Cockcroft-Gault" in dose["detail"]
    assert "**Order** `MedicationRequest/draft-1`" in dose["detail"]
    assert dose["selectionBehavior"] == "at-most-one"
    [suggestion] = dose["suggestions"]
    assert suggestion["label"] == "Change the dose to 3.3 mg"
    assert suggestion["isRecommended"] is True
    [action] = suggestion["actions"]
    assert action["type"] == "update"
    resource = action["resource"]
    assert resource["id"] == "draft-1" and resource["status"] == "draft"
    dosage = resource["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {
        "value": 3.3,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert dosage["text"] == "3.3 mg IV over 15 minutes every 4 weeks"
    assert dosage["route"] == order["dosageInstruction"][0]["route"]  # the rest unchanged


def test_the_right_dose_raises_nothing(service: Service) -> None:
    cards = sign(service, [draft_order("zoledronic_acid", 3.3, "iv")], first_dose_patient())
    assert serious(cards) == []


def test_dose_below_the_band_is_a_warning(service: Service) -> None:
    cards = sign(
        service, [draft_order("zoledronic_acid", 3.0, "iv")], first_dose_patient(creat=0.7)
    )
    [dose] = serious(cards)
    assert dose["indicator"] == "warning"
    assert (
        dose["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0][
            "doseQuantity"
        ]["value"]
        == 4.0
    )


def test_clearance_below_30_withholds_and_offers_to_remove_the_order(service: Service) -> None:
    cards = sign(
        service, [draft_order("zoledronic_acid", 3.0, "iv")], first_dose_patient(creat=2.5)
    )
    dose = by_rule(cards)["bma.dose"]
    assert dose["indicator"] == "critical"
    assert dose["summary"].startswith("Zoledronic acid: do not give: CrCl")
    [action] = dose["suggestions"][0]["actions"]
    assert action == {
        "type": "delete",
        "description": "Remove the draft zoledronic acid order MedicationRequest/draft-1",
        "resourceId": "MedicationRequest/draft-1",
    }


def test_kidney_rise_from_a_normal_baseline_is_critical(service: Service) -> None:
    doses = [
        "2026-01-05", "2026-02-02", "2026-03-02", "2026-03-30", "2026-04-27", "2026-05-25",
        "2026-06-22", "2026-07-20", "2026-08-17", "2026-09-14", "2026-10-12", "2026-10-26",
    ]  # fmt: skip
    resources = on_zoledronic(doses, "2026-01-02", latest_creat=1.4)  # +0.5 mg/dL
    cards = sign(service, [draft_order("zoledronic_acid", 3.5, "iv")], resources)
    assert [c["source"]["topic"]["code"] for c in serious(cards)] == ["bma.kidney_rise"]
    kidney = cards[0]
    assert kidney["indicator"] == "critical"
    assert kidney["summary"].startswith("Zoledronic acid: withhold: Creatinine rose 0.5 mg/dL")
    assert "normal baseline 0.9 mg/dL" in kidney["detail"]
    assert "zometa-label" in kidney["detail"]


def test_low_calcium_before_denosumab_is_critical(service: Service) -> None:
    order = draft_order("denosumab", 120, "sc")
    cards = sign(service, [order], first_dose_patient(creat=0.9, calcium=1.9))
    calcium = by_rule(cards)["bma.low_calcium"]
    assert calcium["indicator"] == "critical"
    assert calcium["summary"].startswith(
        "Denosumab: withhold: Low calcium: corrected calcium 1.9 mmol/L on 2026-11-20"
    )
    assert "xgeva-smpc" in calcium["source"]["label"]
    assert [c["indicator"] for c in serious(cards)] == ["critical"]


def test_missing_dental_exam_before_a_first_dose_is_a_warning(service: Service) -> None:
    cards = sign(
        service, [draft_order("zoledronic_acid", 3.3, "iv")], first_dose_patient(dental=False)
    )
    [dental] = serious(cards)
    assert dental["source"]["topic"]["code"] == "bma.dental_exam"
    assert dental["indicator"] == "warning"
    assert dental["summary"] == (
        "Zoledronic acid: No dental exam on the record: advised, with preventive dentistry, before "
        "the first dose."
    )


def test_a_dose_too_soon_after_the_last_is_a_warning(service: Service) -> None:
    doses = ["2026-06-01", "2026-06-29", "2026-07-27", "2026-08-24", "2026-09-21", "2026-11-13"]
    resources = on_zoledronic(doses, "2026-05-28", latest_creat=0.9)
    cards = sign(service, [draft_order("zoledronic_acid", 3.5, "iv")], resources)
    [interval] = serious(cards)
    assert interval["source"]["topic"]["code"] == "bma.interval"
    assert interval["indicator"] == "warning"
    assert interval["summary"] == (
        "Zoledronic acid too soon: last dose on 2026-11-13, next due on 2026-12-11 (in 18 days)."
    )
    assert "(every 4 weeks), 18 days after 2026-11-23" in interval["detail"]


def test_a_dose_on_time_raises_nothing(service: Service) -> None:
    doses = ["2026-06-01", "2026-06-29", "2026-07-27", "2026-08-24", "2026-09-21", "2026-10-26"]
    resources = on_zoledronic(doses, "2026-05-28", latest_creat=0.9)
    cards = sign(service, [draft_order("zoledronic_acid", 3.5, "iv")], resources)
    assert serious(cards) == []


def test_orders_of_other_drugs_get_no_cards_and_no_fetch(
    service: Service, fhir_server: Callable[[list[Json]], FhirServer]
) -> None:
    server = fhir_server(first_dose_patient())
    service.configure(fhir_servers=("*",))
    other = draft_order("zoledronic_acid", 4, "iv")
    other["medicationCodeableConcept"] = {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "161"}],
        "text": "acetaminophen",
    }
    body = order_sign_request([other], fhirServer=server.url)
    assert cards_of(service.client.post(URL, json=body)) == []
    assert server.requests == []


def test_order_sign_fetches_from_the_fhir_server(
    service: Service, fhir_server: Callable[[list[Json]], FhirServer]
) -> None:
    resources = first_dose_patient()
    # The client's MedicationRequest search also returns the draft itself: it is not a plan.
    order = draft_order("zoledronic_acid", 4, "iv")
    server = fhir_server([*resources, {**order, "status": "active"}])
    service.configure(fhir_servers=(server.url,))
    body = order_sign_request(
        [order],
        fhirServer=server.url,
        fhirAuthorization=AUTHORIZATION,
    )
    cards = cards_of(service.client.post(URL, json=body))
    dose = by_rule(cards)["bma.dose"]
    assert dose["indicator"] == "critical"
    assert "MedicationRequest ×0 (fetched from the FHIR server)" in dose["detail"]
    assert f"/fhir/Patient/{PID}" in {p for p, _, _ in server.requests}


def test_order_without_a_dose_gets_the_dose_to_set(service: Service) -> None:
    cards = sign(service, [draft_order("zoledronic_acid", None, "iv")], first_dose_patient())
    [dose] = serious(cards)
    assert dose["indicator"] == "warning"
    assert dose["summary"] == (
        "Zoledronic acid: The order gives no dose; the dose for this patient is 3.3 mg."
    )
    action = dose["suggestions"][0]["actions"][0]
    assert (
        action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 3.3
    )


def test_unknown_clearance_says_the_dose_cannot_be_checked(service: Service) -> None:
    resources = [r for r in first_dose_patient() if r.get("id") != "wt-1"]
    cards = sign(service, [draft_order("zoledronic_acid", 4, "iv")], resources)
    dose = by_rule(cards)["bma.dose"]
    assert dose["indicator"] == "warning"
    assert dose["summary"].startswith(
        "Zoledronic acid dose cannot be checked: Creatinine clearance"
    )
    assert "no weight" in dose["summary"]


def test_a_route_the_agent_is_not_given_by_is_critical(service: Service) -> None:
    cards = sign(service, [draft_order("zoledronic_acid", 3.3, "oral")], first_dose_patient())
    card = by_rule(cards)["cds.order.unreadable"]
    assert card["indicator"] == "critical"
    assert "not given by route 'oral'" in card["summary"]
