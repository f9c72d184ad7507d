"""A read-only FHIR R4 REST API over the stored records: read by id, and search by patient,
code and date, answered as searchset Bundles. The same sign-in, access rules and audit as the
app (a FHIR client signs in through /api/session and sends the session cookie)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from bonemets.faces.web.deps import Context, SignedIn, context, signed_in
from bonemets.service import interop

# Described by its own CapabilityStatement (/fhir/metadata), not by the app's OpenAPI.
router = APIRouter(prefix="/fhir", tags=["fhir"], include_in_schema=False)
FHIR_JSON = "application/fhir+json"


def _outcome(status: int, code: str, text: str) -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


def not_found() -> JSONResponse:
    """The answer for a resource that is missing or not the caller's to see (the same)."""
    return _outcome(404, "not-found", "no such resource")


@router.get("/metadata")
def capability_statement() -> JSONResponse:
    """What this server can do (read and search of the listed types, JSON only)."""
    resources = [
        {
            "type": rtype,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": "patient", "type": "reference"},
                {"name": "code", "type": "token"},
                {"name": "date", "type": "date"},
            ],
        }
        for rtype in interop.READABLE
    ]
    body = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{"mode": "server", "resource": resources}],
    }
    return JSONResponse(body, media_type=FHIR_JSON)


@router.get("/{rtype}/{rid}")
def read(
    rtype: str, rid: str, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
) -> JSONResponse:
    if rtype not in interop.READABLE:
        return _outcome(404, "not-supported", f"{rtype} is not served here")
    resource = interop.read(ctx.db, who.user, rtype, rid)
    return JSONResponse(resource, media_type=FHIR_JSON)


@router.get("/{rtype}")
def search(
    request: Request,
    rtype: str,
    patient: str | None = None,
    subject: str | None = None,
    code: str | None = None,
    date: Annotated[list[str] | None, Query()] = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> JSONResponse:
    if rtype not in interop.READABLE:
        return _outcome(404, "not-supported", f"{rtype} is not served here")
    if rtype == "Patient" and patient is None:
        patient = request.query_params.get("_id")
    base = ctx.settings.public_url + "/fhir"  # configured, never the request's Host header
    bundle: dict[str, Any] = interop.search(
        ctx.db, who.user, rtype, patient=patient or subject, code=code, dates=date or [],
        base_url=base,
    )  # fmt: skip
    return JSONResponse(bundle, media_type=FHIR_JSON)
