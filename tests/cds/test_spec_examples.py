"""The CDS Hooks specification's own examples replayed against the service (data/spec/README.md
says where each comes from), draft orders shaped as Epic and Oracle Health (Cerner) send them,
Medications behind `medicationReference`, feedback, CORS and the request size limit."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from bonemets.adapters.storage import tables as t
from bonemets.faces.cds.cards import OVERRIDE_SYSTEM
from bonemets.faces.cds.models import CdsResponse, Discovery
from bonemets.faces.cds.prefetch import CORE_KEYS, KEYS, RESOURCE_TYPES
from tests.cds.conftest import (
    AUTHORIZATION,
    PID,
    RXNORM,
    SNOMED,
    UCUM,
    FhirServer,
    Service,
    by_rule,
    cards_of,
    draft_order,
    hypercalcaemia_overdue,
    order_sign_request,
    patient_view_request,
    prefetch_of,
    zoledronic_given,
)
from tests.cds.test_order_sign import first_dose_patient

SPEC = Path(__file__).parent / "data" / "spec"
PV = "/cds-services/bonemets-patient-view"
OS = "/cds-services/bonemets-order-sign"
Json = dict[str, Any]


def spec(name: str) -> Json:
    data: Json = orjson.loads((SPEC / name).read_bytes())
    return data


def hook_call(hook: str, context: Json, **extra: Any) -> Json:
    return {
        "hook": hook,
        "hookInstance": "7b8f1c3e-9a27-4f5e-8d61-2f3c4b5a6d70",
        "context": context,
    } | extra


# --- The specification's examples -----------------------------------------------------------------


def test_the_discovery_and_response_examples_fit_our_models() -> None:
    Discovery.model_validate(spec("discovery.json"))
    response = CdsResponse.model_validate(spec("response.json"))
    assert response.cards[0].links is not None and response.cards[0].links[2].type == "smart"
    assert response.cards[1].overrideReasons is not None


def test_the_calling_example_is_412_it_names_no_prefetch_of_ours(service: Service) -> None:
    # Its only prefetch key is patientToGreet, and its fhirServer is not one we may call.
    request = spec("patient-view-request.json")
    response = service.client.post(PV, json=request)
    assert response.status_code == 412
    detail = response.json()["detail"]
    assert set(detail["missing"]) == {RESOURCE_TYPES[k] for k in CORE_KEYS}
    assert "BONEMETS_CDS_FHIR_SERVERS" in detail["missing"]["Patient"]
    assert request["fhirAuthorization"]["access_token"] not in response.text


def test_the_calling_example_with_our_prefetch_keys(service: Service) -> None:
    request = spec("patient-view-request.json")
    # The example's Patient under our key, and "the client has none" for every search.
    request["prefetch"] = {k: None for k in KEYS} | {
        "patient": request["prefetch"]["patientToGreet"]
    }
    cards = cards_of(service.client.post(PV, json=request))
    assert all(c["indicator"] != "critical" for c in cards)
    for c in cards:
        assert "Patient ×1 (prefetch)" in c["detail"]
        assert "Observation: none (the client has none)" in c["detail"]


def test_the_prefetch_data_example_lacks_our_searches_412(service: Service) -> None:
    request = hook_call(
        "patient-view",
        {"userId": "Practitioner/example", "patientId": "1288992"},
        prefetch=spec("prefetch-data.json")["prefetch"],
    )
    request["prefetch"]["patient"]["id"] = "1288992"
    response = service.client.post(PV, json=request)
    assert response.status_code == 412
    missing = response.json()["detail"]["missing"]
    assert "Patient" not in missing and "Observation" in missing


@pytest.mark.parametrize(
    "name",
    ["order-sign-r4-context.json", "order-sign-stu3-context.json", "order-sign-dstu2-context.json"],
)
def test_the_order_sign_examples_get_no_cards_and_read_nothing(service: Service, name: str) -> None:
    # A pureed diet and amoxicillin: nothing of ours to check. No prefetch and no fhirServer are
    # given, so reading any data would have been a 412.
    response = service.client.post(OS, json=hook_call("order-sign", spec(name)["context"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


@pytest.mark.parametrize(
    "name", ["feedback-accepted.json", "feedback-overridden.json", "feedback-override-reason.json"]
)
def test_the_feedback_examples_are_stored(service: Service, name: str) -> None:
    body = spec(name)
    response = service.client.post("/cds-services/bonemets-order-sign/feedback", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 1, "known_cards": 0}
    with service.db.transaction() as s:
        [row] = s.scalars(select(t.CdsFeedback))
        assert row.card_uuid == body["feedback"][0]["card"]
        assert row.outcome == body["feedback"][0]["outcome"]
        if name == "feedback-override-reason.json":
            assert row.reason_code == "d7ecf885"
            assert row.user_comment == "A comment entered by the clinician."
        if name == "feedback-accepted.json":
            assert row.accepted_suggestions == ["e56e1945-20b3-4393-8503-a1a20fd73152"]


def test_feedback_that_breaks_the_rules_is_422_and_stores_nothing(service: Service) -> None:
    url = "/cds-services/bonemets-order-sign/feedback"
    accepted = spec("feedback-accepted.json")
    del accepted["feedback"][0]["acceptedSuggestions"]
    bad_outcome = spec("feedback-overridden.json")
    bad_outcome["feedback"][0]["outcome"] = "ignored"
    for body in (accepted, bad_outcome, {"feedback": []}):
        assert service.client.post(url, json=body).status_code == 422
    assert (
        service.client.post(
            "/cds-services/nope/feedback", json=spec("feedback-overridden.json")
        ).status_code
        == 404
    )
    with service.db.transaction() as s:
        assert list(s.scalars(select(t.CdsFeedback))) == []


# --- Override reasons, fed back ----------------------------------------------------------------


def test_a_card_to_override_offers_reasons_and_its_feedback_names_the_rule(
    service: Service,
) -> None:
    order = draft_order("zoledronic_acid", 4, "iv")
    body = order_sign_request([order], prefetch_of(first_dose_patient()))
    cards = cards_of(service.client.post(OS, json=body))
    dose = by_rule(cards)["bma.dose"]
    reasons = dose["overrideReasons"]
    assert {r["system"] for r in reasons} == {OVERRIDE_SYSTEM}
    assert all(r["display"] for r in reasons)
    # Cards that need no reason to go ahead offer none.
    assert all("overrideReasons" not in c for c in cards if c["indicator"] == "info")
    chosen = reasons[0]
    feedback = {
        "feedback": [
            {
                "card": dose["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": chosen, "userComment": "Renal team agreed 4 mg."},
                "outcomeTimestamp": "2026-11-23T10:05:31Z",
            }
        ]
    }
    response = service.client.post("/cds-services/bonemets-order-sign/feedback", json=feedback)
    assert response.json() == {"stored": 1, "known_cards": 1}
    with service.db.transaction() as s:
        issued = s.get(t.CdsCard, dose["uuid"])
        assert issued is not None and issued.rule == "bma.dose" and issued.ehr_patient == PID
        [row] = s.scalars(select(t.CdsFeedback))
        assert (row.reason_code, row.user_comment) == (chosen["code"], "Renal team agreed 4 mg.")


# --- Draft orders as EHRs send them -------------------------------------------------------------

EPIC_MED_SYSTEM = "urn:oid:1.2.840.114350.1.13.0.1.7.2.698288"  # an EHR's own medication ids
ZOLEDRONIC_4MG = {
    "system": RXNORM,
    "code": "1114085",
    "display": "100 ML zoledronic acid 0.04 MG/ML Injection",
}


def _dose(mg: float) -> Json:
    return {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}


def epic_style_order(mg: float = 4) -> Json:
    """Epic-style: the medication as a contained Medication behind medicationReference, with the
    EHR's own code beside RxNorm; the route in the EHR's code system, SNOMED CT beside it."""
    return {
        "resourceType": "MedicationRequest",
        "id": "eQfVNSxTRLKX0J3ex8Pd7Ag3",
        "contained": [
            {
                "resourceType": "Medication",
                "id": "med1",
                "code": {
                    "coding": [
                        {
                            "system": EPIC_MED_SYSTEM,
                            "code": "215893",
                            "display": "ZOLEDRONIC ACID 4 MG/100 ML IV SOLN",
                        },
                        ZOLEDRONIC_4MG,
                    ],
                    "text": "zoledronic acid (ZOMETA) 4 mg/100 mL IVPB",
                },
            }
        ],
        "status": "draft",
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                        "code": "outpatient",
                    }
                ]
            }
        ],
        "medicationReference": {
            "reference": "#med1",
            "display": "zoledronic acid (ZOMETA) 4 mg/100 mL IVPB",
        },
        "subject": {"reference": f"Patient/{PID}", "display": "Example, Margaret"},
        "encounter": {"reference": "Encounter/eXY1"},
        "requester": {
            "reference": "Practitioner/eM5CWtq15N0WJeuCet5bJlQ3",
            "display": "Physician, MD",
        },
        "dosageInstruction": [
            {
                "text": "4 mg, intravenous, once, over 15 Minutes, every 4 weeks",
                "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "wk"}},
                "route": {
                    "coding": [
                        {
                            "system": "urn:oid:1.2.840.114350.1.13.0.1.7.4.698288.330",
                            "code": "11",
                            "display": "Intravenous",
                        },
                        {
                            "system": SNOMED,
                            "code": "47625008",
                            "display": "Intravenous route (qualifier value)",
                        },
                    ],
                    "text": "Intravenous",
                },
                "doseAndRate": [
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": "http://epic.com/CodeSystem/dose-rate-type",
                                    "code": "calculated",
                                    "display": "calculated",
                                }
                            ]
                        },
                        "doseQuantity": _dose(mg),
                    }
                ],
            }
        ],
    }


def oracle_style_order(mg: float = 4) -> Json:
    """Oracle Health (Cerner) style: RxNorm in medicationCodeableConcept with the order's text,
    the route in the EHR's code set only, and the dose with its UCUM unit."""
    return {
        "resourceType": "MedicationRequest",
        "id": "313757847",
        "status": "draft",
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                        "code": "inpatient",
                        "display": "Inpatient",
                    }
                ],
                "text": "Inpatient",
            }
        ],
        "medicationCodeableConcept": {
            "coding": [{**ZOLEDRONIC_4MG, "userSelected": True}],
            "text": "zoledronic acid",
        },
        "subject": {"reference": f"Patient/{PID}"},
        "requester": {"reference": "Practitioner/12742069"},
        "dosageInstruction": [
            {
                "text": f"{mg:g} mg, IV, every 4 weeks, infuse over 15 min",
                "timing": {
                    "repeat": {"frequency": 1, "period": 4, "periodUnit": "wk"},
                    "code": {"text": "every 4 weeks"},
                },
                "route": {
                    "coding": [
                        {
                            "system": "https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet/4001",
                            "code": "318185",
                            "display": "IV",
                            "userSelected": True,
                        }
                    ],
                    "text": "IV",
                },
                "doseAndRate": [{"doseQuantity": _dose(mg)}],
            }
        ],
    }


def _the_dose_card(cards: list[Json], order_id: str) -> Json:
    dose = by_rule(cards)["bma.dose"]
    assert dose["indicator"] == "critical"
    assert (
        dose["summary"]
        == "Zoledronic acid 4 mg; the dose for CrCl 44.1 mL/min is 3.3 mg (above it)."
    )
    [suggestion] = dose["suggestions"]
    [action] = suggestion["actions"]
    assert action["resource"]["id"] == order_id
    assert (
        action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 3.3
    )
    return action["resource"]


@pytest.mark.parametrize("make", [epic_style_order, oracle_style_order], ids=["epic", "oracle"])
def test_ehr_shaped_draft_orders_are_checked_like_our_own(
    service: Service, make: Callable[[float], Json]
) -> None:
    ours = cards_of(
        service.client.post(
            OS,
            json=order_sign_request(
                [draft_order("zoledronic_acid", 4, "iv")], prefetch_of(first_dose_patient())
            ),
        )
    )
    order = make(4)
    cards = cards_of(
        service.client.post(OS, json=order_sign_request([order], prefetch_of(first_dose_patient())))
    )
    assert [(c["source"]["topic"]["code"], c["indicator"]) for c in cards] == [
        (c["source"]["topic"]["code"], c["indicator"]) for c in ours
    ]
    corrected = _the_dose_card(cards, order["id"])
    # The corrected order is the EHR's own resource, with the dose (and its text) changed only.
    expected = copy.deepcopy(order)
    expected["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 3.3
    expected["dosageInstruction"][0]["text"] = order["dosageInstruction"][0]["text"].replace(
        "4 mg", "3.3 mg"
    )
    assert corrected == expected
    right = cards_of(
        service.client.post(
            OS, json=order_sign_request([make(3.3)], prefetch_of(first_dose_patient()))
        )
    )
    assert [c for c in right if c["indicator"] != "info"] == []


def _by_reference(order: Json, reference: str) -> Json:
    order = copy.deepcopy(order)
    order.pop("contained")
    order["medicationReference"] = {"reference": reference}
    return order


def test_a_medication_held_in_the_draft_orders_bundle(service: Service) -> None:
    order = _by_reference(epic_style_order(), "Medication/zol-4mg")
    medication = {
        "resourceType": "Medication",
        "id": "zol-4mg",
        "code": {"coding": [ZOLEDRONIC_4MG]},
    }
    body = order_sign_request([order, medication], prefetch_of(first_dose_patient()))
    _the_dose_card(cards_of(service.client.post(OS, json=body)), order["id"])


def test_a_medication_read_from_the_fhir_server(
    service: Service, fhir_server: Callable[[list[Json]], FhirServer]
) -> None:
    medication = {
        "resourceType": "Medication",
        "id": "zol-4mg",
        "code": {"coding": [ZOLEDRONIC_4MG]},
    }
    server = fhir_server([medication])
    service.configure(fhir_servers=(server.url,))
    order = _by_reference(epic_style_order(), f"{server.url}/Medication/zol-4mg")
    body = order_sign_request(
        [order],
        prefetch_of(first_dose_patient()),
        fhirServer=server.url,
        fhirAuthorization=AUTHORIZATION,
    )
    _the_dose_card(cards_of(service.client.post(OS, json=body)), order["id"])
    assert [p for p, _q, _a in server.requests] == ["/fhir/Medication/zol-4mg"]


def test_a_medication_that_cannot_be_read_is_said_not_passed(service: Service) -> None:
    order = _by_reference(epic_style_order(), "Medication/unknown")
    body = order_sign_request([order], prefetch_of(first_dose_patient()))
    cards = cards_of(service.client.post(OS, json=body))
    unread = by_rule(cards)["cds.order.medication_unread"]
    assert unread["indicator"] == "warning"
    assert f"MedicationRequest/{order['id']} (Medication/unknown)" in unread["detail"]


def test_prefetched_doses_behind_medication_references_count(service: Service) -> None:
    plain = hypercalcaemia_overdue()
    expected = [
        (c["source"]["topic"]["code"], c["summary"])
        for c in cards_of(service.client.post(PV, json=patient_view_request(prefetch_of(plain))))
    ]
    resources = []
    for r in plain:
        if r["resourceType"] == "MedicationAdministration":
            r = {k: v for k, v in r.items() if k != "medicationCodeableConcept"}
            r["medicationReference"] = {"reference": "Medication/zol"}
        resources.append(r)
    prefetch = prefetch_of(resources)
    medication = {
        "resourceType": "Medication",
        "id": "zol",
        "code": {"coding": [{"system": RXNORM, "code": "77655"}]},
    }
    prefetch["administrations"]["entry"].append(
        {"resource": medication, "search": {"mode": "include"}}
    )
    cards = cards_of(service.client.post(PV, json=patient_view_request(prefetch)))
    assert [(c["source"]["topic"]["code"], c["summary"]) for c in cards] == expected
    # Without the Medication, the doses cannot be told to be zoledronic acid: said, not hidden.
    prefetch["administrations"]["entry"].pop()
    cards = cards_of(service.client.post(PV, json=patient_view_request(prefetch)))
    incomplete = by_rule(cards)["cds.data_incomplete"]
    assert incomplete["indicator"] == "warning"
    assert "5 medication reference" not in incomplete["detail"]  # one reference, five doses
    assert "1 medication reference(s) could not be read (Medication/zol)" in incomplete["detail"]
    assert all("**Incomplete data:**" in c["detail"] for c in cards if c is not incomplete)


def test_a_given_dose_from_another_patient_is_refused(service: Service) -> None:
    resources = [*hypercalcaemia_overdue(), zoledronic_given("stranger", "2026-10-01", pid="pat-9")]
    response = service.client.post(PV, json=patient_view_request(prefetch_of(resources)))
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == "prefetch.administrations"


# --- CORS and the size limit -------------------------------------------------------------------


def test_browser_ehrs_get_cors_on_preflight_and_answers(service: Service) -> None:
    origin = "https://sandbox.cds-hooks.org"
    preflight = service.client.options(
        PV,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "authorization,content-type"
    answer = service.client.post(
        PV,
        json=patient_view_request(prefetch_of(hypercalcaemia_overdue())),
        headers={"Origin": origin},
    )
    assert answer.headers["access-control-allow-origin"] == "*"
    error = service.client.post(PV, content=b"[]", headers={"Origin": origin})
    assert error.status_code == 400 and error.headers["access-control-allow-origin"] == "*"
    # With a list of origins, only those get the header.
    service.configure(cors_origins=("https://ehr.example.org",))
    other = service.client.get("/cds-services", headers={"Origin": origin})
    assert "access-control-allow-origin" not in other.headers
    ok = service.client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert ok.headers["access-control-allow-origin"] == "https://ehr.example.org"
    assert ok.headers["vary"] == "Origin"


def test_a_body_over_the_limit_is_413_before_it_is_parsed(service: Service) -> None:
    service.configure(max_body_bytes=50_000)
    body = orjson.dumps(patient_view_request(prefetch_of(hypercalcaemia_overdue())))
    assert len(body) < 50_000
    assert service.client.post(PV, content=body).status_code == 200
    padded = patient_view_request(prefetch_of(hypercalcaemia_overdue()), padding="x" * 50_000)
    response = service.client.post(PV, content=orjson.dumps(padded))
    assert response.status_code == 413
    # Sent in chunks without a length, it is cut off while streaming.
    chunks = iter([orjson.dumps(padded)[i : i + 8192] for i in range(0, 60_000, 8192)])
    streamed = service.client.post(PV, content=chunks)
    assert streamed.status_code == 413
