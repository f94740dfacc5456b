"""The demo-only fallback: a plain subprocess under rlimits, with NO isolation.

Where bubblewrap is missing (a laptop running the demo), this still runs the program with a
scrubbed environment, resource limits (``prlimit``), its own process group, the work directory
as current directory, capped output and a wall-clock kill of the group. It does not isolate
anything: the program sees the whole filesystem, the network and every process, can read the
clearinghouse's database, and can escape the kill by leaving its process group (``setsid``).
A fork bomb is contained only by ``RLIMIT_NPROC``, which does not bind root. So every run logs
a WARNING, and the result's ``isolation`` says ``NOT ISOLATED``; production configuration never
selects it (see ``select_sandbox``).
"""

from __future__ import annotations

import logging
import shutil
from typing import Final

from clearinghouse.validation.sandbox.base import (
    RunRequest,
    RunResult,
    SandboxLimits,
    prlimit_args,
    sandbox_env,
    supervise,
)

logger = logging.getLogger(__name__)

__all__ = ["RestrictedSubprocess"]

ISOLATION: Final = "restricted-subprocess (NOT ISOLATED)"


class RestrictedSubprocess:
    """Runs programs as limited subprocesses of the demo; says loudly that it isolates nothing."""

    isolation: Final = ISOLATION

    def __init__(self, limits: SandboxLimits | None = None, *, prlimit: str = "prlimit") -> None:
        self.limits = limits or SandboxLimits()
        self._prlimit = shutil.which(prlimit)

    def command(self, request: RunRequest, limits: SandboxLimits) -> list[str]:
        """The host command line: the program under prlimit, if prlimit exists."""
        if self._prlimit is None:
            return list(request.argv)
        rlimits = prlimit_args(limits, asan=request.asan, limit_processes=True)
        return [self._prlimit, *rlimits, "--", *request.argv]

    def run(self, request: RunRequest, limits: SandboxLimits | None = None) -> RunResult:
        limits = limits or self.limits
        logger.warning(
            "running %r WITHOUT ISOLATION (restricted subprocess, demo only): it can read "
            "and write anything this user can, including the clearinghouse's data%s",
            request.argv[0],
            "" if self._prlimit else "; prlimit is missing, so no resource limits apply",
        )
        return supervise(
            self.command(request, limits),
            env=sandbox_env(request, limits),
            cwd=request.work_dir,
            stdin=request.stdin,
            limits=limits,
            isolation=self.isolation,
            shell_style_status=False,
        )
