"""Remediation-deadline policy: rule order, custom tables and the reason line."""

from __future__ import annotations

from datetime import date

import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.prioritization.cvss import Severity, score
from clearinghouse.prioritization.policy import (
    DEFAULT_TABLE,
    PolicyError,
    Rule,
    Signals,
    check_table,
    deadline,
    reason,
)
from clearinghouse.prioritization.ssvc import Priority

TODAY = date(2026, 3, 1)


def _decide(signals: Signals, table: tuple[Rule, ...] = DEFAULT_TABLE) -> tuple[str, int]:
    """(rule name, days from TODAY)."""
    result = deadline(signals, today=TODAY, table=table)
    return result.rule.name, (result.due - TODAY).days


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (Signals(in_kev=True, kev_due_date=date(2026, 3, 22)), ("kev", 21)),
        (Signals(in_kev=True), ("kev", 14)),
        (Signals(ssvc=Priority.IMMEDIATE), ("immediate-or-critical", 15)),
        (Signals(cvss_severity=Severity.CRITICAL), ("immediate-or-critical", 15)),
        (Signals(ssvc=Priority.OUT_OF_CYCLE), ("out-of-cycle-or-high", 30)),
        (Signals(cvss_severity=Severity.HIGH), ("out-of-cycle-or-high", 30)),
        (Signals(ssvc=Priority.SCHEDULED), ("scheduled-or-medium", 90)),
        (Signals(cvss_severity=Severity.MEDIUM), ("scheduled-or-medium", 90)),
        (Signals(ssvc=Priority.DEFER, cvss_severity=Severity.LOW), ("default", 180)),
        (Signals(cvss_severity=Severity.NONE), ("default", 180)),
        (Signals(), ("default", 180)),
    ],
)
def test_default_table(signals: Signals, expected: tuple[str, int]) -> None:
    assert _decide(signals) == expected


def test_the_first_matching_rule_decides() -> None:
    # KEV comes first even when its due date is later than the severity rule would allow
    late_kev = Signals(in_kev=True, kev_due_date=date(2026, 9, 1), cvss_severity=Severity.CRITICAL)
    assert _decide(late_kev) == ("kev", 184)
    # the more urgent of CVSS and SSVC decides, and neither can delay the other
    assert _decide(Signals(cvss_severity=Severity.LOW, ssvc=Priority.IMMEDIATE))[1] == 15
    assert _decide(Signals(cvss_severity=Severity.CRITICAL, ssvc=Priority.DEFER))[1] == 15
    assert _decide(Signals(cvss_severity=Severity.MEDIUM, ssvc=Priority.OUT_OF_CYCLE))[1] == 30
    # reordering the same rules changes the answer
    reordered = (DEFAULT_TABLE[2], DEFAULT_TABLE[1], *DEFAULT_TABLE[3:])
    both = Signals(cvss_severity=Severity.CRITICAL, ssvc=Priority.OUT_OF_CYCLE)
    assert _decide(both) == ("immediate-or-critical", 15)
    assert _decide(both, reordered) == ("out-of-cycle-or-high", 30)


def test_an_overdue_kev_date_stays_in_the_past() -> None:
    result = deadline(Signals(in_kev=True, kev_due_date=date(2022, 1, 1)), today=TODAY)
    assert result.due == date(2022, 1, 1)
    assert result.due < TODAY


def test_a_custom_table_with_sector_and_flag_rules() -> None:
    table = check_table(
        (
            Rule("kev-now", 7, kev=True),  # ignores the catalog's date
            Rule("exploited", 7, exploited=True),
            Rule(
                "health-high",
                10,
                severities=frozenset({Severity.CRITICAL, Severity.HIGH}),
                sectors=frozenset({"healthcare"}),
            ),
            Rule("reproduced", 20, validated=True),
            Rule("energy-anything", 60, sectors=frozenset({"energy"})),
            Rule("rest", 365),
        )
    )
    kev = Signals(in_kev=True, kev_due_date=date(2026, 4, 1))
    assert _decide(kev, table) == ("kev-now", 7)
    assert _decide(Signals(exploited=True), table) == ("exploited", 7)
    high = Signals(cvss_severity=Severity.HIGH, validated=True, sector="healthcare")
    assert _decide(high, table) == ("health-high", 10)
    assert _decide(Signals(cvss_severity=Severity.HIGH, validated=True), table)[0] == "reproduced"
    assert _decide(Signals(sector="energy"), table) == ("energy-anything", 60)
    assert _decide(Signals(sector="finance"), table) == ("rest", 365)
    assert _decide(Signals(cvss_severity=Severity.CRITICAL), table) == ("rest", 365)


def test_a_table_without_a_catch_all_refuses_what_it_cannot_decide() -> None:
    table = (Rule("kev", 14, kev=True),)
    with pytest.raises(PolicyError, match="no rule of the policy table matches: CVSS HIGH"):
        deadline(Signals(cvss_severity=Severity.HIGH), today=TODAY, table=table)
    assert _decide(Signals(in_kev=True), table) == ("kev", 14)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ((), "empty"),
        ((Rule("kev", 14, kev=True),), "must end with a rule without conditions"),
        ((Rule("all", 30), Rule("rest", 90)), "must end with a rule without conditions"),
        ((Rule("rest", 30, sectors=frozenset({"water"})),), "must end"),
        ((Rule("a", 1, kev=True), Rule("a", 2)), "named more than once: a"),
    ],
)
def test_check_table(table: tuple[Rule, ...], problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        check_table(table)


def test_the_default_table_is_valid() -> None:
    assert check_table(DEFAULT_TABLE) is DEFAULT_TABLE


def test_invalid_rules_and_signals() -> None:
    with pytest.raises(PolicyError, match="days must be 0 or more"):
        Rule("back", -1)
    with pytest.raises(PolicyError, match="not in KEV"):
        Signals(kev_due_date=date(2026, 1, 1))
    with pytest.raises(PolicyError, match=r"EPSS probability 1.5 is outside \[0, 1\]"):
        Signals(epss=1.5)
    with pytest.raises(PolicyError, match="CVSS score"):
        Signals(cvss_score=11.0)
    assert issubclass(PolicyError, InputError)


def test_reason_line() -> None:
    signals = Signals(
        in_kev=True,
        kev_due_date=date(2026, 12, 1),
        cvss_severity=Severity.CRITICAL,
        cvss_score=9.8,
        ssvc=Priority.IMMEDIATE,
        epss=0.97,
        epss_percentile=0.995,
    )
    assert reason(signals) == (
        "KEV (due 2026-12-01); CVSS 9.8 CRITICAL; SSVC immediate; EPSS 0.97 (99th pct)"
    )
    assert deadline(signals, today=TODAY).explain() == (
        "due 2026-12-01 (rule kev): "
        "KEV (due 2026-12-01); CVSS 9.8 CRITICAL; SSVC immediate; EPSS 0.97 (99th pct)"
    )


@pytest.mark.parametrize(
    ("signals", "line"),
    [
        (Signals(), "no KEV listing, CVSS, SSVC or EPSS signal"),
        (Signals(in_kev=True), "KEV"),
        (Signals(cvss_score=7.0), "CVSS 7.0"),
        (Signals(cvss_severity=Severity.HIGH), "CVSS HIGH"),
        (Signals(ssvc=Priority.OUT_OF_CYCLE), "SSVC out-of-cycle"),
        (Signals(epss=0.00043, epss_percentile=0.12), "EPSS 0.00043 (12th pct)"),
        (Signals(epss=0.5, epss_percentile=0.29), "EPSS 0.50 (29th pct)"),
        (Signals(epss=0.2, epss_percentile=0.213), "EPSS 0.20 (21st pct)"),
        (Signals(epss=0.2, epss_percentile=0.111), "EPSS 0.20 (11th pct)"),
        (Signals(epss=1.0, epss_percentile=1.0), "EPSS 1.00 (100th pct)"),
        (Signals(epss=0.0), "EPSS 0.00"),
        (
            Signals(cvss_score=5.3, cvss_severity=Severity.MEDIUM, exploited=True, validated=True),
            "CVSS 5.3 MEDIUM; exploited; validated",
        ),
    ],
)
def test_reason_parts(signals: Signals, line: str) -> None:
    assert reason(signals) == line


def test_signals_from_a_cvss_score() -> None:
    cvss = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    signals = Signals(cvss_score=cvss.score, cvss_severity=cvss.score_severity)
    assert reason(signals) == "CVSS 9.8 CRITICAL"
    assert _decide(signals) == ("immediate-or-critical", 15)
