"""vex statements

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 12:05:33
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vex_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("vulnerability", sa.String(length=200), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("products", sa.Text(), nullable=False),
        sa.Column("subcomponents", sa.Text(), nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("justification", sa.String(length=100), nullable=True),
        sa.Column("impact_statement", sa.Text(), nullable=True),
        sa.Column("action_statement", sa.Text(), nullable=True),
        sa.Column("timestamp", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vex_statements", schema=None) as batch_op:
        batch_op.create_index("ix_vex_statements_organization", ["organization_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vex_statements", schema=None) as batch_op:
        batch_op.drop_index("ix_vex_statements_organization")

    op.drop_table("vex_statements")
