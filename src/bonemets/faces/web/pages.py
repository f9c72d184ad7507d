"""Server-rendered pages: the patient portal and the clinician app (signing in and the account
page: account.py). Pages work without JavaScript (the timeline chart is the only script) and on
a phone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from bonemets import ENGINE_VERSION
from bonemets.adapters.storage import repository as repo
from bonemets.core.errors import InputError
from bonemets.core.knowledge import load
from bonemets.core.record import LesionSite
from bonemets.faces.web import forms
from bonemets.faces.web.deps import (
    CSRF_FIELD,
    Context,
    SignedIn,
    check_csrf,
    context,
    flash_url,
    optional_user,
    path_segment,
    read_flash,
    signed_in,
)
from bonemets.service import care

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(engine_version=ENGINE_VERSION, csrf_field=CSRF_FIELD)
templates.env.filters["seg"] = path_segment  # a record id in a URL path

LEVEL_WORDS = {
    "emergency": "Emergency",
    "urgent": "Urgent",
    "soon": "Soon",
    "routine": "Routine",
    "self_care": "Self care",
}
templates.env.globals["level_words"] = LEVEL_WORDS


async def form_data(request: Request) -> FormData:
    """The submitted form, read on the event loop, so that the handlers (database, clinical
    rules) can be plain `def` and run in FastAPI's threadpool, not on the event loop."""
    return await request.form()


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, values, status_code=status)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status, title=title, message=message, who=None)


def _home_for(who: SignedIn) -> str:
    return "/portal" if who.user.role == "patient" else "/worklist"


# --- Home -------------------------------------------------------------------------------------


@router.get("/", response_model=None)
def index(who: SignedIn | None = Depends(optional_user)) -> Response:
    return RedirectResponse("/login" if who is None else _home_for(who), status_code=303)


# --- Patient portal ---------------------------------------------------------------------------


def _patient_only(who: SignedIn, ctx: Context) -> str:
    if who.user.role != "patient" or who.user.patient_id is None:
        raise care.deny(ctx.db, who.user, None, f"read portal (role {who.user.role})")
    return who.user.patient_id


@router.get("/portal", response_class=HTMLResponse)
def portal_home(
    request: Request, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
) -> HTMLResponse:
    patient_id = _patient_only(who, ctx)
    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    return render(request, "portal_home.html", who=who, view=view)


@router.get("/portal/check-in", response_class=HTMLResponse)
def check_in(
    request: Request, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
) -> HTMLResponse:
    _patient_only(who, ctx)
    return render(
        request,
        "portal_check_in.html",
        who=who,
        groups=forms.GROUPS,
        catalogue=forms.catalogue_by_group(),
    )


@router.post("/portal/check-in", response_class=HTMLResponse)
def check_in_details(
    request: Request,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    """Step 2: details only for the symptoms the patient has (the branching of the form)."""
    _patient_only(who, ctx)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    chosen = forms.chosen_symptoms(form)
    from bonemets.core.triage.models import symptom_catalogue

    catalogue = symptom_catalogue()
    return render(
        request,
        "portal_details.html",
        who=who,
        chosen=[(c, catalogue[c]) for c in chosen],
        severity=forms.SEVERITY,
        trends=forms.TRENDS,
        lab_choices=forms.LAB_CHOICES,
        values={},
        error=None,
    )


@router.post("/portal/check-in/submit", response_model=None)
def check_in_submit(
    request: Request,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    patient_id = _patient_only(who, ctx)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    data = forms.report_from_form(form)
    try:
        done = care.submit_report(ctx.db, ctx.settings, who.user, patient_id, data)
    except InputError as exc:
        from bonemets.core.triage.models import symptom_catalogue

        catalogue = symptom_catalogue()
        chosen = forms.chosen_symptoms(form)
        return render(
            request,
            "portal_details.html",
            422,
            who=who,
            chosen=[(c, catalogue[c]) for c in chosen],
            severity=forms.SEVERITY,
            trends=forms.TRENDS,
            lab_choices=forms.LAB_CHOICES,
            values=dict(form.multi_items()),
            error=_plain_error(exc),
        )
    return RedirectResponse(f"/portal/reports/{done.entry_id}", status_code=303)


def _plain_error(exc: InputError) -> str:
    return f"Please check this answer ({exc.field}): {exc.message}"


@router.get("/portal/reports/{entry_id}", response_class=HTMLResponse)
def portal_report(
    request: Request,
    entry_id: int,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    patient_id = _patient_only(who, ctx)
    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    found = next((r for r in view.reports if r.entry_id == entry_id), None)
    if found is None or found.result is None:
        raise care.AccessDenied(str(entry_id))
    numbers = load("levels")["emergency_numbers"]
    return render(
        request, "portal_result.html", who=who, report=found, result=found.result, numbers=numbers
    )


# --- Clinician app ----------------------------------------------------------------------------


def _clinician(who: SignedIn, ctx: Context, patient_id: str | None = None) -> None:
    if who.user.role not in ("clinician", "admin"):
        raise care.deny(ctx.db, who.user, patient_id, f"read clinician page (role {who.user.role})")


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request,
    level: str | None = None,
    bma_status: str | None = None,
    search: str | None = None,
    open_alerts_only: bool = False,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    _clinician(who, ctx)
    try:
        rows = care.worklist(
            ctx.db,
            ctx.settings,
            who.user,
            level=level or None,
            bma_status=bma_status or None,
            search=search or None,
            open_alerts_only=open_alerts_only,
        )
        error = None
    except InputError as exc:
        rows, error = [], exc.message
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.level] = counts.get(row.level, 0) + 1
    return render(
        request,
        "worklist.html",
        who=who,
        rows=rows,
        counts=counts,
        error=error,
        filters={
            "level": level or "",
            "bma_status": bma_status or "",
            "search": search or "",
            "open_alerts_only": open_alerts_only,
        },
        today=ctx.settings.today(),
    )


FORM_KINDS = ("bma_dose", "lab", "lesion", "dental_exam", "imaging")


def _patient_page(
    request: Request, ctx: Context, who: SignedIn, patient_id: str, *, status: int = 200,
    form_error: dict[str, str] | None = None, form_values: dict[str, str] | None = None,
    flash: str | None = None,
) -> HTMLResponse:  # fmt: skip
    from typing import get_args

    from bonemets.drawing.skeleton import mark_from, skeleton_svg
    from bonemets.faces.web.charts import figure_json, timeline_figure

    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    marks = [mark_from(lesion) for lesion in view.assessment.lesions]
    return render(
        request,
        "patient.html",
        status,
        who=who,
        view=view,
        a=view.assessment,
        skeleton=skeleton_svg(marks),
        timeline=figure_json(timeline_figure(view.record, view.as_of)),
        form_error=form_error or {},
        form_values=form_values or {},
        flash=flash,
        sites=get_args(LesionSite),
        lab_choices=forms.LAB_CHOICES,
        agents=["zoledronic_acid", "pamidronate", "ibandronate", "clodronate", "denosumab"],
        escalated={a.id for a in view.alerts if care.is_escalated(a, ctx.settings, _now())},
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request,
    patient_id: str,
    flash: str | None = None,
    fs: str | None = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    _clinician(who, ctx, patient_id)
    flash = read_flash(ctx.settings, flash, fs)  # only messages this app signed
    return _patient_page(request, ctx, who, patient_id, flash=flash)


@router.post("/patients/{patient_id}/entries/{kind}", response_model=None)
def add_entry(
    request: Request,
    patient_id: str,
    kind: str,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    _clinician(who, ctx, patient_id)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    data = forms.entry_from_form(kind, form)
    try:
        assessment = care.record_entry(ctx.db, ctx.settings, who.user, patient_id, kind, data)
    except InputError as exc:
        values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        return _patient_page(
            request,
            ctx,
            who,
            patient_id,
            status=422,
            form_error={kind: f"{exc.field}: {exc.message}"},
            form_values=values,
        )
    message = f"Saved {kind.replace('_', ' ')}."
    if kind == "bma_dose" and assessment.bma.next_due is not None:
        message += f" Next dose due {assessment.bma.next_due.isoformat()}."
    return RedirectResponse(
        flash_url(ctx.settings, f"/patients/{path_segment(patient_id)}", message, kind),
        status_code=303,
    )


@router.post("/alerts/{alert_id}/ack", response_model=None)
def acknowledge(
    request: Request,
    alert_id: int,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    _clinician(who, ctx)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    try:
        alert = care.acknowledge(ctx.db, who.user, alert_id, str(form.get("action_taken") or ""))
    except InputError as exc:
        with ctx.db.transaction() as s:
            patient_id = repo.get_alert(s, alert_id).patient_id
        return _patient_page(
            request, ctx, who, patient_id, status=422, form_error={"ack": exc.message}
        )
    path = f"/patients/{path_segment(alert.patient_id)}"
    return RedirectResponse(
        flash_url(ctx.settings, path, "Alert acknowledged.", "alerts"), status_code=303
    )


__all__ = ["error_page", "router"]
