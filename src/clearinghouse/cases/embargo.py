"""The embargo of a case as a state machine, and the one gate every public action passes.

States: ``proposed`` → ``agreed`` → ``extended`` (any number of times) → ``lifted``; ``broken``
from any state before the lift. Every case has an embargo from the moment it opens (``proposed``,
dated by :mod:`clearinghouse.cases.policy`); a proposed embargo already binds, because the
disclosure it protects against is irreversible.

Rules, which are the point of the module:

- Nothing public (advisory publication, feed entries, TLP:CLEAR notifications) happens unless
  the embargo is ``lifted`` or ``broken``: :func:`require_public` is the gate.
- ``lift`` is allowed at or after the embargo date, or earlier when every vendor and finder
  has accepted publishing now; otherwise the only way out is ``break``, recorded by a
  coordinator with a reason. The scheduler lifts due embargoes.
- The date moves later only by agreement: a date past the binding date (the earliest date any
  finder's disclosure policy allows) needs the agreement of every finder whose policy binds.

Pure: values in, values out, time passed in. Storage and audit are ``service.py``'s business.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection
from dataclasses import dataclass, replace

from clearinghouse.core.clock import to_utc
from clearinghouse.core.errors import ConflictError, InputError


class EmbargoState(enum.StrEnum):
    PROPOSED = "proposed"
    AGREED = "agreed"
    EXTENDED = "extended"
    LIFTED = "lifted"
    BROKEN = "broken"

    @property
    def binding(self) -> bool:
        """True while the embargo forbids anything public."""
        return self not in (EmbargoState.LIFTED, EmbargoState.BROKEN)


@dataclass(frozen=True, slots=True)
class Embargo:
    state: EmbargoState
    until: dt.datetime  # timezone-aware UTC instant of the planned lift
    binding_until: dt.datetime  # the earliest date a finder's disclosure policy allows
    reason: str = ""  # for ``broken``: why; for ``extended``: the justification
    ended_at: dt.datetime | None = None  # when it was lifted or broken

    def describe(self) -> str:
        """One line for people: the state and the instant with its zone."""
        return f"{self.state.value} until {format_instant(self.until)}"


def format_instant(at: dt.datetime) -> str:
    """An instant as people read it, zone included: ``2027-02-25 13:00 UTC``."""
    return utc(at).strftime("%Y-%m-%d %H:%M UTC")


def utc(at: dt.datetime) -> dt.datetime:
    """Refuse naive datetimes (their zone is a guess) and normalise aware ones to UTC."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"embargo: {at.isoformat()} has no time zone; give an offset or Z")
    return to_utc(at, "embargo")


def propose(*, until: dt.datetime, binding_until: dt.datetime) -> Embargo:
    return Embargo(state=EmbargoState.PROPOSED, until=utc(until), binding_until=utc(binding_until))


def agree(embargo: Embargo, *, now: dt.datetime) -> Embargo:
    """The coordinator records that the participants accept the proposed date."""
    _require_binding(embargo, "agree to")
    if embargo.state is not EmbargoState.PROPOSED:
        raise ConflictError(f"embargo is already {embargo.state.value}; nothing to agree to")
    if embargo.until > embargo.binding_until:
        raise ConflictError(
            f"embargo: {format_instant(embargo.until)} is later than the finders' disclosure "
            f"policies allow ({format_instant(embargo.binding_until)}); extend it by agreement"
        )
    return replace(embargo, state=EmbargoState.AGREED)


def extend(
    embargo: Embargo,
    *,
    until: dt.datetime,
    now: dt.datetime,
    finders: Collection[str],
    agreed_by: Collection[str],
    reason: str,
) -> Embargo:
    """Move the date later. Past the binding date, every finder must have agreed to ``until``.

    ``finders`` are the organizations whose disclosure policy binds; ``agreed_by`` those who
    accepted exactly this date.
    """
    _require_binding(embargo, "extend")
    until = utc(until)
    if until <= embargo.until:
        raise InputError(
            f"until: {format_instant(until)} is not later than the current embargo "
            f"({format_instant(embargo.until)})"
        )
    if until <= utc(now):
        raise InputError(f"until: {format_instant(until)} is in the past")
    if not reason.strip():
        raise InputError("reason: an extension needs a reason")
    if until > embargo.binding_until:
        missing = sorted(set(finders) - set(agreed_by))
        if missing:
            raise ConflictError(
                f"embargo: extending to {format_instant(until)} passes the finders' disclosure "
                f"date ({format_instant(embargo.binding_until)}) and needs their agreement; "
                f"not yet agreed: {', '.join(missing)}"
            )
        binding_until = until  # the finders moved their own date by agreeing
    else:
        binding_until = embargo.binding_until
    return replace(
        embargo,
        state=EmbargoState.EXTENDED,
        until=until,
        binding_until=binding_until,
        reason=reason.strip(),
    )


def lift(embargo: Embargo, *, now: dt.datetime, all_agreed: bool = False) -> Embargo:
    """End the embargo as planned: at or after its date, or earlier when every vendor and
    finder has agreed to publish now (the fix is out)."""
    _require_binding(embargo, "lift")
    now = utc(now)
    if now < embargo.until and not all_agreed:
        raise ConflictError(
            f"embargo runs until {format_instant(embargo.until)}; lifting it earlier needs "
            "every vendor and finder to accept an earlier date, or is a break, which a "
            "coordinator records with its reason"
        )
    return replace(embargo, state=EmbargoState.LIFTED, ended_at=now)


def break_(embargo: Embargo, *, now: dt.datetime, reason: str) -> Embargo:
    """End the embargo early (exploitation seen, details leaked): the reason is required."""
    _require_binding(embargo, "break")
    if not reason.strip():
        raise InputError("reason: breaking an embargo needs a reason")
    return replace(embargo, state=EmbargoState.BROKEN, reason=reason.strip(), ended_at=utc(now))


def due_for_lift(embargo: Embargo, *, now: dt.datetime) -> bool:
    """Whether the scheduler should lift it now (agreed or not: the date has come)."""
    return embargo.state.binding and utc(now) >= embargo.until


def require_public(embargo: Embargo, *, what: str) -> None:
    """The gate: raise unless the embargo has ended (lifted, or broken with a reason)."""
    if embargo.state.binding:
        raise ConflictError(
            f"{what} is not allowed: the case is under embargo ({embargo.describe()}); "
            "it ends when lifted on its date or broken by a coordinator with a reason"
        )


def _require_binding(embargo: Embargo, verb: str) -> None:
    if not embargo.state.binding:
        raise ConflictError(f"cannot {verb} an embargo that is already {embargo.state.value}")
