"""Benchmark: the designation statistics (``clearinghouse.evaluation.statistics``) against scipy.

Run::

    .venv/bin/python benchmarks/eval_statistics.py [--tasks 34,1000,10000] [--epochs 5]
        [--resamples 2000] [--confidence 0.95] [--seed S] [--repeat 3] [--min-run 0.2]

Defaults: suites of 34, 1,000 and 10,000 tasks, 5 epochs each, 2,000 resamples, 95%
confidence, 3 timed runs of every contender (medians of the per-call times; when one call of
ours takes under ``--min-run`` seconds, every contender's run loops the call as often as ours
needs to last that long). One process, one core. For every suite it prints wall and CPU
seconds, the intervals, ours/peer time ratios and the agreement of the intervals; then a table
of the ratios. It never fails on a slow result; it exits non-zero only
when the contenders disagree (an assertion) or on bad usage.

The input (seeded ``random``, so the same seed gives the same attempts): each task has its own
success rate drawn from Beta(0.35 c, 0.65 c) with c = 1 (mean 0.35; tasks mostly all-or-nothing,
as capability tasks tend to be, the same model as the unit tests' coverage simulation); every
epoch is one attempt solved with that probability, and 2% of attempts are unscored (``None``).
Attempts are listed epoch by epoch, as an evaluation log lists its samples. ``cluster_bootstrap``
gets the per-task ``(successes, scored attempts)`` pairs; ``family_summary`` the attempts.

The contenders:

* ours: ``cluster_bootstrap`` (percentile bootstrap with tasks resampled with replacement,
  statistic the mean of per-task rates; pure Python, ``random.Random(seed)``), and
  ``family_summary`` with ``ks=(1, 3)`` as the evaluation import calls it (tally, rate,
  bootstrap, Wilson intervals per task and per attempt, pass@k and pass^k).
* scipy: ``scipy.stats.bootstrap((rates,), np.mean, method="percentile", vectorized=True)``
  with the same resamples and confidence and ``np.random.default_rng(seed)``, timed from the
  same ``(successes, attempts)`` list (turning it into the rate array is included).
* numpy (written for this benchmark): one ``(resamples, tasks)`` matrix of random task indices,
  the row means, ``np.percentile`` (linear interpolation, as ours and scipy).
* the summary peer (written for this benchmark on scipy and numpy): from the same ``Attempt``
  list, per-task counts with ``np.unique`` and ``np.bincount``, ``scipy.stats.bootstrap`` as
  above, ``scipy.stats.binomtest(...).proportion_ci(method="wilson")`` per attempt, the Wilson
  formula with ``scipy.stats.norm.ppf`` per task (scipy has no Wilson interval for a
  fractional count), ``scipy.special.comb`` for pass@k and pass^k, and the same union.

Agreement (asserted): the counts exactly; the rate, the Wilson intervals and pass@k/pass^k to
1e-9; and every bootstrap interval within a Monte Carlo tolerance of ours (different random
streams, so not equal): max(0.02, 6 x sqrt(2) x the standard error of a percentile endpoint
for that suite and resample count), printed with the differences found. Ours must also give
the same interval on every run and the same bootstrap in ``cluster_bootstrap`` and
``family_summary`` (same seed, same task order).

Before every timed run the cyclic garbage collector is run and what is alive is frozen
(``gc.freeze``), so that no contender pays for objects another one left behind.

Not measured: memory (the numpy contenders hold two ``resamples x tasks`` arrays, 320 MB at
10,000 tasks), ``paired_comparison`` (the same bootstrap on differences), several cores.
Timings are wall-clock on whatever else the machine is doing; read the ratios, and the CPU
column when the machine is busy.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import scipy  # type: ignore[import-untyped,import-not-found,unused-ignore]  # bench extra
from numpy.typing import NDArray
from scipy import special, stats

from clearinghouse.evaluation.statistics import (
    Attempt,
    FamilySummary,
    cluster_bootstrap,
    family_summary,
)

T = TypeVar("T")
Interval = tuple[float, float]
MEAN_RATE = 0.35
CONCENTRATION = 1.0
UNSCORED = 0.02
KS = (1, 3)
EXACT = 1e-9


# ---- input --------------------------------------------------------------------------------


def make_suite(rng: random.Random, tasks: int, epochs: int) -> list[Attempt]:
    rates = [
        rng.betavariate(MEAN_RATE * CONCENTRATION, (1 - MEAN_RATE) * CONCENTRATION)
        for _ in range(tasks)
    ]
    return [
        Attempt(
            f"task-{task:05d}",
            "cyber",
            epoch,
            None if rng.random() < UNSCORED else rng.random() < rates[task],
        )
        for epoch in range(1, epochs + 1)
        for task in range(tasks)
    ]


def per_task_counts(attempts: Sequence[Attempt]) -> list[tuple[int, int]]:
    """``(successes, scored attempts)`` per task with a scored attempt, in first-seen order."""
    counts: dict[str, list[int]] = {}
    for attempt in attempts:
        if attempt.solved is not None:
            entry = counts.setdefault(attempt.task_id, [0, 0])
            entry[0] += attempt.solved
            entry[1] += 1
    return [(successes, scored) for successes, scored in counts.values()]


# ---- peers --------------------------------------------------------------------------------


def scipy_bootstrap(
    rates: NDArray[np.float64], *, confidence: float, resamples: int, seed: int
) -> Interval:
    result = stats.bootstrap(
        (rates,),
        np.mean,
        n_resamples=resamples,
        vectorized=True,
        method="percentile",
        confidence_level=confidence,
        rng=np.random.default_rng(seed),
    )
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))


def scipy_cluster_bootstrap(
    per_task: Sequence[tuple[int, int]], *, confidence: float, resamples: int, seed: int
) -> Interval:
    counts = np.asarray(per_task, dtype=np.float64)
    return scipy_bootstrap(
        counts[:, 0] / counts[:, 1], confidence=confidence, resamples=resamples, seed=seed
    )


def numpy_cluster_bootstrap(
    per_task: Sequence[tuple[int, int]], *, confidence: float, resamples: int, seed: int
) -> Interval:
    counts = np.asarray(per_task, dtype=np.float64)
    rates = counts[:, 0] / counts[:, 1]
    picks = np.random.default_rng(seed).integers(0, rates.size, size=(resamples, rates.size))
    means = rates[picks].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))


@dataclass(frozen=True, slots=True)
class PeerSummary:
    tasks: int
    attempts: int
    unscored: int
    successes: int
    rate: float
    interval: Interval
    bootstrap: Interval
    wilson_tasks: Interval
    wilson_attempts: Interval
    pass_at: dict[int, float]
    pass_hat: dict[int, float]


def wilson(successes: float, n: int, z: float) -> Interval:
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def peer_summary(
    attempts: Sequence[Attempt], *, confidence: float, resamples: int, seed: int
) -> PeerSummary:
    scored = [attempt for attempt in attempts if attempt.solved is not None]
    ids = np.array([attempt.task_id for attempt in scored])
    solved = np.fromiter((bool(a.solved) for a in scored), dtype=np.float64, count=len(scored))
    _, task_of = np.unique(ids, return_inverse=True)
    n = np.bincount(task_of)
    c = np.bincount(task_of, weights=solved)
    rates = c / n
    bootstrap = scipy_bootstrap(rates, confidence=confidence, resamples=resamples, seed=seed)
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    wilson_tasks = wilson(float(rates.sum()), int(rates.size), z)
    successes, total = int(c.sum()), int(n.sum())
    ci = stats.binomtest(successes, total).proportion_ci(confidence, method="wilson")
    pass_at: dict[int, float] = {}
    pass_hat: dict[int, float] = {}
    for k in KS:
        enough = n >= k
        pass_at[k] = float(np.mean(1 - special.comb(n - c, k)[enough] / special.comb(n, k)[enough]))
        pass_hat[k] = float(np.mean(special.comb(c, k)[enough] / special.comb(n, k)[enough]))
    return PeerSummary(
        tasks=int(rates.size),
        attempts=total,
        unscored=len(attempts) - len(scored),
        successes=successes,
        rate=float(rates.mean()),
        interval=(min(bootstrap[0], wilson_tasks[0]), max(bootstrap[1], wilson_tasks[1])),
        bootstrap=bootstrap,
        wilson_tasks=wilson_tasks,
        wilson_attempts=(float(ci.low), float(ci.high)),
        pass_at=pass_at,
        pass_hat=pass_hat,
    )


# ---- timing and agreement -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Took:
    wall: float  # seconds, median of the runs
    cpu: float  # process CPU seconds, median of the runs


def timed(work: Callable[[], T], repeat: int, loops: int) -> tuple[list[T], Took]:
    """``repeat`` runs of ``loops`` calls each; the result of each run's last call, and the
    median per-call time."""
    results, walls, cpus = [], [], []
    for _ in range(repeat):
        gc.collect()
        gc.freeze()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(loops):
            result = work()
        cpus.append((time.process_time() - cpu) / loops)
        walls.append((time.perf_counter() - wall) / loops)
        results.append(result)
    return results, Took(statistics.median(walls), statistics.median(cpus))


def loops_for(work: Callable[[], object], at_least: float) -> int:
    """Calls per timed run so that a run of ``work`` lasts about ``at_least`` seconds."""
    start = time.perf_counter()
    work()
    return max(1, math.ceil(at_least / max(time.perf_counter() - start, 1e-6)))


def tolerance(rates: Sequence[float], confidence: float, resamples: int) -> float:
    """Six standard errors of the difference between two percentile endpoints taken from
    independent bootstraps (normal approximation of the bootstrap distribution), at least 0.02."""
    spread = statistics.pstdev(rates) / math.sqrt(len(rates))
    tail = (1 - confidence) / 2
    normal = statistics.NormalDist()
    endpoint = math.sqrt(tail * (1 - tail) / resamples) / normal.pdf(normal.inv_cdf(tail))
    return max(0.02, 6 * math.sqrt(2) * endpoint * spread)


def gap(a: Interval, b: Interval) -> float:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def check_summary(ours: FamilySummary, peer: PeerSummary, tol: float) -> list[str]:
    """Asserts agreement; returns the lines to print."""
    assert (ours.tasks, ours.attempts, ours.unscored, ours.successes) == (
        peer.tasks,
        peer.attempts,
        peer.unscored,
        peer.successes,
    ), "family_summary: counts differ from the peer's"
    assert ours.rate is not None
    assert abs(ours.rate - peer.rate) <= EXACT, "family_summary: rate differs"
    assert gap(ours.wilson_tasks, peer.wilson_tasks) <= EXACT, "Wilson (tasks) differs"
    assert gap(ours.wilson_attempts, peer.wilson_attempts) <= EXACT, "Wilson (attempts) differs"
    for k in KS:
        assert abs((ours.pass_at[k] or 0.0) - peer.pass_at[k]) <= EXACT, f"pass@{k} differs"
        assert abs((ours.pass_hat[k] or 0.0) - peer.pass_hat[k]) <= EXACT, f"pass^{k} differs"
    assert gap(ours.bootstrap, peer.bootstrap) <= tol, "family_summary: bootstrap differs"
    assert gap(ours.interval, peer.interval) <= tol, "family_summary: interval differs"
    return [
        f"counts, rate, Wilson (tasks, attempts), pass@k and pass^k for k in {KS}: equal"
        f" (to {EXACT:g})",
        f"interval (union) max |diff| {gap(ours.interval, peer.interval):.4f}",
    ]


def show(value: Interval) -> str:
    return f"[{value[0]:.4f}, {value[1]:.4f}]"


def bench_suite(attempts: list[Attempt], args: argparse.Namespace) -> list[float]:
    """Times, checks and prints one suite; returns the ours/peer ratios (wall, CPU) against
    scipy, numpy and the scipy-based summary."""
    conf, resamples, seed, repeat = args.confidence, args.resamples, args.seed, args.repeat
    per_task = per_task_counts(attempts)
    rates = [successes / n for successes, n in per_task]
    tol = tolerance(rates, conf, resamples)
    unscored = sum(1 for attempt in attempts if attempt.solved is None)

    def ours_bootstrap() -> Interval:
        return cluster_bootstrap(per_task, confidence=conf, resamples=resamples, seed=seed)

    def ours_summary() -> FamilySummary:
        return family_summary(attempts, confidence=conf, resamples=resamples, seed=seed, ks=KS)

    def scipy_peer() -> Interval:
        return scipy_cluster_bootstrap(per_task, confidence=conf, resamples=resamples, seed=seed)

    def numpy_peer() -> Interval:
        return numpy_cluster_bootstrap(per_task, confidence=conf, resamples=resamples, seed=seed)

    def summary_peer() -> PeerSummary:
        return peer_summary(attempts, confidence=conf, resamples=resamples, seed=seed)

    loops = loops_for(ours_bootstrap, args.min_run)
    print(
        f"\n{len(per_task):,} tasks: {len(attempts):,} attempts ({unscored} unscored),"
        f" mean per-task rate {statistics.fmean(rates):.3f}; {loops} call(s) per run"
    )
    ours_runs, ours_s = timed(ours_bootstrap, repeat, loops)
    scipy_runs, scipy_s = timed(scipy_peer, repeat, loops)
    numpy_runs, numpy_s = timed(numpy_peer, repeat, loops)
    summary_runs, summary_s = timed(ours_summary, repeat, loops)
    peer_runs, peer_s = timed(summary_peer, repeat, loops)
    ours, summary, peer = ours_runs[0], summary_runs[0], peer_runs[0]
    assert all(run == ours for run in ours_runs), "cluster_bootstrap is not deterministic"
    assert all(run == summary for run in summary_runs), "family_summary is not deterministic"
    assert summary.bootstrap == ours, "family_summary's bootstrap differs from ours"
    assert gap(ours, scipy_runs[0]) <= tol, f"ours and scipy differ by more than {tol}"
    assert gap(ours, numpy_runs[0]) <= tol, f"ours and numpy differ by more than {tol}"
    agreement = check_summary(summary, peer, tol)

    print(f"  {'':48} {'wall s':>8} {'CPU s':>8}  {'interval':<18}  ours/peer: wall   CPU")
    for name, took, interval, base in (
        ("cluster_bootstrap (ours)", ours_s, ours, None),
        ("scipy.stats.bootstrap", scipy_s, scipy_runs[0], ours_s),
        ("numpy (written for the benchmark)", numpy_s, numpy_runs[0], ours_s),
        ("family_summary (ours)", summary_s, summary.interval, None),
        ("scipy-based summary (written for the benchmark)", peer_s, peer.interval, summary_s),
    ):
        ratio = f"  {base.wall / took.wall:15.2f} {base.cpu / took.cpu:5.2f}" if base else ""
        line = f"  {name:<48} {took.wall:8.4f} {took.cpu:8.4f}  {show(interval):<18}{ratio}"
        print(line.rstrip())
    print(
        f"  agreement (tolerance {tol:.4f}): bootstrap max |diff| ours-scipy"
        f" {gap(ours, scipy_runs[0]):.4f}, ours-numpy {gap(ours, numpy_runs[0]):.4f},"
        f" family_summary-peer {gap(summary.bootstrap, peer.bootstrap):.4f}"
    )
    for line in agreement:
        print(f"  {line}")
    return [
        ours_s.wall / scipy_s.wall,
        ours_s.cpu / scipy_s.cpu,
        ours_s.wall / numpy_s.wall,
        ours_s.cpu / numpy_s.cpu,
        summary_s.wall / peer_s.wall,
        summary_s.cpu / peer_s.cpu,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--tasks", default="34,1000,10000", help="comma-separated suite sizes")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=20251127)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per contender (median)")
    parser.add_argument(
        "--min-run", type=float, default=0.2, help="seconds; short calls are looped to last this"
    )
    args = parser.parse_args(argv)
    try:
        sizes = [int(size.replace("_", "")) for size in args.tasks.split(",")]
    except ValueError:
        parser.error(f"--tasks: comma-separated integers, got {args.tasks!r}")
    if min(sizes) < 10 or args.epochs < 3 or args.resamples < 100 or args.repeat < 1:
        parser.error("need at least 10 tasks, 3 epochs, 100 resamples and 1 run")
    if not 0 < args.confidence < 1:
        parser.error("--confidence must be strictly between 0 and 1")
    conf, resamples, seed = args.confidence, args.resamples, args.seed
    print(
        f"eval statistics: suites of {', '.join(f'{s:,}' for s in sizes)} tasks x {args.epochs}"
        f" epochs, {resamples:,} resamples, {conf:.0%} confidence, seed {seed};"
        f" per-call times, median of {args.repeat} runs"
    )
    print(f"Python {sys.version.split()[0]}, scipy {scipy.__version__}, numpy {np.__version__}")
    rng = random.Random(seed)
    table = [(size, bench_suite(make_suite(rng, size, args.epochs), args)) for size in sizes]
    print("\nours time / peer time (above 1: ours slower), wall and CPU:")
    print(
        f"  {'tasks':>7}  {'cluster_bootstrap / scipy':>25}  {'/ numpy':>13}"
        f"  {'family_summary / scipy-based':>28}"
    )
    for size, ratios in table:
        pairs = [f"{ratios[i]:6.2f} {ratios[i + 1]:6.2f}" for i in range(0, 6, 2)]
        print(f"  {size:>7,}  {pairs[0]:>25}  {pairs[1]:>13}  {pairs[2]:>28}")
    print(
        "\nanswers agree: bootstrap intervals within the Monte Carlo tolerance, counts, rates,"
        " Wilson intervals and pass@k/pass^k equal"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
