"""validation runs and registered targets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:09:51.267556
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "digest"),
    )
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_targets_name"), ["name"], unique=False)

    op.create_table(
        "validation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("repetitions", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=True),
        sa.Column("reproductions", sa.Integer(), nullable=True),
        sa.Column("sanitizer", sa.String(length=64), nullable=True),
        sa.Column("crash_type", sa.String(length=300), nullable=True),
        sa.Column("crash_state", sa.Text(), nullable=True),
        sa.Column("security", sa.Boolean(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("signature", sa.String(length=64), nullable=True),
        sa.Column("isolation", sa.String(length=100), nullable=True),
        sa.Column("log", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["targets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("validation_runs", schema=None) as batch_op:
        batch_op.create_index("ix_validation_runs_finding", ["finding_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_validation_runs_signature"), ["signature"], unique=False
        )
        batch_op.create_index("ix_validation_runs_status", ["status"], unique=False)
        batch_op.create_index("ix_validation_runs_target", ["target_id", "verdict"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("validation_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_validation_runs_target")
        batch_op.drop_index("ix_validation_runs_status")
        batch_op.drop_index(batch_op.f("ix_validation_runs_signature"))
        batch_op.drop_index("ix_validation_runs_finding")

    op.drop_table("validation_runs")
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_targets_name"))

    op.drop_table("targets")
