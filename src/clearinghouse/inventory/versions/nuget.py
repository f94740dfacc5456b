"""NuGet versions: SemVer 2 with a fourth component and case-insensitive labels.

NuGet's ``1.0`` is ``1.0.0.0`` and ``1.0.0-BETA`` is ``1.0.0-beta``; build metadata is ignored.
Like osv.dev, nothing is rejected: the parse is the SemVer one (see :mod:`.semver`) with four
numeric components instead of three, and the pre-release compared in lower case.
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
def nuget_key(version: str) -> VersionKey:
    """Key for a NuGet version; never rejects a version."""
    components, rest = split_semver_like(version, 4)
    return (trimmed(components), prerelease_key(rest.lower()))
