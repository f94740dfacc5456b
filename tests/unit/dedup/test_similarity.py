"""Suggestions for likely-but-unsure duplicates: similar wording, nearby lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearinghouse.dedup.similarity import (
    REASON_NEARBY,
    REASON_TEXT,
    Suggestion,
    SuggestionInput,
    jaccard,
    suggest,
    tokens,
)
from clearinghouse.formats.records import FindingRecord, Location

REPO = "https://github.com/example/project"


def item(
    ref: int,
    title: str = "",
    *,
    description: str = "",
    path: str | None = None,
    line: int | None = None,
    cwes: tuple[int, ...] = (),
    target: str | None = REPO,
) -> SuggestionInput:
    return SuggestionInput.of(
        ref, title=title, description=description, target=target, path=path, line=line, cwes=cwes
    )


def test_tokens_drop_stop_words_case_and_punctuation() -> None:
    assert tokens("Potential buffer overflow in the parse_header() function!") == frozenset(
        {"buffer", "overflow", "parse_header", "function"}
    )


def test_jaccard() -> None:
    assert jaccard(frozenset({"a", "b"}), frozenset({"b", "c"})) == pytest.approx(1 / 3)
    assert jaccard(frozenset(), frozenset()) == 0.0


def test_similar_titles_are_suggested_and_different_ones_not() -> None:
    new = item(1, "Heap buffer overflow in parse_header")
    candidates = [
        item(2, "Buffer overflow in parse_header"),
        item(3, "SQL injection in login form"),
    ]
    (only,) = suggest(new, candidates)
    assert only.other_ref == 2
    assert only.reason == REASON_TEXT
    assert only.score == pytest.approx(0.75)


def test_matching_words_in_different_files_count_half() -> None:
    new = item(1, "Buffer overflow in parse_header", path="src/a.c", line=3)
    elsewhere = item(2, "Buffer overflow in parse_header", path="src/b.c", line=3)
    assert suggest(new, [elsewhere]) == []
    assert suggest(new, [elsewhere], threshold=0.5)[0].score == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("line", "cwes", "expected"),
    [
        (10, (787,), 1.0),  # same line, compatible CWE (would normally have merged)
        (20, (787,), pytest.approx(0.6 + 0.4 / 11, abs=1e-4)),
        (21, (787,), None),  # beyond the distance
        (12, (), pytest.approx(0.6 + 0.2 * (1 - 2 / 11), abs=1e-4)),  # missing CWE
        (12, (125,), pytest.approx(0.6 + 0.2 * (1 - 2 / 11), abs=1e-4)),  # incompatible CWE
    ],
)
def test_nearby_lines(line: int, cwes: tuple[int, ...], expected: object) -> None:
    new = item(1, "alpha", path="src/a.c", line=10, cwes=(787,))
    other = item(2, "omega", path="./src/a.c", line=line, cwes=cwes)
    found = suggest(new, [other])
    if expected is None:
        assert found == []
    else:
        assert [(s.other_ref, s.reason) for s in found] == [(2, REASON_NEARBY)]
        assert found[0].score == expected


def test_nearby_lines_need_the_same_target_and_file() -> None:
    new = item(1, "alpha", path="src/a.c", line=10)
    assert suggest(new, [item(2, "omega", path="src/b.c", line=10)]) == []
    other_repo = item(3, "omega", path="src/a.c", line=10, target="https://github.com/o/p")
    assert suggest(new, [other_repo]) == []


def test_both_signals_are_reported_and_the_best_score_wins() -> None:
    new = item(1, "Use after free in cache_evict", path="src/c.c", line=40, cwes=(416,))
    other = item(2, "Use after free in cache_evict", path="src/c.c", line=45)
    (found,) = suggest(new, [other])
    assert found.reason == f"{REASON_TEXT}+{REASON_NEARBY}"
    assert found.score == 1.0


def test_sorted_by_score_then_ref_and_self_excluded() -> None:
    new = item(5, "integer overflow in decode_frame length")
    candidates = [
        item(9, "integer overflow in decode_frame"),
        item(5, "integer overflow in decode_frame length"),
        item(7, "integer overflow in decode_frame"),
        item(8, "integer overflow in decode_frame length"),
    ]
    assert [s.other_ref for s in suggest(new, candidates)] == [8, 7, 9]


def test_from_record_uses_title_description_and_location() -> None:
    record = FindingRecord(
        format="native",
        pointer="/",
        producer="lab",
        title="Stack overflow",
        description="recursive descent parser",
        cwes=(674,),
        location=Location(path="/src/p.c", start_line=7),
    )
    prepared = SuggestionInput.from_record(3, record, target=REPO + ".git")
    assert prepared == SuggestionInput(
        ref=3,
        tokens=frozenset({"stack", "overflow", "recursive", "descent", "parser"}),
        target="github.com/example/project",
        path="src/p.c",
        line=7,
        cwes=(674,),
    )


@given(st.text(max_size=80), st.text(max_size=80))
def test_scores_stay_between_zero_and_one(a: str, b: str) -> None:
    for found in suggest(item(1, a), [item(2, b)], threshold=0.0):
        assert isinstance(found, Suggestion)
        assert 0.0 <= found.score <= 1.0
