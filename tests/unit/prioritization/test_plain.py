"""The dashboard's plain-language reasons: the facts the report established, most decisive
first, in words, ending with the deadline (and OVERDUE said in words when it has passed)."""

from __future__ import annotations

import datetime as dt

import pytest

from clearinghouse.prioritization.plain import (
    Factors,
    deadline_phrase,
    overdue_days,
    plain_reason,
    reasons,
)

TODAY = dt.date(2026, 11, 27)


def test_a_known_exploited_network_flaw_reads_as_the_dashboard_example() -> None:
    factors = Factors(
        due=dt.date(2026, 12, 4),
        in_kev=True,
        network=True,
        severity="CRITICAL",
        ssvc="immediate",
        fixed_versions=("1.9.0",),
    )
    assert plain_reason(factors, today=TODAY) == (
        "Known exploited (CISA KEV); reachable from the internet, no login needed; "
        "critical severity; act now (SSVC: immediate); fix by 2026-12-04"
    )


@pytest.mark.parametrize(
    ("due", "phrase"),
    [
        (dt.date(2026, 12, 4), "fix by 2026-12-04"),
        (TODAY, "fix today (2026-11-27)"),
        (dt.date(2026, 11, 26), "OVERDUE: was due 2026-11-26 (yesterday)"),
        (dt.date(2026, 11, 20), "OVERDUE: was due 2026-11-20 (7 days ago)"),
    ],
)
def test_the_deadline_says_when_and_whether_it_is_late(due: dt.date, phrase: str) -> None:
    assert deadline_phrase(due, TODAY) == phrase
    assert overdue_days(due, TODAY) == max(0, (TODAY - due).days)


def test_an_overdue_item_ends_with_overdue_in_words() -> None:
    text = plain_reason(
        Factors(due=dt.date(2026, 11, 1), in_kev=True, fixed_versions=("2",)), today=TODAY
    )
    assert text == "Known exploited (CISA KEV); OVERDUE: was due 2026-11-01 (26 days ago)"


def test_epss_speaks_only_for_the_top_five_percent_and_not_beside_kev() -> None:
    top = Factors(due=TODAY, epss_percentile=0.971, fixed_versions=("2",))
    assert reasons(top) == ["likely to be exploited soon (EPSS: top 3% of flaws)"]
    assert reasons(Factors(due=TODAY, epss_percentile=0.949, fixed_versions=("2",))) == []
    both = Factors(due=TODAY, in_kev=True, epss_percentile=0.998, fixed_versions=("2",))
    assert reasons(both) == ["known exploited (CISA KEV)"]
    assert reasons(Factors(due=TODAY, epss_percentile=0.999, fixed_versions=("2",))) == [
        "likely to be exploited soon (EPSS: top 1% of flaws)"
    ]


def test_a_reproduced_exploit_and_a_missing_fix_are_said() -> None:
    factors = Factors(due=dt.date(2026, 12, 12), validated=True, severity="HIGH")
    assert plain_reason(factors, today=TODAY) == (
        "Exploit reproduced by the clearinghouse; high severity; "
        "no fixed version yet: limit access to it until there is one; fix by 2026-12-12"
    )


def test_only_established_facts_are_said() -> None:
    bare = Factors(due=dt.date(2027, 5, 26), severity="NONE", ssvc="defer", fixed_versions=("1",))
    assert reasons(bare) == []
    assert plain_reason(bare, today=TODAY) == "Fix by 2027-05-26"
    scheduled = Factors(due=TODAY, ssvc="scheduled", severity="MEDIUM", fixed_versions=("1",))
    assert reasons(scheduled) == ["medium severity"]
    out_of_cycle = Factors(due=TODAY, ssvc="out_of_cycle", fixed_versions=("1",))
    assert reasons(out_of_cycle) == [
        "patch before the next maintenance window (SSVC: out-of-cycle)"
    ]
