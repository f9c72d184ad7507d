"""A read-only FHIR R4 REST API over the stored records: read by id and search (service/
fhir_search.py says how), for signed-in users (session cookie) and SMART apps (OAuth2 bearer
tokens, bearer.py), with the app's access rules and audit.

Every error is an OperationOutcome (400, 401, 403, 404, 405, 406). The CapabilityStatement at
/fhir/metadata is generated from the search parameters the server implements and the security
it is configured with; /fhir/.well-known/smart-configuration is the SMART discovery document.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from bonemets import ENGINE_VERSION
from bonemets.faces.web.bearer import FhirAuthError, fhir_access
from bonemets.faces.web.deps import Context
from bonemets.service import fhir_search
from bonemets.service.fhir_search import READABLE, Access, SearchError, outcome, params_of

FHIR_JSON = "application/fhir+json"
# When what this server supports last changed (CapabilityStatement.date).
CAPABILITY_DATE = "2026-12-14"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SMART_CAPABILITIES = [
    "launch-ehr",
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "context-ehr-patient",
    "context-standalone-patient",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
]


class FhirRoute(APIRoute):
    """CORS for browser SMART apps: any origin may call with a bearer token. No credentials are
    allowed cross-origin (no Access-Control-Allow-Credentials), so the session cookie is never
    sent by another site's script."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            response = await handler(request)
            if request.headers.get("origin"):
                response.headers["Access-Control-Allow-Origin"] = "*"
                response.headers["Access-Control-Expose-Headers"] = "Location, WWW-Authenticate"
            return response

        return with_cors


# Described by its own CapabilityStatement (/fhir/metadata), not by the app's OpenAPI.
router = APIRouter(prefix="/fhir", tags=["fhir"], include_in_schema=False, route_class=FhirRoute)


def fhir_json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON, headers=headers)


def problem(status: int, code: str, text: str, headers: dict[str, str] | None = None) -> Response:
    return fhir_json(outcome("error", code, text), status, headers)


def not_found() -> Response:
    """The answer for a resource that is missing or not the caller's to see (the same)."""
    return problem(404, "not-found", "no such resource")


def _base(request: Request) -> str:
    """Our FHIR base as configured (BONEMETS_PUBLIC_URL), never the request's Host header."""
    ctx: Context = request.app.state.ctx
    return ctx.settings.public_url.rstrip("/") + "/fhir"


def _refused(exc: FhirAuthError) -> Response:
    return problem(exc.status, exc.code, exc.message, {"WWW-Authenticate": exc.www_authenticate()})


# --- Discovery ----------------------------------------------------------------------------------


def capability_statement(request: Request) -> dict[str, Any]:
    ctx: Context = request.app.state.ctx
    s = ctx.settings
    base = _base(request)
    security: dict[str, Any] = {
        "cors": True,
        "description": "Sign in to bonemets (session cookie), or an OAuth2 bearer token from "
        "the configured SMART authorization server (SMART App Launch 2, patient/ and user/ "
        "read scopes).",
    }
    if s.fhir_oauth_issuer:
        security["service"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ],
                "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
            }
        ]
        uris = [("authorize", s.fhir_oauth_authorize_url), ("token", s.fhir_oauth_token_url)]
        security["extension"] = [
            {
                "url": OAUTH_URIS,
                "extension": [{"url": k, "valueUri": v} for k, v in uris if v],
            }
        ]
    resources = []
    for rtype in READABLE:
        resources.append(
            {
                "type": rtype,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [
                    {"name": name, "type": param.kind} for name, param in params_of(rtype).items()
                ],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "id": "bonemets",
        "url": f"{base}/metadata",
        "version": ENGINE_VERSION,
        "name": "BonemetsFhirServer",
        "title": "bonemets FHIR server",
        "status": "active",
        "experimental": False,
        "date": CAPABILITY_DATE,
        "publisher": "The bonemets developers",
        "description": "Read and search of the bone-metastasis care records stored in bonemets "
        "(FHIR R4, mCODE and US Core profiles where they apply). Supports, and does not "
        "replace, clinical judgement.",
        "kind": "instance",
        "software": {"name": "bonemets", "version": ENGINE_VERSION},
        "implementation": {"description": "bonemets", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Search: _count with next/previous links; token, reference "
                "and date parameters (eq, ne, gt, lt, ge, le, sa, eb); unknown parameters are "
                "refused under 'Prefer: handling=strict', else ignored and reported.",
                "security": security,
                "resource": resources,
            }
        ],
    }


@router.get("/metadata")
def metadata(request: Request) -> Response:
    """What this server can do, generated from what it implements."""
    return fhir_json(capability_statement(request))


def smart_configuration(request: Request) -> dict[str, Any]:
    ctx: Context = request.app.state.ctx
    s = ctx.settings
    conf: dict[str, Any] = {
        "capabilities": SMART_CAPABILITIES,
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code"],
        "scopes_supported": [
            "openid",
            "fhirUser",
            "launch",
            "launch/patient",
            "patient/*.rs",
            "user/*.rs",
            "patient/*.read",
            "user/*.read",
            *(f"patient/{t}.rs" for t in READABLE),
            *(f"user/{t}.rs" for t in READABLE),
        ],
        "response_types_supported": ["code"],
    }
    if s.fhir_oauth_issuer:
        conf["issuer"] = s.fhir_oauth_issuer
    if s.fhir_oauth_jwks_url:
        conf["jwks_uri"] = s.fhir_oauth_jwks_url
    if s.fhir_oauth_authorize_url:
        conf["authorization_endpoint"] = s.fhir_oauth_authorize_url
    if s.fhir_oauth_token_url:
        conf["token_endpoint"] = s.fhir_oauth_token_url
    return conf


@router.get("/.well-known/smart-configuration")
def smart_config(request: Request) -> Response:
    return Response(orjson.dumps(smart_configuration(request)), media_type="application/json")


# --- Read and search ----------------------------------------------------------------------------


def _strict(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(p.strip().replace(" ", "") == "handling=strict" for p in prefer.split(";"))


def _accepts_json(request: Request) -> bool:
    accept = request.headers.get("accept", "*/*")
    return any(
        kind.split(";")[0].strip() in ("*/*", "application/*", "application/json", FHIR_JSON)
        for kind in accept.split(",")
    )


async def _caller(
    request: Request, rtype: str, what: Literal["reading", "searching"]
) -> Access | Response:
    """Who asks, when they may read or search `rtype` here; else the refusal to send (404 for a
    type not served, 406 for a format, 401 without valid credentials, 403 outside the scopes)."""
    if rtype not in READABLE:
        return problem(404, "not-supported", f"{rtype} is not served here")
    if not _accepts_json(request):
        return problem(406, "not-supported", "only FHIR JSON is served")
    try:
        access = await fhir_access(request)
    except FhirAuthError as exc:
        return _refused(exc)
    allowed = access.may_read(rtype) if what == "reading" else access.may_search(rtype)
    if not allowed:
        return problem(403, "forbidden", f"the token's scopes do not allow {what} {rtype}")
    return access


@router.get("/{rtype}/{rid}")
async def read(request: Request, rtype: str, rid: str) -> Response:
    access = await _caller(request, rtype, "reading")
    if isinstance(access, Response):
        return access
    ctx: Context = request.app.state.ctx
    found = await run_in_threadpool(
        fhir_search.read, ctx.db, access, rtype, rid, mrn_system=ctx.settings.ehr_mrn_system
    )
    if found is None:
        return not_found()
    return fhir_json(found)


@router.get("/{rtype}")
async def search(request: Request, rtype: str) -> Response:
    access = await _caller(request, rtype, "searching")
    if isinstance(access, Response):
        return access
    try:
        q = fhir_search.parse(rtype, request.query_params.multi_items(), strict=_strict(request))
    except SearchError as exc:
        if isinstance(exc, fhir_search.NotAnId):
            db = request.app.state.ctx.db
            await run_in_threadpool(fhir_search.refused_search, db, access, rtype, exc)
        return problem(
            400, "invalid" if "unknown" not in exc.message else "not-supported", str(exc)
        )
    ctx: Context = request.app.state.ctx
    page = await run_in_threadpool(
        fhir_search.search, ctx.db, access, q, mrn_system=ctx.settings.ehr_mrn_system
    )
    return fhir_json(fhir_search.bundle(_base(request), q, page))


@router.options("/{path:path}")
def preflight(request: Request, path: str) -> Response:
    headers = {}
    if request.headers.get("origin"):
        headers = {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "GET, OPTIONS",
            "Access-Control-Allow-Headers": request.headers.get(
                "access-control-request-headers", "Authorization, Accept, Prefer"
            ),
            "Access-Control-Max-Age": "600",
        }
    return Response(status_code=204, headers=headers)


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
def other(request: Request, path: str) -> Response:
    """Anything else under /fhir: 405 for a method this read-only server does not offer, 404 for
    a path it does not have."""
    if request.method not in ("GET", "HEAD"):
        return problem(
            405,
            "not-supported",
            f"{request.method} is not supported: this server is read-only (GET)",
            {"Allow": "GET"},
        )
    return problem(404, "not-found", f"no such FHIR endpoint: /fhir/{path}")
