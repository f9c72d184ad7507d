"""Generated input against the parts of the app that take it, on SQLite and PostgreSQL, as a
clinician and as a patient: the read-only FHIR API (with Schemathesis, from a small OpenAPI
description of its routes: the app describes /fhir by its CapabilityStatement, not OpenAPI), and
every HTML form (with Hypothesis: any text, NUL and very long values included, under the real
field names and a few made-up ones). Nothing may answer 5xx; bounded to a few seconds each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from bonemets.adapters.fhir import resource_id
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.web.app import create_app
from bonemets.faces.web.deps import SESSION_COOKIE
from tests.security.conftest import sign_in

FHIR_TYPES = [
    "Patient", "Condition", "Observation", "MedicationAdministration", "MedicationRequest",
    "Procedure", "Encounter", "Patient/../api",
]  # fmt: skip
_QUERY = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
    for name in ("patient", "subject", "code", "_id", "_count", "identifier")
] + [
    {"name": "date", "in": "query", "required": False,
     "schema": {"type": "array", "items": {"type": "string"}}, "style": "form", "explode": True}
]  # fmt: skip
_TYPE = {"name": "rtype", "in": "path", "required": True,
         "schema": {"type": "string", "enum": FHIR_TYPES}}  # fmt: skip
_ANSWERS = {str(code): {"description": "any"} for code in (200, 400, 401, 404, 422)}
FHIR_OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "bonemets /fhir (read-only)", "version": "1"},
    "paths": {
        "/fhir/metadata": {"get": {"responses": {"200": {"description": "capabilities"}}}},
        "/fhir/{rtype}": {"get": {"parameters": [_TYPE, *_QUERY], "responses": _ANSWERS}},
        "/fhir/{rtype}/{rid}": {
            "get": {
                "parameters": [
                    _TYPE,
                    {"name": "rid", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": _ANSWERS,
            }
        },
    },
}
_described = FastAPI(openapi_url=None)


@_described.get("/fhir-openapi.json")
def _doc() -> JSONResponse:
    return JSONResponse(FHIR_OPENAPI)


fhir_schema = schemathesis.openapi.from_asgi("/fhir-openapi.json", _described)
BOUNDED = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(params=["nurse-a", "user-a"])
def signed(
    request: pytest.FixtureRequest, db: Database, settings: Settings, people: dict[str, str]
) -> Iterator[tuple[FastAPI, str]]:
    app = create_app(settings, db)
    with TestClient(app) as client:
        sign_in(client, request.param)
        cookie = client.cookies[SESSION_COOKIE]
    yield app, cookie


@fhir_schema.parametrize()
@BOUNDED
def test_fhir_api_never_fails(case: schemathesis.Case[Any], signed: tuple[FastAPI, str]) -> None:
    app, cookie = signed
    case.call_and_validate(app=app, cookies={SESSION_COOKIE: cookie}, checks=[not_a_server_error])
    if case.path_parameters and "rid" in case.path_parameters:  # the caller's own patient too
        case.path_parameters = {**case.path_parameters, "rid": resource_id("pat-a", "patient")}
        case.call_and_validate(
            app=app, cookies={SESSION_COOKIE: cookie}, checks=[not_a_server_error]
        )


# --- HTML forms -------------------------------------------------------------------------------

ANY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "0", "-1", "1e308", "nan", "2026-11-20", "0001-01-03",
                     "9999-12-31", "<script>x</script>", "x" * 5000, "T10", "zoledronic_acid"]),
)  # fmt: skip
ENTRY_FIELDS = [
    "date", "agent", "dose", "route", "code", "value", "unit", "lower_limit", "upper_limit",
    "site", "type", "size_fraction", "pain", "sins.pain", "sins.alignment", "sins.collapse",
    "sins.posterolateral", "outcome", "modality", "finding", "id", "made_up",
]  # fmt: skip
CHECK_IN_FIELDS = [
    "symptom", "back_pain.severity", "back_pain.duration_days", "back_pain.trend",
    "back_pain.site", "back_pain.features", "fever.severity", "lab.calcium_total.value",
    "lab.calcium_total.unit", "lab.platelets.value", "free_text", "made_up",
]  # fmt: skip
CLINICIAN_FORMS = [f"/patients/pat-a/entries/{kind}" for kind in
                   ("bma_dose", "lab", "lesion", "dental_exam", "imaging", "made_up")]  # fmt: skip
CLINICIAN_FORMS += ["/alerts/1/ack", "/alerts/999999999999/ack", "/account/totp/start",
                    "/account/totp/confirm", "/account/totp/disable"]  # fmt: skip
PATIENT_FORMS = ["/portal/check-in", "/portal/check-in/submit"]


def _form(fields: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(fields), ANY_TEXT, max_size=len(fields))


def _fuzz(client: TestClient, csrf: str, paths: list[str], fields: list[str]) -> None:
    @BOUNDED
    @given(path=st.sampled_from(paths), form=_form(fields), with_token=st.booleans())
    def post(path: str, form: dict[str, str], with_token: bool) -> None:
        data = {**form, "csrf_token": csrf} if with_token else form
        answer = client.post(path, data=data, follow_redirects=False)
        assert answer.status_code < 500, (path, form, answer.text[:300])

    post()


def test_clinician_forms_never_fail(client: TestClient) -> None:
    csrf = sign_in(client, "nurse-a")
    _fuzz(client, csrf, CLINICIAN_FORMS, [*ENTRY_FIELDS, "action_taken", "signed", "code"])


def test_patient_forms_never_fail(client: TestClient) -> None:
    csrf = sign_in(client, "user-a")
    _fuzz(client, csrf, PATIENT_FORMS, CHECK_IN_FIELDS)


def test_login_form_never_fails(client: TestClient) -> None:
    @BOUNDED
    @given(form=_form(["username", "password", "code", "pending", "next", "made_up"]))
    def post(form: dict[str, str]) -> None:
        token = client.get("/login").cookies.get("bm_login_csrf", "")
        answer = client.post("/login", data={**form, "csrf_token": token}, follow_redirects=False)
        assert answer.status_code < 500, (form, answer.text[:300])
        if answer.status_code == 303:
            assert answer.headers["location"].startswith("/") and not answer.headers[
                "location"
            ].startswith("//")

    post()


def test_admin_audit_filters_never_fail(client: TestClient) -> None:
    sign_in(client, "admin")

    @BOUNDED
    @given(query=_form(["user", "action", "patient", "outcome", "since", "until", "before"]))
    def get(query: dict[str, str]) -> None:
        answer = client.get("/admin/audit", params=query)
        assert answer.status_code < 500, (query, answer.text[:300])

    get()
