"""RubyGems versions: ``Gem::Version`` ordering, as osv.dev implements it.

Segments split at ``.`` and wherever digits meet non-digits (``1.0.a10`` = ``1.0.a.10``). The
numeric segments before the first non-numeric one lose their trailing zeros, and so do the
segments from there on; then segments compare pairwise, numbers by value and above strings,
strings by their text, a missing segment counting as ``0``. So a letter segment makes a
pre-release: ``1.2.4.beta < 1.2.4 < 1.2.4.1``. Nothing is rejected.
"""

from __future__ import annotations

import functools
import re

from clearinghouse.inventory.versions._padding import tagged
from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey

_BOUNDARY = re.compile(r"(?<=[0-9])(?=[^0-9.])|(?<=[^0-9.])(?=[0-9])")


def _without_trailing_zeros(segments: list[str]) -> list[str]:
    end = len(segments)
    while end and segments[end - 1] == "0":
        end -= 1
    return segments[:end]


@functools.lru_cache(maxsize=CACHE_SIZE)
def rubygems_key(version: str) -> VersionKey:
    """Key for a RubyGems version; never rejects a version."""
    segments = _BOUNDARY.sub(".", version).split(".")
    numeric = 0
    while numeric < len(segments) and _is_number(segments[numeric]):
        numeric += 1
    canonical = [
        *_without_trailing_zeros(segments[:numeric]),
        *_without_trailing_zeros(segments[numeric:]),
    ]
    pieces: list[tuple[object, ...]] = []
    sides: list[int] = []
    for segment in canonical:
        if _is_number(segment):
            number = int(segment)
            pieces.append((1, number, ""))
            sides.append(1 if number else 0)
        else:
            pieces.append((0, 0, segment))
            sides.append(-1)
    return tagged(pieces, sides)


def _is_number(segment: str) -> bool:
    return segment.isascii() and segment.isdigit()
