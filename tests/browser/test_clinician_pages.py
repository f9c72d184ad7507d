"""The clinician's pages in a real Chromium: axe-core finds no violation on any of them, on a
desktop and on a phone; each answers within its budget; the worklist reads as cards on a phone.

Page budgets (issue 19): time to first byte under 200 ms and load under 1 s on the development
machine, for every page but the simulator's first run. The machine running the tests is shared
(2 cores, other suites at once), so the figures are measured and reported, and the assertions
allow a generous multiple (BUDGET_SLACK) of the targets: a page that regresses to the seconds
it took before (1.5-4.6 s for the patient page, 7 s to the simulator's first byte) fails, a busy
machine does not. `bench/pages.py` gives the precise figures on a quiet machine.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.axe import describe, run_axe
from tests.browser.conftest import PHONE, Site
from tests.browser.test_journeys import assert_no_sideways_scroll, open_patient, sign_in

TTFB_TARGET_MS = 200
LOAD_TARGET_MS = 1000
BUDGET_SLACK = float(os.environ.get("BONEMETS_PAGE_BUDGET_SLACK", "5"))

TIMING_JS = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {ttfb: n.responseStart - n.requestStart, load: n.loadEventEnd - n.startTime,
          transferred: performance.getEntriesByType("resource")
                         .reduce((sum, r) => sum + (r.transferSize || 0), n.transferSize || 0)};
}"""


def _worklist(page: Page, site: Site) -> None:
    page.goto("/worklist")


def _patient(page: Page, site: Site) -> None:
    open_patient(page, site)


def _simulator(page: Page, site: Site) -> None:
    page.goto("/simulate")
    expect(page.locator("#sim-chart .main-svg").first).to_be_visible(timeout=60_000)


def _learn(page: Page, site: Site) -> None:
    page.goto("/learn")


def _article(page: Page, site: Site) -> None:
    page.goto("/learn")
    page.locator("main a[href^='/learn/']").first.click()
    page.wait_for_load_state()


def _account(page: Page, site: Site) -> None:
    page.goto("/account")


def _api_docs(page: Page, site: Site) -> None:
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title").first).to_be_visible(timeout=30_000)


CLINICIAN_PAGES: list[Any] = [
    pytest.param(_worklist, id="worklist"),
    pytest.param(_patient, id="patient"),
    pytest.param(_simulator, id="simulator"),
    pytest.param(_learn, id="learn"),
    pytest.param(_article, id="learn-article"),
    pytest.param(_account, id="account"),
]


@pytest.mark.parametrize("go", CLINICIAN_PAGES)
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_axe_finds_no_violation(
    request: pytest.FixtureRequest, device: str, go: Callable[[Page, Site], None], site: Site
) -> None:
    context: BrowserContext = request.getfixturevalue(device)
    page = sign_in(context, "nurse")
    go(page, site)
    page.wait_for_load_state("load")
    violations = run_axe(page)
    assert violations == [], describe(violations)


def test_axe_on_the_sign_in_page(desktop: BrowserContext) -> None:
    page = desktop.new_page()
    page.goto("/login")
    violations = run_axe(page)
    assert violations == [], describe(violations)


def _timed(page: Page, url: str) -> dict[str, float]:
    page.goto(url)
    page.wait_for_load_state("load")
    timing: dict[str, float] = page.evaluate(TIMING_JS)
    return timing


def test_pages_answer_within_their_budgets(desktop: BrowserContext, site: Site) -> None:
    page = sign_in(desktop, "nurse")
    urls = {
        "worklist": "/worklist",
        "patient": f"/patients/{site.patient_id}",
        "simulator (default run)": "/simulate",
        "learn": "/learn",
        "account": "/account",
        "api docs": "/api/docs",
    }
    for url in urls.values():  # first views: the browser fetches and caches the assets
        _timed(page, url)
    # The median of three views each: one view that waited on another suite's work is noise.
    figures = {}
    for name, url in urls.items():
        views = [_timed(page, url) for _ in range(3)]
        figures[name] = {k: statistics.median(v[k] for v in views) for k in views[0]}
    report = "\n".join(
        f"  {name:<24} TTFB {f['ttfb']:6.0f} ms  load {f['load']:6.0f} ms  "
        f"transferred {f['transferred'] / 1024:7.1f} KB"
        for name, f in figures.items()
    )
    targets = f"targets: TTFB {TTFB_TARGET_MS} ms, load {LOAD_TARGET_MS} ms"
    print(f"\npage figures ({targets}):\n{report}")
    slow = [
        name
        for name, f in figures.items()
        if f["ttfb"] > BUDGET_SLACK * TTFB_TARGET_MS or f["load"] > BUDGET_SLACK * LOAD_TARGET_MS
    ]
    assert slow == [], f"over {BUDGET_SLACK}x the budget:\n{report}"
    # A second view sends no asset again (content-hashed names, cached for good): only the
    # page itself and the data it asks for cross the network.
    patient = figures["patient"]
    assert patient["transferred"] < 200 * 1024, report


def test_the_simulator_answers_before_its_runs(desktop: BrowserContext, site: Site) -> None:
    page = desktop.new_page()
    timing = _timed(page, "/simulate?treatment=none&treatment=anti-tumour&days=1000")
    assert timing["ttfb"] < BUDGET_SLACK * TTFB_TARGET_MS, timing  # no run before the answer
    progress = page.locator("#sim-progress")
    expect(progress).to_have_text("Done.", timeout=120_000)
    expect(page.locator("#sim-chart .legendtext")).to_have_text(["none", "anti-tumour"])
    bad = page.goto("/simulate?treatment=none&treatment=unobtainium")
    assert bad is not None and bad.status == 422
    expect(page.get_by_role("alert")).to_contain_text("unknown treatment")


def test_worklist_is_cards_on_a_phone(phone: BrowserContext, site: Site) -> None:
    page = sign_in(phone, "nurse")
    page.goto("/worklist")
    assert_no_sideways_scroll(page, "the worklist")
    first = page.locator("table.worklist tbody tr").first
    box = first.bounding_box()
    assert box is not None and box["width"] > PHONE["width"] * 0.8  # a card across the screen
    # Each cell says what it is (the header row is hidden on a phone).
    labels = first.locator("td[data-label]")
    assert labels.count() >= 3
    expect(first.locator("td").first).to_be_visible()
    assert re.search(r"\S", first.inner_text())


def test_a_refused_lab_keeps_its_values_and_opens_at_the_error(
    desktop: BrowserContext, site: Site
) -> None:
    page = sign_in(desktop, "nurse")
    # A synthetic patient whose alerts were settled when seeded (the shared site's main patient
    # was not: any save on her raises her standing pathway alerts, which later tests count).
    other = sorted(site.others)[0]
    page.goto(f"/patients/{other}")
    lab = page.locator("form#lab")
    lab.get_by_label("Test").select_option("calcium_total")
    lab.get_by_label("Value").fill("2.4")
    lab.get_by_label("Unit").fill("furlongs")
    # Years before the record's other results: never the latest, so saving it changes no
    # level or alert that the other browser tests (one shared site) read.
    lab.get_by_label("Date").fill("2019-01-15")
    lab.get_by_role("button", name="Record result").click()
    page.wait_for_load_state()
    lab = page.locator("form#lab")
    unit = lab.get_by_label("Unit")
    # The error at the field, the field focused (so the page opened there), nothing retyped.
    expect(unit).to_have_attribute("aria-invalid", "true")
    expect(unit).to_be_focused()
    expect(unit).to_have_value("furlongs")
    expect(lab.get_by_label("Value")).to_have_value("2.4")
    expect(lab.get_by_label("Test")).to_have_value("calcium_total")
    expect(lab.locator(".field-error")).to_contain_text("unit")
    assert page.evaluate("window.scrollY") > 500  # not the top of the page
    # The lab's date is the lab form's: the dose form is left empty.
    expect(page.locator("form#bma_dose").get_by_label("Date")).to_have_value("")
    # Corrected and saved: the confirmation is in the form just used, in view.
    unit.fill("mmol/L")
    lab.get_by_role("button", name="Record result").click()
    flash = page.locator("form#lab .flash")
    expect(flash).to_contain_text("Saved lab")
    expect(flash).to_be_in_viewport()
