"""advisories, inventories and exploitation signals (KEV, EPSS)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 11:47:55
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advisories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("osv_id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("modified", sa.String(length=64), nullable=True),
        sa.Column("withdrawn", sa.String(length=64), nullable=True),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("osv_id"),
    )
    op.create_table(
        "epss_scores",
        sa.Column("cve", sa.String(length=32), nullable=False),
        sa.Column("epss", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=False),
        sa.Column("score_date", sa.String(length=10), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cve"),
    )
    op.create_table(
        "kev_entries",
        sa.Column("cve", sa.String(length=32), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("date_added", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("ransomware", sa.Boolean(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cve"),
    )
    op.create_table(
        "inventories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=500), nullable=False),
        sa.Column("product_version", sa.String(length=200), nullable=True),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("spec_version", sa.String(length=16), nullable=True),
        sa.Column("serial", sa.String(length=500), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("components", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inventories", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inventories_org_product", ["organization_id", "product", "current"], unique=False
        )

    op.create_table(
        "inventory_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inventory_id", sa.Integer(), nullable=False),
        sa.Column("purl", sa.Text(), nullable=True),
        sa.Column("ecosystem", sa.String(length=64), nullable=True),
        sa.Column("package", sa.String(length=500), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=True),
        sa.Column("cpes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inventory_id"],
            ["inventories.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inventory_components", schema=None) as batch_op:
        batch_op.create_index("ix_inventory_components_inventory", ["inventory_id"], unique=False)
        batch_op.create_index(
            "ix_inventory_components_package", ["ecosystem", "package"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inventory_components", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_components_package")
        batch_op.drop_index("ix_inventory_components_inventory")

    op.drop_table("inventory_components")
    with op.batch_alter_table("inventories", schema=None) as batch_op:
        batch_op.drop_index("ix_inventories_org_product")

    op.drop_table("inventories")
    op.drop_table("kev_entries")
    op.drop_table("epss_scores")
    op.drop_table("advisories")
