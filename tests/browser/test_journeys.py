"""End-to-end journeys in a real browser against the real server (see conftest.py):

- a patient's weekly check-in that finds an emergency, on a phone;
- the clinician's worklist, the alert acknowledged with what was done;
- a zoledronic acid dose moving the next due date; a lab with a wrong unit refused;
- the timeline chart and the skeleton map drawn; an accessibility smoke test of every page.

Screenshots go to artifacts/screenshots/ (and the worklist and patient page to docs/img/, shown in
the README).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    DOCS_IMG,
    PASSWORD,
    PHONE,
    TODAY,
    Site,
    calm_record,
)

ACTION = "Phoned at once; ambulance sent, whole-spine MRI requested"

# Every visible form control has a label (own <label>, aria-label or aria-labelledby), and the
# number of h1 elements. Hidden inputs are not controls a person fills in.
AUDIT_JS = """() => {
  const unlabelled = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    const ownLabel = [...(el.labels || [])].some((l) => l.textContent.trim() !== "");
    if (!ownLabel && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) {
      unlabelled.push(el.name || el.id || el.outerHTML.slice(0, 60));
    }
  }
  return { unlabelled, h1: document.querySelectorAll("h1").length };
}"""

NO_SIDEWAYS_SCROLL_JS = """() => {
  const d = document.documentElement;
  return { scroll: d.scrollWidth, client: d.clientWidth };
}"""


@pytest.fixture
def desktop(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=site.base_url, viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture
def phone(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=site.base_url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield context
    context.close()


def sign_in(context: BrowserContext, username: str) -> Page:
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def assert_no_sideways_scroll(page: Page, what: str) -> None:
    size = page.evaluate(NO_SIDEWAYS_SCROLL_JS)
    assert size["scroll"] <= size["client"], f"{what} scrolls sideways on a phone: {size}"


def shoot(
    page: Page, folder: Path, name: str, *, docs: bool = False, full_page: bool = False
) -> None:
    """A screenshot of the viewport (docs images: never full-page, they stay small)."""
    assert not (docs and full_page)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if docs and os.environ.get("BONEMETS_UPDATE_DOCS_IMAGES") == "1":  # refresh README images
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMG / f"{name}.png")


def open_area(page: Page, symptom_label: str) -> None:
    """Open the body area holding a symptom (step 1 shows one area at a time)."""
    box = page.get_by_label(symptom_label, exact=True)
    area = page.locator("details.area").filter(has=box)
    if area.get_attribute("open") is None:
        area.locator("summary").click()


def tick(page: Page, symptom_label: str) -> None:
    open_area(page, symptom_label)
    page.get_by_role("checkbox", name=symptom_label, exact=True).check()


def fill_emergency_check_in(page: Page, *, shots: Path | None = None) -> None:
    """From the portal: tick leg weakness and back pain, then fill in the details step."""
    # A check-in left unsent (an earlier test's) is offered to carry on with, at step 2.
    start = re.compile(r"^(Start my weekly check-in|Carry on with my check-in)$")
    page.get_by_role("link", name=start).click()
    if page.url.endswith("/details"):
        page.goto("/portal/check-in")
    expect(page).to_have_url(re.compile(r"/portal/check-in$"))
    if shots is not None:
        assert_no_sideways_scroll(page, "the check-in")
        shoot(page, shots, "check-in-phone", full_page=True)
    tick(page, "Weakness in arms or legs")
    tick(page, "Back or neck pain")
    page.get_by_role("button", name="Next").click()
    # Leg weakness calls for the team at once: filed, and the emergency advice shown before any
    # detail is asked; the details follow if the patient can give them.
    expect(page.locator(".emergency-screen")).to_be_visible()
    page.get_by_role("link", name="When you can: tell us a little more").click()
    weakness = page.locator("#s-limb_weakness")
    weakness.get_by_label("Severe", exact=True).check()
    weakness.get_by_label("Where?").select_option("legs")
    weakness.get_by_label("Or say how long in your own words").fill("2 days")
    weakness.get_by_label(re.compile(r"^Is it")).select_option("worse")
    back = page.locator("#s-back_pain")
    back.get_by_label("Severe", exact=True).check()
    back.get_by_label("Where?").select_option("mid_back")
    back.get_by_label("worse at night").check()
    if shots is not None:
        assert_no_sideways_scroll(page, "the check-in details")
        shoot(page, shots, "check-in-details-phone", full_page=True)


def open_patient(page: Page, site: Site) -> None:
    page.goto(f"/patients/{site.patient_id}")
    expect(page.locator("h1")).to_contain_text(site.patient_name)


def test_emergency_check_in_reaches_the_top_of_the_worklist_and_is_acknowledged(
    phone: BrowserContext, desktop: BrowserContext, site: Site, screenshots: Path
) -> None:
    # a. The patient, on a phone: check-in, then the emergency screen before anything else.
    patient = sign_in(phone, "margaret")
    expect(patient).to_have_url(re.compile(r"/portal$"))
    expect(patient.locator("h1")).to_have_text("Hello Margaret")
    fill_emergency_check_in(patient, shots=screenshots)
    patient.get_by_role("button", name="Send to my care team").click()
    expect(patient).to_have_url(re.compile(r"/portal/reports/\d+$"))

    panel = patient.locator("main > .emergency-screen")
    expect(panel).to_be_visible()
    expect(panel.locator("h1")).to_have_text("Call the emergency number now")
    for number in ("999", "911", "112"):  # tap-to-call links
        expect(panel.locator(f'a.tel[href="tel:{number}"]')).to_have_text(number)
    expect(panel).to_contain_text("Possible spinal cord compression")
    expect(panel).to_contain_text("We have also sent an alert to your care team.")
    first = patient.evaluate("() => document.querySelector('main').firstElementChild.className")
    assert first == "emergency-screen"
    box = panel.bounding_box()
    assert box is not None
    assert box["y"] < 0.2 * PHONE["height"], box  # at the top, under the header only
    assert box["height"] >= 0.6 * PHONE["height"], box  # most of the screen
    assert box["width"] >= 0.9 * PHONE["width"], box
    assert_no_sideways_scroll(patient, "the result page")
    headline = patient.locator("#result h2").inner_text()
    assert headline.startswith("Possible spinal cord compression")
    shoot(patient, screenshots, "emergency-phone")
    shoot(patient, screenshots, "result-phone-full", full_page=True)

    # b. The clinician: the patient at the top of the worklist, with an Emergency pill.
    nurse = sign_in(desktop, "nurse")
    expect(nurse).to_have_url(re.compile(r"/worklist$"))
    rows = nurse.locator("table.worklist tbody tr")
    expect(rows).to_have_count(1 + len(site.others))
    top = rows.first
    expect(top).to_have_attribute("data-patient", site.patient_id)
    expect(top.locator(".pill").first).to_have_text("Emergency")
    expect(top).to_contain_text(site.patient_name)
    # The reason in clinicians' words: what the rule is about, then the inputs; not the
    # patient's instruction, with the report's age and the patient's own words.
    why = top.locator(".why")
    expect(why).to_contain_text("Possible spinal cord compression: limb weakness (legs; severity 3")
    expect(why).not_to_contain_text("call the emergency number")
    expect(why.locator(".report-age")).to_contain_text(re.compile(r"just now|min ago"))
    levels = [rows.nth(i).locator(".pill").first.inner_text() for i in range(rows.count())]
    assert levels == ["Emergency", "Urgent", "Soon", "Routine"]
    expect(nurse.locator(".counts")).to_contain_text("Emergency: 1")
    shoot(nurse, screenshots, "worklist", docs=True)

    top.get_by_role("link", name=site.patient_name).click()
    expect(nurse).to_have_url(re.compile(rf"/patients/{site.patient_id}$"))
    alerts = nurse.locator("#alerts")
    expect(alerts.locator("h2")).to_have_text("Alerts to acknowledge")
    alert = alerts.locator("article.alert", has_text="mscc.neurological").first
    expect(alert.locator(".pill").first).to_have_text("Emergency")
    expect(alert).to_contain_text("mscc.neurological")
    alert_id = alert.get_attribute("data-alert")
    shoot(nurse, screenshots, "patient", docs=True)
    shoot(nurse, screenshots, "patient-full", full_page=True)

    alert.get_by_label("What was done").fill(ACTION)
    alert.get_by_role("button", name="Acknowledge").click()
    expect(nurse.locator(".flash")).to_have_text("Alert acknowledged.")
    expect(nurse.locator(f'#alerts article[data-alert="{alert_id}"]')).to_have_count(0)
    done = nurse.locator("#alerts details")
    done.locator("summary").click()
    item = done.locator("li", has_text=ACTION)
    expect(item).to_contain_text("limb weakness (legs; severity 3")
    expect(item).to_contain_text("Nurse Demo")
    nurse.goto("/worklist")
    row = nurse.locator(f'tr[data-patient="{site.patient_id}"]')
    expect(row.locator('td[data-label="Alerts"]')).to_have_text("")


def test_recording_a_dose_moves_the_next_due_date(desktop: BrowserContext, site: Site) -> None:
    # c. The plan: zoledronic acid every 4 weeks; a dose today is next due 4 weeks on.
    plan = calm_record(site.patient_id).bma_plans[-1]
    assert plan.agent == "zoledronic_acid" and plan.interval_weeks is not None
    given = TODAY
    expected = given + dt.timedelta(weeks=plan.interval_weeks)
    nurse = sign_in(desktop, "nurse")
    open_patient(nurse, site)
    before = nurse.locator("#next-due").inner_text()
    assert before != expected.isoformat()
    form = nurse.locator("form#bma_dose")
    form.get_by_label("Agent").select_option("zoledronic_acid")
    form.get_by_label("Date").fill(given.isoformat())
    form.get_by_label("Dose (mg)").fill("3.5")
    form.get_by_label("Route").select_option("iv")
    form.get_by_role("button", name="Record dose").click()
    # The flash may go on to say an alert was opened: the session's site is shared, and a test
    # run before this one in the same worker may have left a red flag open on this patient.
    expect(nurse.locator(".flash")).to_contain_text(
        f"Saved bma dose. Next dose due {expected.isoformat()}."
    )
    expect(nurse.locator("#next-due")).to_have_text(expected.isoformat())
    facts = nurse.locator("#bma dl.facts")
    expect(facts).to_contain_text(f"every {int(plan.interval_weeks)} weeks")
    expect(facts).to_contain_text(given.isoformat())  # the last dose


def _creatinine_count(page: Page, site: Site) -> int:
    record: dict[str, Any] = page.request.get(f"/api/patients/{site.patient_id}/record").json()
    return sum(1 for lab in record["labs"] if lab["code"] == "creatinine")


def test_a_lab_with_a_wrong_unit_is_refused_naming_the_field(
    desktop: BrowserContext, site: Site
) -> None:
    # d. Creatinine in mmol/L (it is umol/L or mg/dL): a clear message, nothing stored.
    nurse = sign_in(desktop, "nurse")
    open_patient(nurse, site)
    stored = _creatinine_count(nurse, site)
    form = nurse.locator("form#lab")
    form.get_by_label("Test").select_option("creatinine")
    form.get_by_label("Value").fill("1.1")
    form.get_by_label("Unit").fill("mmol/L")
    form.get_by_label("Date").fill((TODAY - dt.timedelta(days=1)).isoformat())
    with nurse.expect_response(lambda r: r.request.method == "POST") as answer:
        form.get_by_role("button", name="Record result").click()
    assert answer.value.status == 422
    error = nurse.locator("form#lab .error")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("unit")
    expect(error).to_contain_text("mmol/L")
    expect(error).to_contain_text("creatinine")
    expect(error).to_contain_text("umol/L")
    expect(nurse.locator(".flash")).to_have_count(0)
    assert _creatinine_count(nurse, site) == stored


def test_timeline_chart_is_drawn_by_plotly_served_from_the_site(
    desktop: BrowserContext, site: Site
) -> None:
    # f. Plotly from the site (no CDN), under a content-hashed name cached for good, draws the
    # timeline without script errors.
    nurse = sign_in(desktop, "nurse")
    requested: list[str] = []
    problems: list[str] = []
    nurse.on("request", lambda r: requested.append(r.url))
    nurse.on("pageerror", lambda e: problems.append(str(e)))
    nurse.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    with nurse.expect_response(lambda r: "/assets/plotly.min." in r.url) as plotly:
        open_patient(nurse, site)
    assert plotly.value.status == 200
    assert "javascript" in plotly.value.headers["content-type"]
    assert "immutable" in plotly.value.headers["cache-control"]
    nurse.wait_for_load_state("load")  # the deferred scripts have run
    outside = [u for u in requested if not u.startswith(site.base_url)]
    assert outside == [], f"requests leave the site (CDN?): {outside}"
    assert problems == [], f"script errors on the patient page: {problems}"
    expect(nurse.locator("#timeline-chart .main-svg").first).to_be_visible(timeout=10_000)
    traces = nurse.locator("#timeline-chart .scatterlayer .trace").count()
    assert traces >= 1, "the chart has no traces"


def test_skeleton_map_has_one_marker_per_lesion(
    desktop: BrowserContext, site: Site, screenshots: Path
) -> None:
    nurse = sign_in(desktop, "nurse")
    open_patient(nurse, site)
    markers = nurse.locator("#skeleton svg.bm-skeleton g.lesions > g.lesion")
    expect(markers).to_have_count(site.lesions)
    sites = sorted(markers.nth(i).get_attribute("data-site") or "" for i in range(site.lesions))
    assert sites == ["T12", "femur_peritrochanteric", "rib"]
    expect(nurse.locator("#skeleton table tr")).to_have_count(site.lesions)
    nurse.locator("#skeleton .skeleton-wrap").screenshot(path=str(screenshots / "skeleton.png"))


# g. Accessibility smoke test: every page reached by its own steps from a fresh sign-in.
def _login(page: Page) -> None:
    page.goto("/login")


def _portal(page: Page) -> None:
    page.goto("/portal")


def _check_in(page: Page) -> None:
    page.goto("/portal/check-in")


def _details(page: Page) -> None:
    page.goto("/portal")
    fill_emergency_check_in(page)  # the details step, filled in, not sent


def _result(page: Page) -> None:
    page.goto("/portal")
    page.locator(".history a").first.click()


def _worklist(page: Page) -> None:
    page.goto("/worklist")


def _patient(page: Page, site: Site) -> None:
    open_patient(page, site)


PAGES = [
    pytest.param("login", None, _login, id="login"),
    pytest.param("portal", "margaret", _portal, id="portal"),
    pytest.param("check-in", "margaret", _check_in, id="check-in"),
    pytest.param(
        "details",
        "margaret",
        _details,
        id="check-in-details",
    ),
    pytest.param("worklist", "nurse", _worklist, id="worklist"),
    pytest.param("patient", "nurse", _patient, id="patient"),
]


@pytest.mark.parametrize(("name", "user", "go"), PAGES)
def test_accessibility_smoke(
    desktop: BrowserContext, site: Site, name: str, user: str | None, go: Any
) -> None:
    page = sign_in(desktop, user) if user else desktop.new_page()
    if go is _patient:
        go(page, site)
    else:
        go(page)
    found = page.evaluate(AUDIT_JS)
    assert found["h1"] == 1, f"{name}: {found['h1']} h1 elements"
    assert found["unlabelled"] == [], f"{name}: form controls without a label"
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_emergency_result_page_has_a_single_h1(phone: BrowserContext, site: Site) -> None:
    page = sign_in(phone, "margaret")
    if page.locator(".history a").count() == 0:  # run alone: make the emergency report first
        fill_emergency_check_in(page)
        page.get_by_role("button", name="Send to my care team").click()
    else:
        _result(page)
    expect(page.locator(".emergency-screen")).to_be_visible()
    found = page.evaluate(AUDIT_JS)
    assert found["unlabelled"] == []
    assert found["h1"] == 1, f"{found['h1']} h1 elements"
