"""Everything an entrypoint needs, built once from the settings: database, blobs, clock, limits,
the sandboxed reproducer and the dispatcher that hands queued runs to workers."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from alembic.script import ScriptDirectory
from kombu.exceptions import KombuError
from sqlalchemy import inspect, text

from clearinghouse.core.clock import Clock, SystemClock
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.infra.blobs import BlobStore
from clearinghouse.infra.broker import CeleryDispatcher, celery_app
from clearinghouse.infra.db import Database, alembic_config
from clearinghouse.infra.jobs import Dispatcher
from clearinghouse.infra.settings import Settings
from clearinghouse.validation.reproduce import BuildCache, ReproduceConfig, Reproducer
from clearinghouse.validation.sandbox import select_sandbox

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    blobs: BlobStore
    clock: Clock = field(default_factory=SystemClock)
    _reproducer: Reproducer | None = field(default=None, init=False, repr=False)
    _reproducer_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    # Set by whoever runs workers in this process (the API server's pool); otherwise made from
    # ``broker_url`` on first use, or absent (queued runs wait for ``validation work``).
    dispatcher: Dispatcher | None = field(default=None, repr=False)

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

    def dispatch(self, job_id: int) -> bool:
        """Hand a queued run to a worker; false when nothing in reach runs workers."""
        if self.dispatcher is None and self.settings.broker_url:
            app = celery_app(
                self.settings.broker_url,
                queue=self.settings.broker_queue,
                lease_s=self.settings.validation_lease_s,
            )
            self.dispatcher = CeleryDispatcher(app)
        if self.dispatcher is None:
            return False
        try:
            self.dispatcher.submit(job_id)
        except (OSError, KombuError) as error:
            # The run is committed as queued; a worker's start-up sweep sends it later.
            logger.error("could not hand job %s to the broker: %s", job_id, error)
            return False
        return True

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
