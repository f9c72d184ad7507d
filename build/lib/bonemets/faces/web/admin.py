"""The audit log for admins (/admin/audit): filters, paging, and a check of its hash chain."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from bonemets.adapters.storage.repository import AuditFilter
from bonemets.core.errors import InputError
from bonemets.faces.web.deps import Context, SignedIn, context, signed_in
from bonemets.faces.web.pages import render
from bonemets.service import audit, care

router = APIRouter(include_in_schema=False)
PAGE = 200
ACTIONS = (
    "read", "write", "export", "denied", "invalid", "csrf_failed", "login", "login_failed",
    "login_limited", "login_code_asked", "logout", "logout_all", "password_changed",
    "totp_enabled", "totp_disabled",
)  # fmt: skip


def _day(value: str, field: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
    except ValueError:
        raise InputError(field, "expected a date YYYY-MM-DD") from None


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: str = Query("", max_length=80),
    action: str = Query("", max_length=32),
    patient: str = Query("", max_length=64),
    outcome: str = Query("", pattern="^(|allowed|refused)$"),
    since: str = Query("", max_length=10),
    until: str = Query("", max_length=10),
    before: int | None = Query(None, ge=1, le=2**62),
    verify: bool = False,
    who: SignedIn = Depends(signed_in),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    if who.user.role != "admin":
        raise care.deny(ctx.db, who.user, None, f"read audit log (role {who.user.role})")
    filters = {"user": user, "action": action, "patient": patient, "outcome": outcome,
               "since": since, "until": until}  # fmt: skip
    error = None
    rows = []
    try:
        where = AuditFilter(
            username=user.strip().lower() or None,
            action=action.strip() or None,
            patient_id=patient.strip() or None,
            allowed={"allowed": True, "refused": False}.get(outcome),
            since=_day(since, "since"),
            until=_day(until, "until"),
            before_id=before,
            limit=PAGE,
        )
        rows = audit.events(ctx.db, who.user, where)
    except InputError as exc:
        error = f"{exc.field}: {exc.message}"
    more = None
    if len(rows) == PAGE:
        more = "/admin/audit?" + urlencode({**filters, "before": rows[-1].id})
    chain = audit.verify(ctx.db) if verify else None
    return render(
        request, "admin_audit.html", 422 if error else 200, who=who, rows=rows,
        filters=filters, actions=ACTIONS, more=more, chain=chain, error=error,
    )  # fmt: skip
