"""The patient's calendar subscription (issue 20 item 4): a page to make, see once and revoke a
private link, and the feed itself at /calendar/{token}.ics, which a calendar app fetches with no
cookie (service/calendar_feed.py holds the rules for the token)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from bonemets.education.calendar import calendar_ics, next_check_in
from bonemets.faces.web import i18n, pages
from bonemets.faces.web.deps import CSRF_FIELD, Context, SignedIn, check_csrf, context, signed_in
from bonemets.service import calendar_feed

router = APIRouter(include_in_schema=False)


def _feed_url(ctx: Context, token: str) -> str:
    # From the configured address, never from the request's Host header. A calendar app sends
    # no language of its own: the link carries the one the patient reads the portal in.
    url = f"{ctx.settings.public_url.rstrip('/')}/calendar/{token}.ics"
    locale = i18n.current_locale()
    return url if locale == i18n.DEFAULT_LOCALE else f"{url}?{urlencode({'lang': locale})}"


def _page(
    request: Request, ctx: Context, who: SignedIn, patient_id: str, *, link: str | None = None,
    revoked: bool = False,
) -> HTMLResponse:  # fmt: skip
    state = calendar_feed.state(ctx.db, who.user, patient_id)
    webcal = None
    if link is not None:
        webcal = "webcal://" + link.split("://", 1)[1]
    return pages.render(
        request, "portal_calendar.html", who=who, state=state, link=link, webcal=webcal,
        revoked=revoked, today=ctx.settings.today(),
    )  # fmt: skip


@router.get("/portal/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    revoked: bool = False,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    patient_id = pages._patient_only(who, ctx)
    return _page(request, ctx, who, patient_id, revoked=revoked)


@router.post("/portal/calendar/link", response_class=HTMLResponse)
def calendar_new_link(
    request: Request,
    form: FormData = Depends(pages.form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    """A new private link, shown this once (only its hash is kept); the old one stops."""
    patient_id = pages._patient_only(who, ctx)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    token = calendar_feed.new_link(ctx.db, who.user, patient_id)
    response = _page(request, ctx, who, patient_id, link=_feed_url(ctx, token))
    response.headers["Cache-Control"] = "no-store"  # the page holds the secret link
    return response


@router.post("/portal/calendar/revoke", response_model=None)
def calendar_revoke(
    request: Request,
    form: FormData = Depends(pages.form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    patient_id = pages._patient_only(who, ctx)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    calendar_feed.revoke(ctx.db, who.user, patient_id)
    return RedirectResponse("/portal/calendar?revoked=1", status_code=303)


@router.get("/calendar/{token}.ics", response_model=None)
def calendar_feed_ics(
    token: str, lang: str | None = None, ctx: Context = Depends(context)
) -> Response:
    """The feed, for a calendar app: the token is the credential (no cookie, no redirect to the
    sign-in page). Unknown and revoked tokens get the same 404. `lang`: the language the link
    was made in (one we have, else English)."""
    words = i18n.wording(lang if lang in i18n.available() else i18n.DEFAULT_LOCALE)
    feed = calendar_feed.feed_for_token(ctx.db, ctx.settings, token, words)
    if feed is None:
        return Response("No such calendar.", status_code=404, media_type="text/plain")
    plan = feed.plan
    body = calendar_ics(
        plan.patient_id,
        plan.schedule,
        plan.as_of,
        base_url=ctx.settings.public_url + "/",
        check_ins_from=next_check_in(plan.as_of, feed.last_check_in),
        words=words,
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Disposition": 'inline; filename="my-bone-care.ics"',
        },
    )


__all__ = ["router"]
