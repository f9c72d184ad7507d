"""The CDS Hooks 2.0 service: discovery, the two services and their feedback, as a FastAPI router
at the app root.

    GET  /cds-services                                  discovery
    POST /cds-services/bonemets-patient-view            hook patient-view
    POST /cds-services/bonemets-order-sign              hook order-sign
    POST /cds-services/{id}/feedback                    what the clinician did with a card
    OPTIONS on each                                     CORS preflight (browser-based EHRs)

CDS Hooks services are called by EHRs, not by signed-in users: no session cookie is asked for. The
cards are worked out only from the data of the request: the prefetch, and what is fetched from the
request's `fhirServer` with its `fhirAuthorization` token. The database holds only what the service
must remember across workers: the client JWTs already seen, the cards that can be overridden, and
the feedback.

Every call carries the CDS client's JWT (`Authorization: Bearer`), verified as auth.py says, unless
`BONEMETS_CDS_JWT_REQUIRED=0` (local demos and tests only).

Settings (environment; see also config.py):

- `BONEMETS_CDS_CLIENTS`: the CDS clients trusted, a JSON object (or `@file.json`) of issuer ->
  `{"jwks": {...}}`, `{"jwks_url": "..."}` and/or `{"jku": ["..."]}` (the `jku` URLs this issuer's
  tokens may name), optionally `"tenant"`. Default: none, so every call is refused (401).
- `BONEMETS_CDS_JWT_REQUIRED`: 1 (default) or 0.
- `BONEMETS_CDS_JWT_MAX_AGE`: seconds a client JWT is accepted after its `iat` (default 300).
- `BONEMETS_CDS_FHIR_SERVERS`: comma-separated base URLs of the FHIR servers the service may call
  for data the prefetch lacks ("*" for any). Default: none, so a fhirServer is never called
  (a caller-supplied URL is otherwise a server-side request forgery).
- `BONEMETS_CDS_FETCH_TIMEOUT`: seconds for all FHIR fetches of one call (default 5).
- `BONEMETS_CDS_MAX_BODY_BYTES`: the largest request body accepted (default 10 MB; 413 above).
- `BONEMETS_CDS_CORS_ORIGINS`: comma-separated origins allowed to call from a browser ("*", the
  default, for any: the calls carry no cookie, and the JWT is what authenticates them).
- `BONEMETS_CDS_PUBLIC_URL` (else `BONEMETS_PUBLIC_URL`): our app's base URL, for the JWT audience
  and card links (default: the request's base URL).
- `BONEMETS_EHR_MRN_SYSTEM`: the identifier system of the EHR's MRN, which is our patients' MRN:
  cards then also link to our patient page by that identifier.

Answers: 200 with cards; 400 for a body that is not a JSON object or a wrong hook; 401 without an
acceptable client JWT; 412 when data the pathway cannot be judged without (CORE_KEYS) cannot be had
from the prefetch or the FHIR server; 413 for a body over the limit; 422 for a request, context or
prefetch value that does not follow the specification (`{"detail": {"field", "message"}}`). Other
missing data is said on a card. Mapping and assessment run in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, TypeVar

import httpx
import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from bonemets.adapters.storage.repository import Database
from bonemets.core.errors import InputError
from bonemets.core.pathway import assess
from bonemets.core.record import Record
from bonemets.faces.cds import auth, fhir_bridge
from bonemets.faces.cds.cards import (
    Context,
    Finding,
    card,
    card_links,
    md,
    ordered,
    patient_view_findings,
)
from bonemets.faces.cds.cards import summary as short
from bonemets.faces.cds.fetch import FetchError, FhirFetcher, server_allowed
from bonemets.faces.cds.models import (
    CdsRequest,
    CdsResponse,
    Discovery,
    OrderSignContext,
    PatientViewContext,
    Service,
)
from bonemets.faces.cds.orders import (
    OrderError,
    draft_bma_orders,
    draft_medications,
    medication_id,
    order_findings,
    unread_medications,
)
from bonemets.faces.cds.prefetch import (
    CORE_KEYS,
    PURPOSE,
    RESOURCE_TYPES,
    Gathered,
    PrefetchError,
    gather,
    templates,
)
from bonemets.service import ehr

PATIENT_VIEW = "bonemets-patient-view"
ORDER_SIGN = "bonemets-order-sign"
SERVICES = (PATIENT_VIEW, ORDER_SIGN)
JSON = "application/json"
PARSE_INLINE_BYTES = 64 * 1024  # larger bodies are parsed in a worker thread


# --- Settings, the clock and the database (dependencies, so tests can replace them) ---------------


@dataclass(frozen=True)
class CdsSettings:
    fhir_servers: tuple[str, ...] = ()
    fetch_timeout_s: float = 5.0
    jwt_required: bool = True
    clients: dict[str, auth.TrustedClient] = field(default_factory=dict)
    jwt_max_age_s: float = 300.0
    jwt_leeway_s: float = 30.0
    public_url: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    cors_origins: tuple[str, ...] = ("*",)
    mrn_system: str | None = None

    @classmethod
    def from_env(cls) -> CdsSettings:
        env = os.environ
        return _settings_from(
            tuple(
                env.get(name, "")
                for name in (
                    "BONEMETS_CDS_FHIR_SERVERS",
                    "BONEMETS_CDS_FETCH_TIMEOUT",
                    "BONEMETS_CDS_JWT_REQUIRED",
                    "BONEMETS_CDS_CLIENTS",
                    "BONEMETS_CDS_JWT_MAX_AGE",
                    "BONEMETS_CDS_PUBLIC_URL",
                    "BONEMETS_PUBLIC_URL",
                    "BONEMETS_CDS_MAX_BODY_BYTES",
                    "BONEMETS_CDS_CORS_ORIGINS",
                    "BONEMETS_EHR_MRN_SYSTEM",
                )
            )
        )


def _split(value: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in value.split(",") if s.strip())


@cache
def _settings_from(values: tuple[str, ...]) -> CdsSettings:
    """The settings of one environment, parsed once (the clients' JSON and keys included)."""
    servers, timeout, required, clients, max_age, cds_url, url, max_body, origins, mrn = values
    return CdsSettings(
        fhir_servers=_split(servers),
        fetch_timeout_s=float(timeout or 5),
        jwt_required=required.strip() != "0",
        clients=auth.clients_from_setting(clients),
        jwt_max_age_s=float(max_age or 300),
        public_url=(cds_url or url or None),
        max_body_bytes=int(max_body or 10 * 1024 * 1024),
        cors_origins=_split(origins) if origins.strip() else ("*",),
        mrn_system=mrn.strip() or None,
    )


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in its
# threadpool, two thread hops per call that cost more than the rest of the framework's work.
async def cds_settings() -> CdsSettings:
    return CdsSettings.from_env()


async def today() -> dt.date:
    """The day the service judges on (local date of the server)."""
    return dt.date.today()


async def clock() -> float:
    """Now, in seconds since the epoch (JWT times)."""
    return time.time()


async def cds_db(request: Request) -> Database | None:
    """The app's database (None when the router runs in an app without one)."""
    ctx = getattr(request.app.state, "ctx", None)
    db: Database | None = getattr(ctx, "db", None)
    return db


_JWKS = auth.JwksCache()


# --- CORS: every CDS answer carries its headers, and preflight is answered -----------------------


def _cors_headers(request: Request, settings: CdsSettings) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin is None:
        return {}
    if "*" in settings.cors_origins:
        allowed = "*"
    elif origin in settings.cors_origins:
        allowed = origin
    else:
        return {}
    headers = {"Access-Control-Allow-Origin": allowed}
    if allowed != "*":
        headers["Vary"] = "Origin"
    return headers


class CdsRoute(APIRoute):
    """Adds the CORS headers to every answer of the CDS routes (errors included)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            response = await handler(request)
            response.headers.update(_cors_headers(request, _settings_of(request)))
            return response

        return with_cors


def _settings_of(request: Request) -> CdsSettings:
    override = request.app.dependency_overrides.get(cds_settings)
    if override is not None:
        value = override()
        if isinstance(value, CdsSettings):
            return value
    return CdsSettings.from_env()


router = APIRouter(tags=["cds-hooks"], route_class=CdsRoute)


@router.options("/cds-services", include_in_schema=False)
@router.options("/cds-services/{service_id}", include_in_schema=False)
@router.options("/cds-services/{service_id}/feedback", include_in_schema=False)
async def preflight(request: Request, settings: CdsSettings = Depends(cds_settings)) -> Response:
    headers = _cors_headers(request, settings)
    if headers:
        asked = request.headers.get("access-control-request-headers")
        headers.update(
            {
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": asked or "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            }
        )
    return Response(status_code=204, headers=headers)


# --- Errors ---------------------------------------------------------------------------------------


class CdsError(Exception):
    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.headers = headers

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail}, status_code=self.status, headers=self.headers)


def _field(prefix: str, exc: ValidationError) -> CdsError:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    where = ".".join(p for p in (prefix, loc) if p) or "request"
    message = str(first["msg"]).removeprefix("Value error, ")
    return CdsError(422, {"field": where, "message": message})


# --- Authentication -------------------------------------------------------------------------------


def _base_url(request: Request, settings: CdsSettings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


async def _authenticate(
    request: Request, settings: CdsSettings, now: float, db: Database | None
) -> auth.Verified | None:
    """The verified client JWT of the call (None when JWTs are not required)."""
    if not settings.jwt_required:
        return None
    path = request.url.path.rstrip("/")
    audiences = tuple(
        dict.fromkeys(
            [
                _base_url(request, settings) + path,
                str(request.base_url).rstrip("/") + path,
            ]
        )
    )
    try:
        token = auth.bearer(request.headers.get("authorization"))
        verified = await auth.verify(
            token,
            clients=settings.clients,
            audiences=audiences,
            now=now,
            max_age_s=settings.jwt_max_age_s,
            leeway_s=settings.jwt_leeway_s,
            cache=_JWKS,
        )
    except auth.Unauthorized as exc:
        raise CdsError(
            401, str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None
    if db is None:
        raise CdsError(503, "no database to keep the client JWTs seen: refusing the call")
    first = await run_in_threadpool(
        ehr.first_use_of_token,
        db,
        verified.issuer,
        verified.jti,
        verified.keep_until,
        dt.datetime.fromtimestamp(now, dt.UTC),
    )
    if not first:
        raise CdsError(
            401,
            "this client JWT (its jti) was already used: each call needs a new one",
            _INVALID_TOKEN,
        )
    return verified


# --- Reading the request --------------------------------------------------------------------------


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise CdsError(413, f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise CdsError(413, f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


M = TypeVar("M", bound=BaseModel)


def _parse(raw: bytes, model: type[M]) -> M:
    if not raw.strip():
        raise CdsError(400, "empty body: a CDS Hooks request is a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CdsError(400, f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CdsError(400, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _field("", exc) from None


async def _read(request: Request, settings: CdsSettings, model: type[M]) -> M:
    raw = await _body(request, settings.max_body_bytes)
    if len(raw) > PARSE_INLINE_BYTES:
        return await run_in_threadpool(_parse, raw, model)
    return _parse(raw, model)


def _hook(req: CdsRequest, service_hook: str) -> None:
    if req.hook != service_hook:
        raise CdsError(400, f"this service answers hook {service_hook!r}, not {req.hook!r}")


C = TypeVar("C", bound=BaseModel)


def _context(req: CdsRequest, model: type[C]) -> C:
    try:
        return model.model_validate(req.context)
    except ValidationError as exc:
        raise _field("context", exc) from None


# --- Discovery ------------------------------------------------------------------------------------

_DESCRIPTIONS = {
    PATIENT_VIEW: (
        "bonemets patient view",
        "Bone metastases care pathway on opening a patient's record: red flags from the latest "
        "symptom report and labs (e.g. high corrected calcium), bone-modifying agent status "
        "(overdue or withheld doses, dose by creatinine clearance, kidney and calcium checks, "
        "dental exam) and monitoring gaps, each card naming its rule, inputs and sources.",
    ),
    ORDER_SIGN: (
        "bonemets bone-modifying agent order check",
        "Checks a draft order of zoledronic acid, pamidronate, ibandronate, clodronate or "
        "denosumab before signing: the dose against creatinine clearance (with a corrected "
        "order to accept), the kidney withhold rule, calcium before the dose, a dental exam "
        "before the first dose, and a dose too soon after the last.",
    ),
}


def discovery() -> Discovery:
    prefetch = templates()
    return Discovery(
        services=[
            Service(
                hook=hook,
                id=sid,
                title=_DESCRIPTIONS[sid][0],
                description=_DESCRIPTIONS[sid][1],
                prefetch=prefetch,
            )
            for sid, hook in ((PATIENT_VIEW, "patient-view"), (ORDER_SIGN, "order-sign"))
        ]
    )


@cache
def _discovery_json() -> bytes:
    return discovery().model_dump_json(exclude_none=True).encode()


@router.get("/cds-services", include_in_schema=False)
async def cds_discovery(
    request: Request,
    settings: CdsSettings = Depends(cds_settings),
    now: float = Depends(clock),
    db: Database | None = Depends(cds_db),
) -> Response:
    """The CDS Hooks discovery document."""
    try:
        await _authenticate(request, settings, now, db)
    except CdsError as exc:
        return exc.response()
    return Response(_discovery_json(), media_type=JSON)


# --- The services ---------------------------------------------------------------------------------


def _inputs_md(g: Gathered) -> str:
    words = {"prefetch": "prefetch", "fetched": "fetched from the FHIR server", "none": "none"}
    parts = []
    for key, origin in g.origin.items():
        kind = RESOURCE_TYPES[key]
        n = g.counts.get(key, 0)
        if origin == "none":
            parts.append(f"{kind}: none (the client has none)")
        else:
            parts.append(f"{kind} ×{n} ({words[origin]})")
    for key in g.problems:
        parts.append(f"{RESOURCE_TYPES[key]}: **not read**")
    return "**Data read:** " + "; ".join(parts) + "."


def _data_findings(g: Gathered, imported: fhir_bridge.Imported, no_record: bool) -> list[Finding]:
    refusals = imported.refusals
    out: list[Finding] = []
    if g.gaps:
        text = "Part of the patient's data could not be read: the cards below may miss findings."
        out.append(
            Finding(
                indicator="warning",
                summary=short(text),
                message=text,
                rule="cds.data_incomplete",
                extra=["\n".join(f"- {md(gap)}" for gap in g.gaps)],
            )
        )
    if g.problems:
        core = [k for k in g.problems if k in CORE_KEYS]
        names = ", ".join(RESOURCE_TYPES[k] for k in g.problems)
        text = f"Patient data could not be read ({names}): the cards below may miss findings."
        lines = [
            f"- **{RESOURCE_TYPES[k]}** (for {PURPOSE[k]}): {md(why)}"
            for k, why in g.problems.items()
        ]
        out.append(
            Finding(
                indicator="warning" if core else "info",
                summary=short(f"Data could not be fetched: {names}"),
                message=text,
                rule="cds.data_unavailable",
                extra=["\n".join(lines)],
            )
        )
    if refusals:
        shown = refusals[:20]
        more = f"\n- … and {len(refusals) - len(shown)} more" if len(refusals) > len(shown) else ""
        text = f"{len(refusals)} FHIR resource(s) could not be read and were left out."
        out.append(
            Finding(
                indicator="warning",
                summary=short(text),
                message=text,
                rule="cds.data_refused",
                extra=["\n".join(f"- {md(r)}" for r in shown) + more],
            )
        )
    if imported.notes:
        text = "Some FHIR data was read with a caveat (e.g. a value left unknown)."
        out.append(
            Finding(
                indicator="info",
                summary=text,
                message=text,
                rule="cds.data_notes",
                extra=["\n".join(f"- {md(n)}" for n in imported.notes[:20])],
            )
        )
    if no_record:
        text = "No patient data could be read: nothing was assessed."
        out.append(
            Finding(
                indicator="warning",
                summary=text,
                message=text,
                rule="cds.no_data",
            )
        )
    return out


def _record(g: Gathered, patient_id: str) -> tuple[Record | None, fhir_bridge.Imported]:
    if not g.resources:
        return None, fhir_bridge.Imported(records={})
    imported = fhir_bridge.import_records(g.resources)
    record = imported.records.get(patient_id)
    if record is None and len(imported.records) == 1:
        # The adapter keys the record by our record-id identifier when the Patient has one; every
        # resource was already checked to be this patient's.
        record = next(iter(imported.records.values()))
    return record, imported


def _assessment_error(exc: InputError) -> Finding:
    text = f"The record built from the FHIR data was refused: {exc.field}: {exc.message}"
    return Finding(indicator="warning", summary=short(text), message=text, rule="cds.data_refused")


def _identifier(g: Gathered, mrn_system: str | None) -> tuple[str, str] | None:
    """The EHR patient's MRN (in the configured system), from the Patient read."""
    if mrn_system is None:
        return None
    for resource in g.resources:
        if resource.get("resourceType") != "Patient":
            continue
        for ident in resource.get("identifier") or []:
            if (
                isinstance(ident, dict)
                and ident.get("system") == mrn_system
                and isinstance(ident.get("value"), str)
                and ident["value"]
            ):
                return mrn_system, ident["value"]
    return None


async def _gathered(
    req: CdsRequest, patient_id: str, settings: CdsSettings, exclude: frozenset[str]
) -> Gathered:
    try:
        g = await gather(
            req.prefetch,
            patient_id=patient_id,
            server=req.fhir_server,
            token=req.fhirAuthorization.access_token if req.fhirAuthorization else None,
            allowed_servers=settings.fhir_servers,
            timeout_s=settings.fetch_timeout_s,
            exclude=exclude,
        )
    except PrefetchError as exc:
        raise CdsError(422, {"field": exc.field, "message": exc.message}) from None
    core = g.core_problems
    if core:
        # The specification's answer when the data needed cannot be had: never cards that read
        # as "nothing on the record".
        raise CdsError(
            412,
            {
                "message": "the patient's data needed to judge the bone pathway could not be had "
                "from the prefetch or the FHIR server: no cards were made",
                "missing": {RESOURCE_TYPES[k]: why for k, why in core.items()},
            },
        )
    return g


def _json(body: CdsResponse) -> Response:
    # The models serialise themselves straight to bytes: no dict in between, no stdlib json.
    return Response(body.to_bytes(), media_type=JSON)


def _context_of(
    request: Request, settings: CdsSettings, patient_id: str, as_of: dt.date, g: Gathered
) -> Context:
    base = _base_url(request, settings)
    return Context(
        base_url=base,
        patient_id=patient_id,
        as_of=as_of.isoformat(),
        inputs=_inputs_md(g),
        incomplete=not g.complete,
        links=card_links(base, _identifier(g, settings.mrn_system)),
    )


def _patient_view_cards(g: Gathered, patient_id: str, as_of: dt.date, ctx: Context) -> bytes:
    """The whole CPU part of a patient-view call (mapping, assessment, cards), for a thread."""
    record, imported = _record(g, patient_id)
    findings = _data_findings(g, imported, record is None)
    if record is not None:
        try:
            findings += patient_view_findings(assess(record, as_of))
        except InputError as exc:
            findings.append(_assessment_error(exc))
    return CdsResponse(cards=ordered([card(f, ctx) for f in findings])).to_bytes()


@router.post(f"/cds-services/{PATIENT_VIEW}", include_in_schema=False)
async def patient_view(
    request: Request,
    settings: CdsSettings = Depends(cds_settings),
    as_of: dt.date = Depends(today),
    now: float = Depends(clock),
    db: Database | None = Depends(cds_db),
) -> Response:
    try:
        await _authenticate(request, settings, now, db)
        req = await _read(request, settings, CdsRequest)
        _hook(req, "patient-view")
        context = _context(req, PatientViewContext)
        g = await _gathered(req, context.patientId, settings, frozenset())
    except CdsError as exc:
        return exc.response()
    ctx = _context_of(request, settings, context.patientId, as_of, g)
    body = await run_in_threadpool(_patient_view_cards, g, context.patientId, as_of, ctx)
    return Response(body, media_type=JSON)


async def _read_medications(
    req: CdsRequest, settings: CdsSettings, wanted: dict[str, str]
) -> dict[str, Any]:
    """The Medications draft orders point to but do not hold, from the FHIR server when it may
    be called (by id; what cannot be read is left out)."""
    server = req.fhir_server
    if server is None or not server_allowed(server, settings.fhir_servers):
        return {}
    token = req.fhirAuthorization.access_token if req.fhirAuthorization else None
    ids = {medication_id(ref) for ref in wanted.values() if ref != "(no medication)"}
    found: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=settings.fetch_timeout_s, follow_redirects=False) as c:
        fetcher = FhirFetcher(server, token, settings.fhir_servers, c)

        async def one(rid: str) -> None:
            try:
                med = await fetcher.read("Medication", rid)
            except FetchError:
                return
            if med.get("resourceType") == "Medication":
                found[rid] = med

        try:
            async with asyncio.timeout(settings.fetch_timeout_s):
                await asyncio.gather(*(one(rid) for rid in sorted(ids)[:20]))
        except TimeoutError:
            pass
    return found


def _unread_finding(unread: dict[str, str]) -> Finding:
    names = ", ".join(f"{where} ({ref})" for where, ref in list(unread.items())[:5])
    text = (
        f"The medication of {len(unread)} draft order(s) could not be read ({names}): if one "
        "is a bone-modifying agent, it was not checked (dose for kidney function, calcium, "
        "dental exam, interval)."
    )
    return Finding(
        indicator="warning",
        summary=short("A draft order's medication could not be read, so it was not checked."),
        message=text,
        rule="cds.order.medication_unread",
    )


def _order_sign_cards(
    g: Gathered,
    patient_id: str,
    as_of: dt.date,
    ctx: Context,
    orders: list[Any],
    unread: dict[str, str],
) -> CdsResponse:
    record, imported = _record(g, patient_id)
    findings = _data_findings(g, imported, record is None)
    if unread:
        findings.append(_unread_finding(unread))
    for order in orders:
        try:
            findings += order_findings(
                record if record is not None else Record(id=patient_id), order, as_of
            )
        except InputError as exc:
            findings.append(_assessment_error(exc))
    return CdsResponse(cards=ordered([card(f, ctx) for f in findings]))


@router.post(f"/cds-services/{ORDER_SIGN}", include_in_schema=False)
async def order_sign(
    request: Request,
    settings: CdsSettings = Depends(cds_settings),
    as_of: dt.date = Depends(today),
    now: float = Depends(clock),
    db: Database | None = Depends(cds_db),
) -> Response:
    try:
        verified = await _authenticate(request, settings, now, db)
        req = await _read(request, settings, CdsRequest)
        _hook(req, "order-sign")
        context = _context(req, OrderSignContext)
        drafts = context.draftOrders.resources()
        medications = draft_medications(drafts)
        unread = unread_medications(drafts, medications)
        if unread:
            medications.update(await _read_medications(req, settings, unread))
            unread = unread_medications(drafts, medications)
        try:
            orders = draft_bma_orders(drafts, context.patientId, medications)
        except OrderError as exc:
            raise CdsError(422, {"field": exc.field, "message": exc.message}) from None
        if not orders and not unread:  # nothing of ours to check: no data is read at all
            return _json(CdsResponse(cards=[]))
        exclude = frozenset(
            f"{r['resourceType']}/{r['id']}" for r in drafts if isinstance(r.get("id"), str)
        )
        g = await _gathered(req, context.patientId, settings, exclude)
    except CdsError as exc:
        return exc.response()
    ctx = _context_of(request, settings, context.patientId, as_of, g)
    response = await run_in_threadpool(
        _order_sign_cards, g, context.patientId, as_of, ctx, orders, unread
    )
    overridable = [
        ehr.IssuedCard(uuid=c.uuid, rule=c.source.topic.code)
        for c in response.cards
        if c.overrideReasons and c.uuid and c.source.topic is not None
    ]
    if overridable and db is not None:
        await run_in_threadpool(
            ehr.record_cards,
            db,
            service=ORDER_SIGN,
            hook_instance=req.hookInstance,
            ehr_patient=context.patientId,
            issuer=verified.issuer if verified else None,
            cards=overridable,
        )
    return _json(response)


# --- Feedback -------------------------------------------------------------------------------------


class _FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AcceptedSuggestion(_FeedbackIn):
    id: str = Field(min_length=1, max_length=200)


class OverrideCoding(_FeedbackIn):
    code: str = Field(min_length=1, max_length=200)
    system: str = Field(min_length=1, max_length=500)
    display: str | None = Field(None, max_length=2000)


class OverrideReason(_FeedbackIn):
    reason: OverrideCoding | None = None
    userComment: str | None = Field(None, max_length=5000)


class FeedbackItem(_FeedbackIn):
    card: str = Field(min_length=1, max_length=200)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: dt.datetime

    def to_feedback(self) -> ehr.Feedback:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is REQUIRED for an accepted outcome")
        when = self.outcomeTimestamp
        if when.tzinfo is None:
            raise ValueError("outcomeTimestamp must give its offset (UTC, e.g. ...Z)")
        reason = self.overrideReason.reason if self.overrideReason else None
        return ehr.Feedback(
            card=self.card,
            outcome=self.outcome,
            outcome_at=when,
            accepted=tuple(s.id for s in self.acceptedSuggestions or []),
            reason_system=reason.system if reason else None,
            reason_code=reason.code if reason else None,
            reason_display=reason.display if reason else None,
            comment=self.overrideReason.userComment if self.overrideReason else None,
        )


class FeedbackRequest(_FeedbackIn):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=500)


@router.post("/cds-services/{service_id}/feedback", include_in_schema=False)
async def feedback(
    service_id: str,
    request: Request,
    settings: CdsSettings = Depends(cds_settings),
    now: float = Depends(clock),
    db: Database | None = Depends(cds_db),
) -> Response:
    """Stores what the clinician did with our cards (accepted suggestions, overrides and their
    reasons), for review of the rules."""
    try:
        if service_id not in SERVICES:
            raise CdsError(404, f"no CDS service {service_id!r}")
        verified = await _authenticate(request, settings, now, db)
        req = await _read(request, settings, FeedbackRequest)
        items = []
        for i, item in enumerate(req.feedback):
            try:
                items.append(item.to_feedback())
            except ValueError as exc:
                raise CdsError(422, {"field": f"feedback[{i}]", "message": str(exc)}) from None
        if db is None:
            raise CdsError(503, "no database to store feedback in")
    except CdsError as exc:
        return exc.response()
    issuer = verified.issuer if verified else None
    known = await run_in_threadpool(ehr.store_feedback, db, service_id, items, issuer)
    return Response(
        orjson.dumps({"stored": len(items), "known_cards": len(known)}), media_type=JSON
    )
