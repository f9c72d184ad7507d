"""Fixtures of the CDS Hooks tests: hand-written FHIR R4 resources, the service in a small app,
and a tiny FHIR server (FastAPI under uvicorn on a free loopback port, in a thread) for fhirpy."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from bonemets.adapters.storage.repository import Database
from bonemets.faces.cds import router
from bonemets.faces.cds.models import CdsResponse
from bonemets.faces.cds.prefetch import KEYS, RESOURCE_TYPES
from bonemets.faces.cds.service import CdsSettings, cds_settings, clock, today

Json = dict[str, Any]
AS_OF = dt.date(2026, 11, 23)
PID = "pat-1"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
TOKEN = "test-access-token"
# What an EHR sends with a request whose data we must fetch (CDS Hooks fhirAuthorization).
AUTHORIZATION = {
    "access_token": TOKEN,
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "bonemets-cds",
}


# --- Hand-written FHIR resources ------------------------------------------------------------------


def patient(pid: str = PID, birth: str = "1950-03-15", gender: str = "female") -> Json:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth}


def bone_mets(pid: str = PID, onset: str = "2025-01-10") -> Json:
    return {
        "resourceType": "Condition",
        "id": f"{pid}-bone-mets",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {
            "coding": [
                {
                    "system": SNOMED,
                    "code": "94222008",
                    "display": "Secondary malignant neoplasm of bone (disorder)",
                }
            ]
        },
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset,
    }


def lab(oid: str, loinc: str, value: float, unit: str, date: str, pid: str = PID) -> Json:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": date,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def creatinine(oid: str, value: float, date: str) -> Json:
    return lab(oid, "2160-0", value, "mg/dL", date)


def corrected_calcium(oid: str, value: float, date: str) -> Json:
    return lab(oid, "29265-6", value, "mmol/L", date)


def weight(oid: str, kg: float, date: str) -> Json:
    return lab(oid, "29463-7", kg, "kg", date)


def zoledronic_given(aid: str, date: str, mg: float = 4.0, pid: str = PID) -> Json:
    return {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": "completed",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "77655", "display": "zoledronic acid"}]
        },
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": date,
        "dosage": {
            "route": {"coding": [{"system": SNOMED, "code": "47625008"}]},
            "dose": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"},
        },
    }


def dental_exam(prid: str, date: str, pid: str = PID) -> Json:
    return {
        "resourceType": "Procedure",
        "id": prid,
        "status": "completed",
        "code": {
            "coding": [
                {
                    "system": SNOMED,
                    "code": "34043003",
                    "display": "Dental consultation and report (procedure)",
                }
            ]
        },
        "subject": {"reference": f"Patient/{pid}"},
        "performedDateTime": date,
    }


def draft_order(
    agent: str,
    mg: float | None,
    route: str,
    rid: str = "draft-1",
    pid: str = PID,
    text: str | None = None,
) -> Json:
    rx = {"zoledronic_acid": "77655", "denosumab": "993449", "pamidronate": "11473"}[agent]
    routes = {"iv": "47625008", "sc": "34206005", "oral": "26643006"}
    dosage: Json = {
        "route": {"coding": [{"system": SNOMED, "code": routes[route]}]},
        "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "wk"}},
    }
    if mg is not None:
        dosage["doseAndRate"] = [
            {"doseQuantity": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}
        ]
    if text is not None:
        dosage["text"] = text
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": rx}],
            "text": agent.replace("_", " "),
        },
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": AS_OF.isoformat(),
        "dosageInstruction": [dosage],
    }


def hypercalcaemia_overdue() -> list[Json]:
    """On zoledronic acid every 4 weeks since January 2025; last dose 2026-09-01, so overdue on
    2026-11-23; corrected calcium 3.2 mmol/L (CTCAE grade 3) three days ago."""
    doses = ["2025-01-15", "2025-02-12", "2025-03-12", "2026-08-04", "2026-09-01"]
    return [
        patient(),
        bone_mets(),
        creatinine("cr-0", 0.9, "2025-01-12"),
        creatinine("cr-1", 0.95, "2026-11-20"),
        corrected_calcium("ca-1", 3.2, "2026-11-20"),
        weight("wt-1", 70, "2026-11-01"),
        *(zoledronic_given(f"zol-{i}", d) for i, d in enumerate(doses)),
        dental_exam("dent-1", "2025-01-05"),
    ]


# --- Requests -------------------------------------------------------------------------------------


def searchset(resources: list[Json]) -> Json:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def prefetch_of(resources: list[Json], keys: tuple[str, ...] = KEYS) -> Json:
    """The prefetch a client would send for `keys` (null for a search it has nothing for)."""
    out: Json = {}
    for key in keys:
        kind = RESOURCE_TYPES[key]
        found = [r for r in resources if r["resourceType"] == kind]
        if key == "patient":
            out[key] = found[0] if found else None
        else:
            out[key] = searchset(found)
    return out


def patient_view_request(prefetch: Json | None = None, **extra: Any) -> Json:
    body: Json = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": PID},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


def order_sign_request(orders: list[Json], prefetch: Json | None = None, **extra: Any) -> Json:
    body: Json = {
        "hook": "order-sign",
        "hookInstance": "8c7cd9b8-3f0b-4d1c-9a0e-6d0c2b3f4a11",
        "context": {
            "userId": "PractitionerRole/123",
            "patientId": PID,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": o} for o in orders],
            },
        },
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


def assert_spec_json(value: Any, where: str = "response") -> None:
    """No null and no empty string, array or object anywhere (CDS Hooks JSON rules)."""
    assert value is not None, f"{where} is null"
    if isinstance(value, dict):
        assert value or where.endswith("resource"), f"{where} is empty"
        for k, v in value.items():
            assert_spec_json(v, f"{where}.{k}")
    elif isinstance(value, list):
        assert value or where == "response.cards", f"{where} is an empty array"
        for i, v in enumerate(value):
            assert_spec_json(v, f"{where}[{i}]")
    elif isinstance(value, str):
        assert value, f"{where} is an empty string"


def cards_of(response: Any) -> list[Json]:
    assert response.status_code == 200, response.text
    body = response.json()
    CdsResponse.model_validate(body)  # the response follows the specification
    assert_spec_json(body)
    cards: list[Json] = body["cards"]
    for c in cards:
        assert len(c["summary"]) < 140
    return cards


def by_rule(cards: list[Json]) -> dict[str, Json]:
    return {c["source"]["topic"]["code"]: c for c in cards}


# --- The service in a small app -------------------------------------------------------------------


# JWT checks have their own tests (test_jwt.py); the others call without one.
OPEN = CdsSettings(jwt_required=False)


@dataclass
class Service:
    app: FastAPI
    client: TestClient
    db: Database
    settings: CdsSettings = OPEN
    now: float = field(default_factory=time.time)

    def configure(self, **changes: Any) -> None:
        self.settings = CdsSettings(**{**self.settings.__dict__, **changes})


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """The CDS router in a small app with its own database (client JWTs seen, feedback)."""
    app = FastAPI()
    app.include_router(router)
    db = Database(f"sqlite:///{tmp_path / 'cds.sqlite3'}")
    app.state.ctx = SimpleNamespace(db=db)
    svc = Service(app=app, client=TestClient(app, base_url="https://bonemets.test"), db=db)
    app.dependency_overrides[cds_settings] = lambda: svc.settings
    app.dependency_overrides[today] = lambda: AS_OF
    app.dependency_overrides[clock] = lambda: svc.now
    with svc.client:
        yield svc
    db.dispose()


# --- A tiny FHIR server ---------------------------------------------------------------------------


@dataclass
class FhirServer:
    url: str
    resources: list[Json]
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)


def _matches(resource: Json, params: dict[str, str]) -> bool:
    for name, value in params.items():
        if name in ("patient", "subject"):
            ref = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
            if ref.removeprefix("Patient/") != value.removeprefix("Patient/"):
                return False
        elif name == "code":
            wanted = {v.split("|")[-1] for v in value.split(",")}
            codes = {c.get("code") for c in (resource.get("code") or {}).get("coding", [])}
            if not wanted & codes:
                return False
    return True


def fhir_app(server: FhirServer, page_size: int = 3) -> FastAPI:
    """Read and search over `server.resources`; searches are paged (`next` links) to make the
    client follow them; every call must carry the bearer token."""
    app = FastAPI()

    def authorised(request: Request) -> JSONResponse | None:
        server.requests.append(
            (request.url.path, request.url.query, request.headers.get("authorization"))
        )
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
        return None

    @app.get("/fhir/{kind}/{rid}")
    def read(kind: str, rid: str, request: Request) -> JSONResponse:
        denied = authorised(request)
        if denied is not None:
            return denied
        for r in server.resources:
            if r["resourceType"] == kind and r["id"] == rid:
                return JSONResponse(r, media_type="application/fhir+json")
        return JSONResponse({"resourceType": "OperationOutcome"}, status_code=404)

    @app.get("/fhir/{kind}")
    def search(kind: str, request: Request) -> JSONResponse:
        denied = authorised(request)
        if denied is not None:
            return denied
        params = {k: v for k, v in request.query_params.items() if not k.startswith("_")}
        found = [r for r in server.resources if r["resourceType"] == kind and _matches(r, params)]
        offset = int(request.query_params.get("_offset", "0"))
        page = found[offset : offset + page_size]
        bundle = searchset(page)
        bundle["total"] = len(found)
        if offset + page_size < len(found):
            query = "&".join(f"{k}={v}" for k, v in request.query_params.items() if k != "_offset")
            bundle["link"] = [
                {
                    "relation": "next",
                    "url": f"{server.url}/{kind}?{query}&_offset={offset + page_size}",
                }
            ]
        return JSONResponse(bundle, media_type="application/fhir+json")

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], str]]:
    """Starts an ASGI app under uvicorn on a free loopback port; returns its base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: FastAPI) -> str:
        port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        uv = uvicorn.Server(config)
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not uv.started:
            assert time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.01)
        servers.append((uv, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for uv, thread in servers:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def fhir_server(
    serve: Callable[[FastAPI], str],
) -> Callable[[list[Json]], FhirServer]:
    def start(resources: list[Json]) -> FhirServer:
        server = FhirServer(url="", resources=resources)
        app = fhir_app(server)
        server.url = f"{serve(app)}/fhir"
        return server

    return start


# --- CDS clients that sign their calls (real keys, real JWTs) -------------------------------------


@dataclass
class CdsClient:
    """An EHR calling us: its issuer, its signing keys and the JWK Set it publishes."""

    issuer: str
    rsa: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    )
    ec: ECKey = field(
        default_factory=lambda: ECKey.generate_key("P-384", parameters={"kid": "ec-1"})
    )
    jwks_requests: list[str] = field(default_factory=list)

    def jwks(self) -> Json:
        return {"keys": [k.as_dict(private=False) for k in (self.rsa, self.ec)]}

    def claims(self, aud: str, now: float, **changes: Any) -> Json:
        claims: Json = {
            "iss": self.issuer,
            "aud": aud,
            "iat": int(now),
            "exp": int(now) + 120,
            "jti": str(uuid.uuid4()),
            "tenant": "2ddd6c3a-8e9a-44c6-a305-52111ad302a2",
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self, aud: str, now: float, alg: str = "RS384", header: Json | None = None, **claims: Any
    ) -> str:
        key = self.rsa if alg.startswith(("RS", "PS")) else self.ec
        head = {"alg": alg, "typ": "JWT", "kid": key.kid, **(header or {})}
        return jwt.encode(head, self.claims(aud, now, **claims), key, algorithms=[alg])

    def app(self) -> FastAPI:
        """Serves the JWK Set at /jwks.json (every request counted)."""
        app = FastAPI()

        @app.get("/jwks.json")
        def jwks(request: Request) -> JSONResponse:
            self.jwks_requests.append(request.url.path)
            return JSONResponse(self.jwks())

        return app
