"""triage queue indexes

The triage queue counts the vulnerabilities a viewer may see by testing each one's findings'
TLP, owner and submission: with those columns in the index that test never reads a findings
row (the index replaces the one on ``vulnerability_id`` alone, its prefix). A search of titles
and aliases scans the distinct contents and then finds their occurrences by digest.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 20:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_findings_visibility",
        "findings",
        ["vulnerability_id", "tlp", "organization_id", "submission_id"],
        unique=False,
    )
    op.drop_index("ix_findings_vulnerability", table_name="findings")
    op.create_index("ix_findings_content", "findings", ["content_digest"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_findings_content", table_name="findings")
    op.create_index("ix_findings_vulnerability", "findings", ["vulnerability_id"], unique=False)
    op.drop_index("ix_findings_visibility", table_name="findings")
