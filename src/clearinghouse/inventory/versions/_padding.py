"""Keys for "compare piece by piece, padding the shorter version" orderings.

Most version orderings compare two versions piece by piece and, when one runs out, compare the
rest of the longer one against an implicit filler (``0`` in ``1.0 = 1.0.0``, an empty suffix,
Debian's empty string). A plain tuple cannot do that: Python orders a tuple's proper prefix
first, whatever follows. So each piece is tagged with the *side* of the filler the version
falls on from that piece on: the sign of the first piece, at or after it, that differs from the
filler. A version that has run out contributes :data:`END`, which sorts between the two sides.

For a fixed filler this reproduces the pairwise comparison exactly: the tags only differ where
the pieces differ in the same direction, or where one version has already reached a piece that
decides it against the filler. Trailing pieces equal to the filler are dropped, so ``1.0`` and
``1.0.0`` get one key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

END: Final[tuple[int]] = (0,)


def tagged(pieces: Sequence[tuple[object, ...]], sides: Sequence[int]) -> tuple[object, ...]:
    """``((side, *piece), ..., END)``; ``sides[i]`` is -1/0/+1, ``pieces[i]`` against the filler.

    Every piece of one ordering must be a tuple of the same shape (flattened into its tag's
    tuple, so comparisons do not descend one more level).
    """
    count = len(pieces)
    while count and not sides[count - 1]:
        count -= 1
    out: list[object] = [END] * (count + 1)
    side = 0
    for index in range(count - 1, -1, -1):
        if sides[index]:
            side = sides[index]
        out[index] = (side, *pieces[index])
    return tuple(out)
