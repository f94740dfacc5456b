"""Per-ecosystem version ordering and package-name normalization, as osv.dev applies them (pure).

An OSV matcher asks "is this version inside this range?" millions of times, so versions are
parsed once into :data:`VersionKey` tuples that compare natively: ``version_key`` is cached,
and comparing two keys never re-reads a version string. Each ecosystem family has its own
module; :mod:`.registry` maps OSV ecosystem names onto them.
"""

from clearinghouse.inventory.versions.base import (
    InvalidVersionError,
    UnknownEcosystemError,
    VersionKey,
)
from clearinghouse.inventory.versions.registry import (
    SUPPORTED,
    canonical_ecosystem,
    compare,
    normalize_name,
    version_key,
)

__all__ = [
    "SUPPORTED",
    "InvalidVersionError",
    "UnknownEcosystemError",
    "VersionKey",
    "canonical_ecosystem",
    "compare",
    "normalize_name",
    "version_key",
]
