"""Browser tests for the education library, the care plan download and the simulator page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import DESKTOP, PHONE, Site
from tests.browser.test_journeys import fill_emergency_check_in, sign_in


@pytest.fixture
def desktop(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=site.base_url, viewport=DESKTOP, accept_downloads=True)
    yield context
    context.close()


def test_an_article_opens_from_a_triage_result_and_the_care_plan_downloads(
    desktop: BrowserContext, site: Site
) -> None:
    page = sign_in(desktop, "margaret")
    fill_emergency_check_in(page)
    page.get_by_role("button", name="Send to my care team").click()
    expect(page.locator(".emergency-screen")).to_be_visible()
    page.get_by_text("Why am I told this?").click()
    link = page.get_by_role("link", name=re.compile(r"^Read more: .*spinal cord", re.I)).first
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(re.compile(r"/learn/[\w-]+$"))
    expect(page.locator("h1")).to_contain_text(re.compile("spinal cord", re.I))
    expect(page.locator(".references li").first).to_be_visible()  # the article shows its sources
    page.goto("/portal")
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"care plan", re.I)).first.click()
    download = download_info.value
    path = download.path()
    assert path is not None and path.read_bytes()[:5] == b"%PDF-"
    assert download.suggested_filename.endswith(".pdf")


def test_learn_search_in_a_patients_words_on_a_phone(browser: Browser, site: Site) -> None:
    context = browser.new_context(base_url=site.base_url, viewport=PHONE)
    page = context.new_page()
    page.goto("/learn")
    page.get_by_label("Ask a question").fill(
        "I'm really thirsty, sick and constipated and a bit muddled"
    )
    page.get_by_role("button", name="Search").click()
    net = page.locator("#safety-net")
    expect(net).to_be_visible()  # the triage rules' advice comes first
    first = page.locator("ol.results li").first
    expect(first.get_by_role("link")).to_have_text(re.compile("high calcium", re.I))
    assert net.bounding_box()["y"] < first.bounding_box()["y"]  # type: ignore[index]
    page.get_by_label("Ask a question").fill("what is zomita")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#corrections")).to_have_text("We read “zomita” as “zometa”.")
    page.locator("ol.results li").first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/learn/zoledronic-acid$"))
    expect(page.locator(".references li").first).to_be_visible()  # the answer cites its sources
    context.close()


def test_simulator_page_draws_the_arms_chosen(desktop: BrowserContext, site: Site) -> None:
    page = desktop.new_page()
    page.goto("/simulate")
    expect(page.locator("h1")).to_contain_text("vicious cycle")
    page.get_by_label("Arm 1").select_option("none")
    page.get_by_label("Arm 2").select_option("denosumab")
    page.get_by_label("Arm 3").select_option("")
    page.get_by_label("Arm 4").select_option("")
    page.get_by_label("Days").fill("730")
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(re.compile(r"treatment=denosumab"))
    # The page answers at once and runs the arms it has not run before one by one: wait for
    # them however busy the machine is (the runs took longer than expect's 5 s under load).
    expect(page.locator("#sim-progress")).to_have_text(re.compile("Done|^$"), timeout=120_000)
    chart = page.locator("#sim-chart .main-svg").first
    expect(chart).to_be_visible()
    legend = page.locator("#sim-chart .legendtext")
    expect(legend).to_have_text(["none", "denosumab"])
    expect(page.get_by_text("not a prediction", exact=False)).to_be_visible()
