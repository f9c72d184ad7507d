"""Alembic environment: runs migrations on the engine the app handed over (or the URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bonemets.adapters.storage.tables import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # run from the alembic command line
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
