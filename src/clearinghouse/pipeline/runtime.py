"""Everything an entrypoint needs, built once from the settings: database, blobs, clock, limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from clearinghouse.core.clock import Clock, SystemClock
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.infra.blobs import BlobStore
from clearinghouse.infra.db import Database, alembic_config
from clearinghouse.infra.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    blobs: BlobStore
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        db = Database(settings.resolved_database_url)
        return cls(
            settings=settings,
            db=db,
            blobs=BlobStore(settings.blob_dir),
            clock=clock or SystemClock(),
        )

    @property
    def limits(self) -> ReadLimits:
        return ReadLimits(
            max_string_chars=self.settings.max_string_chars,
            max_proof_chars=self.settings.max_proof_chars,
        )

    def ensure_schema(self) -> None:
        """Migrate to the newest schema unless the database is already there (cheap check)."""
        head = ScriptDirectory.from_config(alembic_config(self.db.url)).get_current_head()
        with self.db.engine.connect() as connection:
            if inspect(connection).has_table("alembic_version"):
                current = connection.execute(text("SELECT version_num FROM alembic_version"))
                if current.scalar() == head:
                    return
        self.db.migrate()

    def close(self) -> None:
        self.db.dispose()
