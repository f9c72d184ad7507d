"""Static assets under content-hashed names: `/assets/app.3f2a9c1b0d4e.css`.

A name changes whenever the content does, so a browser may keep each file for a year without
asking again (`Cache-Control: immutable`): plotly.js (4.8 MB) is fetched once per browser, not on
every patient page. Bodies are sent gzip-compressed when the browser accepts it (compressed once
per process and kept). The files: everything in `static/`, plotly.min.js from the `plotly`
package, and Swagger UI and ReDoc from the `fastapi-offline` package (no CDN, which our own CSP
would block anyway).

`/static/NAME` still serves the same files under their plain names (revalidated on each use) for
anything that links them directly.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import mimetypes
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

STATIC = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
# Below this size gzip saves next to nothing.
MIN_GZIP_BYTES = 1024
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")


@dataclass(frozen=True, slots=True)
class Asset:
    name: str  # the plain name templates ask for: "app.css", "plotly.min.js"
    path: Path
    digest: str  # the first 12 hex digits of the content's SHA-256
    media_type: str

    @property
    def hashed_name(self) -> str:
        stem, dot, suffix = self.name.rpartition(".")
        if not dot:
            return f"{self.name}.{self.digest}"
        return f"{stem}.{self.digest}.{suffix}"

    @property
    def url(self) -> str:
        return f"/assets/{self.hashed_name}"


def _package_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    return path if path.is_file() else None


def _sources() -> dict[str, Path]:
    files = {p.name: p for p in sorted(STATIC.iterdir()) if p.is_file()}
    vendor = {
        "plotly.min.js": _package_file("plotly", "package_data", "plotly.min.js"),
        "swagger-ui-bundle.js": _package_file("fastapi_offline", "static", "swagger-ui-bundle.js"),
        "swagger-ui.css": _package_file("fastapi_offline", "static", "swagger-ui.css"),
        "redoc.standalone.js": _package_file("fastapi_offline", "static", "redoc.standalone.js"),
    }
    files.update({name: path for name, path in vendor.items() if path is not None})
    return files


@cache
def _asset(name: str, path: Path, size: int, mtime_ns: int) -> Asset:
    """One file's asset (keyed by size and mtime too, so an edited file gets a new name)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type == "text/javascript":
        media_type = "application/javascript"
    return Asset(name=name, path=path, digest=digest, media_type=media_type)


class Assets:
    """The table of assets of one app."""

    def __init__(self, sources: dict[str, Path] | None = None) -> None:
        self.by_name: dict[str, Asset] = {}
        for name, path in (sources or _sources()).items():
            stat = path.stat()
            self.by_name[name] = _asset(name, path, stat.st_size, stat.st_mtime_ns)
        self.by_hashed = {a.hashed_name: a for a in self.by_name.values()}

    def url(self, name: str) -> str:
        """The content-hashed URL of `name` (a KeyError for an unknown asset: a typo in a template
        fails the first render in the tests, not silently in a browser)."""
        return self.by_name[name].url

    def warm(self) -> threading.Thread:
        """Compress every asset in a background thread, so no page waits for it."""

        def run() -> None:
            for asset in self.by_name.values():
                body(asset, compressed=True)

        thread = threading.Thread(target=run, name="assets-gzip", daemon=True)
        thread.start()
        return thread


def _compressible(asset: Asset) -> bool:
    return asset.media_type.startswith(COMPRESSIBLE)


@cache
def _raw(asset: Asset) -> bytes:
    return asset.path.read_bytes()


@cache
def _gzipped(asset: Asset) -> bytes:
    # mtime=0: the same bytes every time (no timestamp in the header).
    return gzip.compress(_raw(asset), compresslevel=6, mtime=0)


def body(asset: Asset, *, compressed: bool) -> bytes:
    if compressed and _compressible(asset) and len(_raw(asset)) >= MIN_GZIP_BYTES:
        return _gzipped(asset)  # two first callers at once may both compress: harmless
    return _raw(asset)


def _accepts_gzip(request: Request) -> bool:
    accepted = request.headers.get("accept-encoding", "")
    return any(part.split(";")[0].strip() == "gzip" for part in accepted.split(","))


def response_for(asset: Asset, request: Request, cache_control: str = IMMUTABLE) -> Response:
    gz = _accepts_gzip(request) and _compressible(asset) and len(_raw(asset)) >= MIN_GZIP_BYTES
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if gz:
        headers["Content-Encoding"] = "gzip"
    return Response(body(asset, compressed=gz), media_type=asset.media_type, headers=headers)


@cache
def default_assets() -> Assets:
    """The assets of this installation (the same for every app in the process)."""
    return Assets()


router = APIRouter(include_in_schema=False)


@router.get("/assets/{filename}")
def get_asset(filename: str, request: Request) -> Response:
    assets: Assets = request.app.state.assets
    asset = assets.by_hashed.get(filename)
    if asset is None:
        raise HTTPException(status_code=404)
    return response_for(asset, request)
