"""Hackage (Haskell PVP) versions: any number of numeric components, nothing else.

Components compare as numbers with missing ones as 0, and on a tie the version with more
components is the greater (``1.0.0 > 1.0``), as Cabal's ``Version`` orders them.
"""

from __future__ import annotations

import functools

from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey
from clearinghouse.inventory.versions.semver import split_semver_like, trimmed


@functools.lru_cache(maxsize=CACHE_SIZE)
def hackage_key(version: str) -> VersionKey:
    """Key for a Hackage version; ``ValueError`` for anything but digits and dots."""
    components, rest = split_semver_like(version, -1)
    if rest:
        raise ValueError("only numeric components separated by dots are allowed")
    return (trimmed(components), len(components))
