"""The education library (/learn), and the patient's printable care plan and calendar.

/learn and /learn/{id} are public (no patient data). The care plan and calendar routes read a
record through ``care.patient_view``, which enforces the access rules and writes the audit trail;
each export is audited as well.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from bonemets.adapters.storage import repository as repo
from bonemets.education import library
from bonemets.education.calendar import calendar_ics
from bonemets.education.careplan import Paper, render_pdf
from bonemets.education.plan import CarePlan, build_care_plan, team_contacts_setting
from bonemets.education.search import HIGHLIGHT, ask
from bonemets.faces.web import i18n, pages
from bonemets.faces.web.deps import Context, SignedIn, context, optional_user, signed_in
from bonemets.faces.web.i18n import N_
from bonemets.service import care

router = APIRouter(include_in_schema=False)
templates = pages.templates
# Templates may link assessment items and triage reasons to articles:
#   {% set art = article_for_rule(rule_id) %}{% if art %}<a href="{{ art.url }}">...</a>{% endif %}
# A patient's link names the article as the article page will show it (its translation, if one
# is current in the reader's language).


def _article_for_rule(rule_id: str) -> library.Article | None:
    found = library.article_for_rule(rule_id)
    shown = i18n.article(found.id) if found is not None else None
    return shown[0] if shown is not None else None


templates.env.globals.update(
    article_for_rule=_article_for_rule,
    articles_for_assessment=library.articles_for_assessment,
)


def _marked(snippet: str) -> Markup:
    """A search snippet as HTML: escaped, with the matched words in <mark>."""
    start, end = HIGHLIGHT
    html = escape(snippet).replace(start, "<mark>").replace(end, "</mark>")
    return Markup(html)  # escaped above; only <mark> is added


@router.get("/learn", response_class=HTMLResponse)
def learn_index(
    request: Request,
    q: str | None = Query(None, max_length=300),
    who: SignedIn | None = Depends(optional_user),
) -> HTMLResponse:
    answer = ask(q) if q and q.strip() else None
    return pages.render(
        request,
        "learn_index.html",
        who=who,
        q=q or "",
        answer=answer,
        marked=[_marked(r.marked) for r in answer.results] if answer else [],
        # Each in the reader's language where a current translation exists.
        articles=[_in_language(a.id) for a in library.articles().values()],
    )


def _in_language(article_id: str) -> dict[str, Any]:
    found = i18n.article(article_id)
    assert found is not None  # an id of library.articles()
    item, language = found
    return {"article": item, "lang": i18n.html_lang(language)}


@router.get("/learn/{article_id}", response_class=HTMLResponse)
def learn_article(
    request: Request, article_id: str, who: SignedIn | None = Depends(optional_user)
) -> HTMLResponse:
    found = i18n.article(article_id)
    if found is None:
        return pages.error_page(request, 404, N_("Not found"), N_("There is no such article."))
    item, language = found
    rendered = library.render_article(item)
    return pages.render(
        request,
        "learn_article.html",
        who=who,
        article=item,
        article_lang=i18n.html_lang(language),
        body=Markup(rendered.html),  # markdown-it, raw HTML disabled
        references=rendered.references,
    )


# --- Care plan and calendar ----------------------------------------------------------------------


def _plan(ctx: Context, who: SignedIn, patient_id: str, what: str) -> CarePlan:
    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    with ctx.db.transaction() as s:
        stored = repo.get_setting(s, "team_contacts")
        repo.audit(s, user=who.user, action="export", what=what, patient_id=patient_id)
    return build_care_plan(
        patient_id=patient_id,
        display_name=view.patient.display_name,
        record=view.record,
        assessment=view.assessment,
        contacts_text=team_contacts_setting(ctx.settings, stored),
        words=i18n.wording(),  # the reader's language (Accept-Language)
    )


def _pdf(plan: CarePlan, paper: Paper) -> Response:
    name = f"care-plan-{plan.as_of.isoformat()}.pdf"
    return Response(
        render_pdf(plan, paper, i18n.wording()),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _ics(plan: CarePlan, ctx: Context) -> Response:
    # Links from the configured address, never from the request's Host header.
    base_url = ctx.settings.public_url + "/"
    body = calendar_ics(
        plan.patient_id, plan.schedule, plan.as_of, base_url=base_url, words=i18n.wording()
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="my-bone-care.ics"'},
    )


PaperQuery = Query("a4", pattern="^(a4|letter)$")


@router.get("/portal/careplan.pdf", response_model=None)
def portal_careplan(
    paper: Paper = PaperQuery,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    patient_id = pages._patient_only(who, ctx)
    return _pdf(_plan(ctx, who, patient_id, "read care plan pdf"), paper)


@router.get("/portal/calendar.ics", response_model=None)
def portal_calendar(
    request: Request, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
) -> Response:
    patient_id = pages._patient_only(who, ctx)
    return _ics(_plan(ctx, who, patient_id, "read calendar ics"), ctx)


@router.get("/patients/{patient_id}/careplan.pdf", response_model=None)
def patient_careplan(
    patient_id: str,
    paper: Paper = PaperQuery,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    pages._clinician(who, ctx, patient_id)
    return _pdf(_plan(ctx, who, patient_id, "read care plan pdf"), paper)


@router.get("/patients/{patient_id}/calendar.ics", response_model=None)
def patient_calendar(
    request: Request,
    patient_id: str,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    pages._clinician(who, ctx, patient_id)
    return _ics(_plan(ctx, who, patient_id, "read calendar ics"), ctx)


__all__ = ["router"]
