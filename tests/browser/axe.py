"""axe-core (Deque's accessibility engine, from npm: tools/axe) run in a Playwright page.

    violations = run_axe(page)
    assert violations == [], describe(violations)

axe is loaded through the DevTools protocol (`page.evaluate`), which our Content-Security-Policy
does not govern, so the page is tested with its real CSP. It checks WCAG 2.0, 2.1 and 2.2 A and
AA and axe's best practices. Without `npm ci --prefix tools/axe` the caller's test is skipped,
unless BONEMETS_REQUIRE_BROWSER=1 (CI), where it fails.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "tools" / "axe" / "node_modules" / "axe-core"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def _source() -> str:
    path = AXE / "axe.min.js"
    if not path.is_file():
        reason = f"{path} is absent: run `npm ci --prefix tools/axe`"
        if os.environ.get("BONEMETS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (BONEMETS_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    return path.read_text(encoding="utf-8")


def run_axe(page: Page) -> list[dict[str, Any]]:
    """The axe violations of the page as it is now (each: id, impact, help, nodes ...)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_source() + "\n;undefined")
    result: dict[str, Any] = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                               resultTypes: ["violations"]});
            return {violations: r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, html: n.html,
                                           summary: n.failureSummary}))}))};
        }""",
        TAGS,
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """The violations, one line per element, for an assertion message."""
    lines = []
    for v in violations:
        for node in v["nodes"][:5]:
            where = f"{node['target']} {node['html'][:160]}"
            lines.append(f"{v['id']} ({v['impact']}): {v['help']}: {where}")
    return "\n".join(lines)


def assert_no_violations(page: Page, where: str) -> None:
    """axe-core on the page as it is now: no WCAG 2.x A/AA violation, or a message naming them."""
    violations = run_axe(page)
    assert not violations, f"axe on {where} ({page.url}):\n{describe(violations)}"
