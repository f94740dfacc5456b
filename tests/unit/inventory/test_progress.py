"""Remediation progress rebuilt from import, VEX and response instants: one point per period,
an upgrade resolves a match, a VEX statement known by then suppresses it, and a package still
affected after an upgrade stays open."""

from __future__ import annotations

import datetime as dt

import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.inventory.progress import Import, MatchKey, period_ends, series

NOW = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
XXE = MatchKey("Portal", "PyPI/medrecord-parser", "DEMO-1")
OOB = MatchKey("Portal", "PyPI/dicom-lite", "DEMO-2")
DOS = MatchKey("Portal", "PyPI/pump-telemetry", "DEMO-6")
LEDGER = MatchKey("Billing", "npm/ledger-core", "DEMO-3")


def never(key: MatchKey, at: dt.datetime) -> bool:
    return False


def test_period_ends_are_a_week_apart_ending_now() -> None:
    ends = period_ends(now=NOW, periods=4)
    assert ends == [NOW - 21 * DAY, NOW - 14 * DAY, NOW - 7 * DAY, NOW]
    with pytest.raises(InputError, match="periods"):
        period_ends(now=NOW, periods=0)
    with pytest.raises(InputError, match="days"):
        period_ends(now=NOW, periods=2, days=0)


def test_an_upgrade_resolves_what_it_removes_and_keeps_what_is_still_affected() -> None:
    imports = [
        Import("Portal", NOW - 20 * DAY, frozenset({XXE, OOB})),
        Import("Billing", NOW - 12 * DAY, frozenset({LEDGER})),
        # the next Portal SBOM: dicom-lite upgraded to its fix, medrecord-parser upgraded but
        # still affected, a new flawed component
        Import("Portal", NOW - 5 * DAY, frozenset({XXE, DOS})),
    ]
    points = series(ends=period_ends(now=NOW, periods=4), imports=imports, suppressed=never)
    assert [(p.open, p.resolved, p.upgraded) for p in points] == [
        (0, 0, 0),
        (2, 0, 0),
        (3, 0, 0),
        (3, 1, 1),
    ]
    assert [p.end for p in points] == period_ends(now=NOW, periods=4)


def test_a_vex_statement_suppresses_from_when_it_was_known() -> None:
    imports = [Import("Portal", NOW - 20 * DAY, frozenset({XXE, DOS}))]
    statement_at = NOW - 10 * DAY

    def suppressed(key: MatchKey, at: dt.datetime) -> bool:
        return key == DOS and at >= statement_at

    points = series(ends=period_ends(now=NOW, periods=3), imports=imports, suppressed=suppressed)
    assert [(p.open, p.not_affected, p.resolved) for p in points] == [
        (2, 0, 0),
        (1, 1, 1),
        (1, 1, 1),
    ]


def test_answered_notifications_count_up_to_each_period_end() -> None:
    responses = [NOW - 9 * DAY, NOW - 8 * DAY, NOW]
    points = series(
        ends=period_ends(now=NOW, periods=3), imports=[], suppressed=never, responses=responses
    )
    assert [p.answered for p in points] == [0, 2, 3]
    assert [p.open for p in points] == [0, 0, 0]
