"""audit events by object

The vulnerability page's timeline reads the merges and splits of one vulnerability from the
audit log, which grows with every restricted read: an index on what each event is about keeps
that read from scanning the whole log.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 21:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_object", "audit_events", ["object_type", "object_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_object", table_name="audit_events")
