"""The retry schedule: exponential growth, a cap, deterministic per-key jitter, a dead letter."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from clearinghouse.advisories.delivery import RetryPolicy, jitter_factor, next_attempt_at
from clearinghouse.core.errors import InputError

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def delay_s(policy: RetryPolicy, attempts_made: int, key: str = "ntf-42") -> float:
    at = next_attempt_at(policy, attempts_made=attempts_made, now=NOW, key=key)
    assert at is not None
    return (at - NOW).total_seconds()


def test_backoff_doubles_from_the_base_delay() -> None:
    policy = RetryPolicy(max_attempts=8, base_delay_s=30.0, max_delay_s=6 * 3600.0)
    factor = jitter_factor("ntf-42")
    delays = [delay_s(policy, n) for n in range(1, 8)]
    assert delays == pytest.approx([30.0 * 2 ** (n - 1) * factor for n in range(1, 8)])
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))


def test_backoff_is_capped_at_max_delay() -> None:
    policy = RetryPolicy(max_attempts=100, base_delay_s=30.0, max_delay_s=600.0)
    capped = 600.0 * jitter_factor("ntf-42")
    assert delay_s(policy, 6) == pytest.approx(capped)  # 30 * 2**5 = 960 > 600
    assert delay_s(policy, 99) == pytest.approx(capped)


def test_jitter_is_deterministic_per_key_and_within_half_to_full_delay() -> None:
    policy = RetryPolicy()
    assert delay_s(policy, 3, "ntf-1") == delay_s(policy, 3, "ntf-1")
    delays = {delay_s(policy, 3, f"ntf-{i}") for i in range(200)}
    assert len(delays) > 150  # keys spread out rather than retrying in step
    full = policy.base_delay_s * 4
    assert all(0.5 * full <= d <= full for d in delays)


def test_none_once_max_attempts_are_made() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert next_attempt_at(policy, attempts_made=2, now=NOW, key="k") is not None
    assert next_attempt_at(policy, attempts_made=3, now=NOW, key="k") is None
    assert next_attempt_at(policy, attempts_made=4, now=NOW, key="k") is None


def test_first_attempt_is_due_immediately() -> None:
    assert next_attempt_at(RetryPolicy(), attempts_made=0, now=NOW, key="k") == NOW


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_delay_s": 0.0}, {"base_delay_s": 60.0, "max_delay_s": 30.0}],
)
def test_nonsensical_policies_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        RetryPolicy(**kwargs)
