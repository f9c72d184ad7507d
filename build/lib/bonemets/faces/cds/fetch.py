"""Reads from a CDS Client's FHIR server (httpx, async), with the safeguards a caller-supplied URL
needs.

- Only servers on the configured allow list are called at all (`server_allowed`).
- The bearer token goes only to URLs under the request's own `fhirServer`; a redirect is followed
  (at most `MAX_REDIRECTS`) only to a URL on the allow list, and carries the token only when that
  URL is again under the request's server.
- A search follows its `next` links only while they stay under the request's server, for at most
  `MAX_PAGES` pages; anything else is reported as incomplete, never read as complete.
- Each answer is capped in size, and all reads of one call share one deadline.

fhirpy was used here before; it follows redirects with the token and checks a `next` link only by
a substring test of the base URL, so these reads are done directly.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

MAX_REDIRECTS = 3
MAX_PAGES = 50
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
FHIR_JSON = "application/fhir+json, application/json;q=0.9"


class FetchError(Exception):
    """A read that failed; the message says why, in words for a card."""


def _norm(url: str) -> str:
    return url.rstrip("/") + "/"


def under(url: str, base: str) -> bool:
    """True when `url` is `base` itself or below it (same scheme, host, port and path prefix)."""
    u, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    if (u.scheme.lower(), u.netloc.lower()) != (b.scheme.lower(), b.netloc.lower()):
        return False
    return _norm(u.path).startswith(_norm(b.path))


def server_allowed(server: str, allowed: tuple[str, ...]) -> bool:
    """True when `server` is under one of the allowed base URLs ("*" allows any)."""
    if "*" in allowed:
        return True
    return any(under(server, a) for a in allowed)


class FhirFetcher:
    """Reads from one CDS call's FHIR server."""

    def __init__(
        self,
        base: str,
        token: str | None,
        allowed: tuple[str, ...],
        client: httpx.AsyncClient,
    ) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.allowed = allowed
        self.client = client

    async def get(self, url: str) -> dict[str, Any]:
        """One JSON resource from `url`, following redirects within the allow list."""
        for _hop in range(MAX_REDIRECTS + 1):
            if not server_allowed(url, self.allowed):
                raise FetchError(f"{_origin(url)} is not a FHIR server this service may call")
            headers = {"Accept": FHIR_JSON}
            if self.token and under(url, self.base):
                headers["Authorization"] = f"Bearer {self.token}"
            try:
                async with self.client.stream("GET", url, headers=headers) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(f"a redirect without a Location from {url}")
                        url = urllib.parse.urljoin(url, location)
                        continue
                    body = await _read_capped(response)
                    status = response.status_code
            except httpx.TimeoutException:
                raise FetchError("the FHIR server did not answer in time") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {exc}"[:200]) from None
            return _json_resource(url, status, body)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    async def read(self, resource_type: str, rid: str) -> dict[str, Any]:
        rid = urllib.parse.quote(rid, safe="")
        return await self.get(f"{self.base}/{resource_type}/{rid}")

    async def search(self, path: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every resource of a search, page by page."""
        query = urllib.parse.urlencode(params)
        return await self.follow(await self.get(f"{self.base}/{path}?{query}"))

    async def follow(self, bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The entries of `bundle` and of the pages after it (its `next` links)."""
        out = list(entries(bundle))
        for _page in range(MAX_PAGES):
            link = next_link(bundle)
            if link is None:
                return out
            if not under(link, self.base):
                raise FetchError(
                    f"the next page ({_origin(link)}) is not on the request's FHIR server"
                )
            bundle = await self.get(link)
            if bundle.get("resourceType") != "Bundle":
                raise FetchError(f"a next page that is not a Bundle ({bundle.get('resourceType')})")
            out.extend(entries(bundle))
        raise FetchError(f"the search has more than {MAX_PAGES} pages")


async def _read_capped(response: httpx.Response) -> bytes:
    size = int(response.headers.get("content-length") or 0)
    if size > MAX_RESPONSE_BYTES:
        raise FetchError(f"an answer of {size} bytes is over this service's limit")
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > MAX_RESPONSE_BYTES:
            raise FetchError("an answer over this service's size limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_resource(url: str, status: int, body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if status != 200:
        why = outcome_text(data) if isinstance(data, dict) else ""
        raise FetchError(f"HTTP {status} from {_origin(url)}" + (f": {why}" if why else ""))
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise FetchError(f"the answer from {_origin(url)} is not a FHIR resource")
    if data["resourceType"] == "OperationOutcome":
        raise FetchError(f"OperationOutcome: {outcome_text(data)}")
    return data


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def entries(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, dict):
            out.append(resource)
    return out


def next_link(bundle: Mapping[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, Mapping) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def outcome_text(outcome: Mapping[str, Any]) -> str:
    """What an OperationOutcome says, in one line."""
    parts = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, Mapping):
            continue
        details = issue.get("details")
        text = issue.get("diagnostics") or (
            details.get("text") if isinstance(details, Mapping) else None
        )
        parts.append(f"{issue.get('severity', '?')} {issue.get('code', '?')}: {text or ''}".strip())
    return "; ".join(parts)[:300] or "no issue given"
