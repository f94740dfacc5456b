"""The migrations build exactly the schema the models describe, and run twice harmlessly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from clearinghouse.pipeline.models import Base
from clearinghouse.pipeline.runtime import Runtime


def test_migrated_schema_matches_the_models(runtime: Runtime) -> None:
    with runtime.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrating_again_changes_nothing(runtime: Runtime) -> None:
    runtime.db.migrate()
    runtime.ensure_schema()
    with runtime.db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == "0011"
