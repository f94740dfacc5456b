"""patch validations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patch_validations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vulnerability_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("diff_sha256", sa.String(length=64), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("repetitions", sa.Integer(), nullable=False),
        sa.Column("runs", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("isolation", sa.String(length=100), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["target_id"], ["targets.id"]),
        sa.ForeignKeyConstraint(["vulnerability_id"], ["vulnerabilities.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("patch_validations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_patch_validations_vulnerability", ["vulnerability_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("patch_validations", schema=None) as batch_op:
        batch_op.drop_index("ix_patch_validations_vulnerability")
    op.drop_table("patch_validations")
