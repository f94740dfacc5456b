"""Shared fixtures: the public-data corpus beside the checkout, and database factories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path | None:
    """``$CLEARINGHOUSE_CORPUS``, else ``../shared/data`` beside the checkout, if present."""
    configured = os.environ.get("CLEARINGHOUSE_CORPUS")
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"
    return candidate.resolve() if candidate.is_dir() else None


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared data folder; tests that need it skip with a reason when it is absent."""
    found = corpus_dir()
    if found is None:
        pytest.skip("../shared/data is absent (fresh clone): set CLEARINGHOUSE_CORPUS to run")
    return found


# --- database-backed fixtures -------------------------------------------------------------
# Every test gets an empty, freshly migrated database: SQLite in a temporary directory, or the
# PostgreSQL named by $CLEARINGHOUSE_TEST_DATABASE_URL (CI runs the whole suite on both).

from collections.abc import Callable, Iterator  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

from clearinghouse.access import service as access_service  # noqa: E402
from clearinghouse.access.roles import OrgKind, Role, Sector  # noqa: E402
from clearinghouse.infra.settings import Settings  # noqa: E402
from clearinghouse.pipeline.runtime import Runtime  # noqa: E402

POSTGRES_URL = os.environ.get("CLEARINGHOUSE_TEST_DATABASE_URL")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: exercises SQLite-specific behaviour")


_HEAD: list[str] = []


def _head_revision() -> str:
    if not _HEAD:
        from alembic.script import ScriptDirectory

        from clearinghouse.infra.db import alembic_config

        _HEAD.append(
            ScriptDirectory.from_config(alembic_config(POSTGRES_URL or "")).get_current_head() or ""
        )
    return _HEAD[0]


def _reset_postgres(url: str) -> None:
    """An empty database at the newest schema: emptied in place when it is already migrated to
    the head (a TRUNCATE of every table is ten times cheaper than migrating 30 tables again),
    else dropped and left for the test's runtime to migrate."""
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = [
            name
            for (name,) in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        ]
        current = (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if "alembic_version" in tables
            else None
        )
        if current == _head_revision():
            data = ", ".join(f'"{name}"' for name in tables if name != "alembic_version")
            connection.execute(text(f"TRUNCATE {data} RESTART IDENTITY CASCADE"))
        else:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    return Settings(data_dir=tmp_path / "data", database_url=POSTGRES_URL)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.from_settings(settings)
    rt.ensure_schema()
    yield rt
    rt.close()


OrgFactory = Callable[..., int]


@pytest.fixture
def make_org(runtime: Runtime) -> OrgFactory:
    """``make_org("lab-a", kind=OrgKind.AI_LAB)`` -> organization id."""

    def make(name: str, *, kind: OrgKind = OrgKind.AI_LAB, sector: Sector | None = None) -> int:
        with runtime.db.session() as session:
            org = access_service.create_org(
                session, name=name, kind=kind, sector=sector, clock=runtime.clock
            )
            return org.id

    return make


TokenFactory = Callable[..., str]


@pytest.fixture
def make_token(runtime: Runtime) -> TokenFactory:
    """``make_token("lab-a", Role.SUBMITTER)`` -> bearer secret."""

    def make(org: str, role: Role = Role.ADMIN) -> str:
        with runtime.db.session() as session:
            organization = access_service.get_org_by_name_or_raise(session, name=org)
            _, secret = access_service.create_token(
                session, org=organization, role=role, clock=runtime.clock
            )
            return secret

    return make
