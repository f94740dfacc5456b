"""CVSS scoring: the Red Hat library's own test vectors, version choice and errors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.prioritization.cvss import (
    CvssScore,
    InvalidCvssVectorError,
    Severity,
    highest,
    score,
    severity_of,
)

VECTORS = Path("cvss/redhat-cvss/tests")

# file -> how many vectors it holds (so a truncated copy cannot pass by checking less)
V2_V3_FILES = {
    "vectors_simple2": 729,
    "vectors_cvsslib2": 24,
    "vectors_calculator2": 5,
    "vectors_simple3": 2592,
    "vectors_cvsslib3": 29,
    "vectors_calculator3": 2,
    "vectors_simple31": 2592,
}
V4_FILES = {
    "vectors_simple4": 1058,
    "vectors_supplemental4": 576,
    "vectors_security4": 54,
    "vectors_threat4": 6,
}
NEUTRAL_ENVIRONMENT = "/CR:M"  # weighs 1.0 in v3, like an unset CR


def _lines(corpus: Path, name: str) -> list[tuple[str, str]]:
    """``VECTOR - EXPECTED`` lines as (vector, expected text)."""
    text = (corpus / VECTORS / name).read_text()
    pairs = []
    for line in text.splitlines():
        if line.strip():
            vector, _, expected = line.strip().rpartition(" - ")
            pairs.append((vector, expected))
    return pairs


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "count"), V2_V3_FILES.items())
def test_v2_v3_vectors_score_as_expected(corpus: Path, name: str, count: int) -> None:
    """Format ``VECTOR - (base, temporal, environmental)``.

    The files list v3 temporal and environmental scores even for vectors that set no such
    metric (the library computes them anyway); :func:`score` reports them only when set, so
    for those vectors the temporal score must equal the base score, and the environmental
    score is checked by setting one neutral environmental metric.
    """
    pairs = _lines(corpus, name)
    assert len(pairs) == count
    wrong = []
    for vector, expected_text in pairs:
        base, temporal, environmental = ast.literal_eval(expected_text)
        result = score(vector)
        got_temporal = result.temporal_score
        got_environmental = result.environmental_score
        if result.version != "2.0":
            if got_temporal is None:
                got_temporal = result.base_score
            if got_environmental is None:
                got_environmental = score(vector + NEUTRAL_ENVIRONMENT).environmental_score
        if (result.base_score, got_temporal, got_environmental) != (
            base,
            temporal,
            environmental,
        ):
            wrong.append((vector, expected_text, result))
        assert result.severity is severity_of(result.version, result.base_score)
    assert not wrong, wrong[:5]


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "count"), V4_FILES.items())
def test_v4_vectors_score_as_expected(corpus: Path, name: str, count: int) -> None:
    """Formats ``VECTOR - (score,)`` and ``VECTOR - score``: the score over all metrics."""
    pairs = _lines(corpus, name)
    assert len(pairs) == count
    wrong = []
    for vector, expected_text in pairs:
        expected = ast.literal_eval(expected_text)
        expected_score = expected[0] if isinstance(expected, tuple) else expected
        result = score(vector)
        if result.version != "4.0" or result.score != expected_score:
            wrong.append((vector, expected_text, result))
    assert not wrong, wrong[:5]


def test_v3_reports_temporal_and_environmental_only_when_set() -> None:
    base_only = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")
    assert (base_only.base_score, base_only.temporal_score, base_only.environmental_score) == (
        10.0,
        None,
        None,
    )
    assert (base_only.score, base_only.nomenclature) == (10.0, "CVSS-B")
    full = score(
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N/E:H/RL:O/RC:C"
        "/CR:H/IR:H/AR:H/MAV:N/MAC:L/MPR:L/MUI:N/MS:C/MC:H/MI:H/MA:H"
    )
    assert (full.base_score, full.temporal_score, full.environmental_score) == (9.3, 8.9, 9.5)
    assert (full.score, full.nomenclature, full.score_severity) == (
        9.5,
        "CVSS-BTE",
        Severity.CRITICAL,
    )


def test_vectors_are_normalized() -> None:
    result = score("  CVSS:3.0/S:U/AV:N/AC:L/PR:H/UI:N/C:L/I:L/A:N/E:F/RL:X  ")
    assert result.vector == "CVSS:3.0/AV:N/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:N/E:F"
    assert (result.version, result.base_score, result.temporal_score) == ("3.0", 3.8, 3.7)
    assert result.nomenclature == "CVSS-BT"
    v2 = score("CVSS:2.0/AV:N/AC:L/Au:N/C:C/I:C/A:C/E:ND")
    assert (v2.version, v2.vector, v2.base_score) == ("2.0", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0)


def test_v4_base_score_is_the_base_metrics_alone() -> None:
    vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U/CR:L/U:Red"
    result = score(vector)
    assert result.vector == vector
    assert (result.base_score, result.severity) == (9.3, Severity.CRITICAL)
    assert (result.score, result.score_severity, result.nomenclature) == (
        score(vector.removesuffix("/U:Red")).score,
        severity_of("4.0", result.score),
        "CVSS-BTE",
    )
    assert result.score < result.base_score
    assert (result.temporal_score, result.environmental_score) == (None, None)
    supplemental_only = score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P")
    assert (supplemental_only.nomenclature, supplemental_only.score) == ("CVSS-B", 9.3)


@pytest.mark.parametrize(
    ("version", "value", "expected"),
    [
        ("2.0", 0.0, Severity.LOW),
        ("2.0", 3.9, Severity.LOW),
        ("2.0", 4.0, Severity.MEDIUM),
        ("2.0", 6.9, Severity.MEDIUM),
        ("2.0", 7.0, Severity.HIGH),
        ("2.0", 10.0, Severity.HIGH),
        ("3.1", 0.0, Severity.NONE),
        ("3.1", 0.1, Severity.LOW),
        ("3.0", 3.9, Severity.LOW),
        ("3.1", 4.0, Severity.MEDIUM),
        ("4.0", 6.9, Severity.MEDIUM),
        ("4.0", 7.0, Severity.HIGH),
        ("3.1", 8.9, Severity.HIGH),
        ("3.1", 9.0, Severity.CRITICAL),
        ("4.0", 10.0, Severity.CRITICAL),
    ],
)
def test_severity_bands(version: str, value: float, expected: Severity) -> None:
    assert severity_of(version, value) is expected  # type: ignore[arg-type]


def test_v2_zero_impact_is_not_negative() -> None:
    result = score("AV:L/AC:H/Au:M/C:N/I:N/A:N")
    assert (result.base_score, str(result.base_score)) == (0.0, "0.0")
    assert result.severity is Severity.LOW


@pytest.mark.parametrize(
    ("vector", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("CVSS:3.1", "no metrics after the version"),
        ("CVSS:5.0/AV:N", "unsupported CVSS version '5.0'"),
        ("CVSS:3.1/AV:N", 'Missing mandatory metrics "AC, PR, UI, S, C, I, A"'),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q", 'Unknown value "Q"'),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", 'trailing "/"'),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/AV:L", "Duplicate"),
        ("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "read as CVSS 2.0"),
    ],
)
def test_invalid_vectors_name_the_vector_and_the_problem(vector: str, problem: str) -> None:
    with pytest.raises(InvalidCvssVectorError) as raised:
        score(vector)
    assert isinstance(raised.value, InputError)
    assert raised.value.vector == vector
    assert repr(vector) in str(raised.value)
    assert problem in raised.value.problem


def test_highest_prefers_the_newest_version_then_the_highest_score() -> None:
    v2 = "AV:N/AC:L/Au:N/C:C/I:C/A:C"  # 10.0
    v30 = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
    v31_low = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"  # 3.7
    v31_high = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5
    v4 = "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"  # low
    assert highest([]) is None
    assert _version_and_score(highest([v2, v30])) == ("3.0", 9.8)
    assert _version_and_score(highest([v2, v30, v31_low])) == ("3.1", 3.7)
    assert _version_and_score(highest([v31_low, v31_high, v2])) == ("3.1", 7.5)
    assert _version_and_score(highest(iter([v31_high, v4, v30])))[0] == "4.0"


def test_highest_refuses_an_invalid_vector() -> None:
    with pytest.raises(InvalidCvssVectorError):
        highest(["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:X"])


def _version_and_score(result: CvssScore | None) -> tuple[str, float]:
    assert result is not None
    return result.version, result.score
