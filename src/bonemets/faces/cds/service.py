"""The CDS Hooks 2.0 service: discovery and the two services, as a FastAPI router at the app root.

    GET  /cds-services                          discovery
    POST /cds-services/bonemets-patient-view    hook patient-view
    POST /cds-services/bonemets-order-sign      hook order-sign

CDS Hooks services are called by EHRs, not by signed-in users: no session cookie is asked for, and
the service never reads our database. It works only on the data of the request: the prefetch, and
what it fetches from the request's `fhirServer` with its `fhirAuthorization` token.

Settings (environment):

- `BONEMETS_CDS_FHIR_SERVERS`: comma-separated base URLs of the FHIR servers the service may call
  for data the prefetch lacks ("*" for any). Default: none, so a fhirServer is never called and a
  card says what is missing (a caller-supplied URL is otherwise a server-side request forgery).
- `BONEMETS_CDS_FETCH_TIMEOUT`: seconds for all FHIR fetches of one call (default 5).
- `BONEMETS_CDS_JWT_REQUIRED=1`: the specification's client JWTs are to be verified. Verification
  is NOT IMPLEMENTED: with this set, every CDS endpoint answers 501 rather than run unauthenticated.
- `BONEMETS_CDS_PUBLIC_URL`: our app's base URL for card links (default: the request's base URL).

Errors: a body that is not a JSON object is 400; a wrong hook for the service is 400; a request
or context that does not follow the specification, or prefetch data that does not fit its template
(wrong type, another patient), is 422 with `{"detail": {"field", "message"}}` as in the rest of
the API. Data that cannot be had is never an error: it is said on a card (see prefetch.py).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from bonemets.core.errors import InputError
from bonemets.core.pathway import assess
from bonemets.core.record import Record
from bonemets.faces.cds import fhir_bridge
from bonemets.faces.cds.cards import Context, Finding, card, ordered, patient_view_findings
from bonemets.faces.cds.cards import summary as short
from bonemets.faces.cds.models import (
    CdsRequest,
    CdsResponse,
    Discovery,
    OrderSignContext,
    PatientViewContext,
    Service,
)
from bonemets.faces.cds.orders import OrderError, draft_bma_orders, order_findings
from bonemets.faces.cds.prefetch import (
    CORE_KEYS,
    PURPOSE,
    RESOURCE_TYPES,
    Gathered,
    PrefetchError,
    gather,
    templates,
)

PATIENT_VIEW = "bonemets-patient-view"
ORDER_SIGN = "bonemets-order-sign"
MAX_BODY_BYTES = 20 * 1024 * 1024
JSON = "application/json"

router = APIRouter(tags=["cds-hooks"])


# --- Settings and the clock (dependencies, so tests and deployments can replace them) -------------


@dataclass(frozen=True)
class CdsSettings:
    fhir_servers: tuple[str, ...] = ()
    fetch_timeout_s: float = 5.0
    jwt_required: bool = False
    public_url: str | None = None

    @classmethod
    def from_env(cls) -> CdsSettings:
        servers = tuple(
            s.strip() for s in os.environ.get("BONEMETS_CDS_FHIR_SERVERS", "").split(",")
        )
        return cls(
            fhir_servers=tuple(s for s in servers if s),
            fetch_timeout_s=float(os.environ.get("BONEMETS_CDS_FETCH_TIMEOUT", "5")),
            jwt_required=os.environ.get("BONEMETS_CDS_JWT_REQUIRED", "") == "1",
            public_url=os.environ.get("BONEMETS_CDS_PUBLIC_URL") or None,
        )


# Both dependencies are `async def`: FastAPI runs a plain `def` dependency in its threadpool, two
# thread hops per call that cost more than the rest of the request's framework work under load.
async def cds_settings() -> CdsSettings:
    return CdsSettings.from_env()


async def today() -> dt.date:
    """The day the service judges on (local date of the server)."""
    return dt.date.today()


# --- Errors ---------------------------------------------------------------------------------------


class CdsError(Exception):
    def __init__(self, status: int, detail: str | dict[str, str]) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail}, status_code=self.status)


def _field(prefix: str, exc: ValidationError) -> CdsError:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    field = ".".join(p for p in (prefix, loc) if p) or "request"
    message = str(first["msg"]).removeprefix("Value error, ")
    return CdsError(422, {"field": field, "message": message})


def _not_implemented() -> JSONResponse:
    return JSONResponse(
        {
            "detail": "BONEMETS_CDS_JWT_REQUIRED=1, but this service cannot verify CDS client JWTs "
            "(not implemented): refusing every call rather than running unauthenticated."
        },
        status_code=501,
    )


async def _read(request: Request, service_hook: str) -> CdsRequest:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise CdsError(413, f"request body over {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise CdsError(400, "empty body: a CDS Hooks request is a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CdsError(400, f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CdsError(400, "the body must be a JSON object (a CDS Hooks request)")
    try:
        req = CdsRequest.model_validate(data)
    except ValidationError as exc:
        raise _field("", exc) from None
    if req.hook != service_hook:
        raise CdsError(400, f"this service answers hook {service_hook!r}, not {req.hook!r}")
    return req


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
async def cds_discovery(settings: CdsSettings = Depends(cds_settings)) -> Response:
    """The CDS Hooks discovery document."""
    if settings.jwt_required:
        return _not_implemented()
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
    if g.problems:
        core = [k for k in g.problems if k in CORE_KEYS]
        names = ", ".join(RESOURCE_TYPES[k] for k in g.problems)
        text = f"Patient data could not be read ({names}): the cards below may miss findings."
        lines = [
            f"- **{RESOURCE_TYPES[k]}** (for {PURPOSE[k]}): {why}" for k, why in g.problems.items()
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
                extra=["\n".join(f"- {r}" for r in shown) + more],
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
                extra=["\n".join(f"- {n}" for n in imported.notes[:20])],
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


def _base_url(request: Request, settings: CdsSettings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


async def _gathered(
    req: CdsRequest, patient_id: str, settings: CdsSettings, exclude: frozenset[str]
) -> Gathered:
    try:
        return await gather(
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


def _json(body: CdsResponse) -> Response:
    # Every card was validated when it was built (models.Card) and CdsResponse checks the list, so
    # the models serialise themselves straight to bytes: no dict in between and no stdlib json
    # (Starlette's JSONResponse), which took ~60 us of a ~1.2 ms call with seven cards.
    return Response(body.to_bytes(), media_type=JSON)


def _respond(findings: list[Finding], ctx: Context) -> Response:
    return _json(CdsResponse(cards=ordered([card(f, ctx) for f in findings])))


def _assessment_error(exc: InputError) -> Finding:
    text = f"The record built from the FHIR data was refused: {exc.field}: {exc.message}"
    return Finding(indicator="warning", summary=short(text), message=text, rule="cds.data_refused")


@router.post(f"/cds-services/{PATIENT_VIEW}", include_in_schema=False)
async def patient_view(
    request: Request,
    settings: CdsSettings = Depends(cds_settings),
    as_of: dt.date = Depends(today),
) -> Response:
    if settings.jwt_required:
        return _not_implemented()
    try:
        req = await _read(request, "patient-view")
        context = _context(req, PatientViewContext)
        g = await _gathered(req, context.patientId, settings, frozenset())
    except CdsError as exc:
        return exc.response()
    record, imported = _record(g, context.patientId)
    findings = _data_findings(g, imported, record is None)
    if record is not None:
        try:
            findings += patient_view_findings(assess(record, as_of))
        except InputError as exc:
            findings.append(_assessment_error(exc))
    ctx = Context(
        base_url=_base_url(request, settings),
        patient_id=context.patientId,
        as_of=as_of.isoformat(),
        inputs=_inputs_md(g),
        incomplete=not g.complete,
    )
    return _respond(findings, ctx)


@router.post(f"/cds-services/{ORDER_SIGN}", include_in_schema=False)
async def order_sign(
    request: Request,
    settings: CdsSettings = Depends(cds_settings),
    as_of: dt.date = Depends(today),
) -> Response:
    if settings.jwt_required:
        return _not_implemented()
    try:
        req = await _read(request, "order-sign")
        context = _context(req, OrderSignContext)
        drafts = context.draftOrders.resources()
        try:
            orders = draft_bma_orders(drafts, context.patientId)
        except OrderError as exc:
            raise CdsError(422, {"field": exc.field, "message": exc.message}) from None
        if not orders:  # nothing of ours to check: no data is read at all
            return _json(CdsResponse(cards=[]))
        exclude = frozenset(
            f"{r['resourceType']}/{r['id']}" for r in drafts if isinstance(r.get("id"), str)
        )
        g = await _gathered(req, context.patientId, settings, exclude)
    except CdsError as exc:
        return exc.response()
    record, imported = _record(g, context.patientId)
    findings = _data_findings(g, imported, record is None)
    for order in orders:
        try:
            findings += order_findings(
                record if record is not None else Record(id=context.patientId), order, as_of
            )
        except InputError as exc:
            findings.append(_assessment_error(exc))
    ctx = Context(
        base_url=_base_url(request, settings),
        patient_id=context.patientId,
        as_of=as_of.isoformat(),
        inputs=_inputs_md(g),
        incomplete=not g.complete,
    )
    return _respond(findings, ctx)
