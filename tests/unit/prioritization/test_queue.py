"""The triage queue's priority: the rule's order, written out case by case, and the words."""

from __future__ import annotations

import pytest

from clearinghouse.prioritization.queue import (
    Level,
    queue_priority,
    severity_of,
    worst_severity,
)


@pytest.mark.parametrize(
    ("rating", "score", "expected"),
    [
        ("CRITICAL", None, "critical"),
        ("high", 2.0, "high"),  # a stated rating wins over a score
        ("bogus", 9.1, "critical"),
        (None, 9.0, "critical"),
        (None, 8.9, "high"),
        (None, 7.0, "high"),
        (None, 6.9, "medium"),
        (None, 4.0, "medium"),
        (None, 3.9, "low"),
        (None, 0.0, "none"),
        (None, None, None),
    ],
)
def test_severity_from_a_rating_or_a_cvss_like_score(
    rating: str | None, score: float | None, expected: str | None
) -> None:
    assert severity_of(rating, score) == expected


def test_the_worst_known_severity_counts() -> None:
    assert worst_severity(["low", None, "high", "medium"]) == "high"
    assert worst_severity([None, None]) is None
    assert worst_severity([]) is None


@pytest.mark.parametrize(
    ("severity", "kev", "epss", "reproduced", "level"),
    [
        (None, True, None, False, Level.URGENT),  # exploited in the wild beats everything
        ("low", True, 0.1, False, Level.URGENT),
        ("critical", False, None, True, Level.URGENT),
        ("critical", False, None, False, Level.HIGH),
        (None, False, 0.95, False, Level.HIGH),  # at the proof-of-concept percentile
        ("low", False, 0.99, False, Level.HIGH),
        ("high", False, None, True, Level.HIGH),
        ("high", False, 0.94, False, Level.MEDIUM),
        ("medium", False, None, True, Level.MEDIUM),
        ("low", False, None, True, Level.LOW),
        ("none", False, None, False, Level.LOW),
        (None, False, 0.5, True, Level.UNRATED),  # a reproduced proof alone says no severity
        (None, False, None, False, Level.UNRATED),
    ],
)
def test_the_rule_in_order(
    severity: str | None, kev: bool, epss: float | None, reproduced: bool, level: Level
) -> None:
    got = queue_priority(
        severity=severity, known_exploited=kev, epss_percentile=epss, reproduced=reproduced
    )
    assert got.level is level
    assert got.label == level.name.capitalize()


def test_the_reasons_name_the_facts_most_decisive_first() -> None:
    got = queue_priority(
        severity="critical", known_exploited=True, epss_percentile=0.973, reproduced=True
    )
    assert got.because == (
        "known exploited (CISA KEV)",
        "EPSS top 3%",
        "critical severity",
        "proof reproduced",
    )
    quiet = queue_priority(
        severity=None, known_exploited=False, epss_percentile=0.2, reproduced=False
    )
    assert quiet.because == ()  # a low EPSS is not a reason to look first
