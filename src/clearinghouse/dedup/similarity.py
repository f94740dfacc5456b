"""Suggestions of likely-but-unsure duplicates, for an analyst to confirm or dismiss.

Two cheap signals, neither strong enough to merge on its own:

* **similar text**: Jaccard similarity of the normalised word sets of title and description
  (lower-cased, stop words and one-character tokens dropped), halved when both findings point
  at different files of the same target, because matching wording across files is usually one
  rule firing twice, not one flaw;
* **nearby lines**: same target and file, start lines at most ``max_line_distance`` apart (a
  finding exactly on the line with a compatible CWE has already merged through its location
  key, so what is left here is the unsure part: shifted lines, missing or differing CWEs).

The words a finder used never decide identity (``dedup.fingerprint`` keeps free text out of
every key); they only rank what an analyst looks at. This module does not choose candidates
(the service passes findings of the same target or nearby), store suggestions, or merge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from clearinghouse.dedup.cwe import compatible_sets
from clearinghouse.dedup.cwe import normalise as normalise_cwes
from clearinghouse.dedup.fingerprint import canonical_path, canonical_target
from clearinghouse.formats.records import FindingRecord

REASON_TEXT = "similar-text"
REASON_NEARBY = "nearby-lines"

_MAX_TEXT_CHARS = 4000  # long descriptions add little but cost linear time
_TOKEN = re.compile(r"[a-z0-9_]+")
# English function words plus the filler every scanner uses ("potential vulnerability found").
_STOP_TEXT = """
a an and are as at be been but by can could do does for from has have if in into is it its
may might not of on or that the their then there these this those to was were when which
while will with within without would
issue issues finding found detected possible potential potentially vulnerability
vulnerable via use used using
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class SuggestionInput:
    """What similarity needs of a finding, prepared once (tokens, canonical target and path).

    Build it with :meth:`of` or :meth:`from_record` so tokens and canonical forms are computed
    the same way on both sides of every comparison.
    """

    ref: int
    tokens: frozenset[str]
    target: str = ""
    path: str = ""
    line: int | None = None
    cwes: tuple[int, ...] = ()

    @classmethod
    def of(
        cls,
        ref: int,
        *,
        title: str,
        description: str = "",
        target: str | None = None,
        path: str | None = None,
        line: int | None = None,
        cwes: Sequence[int] = (),
    ) -> SuggestionInput:
        return cls(
            ref=ref,
            tokens=tokens(f"{title}\n{description}"),
            target=canonical_target(target) if target else "",
            path=canonical_path(path) if path else "",
            line=line if line is not None and line > 0 else None,
            cwes=normalise_cwes(cwes),
        )

    @classmethod
    def from_record(cls, ref: int, record: FindingRecord, *, target: str | None) -> SuggestionInput:
        location = record.location
        return cls.of(
            ref,
            title=record.title,
            description=record.description,
            target=target,
            path=location.path if location is not None else None,
            line=location.start_line if location is not None else None,
            cwes=record.cwes,
        )


@dataclass(frozen=True, slots=True)
class Suggestion:
    """``other_ref`` may be a duplicate, with a score in 0..1 and the signals that fired."""

    other_ref: int
    score: float
    reason: str


def tokens(text: str) -> frozenset[str]:
    """Lower-cased words and identifiers of ``text``, minus stop words and single characters."""
    words = _TOKEN.findall(text[:_MAX_TEXT_CHARS].lower())
    return frozenset(word for word in words if len(word) > 1 and word not in _STOP_WORDS)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0 when either side has no words (no evidence, not a match)."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def suggest(
    new: SuggestionInput,
    candidates: Sequence[SuggestionInput],
    *,
    threshold: float = 0.6,
    max_line_distance: int = 10,
) -> list[Suggestion]:
    """Candidates that may be duplicates of ``new``, best first (ties by ``other_ref``).

    A candidate is suggested when its text score reaches ``threshold`` or when it is on nearby
    lines of the same file. Nearby lines score from 0.6 (at the distance limit) to 1.0 (same
    line) with compatible CWEs, and up to 0.8 otherwise; the reported score is the higher of the
    two signals.
    """
    found: list[Suggestion] = []
    for other in candidates:
        if other.ref == new.ref:
            continue
        same_file = bool(new.path) and new.target == other.target and new.path == other.path
        text_score = jaccard(new.tokens, other.tokens)
        if new.path and other.path and new.target == other.target and not same_file:
            text_score /= 2
        reasons: list[str] = []
        score = 0.0
        if text_score >= threshold:
            reasons.append(REASON_TEXT)
            score = text_score
        if same_file and new.line is not None and other.line is not None:
            distance = abs(new.line - other.line)
            if distance <= max_line_distance:
                closeness = 1 - distance / (max_line_distance + 1)
                span = 0.4 if compatible_sets(new.cwes, other.cwes) else 0.2
                reasons.append(REASON_NEARBY)
                score = max(score, 0.6 + span * closeness)
        if reasons:
            found.append(
                Suggestion(other_ref=other.ref, score=round(score, 4), reason="+".join(reasons))
            )
    found.sort(key=lambda suggestion: (-suggestion.score, suggestion.other_ref))
    return found
