"""Success-rate statistics: interval coverage by simulation, pass@k against brute force,
clustering by task, and unscored attempts."""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest

from clearinghouse.evaluation.statistics import (
    Attempt,
    cluster_bootstrap,
    family_summary,
    paired_comparison,
    pass_at_k,
    pass_hat_k,
    summarize,
    wilson_interval,
)


def _attempts(
    family: str, outcomes: dict[str, list[bool | None]], *, prefix: str = "t"
) -> list[Attempt]:
    return [
        Attempt(f"{prefix}{task}", family, epoch, solved)
        for task, results in outcomes.items()
        for epoch, solved in enumerate(results, start=1)
    ]


def _heterogeneous_suite(
    rng: random.Random, p: float, *, tasks: int = 30, epochs: int = 5, concentration: float = 1.0
) -> list[Attempt]:
    """Each task's own success rate drawn from Beta(p c, (1 - p) c), whose mean is p; a small
    concentration makes tasks nearly all-or-nothing, as capability tasks tend to be."""
    attempts = []
    for task in range(tasks):
        task_rate = rng.betavariate(p * concentration, (1 - p) * concentration)
        attempts += [
            Attempt(f"t{task}", "prove", epoch, rng.random() < task_rate) for epoch in range(epochs)
        ]
    return attempts


# --- coverage by simulation ----------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_the_interval_covers_the_true_mean_about_as_often_as_it_claims(p: float) -> None:
    """30 tasks x 5 epochs, task rates scattered around p. The union is deliberately on the safe
    side: over 1,500 experiments per p it covered 98.5% (p = 0.5) to 99.2% (p = 0.1, 0.9), while
    the bootstrap alone covered only 90-94%."""
    experiments = 500
    covered = bootstrap_covered = attempts_covered = 0
    widths = []
    for experiment in range(experiments):
        rng = random.Random(f"coverage-{p}-{experiment}")
        summary = family_summary(
            _heterogeneous_suite(rng, p), resamples=400, seed=experiment, ks=()
        )
        covered += summary.interval[0] <= p <= summary.interval[1]
        bootstrap_covered += summary.bootstrap[0] <= p <= summary.bootstrap[1]
        attempts_covered += summary.wilson_attempts[0] <= p <= summary.wilson_attempts[1]
        widths.append(summary.interval[1] - summary.interval[0])
    coverage = covered / experiments
    assert 0.90 <= coverage <= 0.998, coverage
    # safe but still informative: about as wide as Wilson on 30 observations at 0.5 (0.34)
    assert sum(widths) / experiments < 0.36
    # why the union: the bootstrap alone falls short of 95% with 30 clusters, and a Wilson
    # interval treating correlated attempts as independent falls far short
    assert bootstrap_covered < covered
    assert attempts_covered / experiments < 0.85


def test_with_many_tasks_the_bootstrap_reaches_95_percent_and_the_union_never_undercovers() -> None:
    """The bootstrap's shortfall is a small-sample effect: with 150 tasks it covers close to
    the nominal 95%, and the reported union stays at or above it."""
    experiments = 300
    covered = bootstrap_covered = 0
    for experiment in range(experiments):
        rng = random.Random(f"large-{experiment}")
        summary = family_summary(
            _heterogeneous_suite(rng, 0.3, tasks=150, epochs=3, concentration=2.0),
            resamples=400,
            seed=experiment,
            ks=(),
        )
        covered += summary.interval[0] <= 0.3 <= summary.interval[1]
        bootstrap_covered += summary.bootstrap[0] <= 0.3 <= summary.bootstrap[1]
    assert 0.91 <= bootstrap_covered / experiments <= 0.98, bootstrap_covered / experiments
    assert covered / experiments >= 0.95


@pytest.mark.parametrize(("n", "p"), [(80, 0.3), (200, 0.1)])
def test_wilson_covers_about_95_percent_of_iid_bernoulli_samples(n: int, p: float) -> None:
    rng = random.Random(f"wilson-{n}-{p}")
    simulations = 2000
    covered = 0
    for _ in range(simulations):
        successes = sum(rng.random() < p for _ in range(n))
        low, high = wilson_interval(successes, n)
        covered += low <= p <= high
    assert 0.93 <= covered / simulations <= 0.97


# --- Wilson ---------------------------------------------------------------------------------


def test_wilson_known_values_and_bounds() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(5, 10)
    # textbook value for 5/10 at 95%: [0.2366, 0.7634]
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    z2 = 1.959963984540054**2
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(0, 10)[1] == pytest.approx(z2 / (10 + z2))
    assert wilson_interval(10, 10)[0] == pytest.approx(10 / (10 + z2))
    assert wilson_interval(10, 10)[1] == 1.0
    # higher confidence, wider interval
    assert wilson_interval(5, 10, 0.99)[0] < low
    # fractional successes (summed per-task rates) fall between their integer neighbours
    half_low, half_high = wilson_interval(2.5, 5)
    assert half_low + half_high == pytest.approx(1.0)
    assert wilson_interval(2, 5)[0] < half_low < wilson_interval(3, 5)[0]


@pytest.mark.parametrize(
    ("successes", "n", "confidence"), [(11, 10, 0.95), (-1, 10, 0.95), (1, 10, 1.0), (1, 10, 0.0)]
)
def test_wilson_refuses_bad_arguments(successes: int, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, n, confidence)


# --- pass@k and pass^k ----------------------------------------------------------------------


def _brute_force(n: int, c: int, k: int) -> tuple[float, float]:
    """Over every k-subset of n attempts (the first c successes): the share with at least one
    success, and the share with only successes."""
    subsets = list(itertools.combinations(range(n), k))
    any_success = sum(1 for subset in subsets if any(i < c for i in subset))
    all_success = sum(1 for subset in subsets if all(i < c for i in subset))
    return any_success / len(subsets), all_success / len(subsets)


def test_pass_at_k_and_pass_hat_k_match_enumeration_of_subsets() -> None:
    checked = 0
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                at_least_one, all_of_them = _brute_force(n, c, k)
                assert pass_at_k(n, c, k) == pytest.approx(at_least_one, abs=1e-12)
                assert pass_hat_k(n, c, k) == pytest.approx(all_of_them, abs=1e-12)
                checked += 1
    assert checked == 240


def test_pass_at_k_is_stable_for_large_n() -> None:
    # C(1000, 500) overflows a float; the product form does not
    assert pass_at_k(1000, 1, 500) == pytest.approx(0.5)
    assert pass_hat_k(1000, 999, 500) == pytest.approx(0.5)
    assert pass_at_k(1000, 0, 500) == 0.0
    assert 0 < pass_at_k(1000, 3, 10) < 1
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 2, 6), (5, 2, 0), (5, 6, 1), (5, -1, 1), (0, 0, 1)])
def test_pass_estimators_refuse_bad_counts(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)
    with pytest.raises(ValueError):
        pass_hat_k(n, c, k)


# --- cluster bootstrap ----------------------------------------------------------------------


def test_cluster_bootstrap_is_deterministic_and_weighs_tasks_equally() -> None:
    per_task = [(1, 2), (0, 3), (3, 3), (2, 5), (0, 1), (4, 4)]
    first = cluster_bootstrap(per_task, resamples=500, seed=3)
    assert first == cluster_bootstrap(per_task, resamples=500, seed=3)
    assert first != cluster_bootstrap(per_task, resamples=500, seed=4)
    mean_rate = (0.5 + 0 + 1 + 0.4 + 0 + 1) / 6
    assert first[0] < mean_rate < first[1]
    # a task tried 1000 times weighs no more than a task tried once
    heavy = cluster_bootstrap([(1000, 1000), (0, 1)], resamples=2000, seed=0)
    light = cluster_bootstrap([(1, 1), (0, 1)], resamples=2000, seed=0)
    assert heavy == light


def test_cluster_bootstrap_degenerate_cases() -> None:
    assert cluster_bootstrap([]) == (0.0, 1.0)
    # every task always solved: the bootstrap collapses to a point (hence the union below)
    assert cluster_bootstrap([(3, 3)] * 5, resamples=100) == (1.0, 1.0)
    with pytest.raises(ValueError):
        cluster_bootstrap([(1, 0)])
    with pytest.raises(ValueError):
        cluster_bootstrap([(1, 1)], resamples=0)


# --- family summaries -----------------------------------------------------------------------


def test_summary_of_tasks_always_solved_is_not_falsely_certain() -> None:
    summary = family_summary(_attempts("prove", {str(i): [True] * 5 for i in range(5)}))
    assert summary.rate == 1.0
    assert summary.bootstrap == (1.0, 1.0)
    # five tasks are five observations: Wilson on 5/5 keeps the interval honest
    assert summary.wilson_tasks == wilson_interval(5, 5)
    assert summary.interval == (summary.wilson_tasks[0], 1.0)
    assert summary.interval[0] < 0.6
    # 25 attempts as if independent would claim much more
    assert summary.wilson_attempts[0] > 0.85


def test_summary_counts_tasks_attempts_and_per_task_mean() -> None:
    outcomes: dict[str, list[bool | None]] = {
        "a": [True, True, True, True],  # rate 1
        "b": [False, False],  # rate 0
        "c": [True, False, False, False],  # rate 0.25
    }
    summary = family_summary(_attempts("ctf", outcomes), ks=(1, 2, 3))
    assert (summary.family, summary.tasks, summary.attempts, summary.successes) == (
        "ctf",
        3,
        10,
        5,
    )
    # tasks weigh the same: (1 + 0 + 0.25) / 3, not 5 / 10
    assert summary.rate == pytest.approx(1.25 / 3)
    assert summary.interval[0] <= summary.bootstrap[0]
    assert summary.interval[1] >= summary.bootstrap[1]
    assert summary.pass_at[1] == pytest.approx(1.25 / 3)
    assert summary.pass_at[2] == pytest.approx((1 + 0 + pass_at_k(4, 1, 2)) / 3)
    # only tasks with at least 3 attempts count for k = 3 (task b has 2)
    assert summary.pass_at[3] == pytest.approx((1 + pass_at_k(4, 1, 3)) / 2)
    assert summary.pass_hat[2] == pytest.approx((1 + 0 + 0) / 3)
    assert family_summary(_attempts("ctf", outcomes), ks=(5,)).pass_at == {5: None}


def test_unscored_attempts_are_counted_but_never_failures() -> None:
    scored_only = family_summary(_attempts("patch", {"a": [True, True], "b": [True, False]}))
    with_unscored = family_summary(
        _attempts(
            "patch",
            {"a": [True, None, True, None], "b": [None, True, False], "c": [None, None]},
        )
    )
    assert with_unscored.unscored == 5
    # task c was never scored: it is not a task with a result, and not a failure
    assert with_unscored.tasks == 2
    assert with_unscored.attempts == 4
    assert with_unscored.rate == scored_only.rate == 0.75
    assert with_unscored.interval == scored_only.interval
    nothing_scored = family_summary(_attempts("patch", {"a": [None, None]}))
    assert (nothing_scored.tasks, nothing_scored.unscored, nothing_scored.rate) == (0, 2, None)
    assert nothing_scored.interval == (0.0, 1.0)


def test_summary_json_is_serializable_and_labels_the_attempt_interval() -> None:
    document = family_summary(_attempts("prove", {"a": [True, False]}), ks=(1, 2)).as_json()
    assert json.loads(json.dumps(document)) == document
    assert document["pass_at"] == {"1": 0.5, "2": 1.0}
    assert "independent" in str(document["wilson_attempts_note"])
    assert "bootstrap" in str(document["interval_method"])


def test_summarize_groups_by_family_and_summary_refuses_mixed_families() -> None:
    attempts = _attempts("prove", {"a": [True]}) + _attempts("knowledge", {"q": [False, True]})
    summaries = summarize(attempts)
    assert list(summaries) == ["knowledge", "prove"]
    assert summaries["knowledge"].rate == 0.5
    with pytest.raises(ValueError):
        family_summary(attempts)
    with pytest.raises(ValueError):
        family_summary([])


# --- paired comparison ----------------------------------------------------------------------


def test_paired_comparison_uses_only_shared_scored_tasks() -> None:
    model = _attempts(
        "prove", {"a": [True, True], "b": [True, False], "c": [False, False], "m": [True]}
    )
    reference = [
        *_attempts(
            "prove", {"a": [False, False], "b": [True, False], "c": [True, True], "r": [True]}
        ),
        Attempt("tm", "prove", 2, None),  # unscored: not a task with a result
    ]
    result = paired_comparison(model, reference, resamples=500)
    assert result.tasks == 3
    assert (result.model_better, result.reference_better, result.ties) == (1, 1, 1)
    assert (result.model_only, result.reference_only) == (1, 1)
    assert result.difference == pytest.approx(((1 - 0) + 0 + (0 - 1)) / 3)
    assert result.model_rate == pytest.approx(0.5)
    assert result.reference_rate == pytest.approx(0.5)
    assert result.interval[0] < 0 < result.interval[1]
    assert json.loads(json.dumps(result.as_json())) == result.as_json()


def test_paired_comparison_detects_a_consistent_improvement() -> None:
    rng = random.Random("paired")
    model, reference = [], []
    for task in range(40):
        difficulty = rng.random()
        for epoch in range(4):
            model.append(Attempt(f"t{task}", "ctf", epoch, rng.random() < min(1, difficulty + 0.3)))
            reference.append(Attempt(f"t{task}", "ctf", epoch, rng.random() < difficulty))
    result = paired_comparison(model, reference, family="ctf", resamples=1000, seed=1)
    assert result.interval[0] > 0
    assert result.model_better > result.reference_better
    # another family filter leaves nothing to compare
    empty = paired_comparison(model, reference, family="prove")
    assert (empty.tasks, empty.difference, empty.interval) == (0, None, (-1.0, 1.0))


def test_paired_comparison_keeps_families_apart() -> None:
    model = _attempts("prove", {"x": [True]}) + _attempts("ctf", {"x": [False]})
    reference = _attempts("ctf", {"x": [False]})
    result = paired_comparison(model, reference)
    assert (result.tasks, result.ties, result.model_only) == (1, 1, 1)
    assert math.isclose(result.difference or 0.0, 0.0)
