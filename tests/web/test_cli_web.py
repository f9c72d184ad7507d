"""The CLI's web commands: demo database, user add, db upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.repository import Database
from bonemets.faces.cli.main import app

runner = CliRunner()


def test_demo_builds_a_cohort_with_logins_and_alerts(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--no-serve", "--patients", "20", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "nurse" in result.stdout and "patient" in result.stdout
    db = Database(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(t.Patient)) == 20
        assert s.scalar(select(func.count()).select_from(t.PatientStatus)) == 20
        assert (s.scalar(select(func.count()).select_from(t.Alert)) or 0) >= 1
        nurse = repo.user_by_name(s, "nurse")
        patient = repo.user_by_name(s, "patient")
        assert nurse is not None and nurse.role == "clinician"
        assert patient is not None and patient.patient_id is not None
        status = s.get(t.PatientStatus, patient.patient_id)
        assert status is not None and status.level_rank <= 1  # a calm patient for the walkthrough
    db.dispose()


def test_user_add_and_db_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    monkeypatch.setenv("BONEMETS_DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    ok = runner.invoke(
        app,
        ["user", "add", "dr.smith", "--role", "clinician", "--team", "Breast", "--password-stdin"],
        input="a long enough password\n",
    )
    assert ok.exit_code == 0, ok.output
    short = runner.invoke(
        app,
        ["user", "add", "dr.jones", "--role", "clinician", "--team", "B", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code == 2 and "password" in short.stderr
    taken = runner.invoke(
        app,
        ["user", "add", "dr.smith", "--role", "clinician", "--team", "B", "--password-stdin"],
        input="a long enough password\n",
    )
    assert taken.exit_code == 2 and "username" in taken.stderr
    orphan = runner.invoke(
        app,
        ["user", "add", "pat", "--role", "patient", "--patient", "nobody", "--password-stdin"],
        input="a long enough password\n",
    )
    assert orphan.exit_code == 2 and "patient" in orphan.stderr
    db = Database(url)
    with db.transaction() as s:
        user = repo.user_by_name(s, "dr.smith")
        assert user is not None and user.password_hash.startswith("$argon2id$")
    db.dispose()


def test_user_link_ehr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    monkeypatch.setenv("BONEMETS_DATABASE_URL", url)
    runner.invoke(
        app,
        ["user", "add", "dr.smith", "--role", "clinician", "--team", "Breast", "--password-stdin"],
        input="a long enough password\n",
    )
    iss = "https://ehr.example.org/fhir"
    command = ["user", "link-ehr", "dr.smith", "--issuer", iss, "--subject", "Practitioner/7"]
    linked = runner.invoke(app, command)
    assert linked.exit_code == 0, linked.output
    missing = runner.invoke(app, ["user", "link-ehr", "nobody", "--issuer", iss, "--subject", "x"])
    assert missing.exit_code == 2 and "username" in missing.stderr
    from bonemets.service import ehr

    db = Database(url)
    user = ehr.user_for(db, iss, ["Practitioner/7"])
    assert user is not None and user.username == "dr.smith"
    assert ehr.user_for(db, "https://other.example/fhir", ["Practitioner/7"]) is None
    db.dispose()
