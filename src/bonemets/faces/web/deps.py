"""Request plumbing shared by pages and API: the database, settings, the signed-in user, CSRF."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, urlencode

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.service import accounts

SESSION_COOKIE = "bm_session"
LOGIN_CSRF_COOKIE = "bm_login_csrf"
DEVICE_COOKIE = "bm_device"  # marks a browser its user has signed in from (login throttle)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

T = TypeVar("T")


@dataclass
class Context:
    db: Database
    settings: Settings


@dataclass
class SignedIn:
    user: t.User
    csrf_token: str
    token: str


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# threadpool, and each such hop costs more than the dependency itself.


async def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


class NotSignedIn(Exception):
    """Raised when a page needs a user; pages redirect to the login form, the API answers 401."""


def optional_user(request: Request) -> SignedIn | None:
    """The session's user (one query), in the threadpool: it waits on the database."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    ctx: Context = request.app.state.ctx
    with ctx.db.transaction() as s:
        who, touch = _resume(s, ctx.settings, token)
        if touch:
            accounts.touch_session(s, token)
        return who


def _resume(s: Session, settings: Settings, token: str) -> tuple[SignedIn | None, bool]:
    """The signed-in user, and whether the session's last-seen time is due to be written."""
    found = accounts.resume(s, settings, token)
    if found is None:
        return None, False
    who = SignedIn(user=found.user, csrf_token=found.session.csrf_token, token=token)
    return who, found.touch


async def signed_in(who: SignedIn | None = Depends(optional_user)) -> SignedIn:
    if who is None:
        raise NotSignedIn()
    return who


@dataclass(frozen=True)
class Caller:
    """A request that must come from a signed-in user, for the busiest API routes: the session
    is checked inside the route's own work, in one threadpool hop and one transaction, where
    `signed_in` and the route would take two of each. A request without a session cookie is
    refused at once, before its parameters are read, as with `signed_in`. One whose cookie is
    no longer valid is refused (401) before the route reads or writes anything, but after
    FastAPI has checked its parameters: a malformed one is answered 422 first (it reveals
    nothing about any record)."""

    ctx: Context
    token: str

    async def run(self, work: Callable[[Session, SignedIn], T]) -> T:
        """`work(s, who)` in the threadpool, in a transaction that begins with the session
        check; NotSignedIn (401) when the session is not live."""
        return await run_in_threadpool(self._run, work)

    def _run(self, work: Callable[[Session, SignedIn], T]) -> T:
        touch = False
        try:
            with self.ctx.db.transaction() as s:
                who, touch = _resume(s, self.ctx.settings, self.token)
                if who is not None:
                    return work(s, who)
        finally:
            # In a transaction of its own, after the work's: the work's may write an audit row
            # in yet another transaction (a refusal), which on SQLite must not wait for this.
            if touch:
                with self.ctx.db.transaction() as s:
                    accounts.touch_session(s, self.token)
        raise NotSignedIn()


async def caller(request: Request) -> Caller:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn()
    ctx: Context = request.app.state.ctx
    return Caller(ctx=ctx, token=token)


class CsrfFailed(HTTPException):
    """A state-changing request without the session's CSRF token: 403, and audited."""

    def __init__(self, user: t.User | None) -> None:
        super().__init__(status_code=403, detail="missing or wrong CSRF token")
        self.user = repo.Actor.of(user)  # while loaded: the transaction will roll back


def check_csrf(who: SignedIn, presented: str | None) -> None:
    """Every state-changing request carries the session's CSRF token (form field or header)."""
    if not presented or not hmac.compare_digest(
        presented.encode("utf-8", "replace"), who.csrf_token.encode()
    ):
        raise CsrfFailed(who.user)


def client_address(request: Request) -> str:
    """The client's address: the connection's, or the one a trusted proxy forwarded (the
    server decides which, see `bonemets serve` and BONEMETS_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


# --- Flash messages ------------------------------------------------------------------------------
# A page that redirects after a write says what happened through `?flash=`. Only text this app
# wrote is shown: the message carries our signature, so a link cannot put words on the page.


def _flash_signature(settings: Settings, message: str) -> str:
    key = settings.secret_key.encode()
    return hmac.new(
        key, b"flash\x1f" + message.encode("utf-8", "replace"), hashlib.sha256
    ).hexdigest()[:24]


def flash_url(settings: Settings, path: str, message: str, anchor: str = "") -> str:
    """`path` with a signed flash message (and `#anchor`, also given as `at` so the page can
    show the message in that section, where the user is)."""
    fields = {"flash": message, "fs": _flash_signature(settings, message)}
    query = urlencode({**fields, "at": anchor} if anchor else fields)
    joiner = "&" if "?" in path else "?"  # a path that has a query keeps it
    return f"{path}{joiner}{query}" + (f"#{anchor}" if anchor else "")


def read_flash(settings: Settings, message: str | None, signature: str | None) -> str | None:
    """The flash message when we signed it, else nothing."""
    if not message or not signature:
        return None
    if hmac.compare_digest(signature.encode(), _flash_signature(settings, message).encode()):
        return message
    return None


def path_segment(value: str) -> str:
    """A record id as one URL path segment (an id stored before ids were checked may hold
    '/', '?' or '#')."""
    return quote(value, safe="")
