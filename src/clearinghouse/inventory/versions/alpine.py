"""Alpine (apk-tools) versions, as osv.dev orders them.

``number{.number}[letter]{_suffix[number]}[~hash][-rN]``: numbers compare as numbers, except
that after the first, two numbers compare as text when either starts with ``0`` (so
``1.02 < 1.1``); then the optional letter; then the suffixes, ``_alpha < _beta < _pre < _rc``
below a missing suffix and ``_cvs < _svn < _git < _hg < _p`` above it (osv.dev counts a missing
suffix as ``_cvs``, so ``1.2 = 1.2_cvs``); then the ``-rN`` release. A hash is ignored.

Like ``apk version -t`` (and osv.dev), malformed versions are accepted rather than rejected:
text left over after a valid ``-rN`` makes a version lower than the same version without it,
and anything else that does not parse makes it "invalid". osv.dev orders two invalid versions
as plain strings but an invalid and a valid one by their parsed parts, which is not a total
order; this key compares the parsed parts first and the strings of invalid versions last.

:func:`is_well_formed` is the stricter test osv.dev's Alpine converter applies to the versions
it imports (the APKBUILD format, with the ``_`` of a suffix optional).
"""

from __future__ import annotations

import functools
import re
from typing import Final

from clearinghouse.inventory.versions._padding import tagged
from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey

_NUMBERS = re.compile(r"(?:[0-9]+\.?)*")
_SUFFIX = re.compile(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)([0-9]*)")
_SUFFIX_RANK: Final = {
    "alpha": 0,
    "beta": 1,
    "pre": 2,
    "rc": 3,
    "cvs": 5,
    "svn": 6,
    "git": 7,
    "hg": 8,
    "p": 9,
}
_MISSING_SUFFIX: Final = (5, 0)  # osv.dev pads with _cvs0, not with "no suffix" (4)
_HASH = re.compile(r"~[0-9a-f]+")
_RELEASE = re.compile(r"-r([0-9]*)")
_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz")
_WELL_FORMED = re.compile(
    r"(?:[0-9]+\.)*[0-9]+[a-zA-Z]?(?:_?(?:alpha|beta|rc|pre|cvs|svn|git|hg|p)[0-9]*)?"
    r"(?:[-.]r[0-9]+)?"
)


def is_well_formed(version: str) -> bool:
    """Whether ``version`` follows the APKBUILD format (osv.dev's Alpine import check)."""
    return _WELL_FORMED.fullmatch(version) is not None


def _numbers_key(numbers: str) -> tuple[int, tuple[object, ...]]:
    first = 0
    pieces: list[tuple[object, ...]] = []
    sides: list[int] = []
    for index, part in enumerate(numbers.split(".")):
        if not part:
            break
        if index == 0:
            first = int(part)
        elif part[0] == "0":  # compared as text with the other version's number
            pieces.append((0, 0, part))
            sides.append(1 if part.strip("0") else 0)
        else:
            pieces.append((1, int(part), ""))
            sides.append(1)
    return first, tagged(pieces, sides)


@functools.lru_cache(maxsize=CACHE_SIZE)
def alpine_key(version: str) -> VersionKey:
    """Key for an Alpine version; never rejects a version."""
    leading = _NUMBERS.match(version)
    assert leading is not None  # the pattern matches the empty string
    numbers = leading.group()
    first, rest = _numbers_key(numbers)
    text = version[len(numbers) :]
    letter = ""
    if text[:1] in _LETTERS:
        letter, text = text[0], text[1:]
    pieces: list[tuple[object, ...]] = []
    sides: list[int] = []
    for found in list(_SUFFIX.finditer(text)):
        piece = (_SUFFIX_RANK[found[1]], int(found[2] or 0))
        pieces.append(piece)
        sides.append((piece > _MISSING_SUFFIX) - (piece < _MISSING_SUFFIX))
        text = text.removeprefix(found[0])
    hashed = _HASH.match(text)
    if hashed:
        text = text[hashed.end() :]
    release = 0
    invalid = False
    if text:
        found_release = _RELEASE.match(text)
        if found_release is None:
            invalid = True
        else:
            release = int(found_release[1] or 0)
            text = text[found_release.end() :]
    return (
        first,
        rest,
        letter,
        tagged(pieces, sides),
        release,
        0 if text else 1,
        version if invalid else "",
    )
