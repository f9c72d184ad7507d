"""The patient's "My symptoms and results" page (issue 20 item 4): their own symptom and result
trends in the units they chose, and the choice of units on any signed-in person's account.

The trends themselves are built by education/trends.py (pure); this module reads the record
through the care service (authorised and audited) and draws."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from bonemets.adapters.storage import repository as repo
from bonemets.drawing.trend_chart import Point, line_chart
from bonemets.education import patient_words, trends
from bonemets.faces.web import pages
from bonemets.faces.web.deps import (
    CSRF_FIELD,
    Context,
    SignedIn,
    check_csrf,
    context,
    flash_url,
    read_flash,
    signed_in,
)
from bonemets.faces.web.i18n import N_, gettext, tr
from bonemets.service import accounts, care

router = APIRouter(include_in_schema=False)

# English, as msgids: translated where shown.
WINDOW_WORDS = {3: N_("3 months"), 6: N_("6 months"), 12: N_("1 year"), 0: N_("Everything")}
POSITION_WORDS = {
    "below": N_("below the usual range"),
    "usual": N_("in the usual range"),
    "above": N_("above the usual range"),
    "unknown": "",
}


def _short(day: dt.date, today: dt.date) -> str:
    return pages.short_date(day, today)


def _result_view(trend: trends.ResultTrend, today: dt.date) -> dict[str, Any]:
    unit = tr(patient_words.unit_words(trend.unit))
    name = tr(trend.name)
    points = [Point(p.day, p.value, p.typed_by_patient) for p in trend.points]
    days = {trend.points[0].day, trend.points[-1].day}
    chart = line_chart(
        points,
        label=gettext("%(name)s over time, in %(unit)s") % {"name": name, "unit": unit},
        band=trend.usual,
        day_words={d: _short(d, today) for d in days},
    )
    usual = None
    if trend.usual is not None:
        low, high = trend.usual
        usual = gettext("%(low)s to %(high)s %(unit)s") % {
            "low": trends.shown_value(low),
            "high": trends.shown_value(high),
            "unit": unit,
        }
    rows = [
        {
            "day": p.day,
            "value": f"{trends.shown_value(p.value)} {unit}",
            "where": tr(POSITION_WORDS[p.position]) if POSITION_WORDS[p.position] else "",
            "typed": p.typed_by_patient,
            "not_adjusted": p.not_adjusted,
        }
        for p in reversed(trend.points)  # newest first, as people read results
    ]
    return {
        "trend": trend, "name": name, "about": tr(trend.about), "chart": chart, "usual": usual,
        "rows": rows, "latest": rows[0],
    }  # fmt: skip


def _pain_chart(trend: trends.SymptomTrend, today: dt.date) -> str:
    if not trend.pain:
        return ""
    points = [Point(p.day, float(p.score)) for p in trend.pain]
    days = {trend.pain[0].day, trend.pain[-1].day}
    return line_chart(
        points,
        label=gettext("My pain score (0 no pain, 10 worst pain) at each check-in"),
        fixed=(0.0, 10.0),
        day_words={d: _short(d, today) for d in days},
    )


@router.get("/portal/results", response_class=HTMLResponse)
def results_page(
    request: Request,
    months: int = trends.DEFAULT_WINDOW,
    flash: str | None = None,
    fs: str | None = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    patient_id = pages._patient_only(who, ctx)
    if months not in trends.WINDOWS:
        months = trends.DEFAULT_WINDOW
    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    today = ctx.settings.today()
    system = accounts.units_of(ctx.settings, who.user)
    symptoms = trends.symptom_trend(view.record, today, months)
    shown = trends.result_trends(view.record, today, system, months)
    results = [_result_view(t, today) for t in shown]
    return pages.render(
        request, "portal_results.html", who=who, today=today, months=months,
        window_words=WINDOW_WORDS, symptoms=symptoms, severity=trends.severity_words(),
        pain_chart=_pain_chart(symptoms, today), results=results, unit_system=system,
        unit_choices=trends.unit_system_choices(), contacts=pages._contacts(ctx),
        flash=read_flash(ctx.settings, flash, fs),
    )  # fmt: skip


def _safe_back(target: str) -> str:
    # Only our own pages: a path, never another site ("//evil" or a scheme).
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/account"


@router.post("/account/units", response_model=None)
def choose_units(
    form: FormData = Depends(pages.form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    """Save the units this person reads results in, and go back where they chose them."""
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    back = _safe_back(str(form.get("next") or "/account"))
    with ctx.db.transaction() as s:
        user = repo.user_by_id(s, who.user.id)
        assert user is not None
        accounts.set_unit_system(s, user, str(form.get("unit_system") or ""))
    said = gettext("Your results are now shown in the units you chose.")
    return RedirectResponse(flash_url(ctx.settings, back, said), status_code=303)
