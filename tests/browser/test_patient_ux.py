"""The patient's experience on a phone (390x844) in real Chromium (issue 20): the check-in walked
fine, with one symptom, with an emergency, left and taken up again, by keyboard alone and at 200%
zoom; the calendar subscription fetched without a cookie; and axe-core on every patient page
with no WCAG 2.x A/AA violation.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.axe import assert_no_violations
from tests.browser.conftest import PHONE, Site
from tests.browser.test_journeys import assert_no_sideways_scroll, sign_in, tick

ZOOMED = {"width": 195, "height": 422}  # a 390x844 phone at 200% zoom, in CSS pixels
CLINICIAN_WORDS = re.compile(
    r"NICE|CTCAE|MRI|seed:|nice-|\[U\]|\[P\]|unverified|project policy|mscc\.|_pain|_urine|10\*9"
)


def focusables_before(page: Page, selector: str) -> list[str]:
    """The text of each tab stop before the element `selector`, in document order."""
    texts: list[str] = page.evaluate(
        """(sel) => {
            const target = document.querySelector(sel);
            const all = Array.from(document.querySelectorAll(
                'a[href], button, input:not([type=hidden]), select, textarea, summary'));
            const out = [];
            for (const el of all) {
                if (el === target) break;
                if (el.tabIndex < 0 || el.offsetParent === null) continue;
                out.push(el.innerText || el.value || el.name);
            }
            return out;
        }""",
        selector,
    )
    return texts


def test_fine_this_week_is_the_first_choice_and_one_tap(phone: BrowserContext) -> None:
    page = sign_in(phone, "fiona")
    assert_no_violations(page, "the portal home")
    page.get_by_role("link", name="Start my weekly check-in").click()
    expect(page).to_have_url(re.compile(r"/portal/check-in$"))
    assert_no_violations(page, "the check-in")
    assert_no_sideways_scroll(page, "the check-in")
    # No destructive control before the questions: "Sign out" is not a tab stop before them.
    before = focusables_before(page, "button.fine")
    assert not [t for t in before if "sign out" in t.lower()], before
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(
        0
    )  # it saves first
    # The first question is the fine button; the symptoms wait, closed, by body area.
    expect(page.locator("details.area[open]")).to_have_count(0)
    page.get_by_role("button", name="I’m fine this week").click()
    expect(page).to_have_url(re.compile(r"/portal/reports/\d+$"))
    expect(page.locator("#result")).to_contain_text("Monday 23 November")
    assert_no_violations(page, "a fine result")
    page.goto("/portal")
    expect(page.locator(".history li").first).to_contain_text("Monday 23 November")


def test_one_symptom_with_its_pro_ctcae_questions_and_a_duration_in_words(
    phone: BrowserContext,
) -> None:
    page = sign_in(phone, "una")
    page.goto("/portal/check-in")
    tick(page, "Pain in a bone")
    expect(page.locator("#help-bone_pain")).to_contain_text("deep in a bone")
    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(r"/portal/check-in/details$"))
    bone = page.locator("#s-bone_pain")
    # Asked only for the symptom there: severity, the 0-10 pain score, how often, interference.
    expect(bone.get_by_role("group", name="At its worst, how bad is it?")).to_be_visible()
    expect(bone.locator(".pain-score label.choice")).to_have_count(11)
    assert_no_violations(page, "the check-in details")
    assert_no_sideways_scroll(page, "the check-in details")
    bone.get_by_label("Moderate", exact=True).check()
    bone.locator(".pain-score").get_by_label("6", exact=True).check()
    bone.get_by_label("Frequently", exact=True).check()
    bone.get_by_label("Somewhat", exact=True).check()
    bone.get_by_label("Where?").select_option("pelvis_hip")
    expect(bone.get_by_label("Where?")).to_contain_text("Hip or pelvis")
    # Words the app cannot read are refused in plain words, and nothing typed is lost.
    bone.get_by_label(re.compile("Or say how long")).fill("since the summer fete")
    page.get_by_role("button", name="Send to my care team").click()
    error = page.locator("#error")
    expect(error).to_contain_text("how long")
    expect(error).to_contain_text("Pain in a bone")
    expect(error).not_to_contain_text("symptoms[")
    expect(bone.get_by_label("Moderate", exact=True)).to_be_checked()
    bone = page.locator("#s-bone_pain")
    bone.get_by_label(re.compile("Or say how long")).fill("2 weeks")
    page.get_by_role("button", name="Send to my care team").click()
    expect(page).to_have_url(re.compile(r"/portal/reports/\d+$"))
    result = page.locator("#result")
    expect(result.locator(".pill")).to_have_text("Soon")  # bone pain for 2 weeks
    page.get_by_text("Why am I told this?").click()
    why = result.locator("ul.why")
    expect(why).to_contain_text("Bone pain that lasts")
    assert not CLINICIAN_WORDS.search(result.inner_text()), result.inner_text()
    assert_no_violations(page, "a 'soon' result")


def test_an_emergency_at_step_one_shows_what_to_do_at_once(phone: BrowserContext) -> None:
    page = sign_in(phone, "emma")
    page.goto("/portal/check-in")
    tick(page, "Numbness, tingling or pins and needles")
    expect(page.locator("#help-numbness_tingling")).to_contain_text("saddle")
    page.get_by_role("checkbox", name="Numbness, tingling or pins and needles").uncheck()
    tick(page, "Loss of bowel control")
    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(r"/portal/reports/\d+\?partial=1$"))
    screen = page.locator(".emergency-screen")
    expect(screen).to_contain_text("Call the emergency number now")
    expect(screen.locator('a.tel[href="tel:999"]')).to_be_visible()
    assert not CLINICIAN_WORDS.search(page.locator("main").inner_text())
    assert_no_violations(page, "the emergency screen")
    page.get_by_role("link", name="When you can: tell us a little more").click()
    expect(page.locator("#early")).to_contain_text("already been sent")
    assert_no_violations(page, "the details after an emergency")


def test_answers_are_kept_when_the_patient_signs_out_and_comes_back(
    phone: BrowserContext, browser: Browser, site: Site
) -> None:
    page = sign_in(phone, "leah")
    page.goto("/portal/check-in")
    tick(page, "Tiredness")
    page.get_by_role("button", name="Next").click()
    tired = page.locator("#s-fatigue")
    tired.get_by_label("Severe", exact=True).check()
    with page.expect_response(re.compile(r"/portal/check-in/save$")):
        tired.get_by_label(re.compile("Or say how long")).fill("since Monday")
    page.get_by_label("Anything else you want the team to know?").fill("Sleeping a lot")
    # Signing out on the check-in saves first (never a silent loss).
    page.get_by_role("button", name="Save my answers and sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    again = browser.new_context(base_url=site.base_url, viewport=PHONE, is_mobile=True)
    try:
        back = sign_in(again, "leah")
        back.goto("/portal")
        back.get_by_role("link", name="Carry on with my check-in").click()
        tired = back.locator("#s-fatigue")
        expect(tired.get_by_label("Severe", exact=True)).to_be_checked()
        expect(tired.get_by_label(re.compile("Or say how long"))).to_have_value("since Monday")
        expect(back.get_by_label("Anything else you want the team to know?")).to_have_value(
            "Sleeping a lot"
        )
        back.get_by_role("button", name="Send to my care team").click()
        expect(back).to_have_url(re.compile(r"/portal/reports/\d+$"))
        back.goto("/portal")
        expect(back.get_by_role("link", name="Start my weekly check-in")).to_be_visible()
    finally:
        again.close()


def _tab_to(page: Page, predicate_js: str, limit: int = 120) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return {predicate_js}; }}"):
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", "the focused control shows no focus ring"
            return
    raise AssertionError(f"never reached {predicate_js}")


def test_keyboard_only_walk_of_the_check_in(phone: BrowserContext) -> None:
    page = sign_in(phone, "cara")
    page.goto("/portal/check-in")
    _tab_to(page, "el.tagName === 'SUMMARY' && el.innerText.startsWith('Thirst')")
    page.keyboard.press("Enter")
    _tab_to(page, "el.value === 'fatigue'")
    page.keyboard.press("Space")
    _tab_to(page, "el.tagName === 'BUTTON' && el.innerText === 'Next'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/portal/check-in/details$"))
    _tab_to(page, "el.name === 'fatigue.severity'")
    page.keyboard.press("ArrowRight")  # from Mild to Moderate, as radio groups move
    expect(page.locator("#s-fatigue").get_by_label("Moderate", exact=True)).to_be_checked()
    _tab_to(page, "el.name === 'fatigue.duration_text'")
    page.keyboard.type("3 days")
    _tab_to(page, "el.tagName === 'BUTTON' && el.innerText.startsWith('Send')")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/portal/reports/\d+$"))


def test_the_check_in_at_200_percent_zoom(browser: Browser, site: Site) -> None:
    context = browser.new_context(
        base_url=site.base_url, viewport=ZOOMED, is_mobile=True, has_touch=True
    )
    try:
        page = sign_in(context, "kate")
        page.goto("/portal/check-in")
        assert_no_sideways_scroll(page, "the check-in at 200%")
        tick(page, "Pain in a bone")
        for control in page.locator("details.area[open] label.tick, button.fine").all():
            box = control.bounding_box()
            assert box is not None and box["height"] >= 44, (control.inner_text(), box)
        page.get_by_role("button", name="Next").click()
        assert_no_sideways_scroll(page, "the check-in details at 200%")
        for control in page.locator("#s-bone_pain label.choice").all():
            box = control.bounding_box()
            assert box is not None and box["height"] >= 44 and box["width"] >= 44, box
        page.locator("#s-bone_pain").get_by_label("Mild", exact=True).check()
        page.get_by_role("button", name="Send to my care team").click()
        expect(page).to_have_url(re.compile(r"/portal/reports/\d+$"))
        assert_no_sideways_scroll(page, "the result at 200%")
    finally:
        context.close()


def test_calendar_subscription_works_without_a_cookie_and_can_be_revoked(
    phone: BrowserContext, browser: Browser, site: Site
) -> None:
    page = sign_in(phone, "zoe")
    page.get_by_role("link", name=re.compile("in my calendar")).click()
    expect(page).to_have_url(re.compile(r"/portal/calendar$"))
    assert_no_violations(page, "the calendar page")
    page.get_by_role("button", name="Make my calendar link").click()
    link = page.get_by_label("Link").input_value()
    assert link.startswith("https://bonemets.hospital.test/calendar/") and link.endswith(".ics")
    assert_no_violations(page, "the calendar page with its new link")
    path = link.removeprefix("https://bonemets.hospital.test")

    app = browser.new_context(base_url=site.base_url)  # a calendar app: no cookie at all
    try:
        assert app.cookies() == []
        feed = app.request.get(path, max_redirects=0)
        assert feed.status == 200, feed.status
        assert feed.headers["content-type"].startswith("text/calendar")
        body = feed.text()
        assert "RRULE:FREQ=WEEKLY" in body and "Weekly check-in" in body
        assert "Zoe" not in body  # dates and what they are for, no name
        # Revoked: the same link answers 404, as an unknown one does.
        page.get_by_role("button", name="Stop my calendar link").click()
        expect(page.locator("[role=status]")).to_contain_text("stopped")
        assert app.request.get(path, max_redirects=0).status == 404
        assert app.request.get("/calendar/" + "x" * 43 + ".ics").status == 404
    finally:
        app.close()


def test_axe_finds_nothing_on_any_page_a_patient_sees(phone: BrowserContext) -> None:
    """Every page of the portal, with an Urgent and a Soon badge on it, and the pages a patient
    reaches from it (learn, account)."""
    page = sign_in(phone, "ivy")
    page.goto("/portal/check-in")
    tick(page, "Shortness of breath")
    page.get_by_role("button", name="Next").click()
    if "/portal/reports/" not in page.url:  # not filed at step 1: give the details
        page.locator("#s-shortness_of_breath").get_by_label("Moderate", exact=True).check()
        page.get_by_role("button", name="Send to my care team").click()
    expect(page.locator("#result .pill")).to_have_text("Urgent")
    badge = page.locator("#result .pill")
    colour = badge.evaluate("el => getComputedStyle(el).color")
    assert colour == "rgb(178, 60, 10)", colour  # #b23c0a: 5.9:1 on white
    assert_no_violations(page, "an urgent result")
    page.goto("/portal/check-in")
    tick(page, "Pain in the thigh, hip or groin")
    page.get_by_role("button", name="Next").click()
    if "/portal/reports/" not in page.url:
        page.locator("#s-thigh_hip_groin_pain").get_by_label("Mild", exact=True).check()
        page.get_by_role("button", name="Send to my care team").click()
    # The focus ring on the dark header: yellow, 9.4:1 on #22303c (the blue one was 2.1:1).
    page.goto("/portal")
    _tab_to(page, "el.tagName === 'A' && el.innerText === 'My care'")
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineColor")
    assert ring == "rgb(255, 210, 77)", ring
    soon = page.evaluate(
        """() => { const el = document.createElement("span"); el.className = "pill soon";
                   document.querySelector("main").append(el);
                   return getComputedStyle(el).color; }"""
    )
    assert soon == "rgb(138, 90, 0)", soon  # #8a5a00: 5.9:1 on white (was 3.25:1)
    page.reload()
    for path in ["/portal", "/portal/check-in", "/portal/calendar", "/portal/results", "/account",
                 "/learn"]:  # fmt: skip
        page.goto(path)
        assert_no_violations(page, path)
    page.goto("/learn")
    page.locator("main a[href^='/learn/']").first.click()
    assert_no_violations(page, "an article")


def test_my_symptoms_and_results_in_the_units_i_choose(phone: BrowserContext) -> None:
    """Nora's record (the calm example): creatinine 1.0 mg/dL on 20 September and 0.9 mg/dL on
    20 November (88 and 79.6 umol/L); calcium 2.35 mmol/L with albumin 40 g/L (adjusted: 2.35)."""
    page = sign_in(phone, "nora")
    page.goto("/portal/check-in")
    tick(page, "Pain in a bone")
    page.get_by_role("button", name="Next").click()
    bone = page.locator("#s-bone_pain")
    bone.get_by_label("Mild", exact=True).check()
    bone.locator(".pain-score").get_by_label("4", exact=True).check()
    page.get_by_role("button", name="Send to my care team").click()
    expect(page).to_have_url(re.compile(r"/portal/reports/\d+$"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My results").click()
    expect(page).to_have_url(re.compile(r"/portal/results$"))
    assert_no_violations(page, "my symptoms and results")
    assert_no_sideways_scroll(page, "my symptoms and results")
    grid = page.get_by_role("region", name="How bad each symptom was at each check-in")
    expect(grid.get_by_role("row", name=re.compile("Pain in a bone"))).to_contain_text("Mild")
    expect(page.get_by_role("img", name=re.compile("My pain score"))).to_be_visible()
    kidney = page.locator("article.result", has_text="Kidney test")
    expect(kidney).to_contain_text("Latest: 79.6 µmol/L on Friday 20 November")
    chart = kidney.get_by_role("img", name="Kidney test (creatinine) over time, in µmol/L")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 300  # type: ignore[index]  # fills a phone's card
    page.get_by_label("Show my results in").select_option("conventional")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("units you chose")
    kidney = page.locator("article.result", has_text="Kidney test")
    expect(kidney).to_contain_text("Latest: 0.9 mg/dL")
    kidney.get_by_text("All 2 results").click()
    expect(kidney.locator("table.results tbody tr")).to_have_count(2)
    expect(kidney.locator("table.results tbody tr").last).to_contain_text("1 mg/dL")
    calcium = page.locator("article.result", has_text="Calcium")
    expect(calcium).to_contain_text("Latest: 9.42 mg/dL")  # 2.35 / 0.249501
    assert_no_violations(page, "my results in mg/dL")
