"""The stated defaults that turn a match into SSVC inputs and a deadline."""

from __future__ import annotations

import datetime as dt

import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.prioritization import cvss
from clearinghouse.prioritization.policy import load_table
from clearinghouse.prioritization.signals import assess, automatable, best_cvss, technical_impact
from clearinghouse.prioritization.ssvc import Automatable, Priority, TechnicalImpact

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


def test_the_coordinator_tree_weighs_the_sector_and_the_impact() -> None:
    def level(vector: str, sector: str | None, *, in_kev: bool) -> str:
        return assess(
            vectors=[vector],
            in_kev=in_kev,
            kev_due=None,
            epss=None,
            epss_percentile=None,
            validated=False,
            sector=sector,
            today=TODAY,
        ).coordinator.outcome.value

    assert technical_impact(cvss.score(NETWORK)) is TechnicalImpact.TOTAL
    assert technical_impact(cvss.score(LOCAL)) is TechnicalImpact.PARTIAL
    # Actively exploited, automatable, total impact on a hospital: act.
    assert level(NETWORK, "healthcare", in_kev=True) == "act"
    # Nothing known of exploitation, partial impact, no critical service: track.
    assert level(LOCAL, None, in_kev=False) == "track"


def test_a_validated_proof_counts_as_active_exploitation() -> None:
    result = assess(
        vectors=[LOCAL],
        in_kev=False,
        kev_due=None,
        epss=None,
        epss_percentile=None,
        validated=True,
        sector="water",
        today=TODAY,
    )
    assert result.ssvc.inputs[0].value == "active"
    assert result.coordinator.inputs[0].value == "active"


def test_a_configured_policy_table_decides_the_deadline() -> None:
    table = load_table(
        b'[{"name": "lifeline", "days": 3, "sectors": ["healthcare"], "severities": ["low"]},'
        b' {"name": "rest", "days": 60}]'
    )
    hospital = assess(
        vectors=[LOCAL],
        in_kev=False,
        kev_due=None,
        epss=None,
        epss_percentile=None,
        validated=False,
        sector="healthcare",
        today=TODAY,
        policy=table,
    )
    assert (hospital.deadline.rule.name, hospital.deadline.due) == (
        "lifeline",
        dt.date(2026, 11, 30),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{}", "non-empty JSON array"),
        (b'[{"name": "x", "days": 1, "colour": "red"}]', "unknown field 'colour'"),
        (b'[{"name": "x", "days": 1, "ssvc": ["soon"]}]', r"policy rule 0 \(x\)"),
        (b'[{"name": "x", "days": 1, "kev": true}]', "must end with a rule without conditions"),
    ],
)
def test_a_broken_policy_table_is_refused_naming_the_rule(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_table(data)
