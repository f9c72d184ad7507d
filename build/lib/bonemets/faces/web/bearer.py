"""OAuth2 bearer tokens at /fhir (SMART on FHIR, as a resource server), beside the session cookie.

A token is accepted when it is a JWT signed (RS256, RS384, ES256 or ES384) by the configured
authorization server (`BONEMETS_FHIR_OAUTH_ISSUER`, keys at `BONEMETS_FHIR_OAUTH_JWKS_URL`), for
our FHIR base URL (`aud`), not expired. What it may read:

- its user: the `fhirUser` claim (else `sub`) linked to one of our accounts under that issuer
  (service/ehr.py); a token whose user is not linked reads nothing (403). Our access rules apply
  to that account as to its sessions (care.may_access).
- its scopes (SMART App Launch 2): `user/<type>.rs` reads what the user may read,
  `patient/<type>.rs` only the patient of the token's `patient` claim (a FHIR Patient id of this
  server); `*` for every type; v1 `.read` (and `.*`) are read and search. A scope with a query
  (`?category=...`, SMART 2 granular scopes) is not honoured (it would be read wider than
  granted); `system/` scopes and write permissions grant nothing here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from joserfc import jws, jwt
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from bonemets.adapters.jwks import JwksCache, JwksError
from bonemets.config import Settings
from bonemets.faces.web.deps import Context, optional_user
from bonemets.service import ehr
from bonemets.service.fhir_search import READABLE, Access

ALGORITHMS = ("RS256", "RS384", "ES256", "ES384")
LEEWAY_S = 30
_SCOPE = re.compile(
    r"^(?P<who>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)"
    r"\.(?P<perm>\*|read|write|c?r?u?d?s?)(?P<query>\?.*)?$"
)
_JWKS = JwksCache()
_INVALID = "invalid_token"
_SCOPE_ERROR = "insufficient_scope"


class FhirAuthError(Exception):
    """Why a /fhir call is refused: 401 (no or bad credentials) or 403 (not allowed)."""

    def __init__(self, status: int, code: str, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code  # OperationOutcome issue code
        self.message = message
        self.error = error  # RFC 6750 error for WWW-Authenticate

    def www_authenticate(self) -> str:
        value = 'Bearer realm="bonemets"'
        if self.error:
            value += f', error="{self.error}"'
        return value


@dataclass(frozen=True)
class Grants:
    read: frozenset[str]
    search: frozenset[str]
    patient_only: frozenset[str]  # granted by patient/ scopes only


def grants(scopes: list[str]) -> Grants:
    """The read and search permissions a token's scopes give, per resource type."""
    user_r: set[str] = set()
    user_s: set[str] = set()
    pat_r: set[str] = set()
    pat_s: set[str] = set()
    for scope in scopes:
        m = _SCOPE.match(scope)
        if m is None or m["query"] or m["who"] == "system":
            continue
        perm = m["perm"]
        if perm in ("*", "read"):
            can_read = can_search = True
        elif perm == "write":
            continue
        else:
            can_read, can_search = "r" in perm, "s" in perm
        types = set(READABLE) if m["type"] == "*" else {m["type"]} & set(READABLE)
        read, search = (user_r, user_s) if m["who"] == "user" else (pat_r, pat_s)
        if can_read:
            read |= types
        if can_search:
            search |= types
    read_all, search_all = user_r | pat_r, user_s | pat_s
    only = (pat_r - user_r) | (pat_s - user_s)
    return Grants(frozenset(read_all), frozenset(search_all), frozenset(only))


def _scopes(claims: dict[str, object]) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    scp = claims.get("scp")
    if isinstance(scp, list):
        return [s for s in scp if isinstance(s, str)]
    return []


def audience(settings: Settings, request: Request) -> str:
    if settings.fhir_oauth_audience:
        return settings.fhir_oauth_audience
    base = settings.public_url or str(request.base_url)
    return base.rstrip("/") + "/fhir"


def fhir_user_subjects(claims: dict[str, object]) -> list[str]:
    """What identifies the token's user, most specific first: `fhirUser` (as given, and as
    `Type/id` when it is an absolute URL), then `sub`."""
    out: list[str] = []
    fhir_user = claims.get("fhirUser")
    if isinstance(fhir_user, str) and fhir_user:
        out.append(fhir_user)
        parts = fhir_user.rstrip("/").split("/")
        if len(parts) > 2:
            out.append("/".join(parts[-2:]))
    sub = claims.get("sub")
    if isinstance(sub, str) and sub:
        out.append(sub)
    return out


async def verify_token(token: str, settings: Settings, request: Request) -> dict[str, object]:
    """The claims of a valid access token for /fhir."""
    issuer, jwks_url = settings.fhir_oauth_issuer, settings.fhir_oauth_jwks_url
    if not issuer or not jwks_url:
        raise FhirAuthError(401, "login", "this server accepts no bearer tokens", "invalid_token")
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (ValueError, JoseError):
        raise FhirAuthError(
            401, "login", "the bearer token is not a JWT", "invalid_token"
        ) from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise FhirAuthError(401, "login", f"token algorithm {alg!r} refused", "invalid_token")
    try:
        keys = await _JWKS.get(jwks_url, header.get("kid"))
        claims = jwt.decode(token, keys, algorithms=[str(alg)]).claims
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_S,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience(settings, request)},
            exp={"essential": True},
        ).validate(claims)
    except JwksError as exc:
        raise FhirAuthError(401, "login", str(exc), "invalid_token") from None
    except JoseError as exc:
        why = f"{exc.error}: {exc.description}" if exc.description else exc.error
        raise FhirAuthError(401, "login", f"token refused ({why})", "invalid_token") from None
    return dict(claims)


async def fhir_access(request: Request) -> Access:
    """Who is calling /fhir and what they may read: a bearer token, else the session cookie."""
    ctx: Context = request.app.state.ctx
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise FhirAuthError(
                401, "login", "use 'Authorization: Bearer <token>'", "invalid_request"
            )
        return await _token_access(token.strip(), ctx, request)
    who = await run_in_threadpool(optional_user, request)
    if who is None:
        raise FhirAuthError(401, "login", "sign in, or send an OAuth2 bearer token")
    return Access(user=who.user, via="session")


async def _token_access(token: str, ctx: Context, request: Request) -> Access:
    claims = await verify_token(token, ctx.settings, request)
    issuer = str(claims["iss"])
    user = await run_in_threadpool(ehr.user_for, ctx.db, issuer, fhir_user_subjects(claims))
    if user is None:
        raise FhirAuthError(
            403,
            "forbidden",
            "the token's user (fhirUser or sub) is not linked to a bonemets account",
            "insufficient_scope",
        )
    granted = grants(_scopes(claims))
    if not granted.read and not granted.search:
        raise FhirAuthError(
            403, "forbidden", "the token grants no read scope", "insufficient_scope"
        )
    patient = claims.get("patient")
    return Access(
        user=user,
        read_types=granted.read,
        search_types=granted.search,
        patient_only=granted.patient_only,
        patient=patient if isinstance(patient, str) and patient else None,
        via=f"token from {issuer}",
    )
