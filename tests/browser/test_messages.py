"""Secure messages and a carer in real Chromium at phone size (390x844), issue 20: the patient
writes, the nurse sees the count on the worklist and replies on the record, the patient reads
the reply; the patient's daughter signs in with her own account and checks in for her."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import Site
from tests.browser.test_journeys import assert_no_sideways_scroll, sign_in, tick

QUESTION = "Can I have my flu jab the same week as my infusion?"
ANSWER = "Yes, a flu jab is fine that week. See you on Tuesday."


def test_a_message_exchange_at_phone_size(
    phone: BrowserContext, desktop: BrowserContext, site: Site
) -> None:
    rose = sign_in(phone, "rose")
    rose.get_by_role("link", name="Messages").click()
    expect(rose).to_have_url(re.compile(r"/portal/messages$"))
    expect(rose.locator("#not-for-emergencies")).to_contain_text("not for emergencies")
    assert_no_sideways_scroll(rose, "the messages page")
    rose.get_by_role("textbox", name="Your message").fill(QUESTION)
    rose.get_by_role("button", name="Send message").click()
    expect(rose.get_by_role("status")).to_contain_text("Message sent")
    expect(rose.locator(".thread li").last).to_contain_text("not read yet")

    nurse = sign_in(desktop, "community")
    row = nurse.locator('tr[data-patient="pat-rose"]')
    expect(row.locator("a.messages")).to_have_text("1 message")
    row.locator("a.messages").click()
    thread = nurse.locator("#messages")
    expect(thread).to_contain_text(QUESTION)
    thread.get_by_label("Reply to the patient").fill(ANSWER)
    thread.get_by_role("button", name="Send reply").click()
    expect(nurse.get_by_role("status")).to_contain_text("Reply sent")
    nurse.goto("/worklist")
    expect(nurse.locator('tr[data-patient="pat-rose"] a.messages')).to_have_count(0)

    rose.goto("/portal")
    rose.locator("#new-messages").get_by_role(
        "link", name="1 new message from your care team"
    ).click()
    last = rose.locator(".thread li").last
    expect(last).to_contain_text(ANSWER)
    expect(last).to_contain_text("care team")
    expect(rose.locator(".thread li").first).to_contain_text("read by your team")
    rose.goto("/portal")
    expect(rose.locator("#new-messages")).to_have_count(0)  # read now


def test_a_carer_checks_in_for_the_patient_at_phone_size(
    phone: BrowserContext, desktop: BrowserContext, site: Site
) -> None:
    lily = sign_in(phone, "lily")
    expect(lily).to_have_url(re.compile(r"/portal$"))
    lily.goto("/portal/check-in")
    tick(lily, "Tiredness")  # under its body area, opened first
    lily.get_by_role("button", name="Next").click()
    expect(lily).to_have_url(re.compile(r"/portal/check-in/details$"))
    assert_no_sideways_scroll(lily, "the check-in details for a carer")
    lily.locator("#s-fatigue").get_by_label("Mild", exact=True).check()
    lily.get_by_role("button", name=re.compile("^Send")).click()
    expect(lily).to_have_url(re.compile(r"/portal/reports/\d+$"))
    # She reaches no other record: another patient's page is a plain "not found".
    assert lily.goto(f"/patients/{site.patient_id}").status == 404  # type: ignore[union-attr]
    assert lily.goto("/patients/pat-rose").status == 404  # type: ignore[union-attr]

    nurse = sign_in(desktop, "community")
    nurse.goto("/patients/pat-rose")
    # Every report of hers says so (a symptom ticked at step 1 may already have been filed).
    reports = nurse.locator("#reports li")
    expect(reports.first).to_contain_text("filled in by a carer")
    expect(reports.filter(has_text="filled in by a carer")).to_have_count(reports.count())
