"""Reproduce one proof of vulnerability: build the target (cached), run the proof N times in
the sandbox, read each run's crash report, and decide a verdict.

Builds run in the sandbox too (a target's build commands are as untrusted as its proofs), in a
fresh copy of the registered snapshot, and are cached per (target digest, compiler) under the
build directory: a finished build is renamed into place, so a half-built directory is never
used, and one lock per key keeps two threads of one process from building the same thing
twice. A failed build is not cached (the next run tries again and shows the log again).

Each repetition runs in its own fresh copy of the build with the proof input written beside
the harness, so a run cannot leave anything behind for the next. C targets run with
AddressSanitizer options (``hard_rss_limit_mb`` is added by the sandbox; never ``RLIMIT_AS``)
and UndefinedBehaviorSanitizer set to print a stack and halt on the first error.

The verdict (:func:`decide`, pure): ``reproduced`` when more than half of the runs crashed with
the same crash type (the report kept is the first such run's); ``not_reproduced`` otherwise,
including a proof that crashed in a minority of runs (flaky) or differently each time.
``build_failed`` when a build command failed; ``error`` when the sandbox could not run at all.
A run the sandbox killed at its wall clock counts as a ``Timeout`` crash (never a security
bug), as ClusterFuzz counts hangs.

It does not touch the database, choose which target a finding belongs to, or merge anything:
``validation.service`` and the pipeline do.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import fcntl
import logging
import math
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from clearinghouse.validation.crash import CrashReport, cap_log, parse_report, timeout_report
from clearinghouse.validation.sandbox import RunRequest, RunResult, Sandbox, SandboxLimits
from clearinghouse.validation.sandbox.base import SandboxError
from clearinghouse.validation.target import Language, TargetManifest

logger = logging.getLogger(__name__)

SANITIZER_ENV: Final = {
    "ASAN_OPTIONS": "detect_leaks=1:symbolize=1:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
# A proof's program can print anything, a fake sanitizer report included. For C targets each run
# tells the sanitizers to exit with a code drawn at random from this range, and a report only
# counts when the process really ended with it; a Python traceback only counts on a failing
# exit. (A program that reads its own environment could still forge both; the sandbox keeps
# that from mattering beyond a wrong verdict on its own finding.)
_SANITIZER_EXIT_CODES: Final = range(64, 114)
MAX_LOG_CHARS: Final = 64 * 1024
"""Kept per run row: the crash report's own window, or the build's or last run's output."""
PROOF_FILE: Final = ".clearinghouse-proof-input"


def sanitizer_env(exit_code: int) -> dict[str, str]:
    """The sanitizers' options with ``exit_code`` as the code they exit with on a report."""
    return {name: f"{value}:exitcode={exit_code}" for name, value in SANITIZER_ENV.items()}


def ended_as_reported(result: RunResult, *, sanitizer_exit: int | None) -> bool:
    """Whether the process ended the way a real report of its kind ends it: with the
    sanitizers' exit code drawn for this run (C), or failing at all (Python)."""
    if sanitizer_exit is not None:
        return result.exit_code == sanitizer_exit
    return result.signal is not None or result.exit_code not in (0, None)


class Verdict(StrEnum):
    REPRODUCED = "reproduced"
    NOT_REPRODUCED = "not_reproduced"
    BUILD_FAILED = "build_failed"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ReproduceConfig:
    repetitions: int = 3
    compiler: str = "gcc"
    python: str = "python3"
    limits: SandboxLimits = dataclasses.field(default_factory=SandboxLimits)


@dataclass(frozen=True, slots=True)
class Reproduction:
    verdict: Verdict
    repetitions: int
    reproductions: int
    report: CrashReport | None
    log: str
    isolation: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    ok: bool
    path: Path | None
    log: str
    cached: bool


def decide(reports: Sequence[CrashReport | None]) -> tuple[Verdict, int, CrashReport | None]:
    """The verdict of ``reports`` (one per run, ``None`` for a clean run); see the docstring."""
    crashes = [report for report in reports if report is not None]
    if not crashes:
        return Verdict.NOT_REPRODUCED, 0, None
    counts = collections.Counter(report.crash_type for report in crashes)
    crash_type, count = counts.most_common(1)[0]
    if count * 2 <= len(reports):
        return Verdict.NOT_REPRODUCED, count, None
    chosen = next(report for report in crashes if report.crash_type == crash_type)
    return Verdict.REPRODUCED, count, chosen


def _text(result: RunResult) -> str:
    return (result.stderr + b"\n" + result.stdout).decode("utf-8", "replace")


def _capped(text: str) -> str:
    return cap_log(text, max_chars=MAX_LOG_CHARS)


class BuildCache:
    """Built copies of registered targets, one directory per (digest, compiler).

    A thread lock and a file lock per key make each build happen once, across a process's
    workers and across worker processes sharing the directory; a waiter then uses the result.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, threading.Lock] = collections.defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks[key]

    def build(
        self,
        *,
        manifest: TargetManifest,
        source: Path,
        digest: str,
        config: ReproduceConfig,
        sandbox: Sandbox,
    ) -> BuildOutcome:
        tool = config.compiler if manifest.language is Language.C else "python"
        key = f"{digest}-{tool}"
        final = self.root / key
        with self._lock(key):
            if final.is_dir():
                return BuildOutcome(ok=True, path=final, log="", cached=True)
            self.root.mkdir(parents=True, exist_ok=True)
            self.root.chmod(0o755)
            with _file_lock(self.root / f".lock-{key}"):
                if final.is_dir():  # another process built it while we waited
                    return BuildOutcome(ok=True, path=final, log="", cached=True)
                return self._build(manifest, source, config, sandbox, key=key, final=final)

    def _build(
        self,
        manifest: TargetManifest,
        source: Path,
        config: ReproduceConfig,
        sandbox: Sandbox,
        *,
        key: str,
        final: Path,
    ) -> BuildOutcome:
        staging = Path(tempfile.mkdtemp(prefix=f".building-{key}-", dir=self.root))
        try:
            staging.rmdir()
            shutil.copytree(source, staging, symlinks=True)
            staging.chmod(0o755)
            limits = dataclasses.replace(
                config.limits,
                wall_clock_s=manifest.build.timeout_s,
                cpu_s=math.ceil(manifest.build.timeout_s),
            )
            logs: list[str] = []
            for argv in manifest.build_argvs(cc=config.compiler, python=config.python):
                result = sandbox.run(RunRequest(argv=argv, work_dir=staging), limits)
                logs.append(f"$ {' '.join(argv)}\n{_text(result)}")
                if not result.ok:
                    why = "timed out" if result.timed_out else _status(result)
                    logs.append(f"[clearinghouse: build command {why}]")
                    return BuildOutcome(
                        ok=False, path=None, log=_capped("\n".join(logs)), cached=False
                    )
            try:
                staging.rename(final)
            except OSError:
                # Someone finished the same build first (the lock is advisory); theirs will do.
                if not final.is_dir():
                    raise
            return BuildOutcome(ok=True, path=final, log=_capped("\n".join(logs)), cached=False)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (workers sharing the data directory build each
    target once; one waits for the other's build and then uses it)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _status(result: RunResult) -> str:
    if result.exit_code is not None:
        return f"exited with status {result.exit_code}"
    return f"was killed by signal {result.signal}"


class Reproducer:
    """The sandbox, the build cache and the scratch directory, shared by a process's workers.

    ``work_root`` and every directory above it must be searchable by the sandbox's uid (the
    bubblewrap sandbox refuses otherwise, naming the blocking directory).
    """

    def __init__(
        self, *, sandbox: Sandbox, builds: BuildCache, work_root: Path, config: ReproduceConfig
    ) -> None:
        self.sandbox = sandbox
        self.builds = builds
        self.work_root = work_root
        self.config = config

    def reproduce(
        self,
        *,
        manifest: TargetManifest,
        source: Path,
        digest: str,
        proof: bytes,
        repetitions: int,
        heartbeat: Callable[[], None] = lambda: None,
    ) -> Reproduction:
        """Build (cached) and run ``proof`` ``repetitions`` times; never raises a sandbox error."""
        isolation = self.sandbox.isolation
        try:
            build = self.builds.build(
                manifest=manifest,
                source=source,
                digest=digest,
                config=self.config,
                sandbox=self.sandbox,
            )
            if not build.ok or build.path is None:
                return Reproduction(
                    verdict=Verdict.BUILD_FAILED,
                    repetitions=repetitions,
                    reproductions=0,
                    report=None,
                    log=build.log,
                    isolation=isolation,
                    error="a build command of the target failed",
                )
            heartbeat()
            reports: list[CrashReport | None] = []
            last_output = ""
            for _ in range(repetitions):
                report, last_output = self.run_input(manifest, build.path, proof)
                reports.append(report)
                heartbeat()
        except (SandboxError, OSError) as error:
            logger.exception("reproduction could not run")
            return Reproduction(
                verdict=Verdict.ERROR,
                repetitions=repetitions,
                reproductions=0,
                report=None,
                log="",
                isolation=isolation,
                error=f"{type(error).__name__}: {error}",
            )
        verdict, count, chosen = decide(reports)
        return Reproduction(
            verdict=verdict,
            repetitions=repetitions,
            reproductions=count,
            report=chosen,
            log=chosen.log if chosen is not None else _capped(last_output),
            isolation=isolation,
        )

    def run_input(
        self, manifest: TargetManifest, build: Path, proof: bytes
    ) -> tuple[CrashReport | None, str]:
        """Run the harness once on ``proof`` in a fresh copy of ``build``: (crash, output)."""
        with self.scratch(build) as work:
            input_path = work / PROOF_FILE
            input_path.write_bytes(proof)
            input_path.chmod(0o644)
            argv = manifest.harness_argv(input_path=str(input_path), python=self.config.python)
            limits = dataclasses.replace(
                self.config.limits,
                wall_clock_s=manifest.harness.timeout_s,
                cpu_s=math.ceil(manifest.harness.timeout_s),
            )
            asan = manifest.language is Language.C
            exit_code = secrets.choice(_SANITIZER_EXIT_CODES) if asan else None
            request = RunRequest(
                argv=argv,
                work_dir=work,
                env=sanitizer_env(exit_code) if exit_code is not None else {},
                asan=asan,
            )
            result = self.sandbox.run(request, limits)
        output = _text(result)
        report = parse_report(output, max_log_chars=MAX_LOG_CHARS)
        if report is not None and not ended_as_reported(result, sanitizer_exit=exit_code):
            logger.info(
                "ignoring a %s report the process did not end with (exit %s, signal %s)",
                report.sanitizer,
                result.exit_code,
                result.signal,
            )
            report = None
        if report is None and result.timed_out:
            report = timeout_report(
                timeout_s=manifest.harness.timeout_s, output=output, max_log_chars=MAX_LOG_CHARS
            )
        return report, output

    @contextlib.contextmanager
    def scratch(self, build: Path) -> Iterator[Path]:
        """A fresh, sandbox-searchable copy of ``build``, removed afterwards."""
        self.work_root.mkdir(parents=True, exist_ok=True)
        self.work_root.chmod(0o755)
        work = Path(tempfile.mkdtemp(prefix="run-", dir=self.work_root))
        try:
            work.rmdir()
            shutil.copytree(build, work, symlinks=True)
            work.chmod(0o755)
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)
