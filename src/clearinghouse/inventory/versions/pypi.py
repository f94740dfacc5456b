"""PyPI versions: PEP 440, with osv.dev's ordering for the legacy versions PyPI still serves.

A PEP 440 version is parsed once with ``packaging`` and turned into a plain tuple: tuples
compare in C, about twice as fast as ``packaging.version.Version`` objects (whose comparisons
run Python code), and a matcher compares far more often than it parses.

Versions that are not PEP 440 (``0.9-doduo``, ``2013-01-21T20:33:09+0100``: PyPI has
thousands) are not rejected. osv.dev keeps setuptools' old "legacy" ordering for them, as
osv-scalibr implements it: they sort below every PEP 440 version and among themselves by a
normalised string (numbers zero-padded to 8 digits, ``pre``/``preview``/``rc`` -> ``c``,
``dev`` -> ``@``, ``-`` -> ``final-``, trailing zeros dropped, the pieces joined and compared as
one string). Only the characters osv.dev reads are read: letters, digits, ``.`` and ``-``.

What counts as PEP 440 is osv.dev's test, not ``packaging``'s: the version is lower-cased first
and only ASCII space, tab and line breaks may surround it (``packaging`` also accepts Unicode
spaces and ``\\v``, which osv.dev treats as legacy).
"""

from __future__ import annotations

import functools
import re
from typing import Final

from packaging.version import InvalidVersion, Version

from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey

_NOT_GO_SPACE = re.compile(r"[\x0b\x1c-\x1f]")  # whitespace to Python's \s, not to osv.dev's
_TURKISH_CAPITAL_I = str.maketrans({"\u0130": "i"})  # Go lower-cases it to a plain "i"
_PRE_RANK: Final = {"a": 0, "b": 1, "rc": 2}
_NO_PRE: Final = (3, 0)
_DEV_ONLY: Final = (-1, 0)  # 1.0.dev0 sorts before 1.0a0
_NO_DEV: Final = (1, 0)

_LEGACY_PIECE = re.compile(r"[0-9]+|[a-z]+|\.|-")
_LEGACY_SPELLING: Final = {"pre": "c", "preview": "c", "-": "final-", "rc": "c", "dev": "@"}
_ZERO_PIECE: Final = "00000000"


@functools.lru_cache(maxsize=CACHE_SIZE)
def pypi_key(version: str) -> VersionKey:
    """Key for a PyPI version: ``(1, ...)`` for PEP 440, ``(0, text)`` for legacy versions."""
    text = version if version.isascii() else version.translate(_TURKISH_CAPITAL_I)
    text = text.lower()
    if text.isascii() and (text.isprintable() or not _NOT_GO_SPACE.search(text)):
        try:
            parsed = Version(text)
        except InvalidVersion:
            pass
        else:
            return _pep440_key(parsed)
    return (0, _legacy_text(text))


def _pep440_key(version: Version) -> VersionKey:
    release = version.release
    end = len(release)
    while end > 1 and not release[end - 1]:
        end -= 1
    pre, post, dev = version.pre, version.post, version.dev
    if pre is not None:
        pre_key = (_PRE_RANK[pre[0]], pre[1])
    elif post is None and dev is not None:
        pre_key = _DEV_ONLY
    else:
        pre_key = _NO_PRE
    local = version.local
    local_key: tuple[tuple[int, int, str], ...] = ()
    if local is not None:
        local_key = tuple(
            (1, int(part), "") if part.isdigit() else (0, 0, part) for part in local.split(".")
        )
    return (
        1,
        version.epoch,
        release[:end],
        pre_key,
        -1 if post is None else post,
        _NO_DEV if dev is None else (0, dev),
        local_key,
    )


def _legacy_text(text: str) -> str:
    parts: list[str] = []
    for found in [*_LEGACY_PIECE.findall(text), "final"]:
        if found == ".":
            continue
        piece = _LEGACY_SPELLING.get(found, found)
        if piece[0].isdigit():
            piece = piece.zfill(8)
        else:
            piece = "*" + piece
            if piece < "*final":
                while parts and parts[-1] == "*final-":
                    parts.pop()
            while parts and parts[-1] == _ZERO_PIECE:
                parts.pop()
        parts.append(piece)
    return "".join(parts)
