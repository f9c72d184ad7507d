"""patient-view over HTTP: full prefetch, prefetch fetched from a FHIR server, partial prefetch,
an unreachable or disallowed server."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import orjson

from bonemets.faces.cds.models import CdsResponse
from bonemets.faces.cds.prefetch import CORE_KEYS, KEYS, RESOURCE_TYPES
from bonemets.faces.cds.service import cds_db, cds_settings, clock, today
from tests.cds.conftest import (
    AUTHORIZATION,
    PID,
    TOKEN,
    FhirServer,
    Service,
    by_rule,
    cards_of,
    free_port,
    hypercalcaemia_overdue,
    patient,
    patient_view_request,
    prefetch_of,
)

URL = "/cds-services/bonemets-patient-view"
MRN = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"  # an EHR's MRN system (Epic-style OID)
FAILED_QUERY = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "timeout", "diagnostics": "query timed out"}],
}


def with_mrn(resource: dict[str, Any], mrn: str) -> dict[str, Any]:
    return {**resource, "identifier": [{"system": MRN, "value": mrn}]}


def _essence(cards: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """What a card says, without its uuid (new on every call)."""
    return [(c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in cards]


def test_full_prefetch_gives_the_alerts_as_cards(service: Service) -> None:
    response = service.client.post(
        URL, json=patient_view_request(prefetch_of(hypercalcaemia_overdue()))
    )
    cards = cards_of(response)
    rules = by_rule(cards)

    calcium = rules["labs.hypercalcaemia"]
    assert calcium["indicator"] == "critical"  # CTCAE grade 3: emergency
    assert calcium["summary"] == "Calcium corrected 3.20 mmol/L on 2026-11-20: CTCAE grade 3."
    assert cards[0] is calcium  # most urgent first
    assert "ctcae-v5" in calcium["source"]["label"]
    assert "**Data read:**" in calcium["detail"]
    assert "Observation ×4 (prefetch)" in calcium["detail"]
    assert "level **emergency**, shown as *critical*" in calcium["detail"]

    overdue = rules["bma.overdue"]
    assert overdue["indicator"] == "info"  # routine
    assert "due on 2026-09-29" in overdue["summary"]

    # Pathway gaps, with no alert of their own: info cards.
    assert rules["bma.de_escalation"]["indicator"] == "info"
    assert rules["bma.checks.calcium_vitamin_d_supplement"]["indicator"] == "info"
    assert not any(c["source"]["topic"]["code"].startswith("cds.") for c in cards)  # data whole

    for c in cards:
        # A SMART app launch into our app: the EHR adds iss and launch, and our app finds the
        # patient by the EHR patient's identifier (never /patients/<EHR id>).
        assert c["links"] == [
            {
                "label": "Open the patient in bonemets (SMART app)",
                "url": "https://bonemets.test/smart/launch",
                "type": "smart",
            }
        ]
        assert c["source"]["topic"]["system"].endswith("/cds-rule")
        assert "does not replace clinical judgement" in c["detail"]
    assert len({c["uuid"] for c in cards}) == len(cards)


def test_source_url_when_the_source_has_one(service: Service) -> None:
    resources = hypercalcaemia_overdue()
    cards = cards_of(service.client.post(URL, json=patient_view_request(prefetch_of(resources))))
    with_url = [c for c in cards if "url" in c["source"]]
    for c in with_url:
        assert c["source"]["url"].startswith("https://")
    # Sources without an address leave `url` out (never null).
    assert any("url" not in c["source"] for c in cards)


def test_public_url_setting_overrides_the_request_base(service: Service) -> None:
    service.configure(public_url="https://care.example.org/bonemets/")
    cards = cards_of(
        service.client.post(URL, json=patient_view_request(prefetch_of(hypercalcaemia_overdue())))
    )
    assert cards[0]["links"][0]["url"] == "https://care.example.org/bonemets/smart/launch"


def test_without_prefetch_the_data_is_fetched_from_the_fhir_server(
    service: Service, fhir_server: Callable[[list[dict[str, Any]]], FhirServer]
) -> None:
    resources = hypercalcaemia_overdue()
    expected = _essence(
        cards_of(service.client.post(URL, json=patient_view_request(prefetch_of(resources))))
    )
    server = fhir_server(resources)
    service.configure(fhir_servers=(server.url,))
    body = patient_view_request(
        fhirServer=server.url,
        fhirAuthorization=AUTHORIZATION,
    )
    cards = cards_of(service.client.post(URL, json=body))
    assert _essence(cards) == expected
    assert "(fetched from the FHIR server)" in cards[0]["detail"]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in server.requests)
    paths = {path for path, _, _ in server.requests}
    assert f"/fhir/Patient/{PID}" in paths
    assert "/fhir/Observation" in paths
    observation_queries = [q for p, q, _ in server.requests if p == "/fhir/Observation"]
    assert any("_offset=3" in q for q in observation_queries)  # paging followed
    assert "2160-0" in observation_queries[0]  # the LOINC codes we read


def test_partial_prefetch_fetches_only_what_is_missing(
    service: Service, fhir_server: Callable[[list[dict[str, Any]]], FhirServer]
) -> None:
    resources = hypercalcaemia_overdue()
    expected = _essence(
        cards_of(service.client.post(URL, json=patient_view_request(prefetch_of(resources))))
    )
    server = fhir_server(resources)
    service.configure(fhir_servers=(server.url,))
    partial = prefetch_of(resources, keys=("patient", "observations"))
    body = patient_view_request(
        partial,
        fhirServer=server.url,
        fhirAuthorization=AUTHORIZATION,
    )
    assert _essence(cards_of(service.client.post(URL, json=body))) == expected
    paths = {path for path, _, _ in server.requests}
    assert "/fhir/Observation" not in paths and f"/fhir/Patient/{PID}" not in paths
    assert "/fhir/MedicationAdministration" in paths


def _paged(server: FhirServer, prefetch: dict[str, Any]) -> dict[str, Any]:
    """The administrations prefetch cut to its first page, with a next link as a server pages."""
    bundle = prefetch["administrations"]
    bundle["entry"] = bundle["entry"][:1]
    bundle["link"] = [
        {
            "relation": "next",
            "url": f"{server.url}/MedicationAdministration?patient={PID}&_offset=1",
        }
    ]
    return prefetch


def test_a_paged_prefetch_is_followed_through_the_fhir_server(
    service: Service, fhir_server: Callable[[list[dict[str, Any]]], FhirServer]
) -> None:
    resources = hypercalcaemia_overdue()
    expected = _essence(
        cards_of(service.client.post(URL, json=patient_view_request(prefetch_of(resources))))
    )
    server = fhir_server(resources)
    service.configure(fhir_servers=(server.url,))
    body = patient_view_request(
        _paged(server, prefetch_of(resources)),
        fhirServer=server.url,
        fhirAuthorization=AUTHORIZATION,
    )
    cards = cards_of(service.client.post(URL, json=body))
    assert _essence(cards) == expected  # the same cards as with every dose in the prefetch
    assert "MedicationAdministration ×5 (prefetch)" in cards[0]["detail"]
    # Only the pages after the first were read, each with the token.
    assert [(p, q) for p, q, _ in server.requests] == [
        ("/fhir/MedicationAdministration", f"patient={PID}&_offset=1"),
        ("/fhir/MedicationAdministration", f"patient={PID}&_offset=4"),
    ]


def test_a_paged_prefetch_that_cannot_be_followed_is_412_not_a_partial_record(
    service: Service, fhir_server: Callable[[list[dict[str, Any]]], FhirServer]
) -> None:
    resources = hypercalcaemia_overdue()
    server = fhir_server(resources)
    # Read as complete, the first page's one dose would make the next dose look overdue.
    response = service.client.post(
        URL, json=patient_view_request(_paged(server, prefetch_of(resources)))
    )
    assert response.status_code == 412
    missing = response.json()["detail"]["missing"]
    assert "paged" in missing["MedicationAdministration"]
    assert server.requests == []


def test_a_next_link_off_the_request_server_is_not_followed(
    service: Service, fhir_server: Callable[[list[dict[str, Any]]], FhirServer]
) -> None:
    resources = hypercalcaemia_overdue()
    server = fhir_server(resources)
    elsewhere = fhir_server(resources)
    service.configure(fhir_servers=(server.url, elsewhere.url))
    prefetch = _paged(elsewhere, prefetch_of(resources))  # next page on another allowed server
    body = patient_view_request(prefetch, fhirServer=server.url, fhirAuthorization=AUTHORIZATION)
    response = service.client.post(URL, json=body)
    assert response.status_code == 412
    assert (
        "not on the request's FHIR server"
        in response.json()["detail"]["missing"]["MedicationAdministration"]
    )
    assert elsewhere.requests == [] and server.requests == []


def test_an_operation_outcome_prefetch_is_fetched_again(
    service: Service, fhir_server: Callable[[list[dict[str, Any]]], FhirServer]
) -> None:
    resources = hypercalcaemia_overdue()
    expected = _essence(
        cards_of(service.client.post(URL, json=patient_view_request(prefetch_of(resources))))
    )
    server = fhir_server(resources)
    service.configure(fhir_servers=(server.url,))
    prefetch = prefetch_of(resources)
    prefetch["observations"] = FAILED_QUERY
    body = patient_view_request(prefetch, fhirServer=server.url, fhirAuthorization=AUTHORIZATION)
    cards = cards_of(service.client.post(URL, json=body))
    assert _essence(cards) == expected
    assert "Observation ×4 (fetched from the FHIR server)" in cards[0]["detail"]


def test_an_operation_outcome_prefetch_without_a_server_is_412(service: Service) -> None:
    # "That query failed" must never read as "no creatinine on the record".
    prefetch = prefetch_of(hypercalcaemia_overdue())
    prefetch["observations"] = FAILED_QUERY
    response = service.client.post(URL, json=patient_view_request(prefetch))
    assert response.status_code == 412
    why = response.json()["detail"]["missing"]["Observation"]
    assert "prefetch query failed (error timeout: query timed out)" in why


def test_an_operation_outcome_on_an_optional_key_is_an_incomplete_data_card(
    service: Service,
) -> None:
    prefetch = prefetch_of(hypercalcaemia_overdue())
    prefetch["symptoms"] = FAILED_QUERY
    cards = cards_of(service.client.post(URL, json=patient_view_request(prefetch)))
    data = by_rule(cards)["cds.data_unavailable"]
    assert data["indicator"] == "info"
    assert "prefetch query failed" in data["detail"]
    assert all("**Incomplete data:**" in c["detail"] for c in cards if c is not data)


def test_unreachable_fhir_server_is_412(service: Service) -> None:
    service.configure(fhir_servers=("*",), fetch_timeout_s=3)
    dead = f"http://127.0.0.1:{free_port()}/fhir"  # nothing listens there
    body = patient_view_request(
        fhirServer=dead,
        fhirAuthorization=AUTHORIZATION,
    )
    response = service.client.post(URL, json=body)
    assert response.status_code == 412
    detail = response.json()["detail"]
    assert set(detail["missing"]) == {RESOURCE_TYPES[k] for k in CORE_KEYS}
    assert f"could not be read from {dead}" in detail["missing"]["Patient"]


def test_missing_prefetch_without_a_server_is_412(service: Service) -> None:
    resources = hypercalcaemia_overdue()
    prefetch = prefetch_of(resources, keys=tuple(k for k in KEYS if k != "observations"))
    response = service.client.post(URL, json=patient_view_request(prefetch))
    assert response.status_code == 412
    assert response.json()["detail"]["missing"] == {
        "Observation": "not in the prefetch, and the request names no fhirServer"
    }


def test_only_optional_keys_missing_is_an_info_card(service: Service) -> None:
    prefetch = prefetch_of(hypercalcaemia_overdue(), keys=CORE_KEYS)
    cards = cards_of(service.client.post(URL, json=patient_view_request(prefetch)))
    data = by_rule(cards)["cds.data_unavailable"]
    assert data["indicator"] == "info"
    assert "QuestionnaireResponse" in data["detail"]


def test_a_server_not_on_the_list_is_never_called(
    service: Service, fhir_server: Callable[[list[dict[str, Any]]], FhirServer]
) -> None:
    server = fhir_server(hypercalcaemia_overdue())
    service.configure(fhir_servers=("https://ehr.example.org/fhir",))
    body = patient_view_request(fhirServer=server.url)
    response = service.client.post(URL, json=body)
    assert response.status_code == 412
    assert server.requests == []
    assert "BONEMETS_CDS_FHIR_SERVERS" in response.json()["detail"]["missing"]["Patient"]


def test_null_prefetch_means_no_data_not_a_fetch(service: Service) -> None:
    resources = hypercalcaemia_overdue()
    prefetch = prefetch_of(resources)
    prefetch["procedures"] = None  # the client has none
    cards = cards_of(service.client.post(URL, json=patient_view_request(prefetch)))
    rules = by_rule(cards)
    assert "cds.data_unavailable" not in rules
    assert "Procedure: none (the client has none)" in cards[0]["detail"]
    assert rules["bma.checks.dental_exam"]["indicator"] == "info"


def test_refused_resources_are_listed(service: Service) -> None:
    resources = hypercalcaemia_overdue()
    resources[3]["valueQuantity"]["code"] = resources[3]["valueQuantity"]["unit"] = "furlong"
    cards = cards_of(service.client.post(URL, json=patient_view_request(prefetch_of(resources))))
    rules = by_rule(cards)
    refused = rules["cds.data_refused"]
    assert refused["indicator"] == "warning"
    assert "Observation/cr-1" in refused["detail"]
    # Issue 22: the refused resource alone is left out; the other cards stay.
    whole = by_rule(
        cards_of(
            service.client.post(
                URL, json=patient_view_request(prefetch_of(hypercalcaemia_overdue()))
            )
        )
    )
    assert "labs.hypercalcaemia" in whole and "labs.hypercalcaemia" in rules


def test_the_answer_is_the_response_models_own_json(service: Service) -> None:
    response = service.client.post(
        URL, json=patient_view_request(prefetch_of(hypercalcaemia_overdue()))
    )
    assert response.headers["content-type"] == "application/json"
    model = CdsResponse.model_validate_json(response.content)
    # The bytes on the wire are exactly the validated models serialised: nothing added or lost.
    assert model.to_bytes() == response.content
    assert orjson.loads(response.content) == model.to_json()
    assert [c.indicator for c in model.cards][:1] == ["critical"]


def test_each_patient_gets_its_own_link_and_each_rule_its_own_source(service: Service) -> None:
    # Links and sources are validated once and shared between cards: never across patients.
    service.configure(mrn_system=MRN)
    other = "pat-2"
    body = patient_view_request(
        {k: None for k in KEYS} | {"patient": with_mrn(patient(other), "B-2")}
    )
    body["context"]["patientId"] = other
    cards_other = cards_of(service.client.post(URL, json=body))
    resources = [with_mrn(patient(), "A-1"), *hypercalcaemia_overdue()[1:]]
    cards_pid = cards_of(
        service.client.post(URL, json=patient_view_request(prefetch_of(resources)))
    )
    quoted = MRN.replace(":", "%3A").replace("/", "%2F")
    assert {c["links"][1]["url"] for c in cards_other} == {
        f"https://bonemets.test/ehr/patient?identifier={quoted}%7CB-2"
    }
    assert {c["links"][1]["url"] for c in cards_pid} == {
        f"https://bonemets.test/ehr/patient?identifier={quoted}%7CA-1"
    }
    for c in cards_pid:
        assert c["source"]["label"].startswith(f"bonemets {c['source']['topic']['code']}")


def test_the_dependencies_run_on_the_event_loop() -> None:
    # A plain `def` dependency would be run in FastAPI's threadpool: two thread hops per call.
    for dependency in (cds_settings, today, clock, cds_db):
        assert inspect.iscoroutinefunction(dependency), dependency.__name__
