"""Maven versions: the POM reference's version order, as osv.dev implements it.

A version splits into tokens at ``.``, at ``-`` and wherever digits meet non-digits (that split
counts as a ``-``); each token remembers its separator. Qualifiers are case-insensitive; ``cr``
is ``rc``; ``ga``, ``final`` and ``release`` are the empty qualifier; ``a1``/``b1``/``m1`` are
``alpha-1``/``beta-1``/``milestone-1``; numbers lose their leading zeros. Trailing "null" tokens
(``0`` and the empty qualifier) are trimmed at the end and before each ``-``, so
``1 = 1.0 = 1-0 = 1.ga``.

Tokens compare pairwise: with the same separator, numbers by value and above qualifiers, and
qualifiers in the order ``alpha < beta < milestone < rc < snapshot < "" < sp`` with unknown
ones after, alphabetically; with different separators ``.qualifier < -qualifier < -number <
.number``. When one version runs out, its missing tokens are the null matching the other's
separator (``.0``, or ``-`` with the empty qualifier).

That last rule makes the pairwise order cyclic for a few odd versions (``1-ga.5`` > ``1`` >
``1.0.alpha`` > ``1-ga.5``; Maven's own ``ComparableVersion`` has the same cycle), so no sort
key can agree with it everywhere. This key is a total order that agrees with it on every pair
outside such cycles: each token is tagged with the side of the null that its version falls on
from there (see :mod:`._padding`), and where the pairwise order is cyclic that side decides.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from clearinghouse.inventory.versions._padding import tagged
from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey

_SEPARATED = re.compile(r"([.-])")
_RUN = re.compile(r"[0-9]+|[^0-9]+")
_ALIASES: Final = {"cr": "rc", "ga": "", "final": "", "release": ""}
_SHORT: Final = {"a": "alpha", "b": "beta", "m": "milestone"}  # only when a number follows
_QUALIFIER_RANK: Final = {
    "alpha": 0,
    "beta": 1,
    "milestone": 2,
    "rc": 3,
    "snapshot": 4,
    "": 5,
    "sp": 6,
}
_UNKNOWN: Final = 7
_NULL_RANK: Final = _QUALIFIER_RANK[""]


def _tokens(version: str) -> list[tuple[str, str]]:
    """``(separator, value)`` pairs, normalised and trimmed; the first separator is ``""``."""
    pieces = _SEPARATED.split(version)
    tokens: list[tuple[str, str]] = []
    for index in range(0, len(pieces), 2):
        separator = pieces[index - 1] if index else ""
        runs = _RUN.findall(pieces[index]) or [""]
        last = len(runs) - 1
        for position, run in enumerate(runs):
            value = run.lower() or "0"
            value = _ALIASES.get(value, value)
            if position < last:
                value = _SHORT.get(value, value)
            if _is_number(value):
                value = str(int(value))
            tokens.append((separator if position == 0 else "-", value))
    end = len(tokens) - 1
    while end > 0:
        if tokens[end][1] in ("0", ""):
            del tokens[end]
            end -= 1
            continue
        while end >= 0 and tokens[end][0] != "-":
            end -= 1
        end -= 1
    return tokens


def _is_number(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _rank(value: str) -> tuple[int, str]:
    rank = _QUALIFIER_RANK.get(value, _UNKNOWN)
    return rank, value if rank == _UNKNOWN else ""


def _piece(separator: str, value: str) -> tuple[tuple[int, int, int, str], int]:
    """The token's place among tokens at one position, and its side of the padding null."""
    if _is_number(value):
        number = int(value)
        if separator == ".":
            return (3, number, 0, ""), 1 if number else 0
        return (2, number, 0, ""), 1
    rank, text = _rank(value)
    if separator == "-":
        side = 0 if rank == _NULL_RANK else -1 if rank < _NULL_RANK else 1
        return (1, 0, rank, text), side
    if rank == _UNKNOWN:
        return (0, 0, rank, text), 1 if value > "0" else -1  # the null ".0" compares as text
    return (0, 0, rank, text), 1 if value == "sp" else -1


@functools.lru_cache(maxsize=CACHE_SIZE)
def maven_key(version: str) -> VersionKey:
    """Key for a Maven version; never rejects a version."""
    tokens = _tokens(version)
    first = tokens[0][1]
    head = (1, int(first), 0, "") if _is_number(first) else (0, 0, *_rank(first))
    pieces: list[tuple[object, ...]] = []
    sides: list[int] = []
    for separator, value in tokens[1:]:
        piece, side = _piece(separator, value)
        pieces.append(piece)
        sides.append(side)
    return (*head, *tagged(pieces, sides))
