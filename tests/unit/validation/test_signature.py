"""Crash signatures: the same bug matches across compilers, different bugs never do."""

from __future__ import annotations

import dataclasses
import re
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearinghouse.validation.crash import CrashReport, classify, parse_report, timeout_report
from clearinghouse.validation.signature import (
    SIMILARITY_THRESHOLD,
    crash_kind,
    frames_in_order,
    same_crash,
    signature_key,
    state_similarity,
)

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "sanitizer"
KEY_SHAPE = re.compile(r"^crash:[0-9a-f]{32}$")


def crash(crash_type: str, *state: str, sanitizer: str = "AddressSanitizer") -> CrashReport:
    security, severity = classify(crash_type)
    return CrashReport(sanitizer, crash_type, state, security, severity, "")


def real_reports() -> dict[tuple[str, str], CrashReport]:
    reports: dict[tuple[str, str], CrashReport] = {}
    for path in sorted(ASSETS.glob("*/*.txt")):
        report = parse_report(path.read_text(encoding="utf-8"))
        assert report is not None, path
        reports[(path.parent.name, path.stem)] = report
    return reports


REAL = real_reports()


def test_real_reports_match_exactly_when_they_are_the_same_program() -> None:
    """gcc and clang builds of one bug are one crash; no two of our programs are.

    The exception is the hard-RSS out-of-memory run: its report has no stack, and an empty
    state matches nothing (same key, but ``same_crash`` refuses to merge on nothing).
    """
    for (left, a), (right, b) in combinations(REAL.items(), 2):
        same_program = left[1] == right[1]
        assert same_crash(a, b) is (same_program and bool(a.crash_state)), (left, right)
        assert (signature_key(a) == signature_key(b)) is same_program, (left, right)


def test_key_is_stable_and_shaped() -> None:
    report = crash("Heap-buffer-overflow READ 4", "read_sample", "sum_samples", "main")
    key = signature_key(report)
    assert KEY_SHAPE.match(key)
    # Pinned: an index built today must still be found by the code of tomorrow.
    assert key == "crash:" + "a00acab3acdeacbbc2ca2d93875fcb51"


def test_key_ignores_the_sanitizer_and_the_log() -> None:
    asan = crash("Null-dereference READ", "port_value", "main")
    ubsan = dataclasses.replace(asan, sanitizer="UndefinedBehaviorSanitizer", log="other")
    assert signature_key(asan) == signature_key(ubsan)
    assert same_crash(asan, ubsan)


def test_key_has_no_ambiguous_boundaries() -> None:
    assert signature_key(crash("Abrt", "a b", "c")) != signature_key(crash("Abrt", "a", "b c"))
    assert signature_key(crash("Abrt", "a")) != signature_key(crash("Abrt", "a", ""))
    assert signature_key(crash("Abrt", "x")) != signature_key(crash("Trap", "x"))


def test_security_and_non_security_never_merge() -> None:
    security = crash("Heap-buffer-overflow READ 4", "f", "g", "main")
    harmless = dataclasses.replace(security, security=False, severity=None)
    assert not same_crash(security, harmless)
    assert not same_crash(harmless, security)


def test_access_size_does_not_split_a_bug() -> None:
    assert same_crash(
        crash("Heap-buffer-overflow READ 4", "f", "g", "main"),
        crash("Heap-buffer-overflow READ {*}", "f", "g", "main"),
    )


def test_access_direction_and_kind_do_split() -> None:
    read = crash("Heap-buffer-overflow READ 4", "f", "g", "main")
    assert not same_crash(read, crash("Heap-buffer-overflow WRITE 4", "f", "g", "main"))
    assert not same_crash(read, crash("Heap-use-after-free READ 4", "f", "g", "main"))


def test_different_caller_still_matches_by_frames_in_order() -> None:
    assert same_crash(
        crash("Heap-use-after-free READ 8", "Node::value", "walk", "main"),
        crash("Heap-use-after-free READ 8", "Node::value", "walk", "LLVMFuzzerTestOneInput"),
    )
    # an extra frame (inlined in one build, not the other) leaves two in order
    assert same_crash(
        crash("Heap-use-after-free READ 8", "Node::value", "walk", "main"),
        crash("Heap-use-after-free READ 8", "Node::value", "Tree::visit", "walk"),
    )


def test_one_shared_frame_is_not_enough() -> None:
    assert not same_crash(
        crash("Heap-buffer-overflow READ 4", "read_sample", "sum_samples", "main"),
        crash("Heap-buffer-overflow READ 4", "copy_header", "parse_packet", "main"),
    )


def test_renamed_functions_match_by_similarity() -> None:
    a = crash("Global-buffer-overflow READ 4", "parse_header")
    b = crash("Global-buffer-overflow READ 4", "parse_headers")
    assert state_similarity(a, b) >= SIMILARITY_THRESHOLD
    assert same_crash(a, b)


def test_sibling_functions_are_not_similar_enough() -> None:
    """A mean would let ``main`` carry these over the threshold; the weakest frame decides."""
    a = crash("Heap-buffer-overflow READ 4", "read_sample", "sum_samples", "main")
    b = crash("Heap-buffer-overflow READ 4", "store_sample", "fill_samples", "main")
    assert state_similarity(a, b) < SIMILARITY_THRESHOLD
    assert not same_crash(a, b)


def test_empty_states_never_match() -> None:
    timeout = timeout_report(timeout_s=5)
    assert not same_crash(timeout, timeout_report(timeout_s=5))
    assert not same_crash(crash("Out-of-memory"), crash("Out-of-memory", "f"))
    assert state_similarity(timeout, timeout) == 0.0


def test_different_lengths_are_not_similar_frame_by_frame() -> None:
    assert state_similarity(crash("Abrt", "f"), crash("Abrt", "f", "g")) == 0.0


@pytest.mark.parametrize(
    ("a", "b", "common"),
    [
        ((), (), 0),
        (("a",), ("a",), 1),
        (("a", "b", "c"), ("a", "x", "c"), 2),
        (("a", "b", "a"), ("b", "a", "b"), 2),
        (("a", "b", "c"), ("c", "b", "a"), 1),
    ],
)
def test_frames_in_order(a: tuple[str, ...], b: tuple[str, ...], common: int) -> None:
    assert frames_in_order(a, b) == common


def test_crash_kind() -> None:
    assert crash_kind("Heap-buffer-overflow READ 4") == "Heap-buffer-overflow READ"
    assert crash_kind("Heap-buffer-overflow WRITE {*}") == "Heap-buffer-overflow WRITE"
    assert crash_kind("Null-dereference READ") == "Null-dereference READ"
    assert crash_kind("Uncaught exception ValueError") == "Uncaught exception ValueError"


FRAMES = st.sampled_from(["main", "parse", "parse_all", "read", "walk", "Node::value", "f"])
STATES = st.lists(FRAMES, max_size=3).map(tuple)
TYPES = st.sampled_from(
    ["Heap-buffer-overflow READ 4", "Heap-buffer-overflow READ 8", "Stack-overflow", "Abrt"]
)
REPORTS = st.builds(lambda t, s: crash(t, *s), TYPES, STATES)


@given(REPORTS, REPORTS)
def test_same_crash_is_symmetric(a: CrashReport, b: CrashReport) -> None:
    assert same_crash(a, b) == same_crash(b, a)
    assert 0.0 <= state_similarity(a, b) == state_similarity(b, a) <= 1.0


@given(REPORTS)
def test_a_crash_with_a_state_is_itself(a: CrashReport) -> None:
    assert same_crash(a, a) == bool(a.crash_state)
