"""CDS client JWTs (CDS Hooks 2.0, "Trusting CDS Clients"): real keys, real signed tokens, the
JWK Set served over HTTP by a local server, the replay window kept in the database."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import KeySet

from bonemets.adapters.storage.repository import Database
from bonemets.faces.cds import auth, router
from bonemets.faces.cds.service import cds_settings, clock, today
from tests.cds.conftest import (
    AS_OF,
    CdsClient,
    Service,
    draft_order,
    hypercalcaemia_overdue,
    order_sign_request,
    patient_view_request,
    prefetch_of,
)

BASE = "https://bonemets.test"
PV = "/cds-services/bonemets-patient-view"
OS = "/cds-services/bonemets-order-sign"
EHR = "https://ehr.example.org/"

# The specification's own example (CDS Hooks 2.0, "Trusting CDS Clients" / Example): its JWK Set
# and the complete JWT it gives, signed with ES384.
SPEC_JWKS = {
    "keys": [
        {
            "kty": "EC",
            "use": "sig",
            "crv": "P-384",
            "kid": "example-kid",
            "x": "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
            "y": "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI",
            "alg": "ES384",
        }
    ]
}
SPEC_TOKEN = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLW"
    "Voci5leGFtcGxlLmNvbS9qd2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsImF1"
    "ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Nj"
    "g4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwi"
    "dGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.d1WfLjGRKlcWB94l9do4cM8REX"
    "eYJLL6SGUBO8VHZhfM8mwKYP70EMxJ67War4TQblEpaQrp11wx5p7oPFm2ETYgCicS84vXWEIYTdjooZdooCSDf2L8"
    "-i4awdoUwiEb"
)
SPEC_ISSUER = "https://fhir-ehr.example.com/"
SPEC_AUD = "https://cds.example.org/cds-services/some-service"
SPEC_IAT = 1311280970


def _verify(token: str, clients: dict[str, auth.TrustedClient], now: float, aud: str) -> Any:
    coroutine = auth.verify(
        token,
        clients=clients,
        audiences=(aud,),
        now=now,
        max_age_s=300,
        leeway_s=30,
        cache=auth.JwksCache(),
    )
    # In a thread of its own: a worker that ran the browser tests has an event loop running.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_the_specifications_example_token_verifies_with_its_jwks() -> None:
    clients = {SPEC_ISSUER: auth.TrustedClient(issuer=SPEC_ISSUER, jwks=SPEC_JWKS)}
    verified = _verify(SPEC_TOKEN, clients, SPEC_IAT + 10, SPEC_AUD)
    assert verified.issuer == SPEC_ISSUER
    assert verified.jti == "ee22b021-e1b7-4611-ba5b-8eec6a33ac1e"
    assert verified.tenant == "2ddd6c3a-8e9a-44c6-a305-52111ad302a2"
    # Its jku is not on the client's list: the configured JWK Set was used, nothing fetched.
    # Today the same token is long expired (exp 2015), and issued too long ago in any case.
    with pytest.raises(auth.Unauthorized, match=r"exp|issued more than"):
        _verify(SPEC_TOKEN, clients, 1_800_000_000, SPEC_AUD)
    with pytest.raises(auth.Unauthorized, match="aud"):
        _verify(SPEC_TOKEN, clients, SPEC_IAT + 10, "https://cds.example.org/cds-services/other")
    with pytest.raises(auth.Unauthorized, match="not a CDS client"):
        _verify(SPEC_TOKEN, {}, SPEC_IAT + 10, SPEC_AUD)


def test_a_tampered_specification_token_fails_its_signature() -> None:
    clients = {SPEC_ISSUER: auth.TrustedClient(issuer=SPEC_ISSUER, jwks=SPEC_JWKS)}
    head, payload, sig = SPEC_TOKEN.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["aud"] = "https://bonemets.test/cds-services/bonemets-patient-view"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(auth.Unauthorized, match="signature"):
        _verify(f"{head}.{forged}.{sig}", clients, SPEC_IAT + 10, claims["aud"])


@pytest.fixture
def ehr(serve: Callable[[FastAPI], str]) -> tuple[CdsClient, str]:
    """An EHR with its keys, publishing its JWK Set on a local server."""
    client = CdsClient(issuer=EHR)
    return client, serve(client.app())


def _trust(service: Service, client: CdsClient, **conf: Any) -> None:
    service.configure(
        jwt_required=True,
        clients={client.issuer: auth.TrustedClient.from_json(client.issuer, conf)},
    )


def _pv(service: Service, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = patient_view_request(prefetch_of(hypercalcaemia_overdue()))
    return service.client.post(PV, json=body, headers=headers)


def test_rs384_with_the_configured_jwks_url_is_accepted_once(
    service: Service, ehr: tuple[CdsClient, str]
) -> None:
    client, url = ehr
    _trust(service, client, jwks_url=f"{url}/jwks.json")
    token = client.token(f"{BASE}{PV}", service.now)
    assert _pv(service, token).status_code == 200
    replay = _pv(service, token)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    assert _pv(service, client.token(f"{BASE}{PV}", service.now)).status_code == 200  # a new jti
    assert client.jwks_requests == ["/jwks.json"]  # fetched once, then cached


def test_a_replay_is_refused_by_another_worker(
    service: Service, ehr: tuple[CdsClient, str], tmp_path: Path
) -> None:
    client, url = ehr
    _trust(service, client, jwks_url=f"{url}/jwks.json")
    token = client.token(f"{BASE}{PV}", service.now)
    assert _pv(service, token).status_code == 200
    # A second app process on the same database: the jti it has never seen is still refused.
    other_app = FastAPI()
    other_app.include_router(router)
    other_app.state.ctx = SimpleNamespace(db=Database(service.db.engine.url.render_as_string()))
    other_app.dependency_overrides[cds_settings] = lambda: service.settings
    other_app.dependency_overrides[today] = lambda: AS_OF
    other_app.dependency_overrides[clock] = lambda: service.now
    with TestClient(other_app, base_url=BASE) as other:
        body = patient_view_request(prefetch_of(hypercalcaemia_overdue()))
        again = other.post(PV, json=body, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401 and "already used" in again.json()["detail"]
    other_app.state.ctx.db.dispose()


def test_es384_with_a_jku_on_the_clients_list(service: Service, ehr: tuple[CdsClient, str]) -> None:
    client, url = ehr
    _trust(service, client, jku=[f"{url}/jwks.json"])
    token = client.token(
        f"{BASE}{PV}", service.now, alg="ES384", header={"jku": f"{url}/jwks.json"}
    )
    assert _pv(service, token).status_code == 200


def test_a_jku_not_on_the_list_is_never_fetched(
    service: Service, ehr: tuple[CdsClient, str], serve: Callable[[FastAPI], str]
) -> None:
    client, _url = ehr
    attacker = CdsClient(issuer=EHR)  # other keys, published elsewhere
    attacker_url = serve(attacker.app())
    _trust(service, client, jku=["https://ehr.example.org/jwks.json"])
    token = attacker.token(f"{BASE}{PV}", service.now, header={"jku": f"{attacker_url}/jwks.json"})
    response = _pv(service, token)
    assert response.status_code == 401
    assert "jku is not on this client's list" in response.json()["detail"]
    assert attacker.jwks_requests == []


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda c, now: _unsigned(c.claims(f"{BASE}{PV}", now)), "'none' refused"),
        (lambda c, now: _hs256_with_public_key(c, now), "'HS256' refused"),
        (lambda c, now: c.token(f"{BASE}{PV}", now, alg="RS256"), "'RS256' refused"),
        (lambda c, now: c.token(f"{BASE}/cds-services/other", now), "aud"),
        (lambda c, now: c.token(f"{BASE}{PV}", now, exp=int(now) - 60), "exp"),
        (lambda c, now: c.token(f"{BASE}{PV}", now, iat=int(now) - 3600), "more than 300"),
        (lambda c, now: c.token(f"{BASE}{PV}", now, iat=int(now) + 600), "issued in the future"),
        (lambda c, now: c.token(f"{BASE}{PV}", now, jti=None), "jti"),
        (lambda c, now: c.token(f"{BASE}{PV}", now, iss="https://other.example/"), "not a CDS"),
        (lambda c, now: CdsClient(issuer=EHR).token(f"{BASE}{PV}", now), "signature"),
        (lambda c, now: "not-a-jwt", "not a JWS"),
    ],
    ids=[
        "alg-none",
        "hs256-key-confusion",
        "rs256",
        "wrong-aud",
        "expired",
        "too-old",
        "issued-in-future",
        "no-jti",
        "unknown-issuer",
        "another-key-same-kid",
        "garbage",
    ],
)
def test_bad_tokens_are_refused(
    service: Service,
    ehr: tuple[CdsClient, str],
    make: Callable[[CdsClient, float], str],
    why: str,
) -> None:
    client, url = ehr
    _trust(service, client, jwks_url=f"{url}/jwks.json")
    response = _pv(service, make(client, service.now))
    assert response.status_code == 401, response.text
    assert why in response.json()["detail"]
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _unsigned(claims: dict[str, Any]) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'rsa-1'})}.{_b64(claims)}."


def _hs256_with_public_key(client: CdsClient, now: float) -> str:
    """The classic confusion: HMAC keyed with the published RSA key."""
    import hashlib
    import hmac

    secret = json.dumps(client.rsa.as_dict(private=False)).encode()
    head = _b64({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"})
    body = _b64(client.claims(f"{BASE}{PV}", now))
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"


def test_every_endpoint_takes_its_own_audience(
    service: Service, ehr: tuple[CdsClient, str]
) -> None:
    client, url = ehr
    _trust(service, client, jwks_url=f"{url}/jwks.json")
    discovery = service.client.get(
        "/cds-services",
        headers={"Authorization": f"Bearer {client.token(f'{BASE}/cds-services', service.now)}"},
    )
    assert discovery.status_code == 200
    order = order_sign_request([draft_order("zoledronic_acid", 4, "iv")])
    token = client.token([f"{BASE}{OS}"], service.now)  # aud as an array, as RFC 7519 allows
    response = service.client.post(OS, json=order, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code != 401, response.text
    # A token for patient-view does not open order-sign.
    token = client.token(f"{BASE}{PV}", service.now)
    response = service.client.post(OS, json=order, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_the_public_url_is_the_audience_behind_a_proxy(
    service: Service, ehr: tuple[CdsClient, str]
) -> None:
    client, url = ehr
    _trust(service, client, jwks_url=f"{url}/jwks.json")
    service.configure(public_url="https://cds.hospital.example/bonemets")
    token = client.token(f"https://cds.hospital.example/bonemets{PV}", service.now)
    assert _pv(service, token).status_code == 200


def test_client_settings_are_checked_at_start() -> None:
    with pytest.raises(ValueError, match="give jwks, jwks_url or jku"):
        auth.clients_from_setting('{"https://ehr.example/": {}}')
    with pytest.raises(ValueError, match="unknown setting"):
        auth.clients_from_setting('{"https://ehr.example/": {"jwks_uri": "x"}}')
    clients = auth.clients_from_setting(json.dumps({SPEC_ISSUER: {"jwks": SPEC_JWKS}}))
    assert KeySet.import_key_set(dict(clients[SPEC_ISSUER].jwks or {})).keys
