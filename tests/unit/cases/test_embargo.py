"""The embargo state machine, default dates and vendor deadlines, without a database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearinghouse.cases import embargo as rules
from clearinghouse.cases.deadlines import DeadlineAction, VendorClock, due_actions
from clearinghouse.cases.embargo import EmbargoState
from clearinghouse.cases.policy import DisclosurePolicy, FinderPolicy, default_embargo
from clearinghouse.core.errors import ConflictError, InputError

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def proposed(days: int = 90, binding: int = 90) -> rules.Embargo:
    return rules.propose(until=T0 + days * DAY, binding_until=T0 + binding * DAY)


def test_naive_instants_are_refused_and_others_shown_in_utc() -> None:
    with pytest.raises(InputError, match="time zone"):
        rules.propose(until=dt.datetime(2027, 1, 1), binding_until=T0)
    paris = dt.timezone(dt.timedelta(hours=1))
    embargo = rules.propose(until=dt.datetime(2027, 1, 1, 13, tzinfo=paris), binding_until=T0)
    assert embargo.until.tzinfo is dt.UTC
    assert embargo.describe() == "proposed until 2027-01-01 12:00 UTC"


def test_the_gate_holds_until_lifted_or_broken() -> None:
    embargo = proposed()
    for state in (embargo, rules.agree(embargo, now=T0)):
        with pytest.raises(ConflictError, match="under embargo"):
            rules.require_public(state, what="publishing")
    lifted = rules.lift(rules.agree(embargo, now=T0), now=T0 + 90 * DAY)
    rules.require_public(lifted, what="publishing")
    broken = rules.break_(embargo, now=T0, reason="exploited in the wild")
    rules.require_public(broken, what="publishing")
    assert broken.reason == "exploited in the wild"
    assert broken.ended_at == T0


def test_lifting_early_needs_everyone_and_breaking_needs_a_reason() -> None:
    embargo = rules.agree(proposed(), now=T0)
    with pytest.raises(ConflictError, match="break"):
        rules.lift(embargo, now=T0 + DAY)
    assert rules.lift(embargo, now=T0 + DAY, all_agreed=True).state is EmbargoState.LIFTED
    with pytest.raises(InputError, match="reason"):
        rules.break_(embargo, now=T0, reason="  ")
    ended = rules.break_(embargo, now=T0, reason="leak")
    with pytest.raises(ConflictError, match="already broken"):
        rules.lift(ended, now=T0 + 100 * DAY)
    with pytest.raises(ConflictError, match="already broken"):
        rules.break_(ended, now=T0, reason="again")
    with pytest.raises(ConflictError, match="already broken"):
        rules.agree(ended, now=T0)


def test_extension_past_the_binding_date_needs_every_finder() -> None:
    embargo = rules.agree(proposed(days=45, binding=45), now=T0)
    later = T0 + 80 * DAY
    with pytest.raises(ConflictError, match="Lab Beta"):
        rules.extend(
            embargo,
            until=later,
            now=T0,
            finders=["Lab Alpha", "Lab Beta"],
            agreed_by=["Lab Alpha"],
            reason="release cycle",
        )
    extended = rules.extend(
        embargo,
        until=later,
        now=T0,
        finders=["Lab Alpha", "Lab Beta"],
        agreed_by=["Lab Alpha", "Lab Beta"],
        reason="release cycle",
    )
    assert extended.state is EmbargoState.EXTENDED
    assert extended.binding_until == later
    within = rules.agree(proposed(days=30, binding=45), now=T0)
    moved = rules.extend(
        within, until=T0 + 40 * DAY, now=T0, finders=["Lab Alpha"], agreed_by=[], reason="qa"
    )
    assert moved.until == T0 + 40 * DAY  # inside the finders' date: no agreement needed
    with pytest.raises(InputError, match="not later"):
        rules.extend(moved, until=T0 + DAY, now=T0, finders=[], agreed_by=[], reason="x")


def test_agreeing_to_a_date_past_the_finders_policy_is_refused() -> None:
    with pytest.raises(ConflictError, match="extend it by agreement"):
        rules.agree(proposed(days=90, binding=45), now=T0)


@given(
    steps=st.lists(
        st.sampled_from(["agree", "extend", "lift", "break", "due"]), min_size=1, max_size=12
    ),
    days=st.integers(min_value=1, max_value=120),
)
def test_no_sequence_makes_it_public_without_lift_or_break(steps: list[str], days: int) -> None:
    """Whatever coordinators try in whatever order, the gate opens only after a lift on or
    after the date, or a break with a reason."""
    embargo = proposed(days=days, binding=days)
    now = T0
    for step in steps:
        try:
            if step == "agree":
                embargo = rules.agree(embargo, now=now)
            elif step == "extend":
                embargo = rules.extend(
                    embargo,
                    until=embargo.until + DAY,
                    now=now,
                    finders=["F"],
                    agreed_by=["F"],
                    reason="more time",
                )
            elif step == "lift":
                embargo = rules.lift(embargo, now=now)
            elif step == "break":
                embargo = rules.break_(embargo, now=now, reason="leak")
            else:
                now += 30 * DAY
        except (ConflictError, InputError):
            pass
        if embargo.state is EmbargoState.LIFTED:
            assert embargo.ended_at is not None
            assert embargo.ended_at >= embargo.until
        if not embargo.state.binding:
            rules.require_public(embargo, what="x")
        else:
            with pytest.raises(ConflictError):
                rules.require_public(embargo, what="x")


def test_default_dates_reconcile_finders_policies() -> None:
    policy = DisclosurePolicy()
    plain = default_embargo(opened_at=T0, exploited=False, finders=[], policy=policy)
    assert plain.until == T0 + 90 * DAY
    assert "90 days" in plain.reason
    exploited = default_embargo(
        opened_at=T0,
        exploited=True,
        finders=[FinderPolicy("Lab", T0 - 10 * DAY, 45)],
        policy=policy,
    )
    assert exploited.until == T0 + 7 * DAY
    strict = default_embargo(
        opened_at=T0,
        exploited=False,
        finders=[
            FinderPolicy("Patient Lab", T0 - 10 * DAY, 120),
            FinderPolicy("Quick Lab", T0 - 5 * DAY, 45),
            FinderPolicy("Default Lab", T0 - 5 * DAY, None),
        ],
        policy=policy,
    )
    assert strict.until == T0 + 40 * DAY  # Quick Lab: 45 days from its report 5 days ago
    assert strict.binding_finders == ("Quick Lab",)
    relaxed = default_embargo(
        opened_at=T0, exploited=False, finders=[FinderPolicy("Patient Lab", T0, 120)], policy=policy
    )
    assert relaxed.until == T0 + 90 * DAY
    assert relaxed.binding_until == T0 + 120 * DAY  # extending to 120 days needs no agreement


def test_policy_values_are_checked() -> None:
    with pytest.raises(InputError, match="escalate_after_days"):
        DisclosurePolicy(reminder_after_days=14, escalate_after_days=7)
    with pytest.raises(InputError, match="default_days"):
        DisclosurePolicy(default_days=0)


def test_silent_vendors_are_reminded_then_escalated_once() -> None:
    policy = DisclosurePolicy(reminder_after_days=7, escalate_after_days=14)
    vendors = [
        VendorClock(1, T0, None, None, None),  # silent
        VendorClock(2, T0, T0 + DAY, None, None),  # answered
        VendorClock(3, None, None, None, None),  # never notified
        VendorClock(4, T0, None, T0 + 7 * DAY, None),  # reminded already
        VendorClock(5, T0, None, T0 + 7 * DAY, T0 + 14 * DAY),  # escalated already
    ]
    assert due_actions(vendors, now=T0 + 6 * DAY, policy=policy) == []
    at_8 = due_actions(vendors, now=T0 + 8 * DAY, policy=policy)
    assert [(d.participant_id, d.action) for d in at_8] == [(1, DeadlineAction.REMIND)]
    at_15 = due_actions(vendors, now=T0 + 15 * DAY, policy=policy)
    assert [(d.participant_id, d.action) for d in at_15] == [
        (1, DeadlineAction.ESCALATE),
        (4, DeadlineAction.ESCALATE),
    ]
