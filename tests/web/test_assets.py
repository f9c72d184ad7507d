"""Static assets: content-hashed names cached for good, gzip when accepted, vendor files from
the installed packages (no CDN), a favicon, and the API docs pages that use them."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

from fastapi.testclient import TestClient

from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.faces.web.app import create_app
from bonemets.faces.web.assets import Assets, default_assets


def test_a_name_follows_the_content(tmp_path: Path) -> None:
    f = tmp_path / "site.css"
    f.write_text("body { color: black }")
    first = Assets({"site.css": f}).url("site.css")
    digest = hashlib.sha256(f.read_bytes()).hexdigest()[:12]
    assert first == f"/assets/site.{digest}.css"
    f.write_text("body { color: navy }")  # edited: a new name, so no browser keeps the old one
    assert Assets({"site.css": f}).url("site.css") != first


def test_assets_are_cached_for_good_and_compressed(db: Database, settings: Settings) -> None:
    client = TestClient(create_app(settings, db))
    plotly = default_assets().url("plotly.min.js")
    zipped = client.get(plotly, headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert zipped.headers["content-encoding"] == "gzip"
    assert "javascript" in zipped.headers["content-type"]
    wire = int(zipped.headers["content-length"])
    plain = client.get(plotly, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == zipped.content  # httpx decodes the gzip body
    assert wire < len(plain.content) / 3  # 4.8 MB of JavaScript goes as about 1.4 MB
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content
    # A name that is not (or no longer) an asset's: 404, never a stale file.
    assert client.get("/assets/plotly.000000000000.min.js").status_code == 404
    # The old address sends browsers to the cached one.
    old = client.get("/vendor/plotly.min.js", follow_redirects=False)
    assert old.status_code == 301 and old.headers["location"] == plotly


def test_pages_link_hashed_assets(db: Database, settings: Settings) -> None:
    client = TestClient(create_app(settings, db))
    page = client.get("/login")
    links = re.findall(r'(?:href|src)="(/assets/[^"]+)"', page.text)
    assert default_assets().url("app.css") in links
    assert default_assets().url("favicon.svg") in links
    for link in links:
        assert client.get(link).status_code == 200


def test_favicon_and_api_docs_without_a_cdn(db: Database, settings: Settings) -> None:
    client = TestClient(create_app(settings, db))
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.content.startswith(b"<svg")
    for path, needs in (
        ("/api/docs", ("swagger-ui-bundle.", "swagger-ui.", "swagger-init.")),
        ("/api/redoc", ("redoc.standalone.",)),
    ):
        page = client.get(path)
        assert page.status_code == 200
        assert "http" not in re.sub(r'(href|src|spec-url|data-openapi)="/[^"]*"', "", page.text)
        for name in needs:
            (url,) = re.findall(rf'"(/assets/{re.escape(name)}[^"]+)"', page.text)
            assert client.get(url).status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
