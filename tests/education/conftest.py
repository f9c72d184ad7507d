"""The web test fixtures (SQLite, and PostgreSQL when configured) for the route tests."""

from __future__ import annotations

from tests.web.conftest import db, db_url, people, pg_database, settings

__all__ = ["db", "db_url", "people", "pg_database", "settings"]
