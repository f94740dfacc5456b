"""The pure parts of patch validation: the verdict's order and the diff's path checks."""

from __future__ import annotations

import pytest

from clearinghouse.core.errors import InputError, TooLargeError
from clearinghouse.validation.crash import CrashReport
from clearinghouse.validation.patching import (
    MAX_DIFF_BYTES,
    PatchValidationVerdict,
    check_diff_paths,
    decide_patch,
)

CRASH = CrashReport(
    sanitizer="AddressSanitizer",
    crash_type="Heap-buffer-overflow WRITE 1",
    crash_state=("rle_decode", "main"),
    security=True,
    severity="high",
    log="",
)
V = PatchValidationVerdict


@pytest.mark.parametrize(
    ("applied", "build_ok", "runs", "tests_passed", "expected"),
    [
        (False, False, [], False, V.DOES_NOT_APPLY),
        (True, False, [], True, V.BUILD_FAILED),
        (True, True, [[None, None, CRASH]], True, V.DOES_NOT_FIX),  # one crash in three
        (True, True, [[None], [CRASH]], False, V.DOES_NOT_FIX),  # still crashing wins
        (True, True, [[None, None], [None]], False, V.BREAKS_TESTS),
        (True, True, [[None, None, None]], True, V.FIXES),
    ],
)
def test_decide_patch(
    applied: bool,
    build_ok: bool,
    runs: list[list[CrashReport | None]],
    tests_passed: bool,
    expected: PatchValidationVerdict,
) -> None:
    verdict = decide_patch(
        applied=applied, build_ok=build_ok, proof_runs=runs, tests_passed=tests_passed
    )
    assert verdict is expected


def test_check_diff_paths_accepts_p1_paths() -> None:
    diff = b"--- a/src/rle.c\t2026-01-01\n+++ b/src/rle.c\n@@ -1 +1 @@\n-a\n+b\n"
    assert check_diff_paths(diff) == ["src/rle.c", "src/rle.c"]
    added = b"--- /dev/null\n+++ b/new.c\n@@ -0,0 +1 @@\n+x\n"
    assert check_diff_paths(added) == ["new.c"]


@pytest.mark.parametrize(
    "header",
    [
        b"--- a/../outside.c\n+++ b/../outside.c\n",
        b"--- /etc/passwd\n+++ /etc/passwd\n",
        b"--- a/src//x.c\n+++ b/src/./x.c\n",
        b"--- a\\x.c\n+++ b\\x.c\n",
        b"--- a\n+++ b\n",  # nothing left after -p1
        b"diff --git a/x b/y\nrename from x\nrename to y\n",
        b"diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n",
        b"no diff here\n",
    ],
)
def test_check_diff_paths_refuses_escapes(header: bytes) -> None:
    with pytest.raises(InputError):
        check_diff_paths(header + b"@@ -1 +1 @@\n-a\n+b\n")


def test_check_diff_paths_bounds_size() -> None:
    with pytest.raises(TooLargeError):
        check_diff_paths(b"x" * (MAX_DIFF_BYTES + 1))
