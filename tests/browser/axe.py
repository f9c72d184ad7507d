"""axe-core (Deque's accessibility engine, from npm: tools/axe) run in a page of the real app.

`run_axe(page)` loads axe.min.js into the page (Playwright's add_script_tag: the app's CSP allows
only its own scripts, and Playwright injects through the DevTools protocol, past the CSP) and
returns the violations of the WCAG 2.0/2.1/2.2 A and AA rules, each as axe reports it (id,
impact, help, nodes with their targets). `assert_no_violations` fails with a readable list.

Without `npm ci --prefix tools/axe` the tests that use it skip, unless BONEMETS_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_JS = (
    Path(__file__).resolve().parents[2]
    / "tools"
    / "axe"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_available() -> bool:
    return AXE_JS.is_file()


def _need_axe() -> None:
    if axe_available():
        return
    message = f"axe-core not installed ({AXE_JS}); run `npm ci --prefix tools/axe`"
    if os.environ.get("BONEMETS_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _load(page: Page) -> None:
    """axe.min.js into the page: as a script tag, or, where the page's CSP refuses inline
    scripts (the app's does: script-src 'self'), evaluated through DevTools, which the CSP does
    not govern. The page's own policy is left as it is, so axe sees the page as users do."""
    from playwright.sync_api import Error

    try:
        page.add_script_tag(path=str(AXE_JS))
    except Error as exc:
        if "Content Security Policy" not in str(exc):
            raise
        page.evaluate(AXE_JS.read_text("utf-8") + "\n;undefined")
    assert page.evaluate("() => typeof window.axe !== 'undefined'"), "axe-core did not load"


def run_axe(page: Page) -> list[dict[str, Any]]:
    """The axe violations of the page as it is now (WCAG 2.x A and AA rules)."""
    _need_axe()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        _load(page)
    violations: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations;
        }""",
        WCAG_AA,
    )
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [", ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])][:5]
        lines.append(f"{v['id']} ({v.get('impact')}): {v.get('help')} at {targets}")
        for node in v.get("nodes", [])[:2]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {summary[:300]}")
    return "\n".join(lines)


def assert_no_violations(page: Page, where: str) -> None:
    violations = run_axe(page)
    assert not violations, f"axe on {where} ({page.url}):\n{describe(violations)}"
