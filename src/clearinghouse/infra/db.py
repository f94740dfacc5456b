"""Database engine, sessions and schema migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every transaction
starts with ``BEGIN IMMEDIATE`` so that two writers serialise at the start instead of failing
half-way (the audit chain and id counters depend on that). PostgreSQL is used as is, except
that it always plans a statement for its values (``plan_cache_mode``); row locks (``SELECT …
FOR UPDATE``) serialise the same places there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    """Declarative base of every ORM model in every domain."""


class Database:
    """An engine plus a session factory; one per process, made at the entrypoint."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {}
        engine_args: dict[str, Any] = {}
        if url.startswith("postgresql"):
            # A server restart leaves every pooled connection dead; a ping on checkout replaces
            # them instead of failing one request per process with a closed connection.
            engine_args["pool_pre_ping"] = True
            # psycopg prepares a statement run five times on a connection, and PostgreSQL then
            # plans it without its values: visibility (TLP labels, owner, grants) and filters
            # planned blind chose plans ten times slower (the triage queue: 0.1 s to 0.9 s).
            # Plans are made for the values every time; the parse is still saved.
            connect_args["options"] = "-c plan_cache_mode=force_custom_plan"
        # Statement parameters hold secrets (a webhook endpoint's signing secret) and restricted
        # content: they stay out of SQL log lines (``echo``, or any logging at INFO) and out of
        # the text of database errors, which end up in logs and tracebacks.
        self.engine: Engine = create_engine(
            url,
            echo=echo,
            future=True,
            hide_parameters=True,
            connect_args=connect_args,
            **engine_args,
        )
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back everything on any exception."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    location = resources.files("clearinghouse.infra") / "migrations"
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
