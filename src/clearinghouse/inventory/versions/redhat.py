"""Red Hat (RPM) versions: ``rpmvercmp`` on ``[epoch:]version[-release]``, as osv.dev does it.

The epoch is what precedes the first ``:`` if it is all digits (else there is none, i.e. 0);
the release is what follows the first ``-``. Each part compares as ``rpmvercmp``: characters
other than letters, digits, ``~`` and ``^`` only separate; runs of digits compare as numbers and
above runs of letters, which compare as text; ``~`` sorts before everything, even the end, and
``^`` after the end but before anything else; otherwise the longer part wins. An empty part is
below any other. Nothing is rejected.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey

_TOKEN = re.compile(r"~|\^|[0-9]+|[A-Za-z]+")
_TILDE: Final = (0,)
_END: Final = (1,)
_CARET: Final = (2,)
_EMPTY: Final = (0,)


def _part_key(part: str) -> tuple[object, ...]:
    if not part:
        return _EMPTY
    pieces: list[object] = [1]
    for run in _TOKEN.findall(part):
        if run == "~":
            pieces.append(_TILDE)
        elif run == "^":
            pieces.append(_CARET)
        elif run[0].isdigit():
            pieces.append((4, int(run), ""))
        else:
            pieces.append((3, 0, run))
    pieces.append(_END)
    return tuple(pieces)


@functools.lru_cache(maxsize=CACHE_SIZE)
def redhat_key(version: str) -> VersionKey:
    """Key for a Red Hat version; never rejects a version."""
    epoch, colon, rest = version.partition(":")
    if not colon or not (epoch.isascii() and (epoch.isdigit() or not epoch)):
        epoch, rest = "", version
    upstream, dash, release = rest.partition("-")
    return (_part_key(epoch or "0"), _part_key(upstream), _part_key(dash + release))
