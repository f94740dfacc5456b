"""Fixtures for evaluation tests that grade in the real bubblewrap sandbox.

One grader per session: its build cache is shared, so each target (and each patched tree) is
built once however many tests grade answers on it. Without bubblewrap, gcc or patch these
tests skip with the reason, except under CI (``$CI`` set), where they fail: CI must run them.
The sandbox's unprivileged uid cannot search pytest's 0700 temporary directories, so the
builds and runs live under a 0755 directory of their own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from clearinghouse.evaluation.grading import Grader
from clearinghouse.evaluation.tasks import Suite, load_suite, starter_suite_dir
from clearinghouse.validation.reproduce import BuildCache, ReproduceConfig, Reproducer
from clearinghouse.validation.sandbox import Sandbox, SandboxUnavailableError, select_sandbox

COMPILER = "gcc"


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def eval_sandbox() -> Sandbox:
    for tool in ("bwrap", COMPILER, "patch"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    try:
        return select_sandbox(allow_unisolated=False)
    except SandboxUnavailableError as error:
        unavailable(f"bubblewrap cannot run here: {error.detail}")


@pytest.fixture(scope="session")
def eval_root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="clearinghouse-evaluation-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def reproducer(eval_sandbox: Sandbox, eval_root: Path) -> Reproducer:
    return Reproducer(
        sandbox=eval_sandbox,
        builds=BuildCache(eval_root / "builds"),
        work_root=eval_root / "runs",
        config=ReproduceConfig(repetitions=1, compiler=COMPILER),
    )


@pytest.fixture(scope="session")
def grader(reproducer: Reproducer) -> Grader:
    return Grader(reproducer, repetitions=1)


@pytest.fixture(scope="session")
def starter() -> Suite:
    return load_suite(starter_suite_dir())


@pytest.fixture
def searchable() -> Iterator[Path]:
    """A fresh 0755 directory the sandbox's uid can reach (a data directory for flows)."""
    path = Path(tempfile.mkdtemp(prefix="clearinghouse-eval-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
