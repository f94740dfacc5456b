"""Scan leases: exclusivity, k-way redundancy for the top projects, staleness, determinism."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.core.errors import InputError
from clearinghouse.scans.leases import Lease, LeasePolicy, Project, leases_for, next_targets

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
POLICY = LeasePolicy()


def _catalogue(n: int = 40) -> list[Project]:
    # Scores fall as ids rise; of 40 projects the top 5% (ceil(2.0) = 2) are projects 1 and 2.
    return [Project(i, f"p{i}", score=1.0 - i / 100, last_covered=None) for i in range(1, n + 1)]


def _ask(
    org: int,
    projects: list[Project],
    leases: list[Lease],
    count: int,
    *,
    now: datetime = NOW,
    policy: LeasePolicy = POLICY,
) -> list[int]:
    targets = next_targets(
        organization_id=org, projects=projects, leases=leases, now=now, count=count, policy=policy
    )
    leases.extend(leases_for(targets, organization_id=org, now=now, policy=policy))
    return [t.id for t in targets]


def test_highest_score_first_and_no_double_lease() -> None:
    projects = _catalogue()
    leases: list[Lease] = []
    first = _ask(10, projects, leases, 5)
    assert first == [1, 2, 3, 4, 5]
    second = _ask(20, projects, leases, 5)
    # 1 and 2 are the top 5% (ceil(0.05 * 40) = 2) and allow a second lab; 3-5 are taken.
    assert second == [1, 2, 6, 7, 8]
    third = _ask(30, projects, leases, 3)
    assert third == [9, 10, 11]
    # The asking lab never gets what it already holds.
    assert _ask(10, projects, leases, 1) == [12]


def test_redundancy_is_k_way() -> None:
    projects = _catalogue()
    policy = LeasePolicy(redundancy=3)
    leases: list[Lease] = []
    holders = [org for org in range(1, 6) if 1 in _ask(org, projects, leases, 1, policy=policy)]
    assert holders == [1, 2, 3]
    assert Counter(lease.project_id for lease in leases)[1] == 3


def test_small_catalogue_still_gets_one_redundant_project() -> None:
    projects = _catalogue(3)
    leases: list[Lease] = []
    assert _ask(1, projects, leases, 3) == [1, 2, 3]
    assert _ask(2, projects, leases, 3) == [1]


def test_top_fraction_is_not_inflated_by_float_error() -> None:
    # 0.07 * 100 is 7.000000000000001 in binary floating point; the top set is still 7.
    projects = _catalogue(100)
    policy = LeasePolicy(redundancy_top_fraction=0.07)
    leases: list[Lease] = []
    _ask(1, projects, leases, 100, policy=policy)
    assert _ask(2, projects, leases, 100, policy=policy) == [1, 2, 3, 4, 5, 6, 7]


def test_zero_fraction_means_no_redundancy() -> None:
    projects = _catalogue()
    policy = LeasePolicy(redundancy_top_fraction=0.0)
    leases: list[Lease] = []
    _ask(1, projects, leases, 1, policy=policy)
    assert _ask(2, projects, leases, 1, policy=policy) == [2]


def test_expired_leases_free_the_project() -> None:
    projects = _catalogue(5)
    leases: list[Lease] = []
    assert _ask(1, projects, leases, 5) == [1, 2, 3, 4, 5]
    assert _ask(2, projects, leases, 5) == [1]
    later = NOW + POLICY.duration
    # expires_at == now is no longer live.
    assert _ask(2, projects, leases, 2, now=later) == [1, 2]


def test_fresh_coverage_blocks_and_staleness_raises_again() -> None:
    covered = NOW - timedelta(days=10)
    projects = [
        Project(1, "fresh", score=0.9, last_covered=covered),
        Project(2, "other", score=0.1, last_covered=None),
    ]
    assert _ask(1, projects, [], 2) == [2]
    just_stale = covered + POLICY.stale_after
    assert _ask(1, projects, [], 2, now=just_stale) == [1, 2]
    assert _ask(1, projects, [], 2, now=just_stale - timedelta(seconds=1)) == [2]


def test_coverage_in_the_future_counts_as_fresh() -> None:
    projects = [Project(1, "skewed", score=0.5, last_covered=NOW + timedelta(hours=1))]
    assert _ask(1, projects, [], 1) == []


def test_own_recent_coverage_excludes_even_when_shared_record_lags() -> None:
    projects = [Project(1, "a", 0.9, None), Project(2, "b", 0.8, None)]
    own = {1: NOW - timedelta(days=5)}
    got = next_targets(
        organization_id=7,
        projects=projects,
        leases=[],
        now=NOW,
        count=2,
        policy=POLICY,
        covered_by_org=own,
    )
    assert [p.id for p in got] == [2]
    old = {1: NOW - timedelta(days=400)}
    got = next_targets(
        organization_id=7,
        projects=projects,
        leases=[],
        now=NOW,
        count=2,
        policy=POLICY,
        covered_by_org=old,
    )
    assert [p.id for p in got] == [1, 2]


def test_order_is_score_then_staleness_then_id() -> None:
    projects = [
        Project(5, "recent", 0.5, NOW - timedelta(days=100)),
        Project(4, "older", 0.5, NOW - timedelta(days=300)),
        Project(3, "never", 0.5, None),
        Project(2, "tie-b", 0.5, NOW - timedelta(days=200)),
        Project(1, "tie-a", 0.5, NOW - timedelta(days=200)),
        Project(9, "best", 0.7, NOW - timedelta(days=91)),
    ]
    policy = LeasePolicy(redundancy_top_fraction=0.0)
    got = next_targets(
        organization_id=1, projects=projects, leases=[], now=NOW, count=10, policy=policy
    )
    assert [p.id for p in got] == [9, 3, 4, 1, 2, 5]


def test_deterministic_regardless_of_input_order() -> None:
    projects = _catalogue(30)
    leases = [Lease(3, 99, NOW + timedelta(days=1)), Lease(8, 98, NOW + timedelta(days=2))]
    expected = next_targets(
        organization_id=1, projects=projects, leases=leases, now=NOW, count=10, policy=POLICY
    )
    rng = random.Random(4)
    for _ in range(5):
        shuffled_projects = rng.sample(projects, len(projects))
        shuffled_leases = rng.sample(leases, len(leases))
        assert (
            next_targets(
                organization_id=1,
                projects=shuffled_projects,
                leases=shuffled_leases,
                now=NOW,
                count=10,
                policy=POLICY,
            )
            == expected
        )


def test_count_zero_and_refusals() -> None:
    projects = _catalogue(3)
    assert _ask(1, projects, [], 0) == []
    with pytest.raises(InputError):
        _ask(1, projects, [], -1)
    with pytest.raises(InputError, match="duplicate"):
        _ask(1, [*projects, projects[0]], [], 1)
    with pytest.raises(InputError, match="timezone"):
        _ask(1, projects, [], 1, now=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration": timedelta(0)},
        {"redundancy_top_fraction": 1.5},
        {"redundancy": 0},
        {"stale_after": timedelta(days=-1)},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        LeasePolicy(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    scores=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=25),
    fraction=st.sampled_from([0.0, 0.05, 0.2, 1.0]),
    redundancy=st.integers(min_value=1, max_value=4),
    turns=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=6),  # organization
            st.integers(min_value=0, max_value=6),  # count
            st.integers(min_value=0, max_value=4),  # days elapsed before asking
        ),
        max_size=40,
    ),
)
def test_no_project_ever_exceeds_its_allowed_live_leases(
    scores: list[float], fraction: float, redundancy: int, turns: list[tuple[int, int, int]]
) -> None:
    projects = [Project(i, f"p{i}", s, None) for i, s in enumerate(scores)]
    policy = LeasePolicy(redundancy_top_fraction=fraction, redundancy=redundancy)
    ranked = sorted(projects, key=lambda p: (-p.score, p.id))
    # The module's rule restated in integer percent: the ceil(fraction * n) best are redundant.
    top_n = -(-round(fraction * 100) * len(projects) // 100)
    top = {p.id for p in ranked[:top_n]}
    leases: list[Lease] = []
    now = NOW
    for org, count, days in turns:
        now += timedelta(days=days)
        granted = _ask(org, projects, leases, count, now=now, policy=policy)
        assert len(granted) == len(set(granted)) <= count
        live = [lease for lease in leases if lease.expires_at > now]
        per_project = Counter(lease.project_id for lease in live)
        for project_id, n in per_project.items():
            assert n <= (redundancy if project_id in top else 1)
        per_org_project = Counter((lease.organization_id, lease.project_id) for lease in live)
        assert max(per_org_project.values(), default=0) <= 1
