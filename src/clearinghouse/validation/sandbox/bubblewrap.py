"""The production sandbox: bubblewrap namespaces, rlimits, a pids limit, a wall-clock kill.

Each run gets fresh user, mount, pid, network, IPC, UTS and cgroup namespaces
(``--unshare-all``). The program sees a read-only ``/usr`` (with the ``/bin`` and ``/lib*``
links or binds the host has), a private ``/proc`` and ``/dev``, a size-limited private
``/tmp``, the request's read-only binds, and its work directory, the one writable host path.
Nothing else of the host exists inside, so the clearinghouse's data directory, database and
configuration cannot be read or written. The network namespace has only its own loopback:
nothing on the host, loopback included, is reachable. The environment is cleared and rebuilt
from the request. The program runs as uid/gid 65534 inside its user namespace and cannot
create further user namespaces (``--disable-userns``).

bubblewrap always runs unprivileged. Started by root, bubblewrap would map the sandbox's uid
to host root: the program would own every root-owned file it can see, including the global
``/proc/sys`` settings (``kernel/core_pattern`` runs a program as host root), and
``RLIMIT_NPROC`` would not bind it. So when the clearinghouse runs as root, ``setpriv`` first
drops to a host uid of its own for the run (:class:`UidPool`), the work directory is handed to
that uid for the run (and handed back after), and every directory above the work directory and
the read-only binds must be searchable by that uid: a run whose paths are not is refused with
the blocking path.

Fork bombs: ``RLIMIT_NPROC`` binds the non-root sandbox uid, and since each concurrent run has
its own uid it is a per-run budget. As an option (``pids_cgroup=True``) each run also gets its
own pids cgroup (cgroup v1 or v2), joined before anything else starts, whose list of members
makes the final kill exact; it costs about 14 ms a run here (moving a process between v1
cgroups waits for an RCU grace period), so it is off by default. The pid namespace ends the
whole tree when the program's init ends, and ``--die-with-parent`` ends it when the supervisor
kills bubblewrap. When the clearinghouse does not run as root, bubblewrap maps the sandbox to
the clearinghouse's own uid and ``RLIMIT_NPROC`` counts that uid's processes too: run the
worker as a dedicated user.

It does not: limit disk use in the work directory beyond ``RLIMIT_FSIZE`` per file (put work
directories on a size-limited filesystem), filter system calls (no seccomp policy yet), or
defend against kernel exploits beyond what namespaces give.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from clearinghouse.validation.sandbox.base import (
    HELPER_PROCESSES,
    RunRequest,
    RunResult,
    SandboxConfigError,
    SandboxLimits,
    SandboxUnavailableError,
    prlimit_args,
    sandbox_env,
    supervise,
)

logger = logging.getLogger(__name__)

__all__ = ["BubblewrapSandbox", "PidsCgroup", "SystemLayout", "bubblewrap_args"]

ISOLATION: Final = "bubblewrap"
#: The uid and gid the program has inside its user namespace: "nobody", never root.
SANDBOX_ID: Final = 65534
#: Host uids/gids bubblewrap drops to when the clearinghouse runs as root, one per concurrent
#: run. They own no files (the work directory is handed back after each run); the range sits
#: above the 16-bit ids distributions assign, and inside the default subordinate-id maps.
DEFAULT_HOST_UIDS: Final = range(0x20000, 0x30000)
_TOP_LEVEL_SYSTEM: Final = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass(frozen=True, slots=True)
class SystemLayout:
    """The read-only system the program sees: ``/usr`` plus the host's top-level links/dirs.

    Modern distributions make ``/bin`` and ``/lib*`` symlinks into ``/usr``; older ones have
    real directories, which are then bound read-only.
    """

    symlinks: tuple[tuple[str, str], ...]  # (target, link path)
    directories: tuple[str, ...]

    @classmethod
    def of_host(cls, root: Path = Path("/")) -> SystemLayout:
        symlinks: list[tuple[str, str]] = []
        directories = ["/usr"]
        for name in _TOP_LEVEL_SYSTEM:
            path = root / name
            if path.is_symlink():
                symlinks.append((os.readlink(path), f"/{name}"))
            elif path.is_dir():
                directories.append(f"/{name}")
        return cls(symlinks=tuple(symlinks), directories=tuple(directories))


def bubblewrap_args(
    request: RunRequest,
    limits: SandboxLimits,
    layout: SystemLayout,
    env: dict[str, str],
) -> list[str]:
    """The bubblewrap options for ``request`` (everything between ``bwrap`` and ``--``).

    Order matters: ``/tmp`` is mounted before the binds so a work directory that lives under
    the host's ``/tmp`` is bound on top of the private tmpfs, and the work directory comes last
    so it stays writable even inside a read-only bind. The root is remounted read-only at the
    end: the sandbox's uid maps to the uid that started bubblewrap, which owns that root.
    """
    args = [
        "--unshare-all",
        "--unshare-user",
        "--uid",
        str(SANDBOX_ID),
        "--gid",
        str(SANDBOX_ID),
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--clearenv",
    ]
    for name in sorted(env):
        args += ["--setenv", name, env[name]]
    for directory in layout.directories:
        args += ["--ro-bind", directory, directory]
    for target, link in layout.symlinks:
        args += ["--symlink", target, link]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]  # noqa: S108 - private
    for path in request.read_only_binds:
        args += ["--ro-bind", str(path), str(path)]
    work = str(request.work_dir)
    args += ["--bind", work, work, "--chdir", work, "--remount-ro", "/"]
    return args


class PidsCgroup:
    """Where per-run pids cgroups are made: a cgroup v1 ``pids`` hierarchy or cgroup v2.

    One cgroup per run gives each run its own process budget (concurrent runs do not share
    one) and a complete list of the run's processes to kill afterwards.
    """

    def __init__(self, parent: Path, *, v2: bool) -> None:
        self.parent = parent
        self.v2 = v2

    @classmethod
    def detect(cls, mount: Path = Path("/sys/fs/cgroup")) -> PidsCgroup | None:
        """A usable pids cgroup parent, or ``None``; probes by creating and removing one."""
        candidates: list[PidsCgroup] = []
        controllers = mount / "cgroup.controllers"
        if controllers.is_file() and "pids" in controllers.read_text().split():
            candidates.append(cls(mount / "clearinghouse-sandbox", v2=True))
        if (mount / "pids" / "cgroup.procs").is_file():
            candidates.append(cls(mount / "pids" / "clearinghouse-sandbox", v2=False))
        for candidate in candidates:
            try:
                with candidate.run_group(max_tasks=1):
                    pass
            except OSError as error:
                logger.debug("pids cgroup %s unusable: %s", candidate.parent, error)
                continue
            return candidate
        return None

    def _prepare_parent(self) -> None:
        if self.v2:
            # cgroup v2 hands a controller to children only if every ancestor enables it.
            root_control = self.parent.parent / "cgroup.subtree_control"
            if "pids" not in root_control.read_text().split():
                root_control.write_text("+pids")
            self.parent.mkdir(exist_ok=True)
            control = self.parent / "cgroup.subtree_control"
            if "pids" not in control.read_text().split():
                control.write_text("+pids")
        else:
            self.parent.mkdir(exist_ok=True)

    @contextlib.contextmanager
    def run_group(self, *, max_tasks: int) -> Iterator[Path]:
        """A fresh cgroup limited to ``max_tasks``; everything in it is killed on exit."""
        self._prepare_parent()
        group = self.parent / f"run-{uuid.uuid4().hex}"
        group.mkdir()
        try:
            (group / "pids.max").write_text(str(max_tasks))
            yield group
        finally:
            self.kill_all(group)
            self._remove(group)

    @staticmethod
    def members(group: Path) -> list[int]:
        try:
            text = (group / "cgroup.procs").read_text()
        except FileNotFoundError:
            return []
        return [int(line) for line in text.split()]

    def kill_all(self, group: Path, *, timeout_s: float = 5.0) -> None:
        """``SIGKILL`` every process in ``group`` until it is empty (a bomb keeps forking)."""
        kill_file = group / "cgroup.kill"
        deadline = time.monotonic() + timeout_s
        while True:
            pids = self.members(group)
            if not pids:
                return
            if self.v2 and kill_file.exists():
                kill_file.write_text("1")
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                logger.error("processes %s survived SIGKILL in %s", pids, group)
                return
            time.sleep(0.005)

    @staticmethod
    def _remove(group: Path, *, timeout_s: float = 5.0) -> None:
        # rmdir fails with EBUSY until the killed tasks are fully released by the kernel.
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                group.rmdir()
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    logger.error("could not remove cgroup %s", group)
                    return
                time.sleep(0.005)
            else:
                return


class UidPool:
    """Hands each concurrent run its own host uid, so ``RLIMIT_NPROC`` is a per-run budget.

    ``RLIMIT_NPROC`` counts every process of a uid; runs sharing one would share one budget
    and a fork bomb in one run would starve the others. The pick is random so several worker
    processes drawing from the same range rarely meet (if they do, the runs only share a
    budget; containment holds).
    """

    def __init__(self, uids: range) -> None:
        self._uids = uids
        self._in_use: set[int] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def lease(self) -> Iterator[int]:
        with self._lock:
            for _ in range(64):
                uid = secrets.choice(self._uids)
                if uid not in self._in_use:
                    break
            else:
                uid = next(u for u in self._uids if u not in self._in_use)
            self._in_use.add(uid)
        try:
            yield uid
        finally:
            with self._lock:
                self._in_use.discard(uid)


class BubblewrapSandbox:
    """Runs programs under bubblewrap; refuses to exist where it could not contain them."""

    isolation: Final = ISOLATION

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        host_uids: range = DEFAULT_HOST_UIDS,
        pids_cgroup: bool = False,
        bwrap: str = "bwrap",
    ) -> None:
        self.limits = limits or SandboxLimits()
        self._bwrap = _require(bwrap, "install the 'bubblewrap' package")
        self._prlimit = _require("prlimit", "util-linux; it applies the resource limits")
        self._layout = SystemLayout.of_host()
        # Root drops to a uid of the pool before bubblewrap starts (see the module docstring).
        self._uids: UidPool | None = None
        self._setpriv: str | None = None
        if os.geteuid() == 0:
            if not host_uids or 0 in host_uids:
                raise SandboxConfigError("host_uids must be a non-empty range without root")
            self._uids = UidPool(host_uids)
            self._setpriv = _require("setpriv", "util-linux; it drops root before bubblewrap")
        self._cgroup: PidsCgroup | None = None
        if pids_cgroup:
            self._cgroup = PidsCgroup.detect()
            if self._cgroup is None:
                raise SandboxUnavailableError("no writable pids cgroup (v1 or v2) on this host")
        self._probe()

    def _probe(self) -> None:
        """Start one trivial sandbox now, so a host without namespaces fails at start-up."""
        with tempfile.TemporaryDirectory(prefix="clearinghouse-probe-") as work:
            os.chmod(work, 0o755)  # noqa: S103 - the directory is empty and removed at once
            result = self.run(RunRequest(argv=("true",), work_dir=Path(work)))
        if not result.ok:
            detail = result.stderr.decode("utf-8", "replace").strip()
            raise SandboxUnavailableError(
                f"bubblewrap cannot create the sandbox's namespaces here: {detail or result}"
            )

    def command(
        self, request: RunRequest, limits: SandboxLimits, *, host_uid: int | None
    ) -> list[str]:
        """The full host command line: rlimits (prlimit), drop root (setpriv), bubblewrap."""
        env = sandbox_env(request, limits)
        rlimits = prlimit_args(limits, asan=request.asan, limit_processes=self._cgroup is None)
        drop: list[str] = []
        if self._setpriv is not None and host_uid is not None:
            uid = str(host_uid)
            drop = [self._setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        return [
            self._prlimit,
            *rlimits,
            "--",
            *drop,
            self._bwrap,
            *bubblewrap_args(request, limits, self._layout, env),
            "--",
            *request.argv,
        ]

    def run(self, request: RunRequest, limits: SandboxLimits | None = None) -> RunResult:
        limits = limits or self.limits
        with contextlib.ExitStack() as stack:
            host_uid: int | None = None
            if self._uids is not None:
                host_uid = stack.enter_context(self._uids.lease())
                for path in (request.work_dir, *request.read_only_binds):
                    blocked = unreachable_parent(path, uid=host_uid, gid=host_uid)
                    if blocked is not None:
                        raise SandboxConfigError(
                            f"{blocked} is not searchable by the sandbox's uid {host_uid}, so "
                            f"{path} cannot be given to the sandbox; keep work and build "
                            "directories under world-searchable parents"
                        )
                stack.enter_context(_lent(request.work_dir, uid=host_uid))
            argv = self.command(request, limits, host_uid=host_uid)
            if self._cgroup is None:
                return self._supervise(argv, request, limits, kill_rest=lambda: None)
            cgroup = self._cgroup
            group = stack.enter_context(
                cgroup.run_group(max_tasks=limits.max_processes + HELPER_PROCESSES)
            )
            # The shell joins the cgroup and then becomes prlimit, setpriv and bubblewrap (exec
            # keeps the pid), so not one process of the run is ever outside the cgroup.
            joined = [
                "/bin/sh",
                "-c",
                'echo 0 > "$1" && shift && exec "$@"',
                "sh",
                str(group / "cgroup.procs"),
                *argv,
            ]
            return self._supervise(
                joined, request, limits, kill_rest=lambda: cgroup.kill_all(group)
            )
        raise AssertionError("unreachable")  # pragma: no cover - ExitStack swallows nothing

    def _supervise(
        self,
        argv: list[str],
        request: RunRequest,
        limits: SandboxLimits,
        *,
        kill_rest: Callable[[], None],
    ) -> RunResult:
        return supervise(
            argv,
            env={},
            cwd=None,
            stdin=request.stdin,
            limits=limits,
            isolation=self.isolation,
            shell_style_status=True,
            kill_rest=kill_rest,
        )


def _require(program: str, why: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise SandboxUnavailableError(f"{program!r} is not installed ({why})")
    return found


def unreachable_parent(path: Path, *, uid: int, gid: int) -> Path | None:
    """The first directory above ``path`` that ``uid``/``gid`` may not search, if any."""
    for parent in reversed(path.parents):
        info = parent.stat()
        if info.st_uid == uid:
            allowed = bool(info.st_mode & stat.S_IXUSR)
        elif info.st_gid == gid:
            allowed = bool(info.st_mode & stat.S_IXGRP)
        else:
            allowed = bool(info.st_mode & stat.S_IXOTH)
        if not allowed:
            return parent
    return None


@contextlib.contextmanager
def _lent(work_dir: Path, *, uid: int) -> Iterator[None]:
    """Hand the work tree to the sandbox's uid for the run, then back to its owner.

    Symlinks are never followed (``lchown``), so a link planted by the program cannot make
    the clearinghouse change the owner of a file outside the work directory.
    """
    info = work_dir.stat()
    _chown_tree(work_dir, uid=uid, gid=uid)
    try:
        yield
    finally:
        _chown_tree(work_dir, uid=info.st_uid, gid=info.st_gid)


def _chown_tree(root: Path, *, uid: int, gid: int) -> None:
    os.lchown(root, uid, gid)
    for directory, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            with contextlib.suppress(FileNotFoundError):
                os.lchown(os.path.join(directory, name), uid, gid)
