"""Semantic Versioning 2.0 precedence, as osv.dev applies it to Go, npm, crates.io and SEMVER.

osv.dev (and osv-scanner, through osv-scalibr's ``semantic`` package) never rejects a version
in these ecosystems: a leading ``v`` is dropped, the leading run of digits and dots gives the
numeric components (missing ones count as 0, so ``1.2`` = ``1.2.0``), and everything from the
first other character on is the pre-release and build string. Components past the third are
appended to that string as ``.N``, which makes them a pre-release: osv.dev puts ``1.2.3.4``
*below* ``1.2.3`` (it is pre-release ``.4``), and so does this key. Pre-release identifiers
follow SemVer: numeric ones compare as numbers and below alphanumeric ones, which compare in
ASCII order; a longer list wins a tie; no pre-release is above any; build metadata (after
``+``) is ignored. This module follows that leniency so that matching gives osv.dev's answers
for the ``1.2``, ``v1.2.3`` and ``1.2.3.4`` spellings advisories really contain.

NuGet, Pub and Hackage reuse the same parser with their own component limits.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from clearinghouse.inventory.versions.base import CACHE_SIZE, VersionKey

_NUMERIC_IDENTIFIER = re.compile(r"-?[0-9]+")  # Go's big.Int accepts a sign
_NO_PRERELEASE: Final[tuple[int]] = (1,)


def split_semver_like(version: str, max_components: int) -> tuple[list[int], str]:
    """``(components, rest)``: the numeric components and the pre-release/build string.

    Components beyond ``max_components`` (-1: no limit) are appended to the rest as ``.N``.
    """
    text = version[1:] if version.startswith("v") else version
    end = len(text) - len(text.lstrip("0123456789."))
    components = [int(part) for part in text[:end].split(".") if part]
    rest = text[end:]
    if 0 <= max_components < len(components):
        rest += "".join(f".{extra}" for extra in components[max_components:])
        del components[max_components:]
    return components, rest


def trimmed(components: list[int]) -> tuple[int, ...]:
    """The components without trailing zeros: padding with zeros then compares as a tuple."""
    end = len(components)
    while end and not components[end - 1]:
        end -= 1
    return tuple(components[:end])


def prerelease_key(rest: str) -> tuple[object, ...]:
    """SemVer precedence of the pre-release part of ``rest`` (build metadata ignored)."""
    prerelease = rest.split("+", 1)[0]
    if prerelease.startswith("-"):
        prerelease = prerelease[1:]
    if not prerelease:
        return _NO_PRERELEASE
    identifiers: list[tuple[int, int, str]] = []
    for identifier in prerelease.split("."):
        if _NUMERIC_IDENTIFIER.fullmatch(identifier):
            identifiers.append((0, int(identifier), ""))
        else:
            identifiers.append((1, 0, identifier))
    return (0, tuple(identifiers))


@functools.lru_cache(maxsize=CACHE_SIZE)
def semver_key(version: str) -> VersionKey:
    """Key for Go, npm, crates.io and SEMVER versions; never rejects a version."""
    components, rest = split_semver_like(version, 3)
    return (trimmed(components), prerelease_key(rest))
