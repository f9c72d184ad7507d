"""The JSON API under /api: everything the pages do, with the same access rules (the services
enforce them). Documented by FastAPI's OpenAPI at /api/openapi.json."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.web.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Context,
    SignedIn,
    check_csrf,
    context,
    signed_in,
)
from bonemets.core.pathway import Assessment, assess
from bonemets.core.types import IsoDate
from bonemets.service import accounts, care

router = APIRouter(prefix="/api", tags=["api"])

CsrfHeader = Annotated[str | None, Header(alias=CSRF_HEADER)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Missing or wrong CSRF token, or not allowed for this role"},
    404: {"description": "No such record, or not yours to see"},
    422: {"description": "Bad input: the field and what is wrong with it"},
}


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class SessionOut(BaseModel):
    username: str
    role: str
    display_name: str
    patient_id: str | None
    csrf_token: str = Field(description=f"Send it as the {CSRF_HEADER} header on writes.")


def _session_out(who: SignedIn) -> SessionOut:
    return SessionOut(
        username=who.user.username,
        role=who.user.role,
        display_name=who.user.display_name,
        patient_id=who.user.patient_id,
        csrf_token=who.csrf_token,
    )


@router.post(
    "/session",
    response_model=SessionOut,
    responses={401: ERRORS[401], 429: {"description": "Too many failed logins"}},
)
def login(
    body: Login, request: Request, response: Response, ctx: Context = Depends(context)
) -> SessionOut:
    """Sign in; sets the session cookie and returns the CSRF token for writes."""
    client = request.client.host if request.client else "unknown"
    with ctx.db.transaction() as s:
        try:
            user = accounts.authenticate(s, ctx.settings, body.username, body.password, client)
        except accounts.RateLimited:
            user = None
            limited = True
        else:
            limited = False
        new = accounts.start_session(s, ctx.settings, user) if user is not None else None
    if limited:
        raise HTTPException(status_code=429, detail="too many failed logins; try again later")
    if user is None or new is None:
        raise HTTPException(status_code=401, detail="wrong username or password")
    set_session_cookie(response, ctx, new)
    return _session_out(SignedIn(user=user, csrf_token=new.csrf_token, token=new.token))


def set_session_cookie(response: Response, ctx: Context, new: accounts.NewSession) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=int(ctx.settings.session_hours * 3600),
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite="lax",
        path="/",
    )


@router.get("/session", response_model=SessionOut, responses={401: ERRORS[401]})
def whoami(who: SignedIn = Depends(signed_in)) -> SessionOut:
    return _session_out(who)


@router.delete("/session", status_code=204, responses={401: ERRORS[401], 403: ERRORS[403]})
def logout(
    response: Response,
    csrf: CsrfHeader = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    check_csrf(who, csrf)
    with ctx.db.transaction() as s:
        accounts.end_session(s, who.token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


# --- Triage (stateless: the contract of shared/spec/triage.md) ------------------------------


@router.post("/triage", responses={422: ERRORS[422]})
def triage_report(
    report: dict[str, Any] = Body(..., description="A triage report (shared/spec/triage.md)"),
) -> dict[str, Any]:
    """Triage one report without storing anything."""
    from bonemets.core.triage import triage

    return triage(report).to_dict()


# --- Worklist, records, assessments -------------------------------------------------------


class WorklistItem(BaseModel):
    patient_id: str
    display_name: str
    mrn: str | None
    level: str
    overdue: int
    bma_status: str
    next_due: dt.date | None
    open_alerts: int
    escalated: bool
    headline: str | None


Level = Literal["emergency", "urgent", "soon", "routine", "self_care"]


@router.get(
    "/worklist",
    response_model=list[WorklistItem],
    responses={401: ERRORS[401], 404: ERRORS[404], 422: ERRORS[422]},
)
def get_worklist(
    level: Level | None = None,
    bma_status: str | None = None,
    search: str | None = None,
    open_alerts_only: bool = False,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> list[WorklistItem]:
    """The care team's patients, most urgent first (clinicians and admins)."""
    rows = care.worklist(
        ctx.db,
        ctx.settings,
        who.user,
        level=level,
        bma_status=bma_status,
        search=search,
        open_alerts_only=open_alerts_only,
    )
    return [
        WorklistItem(
            patient_id=r.patient_id,
            display_name=r.display_name,
            mrn=r.mrn,
            level=r.level,
            overdue=r.overdue,
            bma_status=r.bma_status,
            next_due=r.next_due,
            open_alerts=r.open_alerts,
            escalated=r.escalated,
            headline=r.headline,
        )
        for r in rows
    ]


@router.get("/patients/{patient_id}/assessment", response_model=Assessment, responses=ERRORS)
def get_assessment(
    patient_id: str,
    as_of: IsoDate | None = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Assessment:
    """The assessment contract (shared/spec/assessment.md) for any day up to today."""
    day = as_of or ctx.settings.today()
    with ctx.db.transaction() as s:
        care.authorize(ctx.db, s, who.user, patient_id, f"read assessment as of {day}")
        record = repo.load_record(s, patient_id)
    return assess(record, day)


@router.get("/patients/{patient_id}/record", responses=ERRORS)
def get_record(
    patient_id: str, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
) -> dict[str, Any]:
    """The patient record (the core's Record model as JSON)."""
    with ctx.db.transaction() as s:
        care.authorize(ctx.db, s, who.user, patient_id, "read record")
        return repo.load_record(s, patient_id).model_dump(mode="json")


class ReportItem(BaseModel):
    entry_id: int
    date: dt.date
    report: dict[str, Any]
    result: dict[str, Any] | None


@router.get("/patients/{patient_id}/reports", response_model=list[ReportItem], responses=ERRORS)
def get_reports(
    patient_id: str, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
) -> list[ReportItem]:
    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    return [
        ReportItem(entry_id=r.entry_id, date=r.date, report=r.report, result=r.result)
        for r in view.reports
    ]


class ReportIn(BaseModel):
    symptoms: list[dict[str, Any]] = Field(description="Symptoms in the triage contract's codes")
    labs: list[dict[str, Any]] = Field(
        default_factory=list, description="Optional latest lab values"
    )
    free_text: str | None = Field(None, max_length=10_000)


class Submitted(BaseModel):
    entry_id: int
    alert_id: int | None
    result: dict[str, Any]


@router.post(
    "/patients/{patient_id}/reports", response_model=Submitted, status_code=201, responses=ERRORS
)
def post_report(
    patient_id: str,
    body: ReportIn,
    csrf: CsrfHeader = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Submitted:
    """Submit a symptom report: triaged at once, the team alerted when the level asks for it."""
    check_csrf(who, csrf)
    done = care.submit_report(ctx.db, ctx.settings, who.user, patient_id, body.model_dump())
    return Submitted(entry_id=done.entry_id, alert_id=done.alert_id, result=done.result.to_dict())


EntryKind = Literal[
    "weight", "height", "lesion", "lab", "bma_dose", "bma_plan", "dental_exam",
    "dental_procedure", "imaging", "supplement", "condition", "treatment",
]  # fmt: skip


@router.post(
    "/patients/{patient_id}/entries/{kind}",
    response_model=Assessment,
    status_code=201,
    responses=ERRORS,
)
def post_entry(
    patient_id: str,
    kind: EntryKind,
    body: dict[str, Any] = Body(..., description="The entry, as the record model's JSON"),
    csrf: CsrfHeader = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Assessment:
    """Add a dose, lab result, lesion, dental exam, imaging test ...; returns the new assessment."""
    check_csrf(who, csrf)
    return care.record_entry(ctx.db, ctx.settings, who.user, patient_id, kind, body)


class AlertOut(BaseModel):
    id: int
    patient_id: str
    level: str
    headline: str
    rules: list[str]
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: int | None
    action_taken: str | None
    escalated: bool


@router.get("/patients/{patient_id}/alerts", response_model=list[AlertOut], responses=ERRORS)
def get_alerts(
    patient_id: str, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
) -> list[AlertOut]:
    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    now = dt.datetime.now(dt.UTC)
    return [_alert_out(a, care.is_escalated(a, ctx.settings, now)) for a in view.alerts]


def _alert_out(a: Any, escalated: bool) -> AlertOut:
    return AlertOut(
        id=a.id,
        patient_id=a.patient_id,
        level=a.level,
        headline=a.headline,
        rules=a.rules,
        created_at=a.created_at,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by,
        action_taken=a.action_taken,
        escalated=escalated,
    )


class Acknowledge(BaseModel):
    action_taken: str = Field(min_length=1, max_length=2000, description="What was done")


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, responses=ERRORS)
def acknowledge_alert(
    alert_id: int,
    body: Acknowledge,
    csrf: CsrfHeader = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> AlertOut:
    check_csrf(who, csrf)
    alert = care.acknowledge(ctx.db, who.user, alert_id, body.action_taken)
    return _alert_out(alert, False)
