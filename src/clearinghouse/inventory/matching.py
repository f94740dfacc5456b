"""Which advisories affect a package version, by OSV's rules, from an index built once (pure).

OSV's evaluation (the spec's ``IsAffected``): a version is affected by a package entry when it
is one of its ``versions``, or when some ECOSYSTEM/SEMVER range includes it. A range includes
``v`` when ``v`` is below one of its ``limit`` events (if it has any) and, walking its events
sorted by version, the last one that applies to ``v`` is an ``introduced``: ``introduced`` and
``fixed`` apply when their version is at most ``v``, ``last_affected`` when it is below ``v``,
and ``introduced: "0"`` is below everything. Withdrawn records never match.

osv.dev evaluates that by re-parsing every event version on every query. Here each range is
compiled once into its sorted version keys, and a query is a binary search per range: the
events strictly below ``v`` all apply, and among events equal to ``v`` only ``introduced`` and
``fixed`` do. That gives exactly the walk's answer in O(log events).

Versions are compared with each ecosystem's own ordering (``inventory.versions``); a SEMVER
range uses Semantic Versioning whatever the package's ecosystem. Package names are normalized
per ecosystem on both sides. An ecosystem the ordering does not support is counted in the
index's ``unknown_ecosystems``, never silently matched or dropped; an event version that does
not parse in its ecosystem disables only its range, counted in ``unparsed_ranges``.
"""

from __future__ import annotations

import bisect
import contextlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from clearinghouse.core.errors import InputError
from clearinghouse.inventory.advisories import Advisory, AffectedPackage, EventKind, Range
from clearinghouse.inventory.versions import (
    canonical_ecosystem,
    normalize_name,
    version_key,
)

SEMVER: Final = "SEMVER"
_ZERO: Final[tuple[int]] = (0,)  # sorts below every wrapped key ``(1, key)``

Key = tuple[Any, ...]


def _wrapped(ecosystem: str, version: str) -> Key:
    """``(0,)`` for OSV's ``"0"`` (below everything), else ``(1, version_key)``."""
    if version == "0":
        return _ZERO
    return (1, version_key(ecosystem, version))


@dataclass(frozen=True, slots=True)
class CompiledRange:
    """A range's events sorted by version: parallel lists for ``bisect``."""

    ordering: str  # the ecosystem whose version ordering applies (SEMVER for SEMVER ranges)
    keys: tuple[Key, ...]
    kinds: tuple[EventKind, ...]
    limits: tuple[Key | None, ...]  # None: ``limit: "*"``

    def includes(self, key: Key) -> bool:
        if self.limits and not any(limit is None or key < limit for limit in self.limits):
            return False
        end = bisect.bisect_left(self.keys, key)
        state = self.kinds[end - 1] if end else None
        i = end
        while i < len(self.keys) and self.keys[i] == key:
            if self.kinds[i] is not EventKind.LAST_AFFECTED:
                state = self.kinds[i]
            i += 1
        return state is EventKind.INTRODUCED


def compile_range(ecosystem: str, affected_range: Range) -> CompiledRange:
    """Sort a range's events by version (stably: equal versions keep document order)."""
    ordering = SEMVER if affected_range.type == SEMVER else ecosystem
    events = []
    limits: list[Key | None] = []
    for kind, version in affected_range.events:
        if kind is EventKind.LIMIT:
            limits.append(None if version == "*" else _wrapped(ordering, version))
        else:
            events.append((_wrapped(ordering, version), kind))
    events.sort(key=lambda event: event[0])
    return CompiledRange(
        ordering=ordering,
        keys=tuple(k for k, _ in events),
        kinds=tuple(kind for _, kind in events),
        limits=tuple(limits),
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    advisory: int  # index into AdvisoryIndex.advisories
    ecosystem: str
    exact_keys: frozenset[Key]
    exact_strings: frozenset[str]
    ranges: tuple[CompiledRange, ...]
    fixed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Match:
    vulnerability: str
    aliases: tuple[str, ...]
    fixed_versions: tuple[str, ...]
    summary: str
    severity: tuple[str, ...]


@dataclass
class IndexStats:
    advisories: int = 0
    withdrawn: int = 0
    packages: int = 0
    ranges: int = 0
    git_ranges: int = 0
    unparsed_ranges: int = 0
    unknown_ecosystems: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, object]:
        return {
            "advisories": self.advisories,
            "withdrawn": self.withdrawn,
            "packages": self.packages,
            "ranges": self.ranges,
            "git_ranges": self.git_ranges,
            "unparsed_ranges": self.unparsed_ranges,
            "unknown_ecosystems": dict(sorted(self.unknown_ecosystems.items())),
        }


class AdvisoryIndex:
    """Advisories by (canonical ecosystem, normalized package name), ranges precompiled."""

    def __init__(self) -> None:
        self.advisories: list[Advisory] = []
        self.stats = IndexStats()
        self._by_package: dict[tuple[str, str], list[_Entry]] = defaultdict(list)

    @classmethod
    def build(cls, advisories: Iterable[Advisory]) -> AdvisoryIndex:
        index = cls()
        for advisory in advisories:
            index.add(advisory)
        return index

    def add(self, advisory: Advisory) -> None:
        self.stats.advisories += 1
        if advisory.is_withdrawn:
            self.stats.withdrawn += 1
            return
        position = len(self.advisories)
        self.advisories.append(advisory)
        for package in advisory.affected:
            self._add_package(position, package)

    def _add_package(self, position: int, package: AffectedPackage) -> None:
        self.stats.git_ranges += package.git_ranges
        try:
            ecosystem = canonical_ecosystem(package.ecosystem)
        except InputError:
            self.stats.unknown_ecosystems[package.ecosystem.split(":", 1)[0]] += 1
            return
        compiled = []
        for affected_range in package.ranges:
            self.stats.ranges += 1
            try:
                compiled.append(compile_range(ecosystem, affected_range))
            except InputError:
                self.stats.unparsed_ranges += 1
        exact_keys = set()
        for version in package.versions:
            with contextlib.suppress(InputError):  # still matched by its exact string
                exact_keys.add(_wrapped(ecosystem, version))
        self.stats.packages += 1
        self._by_package[(ecosystem, normalize_name(ecosystem, package.name))].append(
            _Entry(
                advisory=position,
                ecosystem=ecosystem,
                exact_keys=frozenset(exact_keys),
                exact_strings=frozenset(package.versions),
                ranges=tuple(compiled),
                fixed=package.fixed_versions,
            )
        )

    def packages(self) -> int:
        return len(self._by_package)

    def match(self, ecosystem: str, name: str, version: str) -> list[Match]:
        """Advisories affecting ``name`` at ``version``; raises for an unknown ecosystem.

        A version that does not parse in its ecosystem still matches a ``versions`` entry
        spelled the same way, and matches no range.
        """
        canonical = canonical_ecosystem(ecosystem)
        entries = self._by_package.get((canonical, normalize_name(canonical, name)))
        if not entries:
            return []
        keys: dict[str, Key | None] = {}

        def key_for(ordering: str) -> Key | None:
            if ordering not in keys:
                try:
                    keys[ordering] = _wrapped(ordering, version)
                except InputError:
                    keys[ordering] = None
            return keys[ordering]

        found: dict[int, _Entry] = {}
        for entry in entries:
            if entry.advisory in found:
                continue
            own = key_for(entry.ecosystem)
            hit = version in entry.exact_strings or (own is not None and own in entry.exact_keys)
            if not hit:
                for compiled in entry.ranges:
                    key = key_for(compiled.ordering)
                    if key is not None and compiled.includes(key):
                        hit = True
                        break
            if hit:
                found[entry.advisory] = entry
        matches = []
        for position, entry in sorted(found.items()):
            advisory = self.advisories[position]
            matches.append(
                Match(
                    vulnerability=advisory.id,
                    aliases=advisory.aliases,
                    fixed_versions=entry.fixed,
                    summary=advisory.summary,
                    severity=advisory.severity,
                )
            )
        return matches
