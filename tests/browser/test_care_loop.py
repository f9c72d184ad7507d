"""The care loop in a real browser (issue 15): each journey asserts what the patient sees, the
worklist, the alert, and the e-mail the care team's real SMTP server received.

- an emergency check-in, then a benign one: the patient stays on top until a clinician acts;
- an emergency ticked at step 1 of a check-in, and the patient leaves: filed and alerted anyway;
- an emergency written only in the free text ("I suddenly can't feel my legs ..."): the same;
- a lab entered by a clinician that is an emergency: an alert, under "open alerts only";
- a dose against the kidney hold: the checks shown before saving, recorded only with a reason.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import TEAM_EMAIL, TODAY, Site
from tests.browser.test_journeys import sign_in, tick


def mail_about(site: Site, mrn: str, count: int = 1) -> list[EmailMessage]:
    """The team's e-mails about one patient, waiting up to 10 s for `count` of them."""
    assert site.mailbox is not None

    def found() -> list[EmailMessage]:
        assert site.mailbox is not None
        return [m for m in site.mailbox.to(TEAM_EMAIL) if mrn.lower() in str(m["Subject"]).lower()]

    import time

    deadline = time.monotonic() + 10
    while len(found()) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return found()


def worklist_row(page: Page, patient_id: str) -> tuple[int, str]:
    """(position, level) of a patient's row on the worklist."""
    page.goto("/worklist")
    rows = page.locator("table.worklist tbody tr")
    ids = [rows.nth(i).get_attribute("data-patient") for i in range(rows.count())]
    row = page.locator(f'tr[data-patient="{patient_id}"]')
    return ids.index(patient_id), row.locator(".pill").first.inner_text()


def check_in(page: Page, ticks: list[str]) -> None:
    page.goto("/portal/check-in")
    for label in ticks:
        tick(page, label)
    page.get_by_role("button", name="Next").click()


def test_an_emergency_then_a_benign_check_in_keeps_the_patient_on_top_until_acted_on(
    phone: BrowserContext, desktop: BrowserContext, site: Site
) -> None:
    pid = site.loop["joan"]
    joan = sign_in(phone, "joan")
    check_in(joan, ["Weakness in arms or legs", "Back or neck pain"])
    # Step 1 already calls for the team: the emergency screen comes first, before any detail.
    expect(joan).to_have_url(re.compile(r"/portal/reports/\d+\?partial=1$"))
    panel = joan.locator(".emergency-screen")
    expect(panel).to_contain_text("Call the emergency number now")
    expect(panel.locator('a.tel[href="tel:999"]')).to_be_visible()
    expect(panel).to_contain_text("We have also sent an alert to your care team.")
    (mail,) = mail_about(site, pid)
    assert "EMERGENCY" in str(mail["Subject"])
    assert f"https://bonemets.hospital.test/patients/{pid}#alerts" in mail.get_content()
    # She gives the details: the same alert, no second e-mail.
    joan.get_by_role("link", name="When you can: tell us a little more").click()
    weakness = joan.locator("#s-limb_weakness")
    weakness.get_by_label("Moderate", exact=True).check()
    weakness.get_by_label("Where?").select_option("legs")
    joan.locator("#s-back_pain").get_by_label("Moderate", exact=True).check()
    joan.get_by_role("button", name="Send to my care team").click()
    expect(joan.locator(".emergency-screen")).to_be_visible()

    # Next day: nothing ticked, the red flags not answered, a thank-you message.
    joan.goto("/portal/check-in")
    expect(joan.locator(".follow-up")).to_contain_text("Weakness in arms or legs")
    joan.get_by_role("button", name="Next").click()
    joan.get_by_label("Anything else you want the team to know?").fill("Thank you all!")
    joan.get_by_role("button", name="Send to my care team").click()
    # Silence is not "gone": the red flags are still her picture, and she is told so.
    expect(joan.locator(".emergency-screen")).to_be_visible()

    nurse = sign_in(desktop, "acute")
    position, level = worklist_row(nurse, pid)
    assert (position, level) == (0, "Emergency")
    assert len(mail_about(site, pid)) == 1  # folded into the open alert: no new e-mail
    nurse.goto(f"/patients/{pid}")
    flags = nurse.locator("#red-flags")
    expect(flags).to_contain_text("limb weakness (legs)")
    alert = nurse.locator("#alerts article.alert").filter(has_text="limb weakness").first
    alert.get_by_label("What was done").fill("Seen in AOS: MRI whole spine clear")
    alert.get_by_label(re.compile("The symptoms are resolved")).check()
    alert.get_by_role("button", name="Acknowledge").click()
    expect(nurse.locator(".flash")).to_have_text("Alert acknowledged.")
    expect(nurse.locator("#red-flags")).not_to_contain_text("limb weakness (legs)")
    _position, level = worklist_row(nurse, pid)
    assert level != "Emergency"


def test_an_emergency_ticked_at_step_one_is_alerted_even_if_the_patient_leaves(
    phone: BrowserContext, desktop: BrowserContext, site: Site
) -> None:
    pid = site.loop["ruth"]
    ruth = sign_in(phone, "ruth")
    check_in(ruth, ["Loss of bowel control"])
    expect(ruth.locator(".emergency-screen")).to_be_visible()
    phone.close()  # she leaves: the details are never given
    (mail,) = mail_about(site, pid)
    assert "EMERGENCY" in str(mail["Subject"])
    nurse = sign_in(desktop, "acute")
    nurse.goto("/worklist?open_alerts_only=true")
    row = nurse.locator(f'tr[data-patient="{pid}"]')
    expect(row.locator(".pill").first).to_have_text("Emergency")
    expect(row.locator(".why")).to_contain_text("bowel control loss")


def test_an_emergency_written_only_in_free_text_is_read_as_one(
    phone: BrowserContext, desktop: BrowserContext, site: Site
) -> None:
    pid = site.loop["iris"]
    iris = sign_in(phone, "iris")
    check_in(iris, [])  # nothing ticked
    iris.get_by_label("Anything else you want the team to know?").fill(
        "I suddenly cant feel my legs and can't walk, and I wet myself"
    )
    iris.get_by_role("button", name="Send to my care team").click()
    panel = iris.locator(".emergency-screen")
    expect(panel).to_contain_text("Call the emergency number now")
    expect(panel).to_contain_text("We have also sent an alert to your care team.")
    iris.get_by_text("Why am I told this?").click()
    expect(iris.locator("details")).to_contain_text("spinal cord")
    (mail,) = mail_about(site, pid)
    assert "EMERGENCY" in str(mail["Subject"])
    nurse = sign_in(desktop, "acute")
    _position, level = worklist_row(nurse, pid)
    assert level == "Emergency"
    nurse.goto(f"/patients/{pid}")
    alert = nurse.locator("#alerts article.alert").first
    expect(alert).to_contain_text("from the free text")
    expect(alert).to_contain_text("cant feel my legs")
    expect(nurse.locator("#assessment")).to_contain_text("wet myself")


def test_a_lab_entered_by_a_clinician_that_is_an_emergency_opens_an_alert(
    desktop: BrowserContext, site: Site
) -> None:
    pid = site.loop["edith"]
    nurse = sign_in(desktop, "acute")
    nurse.goto(f"/patients/{pid}")
    form = nurse.locator("form#lab")
    form.get_by_label("Test").select_option("calcium_corrected")
    form.get_by_label("Value").fill("1.6")
    form.get_by_label("Unit").fill("mmol/L")
    form.get_by_label("Date").fill(TODAY.isoformat())
    form.get_by_role("button", name="Record result").click()
    expect(nurse.locator(".flash")).to_contain_text("An alert was opened.")
    alert = nurse.locator("#alerts article.alert").first
    expect(alert.locator(".pill").first).to_have_text("Emergency")
    expect(alert).to_contain_text("labs.hypocalcaemia")
    mails = mail_about(site, pid)
    assert any("EMERGENCY" in str(m["Subject"]) for m in mails)
    nurse.goto("/worklist?open_alerts_only=true")
    expect(nurse.locator(f'tr[data-patient="{pid}"] .pill').first).to_have_text("Emergency")


def test_a_dose_against_the_kidney_hold_is_checked_before_saving_and_needs_a_reason(
    desktop: BrowserContext, site: Site
) -> None:
    pid = site.loop["edith"]
    nurse = sign_in(desktop, "acute")
    nurse.goto(f"/patients/{pid}")
    form = nurse.locator("form#bma_dose")
    form.get_by_label("Agent").select_option("zoledronic_acid")
    form.get_by_label("Date").fill(TODAY.isoformat())
    form.get_by_label("Dose (mg)").fill("3.5")
    form.get_by_label("Route").select_option("iv")
    form.get_by_role("button", name="Check").click()
    checks = nurse.locator("#dose-checks")
    expect(checks).to_contain_text("withhold")
    expect(checks).to_contain_text("needs a reason")
    form = nurse.locator("form#bma_dose")  # the page was drawn again, values kept
    expect(form.get_by_label("Dose (mg)")).to_have_value("3.5")
    with nurse.expect_response(lambda r: r.request.method == "POST") as refused:
        form.get_by_role("button", name="Record dose").click()
    assert refused.value.status == 409
    expect(nurse.locator("form#bma_dose .error")).to_contain_text("give a reason")
    form = nurse.locator("form#bma_dose")
    form.get_by_label(re.compile("Reason to go ahead")).fill(
        "Renal team agree: rise from contrast CT"
    )
    form.get_by_role("button", name="Record dose").click()
    expect(nurse.locator(".flash")).to_contain_text("Saved bma dose.")
    record = nurse.request.get(f"/api/patients/{pid}/record").json()
    assert any(d["date"] == TODAY.isoformat() for d in record["bma_doses"])
