"""Packagist (Composer) versions: PHP's ``version_compare``, as osv.dev implements it.

One leading ``v`` (then one ``V``) is dropped, ``-``, ``_`` and ``+`` become ``.``, and a ``.`` is
put wherever digits meet other characters, so ``1.0RC1`` = ``1.0.RC.1``. Parts compare
pairwise: numbers by value; words by their special meaning, ``dev < alpha = a < beta = b < RC =
rc < # < pl = p`` (any other word counts as ``dev``, and a number as ``#``). When one version
runs out, a number in the longer one makes it greater (``1.0 > 1``), and a word is compared
with ``#`` (``1.0-beta < 1.0 < 1.0-p1``). Nothing is rejected.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from clearinghouse.inventory.versions._padding import tagged
from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey

_SEPARATORS = re.compile(r"[-_+]")
_WORD_THEN_DIGIT = re.compile(r"([^0-9.])([0-9])")
_DIGIT_THEN_WORD = re.compile(r"([0-9])([^0-9.])")
_WORDS: Final = (("dev", 0), ("a", 1), ("b", 2), ("rc", 3), ("#", 4), ("p", 5))
_NUMBER_RANK: Final = 4  # a number counts as "#" against a word
_FILLER: Final = (_NUMBER_RANK, 0, 0)  # "#", what the shorter version is compared with


def _word_rank(word: str) -> int:
    if word.startswith("RC"):
        return 3
    for prefix, rank in _WORDS:
        if word.startswith(prefix):
            return rank
    return 0


@functools.lru_cache(maxsize=CACHE_SIZE)
def packagist_key(version: str) -> VersionKey:
    """Key for a Packagist version; never rejects a version."""
    text = version.removeprefix("v").removeprefix("V")
    text = _SEPARATORS.sub(".", text)
    text = _WORD_THEN_DIGIT.sub(r"\1.\2", text)
    text = _DIGIT_THEN_WORD.sub(r"\1.\2", text)
    pieces: list[tuple[object, ...]] = []
    sides: list[int] = []
    for part in text.split("."):
        if part.isascii() and part.isdigit():
            # osv.dev ranks a number beyond the other version's end with a 64-bit parse; a
            # bigger one would tie with "#" there. Such numbers are not versions: keep them above.
            pieces.append((_NUMBER_RANK, 1, int(part)))
            sides.append(1)
        else:
            piece = (_word_rank(part), 0, 0)
            pieces.append(piece)
            sides.append((piece > _FILLER) - (piece < _FILLER))
    return tagged(pieces, sides)
