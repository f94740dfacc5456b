"""The OpenSSF criticality score of an open-source project, from signals already collected.

This is Rob Pike's formula as published by ossf/criticality_score (the original README, whose
default weights and thresholds the Go rewrite still ships as ``config/scorer/original_pike.yml``):

    C = (1 / Σ α_i) · Σ α_i · log(1 + S_i) / log(1 + max(S_i, T_i))

Each signal ``S_i`` contributes at most its weight ``α_i`` (once it reaches its threshold
``T_i``), with diminishing returns below it. ``updated_since`` carries weight -1: months without
an update *lower* the score.

Deliberate choices, each visible to a caller:

* **Absent signals are dropped from both sums**, so a project is scored on what we know about
  it instead of being punished for what nobody measured. Scores computed from different signal
  sets are therefore comparable only roughly.
* **Clearinghouse extension** ``operators_running`` (how many registered operators run the
  project, per their SBOMs; weight 2, threshold 100) is part of :data:`DEFAULT_SIGNALS`.
  :data:`OPENSSF_SIGNALS` is the upstream table alone; pass ``signals=`` to use it or any other
  table.
* **The result is clamped to [0, 1].** The published formula divides by the *signed* weight
  sum, so it can leave that interval (a freshly updated project saturating every positive
  signal reaches 9.5/8.5 under the upstream table; a project known only to be stale would go
  negative). The README promises a score between 0 and 1, so that is what callers get. A set
  of present signals whose weights sum to zero or less has no meaningful score and is refused.
* Negative signal values (clock skew, bad collectors) are clamped to 0; non-finite values and
  names missing from the signal table are refused with :class:`InputError`.
* No rounding: upstream rounds to five decimals for display; ranking wants the full value.

It does not collect signals (no GitHub, no deps.dev) and does not decide what to scan; see
:mod:`clearinghouse.scans.leases` for that.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from clearinghouse.core.errors import InputError


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal's weight ``α`` and saturation threshold ``T`` (same unit as the value)."""

    weight: float
    threshold: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.weight):
            raise InputError(f"signal weight must be finite, got {self.weight!r}")
        # A threshold of 0 would make log(1 + max(0, 0)) = 0 a divisor for a zero value.
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise InputError(f"signal threshold must be finite and > 0, got {self.threshold!r}")


OPENSSF_SIGNALS: Final[Mapping[str, Signal]] = MappingProxyType(
    {
        "created_since": Signal(weight=1, threshold=120),  # months
        "updated_since": Signal(weight=-1, threshold=120),  # months
        "contributor_count": Signal(weight=2, threshold=5000),
        "org_count": Signal(weight=1, threshold=10),
        "commit_frequency": Signal(weight=1, threshold=1000),  # commits/week, last year
        "recent_releases_count": Signal(weight=0.5, threshold=26),  # last year
        "closed_issues_count": Signal(weight=0.5, threshold=5000),  # last 90 days
        "updated_issues_count": Signal(weight=0.5, threshold=5000),  # last 90 days
        "comment_frequency": Signal(weight=1, threshold=15),  # comments/issue, last 90 days
        "dependents_count": Signal(weight=2, threshold=500_000),
    }
)
"""The upstream default table (original README), unchanged."""

OPERATORS_RUNNING: Final = "operators_running"
"""Clearinghouse extension: registered operators whose SBOMs list the project."""

DEFAULT_SIGNALS: Final[Mapping[str, Signal]] = MappingProxyType(
    {**OPENSSF_SIGNALS, OPERATORS_RUNNING: Signal(weight=2, threshold=100)}
)
""":data:`OPENSSF_SIGNALS` plus ``operators_running`` (weight 2, threshold 100)."""


def criticality(
    values: Mapping[str, float], *, signals: Mapping[str, Signal] = DEFAULT_SIGNALS
) -> float:
    """Score a project in [0, 1] from the signals present in ``values``.

    Raises :class:`InputError` for a name not in ``signals``, a non-finite value, or when the
    present signals' weights sum to zero or less (nothing positive to normalise by).
    """
    unknown = sorted(set(values) - set(signals))
    if unknown:
        raise InputError(f"unknown criticality signal(s): {', '.join(unknown)}")
    total_weight = 0.0
    weighted = 0.0
    # Sorted so the floating-point sum does not depend on the caller's mapping order.
    for name in sorted(values):
        raw = values[name]
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise InputError(f"criticality signal {name} must be a finite number, got {raw!r}")
        value = max(float(raw), 0.0)
        signal = signals[name]
        total_weight += signal.weight
        weighted += signal.weight * math.log1p(value) / math.log1p(max(value, signal.threshold))
    if total_weight <= 0:
        raise InputError(
            "the present criticality signals have a weight sum <= 0; add a positive signal"
        )
    return min(max(weighted / total_weight, 0.0), 1.0)
