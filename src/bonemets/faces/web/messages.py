"""Secure messages: the portal's page (patient or carer) and the care team's reply on the
patient page. The rules (who may write, read state, the red-flag safety net) are in
service/messages.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from bonemets.core.errors import InputError
from bonemets.faces.web.deps import (
    CSRF_FIELD,
    Context,
    SignedIn,
    check_csrf,
    context,
    flash_url,
    path_segment,
    signed_in,
)
from bonemets.faces.web.i18n import gettext, ngettext, tr
from bonemets.faces.web.pages import (
    _clinician,
    _contacts,
    _patient_only,
    _patient_page,
    form_data,
    render,
)
from bonemets.service import messages as service

router = APIRouter(include_in_schema=False)


def _portal(
    request: Request, ctx: Context, who: SignedIn, patient_id: str, *, sent: bool = False,
    error: str | None = None, draft: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    return render(
        request,
        "portal_messages.html",
        status,
        who=who,
        messages=service.thread(ctx.db, who.user, patient_id),
        contacts=_contacts(ctx),
        sent=sent,
        error=error,
        draft=draft,
        today=ctx.settings.today(),  # dates without this year's number
    )


@router.get("/portal/messages", response_class=HTMLResponse)
def portal_messages(
    request: Request,
    sent: bool = False,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    patient_id = _patient_only(who, ctx)
    return _portal(request, ctx, who, patient_id, sent=sent)


@router.post("/portal/messages", response_model=None)
def portal_send(
    request: Request,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    """Send; when the words describe a symptom, the patient goes straight to what to do about
    it (the report filed from them), as after a check-in."""
    patient_id = _patient_only(who, ctx)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    body = str(form.get("body") or "")
    try:
        sent = service.send(ctx.db, ctx.settings, who.user, patient_id, body)
    except InputError as exc:
        return _portal(
            request, ctx, who, patient_id, draft=body[: service.MAX_BODY], status=422,
            error=gettext("Please check your message: %(message)s") % {"message": tr(exc.message)},
        )  # fmt: skip
    if sent.report_id is not None:
        return RedirectResponse(f"/portal/reports/{sent.report_id}", status_code=303)
    return RedirectResponse("/portal/messages?sent=1#thread-title", status_code=303)


@router.post("/patients/{patient_id}/messages", response_model=None)
def team_reply(
    request: Request,
    patient_id: str,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    _clinician(who, ctx, patient_id)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    try:
        service.reply(ctx.db, who.user, patient_id, str(form.get("body") or ""))
    except InputError as exc:
        return _patient_page(
            request, ctx, who, patient_id, status=422, form_error={"message": tr(exc.message)}
        )
    path = f"/patients/{path_segment(patient_id)}"
    return RedirectResponse(
        flash_url(ctx.settings, path, gettext("Reply sent."), "messages"), status_code=303
    )


@router.post("/patients/{patient_id}/messages/read", response_model=None)
def team_mark_read(
    patient_id: str,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    _clinician(who, ctx, patient_id)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    marked = service.mark_read(ctx.db, who.user, patient_id)
    path = f"/patients/{path_segment(patient_id)}"
    message = ngettext("%(n)d message marked read.", "%(n)d messages marked read.", marked) % {
        "n": marked
    }
    return RedirectResponse(flash_url(ctx.settings, path, message, "messages"), status_code=303)
