"""The care loop: alerts that fold their repeats and escalate, a notification outbox, check-in
drafts, where each entry came from and override reasons, and each team's alert addresses.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("escalation_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("webhook_url", sa.String(length=500), nullable=True))

    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("override", JSON, nullable=True))

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=24), nullable=False, server_default="report")
        )
        batch_op.add_column(sa.Column("signals", JSON, nullable=True))
        batch_op.add_column(sa.Column("repeats", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "purpose", "channel", "target", name="uq_notification"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_status", ["status"], unique=False)

    op.create_table(
        "check_in_drafts",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("patient_id"),
    )


def downgrade() -> None:
    op.drop_table("check_in_drafts")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_status")
    op.drop_table("notifications")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a batch copy: on SQLite a copy
    # drops the table, which foreign keys refuse (teams) or cascade into other tables' rows.
    for table, columns in (
        ("alerts", ("escalated_at", "last_seen_at", "repeats", "signals", "kind")),
        ("entries", ("override", "origin")),
        ("teams", ("webhook_url", "escalation_email", "alert_email")),
    ):
        for column in columns:
            op.drop_column(table, column)
