"""Why to fix something, and by when, in words an IT generalist reads at a glance (pure).

The report's reason line (``policy.Deadline.explain``) speaks to analysts: ``due 2026-12-11
(rule kev): KEV (due 2026-12-11); CVSS 9.8 CRITICAL; SSVC immediate``. The one IT person of a
rural hospital needs the same facts as plain sentences, most decisive first, ending with the
date: ``Known exploited (CISA KEV); reachable from the internet, no login needed; critical
severity; fix by 2026-12-11``. Only facts the report established are said; nothing is guessed.

It does not decide the deadline or the order (``policy`` and ``signals`` do).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from clearinghouse.prioritization.signals import EPSS_POC_PERCENTILE

_SEVERITY_WORDS = {
    "CRITICAL": "critical severity",
    "HIGH": "high severity",
    "MEDIUM": "medium severity",
    "LOW": "low severity",
}
_SSVC_WORDS = {
    "immediate": "act now (SSVC: immediate)",
    "out_of_cycle": "patch before the next maintenance window (SSVC: out-of-cycle)",
}


@dataclass(frozen=True, slots=True)
class Factors:
    """What the report knows about one match.

    ``network`` is CVSS ``AV:N/PR:N/UI:N`` (attackable over the network by anyone, without a
    login or a user's click); ``severity`` a CVSS qualitative rating (``CRITICAL`` …);
    ``ssvc`` the deployer decision's value (``immediate``, ``out_of_cycle`` …).
    """

    due: dt.date
    in_kev: bool = False
    validated: bool = False
    network: bool = False
    severity: str | None = None
    epss_percentile: float | None = None
    ssvc: str | None = None
    fixed_versions: Sequence[str] = ()


def overdue_days(due: dt.date, today: dt.date) -> int:
    """Whole days past the deadline; 0 when not overdue."""
    return max(0, (today - due).days)


def deadline_phrase(due: dt.date, today: dt.date) -> str:
    """``fix by 2026-12-04``, ``fix today (2026-12-04)`` or ``OVERDUE: was due 2026-11-20
    (7 days ago)`` (the word, not a colour, says it is late)."""
    late = overdue_days(due, today)
    if late == 1:
        return f"OVERDUE: was due {due.isoformat()} (yesterday)"
    if late:
        return f"OVERDUE: was due {due.isoformat()} ({late} days ago)"
    if due == today:
        return f"fix today ({due.isoformat()})"
    return f"fix by {due.isoformat()}"


def _top_percent(percentile: float) -> int:
    """0.971 -> 3 (in the top 3 %), never 0."""
    return max(1, math.ceil(round((1.0 - percentile) * 100, 6)))


def reasons(factors: Factors) -> list[str]:
    """The plain-language facts behind the deadline, most decisive first (no date)."""
    parts: list[str] = []
    if factors.in_kev:
        parts.append("known exploited (CISA KEV)")
    if factors.validated:
        parts.append("exploit reproduced by the clearinghouse")
    if (
        not factors.in_kev
        and factors.epss_percentile is not None
        and factors.epss_percentile >= EPSS_POC_PERCENTILE
    ):
        top = _top_percent(factors.epss_percentile)
        parts.append(f"likely to be exploited soon (EPSS: top {top}% of flaws)")
    if factors.network:
        parts.append("reachable from the internet, no login needed")
    if factors.severity in _SEVERITY_WORDS:
        parts.append(_SEVERITY_WORDS[factors.severity])
    if factors.ssvc in _SSVC_WORDS:
        parts.append(_SSVC_WORDS[factors.ssvc])
    if not factors.fixed_versions:
        parts.append("no fixed version yet: limit access to it until there is one")
    return parts


def plain_reason(factors: Factors, *, today: dt.date) -> str:
    """One sentence: the reasons, then the deadline; the first letter capitalized."""
    text = "; ".join([*reasons(factors), deadline_phrase(factors.due, today)])
    return text[:1].upper() + text[1:]
