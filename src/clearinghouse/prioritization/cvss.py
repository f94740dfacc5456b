"""CVSS vectors -> scores, for versions 2.0, 3.0, 3.1 and 4.0.

The arithmetic is Red Hat's maintained ``cvss`` library (the reference many other
implementations test against); this module only decides which version a vector is, turns the
library's errors into :class:`InvalidCvssVectorError`, and says which score to prioritize by.

Temporal and environmental scores (v2, v3) are reported only when the vector sets one of their
metrics. Left unset they add nothing, and CVSS 3.1's environmental formula run over unmodified
metrics is not even the base score (its scope-changed impact differs slightly), so reporting
it would invent a difference the scorer never expressed. CVSS 4.0 has one formula over every
metric; its result is :attr:`CvssScore.score`, named by :attr:`CvssScore.nomenclature`
(``CVSS-B``, ``CVSS-BT``, ``CVSS-BE``, ``CVSS-BTE``, as the v4 specification names them).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from cvss import CVSS2, CVSS3, CVSS4, CVSSError

from clearinghouse.core.errors import InputError

CvssVersion = Literal["2.0", "3.0", "3.1", "4.0"]

PREFERENCE: Final[tuple[CvssVersion, ...]] = ("4.0", "3.1", "3.0", "2.0")
"""Versions in the order :func:`highest` prefers them (see its docstring)."""

_PREFIXES: Final = ("CVSS:2.0/", "CVSS:3.0/", "CVSS:3.1/", "CVSS:4.0/")
_TEMPORAL_V2_V3: Final = frozenset({"E", "RL", "RC"})
_ENVIRONMENTAL_V3: Final = frozenset(
    {"CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA"}
)
_BASE_V4: Final = ("AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA")
_THREAT_V4: Final = frozenset({"E"})
_ENVIRONMENTAL_V4: Final = frozenset(
    {"CR", "IR", "AR", "MAV", "MAC", "MAT", "MPR", "MUI"}
    | {"MVC", "MVI", "MVA", "MSC", "MSI", "MSA"}
)


class Severity(enum.StrEnum):
    """Qualitative severity. CVSS v2 only has LOW, MEDIUM and HIGH (NVD's v2 bands)."""

    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class InvalidCvssVectorError(InputError):
    """A CVSS vector that no supported version can read."""

    title = "Invalid CVSS vector"
    type_slug = "invalid-cvss-vector"

    def __init__(self, vector: str, problem: str) -> None:
        super().__init__(f"CVSS vector {vector!r}: {problem}")
        self.vector = vector
        self.problem = problem


@dataclass(frozen=True, slots=True)
class CvssScore:
    """One vector's scores.

    ``base_score`` and ``severity`` are the base metrics' alone (for v4, the ``CVSS-B`` score
    of the vector's base metrics), the figures NVD and CVE records publish. ``score`` is the
    most specific score the vector carries (v2/v3: environmental, else temporal, else base;
    v4: the score over all its metrics) and is what to prioritize by: it is the base score
    corrected by whatever the scorer knew about exploitation and the environment.
    """

    version: CvssVersion
    vector: str
    """Normalized: metrics in the specification's order, unset (``X``/``ND``) ones dropped."""
    base_score: float
    severity: Severity
    score: float
    nomenclature: str
    temporal_score: float | None = None
    environmental_score: float | None = None

    @property
    def score_severity(self) -> Severity:
        """The severity of :attr:`score`."""
        return severity_of(self.version, self.score)


def severity_of(version: CvssVersion, value: float) -> Severity:
    """The qualitative rating of ``value`` under ``version``'s bands.

    v3/v4: 0.0 NONE, 0.1-3.9 LOW, 4.0-6.9 MEDIUM, 7.0-8.9 HIGH, 9.0-10.0 CRITICAL. v2 (NVD):
    0.0-3.9 LOW, 4.0-6.9 MEDIUM, 7.0-10.0 HIGH; v2 defines no rating of its own and NVD's
    bands are the ones every v2 consumer shows.
    """
    if version == "2.0":
        if value < 4.0:
            return Severity.LOW
        return Severity.MEDIUM if value < 7.0 else Severity.HIGH
    if value == 0.0:
        return Severity.NONE
    if value < 4.0:
        return Severity.LOW
    if value < 7.0:
        return Severity.MEDIUM
    return Severity.HIGH if value < 9.0 else Severity.CRITICAL


def score(vector: str) -> CvssScore:
    """Score ``vector`` (surrounding whitespace ignored).

    ``CVSS:4.0/``, ``CVSS:3.1/`` and ``CVSS:3.0/`` prefixes select the version; a vector
    without a prefix is read as CVSS 2.0, which has none (a ``CVSS:2.0/`` prefix, which some
    tools add, is accepted and dropped). Raises :class:`InvalidCvssVectorError` naming the
    vector and what is wrong with it.
    """
    text = vector.strip()
    if not text:
        raise InvalidCvssVectorError(vector, "empty")
    if text.startswith("CVSS:") and not text.startswith(_PREFIXES):
        head = text.partition("/")[0]
        if f"{head}/" in _PREFIXES:
            raise InvalidCvssVectorError(vector, "no metrics after the version")
        version = head.removeprefix("CVSS:")
        raise InvalidCvssVectorError(vector, f"unsupported CVSS version {version!r}")
    try:
        if text.startswith("CVSS:4.0/"):
            return _score_v4(text)
        if text.startswith("CVSS:3."):
            return _score_v3(text)
        return _score_v2(text.removeprefix("CVSS:2.0/"))
    except CVSSError as error:
        problem = str(error) or type(error).__name__
        if not text.startswith("CVSS:"):
            problem = f"read as CVSS 2.0 (no CVSS:3.x or CVSS:4.0 prefix): {problem}"
        raise InvalidCvssVectorError(vector, problem) from error


def highest(vectors: Iterable[str]) -> CvssScore | None:
    """The score to prioritize by among ``vectors`` (None when there are none).

    The newest version wins (4.0, then 3.1, 3.0, 2.0) whatever the numbers: scores of
    different versions measure different things and are not comparable (v2 has no scope or
    user-interaction metric; v3.1 clarified v3.0 and changed its environmental formula; v4
    adds attack requirements and the impact on subsequent systems), and a newer vector is
    usually the more considered one. Among
    vectors of the preferred version, the highest :attr:`CvssScore.score` wins: two
    scorers disagreeing about one flaw is a reason to be cautious. Every vector must be
    valid: one that cannot be read is a data error to fix, not a lower priority.
    """
    best: CvssScore | None = None
    for candidate in map(score, vectors):
        if best is None or _rank(candidate) > _rank(best):
            best = candidate
    return best


def _rank(result: CvssScore) -> tuple[int, float, float]:
    return (-PREFERENCE.index(result.version), result.score, result.base_score)


def _metrics(normalized: str) -> frozenset[str]:
    return frozenset(field.partition(":")[0] for field in normalized.split("/"))


def _nomenclature(threat: bool, environmental: bool) -> str:
    return "CVSS-B" + ("T" if threat else "") + ("E" if environmental else "")


def _score_v2(text: str) -> CvssScore:
    result = CVSS2(text)
    normalized = result.clean_vector()
    base, temporal, environmental = result.scores()
    return _v2_v3_score("2.0", normalized, base, temporal, environmental)


def _score_v3(text: str) -> CvssScore:
    result = CVSS3(text)
    normalized = result.clean_vector()
    metrics = _metrics(normalized)
    base, temporal, environmental = result.scores()
    version: CvssVersion = "3.0" if result.minor_version == 0 else "3.1"
    return _v2_v3_score(
        version,
        normalized,
        base,
        temporal if metrics & _TEMPORAL_V2_V3 else None,
        environmental if metrics & _ENVIRONMENTAL_V3 else None,
    )


def _v2_v3_score(
    version: CvssVersion,
    normalized: str,
    base: float,
    temporal: float | None,
    environmental: float | None,
) -> CvssScore:
    base = abs(base)  # the v2 library can answer -0.0 for an all-None impact
    most_specific = next(s for s in (environmental, temporal, base) if s is not None)
    return CvssScore(
        version=version,
        vector=normalized,
        base_score=base,
        severity=severity_of(version, base),
        score=abs(most_specific),
        nomenclature=_nomenclature(temporal is not None, environmental is not None),
        temporal_score=temporal,
        environmental_score=environmental,
    )


def _score_v4(text: str) -> CvssScore:
    result = CVSS4(text)
    normalized: str = result.clean_vector()
    metrics = _metrics(normalized)
    threat = bool(metrics & _THREAT_V4)
    environmental = bool(metrics & _ENVIRONMENTAL_V4)
    overall = float(result.base_score)
    base = overall
    if threat or environmental:
        # Unset threat metrics count as the worst case (E:A) in v4, so the base-only score
        # is a separate computation, not the overall score with something removed.
        fields = [f for f in normalized.split("/")[1:] if f.partition(":")[0] in _BASE_V4]
        base = float(CVSS4("CVSS:4.0/" + "/".join(fields)).base_score)
    return CvssScore(
        version="4.0",
        vector=normalized,
        base_score=base,
        severity=severity_of("4.0", base),
        score=overall,
        nomenclature=_nomenclature(threat, environmental),
    )
