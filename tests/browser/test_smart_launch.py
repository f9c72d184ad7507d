"""bonemets launched as a SMART app, walked in real Chromium against a test EHR started here: its
authorization server (authorization code + PKCE S256, a page where the clinician allows the app,
signed id_tokens with fhirUser), its SMART configuration, JWK Set and FHIR Patient read.

- EHR launch: the EHR opens /smart/launch?iss=...&launch=...; after "Allow" the clinician lands
  on our page for the EHR's patient (found by MRN), signed in as the linked bonemets account.
- Standalone launch: /smart/launch alone; the EHR asks which patient, then the same.
- Refused: an EHR user not linked to a bonemets account; a patient bonemets does not have; a
  state used twice.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import RSAKey
from playwright.sync_api import Browser, expect

from bonemets.config import Settings
from bonemets.service import ehr
from tests.browser.conftest import DESKTOP, TODAY, _seed

MRN = "urn:oid:1.2.36.146.595.217.0.1"  # the EHR's MRN system; our patient's MRN is EX-0001
CLIENT_ID = "bonemets-smart"
PRACTITIONER = "Practitioner/dr-smith"


def _port() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


@dataclass
class TestEhr:
    """A small EHR: SMART authorization server and FHIR server in one app."""

    base: str  # http://127.0.0.1:<port>
    redirect_uri: str
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "ehr-1"})
    )
    launches: dict[str, str] = field(default_factory=dict)  # launch -> EHR patient id
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> patient
    log: list[dict[str, Any]] = field(default_factory=list)
    user: str = PRACTITIONER

    @property
    def iss(self) -> str:
        return f"{self.base}/fhir"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/fhir/.well-known/smart-configuration")
        def smart_configuration() -> JSONResponse:
            return JSONResponse(
                {
                    "issuer": self.iss,
                    "jwks_uri": f"{self.base}/jwks.json",
                    "authorization_endpoint": f"{self.base}/authorize",
                    "token_endpoint": f"{self.base}/token",
                    "capabilities": ["launch-ehr", "launch-standalone", "client-public"],
                    "code_challenge_methods_supported": ["S256"],
                }
            )

        @app.get("/jwks.json")
        def jwks() -> JSONResponse:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        @app.get("/chart/{patient}/open-app")
        def open_app(patient: str, app_url: str) -> RedirectResponse:
            """The clinician clicks the app in the patient's chart: an EHR launch."""
            launch = secrets.token_urlsafe(16)
            self.launches[launch] = patient
            query = urllib.parse.urlencode({"iss": self.iss, "launch": launch})
            return RedirectResponse(f"{app_url}?{query}", status_code=302)

        @app.get("/authorize")
        def authorize(request: Request) -> Response:
            q = dict(request.query_params)
            self.log.append({"authorize": q})
            assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID
            assert q["redirect_uri"] == self.redirect_uri
            assert q["aud"] == self.iss and q["code_challenge_method"] == "S256"
            launch = q.get("launch")
            hidden = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in q.items())
            if launch is not None:
                patient = self.launches[launch]
                chooser = f'<input type="hidden" name="patient" value="{patient}">'
                title = "Allow bonemets to open this chart?"
            else:  # standalone: the EHR asks which patient (launch/patient)
                assert "launch/patient" in q["scope"].split()
                chooser = (
                    '<label>Patient <select name="patient">'
                    '<option value="ehr-unknown">Someone Else</option>'
                    '<option value="ehr-123">Margaret Example</option></select></label>'
                )
                title = "Choose a patient for bonemets"
            return HTMLResponse(
                f"<!doctype html><title>EHR sign-in</title><h1>{title}</h1>"
                f'<form method="post" action="/authorize">{hidden}{chooser}'
                '<button type="submit">Allow</button></form>'
            )

        @app.post("/authorize")
        async def approve(request: Request) -> RedirectResponse:
            form = dict(await request.form())
            code = secrets.token_urlsafe(24)
            self.codes[code] = {**form}
            query = urllib.parse.urlencode({"code": code, "state": form["state"]})
            return RedirectResponse(f"{form['redirect_uri']}?{query}", status_code=302)

        @app.post("/token")
        def token(
            grant_type: str = Form(),
            code: str = Form(),
            redirect_uri: str = Form(),
            code_verifier: str = Form(),
            client_id: str = Form(),
        ) -> JSONResponse:
            granted = self.codes.pop(code, None)
            self.log.append({"token": {"code_verifier": code_verifier, "client_id": client_id}})
            if granted is None or grant_type != "authorization_code":
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if challenge != granted["code_challenge"] or redirect_uri != granted["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            access = secrets.token_urlsafe(24)
            self.tokens[access] = granted["patient"]
            now = int(time.time())
            id_token = jwt.encode(
                {"alg": "RS256", "kid": "ehr-1"},
                {
                    "iss": self.iss,
                    "sub": "smith-1234",
                    "aud": CLIENT_ID,
                    "iat": now,
                    "exp": now + 300,
                    "fhirUser": f"{self.iss}/{self.user}",
                },
                self.key,
                algorithms=["RS256"],
            )
            return JSONResponse(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": granted["scope"],
                    "patient": granted["patient"],
                    "id_token": id_token,
                }
            )

        @app.get("/fhir/Patient/{pid}")
        def patient(pid: str, request: Request) -> JSONResponse:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            if self.tokens.get(bearer) != pid:
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
            mrn = {"ehr-123": "EX-0001", "ehr-unknown": "ZZ-9999"}[pid]
            return JSONResponse(
                {
                    "resourceType": "Patient",
                    "id": pid,
                    "identifier": [
                        {"system": "http://ehr.example/other-id", "value": "X1"},
                        {"system": MRN, "value": mrn},
                    ],
                    "name": [{"family": "Example", "given": ["Margaret"]}],
                }
            )

        return app


def _serve(app: FastAPI, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "a server did not start"
        time.sleep(0.05)
    return server, thread


@dataclass(frozen=True)
class Launchable:
    app_url: str
    ehr: TestEhr


@pytest.fixture(scope="module")
def launchable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launchable]:
    """bonemets registered with the test EHR, the EHR's clinician linked to our nurse."""
    from bonemets.adapters.storage.repository import Database
    from bonemets.faces.web.app import create_app

    app_sock, app_port = _port()
    ehr_sock, ehr_port = _port()
    app_url = f"http://127.0.0.1:{app_port}"
    test_ehr = TestEhr(
        base=f"http://127.0.0.1:{ehr_port}", redirect_uri=f"{app_url}/smart/callback"
    )
    url = f"sqlite:///{tmp_path_factory.mktemp('smart') / 'app.sqlite3'}"
    _seed(url)  # Margaret Example (MRN EX-0001) and the nurse of her team
    db = Database(url)
    ehr.link_identity(db, "nurse", test_ehr.iss, PRACTITIONER)
    settings = Settings(
        database_url=url,
        secure_cookies=False,
        fixed_today=TODAY,
        secret_key="smart-tests",
        public_url=app_url,
        ehr_mrn_system=MRN,
        smart_clients=orjson.dumps({test_ehr.iss: {"client_id": CLIENT_ID}}).decode(),
        smart_standalone_iss=test_ehr.iss,
    )
    servers = [_serve(test_ehr.app(), ehr_sock), _serve(create_app(settings, db), app_sock)]
    try:
        yield Launchable(app_url=app_url, ehr=test_ehr)
    finally:
        for server, thread in servers:
            server.should_exit = True
            thread.join(timeout=10)
        db.dispose()


def test_ehr_launch_opens_our_page_for_the_ehr_patient(
    browser: Browser, launchable: Launchable, screenshots: Path
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    ehr_, app = launchable.ehr, launchable.app_url
    page.goto(f"{ehr_.base}/chart/ehr-123/open-app?app_url={app}/smart/launch")
    expect(page.get_by_role("heading", name="Allow bonemets to open this chart?")).to_be_visible()
    authorize = ehr_.log[-1]["authorize"]
    assert authorize["launch"] in ehr_.launches and "launch" in authorize["scope"].split()
    assert len(authorize["code_challenge"]) == 43  # S256 of a verifier kept server-side
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Margaret Example")).to_be_visible()
    assert page.url.endswith("/patients/pat-calm")
    page.screenshot(path=str(screenshots / "smart-ehr-launch.png"), full_page=False)
    verifier = ehr_.log[-1]["token"]["code_verifier"]
    assert len(verifier) >= 43 and verifier not in str(authorize)
    # The session is the linked nurse's: the worklist of her team opens.
    page.goto(f"{app}/worklist")
    expect(page.get_by_text("Margaret Example").first).to_be_visible()
    context.close()


def test_standalone_launch_asks_the_ehr_for_the_patient(
    browser: Browser, launchable: Launchable
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{launchable.app_url}/smart/launch")
    expect(page.get_by_role("heading", name="Choose a patient for bonemets")).to_be_visible()
    assert "launch" not in launchable.ehr.log[-1]["authorize"]
    page.get_by_label("Patient").select_option("ehr-123")
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Margaret Example")).to_be_visible()
    context.close()


def test_a_patient_bonemets_does_not_have_is_refused(
    browser: Browser, launchable: Launchable
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{launchable.app_url}/smart/launch")
    page.get_by_label("Patient").select_option("ehr-unknown")
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_text("This patient is not in bonemets")).to_be_visible()
    page.goto(f"{launchable.app_url}/worklist")  # and no session was started
    assert "/login" in page.url
    context.close()


def test_an_ehr_user_not_linked_is_refused_and_a_state_works_once(
    browser: Browser, launchable: Launchable
) -> None:
    launchable.ehr.user = "Practitioner/locum-9"
    try:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        callbacks: list[str] = []
        page.on(
            "request",
            lambda r: callbacks.append(r.url) if "/smart/callback" in r.url else None,
        )
        page.goto(
            f"{launchable.ehr.base}/chart/ehr-123/open-app"
            f"?app_url={launchable.app_url}/smart/launch"
        )
        page.get_by_role("button", name="Allow").click()
        expect(page.get_by_text("is not linked to a bonemets account")).to_be_visible()
        page.goto(callbacks[-1])  # the same code and state again
        expect(page.get_by_role("heading", name="Launch expired")).to_be_visible()
        context.close()
    finally:
        launchable.ehr.user = PRACTITIONER


def test_an_unregistered_ehr_is_refused(browser: Browser, launchable: Launchable) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    response = page.goto(
        f"{launchable.app_url}/smart/launch?iss=https://evil.example/fhir&launch=x"
    )
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="Unknown EHR")).to_be_visible()
    context.close()
