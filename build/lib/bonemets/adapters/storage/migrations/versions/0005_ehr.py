"""EHR integration: the patient's FHIR id as a column, CDS Hooks client JWTs seen (replay window),
cards that can be overridden and the feedback on them, SMART launches in progress, and the EHR
identities mapped to our users.

`patients.fhir_id` is the id of the patient's FHIR Patient resource (a UUID derived from the
patient id): kept as an indexed column so a FHIR read or search finds its one patient with one
query instead of deriving the id of every patient of the team.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The exporter's namespace for FHIR ids (adapters/fhir/exporter.py), copied so this migration
# keeps computing what it computed when it was written.
_NAMESPACE = uuid.UUID("6f1c1f9e-3b9a-5d3e-9a51-bf0e2c7a4d10")


def patient_fhir_id(patient_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{patient_id}\x1fpatient\x1f0"))


def upgrade() -> None:
    # A plain ADD COLUMN and a unique index, never a batch copy of `patients`: on SQLite a batch
    # operation drops and recreates the table, and with foreign keys on, dropping it would
    # cascade-delete every patient's entries, alerts and statuses.
    op.add_column("patients", sa.Column("fhir_id", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    patients = sa.table("patients", sa.column("id", sa.String), sa.column("fhir_id", sa.String))
    ids = [row[0] for row in bind.execute(sa.select(patients.c.id))]
    for pid in ids:
        bind.execute(
            patients.update().where(patients.c.id == pid).values(fhir_id=patient_fhir_id(pid))
        )
    op.create_index("ix_patients_fhir_id", "patients", ["fhir_id"], unique=True)

    op.create_table(
        "cds_jwt_seen",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_cds_jwt_seen_expires_at", "cds_jwt_seen", ["expires_at"])
    op.create_table(
        "cds_cards",
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("hook_instance", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("ehr_patient", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uuid"),
    )
    json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("card_uuid", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("accepted_suggestions", json, nullable=False),
        sa.Column("reason_system", sa.String(length=500), nullable=True),
        sa.Column("reason_code", sa.String(length=200), nullable=True),
        sa.Column("reason_display", sa.Text(), nullable=True),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cds_feedback_card", "cds_feedback", ["card_uuid"])
    op.create_table(
        "smart_launches",
        sa.Column("state", sa.String(length=128), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("launch", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state"),
    )
    op.create_index("ix_smart_launches_expires_at", "smart_launches", ["expires_at"])
    op.create_table(
        "ehr_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "subject", name="uq_ehr_identities"),
    )
    op.create_index("ix_ehr_identities_user_id", "ehr_identities", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_ehr_identities_user_id", table_name="ehr_identities")
    op.drop_table("ehr_identities")
    op.drop_index("ix_smart_launches_expires_at", table_name="smart_launches")
    op.drop_table("smart_launches")
    op.drop_index("ix_cds_feedback_card", table_name="cds_feedback")
    op.drop_table("cds_feedback")
    op.drop_table("cds_cards")
    op.drop_index("ix_cds_jwt_seen_expires_at", table_name="cds_jwt_seen")
    op.drop_table("cds_jwt_seen")
    op.drop_index("ix_patients_fhir_id", table_name="patients")
    op.drop_column("patients", "fhir_id")  # SQLite 3.35+ drops a column in place
