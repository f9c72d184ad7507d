"""The JSON API under /api: everything the pages do, with the same access rules (the services
enforce them). Documented by FastAPI's OpenAPI at /api/openapi.json."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy.orm import Session

from bonemets.core.errors import InputError
from bonemets.core.pathway import Assessment
from bonemets.core.types import IsoDate
from bonemets.faces.web.account import set_device_cookie, set_session_cookie
from bonemets.faces.web.deps import (
    CSRF_HEADER,
    DEVICE_COOKIE,
    SESSION_COOKIE,
    Caller,
    Context,
    SignedIn,
    caller,
    check_csrf,
    client_address,
    context,
    signed_in,
)
from bonemets.service import accounts, care, filing, validation

router = APIRouter(prefix="/api", tags=["api"])

CsrfHeader = Annotated[str | None, Header(alias=CSRF_HEADER)]
# Text the database can store: PostgreSQL refuses the NUL character in text and JSONB.
NO_NUL = r"^[^\x00]*$"
PatientId = Annotated[
    str, PathParam(min_length=1, max_length=64, pattern=NO_NUL, description="The record's id")
]
AlertId = Annotated[int, PathParam(ge=1, le=2_147_483_647, description="The alert's id")]


class ErrorOut(BaseModel):
    """The body of a 401, 403, 404 or 429 answer."""

    detail: str = Field(description="What went wrong, in words", examples=["not found"])


class FieldProblem(BaseModel):
    field: str = Field(
        description="The offending field as a dotted/indexed path, or 'request'",
        examples=["symptoms[0].code"],
    )
    message: str = Field(description="What is wrong with it", examples=["unknown symptom code"])


class InputErrorOut(BaseModel):
    """The body of a 422 answer: one field and what is wrong with it (never FastAPI's list)."""

    detail: FieldProblem


# The error answers each route can give, as the app sends them (see app.py's handlers).
# 404 is also the answer for a record the user may not see, and for a role the route is not for.
_ERROR_DOCS: dict[int, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body could not be read (not UTF-8 JSON)"},
    401: {"model": ErrorOut, "description": "Not signed in"},
    403: {"model": ErrorOut, "description": "Missing or wrong CSRF token (writes)"},
    404: {"model": ErrorOut, "description": "No such record, or not yours to see"},
    413: {"model": ErrorOut, "description": "The body is over the size limit"},
    422: {"model": InputErrorOut, "description": "Bad input: the field and what is wrong with it"},
    429: {"model": ErrorOut, "description": "Too many failed logins"},
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: _ERROR_DOCS[code] for code in codes}


def json_response(body: bytes, status_code: int = 200) -> Response:
    """Send JSON the route has serialised itself. The hot routes build their answer with the
    same pydantic models their `response_model` documents and serialise it once, where FastAPI
    would validate it again (in another thread hop) and encode it a second time."""
    return Response(body, status_code=status_code, media_type="application/json")


READ = errors(401, 404, 422)  # a signed-in read of one patient's data
WRITE = errors(
    400, 401, 403, 404, 413, 422
)  # a signed-in write with a JSON body and the CSRF header


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=80, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=200)
    code: str | None = Field(
        None,
        min_length=6,
        max_length=7,
        pattern=r"^[0-9 ]+$",
        description="The 6-digit TOTP code, for an account with two-step sign-in",
    )


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
    responses=errors(400, 401, 413, 422, 429),
)
def login(
    body: Login, request: Request, response: Response, ctx: Context = Depends(context)
) -> SessionOut:
    """Sign in; sets the session cookie and returns the CSRF token for writes. An account with
    two-step sign-in also sends `code`; without it the answer is 401 "code required"."""
    outcome = accounts.sign_in(
        ctx.db,
        ctx.settings,
        username=body.username,
        password=body.password,
        code=body.code,
        client=client_address(request),
        device=request.cookies.get(DEVICE_COOKIE),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    if outcome.retry_after is not None:
        raise HTTPException(
            status_code=429,
            detail="too many failed logins; try again later",
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if outcome.needs_code and not outcome.wrong_code:
        raise HTTPException(status_code=401, detail="code required")
    if not outcome.ok or outcome.user is None or outcome.session is None:
        raise HTTPException(status_code=401, detail="wrong username, password or code")
    set_session_cookie(response, ctx, outcome.session)
    set_device_cookie(response, ctx, outcome.device_cookie)
    new = outcome.session
    return _session_out(SignedIn(user=outcome.user, csrf_token=new.csrf_token, token=new.token))


@router.get("/session", response_model=SessionOut, responses=errors(401))
def whoami(who: SignedIn = Depends(signed_in)) -> SessionOut:
    return _session_out(who)


@router.delete("/session", status_code=204, responses=errors(401, 403, 422))
def logout(
    response: Response,
    everywhere: bool = False,
    csrf: CsrfHeader = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    """Sign out (`everywhere=true`: every session of this user ends)."""
    check_csrf(who, csrf)
    with ctx.db.transaction() as s:
        if everywhere:
            accounts.end_all_sessions(s, who.user)
        else:
            accounts.end_session(s, who.token, who.user)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


# --- Triage (stateless: the contract of shared/spec/triage.md) ------------------------------


@router.post("/triage", responses=errors(400, 413, 422))
def triage_report(
    report: dict[str, Any] = Body(..., description="A triage report (shared/spec/triage.md)"),
) -> dict[str, Any]:
    """Triage one report without storing anything."""
    from bonemets.core.triage import triage

    validation.check_payload(report)
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
    unread_messages: int = 0  # the patient's or carer's messages nobody in the team answered


Level = Literal["emergency", "urgent", "soon", "routine", "self_care"]


WORKLIST_JSON = TypeAdapter(list[WorklistItem])


@router.get(
    "/worklist",
    response_model=list[WorklistItem],
    responses=READ,
)
async def get_worklist(
    level: Level | None = None,
    bma_status: str | None = None,
    search: str | None = None,
    open_alerts_only: bool = False,
    me: Caller = Depends(caller),
) -> Response:
    """The care team's patients, most urgent first (clinicians and admins)."""
    ctx = me.ctx
    rows = await me.run(
        lambda s, who: care.worklist(
            ctx.db,
            ctx.settings,
            who.user,
            level=level,
            bma_status=bma_status,
            search=search,
            open_alerts_only=open_alerts_only,
            s=s,
        )
    )
    items = [
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
            unread_messages=r.unread_messages,
        )
        for r in rows
    ]
    return json_response(WORKLIST_JSON.dump_json(items, by_alias=True))


@router.get("/patients/{patient_id}/assessment", response_model=Assessment, responses=READ)
async def get_assessment(
    patient_id: PatientId, as_of: IsoDate | None = None, me: Caller = Depends(caller)
) -> Response:
    """The assessment contract (shared/spec/assessment.md) for any day up to today."""
    ctx = me.ctx

    def work(s: Session, who: SignedIn) -> bytes:
        today = ctx.settings.today()
        if as_of is not None and as_of > today:
            raise InputError("as_of", f"{as_of} is after today ({today}): not assessed")
        if as_of is None or as_of == today:
            return care.assessment_json(ctx.db, ctx.settings, who.user, patient_id, s=s)
        assessment = care.assessment_as_of(ctx.db, who.user, patient_id, as_of, s=s)
        return assessment.model_dump_json(by_alias=True).encode()

    return json_response(await me.run(work))


@router.get("/patients/{patient_id}/record", response_model=dict[str, Any], responses=READ)
async def get_record(patient_id: PatientId, me: Caller = Depends(caller)) -> Response:
    """The patient record (the core's Record model as JSON)."""
    db = me.ctx.db
    body = await me.run(lambda s, who: care.record_json(db, who.user, patient_id, s=s))
    return json_response(body)


class ReportItem(BaseModel):
    entry_id: int
    date: dt.date
    report: dict[str, Any]
    result: dict[str, Any] | None


@router.get("/patients/{patient_id}/reports", response_model=list[ReportItem], responses=READ)
def get_reports(
    patient_id: PatientId, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
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
    free_text: str | None = Field(None, max_length=10_000, pattern=NO_NUL)


class Submitted(BaseModel):
    entry_id: int
    alert_id: int | None = Field(description="The alert this report opened, if it was news")
    result: dict[str, Any]
    folded_into: list[int] = Field(
        default_factory=list,
        description="Alerts the team already has that this report repeats (counted there)",
    )
    team_notified: bool = Field(
        False, description="True when an alert was sent over a configured channel"
    )
    message_task_id: int | None = Field(
        None, description="The 'read the patient's message' task opened for the free text"
    )


@router.post(
    "/patients/{patient_id}/reports", response_model=Submitted, status_code=201, responses=WRITE
)
async def post_report(
    patient_id: PatientId, body: ReportIn, csrf: CsrfHeader = None, me: Caller = Depends(caller)
) -> Response:
    """Submit a symptom report: triaged at once, the team alerted when the level asks for it."""
    ctx = me.ctx

    def work(s: Session, who: SignedIn) -> bytes:
        check_csrf(who, csrf)
        data = body.model_dump()
        done = filing.submit_report(ctx.db, ctx.settings, who.user, patient_id, data, s=s)
        assert done.result is not None
        out = Submitted(
            entry_id=done.entry_ids[-1],
            alert_id=done.alert_id,
            result=done.result.to_dict(),
            folded_into=done.raised.folded,
            team_notified=done.raised.notified,
            message_task_id=done.message_task,
        )
        return out.model_dump_json(by_alias=True).encode()

    return json_response(await me.run(work), status_code=201)


EntryKind = Literal[
    "weight", "height", "lesion", "lab", "bma_dose", "bma_plan", "dental_exam",
    "dental_procedure", "imaging", "supplement", "condition", "treatment", "symptom_resolution",
]  # fmt: skip


@router.post(
    "/patients/{patient_id}/entries/{kind}",
    response_model=Assessment,
    status_code=201,
    responses={
        **WRITE,
        409: {
            "description": "A dose the pathway's checks advise against: "
            "repeat with override_reason to record it"
        },
    },
)
def post_entry(
    patient_id: PatientId,
    kind: EntryKind,
    body: dict[str, Any] = Body(..., description="The entry, as the record model's JSON"),
    override_reason: Annotated[
        str | None,
        Query(max_length=2000, description="Why a dose goes ahead against the checks (audited)"),
    ] = None,
    csrf: CsrfHeader = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Assessment:
    """Add a dose, lab result, lesion, dental exam, imaging test, symptom resolution ...;
    returns the new assessment. A dose runs the pathway's checks first (as CDS order-sign does):
    an implausible dose is refused (422), one the checks advise against needs `override_reason`
    (409 with the findings otherwise)."""
    check_csrf(who, csrf)
    filed = filing.record_entry(
        ctx.db, ctx.settings, who.user, patient_id, kind, body,
        override_reason=override_reason, origin="api",
    )  # fmt: skip
    return filed.assessment


class DoseFinding(BaseModel):
    rule: str
    severity: Literal["critical", "warning", "info"]
    override: bool = Field(description="Recording the dose needs a reason")
    headline: str
    message: str
    advised_dose: float | None
    sources: list[str]
    evidence: str | None
    unverified: bool


@router.post(
    "/patients/{patient_id}/dose-check",
    response_model=list[DoseFinding],
    responses=WRITE,
)
def post_dose_check(
    patient_id: PatientId,
    body: dict[str, Any] = Body(..., description="The dose, as the record model's JSON"),
    csrf: CsrfHeader = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> list[DoseFinding]:
    """What the pathway says about a dose before it is recorded (nothing is stored)."""
    check_csrf(who, csrf)
    findings = filing.check_dose(ctx.db, ctx.settings, who.user, patient_id, body)
    return [DoseFinding(**filing.finding_json(f)) for f in findings]


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


@router.get("/patients/{patient_id}/alerts", response_model=list[AlertOut], responses=READ)
async def get_alerts(patient_id: PatientId, me: Caller = Depends(caller)) -> Response:
    ctx = me.ctx

    def work(s: Session, who: SignedIn) -> bytes:
        alerts = care.patient_alerts(ctx.db, who.user, patient_id, s=s)
        now = dt.datetime.now(dt.UTC)
        items = [_alert_out(a, care.is_escalated(a, ctx.settings, now)) for a in alerts]
        return ALERTS_JSON.dump_json(items, by_alias=True)

    return json_response(await me.run(work))


ALERTS_JSON = TypeAdapter(list[AlertOut])


def _utc(moment: dt.datetime) -> dt.datetime:
    """Stored times are UTC; SQLite gives them back without their zone. RFC 3339 (the
    schema's date-time) needs one, so say it."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _alert_out(a: Any, escalated: bool) -> AlertOut:
    return AlertOut(
        id=a.id,
        patient_id=a.patient_id,
        level=a.level,
        headline=a.headline,
        rules=a.rules,
        created_at=_utc(a.created_at),
        acknowledged_at=_utc(a.acknowledged_at) if a.acknowledged_at is not None else None,
        acknowledged_by=a.acknowledged_by,
        action_taken=a.action_taken,
        escalated=escalated,
    )


class Acknowledge(BaseModel):
    action_taken: str = Field(
        min_length=1, max_length=2000, pattern=NO_NUL, description="What was done"
    )
    resolve: bool = Field(
        False,
        description="Also resolve the red-flag symptoms the alert is about (they leave the "
        "patient's current picture until reported again)",
    )


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, responses=WRITE)
def acknowledge_alert(
    alert_id: AlertId,
    body: Acknowledge,
    csrf: CsrfHeader = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> AlertOut:
    check_csrf(who, csrf)
    alert = care.acknowledge(
        ctx.db, who.user, alert_id, body.action_taken, settings=ctx.settings, resolve=body.resolve
    )
    return _alert_out(alert, False)
