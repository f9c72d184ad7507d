"""Migration 0005 (EHR integration) on a database with records: nothing of them is lost (a batch
copy of `patients` on SQLite would cascade-delete its entries), and each patient gets its FHIR
id."""

from __future__ import annotations

from sqlalchemy import func, select, text

from bonemets.adapters.fhir.exporter import patient_fhir_id
from bonemets.adapters.storage import tables as t
from bonemets.adapters.storage.db import alembic_config, make_engine, upgrade
from tests.web.test_read_cache import empty_url  # noqa: F401  (the fixture)


def test_0005_keeps_every_record_and_fills_the_fhir_ids(empty_url: str) -> None:  # noqa: F811
    from alembic import command

    engine = make_engine(empty_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (id, name) VALUES (1, 'T')"))
            for pid in ("p1", "p2"):
                conn.execute(
                    text(
                        "INSERT INTO patients (id, team_id, display_name, profile, created_at, "
                        "updated_at) VALUES (:id, 1, 'P', '{}', :now, :now)"
                    ),
                    {"id": pid, "now": t.utcnow()},
                )
                conn.execute(
                    text(
                        "INSERT INTO entries (patient_id, kind, date, data, created_at) "
                        "VALUES (:id, 'lab', '2026-01-05', '{}', :now)"
                    ),
                    {"id": pid, "now": t.utcnow()},
                )
                conn.execute(
                    t.PatientStatus.__table__.insert().values(
                        patient_id=pid, as_of=t.utcnow().date(), level="urgent", level_rank=3,
                        overdue=0, bma_status="due", next_due=None, summary={},
                        computed_at=t.utcnow(),
                    )
                )  # fmt: skip
        upgrade(engine)
        with engine.begin() as conn:
            assert conn.execute(select(func.count()).select_from(t.Entry)).scalar_one() == 2
            assert conn.execute(select(func.count()).select_from(t.PatientStatus)).scalar_one() == 2
            ids = dict(conn.execute(select(t.Patient.id, t.Patient.fhir_id)).all())
        assert ids == {"p1": patient_fhir_id("p1"), "p2": patient_fhir_id("p2")}
        command.downgrade(alembic_config(engine), "0002")
        with engine.begin() as conn:
            assert conn.execute(select(func.count()).select_from(t.Entry)).scalar_one() == 2
            assert conn.execute(text("SELECT count(*) FROM patients")).scalar_one() == 2
    finally:
        engine.dispose()
