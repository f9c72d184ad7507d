"""The audit log: what is recorded (refusals, sign-ins and -outs, exports), that refusals
outlive the request's rollback, the hash chain (a changed or deleted row is found, concurrent
writers keep one chain), the admin page and `bonemets audit`."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.db import make_engine, upgrade
from bonemets.adapters.storage.repository import Database
from bonemets.faces.cli.main import app as cli
from tests.security.conftest import sign_in

CSRF = "X-CSRF-Token"


def _actions(db: Database) -> Counter[str]:
    with db.transaction() as s:
        return Counter(e.action for e in repo.audit_events(s, limit=10_000))


def test_refusals_sign_ins_and_exports_are_recorded(client: TestClient, db: Database) -> None:
    assert client.post("/api/session", json={"username": "nurse-a", "password": "nope nope nope"})
    csrf = sign_in(client, "nurse-a")
    client.post("/api/patients/pat-a/entries/dental_exam", json={"date": "2026-11-20"})  # no CSRF
    client.post(
        "/api/patients/pat-a/entries/dental_exam", json={"date": "1800-01-01"}, headers={CSRF: csrf}
    )
    client.get("/api/patients/pat-b/record")
    client.get("/api/patients/pat-a/assessment?as_of=not-a-date")
    client.get("/patients/pat-a/careplan.pdf")
    client.post("/logout", data={"csrf_token": "wrong"})
    client.post("/logout", data={"csrf_token": csrf})
    counted = _actions(db)
    for action in ("login_failed", "login", "csrf_failed", "invalid", "denied", "export", "logout"):
        assert counted[action] >= 1, (action, counted)
    assert counted["csrf_failed"] == 2 and counted["invalid"] == 2
    with db.transaction() as s:
        rows = repo.audit_events(s, limit=10_000)
    assert all(r.client == "testclient" for r in rows if r.action != "login_limited")
    refused = [r for r in rows if r.action in ("csrf_failed", "invalid", "denied")]
    assert all(not r.allowed and r.username == "nurse-a" for r in refused)


def test_a_refusal_outlives_the_rollback_of_its_request(client: TestClient, db: Database) -> None:
    """The report is refused inside the request's transaction (rolled back, nothing stored);
    the audit row saying so stays."""
    csrf = sign_in(client, "user-a")
    lab = {"code": "calcium_total", "value": 2.4, "unit": "mmol/L", "date": "0001-01-01"}
    bad = {"symptoms": [{"code": "fever"}], "labs": [lab]}
    with db.transaction() as s:
        before = s.scalar(select(func.count()).select_from(t.Entry))
    answer = client.post("/api/patients/pat-a/reports", json=bad, headers={CSRF: csrf})
    assert answer.status_code == 422
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(t.Entry)) == before
        invalid = [e for e in repo.audit_events(s) if e.action == "invalid"]
    assert len(invalid) == 1 and "labs[0].date" in invalid[0].what
    assert invalid[0].patient_id == "pat-a" and invalid[0].username == "user-a"


def _write_rows(db: Database, n: int, tag: str) -> None:
    for i in range(n):
        with db.transaction() as s:
            repo.audit(s, user=None, action="read", what=f"{tag} {i}")


def test_the_chain_holds_and_finds_a_changed_row(db: Database) -> None:
    _write_rows(db, 12, "row")
    with db.transaction() as s:
        report = repo.verify_audit_chain(s)
        assert report.ok and report.rows == 12 and report.head_seq == 12
        s.execute(update(t.AuditEvent).where(t.AuditEvent.seq == 5).values(what="nothing here"))
    with db.transaction() as s:
        broken = repo.verify_audit_chain(s)
    assert not broken.ok and broken.problems[0][0] == 5 and "changed" in broken.problems[0][1]


@pytest.mark.parametrize("which", [1, 6, 12])
def test_the_chain_finds_a_deleted_row(db: Database, which: int) -> None:
    _write_rows(db, 12, "row")
    with db.transaction() as s:
        s.execute(delete(t.AuditEvent).where(t.AuditEvent.seq == which))
    with db.transaction() as s:
        report = repo.verify_audit_chain(s)
    assert not report.ok and "missing" in report.problems[0][1]


def test_concurrent_writers_keep_one_chain(db: Database) -> None:
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        start.wait()
        try:
            _write_rows(db, 15, f"writer {k}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with db.transaction() as s:
        report = repo.verify_audit_chain(s)
    assert report.ok, report.problems
    assert report.rows == 90 and report.head_seq == 90


def test_rows_stored_before_the_chain_are_chained_by_the_migration(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0002")
    with engine.begin() as conn:
        for i in range(5):
            conn.exec_driver_sql(
                "INSERT INTO audit_log (at, user_id, username, action, patient_id, what, allowed)"
                f" VALUES ('2026-11-2{i} 10:00:00.000000', 1, 'nurse', 'read', 'p', 'old {i}', 1)"
            )
    upgrade(engine)
    engine.dispose()
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    _write_rows(db, 3, "new")
    with db.transaction() as s:
        report = repo.verify_audit_chain(s)
    db.dispose()
    assert report.ok and report.rows == 8


def test_the_admin_page_reads_and_checks_the_log(client: TestClient, db: Database) -> None:
    sign_in(client, "nurse-a")
    assert client.get("/admin/audit").status_code == 404  # not for clinicians
    client.cookies.clear()
    sign_in(client, "admin")
    page = client.get("/admin/audit?action=denied")
    assert page.status_code == 200 and "read audit log (role clinician)" in page.text
    checked = client.get("/admin/audit?verify=1")
    assert "intact" in checked.text
    assert client.get("/admin/audit?since=yesterday").status_code == 422
    with db.transaction() as s:
        s.execute(update(t.AuditEvent).where(t.AuditEvent.seq == 2).values(what="tampered"))
    assert "problem" in client.get("/admin/audit?verify=1").text


def test_the_cli_lists_and_verifies(
    db: Database, db_url: str, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BONEMETS_DATABASE_URL", db_url)
    _write_rows(db, 3, "cli")
    runner = CliRunner()
    listed = runner.invoke(cli, ["audit", "list", "--json", "--limit", "2"])
    assert listed.exit_code == 0, listed.output
    assert '"what": "cli 2"' in listed.output
    verified = runner.invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 0 and "intact" in verified.output
    with db.transaction() as s:
        s.execute(delete(t.AuditEvent).where(t.AuditEvent.what == "cli 1"))
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1 and "missing" in broken.output


def test_cli_second_factor_password_and_sign_out(
    db: Database, db_url: str, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyotp

    from bonemets.service import accounts

    monkeypatch.setenv("BONEMETS_DATABASE_URL", db_url)
    secret = pyotp.random_base32()
    monkeypatch.setattr(accounts, "new_totp_secret", lambda: secret)
    runner = CliRunner()
    code = pyotp.TOTP(secret).now()
    wrong = runner.invoke(cli, ["user", "totp", "nurse-a", "--code-stdin"], input="000000\n")
    assert wrong.exit_code == 2 and "does not match" in wrong.output
    done = runner.invoke(cli, ["user", "totp", "nurse-a", "--code-stdin"], input=f"{code}\n")
    assert done.exit_code == 0 and secret in done.output, done.output
    patient = runner.invoke(cli, ["user", "totp", "user-a", "--code-stdin"], input=f"{code}\n")
    assert patient.exit_code == 2
    weak = runner.invoke(cli, ["user", "password", "nurse-a", "--password-stdin"], input="a" * 12)
    assert weak.exit_code == 2 and "easy to guess" in weak.output
    good = runner.invoke(
        cli, ["user", "password", "nurse-a", "--password-stdin"], input="mauve tugboat seventeen\n"
    )
    assert good.exit_code == 0
    assert runner.invoke(cli, ["user", "sign-out", "nurse-b"]).exit_code == 0
    assert runner.invoke(cli, ["user", "totp", "nurse-a", "--disable"]).exit_code == 0
    with db.transaction() as s:
        user = repo.user_by_name(s, "nurse-a")
        assert user is not None and user.totp_secret is None
    counted = _actions(db)
    assert counted["totp_enabled"] == 1 and counted["totp_disabled"] == 1
    assert counted["password_changed"] == 1 and counted["logout_all"] == 1
