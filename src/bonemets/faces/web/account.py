"""Signing in and out, and the account page: sessions ("sign out everywhere") and the optional
TOTP second factor for clinicians and admins. Handlers that check passwords or touch the
database are plain `def` (FastAPI runs them in its threadpool: argon2 takes tens of
milliseconds of CPU, which must not stall the event loop)."""

from __future__ import annotations

import secrets
from typing import Any

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from bonemets.adapters.storage import repository as repo
from bonemets.education.trends import unit_system_choices
from bonemets.faces.web import i18n
from bonemets.faces.web.deps import (
    CSRF_FIELD,
    DEVICE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Context,
    SignedIn,
    check_csrf,
    client_address,
    context,
    flash_url,
    read_flash,
    signed_in,
)
from bonemets.faces.web.i18n import N_, gettext, ngettext
from bonemets.faces.web.pages import error_page, form_data, render
from bonemets.service import accounts
from bonemets.service.audit import record

router = APIRouter(include_in_schema=False)
DEVICE_DAYS = 365


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _safe_next(target: str | None) -> str | None:
    """Only local paths: never redirect a login to another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def _home(role: str) -> str:
    return "/portal" if role in ("patient", "carer") else "/worklist"


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


def set_device_cookie(response: Response, ctx: Context, value: str | None) -> None:
    if value:
        response.set_cookie(
            DEVICE_COOKIE,
            value,
            max_age=DEVICE_DAYS * 86400,
            httponly=True,
            secure=ctx.settings.secure_cookies,
            samesite="strict",
            path="/",
        )


def _login_page(
    request: Request, ctx: Context, status: int, *, error: str | None, nxt: str | None,
    pending: str | None = None, headers: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    """The sign-in form (or its code step, with `pending`) and a fresh login-CSRF cookie."""
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", status, login_csrf=token, next=nxt, error=error, who=None,
        pending=pending,
    )  # fmt: skip
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite="strict",
        path="/login",
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, next: str | None = None, ctx: Context = Depends(context)
) -> HTMLResponse:
    return _login_page(request, ctx, 200, error=None, nxt=_safe_next(next))


def _login_csrf_ok(request: Request, ctx: Context, form: FormData) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    presented = _field(form, CSRF_FIELD)
    if cookie and presented and secrets.compare_digest(cookie.encode(), presented.encode()):
        return True
    record(ctx.db, user=None, action="csrf_failed", what="sign-in form without its token")
    return False


@router.post("/login", response_model=None)
def login_submit(
    request: Request, form: FormData = Depends(form_data), ctx: Context = Depends(context)
) -> Response:
    nxt = _safe_next(_field(form, "next") or None)
    if not _login_csrf_ok(request, ctx, form):
        return error_page(request, 403, N_("Please try again"), N_("The sign-in form had expired."))
    common: dict[str, Any] = {
        "client": client_address(request),
        "device": request.cookies.get(DEVICE_COOKIE),
        "replaces": request.cookies.get(SESSION_COOKIE),
    }
    pending = _field(form, "pending")
    if pending:
        outcome = accounts.sign_in_with_code(
            ctx.db, ctx.settings, pending=pending, code=_field(form, "code"), **common
        )
    else:
        outcome = accounts.sign_in(
            ctx.db, ctx.settings, username=_field(form, "username"),
            password=_field(form, "password"), code=_field(form, "code") or None, **common,
        )  # fmt: skip
    if outcome.ok and outcome.user is not None and outcome.session is not None:
        redirect = RedirectResponse(nxt or _home(outcome.user.role), status_code=303)
        set_session_cookie(redirect, ctx, outcome.session)
        set_device_cookie(redirect, ctx, outcome.device_cookie)
        redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return redirect
    if outcome.retry_after is not None:
        wait = outcome.retry_after
        return _login_page(
            request, ctx, 429, nxt=nxt, headers={"Retry-After": str(wait)},
            error=gettext("Too many failed attempts. Wait %(wait)s and try again.")
            % {"wait": _duration(wait)},
        )  # fmt: skip
    if outcome.needs_code and outcome.user is not None:
        step = accounts.pending_token(ctx.settings, outcome.user.username)
        wrong = gettext("That code did not match. Try the newest one.")
        error = wrong if outcome.wrong_code else None
        return _login_page(request, ctx, 401 if error else 200, error=error, nxt=nxt,
                           pending=step)  # fmt: skip
    if outcome.expired:
        expired = gettext("That took too long: sign in again.")
        return _login_page(request, ctx, 401, error=expired, nxt=nxt)
    return _login_page(request, ctx, 401, error=gettext("Wrong username or password."), nxt=nxt)


def _duration(seconds: int) -> str:
    if seconds < 90:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = round(seconds / 60)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


@router.post("/logout", response_model=None)
def logout(
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    check_csrf(who, _field(form, CSRF_FIELD))
    with ctx.db.transaction() as s:
        if _field(form, "everywhere"):
            accounts.end_all_sessions(s, who.user)
        else:
            accounts.end_session(s, who.token, who.user)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- The account page -----------------------------------------------------------------------


def _account_page(
    request: Request, ctx: Context, who: SignedIn, *, status: int = 200,
    flash: str | None = None, error: str | None = None, enrol: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    with ctx.db.transaction() as s:
        sessions = repo.user_sessions(s, who.user.id)
    return render(
        request, "account.html", status, who=who, sessions=sessions, flash=flash, error=error,
        enrol=enrol, may_totp=who.user.role in accounts.TOTP_ROLES,
        current=accounts.session_hash(who.token), unit_choices=unit_system_choices(),
        unit_system=accounts.units_of(ctx.settings, who.user),
        languages=i18n.language_choices(), language=i18n.chosen(request.headers.get("cookie")),
    )  # fmt: skip


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request,
    flash: str | None = None,
    fs: str | None = None,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    return _account_page(request, ctx, who, flash=read_flash(ctx.settings, flash, fs))


def _enrolment(ctx: Context, who: SignedIn, secret: str) -> dict[str, str]:
    uri = accounts.totp_uri(secret, who.user.username)
    return {
        "secret": secret,
        "grouped": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "qr": segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
        "signed": accounts.signed_secret(ctx.settings, who.user.id, secret),
    }


@router.post("/account/totp/start", response_class=HTMLResponse)
def totp_start(
    request: Request,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    """Show a new secret (QR code and text) to add to an authenticator app."""
    check_csrf(who, _field(form, CSRF_FIELD))
    if who.user.role not in accounts.TOTP_ROLES:
        refused = gettext("A second factor is for clinicians and admins.")
        return _account_page(request, ctx, who, status=403, error=refused)
    enrol = _enrolment(ctx, who, accounts.new_totp_secret())
    return _account_page(request, ctx, who, enrol=enrol)


@router.post("/account/totp/confirm", response_model=None)
def totp_confirm(
    request: Request,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    """Turn the second factor on once a code from the new secret matches."""
    check_csrf(who, _field(form, CSRF_FIELD))
    secret = accounts.unsigned_secret(ctx.settings, who.user.id, _field(form, "signed"))
    if secret is None:
        return _account_page(request, ctx, who, status=400, error=gettext("Start again."))
    try:
        with ctx.db.transaction() as s:
            user = repo.user_by_id(s, who.user.id)
            assert user is not None
            accounts.enable_totp(s, user, secret, _field(form, "code"))
    except accounts.AccountError as exc:
        record(ctx.db, user=who.user, action="invalid", what=f"enable second factor: {exc}")
        return _account_page(request, ctx, who, status=422, error=exc.message,
                             enrol=_enrolment(ctx, who, secret))  # fmt: skip
    message = gettext("Two-step sign-in is on: you will be asked for a code when you sign in.")
    return RedirectResponse(flash_url(ctx.settings, "/account", message), status_code=303)


@router.post("/account/totp/disable", response_model=None)
def totp_disable(
    request: Request,
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    """Turn the second factor off (a current code is asked for: a stolen session alone
    cannot remove it)."""
    check_csrf(who, _field(form, CSRF_FIELD))
    with ctx.db.transaction() as s:
        user = repo.user_by_id(s, who.user.id)
        assert user is not None
        step = (
            accounts.totp_step(user.totp_secret, _field(form, "code")) if user.totp_secret else None
        )
        if step is not None:
            accounts.disable_totp(s, user)
    if step is None:
        record(ctx.db, user=who.user, action="invalid", what="disable second factor: wrong code")
        wrong = gettext("That code did not match.")
        return _account_page(request, ctx, who, status=422, error=wrong)
    return RedirectResponse(
        flash_url(ctx.settings, "/account", gettext("Two-step sign-in is off.")), status_code=303
    )


@router.post("/account/language", response_model=None)
def choose_language(
    form: FormData = Depends(form_data),
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> Response:
    """The language of this browser's pages (a cookie: another device keeps its own); empty:
    the browser's own setting again."""
    check_csrf(who, _field(form, CSRF_FIELD))
    code = _field(form, "language")
    if code and code not in {c["code"] for c in i18n.language_choices()}:
        raise accounts.AccountError("language", f"no language {code!r} here")
    response = RedirectResponse("/account#language", status_code=303)
    if code:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, code, max_age=365 * 86400, httponly=True,
            secure=ctx.settings.secure_cookies, samesite="lax", path="/",
        )  # fmt: skip
    else:
        response.delete_cookie(i18n.LANGUAGE_COOKIE, path="/")
    return response


__all__ = ["router", "set_device_cookie", "set_session_cookie"]
