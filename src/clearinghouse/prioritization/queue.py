"""Which vulnerabilities in the triage queue to look at first, and why (pure).

The queue holds reports, not deployments: there is no environment to weigh, so the rank rests
on what is known of the flaw itself, most decisive first: exploitation in the wild (CISA KEV),
a likelihood of exploitation (EPSS percentile), the reported severity, and whether our sandbox
reproduced the proof (a reproduced critical flaw is real and severe). The label is a word an
analyst sorts by at a glance; ``because`` says which facts gave it.

It does not order the queue (the queue stays newest first) or set any deadline (``policy``
does that for deployments).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from clearinghouse.prioritization.signals import EPSS_POC_PERCENTILE


class Level(enum.IntEnum):
    """Lower is more urgent (sorts first)."""

    URGENT = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3
    UNRATED = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


_SEVERITIES = ("critical", "high", "medium", "low", "none")


def severity_of(rating: str | None, score: float | None) -> str | None:
    """A qualitative severity from a stated rating, else from a CVSS-like score (0 to 10)."""
    if rating and rating.lower() in _SEVERITIES:
        return rating.lower()
    if score is None:
        return None
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "none"


def worst_severity(severities: list[str | None]) -> str | None:
    known = [s for s in severities if s in _SEVERITIES]
    return min(known, key=_SEVERITIES.index) if known else None


@dataclass(frozen=True, slots=True)
class QueuePriority:
    level: Level
    because: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.level.label


def queue_priority(
    *,
    severity: str | None,
    known_exploited: bool,
    epss_percentile: float | None,
    reproduced: bool,
) -> QueuePriority:
    """The rule, in order: known exploited -> Urgent; critical and reproduced -> Urgent; EPSS
    at or above the proof-of-concept percentile, or critical -> High; high -> High if
    reproduced, else Medium; medium -> Medium; low or none -> Low; nothing known -> Unrated."""
    because: list[str] = []
    if known_exploited:
        because.append("known exploited (CISA KEV)")
    likely = epss_percentile is not None and epss_percentile >= EPSS_POC_PERCENTILE
    if likely and epss_percentile is not None:
        because.append(f"EPSS top {max(1, round(100 * (1 - epss_percentile)))}%")
    if severity is not None:
        because.append(f"{severity} severity")
    if reproduced:
        because.append("proof reproduced")
    if known_exploited or (severity == "critical" and reproduced):
        level = Level.URGENT
    elif likely or severity == "critical" or (severity == "high" and reproduced):
        level = Level.HIGH
    elif severity in ("high", "medium"):
        level = Level.MEDIUM
    elif severity in ("low", "none"):
        level = Level.LOW
    else:
        level = Level.UNRATED
    return QueuePriority(level=level, because=tuple(because))
