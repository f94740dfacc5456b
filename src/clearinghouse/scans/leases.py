"""Who scans what next: time-boxed scan leases over open-source projects, with k-way redundancy.

Labs ask for work; :func:`next_targets` answers with the projects they should scan, so that
effort is spread instead of duplicated. The rules, all evaluated at the ``now`` passed in:

* A lease is *live* while ``expires_at > now``; an expired lease simply stops counting, so a lab
  that walks away frees its project without anyone having to revoke anything.
* A project allows one live lease, except the most critical ``redundancy_top_fraction`` of the
  catalogue (by score; ties by lower id), which allow ``redundancy`` concurrent leases so that
  independent eyes look at what matters most. The top set is ``ceil(fraction · n)`` projects,
  so a non-zero fraction always covers at least one project of a non-empty catalogue.
* A project is *freshly covered* while ``now - last_covered < stale_after`` (a ``last_covered``
  in the future counts as fresh); it is not offered again until it goes stale. ``last_covered``
  is the last completed scan by anyone.
* ``covered_by_org`` (project id -> the asking organization's own last completed scan) is an
  additional exclusion under the same freshness rule: an organization is never handed back
  what it scanned itself within ``stale_after``, even when the shared ``last_covered`` lags
  behind (a completion not yet ingested, or withheld under embargo).
* The asking organization never receives a project on which it already holds a live lease.
* Eligible projects are ordered by score, then staleness (never covered is the stalest), both
  descending, then by id ascending; the first ``count`` are returned.

It does not store leases, take locks, or check authorizations: the caller persists the leases it
grants (:func:`leases_for` builds them) and must serialise concurrent grants itself, because two
callers reading the same lease list would both see a free slot.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clearinghouse.core.errors import InputError


@dataclass(frozen=True, slots=True)
class Project:
    """A scan target; ``last_covered`` is the last completed scan by anyone (None: never)."""

    id: int
    name: str
    score: float
    last_covered: datetime | None


@dataclass(frozen=True, slots=True)
class Lease:
    """An organization's time-boxed claim on scanning one project."""

    project_id: int
    organization_id: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    """How long leases last, who gets redundancy, and when coverage goes stale."""

    duration: timedelta = timedelta(days=7)
    redundancy_top_fraction: float = 0.05
    redundancy: int = 2
    stale_after: timedelta = timedelta(days=90)

    def __post_init__(self) -> None:
        if self.duration <= timedelta(0):
            raise InputError("lease duration must be positive")
        if not 0.0 <= self.redundancy_top_fraction <= 1.0:
            raise InputError("redundancy_top_fraction must lie in [0, 1]")
        if self.redundancy < 1:
            raise InputError("redundancy must be at least 1")
        if self.stale_after < timedelta(0):
            raise InputError("stale_after must not be negative")


def _require_aware(moment: datetime, what: str) -> None:
    # Naive and aware datetimes cannot be compared; refusing early names the culprit.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(f"{what} must be timezone-aware")


def _redundant_ids(projects: Sequence[Project], fraction: float) -> frozenset[int]:
    # Rounded first: 0.07 * 100 is 7.000000000000001 in binary and must not become 8.
    top = math.ceil(round(fraction * len(projects), 9))
    ranked = sorted(projects, key=lambda p: (-p.score, p.id))
    return frozenset(p.id for p in ranked[:top])


def _fresh(covered: datetime | None, now: datetime, stale_after: timedelta) -> bool:
    return covered is not None and now - covered < stale_after


def next_targets(
    *,
    organization_id: int,
    projects: Sequence[Project],
    leases: Sequence[Lease],
    now: datetime,
    count: int,
    policy: LeasePolicy,
    covered_by_org: Mapping[int, datetime] | None = None,
) -> list[Project]:
    """Up to ``count`` projects ``organization_id`` should lease next (see the module rules).

    Leases on projects absent from ``projects`` are ignored. Raises :class:`InputError` for a
    negative ``count``, duplicate project ids, non-finite scores or naive datetimes.
    """
    if count < 0:
        raise InputError("count must not be negative")
    _require_aware(now, "now")
    seen: set[int] = set()
    for project in projects:
        if project.id in seen:
            raise InputError(f"duplicate project id {project.id}")
        seen.add(project.id)
        if not math.isfinite(project.score):
            raise InputError(f"project {project.id} has a non-finite score")
        if project.last_covered is not None:
            _require_aware(project.last_covered, f"project {project.id} last_covered")
    own = covered_by_org or {}
    for project_id, moment in own.items():
        _require_aware(moment, f"covered_by_org[{project_id}]")
    for lease in leases:
        _require_aware(lease.expires_at, "lease expires_at")

    live = [lease for lease in leases if lease.expires_at > now]
    live_count = Counter(lease.project_id for lease in live)
    held = {lease.project_id for lease in live if lease.organization_id == organization_id}
    redundant = _redundant_ids(projects, policy.redundancy_top_fraction)

    eligible = [
        project
        for project in projects
        if live_count[project.id] < (policy.redundancy if project.id in redundant else 1)
        and project.id not in held
        and not _fresh(project.last_covered, now, policy.stale_after)
        and not _fresh(own.get(project.id), now, policy.stale_after)
    ]

    def order(project: Project) -> tuple[float, bool, timedelta, int]:
        # Never covered sorts as the stalest of all; negated so one ascending sort suffices.
        never = project.last_covered is None
        age = timedelta(0) if project.last_covered is None else now - project.last_covered
        return (-project.score, not never, -age, project.id)

    return sorted(eligible, key=order)[:count]


def leases_for(
    targets: Sequence[Project], *, organization_id: int, now: datetime, policy: LeasePolicy
) -> list[Lease]:
    """The leases granting ``targets`` to ``organization_id`` for ``policy.duration`` from now."""
    _require_aware(now, "now")
    expires_at = now + policy.duration
    return [Lease(project.id, organization_id, expires_at) for project in targets]
