"""Pub (Dart) versions: SemVer precedence, then the build metadata as a tie-breaker.

pub_semver orders ``1.2.3+1`` below ``1.2.3+2`` where SemVer would call them equal; osv.dev
breaks that tie by comparing the text after the first ``+``, and so does this key.
"""

from __future__ import annotations

import functools

from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey
from clearinghouse.inventory.versions.semver import (
    prerelease_key,
    split_semver_like,
    trimmed,
)


@functools.lru_cache(maxsize=CACHE_SIZE)
def pub_key(version: str) -> VersionKey:
    """Key for a Pub version; never rejects a version."""
    components, rest = split_semver_like(version, 3)
    return (trimmed(components), prerelease_key(rest), rest.partition("+")[2])
