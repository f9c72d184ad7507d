"""Request plumbing shared by pages and API: the database, settings, the signed-in user, CSRF."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request

from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.service import accounts

SESSION_COOKIE = "bm_session"
LOGIN_CSRF_COOKIE = "bm_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass
class Context:
    db: Database
    settings: Settings


@dataclass
class SignedIn:
    user: t.User
    csrf_token: str
    token: str


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


class NotSignedIn(Exception):
    """Raised when a page needs a user; pages redirect to the login form, the API answers 401."""


def optional_user(request: Request, ctx: Context = Depends(context)) -> SignedIn | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with ctx.db.transaction() as s:
        found = accounts.resume_session(s, token)
    if found is None:
        return None
    user, session = found
    return SignedIn(user=user, csrf_token=session.csrf_token, token=token)


def signed_in(who: SignedIn | None = Depends(optional_user)) -> SignedIn:
    if who is None:
        raise NotSignedIn()
    return who


def check_csrf(who: SignedIn, presented: str | None) -> None:
    """Every state-changing request carries the session's CSRF token (form field or header)."""
    if not presented or presented != who.csrf_token:
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
