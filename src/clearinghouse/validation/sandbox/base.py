"""What every sandbox shares: the protocol, the limits, the request and result values, and the
one loop that supervises a sandboxed process.

A sandbox runs one untrusted program (a proof of vulnerability, a harness, a test command) and
reports what happened as a :class:`RunResult`. This module holds no isolation of its own: the
adapters (``bubblewrap.py``, ``restricted.py``) decide how the process is confined and hand
:func:`supervise` the final command line. :func:`supervise` is the part both share and the
part that is easy to get wrong: it reads stdout and stderr concurrently with a byte cap per
stream, enforces the wall clock, kills the whole process group (and whatever the adapter's
``kill_rest`` reaches), and always reaps, so no zombie is left behind.

Resource limits are applied with util-linux ``prlimit`` wrapped around the command, not with
``preexec_fn``: the validation workers are threads, and ``preexec_fn`` is unsafe in a threaded
parent (it can deadlock on locks held by other threads at fork time).

It does not: choose an adapter (see ``select_sandbox`` in the package), parse sanitizer output,
or decide verdicts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, Protocol, runtime_checkable

from clearinghouse.core.errors import ClearinghouseError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_ENV",
    "KilledReason",
    "RunRequest",
    "RunResult",
    "Sandbox",
    "SandboxConfigError",
    "SandboxError",
    "SandboxLimits",
    "SandboxUnavailableError",
    "asan_options",
    "prlimit_args",
    "sandbox_env",
    "supervise",
]


class SandboxError(ClearinghouseError):
    """Base of the sandbox's errors."""

    title = "Sandbox error"
    type_slug = "sandbox"


class SandboxUnavailableError(SandboxError):
    """No sandbox with the required isolation can run on this host.

    Raised at construction, never mid-run, so a misconfigured worker fails at start-up instead
    of quietly validating proofs without isolation.
    """

    status = 503
    title = "Sandbox unavailable"
    type_slug = "sandbox-unavailable"


class SandboxConfigError(SandboxError):
    """Limits or a request that make no sense (a bug in the caller, not in the proof)."""

    title = "Invalid sandbox configuration"
    type_slug = "sandbox-config"


KilledReason = Literal["wall-clock", "output-cap"]

#: The environment every run starts from; the request's ``env`` is laid over it. Nothing of the
#: parent's environment is ever copied in.
DEFAULT_ENV: Final[Mapping[str, str]] = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",  # noqa: S108 - the sandbox's own private tmpfs
    "TMPDIR": "/tmp",  # noqa: S108
    "LC_ALL": "C.UTF-8",
}

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Names a request may never set: the clearinghouse's own settings and secrets live there.
_FORBIDDEN_ENV_PREFIXES: Final = ("CLEARINGHOUSE_",)
_MIB: Final = 1024 * 1024
#: bwrap and the dynamic loader need some address space of their own; below this, nothing runs.
MIN_ADDRESS_SPACE_BYTES: Final = 64 * _MIB
#: The helper processes a sandbox adds to the process tree (bubblewrap's monitor and init).
HELPER_PROCESSES: Final = 2


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """The resources one run may use. Units are in the names.

    ``address_space_bytes`` becomes ``RLIMIT_AS`` and applies only to runs without
    AddressSanitizer: ASan reserves terabytes of virtual memory for its shadow and would fail
    to start under any useful ``RLIMIT_AS``. ASan runs are bounded by ``asan_rss_limit_mb``
    instead, passed as ``ASAN_OPTIONS=hard_rss_limit_mb``, which ASan enforces on resident
    memory and reports as a clean error. ``max_output_bytes`` applies to each stream.
    ``max_processes`` counts processes and threads of the program (the sandbox's own helpers
    are added on top). ``tmp_bytes`` sizes the private ``/tmp`` (a tmpfs, i.e. memory).
    """

    wall_clock_s: float = 30.0
    cpu_s: int = 30
    max_processes: int = 64
    max_file_bytes: int = 256 * _MIB
    max_open_files: int = 256
    max_output_bytes: int = 1 * _MIB
    address_space_bytes: int = 4096 * _MIB
    asan_rss_limit_mb: int = 2048
    tmp_bytes: int = 256 * _MIB

    def __post_init__(self) -> None:
        positive: dict[str, float] = {
            "wall_clock_s": self.wall_clock_s,
            "cpu_s": self.cpu_s,
            "max_processes": self.max_processes,
            "max_file_bytes": self.max_file_bytes,
            "max_output_bytes": self.max_output_bytes,
            "asan_rss_limit_mb": self.asan_rss_limit_mb,
            "tmp_bytes": self.tmp_bytes,
        }
        for name, value in positive.items():
            if not value > 0:
                raise SandboxConfigError(f"SandboxLimits.{name} must be positive, got {value}")
        # The dynamic loader, stdio and bubblewrap's own descriptors need a handful of fds.
        if self.max_open_files < 16:
            raise SandboxConfigError(
                f"SandboxLimits.max_open_files must be at least 16, got {self.max_open_files}"
            )
        if self.address_space_bytes < MIN_ADDRESS_SPACE_BYTES:
            raise SandboxConfigError(
                "SandboxLimits.address_space_bytes must be at least "
                f"{MIN_ADDRESS_SPACE_BYTES} (64 MiB), got {self.address_space_bytes}"
            )


@dataclass(frozen=True, slots=True)
class RunRequest:
    """One program to run.

    ``work_dir`` is the only host path the program may write (besides a private ``/tmp``);
    inside the sandbox it appears at the same absolute path, so paths a build recorded still
    resolve, and it is the current directory. ``read_only_binds`` are further host paths shown
    read-only at the same path (a build directory, a toolchain). ``env`` is the whole
    environment beyond :data:`DEFAULT_ENV`: nothing of the parent's is inherited, and
    ``CLEARINGHOUSE_*`` names are refused. ``asan`` selects the memory limit (see
    :class:`SandboxLimits`).
    """

    argv: tuple[str, ...]
    work_dir: Path
    read_only_binds: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: bytes = b""
    asan: bool = False

    def __post_init__(self) -> None:
        if not self.argv or not self.argv[0]:
            raise SandboxConfigError("RunRequest.argv must name a program")
        if any("\0" in arg for arg in self.argv):
            raise SandboxConfigError("RunRequest.argv must not contain NUL bytes")
        for path in (self.work_dir, *self.read_only_binds):
            if not path.is_absolute():
                raise SandboxConfigError(f"sandbox paths must be absolute, got {str(path)!r}")
        for name, value in self.env.items():
            if not _ENV_NAME.match(name):
                raise SandboxConfigError(f"invalid environment variable name {name!r}")
            if name.startswith(_FORBIDDEN_ENV_PREFIXES):
                raise SandboxConfigError(
                    f"{name} may not be passed into a sandbox: clearinghouse settings stay out"
                )
            if "\0" in value:
                raise SandboxConfigError(f"environment variable {name} contains a NUL byte")


@dataclass(frozen=True, slots=True)
class RunResult:
    """What happened, as the sandbox saw it.

    Exactly one of ``exit_code`` and ``signal`` is set once the program has ended.
    ``timed_out`` means the wall clock ran out; ``killed_reason`` says why the sandbox killed
    the run (``None`` when the program ended on its own, including by a limit the kernel
    enforced, such as ``SIGXCPU`` or ``SIGXFSZ``). ``isolation`` names what confined the run,
    so a result from the unisolated demo fallback can never pass for a sandboxed one.
    """

    exit_code: int | None
    signal: int | None
    timed_out: bool
    killed_reason: KilledReason | None
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    duration_s: float
    isolation: str

    @property
    def ok(self) -> bool:
        """The program exited with status 0 and nothing was killed."""
        return self.exit_code == 0 and self.killed_reason is None


@runtime_checkable
class Sandbox(Protocol):
    """Runs one untrusted program under limits; ``isolation`` names the mechanism."""

    @property
    def isolation(self) -> str: ...

    def run(self, request: RunRequest, limits: SandboxLimits | None = None) -> RunResult: ...


def asan_options(base: str | None, *, rss_limit_mb: int) -> str:
    """``ASAN_OPTIONS`` with the RSS limit appended last, so it wins over any earlier value."""
    parts = [part for part in (base or "").split(":") if part]
    parts.append(f"hard_rss_limit_mb={rss_limit_mb}")
    return ":".join(parts)


def sandbox_env(request: RunRequest, limits: SandboxLimits) -> dict[str, str]:
    """The complete environment of the sandboxed program: defaults, the request, limits."""
    env = dict(DEFAULT_ENV)
    env.update(request.env)
    if request.asan:
        env["ASAN_OPTIONS"] = asan_options(
            env.get("ASAN_OPTIONS"), rss_limit_mb=limits.asan_rss_limit_mb
        )
    return env


def prlimit_args(limits: SandboxLimits, *, asan: bool, limit_processes: bool) -> list[str]:
    """The ``prlimit`` options that apply ``limits`` to the command it wraps.

    The CPU hard limit is one second above the soft one: the program first gets ``SIGXCPU``
    (reported as such), and ``SIGKILL`` only if it ignores it. Core dumps are off so a crash
    never writes the program's memory to the host. ``RLIMIT_NPROC`` is set only when it
    binds (``limit_processes``): it never binds a process whose real uid is root.
    """
    args = [
        f"--cpu={limits.cpu_s}:{limits.cpu_s + 1}",
        f"--fsize={limits.max_file_bytes}",
        f"--nofile={limits.max_open_files}",
        "--core=0",
    ]
    if not asan:
        args.append(f"--as={limits.address_space_bytes}")
    if limit_processes:
        args.append(f"--nproc={limits.max_processes + HELPER_PROCESSES}")
    return args


def _exit_status(returncode: int, *, shell_style: bool) -> tuple[int | None, int | None]:
    """Split a status into (exit code, signal).

    ``subprocess`` reports death by signal N as ``-N``. bubblewrap reports its child's death by
    signal N as exit status ``128 + N`` (like a shell); with ``shell_style`` those are read back
    as signals, which makes a program that itself exits with 129-192 look signalled (documented,
    and rare: sanitizers exit with 1 or abort).
    """
    if returncode < 0:
        return None, -returncode
    if shell_style and 128 < returncode <= 128 + signal.SIGRTMAX:
        return None, returncode - 128
    return returncode, None


@dataclass(slots=True)
class _Capture:
    """One output stream being read: what was kept and whether more arrived."""

    limit: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    truncated: bool = False

    def add(self, data: bytes) -> None:
        room = self.limit - self.size
        if len(data) > room:
            self.truncated = True
            data = data[: max(room, 0)]
        if data:
            self.chunks.append(data)
            self.size += len(data)

    def value(self) -> bytes:
        return b"".join(self.chunks)


#: How long the output pipes may stay open after the program ended (a leftover holding them).
_DRAIN_GRACE_S: Final = 0.5
_READ_CHUNK: Final = 65536
#: How long a killed run's leader may take to notice its children died and exit.
_REAP_GRACE_S: Final = 5.0


def supervise(
    argv: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None,
    stdin: bytes,
    limits: SandboxLimits,
    isolation: str,
    shell_style_status: bool,
    kill_rest: Callable[[], None] = lambda: None,
) -> RunResult:
    """Run ``argv`` as the leader of a new process group and watch it to the end.

    The loop stops reading and kills the run as soon as a stream passes its cap, or when the
    wall clock runs out. Killing means ``SIGKILL`` to the whole process group and then
    ``kill_rest`` (the adapter's way to reach processes that left the group, such as a
    daemonised child); the process is always reaped before returning.
    """
    started = time.monotonic()
    deadline = started + limits.wall_clock_s
    killed: KilledReason | None = None
    out = _Capture(limits.max_output_bytes)
    err = _Capture(limits.max_output_bytes)
    with tempfile.TemporaryFile() as stdin_file:
        # A file, not a pipe: a program that never reads its stdin cannot block the writer.
        stdin_file.write(stdin)
        stdin_file.seek(0)
        proc = subprocess.Popen(
            argv,
            stdin=stdin_file,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            close_fds=True,
            process_group=0,
        )
    assert proc.stdout is not None
    assert proc.stderr is not None
    streams: dict[int, _Capture] = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    exited_at: float | None = None
    try:
        with selectors.DefaultSelector() as selector:
            for fd in streams:
                os.set_blocking(fd, False)
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                now = time.monotonic()
                if now >= deadline:
                    killed = "wall-clock"
                    break
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                if exited_at is not None and now - exited_at > _DRAIN_GRACE_S:
                    break  # something outlived the program and holds the pipes: kill it below
                timeout = min(deadline - now, 0.05 if exited_at is None else _DRAIN_GRACE_S)
                for key, _ in selector.select(timeout=timeout):
                    data = os.read(key.fd, _READ_CHUNK)
                    if not data:
                        selector.unregister(key.fd)
                        continue
                    capture = streams[key.fd]
                    capture.add(data)
                    if capture.truncated:
                        killed = "output-cap"
                if killed is not None:
                    break
        if killed is None:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                killed = "wall-clock"
    finally:
        # Kill the children first and let the leader end by itself: bubblewrap's monitor
        # exits only after the sandbox's init, and the kernel removes init only after every
        # process of its pid namespace is gone. Killing the monitor first would return while
        # the namespace is still being torn down.
        if proc.poll() is None and _kill_children(proc.pid):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=_REAP_GRACE_S)
        _kill_group(proc.pid)
        kill_rest()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    duration_s = time.monotonic() - started
    exit_code: int | None = None
    sig: int | None = int(signal.SIGKILL)
    if killed is None:
        exit_code, sig = _exit_status(proc.wait(), shell_style=shell_style_status)
    return RunResult(
        exit_code=exit_code,
        signal=sig,
        timed_out=killed == "wall-clock",
        killed_reason=killed,
        stdout=out.value(),
        stderr=err.value(),
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
        duration_s=duration_s,
        isolation=isolation,
    )


def _kill_group(pgid: int) -> None:
    """``SIGKILL`` the whole process group; an already empty group is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_children(pid: int) -> bool:
    """``SIGKILL`` the direct children of ``pid`` (for bubblewrap: the sandbox's init).

    Returns whether there were any, i.e. whether waiting for ``pid`` to notice makes sense.
    """
    children: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                children.update(int(child) for child in listing.read().split())
    except OSError:  # gone already, or a kernel without /proc/PID/task/TID/children
        children = _children_by_scan(pid)
    for child in children:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)
    return bool(children)


def _children_by_scan(pid: int) -> set[int]:
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            children.add(int(entry))
    return children
