"""The stated defaults that turn a match into SSVC inputs and a deadline."""

from __future__ import annotations

import datetime as dt

from clearinghouse.prioritization import cvss
from clearinghouse.prioritization.signals import assess, automatable, best_cvss
from clearinghouse.prioritization.ssvc import Automatable, Priority

NETWORK = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
LOCAL = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N"
TODAY = dt.date(2026, 11, 27)


def test_automatable_only_when_reachable_without_privileges_or_users() -> None:
    assert automatable(cvss.score(NETWORK)) is Automatable.YES
    assert automatable(cvss.score(LOCAL)) is Automatable.NO
    assert automatable(None) is Automatable.NO


def test_an_invalid_vector_is_skipped_and_the_newest_version_wins() -> None:
    best = best_cvss(["not a vector", "AV:N/AC:L/Au:N/C:C/I:C/A:C", LOCAL])
    assert best is not None
    assert best.version == "3.1"


def test_kev_exploitation_in_a_hospital_is_out_of_cycle_with_the_kev_due_date() -> None:
    result = assess(
        vectors=[NETWORK],
        in_kev=True,
        kev_due=dt.date(2026, 12, 1),
        epss=0.97,
        epss_percentile=0.999,
        validated=False,
        sector="healthcare",
        today=TODAY,
    )
    assert result.ssvc.outcome is Priority.OUT_OF_CYCLE  # controlled exposure, per the table
    assert result.deadline.due == dt.date(2026, 12, 1)
    assert "KEV (due 2026-12-01)" in result.deadline.explain()


def test_the_same_flaw_unexploited_in_an_unlisted_sector_waits_longer() -> None:
    hospital = assess(
        vectors=[LOCAL],
        in_kev=False,
        kev_due=None,
        epss=0.001,
        epss_percentile=0.1,
        validated=False,
        sector="healthcare",
        today=TODAY,
    )
    shop = assess(
        vectors=[LOCAL],
        in_kev=False,
        kev_due=None,
        epss=0.001,
        epss_percentile=0.1,
        validated=False,
        sector=None,
        today=TODAY,
    )
    assert shop.ssvc.outcome.rank <= hospital.ssvc.outcome.rank
    assert shop.deadline.due >= hospital.deadline.due
    assert shop.deadline.due > TODAY
