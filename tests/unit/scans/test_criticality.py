"""OpenSSF criticality score: bounds, monotonicity, a hand-computed value, refusals."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearinghouse.core.errors import InputError
from clearinghouse.scans.criticality import (
    DEFAULT_SIGNALS,
    OPENSSF_SIGNALS,
    OPERATORS_RUNNING,
    Signal,
    criticality,
)

POSITIVE = sorted(name for name, signal in DEFAULT_SIGNALS.items() if signal.weight > 0)

values_strategy = st.dictionaries(
    st.sampled_from(sorted(DEFAULT_SIGNALS)),
    st.floats(min_value=-10, max_value=1e7, allow_nan=False),
).filter(lambda v: sum(DEFAULT_SIGNALS[name].weight for name in v) > 0)


def test_hand_computed_example() -> None:
    # Thresholds chosen so each term is a simple fraction:
    #   created_since 10:  log 11 / log 121 = 1/2, weight 1
    #   updated_since 10:  1/2, weight -1
    #   org_count 10:      at threshold -> 1, weight 1
    #   recent_releases 8: log 9 / log 27 = 2/3, weight 0.5
    #   comment_freq 3:    log 4 / log 16 = 1/2, weight 1
    # (0.5 - 0.5 + 1 + 1/3 + 0.5) / (1 - 1 + 1 + 0.5 + 1) = (11/6) / (5/2) = 11/15
    values = {
        "created_since": 10,
        "updated_since": 10,
        "org_count": 10,
        "recent_releases_count": 8,
        "comment_frequency": 3,
    }
    assert criticality(values) == pytest.approx(11 / 15, abs=1e-12)


def test_upstream_table_is_the_published_one() -> None:
    weights = [s.weight for s in OPENSSF_SIGNALS.values()]
    assert sum(weights) == 8.5
    assert OPENSSF_SIGNALS["updated_since"] == Signal(weight=-1, threshold=120)
    assert OPENSSF_SIGNALS["dependents_count"] == Signal(weight=2, threshold=500_000)
    assert DEFAULT_SIGNALS[OPERATORS_RUNNING] == Signal(weight=2, threshold=100)
    assert OPERATORS_RUNNING not in OPENSSF_SIGNALS


def test_saturated_project_is_clamped_to_one_and_empty_project_to_zero() -> None:
    saturated = {name: s.threshold * 10 for name, s in DEFAULT_SIGNALS.items()}
    saturated["updated_since"] = 0
    # Unclamped this is 11.5 / 10.5 under the default table.
    assert criticality(saturated) == 1.0
    nothing = dict.fromkeys(DEFAULT_SIGNALS, 0.0)
    assert criticality(nothing) == 0.0


def test_absent_signals_drop_out_of_both_sums() -> None:
    # With only contributor_count known, the score is that signal's own term.
    assert criticality({"contributor_count": 5000}) == 1.0
    assert criticality({"contributor_count": 70}) == pytest.approx(math.log(71) / math.log(5001))


@given(values_strategy)
def test_score_is_within_bounds(values: dict[str, float]) -> None:
    assert 0.0 <= criticality(values) <= 1.0


@given(values_strategy, st.sampled_from(POSITIVE), st.floats(min_value=0, max_value=1e6))
def test_monotonic_in_positive_signals(values: dict[str, float], name: str, more: float) -> None:
    base = dict(values)
    base.setdefault(name, 0.0)
    raised = dict(base)
    raised[name] = max(base[name], 0.0) + more
    assert criticality(raised) >= criticality(base) - 1e-12


def test_strictly_increasing_below_threshold() -> None:
    base = {"created_since": 24, "operators_running": 3}
    assert criticality({**base, "operators_running": 40}) > criticality(base)


@given(values_strategy, st.floats(min_value=0, max_value=500))
def test_decreasing_in_updated_since(values: dict[str, float], months: float) -> None:
    # Keep a positive signal so the weight sum stays positive without updated_since either.
    base = {**values, "contributor_count": values.get("contributor_count", 100.0)}
    fresh = {**base, "updated_since": months}
    stale = {**base, "updated_since": months + 12}
    assert criticality(stale) <= criticality(fresh) + 1e-12


def test_staleness_lowers_a_real_score() -> None:
    base = {"created_since": 60, "contributor_count": 40, "org_count": 3}
    assert criticality({**base, "updated_since": 36}) < criticality({**base, "updated_since": 1})


def test_negative_values_are_clamped_to_zero() -> None:
    base = {"created_since": 30, "contributor_count": 12}
    assert criticality({**base, "updated_since": -5}) == criticality({**base, "updated_since": 0})


def test_custom_signal_table() -> None:
    table = {"stars": Signal(weight=1, threshold=1000)}
    assert criticality({"stars": 1000}, signals=table) == 1.0
    with pytest.raises(InputError, match="created_since"):
        criticality({"created_since": 1}, signals=table)


@pytest.mark.parametrize(
    "values",
    [
        {"stars": 10},
        {"created_since": math.nan},
        {"created_since": math.inf},
        {"updated_since": 3},  # weight sum -1: nothing to normalise by
        {},
    ],
)
def test_refused_inputs(values: dict[str, float]) -> None:
    with pytest.raises(InputError):
        criticality(values)


@pytest.mark.parametrize(("weight", "threshold"), [(1, 0), (1, -3), (math.nan, 10), (1, math.inf)])
def test_signal_rejects_unusable_parameters(weight: float, threshold: float) -> None:
    with pytest.raises(InputError):
        Signal(weight=weight, threshold=threshold)
