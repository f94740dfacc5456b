"""The stored sanitizer reports match what today's compilers print.

``tests/assets/sanitizer/{gcc,clang,python}/*.txt`` are real outputs of the programs in
``tests/assets/sanitizer/src`` (written for this project). The unit tests parse those files;
this test rebuilds and reruns every program with each compiler that is installed and checks
that the parser reads the fresh output exactly as it reads the stored one, so the stored
reports cannot drift from what sanitizers really print.

Regenerate the stored reports (after changing a program or upgrading a compiler) with::

    .venv/bin/python -m tests.integration.test_sanitizer_reports
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from clearinghouse.validation.crash import CrashReport, parse_report

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "sanitizer"
SOURCES = ASSETS / "src"
COMPILERS = ("gcc", "clang")
CFLAGS = (
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
)
RUN_TIMEOUT_S = 10
# What ClusterFuzz sets too: UBSan prints a stack and stops at the first error; leak checking
# is on only for the leak program, so the others report exactly one bug.
BASE_ENV = {
    "ASAN_OPTIONS": "symbolize=1:detect_leaks=0:allocator_may_return_null=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:symbolize=1",
}
EXTRA_ASAN_OPTIONS = {
    "memory_leak": "detect_leaks=1",
    "stack_use_after_return": "detect_stack_use_after_return=1",
    "out_of_memory_rss": "hard_rss_limit_mb=64",
}
PROGRAMS = tuple(sorted(path.stem for path in SOURCES.glob("*.c")))


@dataclass(frozen=True, slots=True)
class Run:
    """One program's combined output under one compiler (or Python)."""

    toolchain: str
    name: str
    output: str


def missing_toolchain(compiler: str) -> str | None:
    """Why ``compiler``'s reports cannot be rebuilt here, or ``None`` when they can."""
    if shutil.which(compiler) is None:
        return f"{compiler} is not installed: cannot rebuild the {compiler} reports"
    if compiler == "clang" and not (
        shutil.which("llvm-symbolizer") or os.environ.get("ASAN_SYMBOLIZER_PATH")
    ):
        # clang's runtime symbolizes through llvm-symbolizer; without it every frame is an
        # address and the fresh states would be empty (gcc's runtime symbolizes by itself).
        return "llvm-symbolizer is not on PATH: clang reports would be unsymbolized"
    return None


def run_environment(name: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.endswith("SAN_OPTIONS")}
    env.update(BASE_ENV)
    if name in EXTRA_ASAN_OPTIONS:
        env["ASAN_OPTIONS"] += ":" + EXTRA_ASAN_OPTIONS[name]
    return env


def build_and_run(compiler: str, name: str, workdir: Path) -> Run:
    binary = workdir / f"{compiler}-{name}"
    subprocess.run(
        [compiler, *CFLAGS, "-o", str(binary), str(SOURCES / f"{name}.c")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    completed = subprocess.run(
        [str(binary)],
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        env=run_environment(name),
        cwd=workdir,
    )
    output = (completed.stdout + completed.stderr).decode("utf-8", "replace")
    assert completed.returncode != 0, f"{compiler} {name} did not crash:\n{output}"
    return Run(compiler, name, output)


def run_python(name: str = "uncaught_exception") -> Run:
    completed = subprocess.run(
        [sys.executable, str(SOURCES / f"{name}.py")],
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
    )
    output = (completed.stdout + completed.stderr).decode("utf-8", "replace")
    return Run("python", name, output)


def all_runs(compilers: tuple[str, ...], workdir: Path) -> Iterator[Run]:
    jobs = [(compiler, name) for compiler in compilers for name in PROGRAMS]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        yield from pool.map(lambda job: build_and_run(job[0], job[1], workdir), jobs)
    yield run_python()


def signature(report: CrashReport | None) -> tuple[object, ...] | None:
    """Everything the parser derives, without the log (addresses and pids differ per run)."""
    if report is None:
        return None
    return (
        report.sanitizer,
        report.crash_type,
        report.crash_state,
        report.security,
        report.severity,
    )


def stored(toolchain: str, name: str) -> str:
    return (ASSETS / toolchain / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def fresh_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Run]:
    installed = tuple(compiler for compiler in COMPILERS if missing_toolchain(compiler) is None)
    workdir = tmp_path_factory.mktemp("sanitizer-build")
    return {(run.toolchain, run.name): run for run in all_runs(installed, workdir)}


@pytest.mark.slow
@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_fresh_report_parses_like_stored(
    compiler: str, name: str, fresh_runs: dict[tuple[str, str], Run]
) -> None:
    if (reason := missing_toolchain(compiler)) is not None:
        pytest.skip(reason)
    fresh = parse_report(fresh_runs[(compiler, name)].output)
    assert fresh is not None, fresh_runs[(compiler, name)].output
    assert signature(fresh) == signature(parse_report(stored(compiler, name)))


@pytest.mark.slow
def test_fresh_python_traceback_parses_like_stored(
    fresh_runs: dict[tuple[str, str], Run],
) -> None:
    fresh = parse_report(fresh_runs[("python", "uncaught_exception")].output)
    assert fresh is not None
    assert signature(fresh) == signature(parse_report(stored("python", "uncaught_exception")))


def regenerate() -> None:
    """Rewrite every stored report from a fresh build (both compilers must be installed)."""
    missing = [reason for compiler in COMPILERS if (reason := missing_toolchain(compiler))]
    if missing:
        raise SystemExit("cannot regenerate: " + "; ".join(missing))
    with tempfile.TemporaryDirectory(prefix="sanitizer-build-") as workdir:
        for run in all_runs(COMPILERS, Path(workdir)):
            target = ASSETS / run.toolchain / f"{run.name}.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(run.output, encoding="utf-8")
            print(f"wrote {target.relative_to(ASSETS)}")


if __name__ == "__main__":
    regenerate()
