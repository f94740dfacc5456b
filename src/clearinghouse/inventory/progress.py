"""Remediation progress over time from what is already stored (pure).

No history table is kept: the past is rebuilt from timestamps the records carry. An inventory
import replaces its product's previous one (the old rows stay, ``created_at`` says when), VEX
statements are stored with ``imported_at``, and notification responses with ``responded_at``.
At the end of each period:

- a match is *open* when the product's inventory current then contains it and no VEX
  statement known then suppresses it;
- a match is *resolved* when it was in one of the product's inventories imported by then but
  is not open: *upgraded* when the current inventory no longer contains it (the component was
  upgraded or removed), *not affected* when a VEX statement suppresses it.

A match is identified across versions by (product, package, advisory), so an upgrade that
still leaves the package affected keeps it open. The advisories used are today's: the series
answers "how much of what we know now was open then".

It reads nothing; the caller passes imports, a VEX predicate and response instants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from clearinghouse.core.errors import InputError

MAX_PERIODS = 104


@dataclass(frozen=True, slots=True)
class MatchKey:
    product: str
    package: str  # ecosystem/name, no version
    vulnerability: str


@dataclass(frozen=True, slots=True)
class Import:
    """One imported inventory: its product, when, and the matches of its components."""

    product: str
    at: dt.datetime
    matches: frozenset[MatchKey]


@dataclass(frozen=True, slots=True)
class Point:
    end: dt.datetime  # the period's last instant
    open: int
    resolved: int  # upgraded + not_affected
    upgraded: int
    not_affected: int
    answered: int  # notifications answered by then


def period_ends(*, now: dt.datetime, periods: int, days: int = 7) -> list[dt.datetime]:
    """``periods`` instants ``days`` apart, the last one ``now``, oldest first."""
    if not 1 <= periods <= MAX_PERIODS:
        raise InputError(f"periods: between 1 and {MAX_PERIODS}")
    if days < 1:
        raise InputError("days: at least 1")
    step = dt.timedelta(days=days)
    return [now - step * (periods - 1 - i) for i in range(periods)]


def series(
    *,
    ends: Sequence[dt.datetime],
    imports: Sequence[Import],
    suppressed: Callable[[MatchKey, dt.datetime], bool],
    responses: Sequence[dt.datetime] = (),
) -> list[Point]:
    """One point per period end: open and resolved matches, and answered notifications.

    ``suppressed(key, at)`` says whether the VEX statements known at ``at`` suppress ``key``.
    """
    ordered = sorted(imports, key=lambda i: i.at)
    points = []
    for end in ends:
        current: dict[str, Import] = {}
        seen: set[MatchKey] = set()
        for item in ordered:
            if item.at > end:
                break
            current[item.product] = item  # the later import of a product replaces the earlier
            seen |= item.matches
        present: set[MatchKey] = set()
        for item in current.values():
            present |= item.matches
        open_now = {key for key in present if not suppressed(key, end)}
        upgraded = sum(1 for key in seen if key not in present)
        not_affected = len(present) - len(open_now)
        points.append(
            Point(
                end=end,
                open=len(open_now),
                resolved=upgraded + not_affected,
                upgraded=upgraded,
                not_affected=not_affected,
                answered=sum(1 for at in responses if at <= end),
            )
        )
    return points
