"""Default embargo dates and vendor deadlines, as tunable policy and pure functions.

The default follows common coordinated-disclosure practice (CERT/CC, Project Zero): 90 days from
the report, 7 days when the flaw is exploited in the wild. Each finder may bring its own
disclosure policy (days from its report); the embargo may not pass the earliest date any of
them allows (the *binding* date) unless they agree. Pure; no clock of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from clearinghouse.core.errors import InputError


@dataclass(frozen=True, slots=True)
class DisclosurePolicy:
    default_days: int = 90
    exploited_days: int = 7
    reminder_after_days: int = 7  # remind a vendor that has not answered
    escalate_after_days: int = 14  # then mark it no_response and tell the coordinators

    def __post_init__(self) -> None:
        for name in ("default_days", "exploited_days", "reminder_after_days"):
            if getattr(self, name) < 1:
                raise InputError(f"{name}: must be at least 1 day")
        if self.escalate_after_days <= self.reminder_after_days:
            raise InputError("escalate_after_days: must be later than reminder_after_days")


@dataclass(frozen=True, slots=True)
class FinderPolicy:
    """One finder's own disclosure policy: ``days`` after ``reported_at``."""

    organization: str
    reported_at: dt.datetime
    days: int | None  # None: the finder follows the clearinghouse's policy


@dataclass(frozen=True, slots=True)
class DefaultEmbargo:
    until: dt.datetime  # the proposed date
    binding_until: dt.datetime  # the earliest date any finder's policy allows
    binding_finders: tuple[str, ...]  # whose policy sets the binding date
    reason: str  # why this date, for people


def default_embargo(
    *,
    opened_at: dt.datetime,
    exploited: bool,
    finders: Sequence[FinderPolicy],
    policy: DisclosurePolicy,
) -> DefaultEmbargo:
    """The proposed embargo date: the earliest of the clearinghouse's and every finder's date.

    Finders' dates count from their own report; the clearinghouse's from the case opening, or
    7 days when exploited (a flaw attackers already use gets no 90-day quiet period).
    """
    own_days = policy.exploited_days if exploited else policy.default_days
    own = opened_at + dt.timedelta(days=own_days)
    dated = [
        (f.reported_at + dt.timedelta(days=f.days), f.organization)
        for f in finders
        if f.days is not None
    ]
    binding = min((at for at, _ in dated), default=own)
    binding = min(binding, own) if exploited else binding
    binding_finders = tuple(sorted({org for at, org in dated if at == binding}))
    until = min(own, binding)
    if exploited:
        reason = f"exploited in the wild: {policy.exploited_days} days"
    elif binding_finders and until == binding:
        reason = "the earliest finder disclosure policy: " + ", ".join(binding_finders)
    else:
        reason = f"clearinghouse policy: {policy.default_days} days"
    return DefaultEmbargo(
        until=until,
        binding_until=max(binding, until),
        binding_finders=binding_finders,
        reason=reason,
    )
