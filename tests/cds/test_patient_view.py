"""patient-view over HTTP: full prefetch, prefetch fetched from a FHIR server, partial prefetch,
an unreachable or disallowed server."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import orjson

from bonemets.faces.cds.models import CdsResponse
from bonemets.faces.cds.prefetch import CORE_KEYS, KEYS
from bonemets.faces.cds.service import cds_settings, today
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
        assert c["links"] == [
            {
                "label": "Open the patient in bonemets",
                "url": f"https://bonemets.test/patients/{PID}",
                "type": "absolute",
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
    assert cards[0]["links"][0]["url"] == f"https://care.example.org/bonemets/patients/{PID}"


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


def test_a_paged_prefetch_is_fetched_in_full(
    service: Service, fhir_server: Callable[[list[dict[str, Any]]], FhirServer]
) -> None:
    resources = hypercalcaemia_overdue()
    server = fhir_server(resources)
    service.configure(fhir_servers=("*",))
    prefetch = prefetch_of(resources)
    prefetch["administrations"]["link"] = [
        {"relation": "next", "url": f"{server.url}/MedicationAdministration?page=2"}
    ]
    prefetch["administrations"]["entry"] = prefetch["administrations"]["entry"][:1]
    body = patient_view_request(
        prefetch,
        fhirServer=server.url,
        fhirAuthorization=AUTHORIZATION,
    )
    cards = cards_of(service.client.post(URL, json=body))
    assert "MedicationAdministration ×5 (fetched from the FHIR server)" in cards[0]["detail"]


def test_unreachable_fhir_server_is_said_on_a_card(service: Service) -> None:
    service.configure(fhir_servers=("*",), fetch_timeout_s=3)
    dead = f"http://127.0.0.1:{free_port()}/fhir"  # nothing listens there
    body = patient_view_request(
        fhirServer=dead,
        fhirAuthorization=AUTHORIZATION,
    )
    cards = cards_of(service.client.post(URL, json=body))
    rules = by_rule(cards)
    data = rules["cds.data_unavailable"]
    assert data["indicator"] == "warning"
    assert data["summary"].startswith("Data could not be fetched: Patient, Condition, Observation")
    assert f"could not be fetched from {dead}" in data["detail"]
    assert rules["cds.no_data"]["summary"] == "No patient data could be read: nothing was assessed."


def test_missing_prefetch_without_a_server_is_said_on_a_card(service: Service) -> None:
    resources = hypercalcaemia_overdue()
    prefetch = prefetch_of(resources, keys=tuple(k for k in KEYS if k != "observations"))
    cards = cards_of(service.client.post(URL, json=patient_view_request(prefetch)))
    data = by_rule(cards)["cds.data_unavailable"]
    assert data["indicator"] == "warning"
    assert "Observation" in data["summary"]
    assert "the request names no fhirServer" in data["detail"]
    # Assessed on what there is, every card saying its data was incomplete.
    others = [c for c in cards if c is not data]
    assert others and all("**Incomplete data:**" in c["detail"] for c in others)
    assert "labs.hypercalcaemia" not in by_rule(cards)  # no calcium was read


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
    cards = cards_of(service.client.post(URL, json=body))
    assert server.requests == []
    assert "BONEMETS_CDS_FHIR_SERVERS" in by_rule(cards)["cds.data_unavailable"]["detail"]


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
    other = "pat-2"
    body = patient_view_request({"patient": patient(pid=other), "conditions": None})
    body["context"]["patientId"] = other
    cards_other = cards_of(service.client.post(URL, json=body))
    cards_pid = cards_of(
        service.client.post(URL, json=patient_view_request(prefetch_of(hypercalcaemia_overdue())))
    )
    assert {c["links"][0]["url"] for c in cards_other} == {
        f"https://bonemets.test/patients/{other}"
    }
    assert {c["links"][0]["url"] for c in cards_pid} == {f"https://bonemets.test/patients/{PID}"}
    for c in cards_pid:
        assert c["source"]["label"].startswith(f"bonemets {c['source']['topic']['code']}")


def test_the_dependencies_run_on_the_event_loop() -> None:
    # A plain `def` dependency would be run in FastAPI's threadpool: two thread hops per call.
    for dependency in (cds_settings, today):
        assert inspect.iscoroutinefunction(dependency), dependency.__name__
