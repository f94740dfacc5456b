"""CRAN (R ``package_version``) versions: integers separated by ``.`` or ``-``.

``1.0-2`` is ``1.0.2``; components compare as numbers with missing ones as 0, and on a tie the
version with more components is the greater (``0.1.0 < 0.1.0.0``), as R orders them.
"""

from __future__ import annotations

import functools
import re

from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey
from clearinghouse.inventory.versions.semver import trimmed

_COMPONENT = re.compile(r"\+?[0-9]+")  # what osv.dev's integer parse accepts


@functools.lru_cache(maxsize=CACHE_SIZE)
def cran_key(version: str) -> VersionKey:
    """Key for a CRAN version; ``ValueError`` for a component that is not an integer."""
    parts = version.replace("-", ".").split(".")
    if not all(_COMPONENT.fullmatch(part) for part in parts):
        raise ValueError("components must be integers separated by '.' or '-'")
    components = [int(part) for part in parts]
    return (trimmed(components), len(components))
