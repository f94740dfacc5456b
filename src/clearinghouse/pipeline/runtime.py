"""Everything an entrypoint needs, built once from the settings: database, blobs, clock, limits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from clearinghouse.core.clock import Clock, SystemClock
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.infra.blobs import BlobStore
from clearinghouse.infra.db import Database, alembic_config
from clearinghouse.infra.settings import Settings
from clearinghouse.validation.reproduce import BuildCache, ReproduceConfig, Reproducer
from clearinghouse.validation.sandbox import select_sandbox


@dataclass
class Runtime:
    settings: Settings
    db: Database
    blobs: BlobStore
    clock: Clock = field(default_factory=SystemClock)
    _reproducer: Reproducer | None = field(default=None, init=False, repr=False)
    _reproducer_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

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

    def reproducer(self) -> Reproducer:
        """The sandbox and build cache, made on first use: choosing the sandbox probes
        bubblewrap, and a process that never validates should not pay for (or fail on) it."""
        with self._reproducer_lock:
            if self._reproducer is None:
                settings = self.settings
                self._reproducer = Reproducer(
                    sandbox=select_sandbox(allow_unisolated=settings.validation_allow_unisolated),
                    builds=BuildCache(settings.build_dir.resolve()),
                    work_root=settings.run_dir.resolve(),
                    config=ReproduceConfig(
                        repetitions=settings.validation_repetitions,
                        compiler=settings.validation_compiler,
                        python=settings.validation_python,
                    ),
                )
            return self._reproducer

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
