"""Debian versions: dpkg's ``[epoch:]upstream[-revision]`` order, as osv.dev implements it.

The epoch (before the first ``:``) compares as a number; the revision is what follows the
last ``-`` (``0`` when there is none). Upstream and revision compare as dpkg does: alternating
runs of non-digits, compared character by character with ``~`` before the end of the run and
the end before letters and letters before everything else, and runs of digits, compared as
numbers. Like dpkg (and osv.dev), nothing else is checked: only an epoch that is not a number
is rejected.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from clearinghouse.inventory.versions._padding import tagged
from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey

# Go's unicode.IsSpace, which osv.dev trims with (Python's str.strip also trims \x1c-\x1f).
_SPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_EPOCH = re.compile(r"[+-]?[0-9]+")
_RUNS = re.compile(r"([^0-9]*)([0-9]*)")
_TILDE: Final = 1
_END: Final = 2  # a run that has ended: after "~", before any character
_LETTER_LAST: Final = 122  # added to every non-letter so that letters come first


def _weight(character: str) -> str:
    """dpkg's weight of one character, as a character (so a run's weights compare as text)."""
    if character == "~":
        return chr(_TILDE)
    code = ord(character)
    if code > 127:
        code = character.encode()[0]  # osv.dev weighs a character by its first UTF-8 byte
    if not (65 <= code <= 90 or 97 <= code <= 122):
        code += _LETTER_LAST
    return chr(code)


_ASCII_WEIGHTS: Final = {code: _weight(chr(code)) for code in range(128)}
_END_OF_RUN: Final = chr(_END)
_FILLER: Final = (_END_OF_RUN, 0)  # what a shorter string is compared with once it has run out


def _weights(run: str) -> str:
    if run.isascii():
        return run.translate(_ASCII_WEIGHTS) + _END_OF_RUN
    return "".join(map(_weight, run)) + _END_OF_RUN


def _part_key(text: str) -> tuple[object, ...]:
    pieces: list[tuple[object, ...]] = []
    sides: list[int] = []
    for letters, digits in _RUNS.findall(text):
        if not (letters or digits):
            continue  # the empty match at the end
        piece = (_weights(letters), int(digits) if digits else 0)
        pieces.append(piece)
        sides.append((piece > _FILLER) - (piece < _FILLER))
    return tagged(pieces, sides)


@functools.lru_cache(maxsize=CACHE_SIZE)
def debian_key(version: str) -> VersionKey:
    """Key for a Debian version; ``ValueError`` when the epoch is not a number."""
    text = version.strip(_SPACE)
    epoch = 0
    if ":" in text:
        epoch_text, text = text.split(":", 1)
        if not _EPOCH.fullmatch(epoch_text):
            raise ValueError(f"epoch {epoch_text!r} is not a number")
        epoch = int(epoch_text)
    upstream, revision = text.rsplit("-", 1) if "-" in text else (text, "0")
    return (epoch, *_part_key(upstream), *_part_key(revision))
