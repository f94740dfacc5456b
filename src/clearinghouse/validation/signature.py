"""Crash signatures: when two reproductions are the same bug, whatever their findings said.

Two findings whose proofs crash the same way are one vulnerability even when their titles,
tools and reported locations disagree. "The same way" follows ClusterFuzz's grouping:

* the **same crash type and crash state** (both as :mod:`validation.crash` normalises them), or
* the same kind of crash (the type without its access size: ``Heap-buffer-overflow READ 4``
  and ``… READ 8`` are one kind, ``… WRITE 4`` another) and a **similar state**: at least
  :data:`MIN_FRAMES_IN_ORDER` frames in common in the same order (the bug reached through a
  different caller, or one extra frame inlined), or every frame at least
  :data:`SIMILARITY_THRESHOLD` similar to its counterpart (the same functions under slightly
  different names, such as ``parse_header``/``parse_headers`` across versions);
* a security crash and a non-security crash are **never** the same, whatever their states:
  merging them would either hide a security bug inside a harmless one or raise a false alarm.

A crash with an empty state (a run killed by the sandbox's clock or memory limit, a report
with no usable stack) is never the same as anything here: nothing in it tells bugs apart.

This module only compares values and hashes them. It does not store signatures, look them
up, or merge vulnerabilities; ``dedup`` and the validation flow do that.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from typing import Final

from clearinghouse.validation.crash import CrashReport

MIN_FRAMES_IN_ORDER: Final = 2
"""Frames two states must share, in order, to be similar. Two of three: one frame in common is
typically just ``main`` or the fuzzing entry point, which every crash of a target shares."""

SIMILARITY_THRESHOLD: Final = 0.8
"""Per-frame similarity (0..1, matching characters) every frame pair must reach for two states
to be similar; ClusterFuzz's comparer uses 0.8 too. A renamed or pluralised function scores
above it (``parse_header``/``parse_headers`` 0.96); sibling functions of one program score
below (``read_sample``/``store_sample`` 0.78, ``copy_name``/``copy_header`` 0.70)."""

_HASH_CHARS: Final = 32  # 128 bits: no collision among any realistic number of crashes
_MAX_COMPARED_CHARS: Final = 256  # per frame: bounds the quadratic string comparison
_ACCESS_SIZE = re.compile(r" (?:\d+|\{\*\})$")


def signature_key(report: CrashReport) -> str:
    """``crash:`` + 32 hex digits of sha256 over the JSON array ``[type, *state]``.

    Stable across runs, machines and sanitizers (the sanitizer's name is left out: ASan and
    UBSan reporting the same NULL load are one crash). The JSON array keeps each part's
    boundaries, so ``("a b", "c")`` and ``("a", "b c")`` cannot collide as a joined string
    would. For indexing exact matches only; :func:`same_crash` also finds similar ones.
    """
    parts = [report.crash_type, *report.crash_state]
    encoded = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
    return f"crash:{hashlib.sha256(encoded).hexdigest()[:_HASH_CHARS]}"


def same_crash(a: CrashReport, b: CrashReport) -> bool:
    """Whether ``a`` and ``b`` are reproductions of the same bug (see the module docstring)."""
    if a.security != b.security or not a.crash_state or not b.crash_state:
        return False
    if crash_kind(a.crash_type) != crash_kind(b.crash_type):
        return False
    if a.crash_type == b.crash_type and a.crash_state == b.crash_state:
        return True
    return (
        frames_in_order(a.crash_state, b.crash_state) >= MIN_FRAMES_IN_ORDER
        or state_similarity(a, b) >= SIMILARITY_THRESHOLD
    )


def crash_kind(crash_type: str) -> str:
    """The crash type without its access size (``Heap-buffer-overflow READ 4`` -> ``… READ``).

    The size follows the input (which field was read, how long the copy was), the direction
    and the kind follow the bug.
    """
    return _ACCESS_SIZE.sub("", crash_type)


def frames_in_order(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """How many frames ``a`` and ``b`` share in the same order (longest common subsequence)."""
    previous = [0] * (len(b) + 1)
    for frame_a in a:
        current = [0]
        for j, frame_b in enumerate(b):
            current.append(
                previous[j] + 1 if frame_a == frame_b else max(previous[j + 1], current[j])
            )
        previous = current
    return previous[-1]


def state_similarity(a: CrashReport, b: CrashReport) -> float:
    """How alike the states' frames are, position by position, in ``[0, 1]``: the lowest
    frame score.

    Frame *i* of one state is compared with frame *i* of the other (the ratio of matching
    characters, 1 for equal names). The weakest pair decides because a mean lets the frames
    every crash of a program shares (``main``, the harness) outvote a top frame that differs:
    ``read_sample``/``store_sample`` under the same ``main`` would average above the
    threshold. A frame missing from the shorter state scores 0, and two empty states score 0:
    there is nothing to compare, and "no stack" must not look like "the same stack".
    """
    length = max(len(a.crash_state), len(b.crash_state))
    if length == 0 or len(a.crash_state) != len(b.crash_state):
        return 0.0
    lowest = 1.0
    for frame_a, frame_b in zip(a.crash_state, b.crash_state, strict=True):
        if frame_a != frame_b:
            # SequenceMatcher's ratio depends on argument order; a fixed order keeps the
            # comparison symmetric.
            first, second = sorted((frame_a[:_MAX_COMPARED_CHARS], frame_b[:_MAX_COMPARED_CHARS]))
            matcher = difflib.SequenceMatcher(None, first, second, autojunk=False)
            lowest = min(lowest, matcher.ratio())
    return lowest
