"""Bounded libFuzzer jobs: build a target's fuzz harness and run it for a fixed time in the
sandbox, returning each crash input with the crash its sanitizer report describes.

The harness is found by convention, not by the manifest (whose parser refuses unknown keys): a
target that can be fuzzed ships ``fuzz/harness.c`` defining ``LLVMFuzzerTestOneInput``. The
library it exercises is every ``src/*.c`` except a ``main.c`` (a ``main`` would clash with
libFuzzer's own), compiled with ``-I src`` so the harness includes the same headers as the
target's program. :func:`build_fuzzer` compiles harness and library with
``-fsanitize=fuzzer,address -g -O1``; it refuses symbolic links in ``src/`` and ``fuzz/`` (a
link would make the compiler read a file outside the target). Given a sandbox it compiles inside
it, which is what an untrusted target needs: source code can pull any readable file into the
binary (``#include "/…"``, ``.incbin``), and only the sandbox keeps the host's files out of
reach. Without one it compiles on the host, which is only for trusted sources (the shipped
examples and the tests).

:func:`run_fuzzer` runs the binary in the sandbox with ``-max_total_time`` and a wall clock a
little above it, so a binary that ignores its own time budget (or hangs in one input) is still
killed on time. libFuzzer stops at the first crash and writes the input to the artifact
directory (``crash-*``, ``leak-*``, ``timeout-*``, ``oom-*``); each artifact is read back with
caps on count and size, never through a symbolic link, and paired with the sanitizer report
printed just before its ``Test unit written to`` line, parsed by
:func:`clearinghouse.validation.crash.parse_report`.

A crash found here is a *candidate*: the binary wrote the artifact and printed the report, so
both are only as trustworthy as the target. Each becomes a finding whose proof the validation
engine reproduces through the target's normal build (:mod:`.reproduce`), which is where a
crash is confirmed. This module does not store findings, minimise inputs, merge corpora across
runs, or run more than one fuzzing process (no ``-fork`` or ``-jobs``).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from clearinghouse.core.errors import ClearinghouseError, InputError
from clearinghouse.validation.crash import (
    MEMORY_LEAK,
    OUT_OF_MEMORY,
    TIMEOUT,
    cap_log,
    parse_report,
)
from clearinghouse.validation.sandbox import RunRequest, RunResult, Sandbox, SandboxLimits
from clearinghouse.validation.sandbox.base import DEFAULT_ENV

FUZZ_DIR: Final = "fuzz"
HARNESS: Final = f"{FUZZ_DIR}/harness.c"
LIBRARY_DIR: Final = "src"
PROGRAM_FILE: Final = "main.c"
BINARY_NAME: Final = "fuzzer"
FUZZ_FLAGS: Final = ("-fsanitize=fuzzer,address", "-fno-omit-frame-pointer", "-g", "-O1")
BUILD_TIMEOUT_S: Final = 300.0

MAX_TOTAL_TIME_S: Final = 3600
MAX_INPUT_LEN: Final = 1024 * 1024
MAX_SEEDS: Final = 1024
UNIT_TIMEOUT_S: Final = 10
"""libFuzzer's per-input timeout (its default is 20 minutes): a hang becomes a ``timeout-*``
artifact inside the budget instead of eating it."""
WALL_CLOCK_GRACE_S: Final = 10
"""Start-up (ASan, corpus loading) and the final report, on top of ``-max_total_time``."""
MAX_OUTPUT_BYTES: Final = 4 * 1024 * 1024
"""Per stream: libFuzzer prints a line per new coverage unit, more than a proof's run."""
MAX_CRASHES: Final = 16
MAX_CRASH_BYTES: Final = MAX_INPUT_LEN
MAX_LOG_TAIL_CHARS: Final = 16 * 1024
ARTIFACT_KINDS: Final = ("crash-", "leak-", "timeout-", "oom-")

# libFuzzer reports a crash itself (artifact, then exit); ASan must not abort first, and leaks
# are not what a bounded job looks for (a leak stops the run before the memory bugs).
FUZZ_ENV: Final = {
    "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=0:symbolize=1:handle_abort=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
_KIND_TYPES: Final = {"leak-": MEMORY_LEAK, "timeout-": TIMEOUT, "oom-": OUT_OF_MEMORY}
_WRITTEN = re.compile(r"Test unit written to (\S+)")
_FINAL_RUNS = re.compile(r"^stat::number_of_executed_units:\s*(\d+)", re.MULTILINE)
_STATUS_RUNS = re.compile(r"^#(\d+)\s", re.MULTILINE)
# What a missing libFuzzer runtime looks like is compiler- and version-specific, so a failed
# build is told apart from a missing toolchain by compiling this known-good harness.
_PROBE_SOURCE: Final = (
    "#include <stddef.h>\n#include <stdint.h>\n"
    "int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)\n"
    "{ (void)data; (void)size; return 0; }\n"
)


class FuzzToolchainMissingError(ClearinghouseError):
    """No compiler with libFuzzer here: a configuration problem, not the target's fault."""

    status = 503
    title = "Fuzzing toolchain unavailable"
    type_slug = "fuzz-toolchain-unavailable"


class FuzzBuildError(InputError):
    """The target's harness or library did not compile; ``log`` is the compiler's output."""

    status = 422
    title = "Fuzz harness build failed"
    type_slug = "fuzz-build-failed"

    def __init__(self, detail: str, *, log: str) -> None:
        super().__init__(detail)
        self.log = log


@dataclass(frozen=True, slots=True)
class FuzzCrash:
    """One input the fuzzer saved. ``crash_type`` and ``stack`` (the crash state: the top
    meaningful frames) come from the report printed for it; ``None`` and ``()`` when none
    could be read (a ``leak-``, ``timeout-`` or ``oom-`` artifact still gets its type)."""

    input: bytes
    sha256: str
    crash_type: str | None
    stack: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FuzzOutcome:
    """``runs`` is libFuzzer's count of executed inputs, when it printed one; ``seconds`` is
    the run's wall time and ``isolation`` the sandbox that confined it."""

    crashes: tuple[FuzzCrash, ...]
    runs: int | None
    seconds: float
    isolation: str
    log_tail: str


def harness_of(source: Path) -> Path | None:
    """The target's ``fuzz/harness.c`` if it is a regular file (not a link), else ``None``."""
    harness = source / HARNESS
    if harness.is_symlink() or not harness.is_file():
        return None
    return harness


def library_sources(source: Path) -> list[Path]:
    """The library's C files: ``src/*.c`` except ``main.c``, sorted (a stable command line)."""
    directory = source / LIBRARY_DIR
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.c") if p.name != PROGRAM_FILE and p.is_file())


def build_fuzzer(
    *,
    source: Path,
    out_dir: Path,
    compiler: str = "clang",
    sandbox: Sandbox | None = None,
) -> Path:
    """Compile ``source``'s harness and library into ``out_dir/fuzzer`` and return its path.

    ``out_dir`` is created if needed and must be empty; with a ``sandbox`` it and every
    directory above it must be searchable by the sandbox's uid, as for the reproducer's work
    directories. Raises :class:`InputError` when the target has no harness or library,
    :class:`FuzzBuildError` when they do not compile, :class:`FuzzToolchainMissingError` when
    ``compiler`` or its libFuzzer runtime is missing.
    """
    if harness_of(source) is None:
        raise InputError(f"the target has no fuzz harness: {HARNESS} is missing")
    library = library_sources(source)
    if not library:
        raise InputError(f"the target has no library to fuzz: no {LIBRARY_DIR}/*.c besides main.c")
    for part in (LIBRARY_DIR, FUZZ_DIR):
        _refuse_links(source / part, source)
    if shutil.which(compiler) is None:
        raise FuzzToolchainMissingError(
            f"{compiler!r} is not installed here (fuzzing needs clang with libFuzzer)"
        )
    _empty_dir(out_dir)
    copy = out_dir / "source"
    for part in (LIBRARY_DIR, FUZZ_DIR):
        shutil.copytree(source / part, copy / part, symlinks=True)
    _searchable(copy)
    argv = (
        compiler,
        *FUZZ_FLAGS,
        "-I",
        f"source/{LIBRARY_DIR}",
        "-o",
        BINARY_NAME,
        f"source/{HARNESS}",
        *(f"source/{LIBRARY_DIR}/{p.name}" for p in library),
    )
    ok, log = _compile(argv, out_dir, sandbox)
    shutil.rmtree(copy, ignore_errors=True)
    binary = out_dir / BINARY_NAME
    if ok and binary.is_file():
        binary.chmod(0o755)
        return binary
    _probe_toolchain(compiler, out_dir, sandbox)
    raise FuzzBuildError("the fuzz harness did not compile", log=log)


def run_fuzzer(
    sandbox: Sandbox,
    *,
    binary: Path,
    work_dir: Path,
    max_total_time_s: int = 30,
    seed_inputs: Sequence[bytes] = (),
    max_len: int = 4096,
) -> FuzzOutcome:
    """Fuzz for ``max_total_time_s`` seconds from ``seed_inputs``; the crashes it saved.

    ``work_dir`` (created if needed, must be empty, writable by the run) receives the corpus
    and the artifacts; ``binary``'s directory is shown to the run read-only. Both must be
    reachable by the sandbox's uid. A crash report is read from the run's output, so a run
    the sandbox killed still returns whatever artifacts it wrote.
    """
    if not binary.is_absolute() or not binary.is_file():
        raise InputError(f"{binary} is not a fuzzer binary (an absolute path to a file)")
    if not 1 <= max_total_time_s <= MAX_TOTAL_TIME_S:
        raise InputError(f"max_total_time_s must be 1 to {MAX_TOTAL_TIME_S} seconds")
    if not 1 <= max_len <= MAX_INPUT_LEN:
        raise InputError(f"max_len must be 1 to {MAX_INPUT_LEN} bytes")
    if len(seed_inputs) > MAX_SEEDS:
        raise InputError(f"at most {MAX_SEEDS} seed inputs (got {len(seed_inputs)})")
    _empty_dir(work_dir)
    corpus, artifacts = work_dir / "corpus", work_dir / "crashes"
    for directory in (corpus, artifacts):
        directory.mkdir()
        directory.chmod(0o755)
    for i, seed in enumerate(seed_inputs):
        path = corpus / f"seed-{i:04d}"
        path.write_bytes(seed)
        path.chmod(0o644)

    wall_clock = max_total_time_s + WALL_CLOCK_GRACE_S
    limits = SandboxLimits(
        wall_clock_s=float(wall_clock), cpu_s=wall_clock, max_output_bytes=MAX_OUTPUT_BYTES
    )
    argv = (
        str(binary),
        f"-max_total_time={max_total_time_s}",
        f"-max_len={max_len}",
        f"-timeout={min(UNIT_TIMEOUT_S, max_total_time_s)}",
        f"-rss_limit_mb={limits.asan_rss_limit_mb}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        str(corpus),
    )
    # The work directory is bound writable anyway; binding a directory inside it read-only on
    # top would make the corpus unwritable.
    inside = binary.parent == work_dir or binary.parent.is_relative_to(work_dir)
    request = RunRequest(
        argv=argv,
        work_dir=work_dir,
        read_only_binds=() if inside else (binary.parent,),
        env=dict(FUZZ_ENV),
        asan=True,
    )
    result = sandbox.run(request, limits)
    output = result.stderr.decode("utf-8", "replace")
    crashes, notes = collect_crashes(artifacts, output)
    return FuzzOutcome(
        crashes=crashes,
        runs=executed_units(output),
        seconds=result.duration_s,
        isolation=result.isolation,
        log_tail=_log_tail(result, output, notes),
    )


def collect_crashes(artifacts: Path, output: str) -> tuple[tuple[FuzzCrash, ...], list[str]]:
    """The artifacts in ``artifacts`` with the reports ``output`` printed for them, in the
    order libFuzzer wrote them, and notes on the ones skipped (too many, too large, not a
    regular file)."""
    reports: dict[str, str] = {}
    start = 0
    for match in _WRITTEN.finditer(output):
        reports.setdefault(Path(match.group(1)).name, output[start : match.start()])
        start = match.end()
    present = {
        entry.name for entry in os.scandir(artifacts) if entry.name.startswith(ARTIFACT_KINDS)
    }
    # The order libFuzzer reported them in, then any it wrote without saying so.
    names = [name for name in reports if name in present] + sorted(present - reports.keys())
    crashes: list[FuzzCrash] = []
    notes: list[str] = []
    seen: set[str] = set()
    for name in names:
        if len(crashes) == MAX_CRASHES:
            notes.append(f"{len(names) - MAX_CRASHES} more artifacts not read (cap {MAX_CRASHES})")
            break
        data = _read_artifact(artifacts / name)
        if data is None:
            notes.append(f"{name} skipped: not a regular file of at most {MAX_CRASH_BYTES} bytes")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        report = parse_report(reports[name]) if name in reports else None
        kind_type = next((t for k, t in _KIND_TYPES.items() if name.startswith(k)), None)
        crashes.append(
            FuzzCrash(
                input=data,
                sha256=digest,
                crash_type=report.crash_type if report is not None else kind_type,
                stack=report.crash_state if report is not None else (),
            )
        )
    return tuple(crashes), notes


def executed_units(output: str) -> int | None:
    """libFuzzer's final count of executed inputs, else the last status line's count."""
    final = _FINAL_RUNS.findall(output)
    if final:
        return int(final[-1])
    status = _STATUS_RUNS.findall(output)
    return int(status[-1]) if status else None


# --- building ---------------------------------------------------------------------------------


def _refuse_links(tree: Path, source: Path) -> None:
    for directory, dirnames, filenames in os.walk(tree):
        for name in (*dirnames, *filenames):
            path = Path(directory) / name
            if path.is_symlink():
                raise InputError(
                    f"{path.relative_to(source)} is a symbolic link; fuzz sources must be files"
                )


def _empty_dir(path: Path) -> None:
    if not path.is_absolute():
        raise InputError(f"{path} must be an absolute path")
    path.mkdir(parents=True, exist_ok=True)
    if any(path.iterdir()):
        raise InputError(f"{path} must be empty")
    path.chmod(0o755)


def _searchable(tree: Path) -> None:
    """Directories 0755 and files 0644, so the sandbox's uid can read the copy."""
    for directory, _dirnames, filenames in os.walk(tree):
        Path(directory).chmod(0o755)
        for name in filenames:
            (Path(directory) / name).chmod(0o644)


def _compile(argv: tuple[str, ...], work: Path, sandbox: Sandbox | None) -> tuple[bool, str]:
    """Run one compiler command in ``work``: (succeeded, output)."""
    if sandbox is not None:
        limits = SandboxLimits(wall_clock_s=BUILD_TIMEOUT_S, cpu_s=math.ceil(BUILD_TIMEOUT_S))
        result = sandbox.run(RunRequest(argv=argv, work_dir=work), limits)
        text = (result.stderr + result.stdout).decode("utf-8", "replace")
        if result.timed_out:
            text += f"\n[clearinghouse: the build timed out after {BUILD_TIMEOUT_S:g} s]"
        return result.ok, cap_log(text, max_chars=MAX_LOG_TAIL_CHARS)
    compiler = shutil.which(argv[0]) or argv[0]
    try:
        # A fixed argv, no shell; trusted sources only (see the module docstring).
        done = subprocess.run(
            [compiler, *argv[1:]],
            cwd=work,
            env=dict(DEFAULT_ENV),
            capture_output=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"[clearinghouse: the build timed out after {BUILD_TIMEOUT_S:g} s]"
    text = (done.stderr + done.stdout).decode("utf-8", "replace")
    return done.returncode == 0, cap_log(text, max_chars=MAX_LOG_TAIL_CHARS)


def _probe_toolchain(compiler: str, out_dir: Path, sandbox: Sandbox | None) -> None:
    """Raise :class:`FuzzToolchainMissingError` if even a trivial harness does not build."""
    probe = out_dir / "probe"
    probe.mkdir()
    probe.chmod(0o755)
    (probe / "probe.c").write_text(_PROBE_SOURCE)
    (probe / "probe.c").chmod(0o644)
    try:
        ok, log = _compile((compiler, *FUZZ_FLAGS, "-o", "probe", "probe.c"), probe, sandbox)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    if not ok:
        raise FuzzToolchainMissingError(
            f"{compiler!r} cannot build a libFuzzer binary here (is the clang runtime with "
            f"libFuzzer installed?): {log.strip()[-500:]}"
        )


# --- running ----------------------------------------------------------------------------------


def _read_artifact(path: Path) -> bytes | None:
    """The file's bytes, if it is a regular file within the cap; never follows a link (the
    fuzzed program could have planted one pointing at a host file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with contextlib.closing(os.fdopen(fd, "rb")) as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CRASH_BYTES:
            return None
        data = handle.read(MAX_CRASH_BYTES + 1)
    return data if len(data) <= MAX_CRASH_BYTES else None


def _log_tail(result: RunResult, output: str, notes: list[str]) -> str:
    lines = [f"[clearinghouse: {note}]" for note in notes]
    if result.killed_reason is not None:
        lines.append(f"[clearinghouse: the sandbox killed the fuzzer ({result.killed_reason})]")
    if result.stderr_truncated:
        lines.append("[clearinghouse: the fuzzer's output was cut at the cap]")
    tail = output[-MAX_LOG_TAIL_CHARS:]
    return "\n".join([tail, *lines]) if lines else tail
