"""The voluntary framework's rules: who may act for which side, the pre-release access window,
grant expiry, and the two-sided admission of trusted partners.

Pure: the flows load rows, ask these functions, and store what they decide. Nothing here blocks
or licenses a release; the rules only bound what the clearinghouse itself grants (access to a
model before its release) and record the decisions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from clearinghouse.access.roles import OrgKind
from clearinghouse.core.errors import ConflictError, InputError

#: The order's bound: pre-release access starts no earlier than 30 days before release.
MAX_WINDOW_DAYS = 30

NOT_A_LICENSE = (
    "Voluntary: this records an assessment and grants access for evaluation. It neither licenses "
    "nor blocks the model's release, which stays the developer's decision."
)

GOVERNMENT_KINDS = frozenset({OrgKind.COORDINATOR, OrgKind.AGENCY})
PARTNER_KINDS = frozenset({OrgKind.VENDOR, OrgKind.OPERATOR, OrgKind.RESEARCHER, OrgKind.AI_LAB})


class Side(StrEnum):
    DEVELOPER = "developer"
    GOVERNMENT = "government"


class EngagementStatus(StrEnum):
    OPEN = "open"
    WITHDRAWN = "withdrawn"


class PartnerStatus(StrEnum):
    NOMINATED = "nominated"
    ADMITTED = "admitted"
    REJECTED = "rejected"


class GrantKind(StrEnum):
    EVALUATOR = "evaluator"  # government evaluators in the pre-release window
    PARTNER = "partner"  # an admitted trusted partner's early access


def side_of(kind: OrgKind, *, developer_kind_matches: bool) -> Side | None:
    """Which side an organization acts for: the engagement's developer, or the government
    (the clearinghouse's coordinators and agencies); ``None`` for anyone else."""
    if developer_kind_matches:
        return Side.DEVELOPER
    if kind in GOVERNMENT_KINDS:
        return Side.GOVERNMENT
    return None


@dataclass(frozen=True, slots=True)
class Window:
    opens_at: dt.datetime
    closes_at: dt.datetime


def check_window(
    *, opens_at: dt.datetime, planned_release: dt.datetime, now: dt.datetime
) -> Window:
    """The pre-release window for a planned release: it opens no earlier than 30 days before
    the release and closes at the release (access after release needs no window)."""
    for name, value in (("opens_at", opens_at), ("planned_release", planned_release)):
        if value.tzinfo is None:
            raise InputError(f"{name}: a time zone is required")
    earliest = planned_release - dt.timedelta(days=MAX_WINDOW_DAYS)
    if opens_at < earliest:
        raise ConflictError(
            f"opens_at: {opens_at.isoformat()} is more than {MAX_WINDOW_DAYS} days before the "
            f"planned release {planned_release.isoformat()}; the earliest allowed is "
            f"{earliest.isoformat()}"
        )
    if opens_at >= planned_release:
        raise ConflictError("opens_at: the window must open before the planned release")
    if planned_release <= now:
        raise ConflictError("planned_release: the release date has passed; no window is needed")
    return Window(opens_at=opens_at, closes_at=planned_release)


def grant_expiry(
    *, requested: dt.datetime | None, window: Window, starts_at: dt.datetime
) -> dt.datetime:
    """When a grant ends by itself: the requested instant, never after the window closes."""
    expires = requested or window.closes_at
    if expires > window.closes_at:
        raise ConflictError(
            f"expires_at: {expires.isoformat()} is after the window closes "
            f"({window.closes_at.isoformat()})"
        )
    if expires <= starts_at:
        raise InputError("expires_at: must be after the grant starts")
    return expires


def grant_active(
    *,
    starts_at: dt.datetime,
    expires_at: dt.datetime,
    revoked_at: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    return revoked_at is None and starts_at <= now < expires_at


def admission(
    *, developer_approved: bool, government_approved: bool, rejected: bool
) -> PartnerStatus:
    """A trusted partner is admitted only when both the developer and the government approve;
    either side's rejection ends the nomination."""
    if rejected:
        return PartnerStatus.REJECTED
    if developer_approved and government_approved:
        return PartnerStatus.ADMITTED
    return PartnerStatus.NOMINATED
