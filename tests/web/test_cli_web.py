"""The CLI's web commands: demo database, user add, db upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update
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
    db = Database(f"sqlite:///{tmp_path / 'bonemets.sqlite3'}")  # the default database
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


def test_demo_is_the_database_the_other_commands_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo builds the data folder's default database: careplan and calendar then find the
    demo patients (they used to read another, empty, file)."""
    monkeypatch.setenv("BONEMETS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BONEMETS_DATABASE_URL", raising=False)
    missing = runner.invoke(app, ["careplan", "DEMO-0001", "--out", str(tmp_path / "p.pdf")])
    assert missing.exit_code == 2 and "no database at" in missing.stderr
    assert not (tmp_path / "bonemets.sqlite3").exists()  # not created empty on the way
    built = runner.invoke(app, ["demo", "--no-serve", "--patients", "3"])
    assert built.exit_code == 0, built.output
    plan = runner.invoke(app, ["careplan", "DEMO-0001", "--out", str(tmp_path / "p.pdf")])
    assert plan.exit_code == 0, plan.output
    assert (tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")
    ics = runner.invoke(app, ["calendar", "DEMO-0003", "--out", str(tmp_path / "f.ics")])
    assert ics.exit_code == 0 and "events" in ics.stdout
    # Rebuilding the demo replaces demo patients only: a database with others is refused.
    db = Database(f"sqlite:///{tmp_path / 'bonemets.sqlite3'}")
    with db.transaction() as s:
        s.execute(update(t.Patient).where(t.Patient.id == "DEMO-0001").values(mrn="MRN-1"))
    db.dispose()
    refused = runner.invoke(app, ["demo", "--no-serve", "--patients", "2"])
    assert refused.exit_code == 2 and "not demo patients" in refused.stderr
    again = runner.invoke(app, ["demo", "--no-serve", "--patients", "2", "--replace"])
    assert again.exit_code == 0, again.output


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
