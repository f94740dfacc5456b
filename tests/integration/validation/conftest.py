"""Fixtures for tests that run proofs in the real sandbox.

The sandbox runs as an unprivileged uid, which must be able to reach the data directory; pytest's
own temporary directories are 0700, so these tests use a 0755 directory of their own.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from clearinghouse.infra.settings import Settings
from tests.conftest import POSTGRES_URL, _reset_postgres


@pytest.fixture
def searchable() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="clearinghouse-sandboxed-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def settings(searchable: Path) -> Settings:
    """Overrides the suite's ``settings`` with a data directory the sandbox can reach."""
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    return Settings(data_dir=searchable / "data", database_url=POSTGRES_URL)
