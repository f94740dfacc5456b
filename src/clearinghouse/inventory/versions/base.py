"""What every ecosystem module shares: the key type, the cache size and the two errors."""

from __future__ import annotations

from typing import Final, TypeAlias

from clearinghouse.core.errors import InputError

VersionKey: TypeAlias = tuple[object, ...]
"""A parsed version: hashable, and ordered like the ecosystem orders its versions.

Keys of one ecosystem compare with each other without ``TypeError`` (every tuple position holds
one type, or the positions before it differ); keys of different ecosystems are not comparable
in any meaningful way and must not be mixed.
"""

CACHE_SIZE: Final = 1 << 16
"""Keys cached per ecosystem family: every distinct version of a large advisory feed."""


class UnknownEcosystemError(InputError):
    """An OSV ecosystem whose version ordering this module does not implement."""

    title = "Unknown ecosystem"
    type_slug = "unknown-ecosystem"

    def __init__(self, ecosystem: str, supported: frozenset[str]) -> None:
        names = ", ".join(sorted(supported, key=str.lower))
        super().__init__(f"unsupported ecosystem {ecosystem!r} (supported: {names})")
        self.ecosystem = ecosystem


class InvalidVersionError(InputError):
    """A string the ecosystem's own ordering cannot place."""

    title = "Invalid version"
    type_slug = "invalid-version"

    def __init__(self, ecosystem: str, version: str, problem: str) -> None:
        super().__init__(f"{ecosystem} version {version!r}: {problem}")
        self.ecosystem = ecosystem
        self.version = version
        self.problem = problem
