"""When to try a failed notification again: exponential backoff with per-key jitter.

Pure: the outbox worker passes the attempt count, the current time and the notification's
idempotency key, and gets back the instant of the next attempt or ``None`` (dead letter). The
jitter is a hash of the key, not a random draw, so the schedule is reproducible and many
notifications that failed together (a receiver outage) spread out instead of retrying in step.
Nothing here sends, stores or reads the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from clearinghouse.core.errors import InputError

_MAX_DOUBLINGS = 62  # beyond this every sane cap is reached; keeps the float finite


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_s: float = 30.0
    max_delay_s: float = 6 * 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InputError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not 0 < self.base_delay_s <= self.max_delay_s:
            raise InputError("need 0 < base_delay_s <= max_delay_s")


def jitter_factor(key: str) -> float:
    """A number in [0.5, 1.0) fixed by ``key``."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return 0.5 + 0.5 * int.from_bytes(digest[:8], "big") / 2**64


def next_attempt_at(
    policy: RetryPolicy, *, attempts_made: int, now: dt.datetime, key: str
) -> dt.datetime | None:
    """The time of attempt ``attempts_made + 1``, or None once ``max_attempts`` were made.

    After the n-th failed attempt the delay is ``base * 2**(n-1)``, capped at ``max_delay_s``,
    times the key's jitter factor. With no attempt made yet the answer is ``now``.
    """
    if attempts_made < 0:
        raise InputError(f"attempts_made must not be negative, got {attempts_made}")
    if attempts_made >= policy.max_attempts:
        return None
    if attempts_made == 0:
        return now
    doublings = min(attempts_made - 1, _MAX_DOUBLINGS)
    delay = min(policy.base_delay_s * 2.0**doublings, policy.max_delay_s)
    return now + dt.timedelta(seconds=delay * jitter_factor(key))
