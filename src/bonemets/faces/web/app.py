"""The FastAPI application: server-rendered pages for the care team and patients, and /api."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bonemets import ENGINE_VERSION
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Actor, Database
from bonemets.config import Settings
from bonemets.core.errors import InputError
from bonemets.faces.cds import router as cds_router
from bonemets.faces.web import (
    account,
    admin,
    api,
    calendar_routes,
    fhir_api,
    i18n,
    learn,
    messages,
    pages,
    simulator,
    smart,
    trends,
)
from bonemets.faces.web.assets import default_assets
from bonemets.faces.web.assets import response_for as assets_response
from bonemets.faces.web.assets import router as assets_router
from bonemets.faces.web.deps import SESSION_COOKIE, Context, CsrfFailed, NotSignedIn
from bonemets.faces.web.guard import Limits, RequestGuard
from bonemets.faces.web.i18n import N_
from bonemets.service import accounts, audit
from bonemets.service.accounts import AccountError
from bonemets.service.care import AccessDenied
from bonemets.service.filing import OverrideRequired, finding_json
from bonemets.service.notify import Courier

STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    # Plotly sets inline styles; no inline or third-party scripts are used anywhere.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


_HEADERS = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
_STATIC_HEADERS = [(k, v) for k, v in _HEADERS if k != b"cache-control"]


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response that does not set them itself (static
    files may be cached), and HSTS when the app is served over HTTPS (Secure cookies). Plain
    ASGI: Starlette's BaseHTTPMiddleware runs every request through extra tasks and streams,
    which cost more than many of the routes."""

    def __init__(self, app: ASGIApp, hsts_seconds: int = 0) -> None:
        self.app = app
        hsts = [(b"strict-transport-security", f"max-age={hsts_seconds}".encode())]
        self.headers = _HEADERS + (hsts if hsts_seconds > 0 else [])
        self.static_headers = _STATIC_HEADERS + (hsts if hsts_seconds > 0 else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.static_headers if scope["path"].startswith("/static/") else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _value in headers}
                headers += [(k, v) for k, v in wanted if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/fhir/"))


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    db = db or Database(settings.database_url)
    courier = Courier(db, settings, interval=settings.notify_interval_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Alerts go out while the app runs: at once after each commit that queues one, and a
        # sweep a minute (escalations, missed check-ins, retries).
        courier.start()
        default_assets().warm()  # gzip the static files before the first page asks for them
        simulator.warm()  # the simulator's default run, so its page answers at once
        try:
            yield
        finally:
            courier.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="bonemets",
        version=ENGINE_VERSION,
        description=(
            "Care of people with bone metastases: symptom triage, bone-modifying-agent pathway, "
            "monitoring. Supports, and does not replace, clinical judgement."
        ),
        openapi_url="/api/openapi.json",
        docs_url=None,  # our own pages below: the assets from the installed package, no CDN
        redoc_url=None,
    )
    app.state.ctx = Context(db=db, settings=settings)
    # Outermost last: headers on every answer, then the Host check, then the request limits.
    app.add_middleware(RequestGuard, limits=Limits.from_settings(settings))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    hsts = settings.hsts_seconds if settings.secure_cookies else 0
    app.add_middleware(SecurityHeaders, hsts_seconds=hsts)
    app.add_middleware(i18n.LocaleMiddleware)  # the request's language (Accept-Language)
    app.include_router(api.router)
    app.include_router(fhir_api.router)
    app.include_router(smart.router)  # SMART app launch, SMART discovery, EHR identifier links
    app.include_router(account.router)
    app.include_router(admin.router)
    app.include_router(pages.router)
    app.include_router(learn.router)
    app.include_router(calendar_routes.router)  # the patient's calendar link and feed
    app.include_router(messages.router)
    app.include_router(trends.router)  # the patient's symptoms and results over time
    app.include_router(simulator.router)
    # CDS Hooks 2.0 for EHRs: /cds-services (works on prefetch and the EHR's FHIR server only)
    app.include_router(cds_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.assets = default_assets()
    app.include_router(assets_router)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> RedirectResponse:
        # The old address: pages now link the content-hashed, cached-for-good one.
        return RedirectResponse(default_assets().url("plotly.min.js"), status_code=301)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon(request: Request) -> Response:
        icon = default_assets().by_name["favicon.svg"]
        return assets_response(icon, request, cache_control="public, max-age=86400")

    @app.get("/api/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> Response:
        return _docs_page(request, "swagger", "bonemets API")

    @app.get("/api/redoc", include_in_schema=False)
    def redoc(request: Request) -> Response:
        return _docs_page(request, "redoc", "bonemets API reference")

    @app.exception_handler(NotSignedIn)
    def _not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "not signed in"}, status_code=401)
        return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)

    @app.exception_handler(AccessDenied)
    def _denied(request: Request, _exc: AccessDenied) -> Response:
        # The same answer whether the record exists or not: no leaking of existence.
        if request.url.path.startswith("/fhir/"):
            return fhir_api.not_found()
        if _is_api(request):
            return JSONResponse({"detail": "not found"}, status_code=404)
        return pages.error_page(request, 404, N_("Not found"), N_("There is no such page for you."))

    @app.exception_handler(OverrideRequired)
    def _needs_override(request: Request, exc: OverrideRequired) -> Response:
        detail = {**exc.as_dict(), "findings": [finding_json(f) for f in exc.findings]}
        return JSONResponse({"detail": detail}, status_code=409)

    @app.exception_handler(InputError)
    def _bad_input(request: Request, exc: InputError) -> Response:
        if not audit.was_audited(exc):
            _audit_refusal(request, "invalid", f"{_route(request)}: {exc.field}: {exc.message}")
        return JSONResponse({"detail": exc.as_dict()}, status_code=422)

    @app.exception_handler(CsrfFailed)
    def _csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        _audit_refusal(request, "csrf_failed", f"{_route(request)}: missing or wrong CSRF token",
                       user=exc.user)  # fmt: skip
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=403)
        return pages.error_page(
            request,
            403,
            N_("Please try again"),
            N_("The form had expired: go back, reload and retry."),
        )

    @app.exception_handler(AccountError)
    def _bad_account(request: Request, exc: AccountError) -> Response:
        return JSONResponse(
            {"detail": {"field": exc.field, "message": exc.message}}, status_code=422
        )

    @app.exception_handler(RequestValidationError)
    def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        detail = {"field": ".".join(loc) or "request", "message": str(first.get("msg", "invalid"))}
        _audit_refusal(
            request, "invalid", f"{_route(request)}: {detail['field']}: {detail['message']}"
        )
        return JSONResponse({"detail": detail}, status_code=422)

    return app


# ReDoc builds its search index in a Web Worker started from a blob: URL.
DOCS_CSP = SECURITY_HEADERS["Content-Security-Policy"] + "; worker-src 'self' blob:"


def _docs_page(request: Request, kind: str, title: str) -> Response:
    response = pages.templates.TemplateResponse(
        request, "api_docs.html", {"kind": kind, "title": title, "openapi_url": "/api/openapi.json"}
    )
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def _route(request: Request) -> str:
    return f"{request.method} {request.url.path}"


def _audit_refusal(
    request: Request, action: str, what: str, user: t.User | Actor | None = None
) -> None:
    """Audit a refused request in a transaction of its own (the request's work, if any, was
    rolled back), naming the signed-in user when there is one."""
    ctx: Context = request.app.state.ctx
    if user is None:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            with ctx.db.transaction() as s:
                found = accounts.resume(s, ctx.settings, token)
                user = found.user if found is not None else None
    audit.record(ctx.db, user=user, action=action, what=what)
