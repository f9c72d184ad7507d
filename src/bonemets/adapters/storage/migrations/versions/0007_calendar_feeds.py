"""Calendar feeds: a patient's private, revocable calendar subscription (issue 20 item 4).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "patient_id",
            sa.String(64),
            sa.ForeignKey("patients.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("last_used_at", TZ, nullable=True),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_calendar_feeds_patient_id", "calendar_feeds", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_calendar_feeds_patient_id", table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
