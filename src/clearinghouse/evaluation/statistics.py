"""Success rates of a model on a task suite, with honest uncertainty.

A suite is a small sample of tasks, and each task is tried a few times (epochs). The attempts on
one task are not independent: a task the model cannot solve fails every epoch. So the unit of
sampling is the task (a cluster), every task weighs the same whatever its number of attempts,
and the uncertainty comes from resampling tasks, not attempts (Miller, "Adding Error Bars to
Evals", 2024). An interval over attempts as if they were independent is still reported, labelled
as such, because it is what many published results show.

Unscored attempts (the grader itself could not judge: the sandbox failed, the target did not
build) are counted and reported, never treated as failures: a broken harness must not make a
model look weaker than it is.

Pure: values in, values out. Resampling draws from numpy's PCG64 generator seeded with
``seed``, so every figure can be reproduced from the attempts and the seed (numpy draws each
resample in C; the pure-Python bootstrap this replaced was 8-9 times slower than
``scipy.stats.bootstrap``). Errors in arguments raise ``ValueError``: they are programming
errors, not user input.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Indices drawn per block of resamples (8 bytes each): about 64 MiB at most.
_MAX_DRAWS_PER_BLOCK = 8_000_000

#: How :attr:`FamilySummary.interval` is obtained, recorded with every summary.
INTERVAL_METHOD = (
    "union of the task-cluster percentile bootstrap and a Wilson interval with one "
    "observation per task"
)
#: The caveat printed beside :attr:`FamilySummary.wilson_attempts`.
WILSON_ATTEMPTS_NOTE = (
    "treats every attempt as independent; too narrow when tasks differ in difficulty"
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a model at one task; ``solved`` is ``None`` when it could not be scored."""

    task_id: str
    family: str
    epoch: int
    solved: bool | None


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a proportion; ``(0.0, 1.0)`` when ``n`` is 0.

    ``successes`` may be fractional (a sum of per-task rates, one observation per task).
    Wilson rather than the normal approximation because it stays inside [0, 1] and keeps its
    coverage near 0 and 1, where the interesting rates of a capability evaluation often lie.
    """
    _check_confidence(confidence)
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return (0.0, 1.0)
    z = _z(confidence)
    p = successes / n
    z2n = z * z / n
    denominator = 1 + z2n
    centre = (p + z2n / 2) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n)) / denominator
    # At the bounds the formula gives 0 or 1 up to rounding; say so exactly.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` attempts of which ``c`` succeeded: the chance that at least
    one of ``k`` attempts drawn without replacement succeeds, 1 - C(n-c, k) / C(n, k)
    (Chen et al. 2021). A product of ``k`` ratios instead of binomials, which overflow."""
    _check_counts(n, c, k)
    if n - c < k:
        return 1.0
    return 1.0 - _ratio_of_binomials(n - c, n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k (tau-bench, Yao et al. 2024): the chance that all ``k`` attempts drawn without
    replacement succeed, C(c, k) / C(n, k). Measures reliability rather than reach."""
    _check_counts(n, c, k)
    if c < k:
        return 0.0
    return _ratio_of_binomials(c, n, k)


def cluster_bootstrap(
    per_task: Sequence[tuple[int, int]],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean per-task success rate.

    ``per_task`` holds ``(successes, attempts)`` for each task. Tasks are drawn with
    replacement, all of a task's attempts going with it, so the interval reflects which tasks
    happen to be in the suite. ``(0.0, 1.0)`` without tasks. With few tasks, or when every task
    has the same rate, the interval is too narrow (it collapses to a point when all tasks are
    always solved); :func:`family_summary` widens it for that reason.
    """
    rates = [_rate(successes, attempts) for successes, attempts in per_task]
    return _bootstrap_mean(rates, confidence=confidence, resamples=resamples, seed=seed)


@dataclass(frozen=True, slots=True)
class FamilySummary:
    """What a model achieved on the tasks of one family, and how sure we are.

    ``rate`` is the mean of per-task success rates (``None`` when no task was scored).
    ``interval`` is what decisions use: the union of ``bootstrap`` (task-cluster percentile
    bootstrap) and ``wilson_tasks`` (Wilson with one observation per task, the per-task rates
    summed as successes). The bootstrap alone undercovers with few clusters and collapses to a
    point when every task has the same outcome (30 tasks all solved would give [1, 1]); the
    task-level Wilson interval keeps the uncertainty that a suite of only so many tasks leaves.
    ``wilson_attempts`` treats attempts as independent and is reported for comparison only.
    ``pass_at``/``pass_hat`` map k to the mean over tasks with at least k scored attempts
    (``None`` when no task has that many).
    """

    family: str
    tasks: int
    attempts: int
    unscored: int
    successes: int
    rate: float | None
    confidence: float
    interval: tuple[float, float]
    bootstrap: tuple[float, float]
    wilson_tasks: tuple[float, float]
    wilson_attempts: tuple[float, float]
    pass_at: Mapping[int, float | None]
    pass_hat: Mapping[int, float | None]
    resamples: int
    seed: int

    def as_json(self) -> dict[str, object]:
        return {
            "family": self.family,
            "tasks": self.tasks,
            "attempts": self.attempts,
            "unscored": self.unscored,
            "successes": self.successes,
            "rate": self.rate,
            "confidence": self.confidence,
            "interval": list(self.interval),
            "interval_method": INTERVAL_METHOD,
            "bootstrap": list(self.bootstrap),
            "wilson_tasks": list(self.wilson_tasks),
            "wilson_attempts": list(self.wilson_attempts),
            "wilson_attempts_note": WILSON_ATTEMPTS_NOTE,
            "pass_at": {str(k): value for k, value in sorted(self.pass_at.items())},
            "pass_hat": {str(k): value for k, value in sorted(self.pass_hat.items())},
            "resamples": self.resamples,
            "seed": self.seed,
        }


def family_summary(
    attempts: Iterable[Attempt],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    ks: Sequence[int] = (1,),
) -> FamilySummary:
    """Summarize the attempts of one family (all ``attempts`` must share it; at least one)."""
    _check_confidence(confidence)
    for k in ks:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
    listed = list(attempts)
    families = {attempt.family for attempt in listed}
    if len(families) != 1:
        raise ValueError(f"attempts of exactly one family are needed, got {sorted(families)}")
    (family,) = families
    per_task, unscored = _tally(listed)
    counts = list(per_task.values())
    rates = [_rate(successes, n) for successes, n in counts]
    rate = math.fsum(rates) / len(rates) if rates else None
    bootstrap = _bootstrap_mean(rates, confidence=confidence, resamples=resamples, seed=seed)
    wilson_tasks = wilson_interval(min(math.fsum(rates), len(rates)), len(rates), confidence)
    scored = sum(n for _, n in counts)
    successes = sum(solved for solved, _ in counts)
    return FamilySummary(
        family=family,
        tasks=len(counts),
        attempts=scored,
        unscored=unscored,
        successes=successes,
        rate=rate,
        confidence=confidence,
        interval=(min(bootstrap[0], wilson_tasks[0]), max(bootstrap[1], wilson_tasks[1])),
        bootstrap=bootstrap,
        wilson_tasks=wilson_tasks,
        wilson_attempts=wilson_interval(successes, scored, confidence),
        pass_at={k: _mean_over_tasks(counts, k, pass_at_k) for k in ks},
        pass_hat={k: _mean_over_tasks(counts, k, pass_hat_k) for k in ks},
        resamples=resamples,
        seed=seed,
    )


def summarize(
    attempts: Iterable[Attempt],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    ks: Sequence[int] = (1,),
) -> dict[str, FamilySummary]:
    """:func:`family_summary` for every family present, keyed (and ordered) by family."""
    by_family: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        by_family.setdefault(attempt.family, []).append(attempt)
    return {
        family: family_summary(
            by_family[family], confidence=confidence, resamples=resamples, seed=seed, ks=ks
        )
        for family in sorted(by_family)
    }


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """A model against a reference on the tasks both were scored on.

    ``difference`` is the mean over those tasks of (model rate - reference rate), ``None`` when
    they share no task; ``interval`` is a paired task-cluster bootstrap of it (``(-1, 1)``
    without tasks). Pairing removes the task-difficulty variance both models share, so a real
    difference shows with fewer tasks. Like any bootstrap it is too narrow with very few tasks
    and collapses when every task has the same difference; read it with ``tasks``.
    """

    family: str | None
    tasks: int
    difference: float | None
    interval: tuple[float, float]
    model_rate: float | None
    reference_rate: float | None
    model_better: int
    reference_better: int
    ties: int
    model_only: int
    reference_only: int
    confidence: float
    resamples: int
    seed: int

    def as_json(self) -> dict[str, object]:
        return {
            "family": self.family,
            "tasks": self.tasks,
            "difference": self.difference,
            "interval": list(self.interval),
            "interval_method": "paired task-cluster percentile bootstrap",
            "model_rate": self.model_rate,
            "reference_rate": self.reference_rate,
            "model_better": self.model_better,
            "reference_better": self.reference_better,
            "ties": self.ties,
            "model_only": self.model_only,
            "reference_only": self.reference_only,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "seed": self.seed,
        }


def paired_comparison(
    model_attempts: Iterable[Attempt],
    reference_attempts: Iterable[Attempt],
    *,
    family: str | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> PairedComparison:
    """Compare per-task rates of a model and a reference, on one family or (``None``) all.

    Tasks are matched by (family, task id); a task scored for only one side is counted in
    ``model_only``/``reference_only`` and left out of the comparison.
    """
    _check_confidence(confidence)

    def rates(attempts: Iterable[Attempt]) -> dict[tuple[str, str], float]:
        chosen = [a for a in attempts if family is None or a.family == family]
        by_family: dict[str, list[Attempt]] = {}
        for attempt in chosen:
            by_family.setdefault(attempt.family, []).append(attempt)
        return {
            (name, task): _rate(*counts)
            for name, group in by_family.items()
            for task, counts in _tally(group)[0].items()
        }

    model, reference = rates(model_attempts), rates(reference_attempts)
    common = sorted(model.keys() & reference.keys())
    differences = [model[key] - reference[key] for key in common]
    low, high = (
        _bootstrap_mean(differences, confidence=confidence, resamples=resamples, seed=seed)
        if common
        else (-1.0, 1.0)
    )
    return PairedComparison(
        family=family,
        tasks=len(common),
        difference=math.fsum(differences) / len(common) if common else None,
        interval=(low, high),
        model_rate=math.fsum(model[key] for key in common) / len(common) if common else None,
        reference_rate=(
            math.fsum(reference[key] for key in common) / len(common) if common else None
        ),
        model_better=sum(1 for d in differences if d > 0),
        reference_better=sum(1 for d in differences if d < 0),
        ties=sum(1 for d in differences if d == 0),
        model_only=len(model.keys() - reference.keys()),
        reference_only=len(reference.keys() - model.keys()),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )


def _tally(attempts: Iterable[Attempt]) -> tuple[dict[str, tuple[int, int]], int]:
    """Per task ``(successes, scored attempts)`` for tasks with a scored attempt, in first-seen
    order, and the number of unscored attempts."""
    counts: dict[str, tuple[int, int]] = {}
    unscored = 0
    for attempt in attempts:
        if attempt.solved is None:
            unscored += 1
            continue
        successes, n = counts.get(attempt.task_id, (0, 0))
        counts[attempt.task_id] = (successes + int(attempt.solved), n + 1)
    return counts, unscored


def _bootstrap_mean(
    values: Sequence[float], *, confidence: float, resamples: int, seed: int
) -> tuple[float, float]:
    _check_confidence(confidence)
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not values:
        return (0.0, 1.0)
    rates = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)  # PCG64: the same draws on every machine
    size = len(rates)
    means = np.empty(resamples, dtype=np.float64)
    rows = max(1, _MAX_DRAWS_PER_BLOCK // size)  # bounds memory for large suites
    for start in range(0, resamples, rows):
        stop = min(resamples, start + rows)
        means[start:stop] = rates[rng.integers(0, size, size=(stop - start, size))].mean(axis=1)
    tail = (1 - confidence) / 2
    # numpy's default quantile is linear interpolation (Hyndman and Fan's type 7)
    low, high = np.quantile(means, [tail, 1 - tail])
    return (float(low), float(high))


def _mean_over_tasks(
    counts: Sequence[tuple[int, int]], k: int, estimator: Callable[[int, int, int], float]
) -> float | None:
    values = [estimator(n, successes, k) for successes, n in counts if n >= k]
    return math.fsum(values) / len(values) if values else None


def _ratio_of_binomials(top: int, n: int, k: int) -> float:
    """C(top, k) / C(n, k) for top <= n, as prod_{j<k} (top - j) / (n - j)."""
    result = 1.0
    for j in range(k):
        result *= (top - j) / (n - j)
    return result


def _rate(successes: int, attempts: int) -> float:
    if attempts < 1 or not 0 <= successes <= attempts:
        raise ValueError(f"need 0 <= successes <= attempts >= 1, got {successes} of {attempts}")
    return successes / attempts


def _check_counts(n: int, c: int, k: int) -> None:
    if n < 1 or not 0 <= c <= n:
        raise ValueError(f"need n >= 1 and 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")


def _z(confidence: float) -> float:
    return statistics.NormalDist().inv_cdf(1 - (1 - confidence) / 2)
