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
from jinja2 import pass_context
from starlette.datastructures import FormData

from bonemets import ENGINE_VERSION
from bonemets.adapters.storage import repository as repo
from bonemets.core.durations import CHOICES as DURATION_CHOICES
from bonemets.core.errors import InputError
from bonemets.core.knowledge import load
from bonemets.core.record import LesionSite
from bonemets.core.units import unit_in_system
from bonemets.education import patient_words
from bonemets.education.plan import AGENT_WORDS
from bonemets.faces.web import forms, i18n
from bonemets.faces.web.assets import default_assets
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
from bonemets.faces.web.i18n import N_
from bonemets.service import accounts, care, filing, wording
from bonemets.service import check_in as check_in_service
from bonemets.service import messages as message_service

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.add_extension("jinja2.ext.i18n")
# {% trans %} blocks and _() / ngettext read the request's language (faces/web/i18n.py); whitespace
# inside {% trans %} is folded, so the catalogue's msgids are one line each.
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)
templates.env.globals["html_lang"] = i18n.html_lang
templates.env.filters["tr"] = i18n.tr  # {{ entry.label | tr }}: a knowledge file's text
templates.env.globals.update(engine_version=ENGINE_VERSION, csrf_field=CSRF_FIELD)
# {{ asset("app.css") }}: the file's content-hashed URL (faces/web/assets.py).
templates.env.globals["asset"] = lambda name: default_assets().url(name)
templates.env.filters["seg"] = path_segment  # a record id in a URL path


@pass_context
def _patient_date(page: Any, value: Any) -> str:
    """'Tuesday 8 December' (with the year when it is not this year's: the page's `today`)."""
    return i18n.patient_date(value, page.get("today"))


def short_date(value: dt.date | str | None, today: dt.date | None) -> str:
    return i18n.short_date(value, today)


@pass_context
def _short_date(page: Any, value: Any) -> str:
    return i18n.short_date(value, page.get("today"))


templates.env.filters["pdate"] = _patient_date
templates.env.filters["sdate"] = _short_date
templates.env.filters["site_words"] = patient_words.site_words
templates.env.filters["feature_words"] = patient_words.feature_words
templates.env.filters["unit_words"] = patient_words.unit_words
templates.env.filters["agent_words"] = lambda agent: AGENT_WORDS.get(agent, agent.replace("_", " "))


def ago(moment: dt.datetime | None, now: dt.datetime | None = None, bare: bool = False) -> str:
    """How long ago, in the largest whole unit a clinician reads at a glance ("25 min ago",
    "3 h ago", "4 days ago"; without the "ago" when `bare`), in the request's language."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    seconds = max(0.0, ((now or dt.datetime.now(dt.UTC)) - moment).total_seconds())
    if seconds < 60:
        return i18n.gettext("just now")
    if seconds < 3600:
        n = int(seconds // 60)
        return (i18n.gettext("%(n)d min") if bare else i18n.gettext("%(n)d min ago")) % {"n": n}
    if seconds < 48 * 3600:
        n = int(seconds // 3600)
        return (i18n.gettext("%(n)d h") if bare else i18n.gettext("%(n)d h ago")) % {"n": n}
    n = int(seconds // 86400)
    if bare:
        return i18n.ngettext("%(n)d day", "%(n)d days", n) % {"n": n}
    return i18n.ngettext("%(n)d day ago", "%(n)d days ago", n) % {"n": n}


def utc_iso(moment: dt.datetime) -> str:
    """An ISO time with its zone, for <time datetime>: the browser shows it in local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


templates.env.filters["ago"] = ago
templates.env.filters["utc_iso"] = utc_iso
templates.env.filters["clinical"] = wording.clinical  # {{ alert.headline | clinical(rules) }}

# English, as msgids: the templates translate them where shown (`level_words[x] | tr`).
LEVEL_WORDS = {
    "emergency": N_("Emergency"),
    "urgent": N_("Urgent"),
    "soon": N_("Soon"),
    "routine": N_("Routine"),
    "self_care": N_("Self care"),
}
templates.env.globals["level_words"] = LEVEL_WORDS
ROLE_WORDS = {
    "patient": N_("patient"),
    "carer": N_("carer"),
    "clinician": N_("clinician"),
    "admin": N_("admin"),
}
templates.env.globals["role_words"] = lambda role: i18n.tr(ROLE_WORDS.get(role, role))
BMA_STATUS_WORDS = {
    "overdue": N_("overdue"),
    "due": N_("due"),
    "withhold": N_("withhold"),
    "not_started": N_("not started"),
    "not_due": N_("not due"),
    "held": N_("held"),
    "stopped": N_("stopped"),
    "lapsed": N_("lapsed"),
    "not_indicated": N_("not indicated"),
}
templates.env.globals["bma_status_words"] = lambda s: (
    i18n.tr(BMA_STATUS_WORDS[s]) if s in BMA_STATUS_WORDS else code_words(s)
)


def code_words(code: object) -> str:
    """A code shown as words on the team's pages ("not_started" -> "not started"), translated
    when the catalogue has those words (i18n_extract lists the codes of the record's fields)."""
    if code is None or code == "":
        return ""
    return i18n.tr(str(code).replace("_", " "))


templates.env.filters["code_words"] = code_words


async def form_data(request: Request) -> FormData:
    """The submitted form, read on the event loop, so that the handlers (database, clinical
    rules) can be plain `def` and run in FastAPI's threadpool, not on the event loop."""
    return await request.form()


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    who = values.get("who")
    if who is not None and who.user.role == "patient" and "contacts" not in values:
        # Every page a patient sees ends with the numbers to call (base.html).
        values["contacts"] = _contacts(request.app.state.ctx)
    return templates.TemplateResponse(request, name, values, status_code=status)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """An error page; `title` and `message` are msgids (marked with N_ where written)."""
    return render(
        request, "error.html", status, title=i18n.tr(title), message=i18n.tr(message), who=None
    )


def _home_for(who: SignedIn) -> str:
    return "/portal" if who.user.role in care.PORTAL_ROLES else "/worklist"


# --- Home -------------------------------------------------------------------------------------


@router.get("/", response_model=None)
def index(who: SignedIn | None = Depends(optional_user)) -> Response:
    return RedirectResponse("/login" if who is None else _home_for(who), status_code=303)


# --- Patient portal ---------------------------------------------------------------------------


def _patient_only(who: SignedIn, ctx: Context) -> str:
    # The patient, or a carer acting for them: the record is the account's own patient's.
    if who.user.role not in care.PORTAL_ROLES or who.user.patient_id is None:
        raise care.deny(ctx.db, who.user, None, f"read portal (role {who.user.role})")
    return who.user.patient_id


@router.get("/portal", response_class=HTMLResponse)
def portal_home(
    request: Request,
    saved: bool = False,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    patient_id = _patient_only(who, ctx)
    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    draft = check_in_service.draft(ctx.db, who.user, patient_id)
    unread = message_service.unread_for(ctx.db, who.user, patient_id)
    return render(
        request, "portal_home.html", who=who, view=view, draft=draft, saved=saved,
        today=ctx.settings.today(), contacts=_contacts(ctx), unread_messages=unread,
    )  # fmt: skip


def _contacts(ctx: Context) -> dict[str, Any]:
    """The numbers a patient may need on every result: the emergency numbers and the care
    team's, each with a tap-to-call link."""
    from bonemets.education.plan import parse_contacts, team_contacts_setting

    with ctx.db.transaction() as s:
        stored = repo.get_setting(s, "team_contacts")
    team = [
        {"label": c.label, "number": c.number, "tel": _tel(c.number)}
        for c in parse_contacts(team_contacts_setting(ctx.settings, stored))
    ]
    levels = load("levels")
    emergency = [
        {"where": n["where"], "number": n["number"], "tel": _tel(n["number"])}
        for n in levels["emergency_number_list"]
    ]
    return {"team": team, "emergency": emergency, "emergency_text": levels["emergency_numbers"]}


def _tel(number: str) -> str:
    """A tel: URI (RFC 3966): the digits, and a leading + if there is one."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"tel:{'+' if number.strip().startswith('+') else ''}{digits}"


@router.get("/portal/check-in", response_class=HTMLResponse)
def check_in(
    request: Request, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
) -> HTMLResponse:
    """Step 1: "I'm fine this week" first; then what is there now, by body area; and the red
    flags still open ("is it still there?")."""
    patient_id = _patient_only(who, ctx)
    draft = check_in_service.draft(ctx.db, who.user, patient_id)
    flags = check_in_service.open_red_flags(ctx.db, ctx.settings, who.user, patient_id)
    from bonemets.core.triage.models import symptom_catalogue

    catalogue = symptom_catalogue()
    return render(
        request,
        "portal_check_in.html",
        who=who,
        areas=forms.area_words(),
        catalogue=forms.catalogue_by_group(),
        flags=[
            {
                "key": check_in_service.key_text((f.code, f.site)),
                "label": catalogue[f.code]["label"],
                "site": patient_words.site_words(f.site),
                "since": f.reported,
            }
            for f in flags
        ],
        ticked={code for code, _site in draft.chosen} if draft else set(),
        gone={check_in_service.key_text(k) for k in draft.gone} if draft else set(),
        contacts=_contacts(ctx),
        today=ctx.settings.today(),
    )


def _step_one(form: FormData) -> tuple[list[str], list[str]]:
    """What step 1 says: the symptoms there now (ticked, or open red flags "still there") and
    the open red flags the patient says have gone."""
    chosen = forms.chosen_symptoms(form)
    for key, answer in form.multi_items():
        if key.startswith("flag.") and answer == "still":
            chosen.append(key.removeprefix("flag."))
    gone = [
        k.removeprefix("flag.")
        for k, v in form.multi_items()
        if k.startswith("flag.") and v == "gone"
    ]
    return chosen, gone


@router.post("/portal/check-in", response_model=None)
def check_in_details(
    request: Request,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    """Step 1 sent: kept as a draft, and filed at once when it already calls for the team
    (an emergency is shown at once, before any detail is asked). "I'm fine this week" with
    nothing ticked files the check-in straight away (open red flags not answered stay open)."""
    patient_id = _patient_only(who, ctx)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    chosen, gone = _step_one(form)
    started = check_in_service.start(ctx.db, ctx.settings, who.user, patient_id, chosen, gone)
    filed = started.filed
    if filed is not None and filed.result is not None and filed.result.level.value == "emergency":
        # Nothing waits for the details: the emergency advice comes first.
        return RedirectResponse(f"/portal/reports/{filed.entry_ids[-1]}?partial=1", status_code=303)
    if form.get("fine") and not chosen:
        done = check_in_service.finish(ctx.db, ctx.settings, who.user, patient_id, {"symptoms": []})
        return RedirectResponse(f"/portal/reports/{done.entry_ids[-1]}", status_code=303)
    return RedirectResponse("/portal/check-in/details", status_code=303)


def _detail_values(form: FormData) -> dict[str, str]:
    """Step 2's answers as sent (the form's own controls left out)."""
    skip = {CSRF_FIELD, "step", "symptom"}
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if key in skip or not isinstance(value, str):
            continue
        # A feature list has several values under one name: kept joined, split when shown.
        out[key] = f"{out[key]}\n{value}" if key in out else value
    return out


@router.post("/portal/check-in/save", response_model=None)
def check_in_save(
    request: Request,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    """Step 2's answers so far, kept in the draft (the page's script sends them as the patient
    goes; without scripts, the "Save and finish later" button)."""
    patient_id = _patient_only(who, ctx)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    check_in_service.save_details(ctx.db, who.user, patient_id, _detail_values(form))
    if request.headers.get("x-autosave") == "1":
        return Response(status_code=204)
    return RedirectResponse("/portal?saved=1", status_code=303)


@router.post("/portal/check-in/leave", response_model=None)
def check_in_leave(
    request: Request,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    """ "Save my answers and sign out" on the check-in pages: what was answered is kept (step 1
    as it would be sent, filed at once if it calls for the team), then the sign-out itself
    (a 307 keeps the POST and its CSRF field)."""
    patient_id = _patient_only(who, ctx)
    check_csrf(who, str(form.get(CSRF_FIELD) or ""))
    if form.get("step") == "1":
        chosen, gone = _step_one(form)
        if chosen or gone:
            check_in_service.start(ctx.db, ctx.settings, who.user, patient_id, chosen, gone)
    else:
        check_in_service.save_details(ctx.db, who.user, patient_id, _detail_values(form))
    return RedirectResponse("/logout", status_code=307)


@router.get("/portal/check-in/details", response_class=HTMLResponse)
def check_in_details_page(
    request: Request, who: SignedIn = Depends(signed_in), ctx: Context = Depends(context)
) -> HTMLResponse:
    """Step 2: details only for the symptoms the patient has (the branching of the form); the
    draft keeps step 1, so leaving and coming back loses nothing."""
    patient_id = _patient_only(who, ctx)
    draft = check_in_service.draft(ctx.db, who.user, patient_id)
    kept = draft.details if draft else {}
    return _details(request, ctx, who, patient_id, draft, values=kept, error=None)


def _details(
    request: Request, ctx: Context, who: SignedIn, patient_id: str,
    draft: check_in_service.Draft | None, *, values: dict[str, Any], error: str | None,
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    from bonemets.core.triage.models import symptom_catalogue

    catalogue = symptom_catalogue()
    chosen = draft.chosen if draft else []
    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    early = None
    if draft is not None and draft.entry_id is not None:
        early = next((r for r in view.reports if r.entry_id == draft.entry_id), None)
    # Each blood test's unit starts as the one of the person's unit system, else the one they
    # used last time they typed that test in.
    system = accounts.units_of(ctx.settings, who.user)
    units = {code: unit_in_system(code, system) for code, _label, _units in forms.LAB_CHOICES}
    for lab in sorted(view.record.labs, key=lambda lab: lab.date):
        if lab.reported_by_patient:
            units[lab.code] = lab.unit
    values = {**{f"lab.{code}.unit": unit for code, unit in units.items()}, **values}
    return render(
        request,
        "portal_details.html",
        status,
        who=who,
        chosen=[(code, site, catalogue[code]) for code, site in chosen],
        severity=forms.SEVERITY,
        trends=forms.TRENDS,
        # "Never" is not offered: the symptom was ticked as there.
        frequency=list(enumerate(load("pro_ctcae")["scales"]["frequency"]))[1:],
        interference=list(enumerate(load("pro_ctcae")["scales"]["interference"])),
        questions=load("pro_ctcae")["questions"],
        durations=DURATION_CHOICES,
        asks_pain=patient_words.asks_pain_score,
        lab_choices=forms.LAB_CHOICES,
        values=values,
        error=error,
        early=early.result if early is not None else None,
        early_text=patient_result_text(early.result) if early and early.result else None,
        contacts=_contacts(ctx),
        today=ctx.settings.today(),
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
    try:
        data = forms.report_from_form(form, ctx.settings.today())
        done = check_in_service.finish(ctx.db, ctx.settings, who.user, patient_id, data)
    except InputError as exc:
        values = _detail_values(form)
        check_in_service.save_details(ctx.db, who.user, patient_id, values)  # nothing lost
        draft = check_in_service.draft(ctx.db, who.user, patient_id)
        return _details(
            request, ctx, who, patient_id, draft, values=values,
            error=_plain_error(exc, forms.chosen_symptoms(form)), status=422,
        )  # fmt: skip
    return RedirectResponse(f"/portal/reports/{done.entry_ids[-1]}", status_code=303)


ANSWER_WORDS = {
    "severity": N_("how bad it is"),
    "frequency": N_("how often"),
    "interference": N_("how much it gets in the way"),
    "pain_score": N_("the pain score"),
    "duration": N_("how long"),
    "duration_days": N_("how long"),
    "trend": N_("whether it is changing"),
    "site": N_("where"),
}


def _plain_error(exc: InputError, chosen: list[str]) -> str:
    """The answer to check, in the patient's words: the symptom's name and the question, not
    the contract's field path (`symptoms[0].severity`, `back_pain.duration`)."""
    import re

    from bonemets.core.triage.models import symptom_catalogue

    field = exc.field
    code, answer = None, field.rsplit(".", 1)[-1]
    if m := re.match(r"symptoms\[(\d+)\]", field):
        index = int(m.group(1))
        code = chosen[index] if index < len(chosen) else None
    elif "." in field and field.split(".", 1)[0] in symptom_catalogue():
        code = field.split(".", 1)[0]
    if code is not None:
        label = symptom_catalogue()[code]["label"]
        question = i18n.tr(ANSWER_WORDS.get(answer, N_("this answer")))
        return i18n.gettext("Please check %(question)s for “%(label)s”: %(message)s") % {
            "question": question,
            "label": i18n.tr(label),
            "message": i18n.tr(exc.message),
        }
    if field.startswith("labs"):
        return i18n.gettext("Please check the blood test results: %(message)s") % {
            "message": i18n.tr(exc.message)
        }
    return i18n.gettext("Please check your answers: %(message)s") % {
        "message": i18n.tr(exc.message)
    }


@router.get("/portal/reports/{entry_id}", response_class=HTMLResponse)
def portal_report(
    request: Request,
    entry_id: int,
    partial: bool = False,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    patient_id = _patient_only(who, ctx)
    view = care.patient_view(ctx.db, ctx.settings, who.user, patient_id)
    found = next((r for r in view.reports if r.entry_id == entry_id), None)
    if found is None or found.result is None:
        raise care.AccessDenied(str(entry_id))
    return render(
        request,
        "portal_result.html",
        who=who,
        report=found,
        result=found.result,
        team=care.care_team_status(ctx.db, who.user, patient_id, found.result),
        contacts=_contacts(ctx),
        partial=partial,
        today=ctx.settings.today(),
        report_date=found.date,
        **patient_result_text(found.result),
    )


# Headlines that already say what to do: the level's action line would repeat them.
_SAYS_WHAT_TO_DO = ("call ", "contact ", "let your care team know", "mention it", "get help",
                    "get emergency care", "go to the emergency")  # fmt: skip


def patient_result_text(result: Any) -> dict[str, Any]:
    """What the result page says, without saying it twice: the action line only when the
    headline does not already say what to do, advice lines once and not repeating the action,
    and "Why am I told this?" from each rule's patient text (one line per distinct text)."""
    from bonemets.core.triage.engine import rule_table

    headline = str(result["headline"]).lower()
    action = str(result.get("patient_action") or "")
    show_action = bool(action) and not any(p in headline for p in _SAYS_WHAT_TO_DO)
    seen = {action.strip().lower()} if show_action else set()
    advice = []
    for line in result.get("advice", []):
        key = str(line).strip().lower()
        if key not in seen:
            seen.add(key)
            advice.append(line)
    why, said = [], set()
    table = rule_table()
    for reason in result.get("reasons", []):
        rule = str(reason.get("rule", ""))
        entry = table.get(rule, {})
        # A rule without patient words yet falls back to its headline (written for patients),
        # never to the clinician's explanation.
        text = reason.get("patient_why") or entry.get("patient_why") or entry.get("headline", "")
        if text and text not in said:
            said.add(text)
            why.append({"rule": rule, "text": text})
    return {"show_action": show_action, "advice": advice, "why": why}


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
# The inputs of each form on the patient page: an error naming one is shown beside it.
FORM_INPUTS = {
    "bma_dose": ("agent", "date", "dose", "route", "override_reason"),
    "lab": ("code", "value", "unit", "date", "lower_limit", "upper_limit"),
    "lesion": ("site", "date", "type", "size_fraction", "pain", "sins.pain", "sins.alignment",
               "sins.collapse", "sins.posterolateral"),
    "dental_exam": ("date", "outcome"),
    "imaging": ("date", "modality", "finding"),
}  # fmt: skip


def _patient_page(
    request: Request, ctx: Context, who: SignedIn, patient_id: str, *, status: int = 200,
    form_error: dict[str, str] | None = None, form_values: dict[str, str] | None = None,
    flash: str | None = None, dose_findings: list[Any] | None = None, form_kind: str = "",
    error_field: str = "", flash_at: str = "",
) -> HTMLResponse:  # fmt: skip
    """The patient page; after a refused form, that form (`form_kind`) keeps what was typed
    (`form_values`: only that form's, so no other form shows them) with the error beside the
    field it names (`error_field`), which takes the focus, so the page opens there; a
    confirmation is shown in the section it is about (`flash_at`)."""
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
        timeline=figure_json(
            timeline_figure(view.record, view.as_of, accounts.units_of(ctx.settings, who.user))
        ),
        form_error=form_error or {},
        form_values={form_kind: form_values or {}} if form_kind else {},
        error_field=error_field,
        form_inputs=FORM_INPUTS,
        flash=flash,
        flash_at=flash_at if flash_at in (*FORM_KINDS, "alerts", "symptom_resolution") else "",
        sites=get_args(LesionSite),
        lab_choices=forms.LAB_CHOICES,
        agents=["zoledronic_acid", "pamidronate", "ibandronate", "clodronate", "denosumab"],
        escalated={a.id for a in view.alerts if care.is_escalated(a, ctx.settings, _now())},
        red_flags=care.red_flags(view.assessment),
        alert_symptoms=care.alert_symptoms,
        dose_findings=dose_findings,
        messages=message_service.thread(ctx.db, who.user, patient_id),
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request,
    patient_id: str,
    flash: str | None = None,
    fs: str | None = None,
    at: str = "",
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    _clinician(who, ctx, patient_id)
    flash = read_flash(ctx.settings, flash, fs)  # only messages this app signed
    return _patient_page(request, ctx, who, patient_id, flash=flash, flash_at=at)


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
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    reason = str(form.get("override_reason") or "")
    try:
        if kind == "bma_dose" and form.get("action") == "check":
            # The checks shown before saving: the same ones the save runs.
            findings = filing.check_dose(ctx.db, ctx.settings, who.user, patient_id, data)
            return _patient_page(
                request, ctx, who, patient_id, form_values=values, dose_findings=findings,
                form_kind=kind,
            )  # fmt: skip
        filed = filing.record_entry(
            ctx.db, ctx.settings, who.user, patient_id, kind, data, override_reason=reason,
            origin="clinician_form",
        )  # fmt: skip
    except filing.OverrideRequired as exc:
        return _patient_page(
            request, ctx, who, patient_id, status=409, form_values=values,
            form_error={kind: exc.message}, dose_findings=exc.findings, form_kind=kind,
            error_field="override_reason",
        )  # fmt: skip
    except InputError as exc:
        return _patient_page(
            request,
            ctx,
            who,
            patient_id,
            status=422,
            form_error={kind: f"{exc.field}: {exc.message}"},
            form_values=values,
            form_kind=kind,
            error_field=forms.input_name(exc.field),
        )
    message = i18n.gettext("Saved %(what)s.") % {"what": code_words(kind)}
    assessment = filed.assessment
    if kind == "bma_dose" and assessment.bma.next_due is not None:
        message += " " + i18n.gettext("Next dose due %(date)s.") % {
            "date": assessment.bma.next_due.isoformat()
        }
    if filed.findings:
        message += " " + i18n.gettext("Checks: %(checks)s") % {
            "checks": " ".join(i18n.tr(f.headline) for f in filed.findings)
        }
    if filed.alert_id is not None:
        message += " " + i18n.gettext("An alert was opened.")
    return RedirectResponse(
        flash_url(ctx.settings, f"/patients/{path_segment(patient_id)}", message[:600], kind),
        status_code=303,
    )  # the confirmation is shown in the form just used (flash_url's anchor), not at the top


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
        alert = care.acknowledge(
            ctx.db,
            who.user,
            alert_id,
            str(form.get("action_taken") or ""),
            settings=ctx.settings,
            resolve=form.get("resolve") == "1",
        )
    except InputError as exc:
        with ctx.db.transaction() as s:
            patient_id = repo.get_alert(s, alert_id).patient_id
        return _patient_page(
            request, ctx, who, patient_id, status=422, form_error={"ack": exc.message}
        )
    path = f"/patients/{path_segment(alert.patient_id)}"
    return RedirectResponse(
        flash_url(ctx.settings, path, i18n.gettext("Alert acknowledged."), "alerts"),
        status_code=303,
    )


__all__ = ["error_page", "router"]
