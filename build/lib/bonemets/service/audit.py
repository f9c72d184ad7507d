"""Audit records that must outlive the request they describe: refusals (access, validation,
CSRF, throttling) are written in a transaction of their own, so the rollback of the request's
work keeps them. Reading the log, and checking its hash chain, for admins and the CLI."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Actor, AuditFilter, ChainReport, Database
from bonemets.core.errors import InputError

P = ParamSpec("P")
R = TypeVar("R")
_AUDITED = "_bonemets_audited"


def record(
    db: Database,
    *,
    user: t.User | Actor | None,
    action: str,
    what: str,
    patient_id: str | None = None,
    allowed: bool = False,
) -> None:
    """Write one audit row now, in its own transaction. Call it outside any transaction that
    has written (on SQLite a second writer would wait for the first)."""
    with db.transaction() as s:
        repo.audit(s, user=user, action=action, what=what, patient_id=patient_id, allowed=allowed)


def mark_audited(exc: BaseException) -> None:
    setattr(exc, _AUDITED, True)


def was_audited(exc: BaseException) -> bool:
    return bool(getattr(exc, _AUDITED, False))


def audited_input(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a use case taking `db`, `user` and `patient_id`: an InputError it raises is
    audited ("invalid", with the field and message) before it reaches the caller. `what` may
    name the use case's other arguments, e.g. "write {kind}"."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind_partial(*args, **kwargs).arguments
            actor = Actor.of(bound.get("user"))  # now: a rollback would expire the row
            try:
                return fn(*args, **kwargs)
            except InputError as exc:
                if not was_audited(exc):
                    record(
                        bound["db"],
                        user=actor,
                        action="invalid",
                        what=f"{what.format(**bound)}: {exc.field}: {exc.message}",
                        patient_id=bound.get("patient_id"),
                    )
                    mark_audited(exc)
                raise

        return run

    return wrap


def events(db: Database, user: t.User, where: AuditFilter) -> list[t.AuditEvent]:
    """Audit rows for an admin (reading the log is audited too)."""
    if user.role != "admin":
        record(db, user=user, action="denied", what=f"read audit log (role {user.role})")
        raise PermissionError("admins only")
    with db.transaction() as s:
        rows = repo.audit_events(s, where=where)
        repo.audit(s, user=user, action="read", what=f"read audit log ({_describe(where)})")
        return rows


def _describe(where: AuditFilter) -> str:
    parts = [f"{k}={v}" for k, v in vars(where).items() if v is not None and k != "limit"]
    return ", ".join(parts) or "all"


def verify(db: Database) -> ChainReport:
    with db.transaction() as s:
        return repo.verify_audit_chain(s)
