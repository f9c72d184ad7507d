"""Security: login throttle counters, TOTP second factor, session idle time, audit hash chain.

- login_throttle replaces login_attempts: one counter row per key, updated atomically (the old
  count-then-insert could be raced past its limit).
- users.totp_secret / totp_last_step: the optional second factor.
- sessions.last_seen_at: for the idle timeout (existing sessions count from their start).
- audit_log.client, seq, prev_hash, hash and the audit_head row: rows already stored are chained
  here, in id order, with the same hash as the app computes (adapters/storage/audit_chain.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bonemets.adapters.storage.audit_chain import GENESIS, row_hash

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_failure_at", TZ, nullable=True),
        sa.Column("blocked_until", TZ, nullable=True),
    )
    op.drop_index("ix_login_attempts_key_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", TZ, nullable=True))
    op.execute("UPDATE sessions SET last_seen_at = created_at")
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("client", sa.String(64), nullable=True))
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    op.create_index("ix_audit_seq", "audit_log", ["seq"], unique=True)
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    seq, last = _chain_existing_rows()
    op.bulk_insert(head, [{"id": 1, "seq": seq, "hash": last}])


def _chain_existing_rows() -> tuple[int, str]:
    bind = op.get_bind()
    # Typed as the app's model, so values come back as the app reads them (the hash is over
    # those: a datetime, not SQLite's text of it).
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("at", TZ),
        sa.column("user_id", sa.Integer()),
        *(sa.column(name, sa.String()) for name in ("username", "action", "patient_id")),
        sa.column("what", sa.Text()),
        sa.column("allowed", sa.Boolean()),
        *(sa.column(name, sa.String()) for name in ("client", "prev_hash", "hash")),
        sa.column("seq", sa.BigInteger()),
    )
    update = (
        sa.update(log)
        .where(log.c.id == sa.bindparam("row_id"))
        .values(seq=sa.bindparam("new_seq"), prev_hash=sa.bindparam("prev"), hash=sa.bindparam("h"))
    )
    seq, prev = 0, GENESIS
    rows = bind.execute(sa.select(log).order_by(log.c.id)).mappings().all()
    batch: list[dict[str, object]] = []
    for row in rows:
        seq += 1
        values = {**row, "seq": seq}
        digest = row_hash(values, prev)
        batch.append({"row_id": row["id"], "new_seq": seq, "prev": prev, "h": digest})
        prev = digest
        if len(batch) >= 1000:
            bind.execute(update, batch)
            batch = []
    if batch:
        bind.execute(update, batch)
    return seq, prev


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_index("ix_audit_seq", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        for name in ("hash", "prev_hash", "seq", "client"):
            batch.drop_column(name)
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
    op.drop_table("login_throttle")
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_login_attempts_key_at", "login_attempts", ["key", "at"])
