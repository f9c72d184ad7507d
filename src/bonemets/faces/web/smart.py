"""bonemets as a SMART app: launched from an EHR (EHR launch: `iss` + `launch`) or on its own
(standalone launch), it opens our patient page for the EHR's patient, signed in as the clinician's
linked bonemets account.

    GET /smart/launch?iss=...&launch=...   EHR launch (standalone: no launch; iss optional)
    GET /smart/callback?code=...&state=... the authorization server's redirect
    GET /ehr/patient?identifier=sys|value  our patient page for an EHR identifier (card links)

The OAuth2 client side (authorization code with PKCE S256, the token request) is authlib's
(`AsyncOAuth2Client`); the id_token is verified with joserfc against the EHR's JWK Set. Each launch
keeps its state and PKCE verifier in the database (any worker may take the callback; a state is
good for one callback, for 10 minutes). Then:

- the user is the id_token's `fhirUser` (else `sub`) linked to a bonemets account under the
  id_token's issuer (service/ehr.py); not linked: refused, nobody is created;
- the patient is the token response's `patient` (an EHR FHIR id), read from the EHR's FHIR server
  and found in bonemets by its identifiers (the MRN in BONEMETS_EHR_MRN_SYSTEM, or our record-id
  identifier), never by the EHR's id; not found, or two patients found: refused;
- the linked account must be allowed to see that patient (care.may_access);
- then a bonemets session starts for that account, and the browser is sent to /patients/<id>.
"""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool

from bonemets.adapters.jwks import JwksCache, JwksError
from bonemets.adapters.storage import ehr as store
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.config import Settings
from bonemets.faces.web.account import set_session_cookie
from bonemets.faces.web.bearer import fhir_user_subjects
from bonemets.faces.web.deps import Context, SignedIn, context, optional_user
from bonemets.faces.web.fhir_api import smart_configuration
from bonemets.faces.web.i18n import N_, gettext, html_lang, tr
from bonemets.service import accounts, care, ehr

router = APIRouter(include_in_schema=False)
LAUNCH_MINUTES = 10
DEFAULT_SCOPE = "launch openid fhirUser patient/Patient.rs"
STANDALONE_SCOPE = "launch/patient openid fhirUser patient/Patient.rs"
TIMEOUT_S = 10.0
_JWKS = JwksCache()


class LaunchError(Exception):
    """A launch that cannot go on; the page says why (status, message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class SmartClient:
    """Our registration with one EHR's authorization server."""

    iss: str
    client_id: str
    client_secret: str | None = None
    scope: str | None = None


def clients(settings: Settings) -> dict[str, SmartClient]:
    value = settings.smart_clients.strip()
    if not value:
        return {}
    if value.startswith("@"):
        with open(value[1:], "rb") as f:
            value = f.read().decode()
    raw = orjson.loads(value)
    return {
        iss.rstrip("/"): SmartClient(
            iss=iss.rstrip("/"),
            client_id=conf["client_id"],
            client_secret=conf.get("client_secret"),
            scope=conf.get("scope"),
        )
        for iss, conf in raw.items()
    }


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    jwks_uri: str | None
    issuer: str | None


async def discover(iss: str) -> Endpoints:
    """The EHR's SMART configuration ({iss}/.well-known/smart-configuration)."""
    url = f"{iss}/.well-known/smart-configuration"
    async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
            conf = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            conf = None
    if not isinstance(conf, dict) or not conf.get("authorization_endpoint"):
        raise LaunchError(502, f"the EHR's SMART configuration could not be read ({url})")
    return Endpoints(
        authorize=str(conf["authorization_endpoint"]),
        token=str(conf["token_endpoint"]),
        jwks_uri=conf.get("jwks_uri"),
        issuer=conf.get("issuer"),
    )


def _redirect_uri(request: Request, settings: Settings) -> str:
    base = settings.public_url or str(request.base_url)
    return base.rstrip("/") + "/smart/callback"


def _oauth(client: SmartClient, redirect_uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        token_endpoint_auth_method="client_secret_basic" if client.client_secret else "none",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=TIMEOUT_S,
    )


def _page(status: int, title: str, message: str) -> HTMLResponse:
    """A launch error page; `title` and `message` are msgids (N_ where written)."""
    title, message, sign_in = tr(title), tr(message), gettext("Sign in to bonemets")
    body = (
        f"<!doctype html><html lang={html_lang()}><meta charset=utf-8><title>bonemets: "
        f"{_esc(title)}</title><main><h1>{_esc(title)}</h1><p>{_esc(message)}</p>"
        f'<p><a href="/login">{_esc(sign_in)}</a></p></main></html>'
    )
    return HTMLResponse(body, status_code=status)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


@router.get("/.well-known/smart-configuration")
def root_smart_configuration(request: Request) -> Response:
    """The SMART discovery document of our FHIR API, also at the site root."""
    return Response(orjson.dumps(smart_configuration(request)), media_type="application/json")


@router.get("/smart/launch")
async def launch(
    request: Request,
    iss: str | None = None,
    launch: str | None = None,
    ctx: Context = Depends(context),
) -> Response:
    settings = ctx.settings
    registered = clients(settings)
    iss = (iss or settings.smart_standalone_iss or "").rstrip("/")
    client = registered.get(iss)
    if client is None:
        unknown = N_("This EHR is not registered with bonemets (iss).")
        return _page(400, N_("Unknown EHR"), unknown)
    try:
        endpoints = await discover(iss)
    except LaunchError as exc:
        return _page(exc.status, N_("The EHR could not be reached"), exc.message)
    state = generate_token(43)
    verifier = generate_token(64)
    scope = client.scope or (DEFAULT_SCOPE if launch else STANDALONE_SCOPE)
    extra: dict[str, str] = {"aud": iss}
    if launch:
        extra["launch"] = launch
    oauth = _oauth(client, _redirect_uri(request, settings))
    url, _state = oauth.create_authorization_url(
        endpoints.authorize, state=state, code_verifier=verifier, scope=scope, **extra
    )
    now = dt.datetime.now(dt.UTC)
    row = t.SmartLaunch(
        state=state,
        issuer=iss,
        code_verifier=verifier,
        launch=launch,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=LAUNCH_MINUTES),
    )
    await run_in_threadpool(_store_launch, ctx, row, now)
    return RedirectResponse(url, status_code=302)


def _store_launch(ctx: Context, row: t.SmartLaunch, now: dt.datetime) -> None:
    with ctx.db.transaction() as s:
        store.add_launch(s, row, now)


def _take_launch(ctx: Context, state: str) -> t.SmartLaunch | None:
    with ctx.db.transaction() as s:
        return store.take_launch(s, state, dt.datetime.now(dt.UTC))


@router.get("/smart/callback")
async def callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    ctx: Context = Depends(context),
) -> Response:
    if error:
        return _page(403, N_("The EHR did not authorise bonemets"), f"{error}")
    if not code or not state:
        return _page(400, N_("Launch not completed"), N_("The EHR sent no code or no state."))
    started = await run_in_threadpool(_take_launch, ctx, state)
    if started is None:
        expired = N_("This launch is unknown or expired: launch again.")
        return _page(400, N_("Launch expired"), expired)
    try:
        return await _finish(request, ctx, started, code)
    except LaunchError as exc:
        return _page(exc.status, N_("bonemets could not open the patient"), exc.message)


async def _finish(request: Request, ctx: Context, started: t.SmartLaunch, code: str) -> Response:
    settings = ctx.settings
    client = clients(settings).get(started.issuer)
    if client is None:
        raise LaunchError(400, "This EHR is no longer registered with bonemets.")
    endpoints = await discover(started.issuer)
    oauth = _oauth(client, _redirect_uri(request, settings))
    try:
        token: dict[str, Any] = await oauth.fetch_token(
            endpoints.token, code=code, code_verifier=started.code_verifier
        )
    except Exception as exc:  # authlib raises its OAuth2Error, httpx its own: both refuse
        raise LaunchError(502, f"the EHR refused the authorization code ({exc})") from None
    claims = await _id_token_claims(token, endpoints, client)
    user = await run_in_threadpool(
        ehr.user_for, ctx.db, str(claims["iss"]), fhir_user_subjects(claims)
    )
    if user is None:
        raise LaunchError(
            403,
            f"Your EHR user ({claims.get('fhirUser') or claims.get('sub')}) is not linked to a "
            "bonemets account: ask a bonemets administrator to link it (bonemets user link-ehr).",
        )
    ehr_patient = token.get("patient")
    if not isinstance(ehr_patient, str) or not ehr_patient:
        raise LaunchError(400, "The EHR gave no patient: open bonemets from a patient's chart.")
    identifiers = await _patient_identifiers(
        started.issuer, ehr_patient, str(token["access_token"])
    )
    pid = await run_in_threadpool(
        ehr.patient_by_identifier, ctx.db, identifiers, settings.ehr_mrn_system
    )
    if pid is None:
        raise LaunchError(
            404,
            "This patient is not in bonemets (no patient with the EHR's MRN), or the EHR's "
            "identifiers match more than one.",
        )
    new = await run_in_threadpool(_start_session, ctx, user, pid, started.issuer)
    if new is None:
        raise LaunchError(404, "This patient is not one you can see in bonemets.")
    response = RedirectResponse(f"/patients/{urllib.parse.quote(pid)}", status_code=303)
    set_session_cookie(response, ctx, new)  # the same cookie as a sign-in with a password
    return response


async def _id_token_claims(
    token: dict[str, Any], endpoints: Endpoints, client: SmartClient
) -> dict[str, Any]:
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise LaunchError(502, "the EHR sent no id_token (the openid and fhirUser scopes)")
    if not endpoints.jwks_uri:
        raise LaunchError(502, "the EHR publishes no jwks_uri to verify its id_token with")
    try:
        keys = await _JWKS.get(endpoints.jwks_uri, None)
        claims = jwt.decode(id_token, keys, algorithms=["RS256", "RS384", "ES256", "ES384"]).claims
        registry = jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, **({"value": endpoints.issuer} if endpoints.issuer else {})},
            aud={"essential": True, "value": client.client_id},
            exp={"essential": True},
        )
        registry.validate(claims)
    except (JwksError, JoseError) as exc:
        raise LaunchError(502, f"the EHR's id_token does not verify ({exc})") from None
    return dict(claims)


async def _patient_identifiers(iss: str, patient: str, access_token: str) -> list[dict[str, Any]]:
    url = f"{iss}/Patient/{urllib.parse.quote(patient, safe='')}"
    async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
        try:
            response = await client.get(
                url,
                headers={
                    "Authorization": f"Bearer {access_token}",
                    "Accept": "application/fhir+json",
                },
            )
            resource = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            resource = None
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        raise LaunchError(502, "the EHR's Patient could not be read")
    idents = resource.get("identifier")
    return [i for i in idents if isinstance(i, dict)] if isinstance(idents, list) else []


def _start_session(
    ctx: Context, user: t.User, patient_id: str, issuer: str
) -> accounts.NewSession | None:
    with ctx.db.transaction() as s:
        patient = s.get(t.Patient, patient_id)
        if patient is None or not care.may_access(user, patient):
            return None
        repo.audit(
            s,
            user=user,
            action="login",
            what=f"SMART launch from {issuer}",
            patient_id=patient_id,
        )
        return accounts.start_session(s, ctx.settings, user)


@router.get("/ehr/patient")
def ehr_patient(
    request: Request,
    identifier: str,
    who: SignedIn | None = Depends(optional_user),
    ctx: Context = Depends(context),
) -> Response:
    """Our patient page for an EHR identifier (`system|value`), for card links: sign in first
    (and come back here), then the patient page when the identifier names one patient; the
    patient is one the user may see."""
    if who is None:
        here = f"{request.url.path}?{request.url.query}"
        return RedirectResponse(f"/login?next={urllib.parse.quote(here)}", status_code=303)
    system, _, value = identifier.rpartition("|")
    pid = ehr.patient_by_identifier(
        ctx.db, [{"system": system, "value": value}], ctx.settings.ehr_mrn_system
    )
    if pid is None or not _may_see(ctx, who.user, pid):
        # The same answer whether the patient exists or is not the user's: no id is revealed.
        unknown = N_("No bonemets patient of yours has this identifier.")
        return _page(404, N_("Patient not found"), unknown)
    return RedirectResponse(f"/patients/{urllib.parse.quote(pid)}", status_code=303)


def _may_see(ctx: Context, user: t.User, patient_id: str) -> bool:
    with ctx.db.transaction() as s:
        patient = s.get(t.Patient, patient_id)
        return patient is not None and care.may_access(user, patient)
