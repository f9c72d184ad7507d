"""Storage adapter: SQLAlchemy 2 tables, Alembic migrations and the repository the app uses.

SQLite (WAL) in a data folder by default; PostgreSQL by setting BONEMETS_DATABASE_URL.
"""
