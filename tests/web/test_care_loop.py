"""The care loop over time (issue 15): every path into the record raises alerts the same way, an
alert lives until a clinician closes it, repeats fold, notifications go out over real channels (a
real SMTP server and a webhook receiver), escalations and missed check-ins, and doses checked as
order-sign checks them. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from bonemets.adapters.fhir import record_to_fhir
from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.errors import InputError
from bonemets.core.record import Record
from bonemets.service import accounts, care, check_in, filing, notify
from bonemets.service.interop import import_resources
from tests.notify_servers import Hook, Mailbox, smtp_server, webhook_receiver
from tests.web.conftest import PASSWORD, TODAY
from tests.web.test_care import EMERGENCY, user

SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two bytes").decode()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def hook() -> Iterator[Hook]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def wired(settings: Settings, mailbox: Mailbox, hook: Hook) -> Settings:
    """Settings with both channels: e-mail for alerts and escalations, and a signed webhook."""
    return dataclasses.replace(
        settings,
        smtp_url=mailbox.url,
        mail_from="bonemets@hospital.test",
        alert_email="oncology-team@hospital.test",
        escalation_email="oncology-consultant@hospital.test",
        webhook_url=hook.url,
        webhook_secret=SECRET,
        public_url="https://bonemets.hospital.test",
    )


def alerts(db: Database, patient_id: str = "pat-a") -> list[t.Alert]:
    with db.transaction() as s:
        return repo.alerts_for(s, [patient_id], open_only=False)


def notifications(db: Database) -> list[t.Notification]:
    with db.transaction() as s:
        return list(s.scalars(select(t.Notification).order_by(t.Notification.id)))


# --- Every path raises alerts the same way ------------------------------------------------------


def test_a_lab_entered_by_a_clinician_opens_an_alert_and_shows_under_open_alerts(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    nurse = user(db, "nurse-a")
    low = {"code": "calcium_corrected", "value": 1.60, "unit": "mmol/L", "date": "2026-11-23"}
    filed = filing.record_entry(db, settings, nurse, "pat-a", "lab", low)
    assert filed.assessment.level == "emergency"
    assert filed.alert_id is not None
    (alert,) = [a for a in alerts(db) if a.id == filed.alert_id]
    assert alert.kind == "record" and "labs.hypocalcaemia" in alert.rules
    rows = care.worklist(db, settings, nurse, open_alerts_only=True)
    assert [r.patient_id for r in rows] == ["pat-a"] and rows[0].level == "emergency"


def test_a_fhir_import_raises_alerts_like_a_form(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    from tests.web.conftest import example_record

    record = example_record("pat-import")
    low = {"code": "calcium_corrected", "value": 1.6, "unit": "mmol/L", "date": "2026-11-22"}
    record = Record.model_validate({**record.model_dump(mode="json"), "labs": [low]})
    resources = [e["resource"] for e in record_to_fhir(record)["entry"]]
    import_resources(db, settings, resources, team="Team A")
    opened = alerts(db, "pat-import")
    assert opened and opened[0].level == "emergency" and opened[0].kind == "record"
    # The same data again adds nothing and raises nothing.
    import_resources(db, settings, resources, team="Team A")
    assert len(alerts(db, "pat-import")) == len(opened)


def test_free_text_with_no_alert_opens_a_task_to_read_it(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    nurse = user(db, "nurse-a")
    calm_lab = {"code": "calcium_corrected", "value": 2.4, "unit": "mmol/L", "date": "2026-11-23"}
    filing.record_entry(db, settings, nurse, "pat-a", "lab", calm_lab)  # clears the old calcium
    before = {a.id for a in alerts(db)}
    message = {"symptoms": [], "free_text": "Thank you for the call yesterday, all fine now."}
    done = filing.submit_report(db, settings, user(db, "user-a"), "pat-a", message)
    assert done.alert_id is None and done.message_task is not None
    (task,) = [a for a in alerts(db) if a.id not in before]
    assert task.kind == "message" and task.level == "routine"
    assert "Thank you for the call yesterday" in task.headline
    row = next(r for r in care.worklist(db, settings, nurse) if r.patient_id == "pat-a")
    assert row.open_alerts >= 1


def test_a_patient_may_send_only_the_portal_labs_and_they_are_marked_as_theirs(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    patient = user(db, "user-a")
    creatinine = {"symptoms": [], "labs": [{"code": "creatinine", "value": 450, "unit": "umol/L"}]}
    with pytest.raises(InputError) as exc:
        filing.submit_report(db, settings, patient, "pat-a", creatinine)
    assert exc.value.field == "labs[0].code"
    bma_before = care.cached_assessment(db, settings, patient, "pat-a").bma.status
    calcium = {"symptoms": [], "labs": [{"code": "calcium_total", "value": 1.9, "unit": "mmol/L"}]}
    filing.submit_report(db, settings, patient, "pat-a", calcium)
    after = care.cached_assessment(db, settings, patient, "pat-a")
    assert after.bma.status == bma_before  # a typed-in value never changes a dose or a hold
    low = next(a for a in after.alerts if a.rule == "labs.hypocalcaemia")
    assert "reported by the patient, to confirm" in low.message


# --- An alert lives until a clinician closes it -------------------------------------------------


def test_a_benign_check_in_after_an_emergency_keeps_the_patient_on_top(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    patient, nurse = user(db, "user-a"), user(db, "nurse-a")
    first = filing.submit_report(db, settings, patient, "pat-a", EMERGENCY)
    benign = {"symptoms": [], "free_text": "thank you"}
    filing.submit_report(db, settings, patient, "pat-a", benign)
    row = care.worklist(db, settings, nurse)[0]
    assert (row.patient_id, row.level) == ("pat-a", "emergency")
    assert row.waiting_since is not None
    # The red flags are still in the picture: the patient said nothing about them.
    flags = care.red_flags(care.cached_assessment(db, settings, nurse, "pat-a"))
    assert {(f.code, f.site) for f in flags} >= {("limb_weakness", "legs")}
    # Acknowledged and resolved: the alert is closed, the red flags leave the picture.
    assert first.alert_id is not None
    care.acknowledge(
        db, nurse, first.alert_id, "MRI whole spine clear", settings=settings, resolve=True
    )
    assessment = care.cached_assessment(db, settings, nurse, "pat-a")
    assert not [f for f in care.red_flags(assessment) if f.code == "limb_weakness"]


def test_the_worklist_sorts_escalated_then_level_then_waiting_time(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    admin = user(db, "admin")
    with db.transaction() as s:
        team = repo.get_or_create_team(s, "Team A")
        for pid in ("pat-c", "pat-d"):
            record = Record.model_validate({"id": pid, "cancer": {"bone_metastases": True}})
            repo.create_patient(s, record, team_id=team.id, display_name=f"Z {pid}", mrn=pid)
            accounts.create_user(
                s, username=f"user-{pid}", password=PASSWORD, role="patient", patient_id=pid
            )
    # Two emergencies: pat-d's waited longer; pat-c's alert is escalated.
    for pid in ("pat-c", "pat-d"):
        filing.submit_report(db, settings, user(db, f"user-{pid}"), pid, EMERGENCY)
    now = t.utcnow()
    with db.transaction() as s:
        for alert in repo.alerts_for(s, ["pat-c", "pat-d"], open_only=True):
            minutes = 5 if alert.patient_id == "pat-c" else 20
            alert.created_at = now - dt.timedelta(minutes=minutes)
    order = [r.patient_id for r in care.worklist(db, settings, admin)]
    assert order.index("pat-d") < order.index("pat-c")  # same level: longer wait first
    with db.transaction() as s:
        for alert in repo.alerts_for(s, ["pat-c"], open_only=True):
            alert.created_at = now - dt.timedelta(minutes=settings.escalate_minutes + 1)
    order = [r.patient_id for r in care.worklist(db, settings, admin)]
    assert order[0] == "pat-c"  # escalated first


# --- The alert budget ---------------------------------------------------------------------------


def _weakness(trend: str | None, severity: int = 1) -> dict[str, object]:
    symptom: dict[str, object] = {"code": "limb_weakness", "site": "legs", "severity": severity}
    if trend:
        symptom["trend"] = trend
    return {"symptoms": [symptom]}


def test_stable_repeats_fold_and_anything_worse_raises(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    patient, nurse = user(db, "user-a"), user(db, "nurse-a")
    first = filing.submit_report(db, settings, patient, "pat-a", _weakness("new"))
    assert first.alert_id is not None
    # While open, a repeat adds to it rather than opening another.
    again = filing.submit_report(db, settings, patient, "pat-a", _weakness("same"))
    assert again.alert_id is None and first.alert_id in again.raised.folded
    care.acknowledge(db, nurse, first.alert_id, "Known: reviewed in clinic, MRI booked")
    # Acknowledged: the same mild weakness reported as unchanged folds ...
    week = filing.submit_report(db, settings, patient, "pat-a", _weakness("same"))
    assert week.alert_id is None and week.raised.folded == [first.alert_id]
    # ... but worse, or more severe, raises.
    assert filing.submit_report(db, settings, patient, "pat-a", _weakness("worse")).alert_id
    assert filing.submit_report(db, settings, patient, "pat-a", _weakness("same", 3)).alert_id
    (folded,) = [a for a in alerts(db) if a.id == first.alert_id]
    # Every later report repeated something of it (its weakness, or the record's high calcium
    # it also carries): the count says how often the team was spared a new alert.
    assert folded.repeats == 4


# --- Notifications ------------------------------------------------------------------------------


def test_an_emergency_is_sent_by_email_and_a_signed_webhook(
    db: Database, wired: Settings, people: dict[str, str], mailbox: Mailbox, hook: Hook
) -> None:
    done = filing.submit_report(db, wired, user(db, "user-a"), "pat-a", EMERGENCY)
    assert done.raised.notified
    assert notify.deliver(db, wired) == 2
    (mail,) = mailbox.to("oncology-team@hospital.test")
    assert "EMERGENCY" in str(mail["Subject"]) and "PAT-A" in str(mail["Subject"])
    body = mail.get_content()
    assert "https://bonemets.hospital.test/patients/pat-a#alerts" in body
    assert "supports, and does not replace" in body
    (sent,) = hook.received
    payload = Webhook(SECRET).verify(sent.body, sent.headers)  # raises on a bad signature
    assert payload["type"] == "alert.opened"
    assert payload["alert"]["id"] == done.alert_id and payload["alert"]["level"] == "emergency"
    tampered = orjson.dumps({**payload, "alert": {**payload["alert"], "level": "routine"}})
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(tampered, sent.headers)
    assert {n.status for n in notifications(db)} == {"sent"}
    assert notify.deliver(db, wired) == 0  # nothing is sent twice
    status = care.care_team_status(
        db, user(db, "user-a"), "pat-a", {"care_team": {"alert_id": done.alert_id}}
    )
    assert status.alerted


def test_below_the_notification_level_nothing_is_sent(
    db: Database, wired: Settings, people: dict[str, str], mailbox: Mailbox
) -> None:
    # The example record's calcium makes this report urgent: below a level set at emergency.
    only_emergencies = dataclasses.replace(wired, notify_level="emergency")
    soon = {"symptoms": [{"code": "jaw_pain", "severity": 2}]}
    done = filing.submit_report(db, only_emergencies, user(db, "user-a"), "pat-a", soon)
    assert done.raised.alert is not None and done.raised.alert.level == "urgent"
    assert not done.raised.notified
    notify.deliver(db, only_emergencies)
    assert mailbox.messages == []


def test_without_a_channel_nobody_claims_the_team_was_told(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    done = filing.submit_report(db, settings, user(db, "user-a"), "pat-a", EMERGENCY)
    assert done.alert_id is not None and not done.raised.notified
    assert notifications(db) == []
    status = care.care_team_status(
        db, user(db, "user-a"), "pat-a", {"care_team": {"alert_id": done.alert_id}}
    )
    assert status.has_alert and not status.alerted


def test_a_failed_delivery_is_kept_and_retried(
    db: Database, wired: Settings, people: dict[str, str], hook: Hook
) -> None:
    from tests.notify_servers import free_port

    down = dataclasses.replace(wired, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    filing.submit_report(db, down, user(db, "user-a"), "pat-a", EMERGENCY)
    hook.status = 503
    assert notify.deliver(db, down) == 0
    rows = notifications(db)
    assert {n.status for n in rows} == {"failed"} and all(n.last_error for n in rows)
    # Later, with the receivers back: the retry (after its back-off) goes through.
    hook.status = 204
    with smtp_server() as box:
        back = dataclasses.replace(wired, smtp_url=box.url)
        later = t.utcnow() + dt.timedelta(hours=1)
        assert notify.deliver(db, back, later) == 2
        assert len(box.messages) == 1
    assert {n.status for n in notifications(db)} == {"sent"}


def test_an_alert_left_open_is_escalated_once(
    db: Database, wired: Settings, people: dict[str, str], mailbox: Mailbox
) -> None:
    done = filing.submit_report(db, wired, user(db, "user-a"), "pat-a", EMERGENCY)
    notify.deliver(db, wired)
    soon_after = t.utcnow() + dt.timedelta(minutes=wired.escalate_minutes - 1)
    assert notify.sweep(db, wired, soon_after)["escalated"] == 0
    later = t.utcnow() + dt.timedelta(minutes=wired.escalate_minutes + 1)
    assert notify.sweep(db, wired, later)["escalated"] == 1
    assert notify.sweep(db, wired, later + dt.timedelta(minutes=5))["escalated"] == 0
    (escalation,) = mailbox.to("oncology-consultant@hospital.test")
    assert "ESCALATED" in str(escalation["Subject"])
    (alert,) = [a for a in alerts(db) if a.id == done.alert_id]
    assert alert.escalated_at is not None


def test_an_acknowledged_alert_is_not_escalated(
    db: Database, wired: Settings, people: dict[str, str], mailbox: Mailbox
) -> None:
    done = filing.submit_report(db, wired, user(db, "user-a"), "pat-a", EMERGENCY)
    assert done.alert_id is not None
    care.acknowledge(db, user(db, "nurse-a"), done.alert_id, "phoned, sent to ED")
    later = t.utcnow() + dt.timedelta(hours=2)
    assert notify.sweep(db, wired, later)["escalated"] == 0
    assert mailbox.to("oncology-consultant@hospital.test") == []


@pytest.mark.parametrize(("days", "task"), [(7, False), (8, True)])
def test_a_missed_weekly_check_in_is_a_task(
    db: Database, settings: Settings, people: dict[str, str], days: int, task: bool
) -> None:
    filing.submit_report(db, settings, user(db, "user-a"), "pat-a", {"symptoms": []})
    later = dataclasses.replace(settings, fixed_today=TODAY + dt.timedelta(days=days))
    with db.transaction() as s:  # pat-b's login is new: give it the same age
        for u in s.scalars(select(t.User).where(t.User.role == "patient")):
            u.created_at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert notify.missed_check_ins(db, later, later.today()) == (2 if task else 1)
    missed = [a for a in alerts(db) if a.kind == "missed_check_in"]
    assert bool(missed) is task
    if task:
        assert "last on 2026-11-23" in missed[0].headline
        assert notify.missed_check_ins(db, later, later.today()) == 0  # one open task at most


# --- Partial check-ins --------------------------------------------------------------------------


def test_an_emergency_ticked_at_step_one_is_filed_at_once_and_the_details_join_its_alert(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    patient = user(db, "user-a")
    started = check_in.start(db, settings, patient, "pat-a", ["limb_weakness:legs"], [])
    assert started.filed is not None and started.filed.result is not None
    assert started.filed.result.level == "emergency"
    first_alert = started.filed.alert_id
    assert first_alert is not None
    # The patient leaves here: the report and its alert are stored all the same.
    draft = check_in.draft(db, patient, "pat-a")
    assert draft is not None and draft.entry_id == started.filed.entry_ids[-1]
    # They come back and give the details: one alert, not two.
    details = {
        "symptoms": [
            {"code": "limb_weakness", "site": "legs", "severity": 3, "trend": "new"},
            {"code": "back_pain", "site": "mid_back", "severity": 3},
        ]
    }
    done = check_in.finish(db, settings, patient, "pat-a", details)
    assert done.alert_id == first_alert
    (alert,) = [a for a in alerts(db) if a.id == first_alert]
    assert "mscc.neurological" in alert.rules
    assert check_in.draft(db, patient, "pat-a") is None


def test_a_calm_step_one_is_kept_as_a_draft_and_files_nothing(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    patient, nurse = user(db, "user-a"), user(db, "nurse-a")
    calm_lab = {"code": "calcium_corrected", "value": 2.4, "unit": "mmol/L", "date": "2026-11-23"}
    filing.record_entry(db, settings, nurse, "pat-a", "lab", calm_lab)
    with db.transaction() as s:
        reports = len(repo.entries(s, "pat-a", ["symptom_report"]))
    # "Something else" is calm; moderate fatigue (the default severity) is UKONS Amber since
    # issue 21, and this record's calcium signs make thirst part of a cluster.
    started = check_in.start(db, settings, patient, "pat-a", ["other"], [])
    assert started.filed is None
    draft = check_in.draft(db, patient, "pat-a")
    assert draft is not None and draft.chosen == [("other", None)]
    with db.transaction() as s:
        assert len(repo.entries(s, "pat-a", ["symptom_report"])) == reports


def test_a_red_flag_the_patient_says_has_gone_is_closed(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    patient = user(db, "user-a")
    filing.submit_report(db, settings, patient, "pat-a", EMERGENCY)
    asked = check_in.open_red_flags(db, settings, patient, "pat-a")
    assert ("limb_weakness", "legs") in {(f.code, f.site) for f in asked}
    check_in.start(db, settings, patient, "pat-a", [], ["limb_weakness:legs", "back_pain:mid_back"])
    check_in.finish(db, settings, patient, "pat-a", {"symptoms": []})
    still = check_in.open_red_flags(db, settings, patient, "pat-a")
    assert ("limb_weakness", "legs") not in {(f.code, f.site) for f in still}


# --- Doses run the pathway's checks --------------------------------------------------------------


DOSE = {"agent": "zoledronic_acid", "date": "2026-11-23", "dose": 3.5, "route": "iv"}


def test_implausible_or_blank_doses_are_refused_and_store_nothing(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    nurse = user(db, "nurse-a")
    with db.transaction() as s:
        before = len(repo.entries(s, "pat-a", ["bma_dose"]))
    for bad, field in (
        ({**DOSE, "dose": 400}, "dose"),
        ({k: v for k, v in DOSE.items() if k != "dose"}, "dose"),
    ):
        with pytest.raises(InputError) as exc:
            filing.record_entry(db, settings, nurse, "pat-a", "bma_dose", bad)
        assert exc.value.field == field
    with db.transaction() as s:
        assert len(repo.entries(s, "pat-a", ["bma_dose"])) == before


def test_a_dose_against_a_withhold_needs_a_reason_which_is_stored_and_audited(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    nurse = user(db, "nurse-a")
    findings = filing.check_dose(db, settings, nurse, "pat-a", DOSE)  # shown before saving
    assert "bma.kidney_rise" in {f.rule for f in findings if f.override}
    with pytest.raises(filing.OverrideRequired) as exc:
        filing.record_entry(db, settings, nurse, "pat-a", "bma_dose", DOSE)
    assert "bma.kidney_rise" in {f.rule for f in exc.value.findings}
    reason = "Nephrology reviewed: creatinine rise from contrast, agreed to give"
    filing.record_entry(db, settings, nurse, "pat-a", "bma_dose", DOSE, override_reason=reason)
    with db.transaction() as s:
        (dose,) = [e for e in repo.entries(s, "pat-a", ["bma_dose"]) if e.date == TODAY]
        assert dose.override is not None and dose.override["reason"] == reason
        assert "bma.kidney_rise" in dose.override["rules"] and dose.origin == "clinician_form"
        audit = repo.audit_events(s, patient_id="pat-a")
    assert any(e.action == "override" and "bma.kidney_rise" in e.what for e in audit)
    # The same day again: too soon, and said so.
    with pytest.raises(filing.OverrideRequired) as again:
        filing.record_entry(db, settings, nurse, "pat-a", "bma_dose", DOSE, override_reason="")
    assert "bma.interval" in {f.rule for f in again.value.findings}


# --- The command line ---------------------------------------------------------------------------


def test_a_team_routes_its_own_alerts_set_from_the_command_line(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, mailbox: Mailbox
) -> None:
    from typer.testing import CliRunner

    from bonemets.faces.cli.main import app

    runner = CliRunner()
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    monkeypatch.setenv("BONEMETS_DATABASE_URL", url)
    monkeypatch.setenv("BONEMETS_SMTP_URL", mailbox.url)
    monkeypatch.setenv("BONEMETS_ALERT_EMAIL", "everyone@hospital.test")
    bad = runner.invoke(app, ["team", "set", "Breast", "--alert-email", "not an address"])
    assert bad.exit_code == 2 and "alert-email" in bad.output
    ok = runner.invoke(app, ["team", "set", "Breast", "--alert-email", "breast@hospital.test"])
    assert ok.exit_code == 0, ok.output
    assert "alerts to breast@hospital.test" in ok.output
    db = Database(url)
    with db.transaction() as s:
        team = repo.get_or_create_team(s, "Breast")
        record = Record.model_validate({"id": "p1", "cancer": {"bone_metastases": True}})
        repo.create_patient(s, record, team_id=team.id, display_name="P One", mrn="MRN-1")
        accounts.create_user(s, username="p1", password=PASSWORD, role="patient", patient_id="p1")
    filing.submit_report(db, Settings.from_env(), user(db, "p1"), "p1", EMERGENCY)
    swept = runner.invoke(app, ["notify", "run"])
    assert swept.exit_code == 0 and "sent 1" in swept.output, swept.output
    assert [str(m["To"]) for m in mailbox.messages] == ["breast@hospital.test"]
    tried = runner.invoke(app, ["notify", "test", "Breast"])
    assert "sent email breast@hospital.test" in tried.output
    db.dispose()


def test_an_emergency_written_only_in_free_text_opens_an_alert_not_a_task(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    words = {
        "symptoms": [],
        "free_text": "I suddenly can't feel my legs and can't walk, and I wet myself",
    }
    done = filing.submit_report(db, settings, user(db, "user-a"), "pat-a", words)
    assert done.result is not None and done.result.level == "emergency"
    assert done.alert_id is not None and done.message_task is None
    (alert,) = [a for a in alerts(db) if a.id == done.alert_id]
    assert {"mscc.neurological", "mscc.sphincter"} <= set(alert.rules)
    # The alert quotes the patient's words behind the rule.
    assert 'from the free text: "can\'t walk"' in alert.headline
