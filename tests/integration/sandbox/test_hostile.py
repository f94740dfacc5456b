"""Hostile proofs against the real sandbox: each must be contained AND reported correctly.

The programs live in ``tests/assets/hostile`` and are compiled once per session. Every test
checks both sides: what the host sees (no connection, no file, no leftover process, the host
still forks) and what the :class:`RunResult` says (exit status, timeout, truncation).
Tests that need bubblewrap skip with the reason when it is absent; CI installs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clearinghouse.validation.sandbox import (
    BubblewrapSandbox,
    RestrictedSubprocess,
    RunRequest,
    RunResult,
    SandboxConfigError,
    SandboxLimits,
    SandboxUnavailableError,
    select_sandbox,
)

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "hostile"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

requires_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap is not installed (apt-get install bubblewrap); CI installs it",
)
requires_cc = pytest.mark.skipif(CC is None, reason="no C compiler (cc/gcc/clang) to build them")

FAST = SandboxLimits(wall_clock_s=10.0, cpu_s=10, max_processes=32)


@dataclass(frozen=True, slots=True)
class Programs:
    """The compiled hostile programs, in a directory bound read-only into each sandbox."""

    build_dir: Path

    def path(self, name: str) -> str:
        return str(self.build_dir / name)


@contextlib.contextmanager
def searchable_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory whose parents the sandbox's uid can search (pytest's are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def programs() -> Iterator[Programs]:
    if CC is None:
        pytest.skip("no C compiler (cc/gcc/clang) to build the hostile programs")
    with searchable_dir("clearinghouse-hostile-build-") as build_dir:
        yield _compile(build_dir)


def _compile(build_dir: Path) -> Programs:
    assert CC is not None
    for source in sorted(ASSETS.glob("*.c")):
        subprocess.run([CC, "-O0", "-o", str(build_dir / source.stem), str(source)], check=True)
    subprocess.run(
        [
            CC,
            "-O0",
            "-g",
            "-fsanitize=address",
            "-o",
            str(build_dir / "memory_bomb_asan"),
            str(ASSETS / "memory_bomb.c"),
        ],
        check=True,
    )
    return Programs(build_dir)


@pytest.fixture(scope="session")
def sandbox() -> BubblewrapSandbox:
    return BubblewrapSandbox(FAST)


@pytest.fixture
def work_dir() -> Iterator[Path]:
    with searchable_dir("clearinghouse-hostile-work-") as work:
        yield work


@pytest.fixture
def run(
    sandbox: BubblewrapSandbox, programs: Programs, work_dir: Path
) -> Iterator[Callable[..., RunResult]]:
    """Runs a hostile program; afterwards asserts no process of it and no zombie remains."""

    def _run(name: str, *args: str, limits: SandboxLimits = FAST, asan: bool = False) -> RunResult:
        request = RunRequest(
            argv=(programs.path(name), *args),
            work_dir=work_dir,
            read_only_binds=(programs.build_dir,),
            asan=asan,
        )
        return sandbox.run(request, limits)

    yield _run
    assert processes_running(str(programs.build_dir)) == []
    assert zombie_children() == []


def processes_running(marker: str) -> list[int]:
    """Host pids whose command line mentions ``marker`` (the build directory's path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def zombie_children() -> list[int]:
    """Children of this test process left unreaped."""
    zombies = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(os.getpid()) and fields.get(
            "State", ""
        ).startswith("Z"):
            zombies.append(int(entry.name))
    return zombies


# --- the sandbox runs honest programs exactly ----------------------------------------------


@requires_bwrap
@requires_cc
def test_benign_run_is_reported_exactly(
    sandbox: BubblewrapSandbox, programs: Programs, work_dir: Path
) -> None:
    result = sandbox.run(
        RunRequest(
            argv=(programs.path("benign"), "world"),
            work_dir=work_dir,
            read_only_binds=(programs.build_dir,),
            stdin=b"from stdin\n",
        )
    )
    assert result.exit_code == 7
    assert result.signal is None
    assert result.stdout == b"hello world\nfrom stdin\n"
    assert result.stderr == b"warning: benign\n"
    assert not result.timed_out
    assert not result.stdout_truncated
    assert not result.stderr_truncated
    assert result.killed_reason is None
    assert result.isolation == "bubblewrap"


@requires_bwrap
def test_environment_is_scrubbed_and_uid_is_not_root(
    sandbox: BubblewrapSandbox, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARINGHOUSE_DATABASE_URL", "postgresql://secret@db/clearinghouse")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    result = sandbox.run(
        RunRequest(argv=("sh", "-c", "env; id -u; id -g"), work_dir=work_dir, env={"A": "b"})
    )
    lines = result.stdout.decode().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert set(env) == {"PATH", "HOME", "TMPDIR", "LC_ALL", "A", "PWD"}
    assert lines[-2:] == ["65534", "65534"]
    assert b"secret" not in result.stdout
    assert b"hunter2" not in result.stdout


@requires_bwrap
def test_the_work_directory_is_writable_and_current(
    sandbox: BubblewrapSandbox, work_dir: Path
) -> None:
    (work_dir / "input.bin").write_bytes(b"proof")
    result = sandbox.run(
        RunRequest(
            argv=("sh", "-c", "pwd; cat input.bin; echo out > output.txt"), work_dir=work_dir
        )
    )
    assert result.ok, result
    assert result.stdout == f"{work_dir}\nproof".encode()
    assert (work_dir / "output.txt").read_text() == "out\n"
    # handed back: the caller owns everything in its work directory again
    assert (work_dir / "output.txt").stat().st_uid == work_dir.stat().st_uid == os.getuid()


@requires_bwrap
def test_paths_the_sandbox_uid_cannot_reach_are_refused(
    sandbox: BubblewrapSandbox, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root drops to another uid")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    work = private / "work"
    work.mkdir()
    with pytest.raises(SandboxConfigError, match="not searchable"):
        sandbox.run(RunRequest(argv=("true",), work_dir=work))


# --- hostile proofs -------------------------------------------------------------------------


@requires_bwrap
@requires_cc
def test_loopback_port_opened_by_the_host_is_unreachable(run: Callable[..., RunResult]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        result = run("connect_loopback", str(port))
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert result.exit_code == 0, result
    assert result.stdout.startswith(b"connect failed: "), result.stdout
    assert b"CONNECTED" not in result.stdout


@requires_bwrap
@requires_cc
def test_writes_outside_the_work_directory_never_reach_the_host(
    run: Callable[..., RunResult], tmp_path: Path, work_dir: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    refused = [
        outside / "pwned",  # a host directory the sandbox was not given
        Path("/usr/pwned"),  # the read-only system
        Path("/pwned"),  # the sandbox's own root
        Path("/proc/sys/kernel/hostname"),  # kernel settings (root-owned, not the sandbox's)
    ]
    # Allowed, but only in the sandbox's private /tmp: the host must never see them.
    private = [
        work_dir.parent / f"pwned-{os.getpid()}",  # the work directory's parent
        Path("/tmp") / f"clearinghouse-hostile-{os.getpid()}",
    ]
    args = [arg for target in (*refused, *private) for arg in ("write", str(target))]
    result = run("fs_probe", *args, "write", str(work_dir / "allowed"))
    assert result.exit_code == 0, result
    report = result.stdout.decode()
    for target in refused:
        assert f"write {target}: WRITTEN" not in report
        assert not target.exists() or target.read_bytes() != b"pwned\n"
    for target in private:
        assert f"write {target}: WRITTEN" in report
        assert not target.exists()
    assert (work_dir / "allowed").read_bytes() == b"pwned\n"


@requires_bwrap
@requires_cc
def test_the_clearinghouse_database_is_invisible(
    run: Callable[..., RunResult], tmp_path: Path
) -> None:
    data_dir = tmp_path / ".clearinghouse"
    data_dir.mkdir()
    database = data_dir / "clearinghouse.db"
    database.write_text("SQLite format 3 SECRET-UNPATCHED-FLAW")
    result = run("fs_probe", "read", str(database), "read", "/etc/shadow", "read", "/root/.ssh")
    assert result.exit_code == 0, result
    assert b"SECRET" not in result.stdout
    assert f"read {database}: No such file or directory".encode() in result.stdout
    assert b"read /etc/shadow: No such file or directory" in result.stdout


@requires_bwrap
@requires_cc
def test_fork_bomb_is_contained_and_killed_on_the_wall_clock(
    run: Callable[..., RunResult],
) -> None:
    limits = SandboxLimits(wall_clock_s=2.0, cpu_s=10, max_processes=32)
    outcome: list[RunResult] = []
    bomb = threading.Thread(target=lambda: outcome.append(run("fork_bomb", limits=limits)))
    bomb.start()
    try:
        time.sleep(0.5)  # the bomb is at its limit by now
        started = time.monotonic()
        host = subprocess.run(["true"], check=False, timeout=5)
        assert host.returncode == 0
        assert time.monotonic() - started < 1.0, "the host could not fork promptly"
    finally:
        bomb.join(timeout=30)
    (result,) = outcome
    assert result.timed_out
    assert result.killed_reason == "wall-clock"
    assert result.signal == signal.SIGKILL
    assert result.exit_code is None
    assert 2.0 <= result.duration_s < 5.0


@requires_bwrap
@requires_cc
def test_fork_bomb_is_contained_by_a_pids_cgroup_too(programs: Programs, work_dir: Path) -> None:
    try:
        sandbox = BubblewrapSandbox(FAST, pids_cgroup=True)
    except SandboxUnavailableError as error:
        pytest.skip(f"no writable pids cgroup here: {error}")
    result = sandbox.run(
        RunRequest(
            argv=(programs.path("fork_bomb"),),
            work_dir=work_dir,
            read_only_binds=(programs.build_dir,),
        ),
        SandboxLimits(wall_clock_s=1.0, max_processes=16),
    )
    assert result.timed_out
    assert result.duration_s < 4.0
    assert processes_running(str(programs.build_dir)) == []


@requires_bwrap
@requires_cc
def test_memory_bomb_hits_the_address_space_limit(run: Callable[..., RunResult]) -> None:
    limits = SandboxLimits(wall_clock_s=10.0, address_space_bytes=256 << 20)
    result = run("memory_bomb", limits=limits)
    assert result.exit_code == 2, result
    failed_after_mib = int(result.stdout.split()[3])
    assert failed_after_mib < 256
    assert not result.timed_out


@requires_bwrap
@requires_cc
def test_asan_memory_bomb_hits_hard_rss_limit_not_rlimit_as(
    run: Callable[..., RunResult],
) -> None:
    # An address-space limit this small would stop ASan from even starting: it must not apply.
    limits = SandboxLimits(wall_clock_s=20.0, address_space_bytes=64 << 20, asan_rss_limit_mb=200)
    result = run("memory_bomb_asan", limits=limits, asan=True)
    assert b"hard rss limit exhausted" in result.stderr, result.stderr[-2000:]
    assert result.exit_code == 1
    assert b"ALLOCATED" not in result.stdout
    assert not result.timed_out


@requires_bwrap
@requires_cc
def test_infinite_loop_is_killed_on_the_wall_clock(run: Callable[..., RunResult]) -> None:
    result = run("spin", limits=SandboxLimits(wall_clock_s=1.0, cpu_s=30))
    assert result.timed_out
    assert result.killed_reason == "wall-clock"
    assert 1.0 <= result.duration_s < 3.0


@requires_bwrap
@requires_cc
def test_cpu_limit_ends_a_spinning_program_with_sigxcpu(run: Callable[..., RunResult]) -> None:
    result = run("spin", limits=SandboxLimits(wall_clock_s=10.0, cpu_s=1))
    assert result.signal == signal.SIGXCPU, result
    assert not result.timed_out
    assert result.killed_reason is None


@requires_bwrap
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
@requires_cc
def test_gigabytes_of_output_are_capped(run: Callable[..., RunResult], stream: str) -> None:
    cap = 64 * 1024
    fd = "1" if stream == "stdout" else "2"
    result = run("flood", fd, limits=SandboxLimits(wall_clock_s=10.0, max_output_bytes=cap))
    captured, truncated = (
        (result.stdout, result.stdout_truncated)
        if stream == "stdout"
        else (result.stderr, result.stderr_truncated)
    )
    assert truncated
    assert captured == b"A" * cap
    assert result.killed_reason == "output-cap"
    assert not result.timed_out
    assert result.duration_s < 3.0


@requires_bwrap
def test_file_size_limit_stops_a_big_write(sandbox: BubblewrapSandbox, work_dir: Path) -> None:
    limits = SandboxLimits(max_file_bytes=1 << 20)
    result = sandbox.run(
        RunRequest(argv=("sh", "-c", "head -c 10000000 /dev/zero > big"), work_dir=work_dir),
        limits,
    )
    assert result.signal == signal.SIGXFSZ, result
    assert (work_dir / "big").stat().st_size == 1 << 20


@requires_bwrap
@requires_cc
def test_daemonised_child_is_killed_with_its_parent(run: Callable[..., RunResult]) -> None:
    result = run("daemon")  # the fixture asserts no process of it remains
    assert result.exit_code == 0, result
    assert result.stdout == b"parent done\n"
    assert not result.timed_out
    assert result.duration_s < 2.0


@requires_bwrap
def test_production_selection_gets_bubblewrap() -> None:
    assert select_sandbox(allow_unisolated=False).isolation == "bubblewrap"


# --- the demo fallback ------------------------------------------------------------------------


def test_restricted_subprocess_says_it_is_not_isolated(
    work_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARINGHOUSE_SECRET_KEY", "hunter2")
    sandbox = RestrictedSubprocess(SandboxLimits(wall_clock_s=5.0))
    with caplog.at_level(logging.WARNING):
        result = sandbox.run(
            RunRequest(argv=("sh", "-c", "env; pwd; exit 4"), work_dir=work_dir, stdin=b"")
        )
    assert result.exit_code == 4
    assert result.isolation == "restricted-subprocess (NOT ISOLATED)"
    assert b"hunter2" not in result.stdout
    assert str(work_dir).encode() in result.stdout
    assert any("WITHOUT ISOLATION" in record.getMessage() for record in caplog.records)


def test_restricted_subprocess_still_kills_on_the_wall_clock(work_dir: Path) -> None:
    sandbox = RestrictedSubprocess(SandboxLimits(wall_clock_s=0.5))
    result = sandbox.run(RunRequest(argv=("sleep", "30"), work_dir=work_dir))
    assert result.timed_out
    assert result.killed_reason == "wall-clock"
    assert result.duration_s < 2.0
