"""The worklist's top-alert message as a column of the status cache.

The worklist showed `summary.alerts[0].message`, read out of each patient's assessment JSON by
the database on every worklist request; kept as a column it is read like the others.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("top_alert", sa.Text(), nullable=True))
    # Fill it for the statuses already stored, from their assessment JSON.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE patient_status SET top_alert = summary -> 'alerts' -> 0 ->> 'message'")
    else:
        op.execute(
            "UPDATE patient_status SET top_alert = json_extract(summary, '$.alerts[0].message')"
        )


def downgrade() -> None:
    with op.batch_alter_table("patient_status", schema=None) as batch_op:
        batch_op.drop_column("top_alert")
