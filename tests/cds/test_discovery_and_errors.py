"""Discovery, malformed requests (400/422 with a clear message), the JWT switch, and the response
models' own rules from the specification."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bonemets.core.levels import Level
from bonemets.faces.cds.cards import SUMMARY_MAX, _source, indicator_for, summary
from bonemets.faces.cds.models import Action, Card, CdsRequest, Discovery, Link
from tests.cds.conftest import (
    PID,
    Service,
    draft_order,
    hypercalcaemia_overdue,
    order_sign_request,
    patient,
    patient_view_request,
    prefetch_of,
)

PV = "/cds-services/bonemets-patient-view"
OS = "/cds-services/bonemets-order-sign"


def test_discovery_lists_both_services_with_their_prefetch(service: Service) -> None:
    response = service.client.get("/cds-services")
    assert response.status_code == 200
    body = response.json()
    Discovery.model_validate(body)
    services = {s["id"]: s for s in body["services"]}
    assert set(services) == {"bonemets-patient-view", "bonemets-order-sign"}
    assert services["bonemets-patient-view"]["hook"] == "patient-view"
    assert services["bonemets-order-sign"]["hook"] == "order-sign"
    for s in services.values():
        assert s["title"] and s["description"]
        prefetch = s["prefetch"]
        assert prefetch["patient"] == "Patient/{{context.patientId}}"
        assert prefetch["conditions"] == "Condition?patient={{context.patientId}}"
        assert prefetch["administrations"] == (
            "MedicationAdministration?patient={{context.patientId}}"
        )
        assert prefetch["requests"] == "MedicationRequest?patient={{context.patientId}}"
        assert prefetch["procedures"] == "Procedure?patient={{context.patientId}}"
        observations = prefetch["observations"]
        assert observations.startswith("Observation?patient={{context.patientId}}&code=")
        for loinc in ("2160-0", "29265-6", "17861-6", "1751-7", "29463-7"):
            assert f"http://loinc.org|{loinc}" in observations


def _problem(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["detail"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty body"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(
    service: Service, content: bytes, message: str
) -> None:
    response = service.client.post(
        PV, content=content, headers={"Content-Type": "application/json"}
    )
    assert message in _problem(response, 400)


def test_the_wrong_hook_is_400(service: Service) -> None:
    body = patient_view_request(prefetch_of(hypercalcaemia_overdue()))
    detail = _problem(service.client.post(OS, json=body), 400)
    assert detail == "this service answers hook 'order-sign', not 'patient-view'"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"hookInstance": None}, "hookInstance", "string"),
        ({"context": {"userId": "Practitioner/x"}}, "context.patientId", "Field required"),
        ({"context": {"patientId": PID}}, "context.userId", "Field required"),
        (
            {"context": {"userId": "Device/x", "patientId": PID}},
            "context.userId",
            "should match pattern",
        ),
        (
            {
                "fhirAuthorization": {
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 1,
                    "scope": "s",
                    "subject": "c",
                }
            },
            "request",
            "fhirServer is REQUIRED when fhirAuthorization is given",
        ),
        (
            {
                "fhirServer": "https://ehr.example.org/fhir",
                "fhirAuthorization": {
                    "access_token": "t",
                    "token_type": "MAC",
                    "expires_in": 1,
                    "scope": "s",
                    "subject": "c",
                },
            },
            "fhirAuthorization.token_type",
            "'Bearer'",
        ),
        ({"fhirServer": "not a url"}, "fhirServer", "URL"),
        ({"prefetch": {"patient": "pat-1"}}, "prefetch.patient", "FHIR resource or null"),
        (
            {"prefetch": {"patient": {"resourceType": "Observation", "id": "x"}}},
            "prefetch.patient",
            "must be a Patient resource",
        ),
        (
            {"prefetch": {"patient": patient(pid="someone-else")}},
            "prefetch.patient",
            "of another patient than pat-1",
        ),
        (
            {"prefetch": {"conditions": {"resourceType": "Condition", "id": "c"}}},
            "prefetch.conditions",
            "searchset Bundle of Condition",
        ),
    ],
)
def test_requests_off_the_specification_are_422_naming_the_field(
    service: Service, change: dict[str, Any], field: str, message: str
) -> None:
    body = patient_view_request(**change)
    if body.get("hookInstance") is None:
        body["hookInstance"] = None
    detail = _problem(service.client.post(PV, json=body), 422)
    assert detail["field"] == field
    assert message in detail["message"]


def test_order_sign_context_is_checked(service: Service) -> None:
    body = order_sign_request([draft_order("zoledronic_acid", 4, "iv")])
    body["context"]["draftOrders"] = {"resourceType": "List"}
    detail = _problem(service.client.post(OS, json=body), 422)
    assert detail["field"] == "context.draftOrders.resourceType"

    body = order_sign_request([draft_order("zoledronic_acid", 4, "iv", pid="someone-else")])
    detail = _problem(service.client.post(OS, json=body), 422)
    assert detail == {
        "field": "context.draftOrders.entry[0].resource.subject",
        "message": "names Patient/someone-else, not Patient/pat-1",
    }

    body = order_sign_request([draft_order("zoledronic_acid", -4, "iv")])
    detail = _problem(service.client.post(OS, json=body), 422)
    assert detail["message"] == "the dose must be a positive number"

    body = order_sign_request([draft_order("zoledronic_acid", 4, "iv")])
    body["context"]["userId"] = "Patient/pat-1"  # order-sign users are practitioners
    assert _problem(service.client.post(OS, json=body), 422)["field"] == "context.userId"


def test_jwt_required_without_a_token_refuses_every_call(service: Service) -> None:
    service.configure(jwt_required=True)
    for response in (
        service.client.get("/cds-services"),
        service.client.post(PV, json=patient_view_request(prefetch_of(hypercalcaemia_overdue()))),
        service.client.post(OS, json=order_sign_request([draft_order("denosumab", 120, "sc")])),
    ):
        assert response.status_code == 401
        assert "Bearer" in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_no_session_cookie_is_needed_and_none_is_set(service: Service) -> None:
    response = service.client.post(
        PV, json=patient_view_request(prefetch_of(hypercalcaemia_overdue()))
    )
    assert response.status_code == 200
    assert "set-cookie" not in response.headers


def test_extra_request_attributes_are_ignored(service: Service) -> None:
    body = patient_view_request(
        prefetch_of(hypercalcaemia_overdue()), extension={"com.example.x": "y"}
    )
    body["context"]["encounterId"] = "enc-1"
    assert service.client.post(PV, json=body).status_code == 200


# --- The models and helpers -----------------------------------------------------------------------


def test_levels_map_to_indicators() -> None:
    assert indicator_for(Level.EMERGENCY) == "critical"
    assert indicator_for(Level.URGENT) == "warning"
    assert indicator_for(Level.SOON) == "warning"
    assert indicator_for(Level.ROUTINE) == "info"
    assert indicator_for(Level.SELF_CARE) == "info"


def test_summaries_are_one_sentence_under_140() -> None:
    long = "word " * 80
    assert len(summary(long)) <= SUMMARY_MAX and summary(long).endswith("…")
    assert summary("First sentence here. Second one.") == "First sentence here."
    assert summary("CrCl 44.1 mL/min. Next") == "CrCl 44.1 mL/min."
    assert summary("lower case start") == "Lower case start"


def test_source_has_a_url_when_the_source_does() -> None:
    src = _source("labs.example", ["nice-ng234", "ctcae-v5"])
    assert str(src.url) == "https://www.nice.org.uk/guidance/ng234"
    assert src.label == "bonemets labs.example (nice-ng234, ctcae-v5)"
    assert _source("x", ["ctcae-v5"]).url is None


def test_card_rules_from_the_specification() -> None:
    source = {"label": "bonemets"}
    with pytest.raises(ValidationError, match="at most 139 characters"):
        Card.model_validate({"summary": "x" * 140, "indicator": "info", "source": source})
    with pytest.raises(ValidationError, match="selectionBehavior is REQUIRED"):
        Card.model_validate(
            {
                "summary": "s",
                "indicator": "info",
                "source": source,
                "suggestions": [{"label": "do it"}],
            }
        )
    with pytest.raises(ValidationError, match="Input should be 'info', 'warning' or 'critical'"):
        Card.model_validate({"summary": "s", "indicator": "hard-stop", "source": source})
    with pytest.raises(ValidationError, match="carries the whole FHIR resource"):
        Action(type="update", description="d")
    with pytest.raises(ValidationError, match="names resourceId"):
        Action(type="delete", description="d")
    with pytest.raises(ValidationError, match="only valid on smart links"):
        Link.model_validate(
            {"label": "l", "url": "https://x.org", "type": "absolute", "appContext": "c"}
        )
    with pytest.raises(ValidationError):
        Card.model_validate({"summary": "s", "indicator": "info", "source": source, "links": []})


def test_the_access_token_stays_out_of_repr() -> None:
    req = CdsRequest.model_validate(
        patient_view_request(
            fhirServer="https://ehr.example.org/fhir",
            fhirAuthorization={
                "access_token": "secret-token",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "c",
            },
        )
    )
    assert "secret-token" not in repr(req.fhirAuthorization)
    assert req.fhir_server == "https://ehr.example.org/fhir"
