"""JWK Sets fetched by URL (httpx), cached per process: the keys of CDS clients and of the
authorization servers whose tokens we accept."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import orjson
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

JWKS_TTL_S = 300.0  # a fetched JWKS is used this long, then fetched again
REFETCH_MIN_S = 60.0  # an unknown key id fetches again (key rotation), at most this often
JWKS_MAX_BYTES = 256 * 1024


class JwksError(Exception):
    """A JWK Set that could not be fetched or read (the message says why)."""


@dataclass
class JwksCache:
    timeout_s: float = 5.0
    sets: dict[str, tuple[float, KeySet]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, url: str, kid: str | None) -> KeySet:
        now = time.monotonic()
        cached = self.sets.get(url)
        if cached is not None:
            fetched_at, keys = cached
            fresh = now - fetched_at < JWKS_TTL_S
            has_kid = kid is None or any(k.kid == kid for k in keys.keys)
            if fresh and (has_kid or now - fetched_at < REFETCH_MIN_S):
                return keys
        async with self.lock:
            keys = await fetch_jwks(url, self.timeout_s)
            self.sets[url] = (time.monotonic(), keys)
            return keys


async def fetch_jwks(url: str, timeout_s: float) -> KeySet:
    # No redirects: a JWK Set is trusted at its configured URL only.
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise JwksError(f"the JWK Set at {url} could not be fetched ({exc})") from None
    if response.status_code != 200 or len(response.content) > JWKS_MAX_BYTES:
        raise JwksError(f"the JWK Set at {url} could not be fetched ({response.status_code})")
    try:
        return KeySet.import_key_set(orjson.loads(response.content))
    except (ValueError, JoseError) as exc:
        raise JwksError(f"the JWK Set at {url} is not a JWK Set ({exc})") from None
