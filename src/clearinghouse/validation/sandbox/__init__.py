"""Run untrusted programs (proofs, harnesses, test commands) under isolation and limits.

``select_sandbox`` is the one place that decides which sandbox a process gets: bubblewrap
(:class:`BubblewrapSandbox`) wherever it can run, and the unisolated demo fallback
(:class:`RestrictedSubprocess`) only when the caller explicitly allows it. Production passes
``allow_unisolated=False`` and therefore refuses to validate anything without isolation.
"""

from __future__ import annotations

import logging

from clearinghouse.validation.sandbox.base import (
    KilledReason,
    RunRequest,
    RunResult,
    Sandbox,
    SandboxConfigError,
    SandboxError,
    SandboxLimits,
    SandboxUnavailableError,
)
from clearinghouse.validation.sandbox.bubblewrap import BubblewrapSandbox
from clearinghouse.validation.sandbox.restricted import RestrictedSubprocess

logger = logging.getLogger(__name__)

__all__ = [
    "BubblewrapSandbox",
    "KilledReason",
    "RestrictedSubprocess",
    "RunRequest",
    "RunResult",
    "Sandbox",
    "SandboxConfigError",
    "SandboxError",
    "SandboxLimits",
    "SandboxUnavailableError",
    "select_sandbox",
]


def select_sandbox(*, allow_unisolated: bool, limits: SandboxLimits | None = None) -> Sandbox:
    """bubblewrap if it works here; else the demo fallback if allowed; else refuse.

    Raises :class:`SandboxUnavailableError` (with bubblewrap's reason) when bubblewrap cannot
    run and ``allow_unisolated`` is false.
    """
    try:
        return BubblewrapSandbox(limits)
    except SandboxUnavailableError as error:
        if not allow_unisolated:
            raise
        logger.warning(
            "bubblewrap unavailable (%s); falling back to an UNISOLATED restricted subprocess "
            "for the demo. Never use this with real proofs.",
            error.detail,
        )
        return RestrictedSubprocess(limits)
