"""Which OSV ecosystems are supported, and the entry points that dispatch to their orderings.

The orderings are osv.dev's: its matcher compares versions with osv-scalibr's ``semantic``
package, so this module reproduces that package's answers (checked against its test vectors),
including its leniency: most ecosystems accept any string, as osv.dev does. An empty or blank
string is the exception, refused everywhere: it is never a version, and accepting it (as 0,
say) would put a component without a version inside every ``introduced: 0`` range.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Final

from clearinghouse.inventory.versions.alpine import alpine_key
from clearinghouse.inventory.versions.base import (
    InvalidVersionError,
    UnknownEcosystemError,
    VersionKey,
)
from clearinghouse.inventory.versions.cran import cran_key
from clearinghouse.inventory.versions.debian import debian_key
from clearinghouse.inventory.versions.hackage import hackage_key
from clearinghouse.inventory.versions.maven import maven_key
from clearinghouse.inventory.versions.nuget import nuget_key
from clearinghouse.inventory.versions.packagist import packagist_key
from clearinghouse.inventory.versions.pub import pub_key
from clearinghouse.inventory.versions.pypi import pypi_key
from clearinghouse.inventory.versions.redhat import redhat_key
from clearinghouse.inventory.versions.rubygems import rubygems_key
from clearinghouse.inventory.versions.semver import semver_key

_PARSERS: Final[dict[str, Callable[[str], VersionKey]]] = {
    "Alpine": alpine_key,
    "CRAN": cran_key,
    "crates.io": semver_key,
    "Debian": debian_key,
    "Go": semver_key,
    "Hackage": hackage_key,
    "Maven": maven_key,
    "npm": semver_key,
    "NuGet": nuget_key,
    "Packagist": packagist_key,
    "Pub": pub_key,
    "PyPI": pypi_key,
    "Red Hat": redhat_key,
    "RubyGems": rubygems_key,
    "SEMVER": semver_key,
}

SUPPORTED: Final[frozenset[str]] = frozenset(_PARSERS)
"""Canonical OSV ecosystem names whose version ordering is implemented (plus ``SEMVER``, the
range type, which orders versions the same way whatever the package's ecosystem)."""

_BY_FOLDED_NAME: Final = {name.lower(): name for name in SUPPORTED}
_PEP503_SEPARATORS = re.compile(r"[-_.]+")


@functools.lru_cache(maxsize=1024)
def canonical_ecosystem(name: str) -> str:
    """``Debian:11`` -> ``Debian``, ``pypi`` -> ``PyPI``; ``UnknownEcosystemError`` otherwise.

    OSV appends a release to some ecosystems after a ``:`` (``Alpine:v3.16``, ``Debian:11``);
    the ordering is the same for every release, so the suffix is dropped. Names are matched
    without regard to case. Ecosystems not in :data:`SUPPORTED` (``Ubuntu``, ``Hex``, ...)
    are refused rather than compared with some other ecosystem's rules.
    """
    found = _BY_FOLDED_NAME.get(name.split(":", 1)[0].lower())
    if found is None:
        raise UnknownEcosystemError(name, SUPPORTED)
    return found


def version_key(ecosystem: str, version: str) -> VersionKey:
    """The sort key of ``version`` in ``ecosystem``: keys compare as the ecosystem's versions.

    Parsed once and cached per ecosystem family, so a matcher can key every version of an
    index and then only compare keys. Raises ``UnknownEcosystemError`` or, for a string the
    ecosystem cannot place, ``InvalidVersionError``.
    """
    parser = _PARSERS.get(ecosystem) or _PARSERS[canonical_ecosystem(ecosystem)]
    if not version or version.isspace():
        raise InvalidVersionError(ecosystem, version, "an empty string is not a version")
    try:
        return parser(version)
    except ValueError as error:
        raise InvalidVersionError(ecosystem, version, str(error)) from None


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is below, equal to or above ``b`` in ``ecosystem``."""
    key_a = version_key(ecosystem, a)
    key_b = version_key(ecosystem, b)
    return (key_a > key_b) - (key_a < key_b)


def normalize_name(ecosystem: str, name: str) -> str:
    """The package name as it should be compared when matching advisories.

    * PyPI: PEP 503 (lower case, each run of ``-``, ``_``, ``.`` as one ``-``), as osv.dev does.
    * NuGet and Packagist: lower case. Both registries treat names case-insensitively
      (``Newtonsoft.Json`` is ``newtonsoft.json``); osv.dev compares them exactly, so folding
      both sides only adds matches that the registry says are the same package.
    * Everything else as written, as osv.dev compares it: Go module paths, npm names, Maven
      ``group:artifact`` and RubyGems, CRAN, Hackage and Pub names are case-sensitive, and
      Debian, Alpine and Red Hat source package names are exact. crates.io treats ``-`` and
      ``_`` (and case) as the same name when publishing, but advisories use the crate's
      canonical spelling and osv.dev matches it exactly, so no folding is done here either.
    """
    canonical = canonical_ecosystem(ecosystem)
    if canonical == "PyPI":
        return _PEP503_SEPARATORS.sub("-", name).lower()
    if canonical in ("NuGet", "Packagist"):
        return name.lower()
    return name
