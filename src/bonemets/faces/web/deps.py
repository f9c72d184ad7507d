"""Request plumbing shared by pages and API: the database, settings, the signed-in user, CSRF."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.service import accounts

SESSION_COOKIE = "bm_session"
LOGIN_CSRF_COOKIE = "bm_login_csrf"
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
        return _resume(s, token)


def _resume(s: Session, token: str) -> SignedIn | None:
    found = accounts.resume_session(s, token)
    if found is None:
        return None
    user, session = found
    return SignedIn(user=user, csrf_token=session.csrf_token, token=token)


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
        with self.ctx.db.transaction() as s:
            who = _resume(s, self.token)
            if who is not None:
                return work(s, who)
        # Outside the transaction: an expired session's deletion is kept.
        raise NotSignedIn()


async def caller(request: Request) -> Caller:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn()
    ctx: Context = request.app.state.ctx
    return Caller(ctx=ctx, token=token)


def check_csrf(who: SignedIn, presented: str | None) -> None:
    """Every state-changing request carries the session's CSRF token (form field or header)."""
    if not presented or not hmac.compare_digest(presented.encode(), who.csrf_token.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
