"""Secure messages and carer accounts (issue 20, item 3) on SQLite and PostgreSQL: both ways
of the thread and its read state, the worklist's count, the red-flag safety net through the one
filing path, carers who check in and write for one patient only, and every refusal audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.config import Settings
from bonemets.core.errors import InputError
from bonemets.service import accounts, care, filing, messages
from bonemets.service import check_in as check_in_service
from tests.browser.conftest import calm_record
from tests.web.conftest import PASSWORD

EMERGENCY_WORDS = "I suddenly can't feel my legs and I can't walk"
CALM_WORDS = "Could you tell me when my next appointment is, and can my daughter come with me?"


@pytest.fixture
def carers(db: Database, people: dict[str, str]) -> dict[str, str]:
    """A carer for each patient (carer-a looks after pat-a, carer-b after pat-b)."""
    with db.transaction() as s:
        for side in ("a", "b"):
            accounts.create_user(
                s,
                username=f"carer-{side}",
                password=PASSWORD,
                role="carer",
                display_name=f"Carer {side.upper()}",
                patient_id=people[side],
            )
    return people


def user(db: Database, name: str) -> t.User:
    with db.transaction() as s:
        found = repo.user_by_name(s, name)
        assert found is not None
        s.expunge(found)
        return found


def rows(db: Database, model: type[t.Base]) -> list[t.Base]:
    with db.transaction() as s:
        found = list(s.scalars(select(model)))
        s.expunge_all()
        return found


def worklist_unread(db: Database, settings: Settings, nurse: str) -> dict[str, int]:
    return {r.patient_id: r.unread_messages for r in care.worklist(db, settings, user(db, nurse))}


def test_a_message_both_ways_with_read_state_and_the_worklist_count(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    pid = people["a"]
    patient, nurse = user(db, "user-a"), user(db, "nurse-a")
    sent = messages.send(db, settings, patient, pid, f"  {CALM_WORDS}  ")
    assert sent.filed is None  # no symptom in it: nothing filed, no alert
    assert rows(db, t.Alert) == []
    messages.send(db, settings, patient, pid, "And may I bring my own snacks to the infusion?")
    assert worklist_unread(db, settings, "nurse-a") == {pid: 2}
    # Opening the record does not read them: the count stays until someone answers.
    thread = messages.thread(db, nurse, pid)
    assert [m.body for m in thread] == [
        CALM_WORDS,
        "And may I bring my own snacks to the infusion?",
    ]
    assert [m.read for m in thread] == [False, False]
    assert worklist_unread(db, settings, "nurse-a")[pid] == 2
    assert messages.unread_for(db, patient, pid) == 0  # nothing from the team yet
    messages.reply(db, nurse, pid, "Your next infusion is on 1 December; yes, she may come.")
    assert worklist_unread(db, settings, "nurse-a")[pid] == 0
    assert messages.unread_for(db, patient, pid) == 1
    seen = messages.thread(db, patient, pid)
    assert [(m.from_team, m.author) for m in seen] == [
        (False, "user-a"),
        (False, "user-a"),
        (True, "nurse-a"),
    ]
    assert all(m.read for m in seen[:2])  # the reply read the patient's messages
    assert not seen[2].read  # as shown: read on this opening, not before it
    assert messages.unread_for(db, patient, pid) == 0
    stored = rows(db, t.Message)
    assert {m.read_by for m in stored if not m.from_team} == {nurse.id}  # type: ignore[attr-defined]
    assert [m.read_by for m in stored if m.from_team] == [patient.id]  # type: ignore[attr-defined]


def test_mark_read_without_a_reply(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    pid = people["a"]
    messages.send(db, settings, user(db, "user-a"), pid, "Thank you for yesterday.")
    assert messages.mark_read(db, user(db, "nurse-a"), pid) == 1
    assert messages.mark_read(db, user(db, "nurse-a"), pid) == 0
    assert worklist_unread(db, settings, "nurse-a")[pid] == 0


def test_a_message_describing_an_emergency_is_filed_and_alerts_through_the_one_path(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    pid = people["a"]
    sent = messages.send(db, settings, user(db, "user-a"), pid, EMERGENCY_WORDS)
    assert sent.filed is not None and sent.filed.result is not None
    assert sent.filed.result.level.value == "emergency"  # what the patient is shown now
    assert sent.filed.alert_id is not None
    (alert,) = rows(db, t.Alert)
    assert alert.level == "emergency" and alert.kind == "report"  # type: ignore[attr-defined]
    assert alert.entry_id == sent.report_id  # type: ignore[attr-defined]
    (message,) = rows(db, t.Message)
    assert message.entry_id == sent.report_id  # type: ignore[attr-defined]
    with db.transaction() as s:
        entry = s.get(t.Entry, sent.report_id)
        assert entry is not None and entry.kind == "symptom_report" and entry.origin == "portal"
        assert entry.data["free_text"] == EMERGENCY_WORDS
        assert entry.data["filled_in_by"] == "patient"
        result = repo.report_results(s, [entry.id])[entry.id].result
    assert result["level"] == "emergency" and result["filled_in_by"] == "patient"


def test_a_denied_symptom_files_nothing_and_a_mild_one_gets_a_task_the_reply_closes(
    db: Database, settings: Settings, people: dict[str, str]
) -> None:
    pid = "pat-calm"  # without the example record's raised calcium (an urgent on its own)
    with db.transaction() as s:
        team = repo.get_or_create_team(s, "Team A")
        repo.create_patient(s, calm_record(pid), team_id=team.id, display_name="Calm", mrn="C")
        accounts.create_user(s, username="calm", password=PASSWORD, role="patient", patient_id=pid)
    patient, nurse = user(db, "calm"), user(db, "nurse-a")
    # A check-in first, so the record's standing alerts (its labs, its monitoring) are open and
    # the message's report brings no news of its own.
    first = filing.submit_report(db, settings, patient, pid, {"symptoms": []})
    assert first.alert_id is not None
    reports_before = len(reports(db))
    denied = messages.send(db, settings, patient, pid, "No leg weakness at all, just a question")
    assert denied.filed is None and len(reports(db)) == reports_before
    mild = messages.send(db, settings, patient, pid, "I have had a bit of a headache today")
    assert mild.filed is not None and mild.filed.result is not None
    assert mild.filed.result.level.value == "routine" and mild.filed.alert_id is None
    assert len(reports(db)) == reports_before + 1
    # Below the alert level: the one filing path opens its task to read the words.
    assert mild.filed.message_task is not None
    task = tasks(db)
    assert [(a.entry_id, a.acknowledged_at) for a in task] == [(mild.report_id, None)]
    messages.reply(db, nurse, pid, "Sorry to hear that; paracetamol is fine, call if it worsens.")
    (closed,) = tasks(db)
    assert closed.acknowledged_by == nurse.id
    assert closed.action_taken == "Answered in secure messages by nurse-a"


def reports(db: Database) -> list[t.Entry]:
    with db.transaction() as s:
        found = list(s.scalars(select(t.Entry).where(t.Entry.kind == "symptom_report")))
        s.expunge_all()
        return found


def tasks(db: Database) -> list[t.Alert]:
    with db.transaction() as s:
        found = list(s.scalars(select(t.Alert).where(t.Alert.kind == "message")))
        s.expunge_all()
        return found


@pytest.mark.parametrize("body", ["", "   \n ", "x" * (messages.MAX_BODY + 1), "a\x00b"])
def test_a_bad_message_is_refused_naming_the_field_and_nothing_is_stored(
    db: Database, settings: Settings, people: dict[str, str], body: str
) -> None:
    with pytest.raises(InputError) as caught:
        messages.send(db, settings, user(db, "user-a"), people["a"], body)
    assert caught.value.field == "body"
    with pytest.raises(InputError):
        messages.reply(db, user(db, "nurse-a"), people["a"], body)
    assert rows(db, t.Message) == []
    with db.transaction() as s:
        invalid = [e for e in repo.audit_events(s, patient_id=people["a"]) if e.action == "invalid"]
    assert len(invalid) == 2 and all("body" in e.what for e in invalid)


@pytest.mark.parametrize(
    ("who", "target", "action"),
    [
        ("user-a", "b", "send"),
        ("carer-a", "b", "send"),
        ("carer-a", "b", "thread"),
        ("carer-b", "a", "thread"),
        ("nurse-b", "a", "reply"),
        ("nurse-b", "a", "thread"),
        ("nurse-a", "a", "send"),  # the team replies; it does not write as the patient
        ("user-a", "a", "reply"),  # a patient cannot write as the team
        ("carer-a", "a", "reply"),
        ("carer-a", "a", "mark_read"),
    ],
)
def test_each_refusal_is_audited_and_looks_like_a_missing_record(
    db: Database,
    settings: Settings,
    carers: dict[str, str],
    who: str,
    target: str,
    action: str,
) -> None:
    me, pid = user(db, who), carers[target]
    calls = {
        "send": lambda: messages.send(db, settings, me, pid, "hello"),
        "thread": lambda: messages.thread(db, me, pid),
        "reply": lambda: messages.reply(db, me, pid, "hello"),
        "mark_read": lambda: messages.mark_read(db, me, pid),
    }
    with pytest.raises(care.AccessDenied):
        calls[action]()
    assert rows(db, t.Message) == []
    with db.transaction() as s:
        denied = [e for e in repo.audit_events(s, patient_id=pid) if e.action == "denied"]
    assert [e.username for e in denied] == [who]


def test_a_carer_checks_in_and_writes_for_their_patient_under_their_own_name(
    db: Database, settings: Settings, carers: dict[str, str]
) -> None:
    pid = carers["a"]
    carer = user(db, "carer-a")
    # Step 1 with an emergency ticked files at once, as for the patient.
    started = check_in_service.start(
        db, settings, carer, pid, ["limb_weakness:legs", "back_pain:mid_back"], []
    )
    assert started.filed is not None and started.filed.result is not None
    assert started.filed.result.level.value == "emergency"
    done = check_in_service.finish(
        db, settings, carer, pid, {"symptoms": [{"code": "limb_weakness", "site": "legs"}]}
    )
    with db.transaction() as s:
        entry = s.get(t.Entry, done.entry_ids[-1])
        assert entry is not None
        assert entry.data["filled_in_by"] == "carer" and entry.created_by == carer.id
        trail = repo.audit_events(s, patient_id=pid)
    assert {e.username for e in trail if e.what == "write symptom report"} == {"carer-a"}
    # A carer may send only the portal's lab values, marked as reported by the patient's side.
    with pytest.raises(InputError) as caught:
        filing.submit_report(
            db, settings, carer, pid,
            {"symptoms": [], "labs": [{"code": "creatinine", "value": 80, "unit": "umol/L"}]},
        )  # fmt: skip
    assert caught.value.field == "labs[0].code"
    sent = messages.send(db, settings, carer, pid, "Mum is much more confused and very sleepy")
    assert sent.filed is not None  # a red flag in a carer's words is filed like the patient's
    thread = messages.thread(db, user(db, "nurse-a"), pid)
    assert (thread[-1].author, thread[-1].author_role) == ("Carer A", "carer")
    # Reports by the patient are told apart from the carer's.
    mine = filing.submit_report(db, settings, user(db, "user-a"), pid, {"symptoms": []})
    with db.transaction() as s:
        own = s.get(t.Entry, mine.entry_ids[-1])
        assert own is not None and own.data["filled_in_by"] == "patient"


def test_a_carer_account_needs_a_patient_and_sees_only_that_one(
    db: Database, settings: Settings, carers: dict[str, str]
) -> None:
    with db.transaction() as s, pytest.raises(accounts.AccountError) as caught:
        accounts.create_user(s, username="carer-x", password=PASSWORD, role="carer")
    assert caught.value.field == "patient"
    carer = user(db, "carer-a")
    assert carer.role == "carer" and carer.patient_id == carers["a"]
    with pytest.raises(care.AccessDenied):
        care.patient_view(db, settings, carer, carers["b"])
    with pytest.raises(care.AccessDenied):
        care.worklist(db, settings, carer)
    assert care.patient_view(db, settings, carer, carers["a"]).patient.id == carers["a"]
