"""Which vendors to remind and which to escalate, decided from dates alone.

A vendor that was notified and has not answered (no status, message or patch) is reminded after
``reminder_after_days`` and escalated after ``escalate_after_days``: its open statuses become
``no_response`` (kept apart from ``unknown``, which only means "not yet said") and the
coordinators are told. Each step happens once per vendor and case. Pure: the scheduler passes
the rows and the time and carries out what comes back.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from clearinghouse.cases.policy import DisclosurePolicy


class DeadlineAction(enum.StrEnum):
    REMIND = "remind"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class VendorClock:
    """What the scheduler needs to know of one vendor in one case."""

    participant_id: int
    notified_at: dt.datetime | None
    responded_at: dt.datetime | None
    reminded_at: dt.datetime | None
    escalated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Due:
    participant_id: int
    action: DeadlineAction
    silent_days: int


def due_actions(
    vendors: Iterable[VendorClock], *, now: dt.datetime, policy: DisclosurePolicy
) -> list[Due]:
    """At most one action per silent vendor: escalation if its time has come, else a reminder."""
    due: list[Due] = []
    for vendor in vendors:
        if vendor.notified_at is None or vendor.responded_at is not None:
            continue
        if vendor.escalated_at is not None:
            continue
        silent = now - vendor.notified_at
        days = silent.days
        if silent >= dt.timedelta(days=policy.escalate_after_days):
            due.append(Due(vendor.participant_id, DeadlineAction.ESCALATE, days))
        elif silent >= dt.timedelta(days=policy.reminder_after_days) and vendor.reminded_at is None:
            due.append(Due(vendor.participant_id, DeadlineAction.REMIND, days))
    return due
