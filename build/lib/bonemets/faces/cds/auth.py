"""CDS client authentication: the JWT a CDS Client sends with every call (CDS Hooks 2.0, "Trusting
CDS Clients"), verified with joserfc.

A token is accepted only when all of these hold:

- it is signed with RS384 or ES384 (the specification's recommended algorithms); `none` and every
  symmetric algorithm (HS*) are refused before any key is looked at;
- its issuer is a configured CDS client, and the key is found in that client's configured JWKS
  (inline or by URL), or at the token's `jku` only when that URL is on the client's own allow list
  (a `jku` anywhere else is never fetched);
- `aud` names the endpoint called (our public URL, or the request's own);
- `exp` is in the future, `iat` is not in the future and not older than the maximum age, `jti` is
  present, and this (issuer, jti) has not been accepted before: the ids are kept in the database,
  so a replay is refused by every worker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from bonemets.adapters.jwks import JwksCache, JwksError

ALGORITHMS = ("RS384", "ES384")


class Unauthorized(Exception):
    """The call carries no acceptable client JWT (answered 401, saying why)."""


__all__ = ["JwksCache", "TrustedClient", "Unauthorized", "Verified", "verify"]


@dataclass(frozen=True)
class TrustedClient:
    """A CDS Client allowed to call us, by the `iss` of its tokens."""

    issuer: str
    jwks: Mapping[str, Any] | None = None  # the client's JWK Set, given out of band
    jwks_url: str | None = None  # ... or where to fetch it
    jku: tuple[str, ...] = ()  # `jku` URLs this client's tokens may name
    tenant: str | None = None  # when set, the token's `tenant` must equal it

    @classmethod
    def from_json(cls, issuer: str, raw: Mapping[str, Any]) -> TrustedClient:
        known = {"jwks", "jwks_url", "jku", "tenant"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"CDS client {issuer}: unknown setting(s) {sorted(unknown)}")
        jku = raw.get("jku") or []
        if isinstance(jku, str):
            jku = [jku]
        client = cls(
            issuer=issuer,
            jwks=raw.get("jwks"),
            jwks_url=raw.get("jwks_url"),
            jku=tuple(jku),
            tenant=raw.get("tenant"),
        )
        if client.jwks is None and client.jwks_url is None and not client.jku:
            raise ValueError(f"CDS client {issuer}: give jwks, jwks_url or jku")
        if client.jwks is not None:
            KeySet.import_key_set(dict(client.jwks))  # type: ignore[arg-type]  # fail at start
        return client


def clients_from_setting(value: str) -> dict[str, TrustedClient]:
    """`BONEMETS_CDS_CLIENTS`: a JSON object (or `@path` of a JSON file) of issuer -> settings."""
    value = value.strip()
    if not value:
        return {}
    if value.startswith("@"):
        with open(value[1:], "rb") as f:
            value = f.read().decode()
    raw = orjson.loads(value)
    if not isinstance(raw, dict):
        raise ValueError("BONEMETS_CDS_CLIENTS must be a JSON object: issuer -> settings")
    return {iss: TrustedClient.from_json(iss, conf) for iss, conf in raw.items()}


@dataclass(frozen=True)
class Verified:
    issuer: str
    jti: str
    keep_until: dt.datetime  # the token is refused for its age after this
    tenant: str | None


def bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("this service requires a CDS client JWT (Authorization: Bearer)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <JWT>'")
    return token.strip()


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        compact = jws.extract_compact(token.encode())
        payload = orjson.loads(compact.payload)
    except (ValueError, JoseError, orjson.JSONDecodeError):
        raise Unauthorized("the bearer token is not a JWS compact JWT") from None
    if not isinstance(payload, dict):
        raise Unauthorized("the JWT payload is not a JSON object")
    return dict(compact.headers()), payload


async def verify(
    token: str,
    *,
    clients: Mapping[str, TrustedClient],
    audiences: tuple[str, ...],
    now: float,
    max_age_s: float,
    leeway_s: float,
    cache: JwksCache,
) -> Verified:
    """The verified claims of a CDS client JWT, or Unauthorized saying what is wrong."""
    header, payload = _unverified(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise Unauthorized(f"JWT algorithm {alg!r} refused: sign with {' or '.join(ALGORITHMS)}")
    if str(header.get("typ", "")).upper() != "JWT":
        raise Unauthorized("the JWT header's typ must be 'JWT'")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("the JWT header must name its key (kid)")
    issuer = payload.get("iss")
    client = clients.get(issuer) if isinstance(issuer, str) else None
    if client is None:
        raise Unauthorized(f"issuer {issuer!r} is not a CDS client this service trusts")
    keys = await _keys(client, header.get("jku"), kid, cache)
    try:
        verified = jwt.decode(token, keys, algorithms=[alg])
    except JoseError as exc:
        raise Unauthorized(f"the JWT signature does not verify ({exc.error})") from None
    claims = verified.claims
    registry = jwt.JWTClaimsRegistry(
        now=int(now),
        leeway=int(leeway_s),
        iss={"essential": True, "value": client.issuer},
        aud={"essential": True, "values": list(audiences)},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise Unauthorized(f"JWT claims refused ({exc.error}: {exc.description})") from None
    iat, exp, jti = claims["iat"], claims["exp"], claims["jti"]
    if not isinstance(jti, str) or not jti.strip():
        raise Unauthorized("the JWT has no jti")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise Unauthorized("iat and exp must be numbers")
    if iat < now - max_age_s - leeway_s:
        raise Unauthorized(f"the JWT was issued more than {max_age_s:g} s ago")
    if client.tenant is not None and claims.get("tenant") != client.tenant:
        raise Unauthorized("the JWT's tenant is not this client's")
    keep = min(exp, iat + max_age_s) + leeway_s
    return Verified(
        issuer=client.issuer,
        jti=jti,
        keep_until=dt.datetime.fromtimestamp(keep, dt.UTC),
        tenant=claims.get("tenant"),
    )


async def _keys(client: TrustedClient, jku: Any, kid: str, cache: JwksCache) -> KeySet:
    try:
        if isinstance(jku, str) and jku in client.jku:
            return await cache.get(jku, kid)
        if client.jwks is not None:
            return KeySet.import_key_set(dict(client.jwks))  # type: ignore[arg-type]
        if client.jwks_url is not None:
            return await cache.get(client.jwks_url, kid)
    except JwksError as exc:
        raise Unauthorized(str(exc)) from None
    raise Unauthorized(
        "the JWT's jku is not on this client's list, and no JWK Set is configured for it"
        if jku
        else "the JWT names no jku, and no JWK Set is configured for its issuer"
    )
