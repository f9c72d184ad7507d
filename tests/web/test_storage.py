"""Storage on a real database (SQLite and PostgreSQL): the record survives the round trip, and a
failed write leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bonemets.adapters.storage import repository as repo
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.db import upgrade
from bonemets.adapters.storage.records import canonical
from bonemets.adapters.storage.repository import Database
from bonemets.core.record import BmaDose
from tests.web.conftest import example_record


def count(db: Database, table: type[t.Base]) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_record_round_trip_is_exact(db: Database) -> None:
    record = example_record("p1")
    with db.transaction() as s:
        team = repo.get_or_create_team(s, "T")
        repo.create_patient(s, record, team_id=team.id, display_name="P One")
    with db.transaction() as s:
        assert repo.load_record(s, "p1") == canonical(record)


def test_a_failed_unit_of_work_leaves_nothing(db: Database) -> None:
    with db.transaction() as s:
        team = repo.get_or_create_team(s, "T")
        repo.create_patient(s, example_record("p1"), team_id=team.id, display_name="P")
    before = count(db, t.Entry)
    with pytest.raises(RuntimeError), db.transaction() as s:
        repo.add_entry(
            s,
            "p1",
            "bma_dose",
            BmaDose.model_validate({"agent": "denosumab", "date": "2026-11-01"}),
            created_by=None,
        )
        raise RuntimeError("boom after the first write")
    assert count(db, t.Entry) == before


def test_creating_a_patient_with_a_duplicate_id_stores_nothing(db: Database) -> None:
    with db.transaction() as s:
        team = repo.get_or_create_team(s, "T")
        repo.create_patient(s, example_record("p1"), team_id=team.id, display_name="P")
    before = (count(db, t.Patient), count(db, t.Entry))
    with pytest.raises(Exception), db.transaction() as s:  # noqa: B017 (driver-specific error)
        repo.create_patient(s, example_record("p1"), team_id=team.id, display_name="again")
    assert (count(db, t.Patient), count(db, t.Entry)) == before


def test_migrations_are_idempotent(db: Database) -> None:
    upgrade(db.engine)
    upgrade(db.engine)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(t.Team)) == 0


def test_sqlite_uses_wal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()


def test_the_migrations_build_the_schema_the_models_describe(db: Database) -> None:
    """Alembic's own comparison of the migrated database with the models finds nothing to add,
    drop or alter (a model changed without a migration, or a migration that differs from it)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, t.Base.metadata)
    assert differences == []
