"""Which advisories affect a package version, by OSV's rules, from an index built once (pure).

OSV's evaluation (the spec's ``IsAffected``): a version is affected by a package entry when it
is one of its ``versions``, or when some ECOSYSTEM/SEMVER range includes it. A range includes
``v`` when ``v`` is below one of its ``limit`` events (if it has any) and, walking its events
sorted by version, the last one that applies to ``v`` is an ``introduced``: ``introduced`` and
``fixed`` apply when their version is at most ``v``, ``last_affected`` when it is below ``v``,
and ``introduced: "0"`` is below everything. Withdrawn records never match.

osv.dev evaluates that by re-parsing every event version on every query. Here each range is
compiled once into its sorted version keys (the events strictly below ``v`` all apply, and
among events equal to ``v`` only ``introduced`` and ``fixed`` do, which is exactly the walk's
answer), then turned into the disjoint intervals of versions it includes. A package keeps all
its intervals sorted by upper bound, so a query is one binary search plus a scan of the
intervals that end at or above the version: for a current version, the few still unfixed.
Each package entry's ``Match`` is made once, at build time.

Versions are compared with each ecosystem's own ordering (``inventory.versions``); a SEMVER
range uses Semantic Versioning whatever the package's ecosystem. Package names are normalized
per ecosystem on both sides. An ecosystem the ordering does not support is counted in the
index's ``unknown_ecosystems``, never silently matched or dropped; an event version that does
not parse in its ecosystem disables only its range, counted in ``unparsed_ranges``.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
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


Interval = tuple[Key, bool, Key | None, bool]  # (lo, lo inclusive, hi or None = no end, hi incl.)


def intervals_of(compiled: CompiledRange) -> list[Interval]:
    """The versions ``compiled.includes`` accepts (limits aside), as disjoint intervals.

    Between two consecutive event versions the answer is the state after every event at the
    lower one; at an event version it is the last ``introduced``/``fixed`` there, else the
    state before it. Walking the distinct versions once turns that into intervals.
    """
    out: list[Interval] = []
    keys, kinds = compiled.keys, compiled.kinds
    state: EventKind | None = None
    start: tuple[Key, bool] | None = None  # where the open interval began
    i = 0
    while i < len(keys):
        key = keys[i]
        at_point = state
        j = i
        while j < len(keys) and keys[j] == key:
            if kinds[j] is not EventKind.LAST_AFFECTED:
                at_point = kinds[j]
            state = kinds[j]
            j += 1
        point_in = at_point is EventKind.INTRODUCED
        after_in = state is EventKind.INTRODUCED
        if start is not None and not point_in:
            out.append((start[0], start[1], key, False))
            start = None
        if start is None and point_in:
            start = (key, True)
        if start is not None and not after_in:
            out.append((start[0], start[1], key, True))
            start = None
        if start is None and after_in:
            start = (key, False)
        i = j
    if start is not None:
        out.append((start[0], start[1], None, False))
    return out


@dataclass(frozen=True, slots=True)
class Match:
    vulnerability: str
    aliases: tuple[str, ...]
    fixed_versions: tuple[str, ...]
    summary: str
    severity: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Entry:
    advisory: int  # index into AdvisoryIndex.advisories
    match: Match  # the answer for this package entry, made once


_INFINITY: Final = (1,)
_Row = tuple[Key, Key, bool, Key | None, bool, int]


class _Table:
    """One ordering's intervals, sorted by upper bound, as parallel lists for ``bisect``.

    Nearly every interval is ``[introduced, fixed)``: for those ("plain"), every row after
    ``bisect_right(uppers, v)`` ends above ``v``, and only ``lo <= v`` is left to test. The few
    others (an inclusive ``last_affected`` end, an exclusive start after one) keep the full test.
    """

    __slots__ = ("odd", "odd_uppers", "plain_entries", "plain_los", "plain_uppers")

    def __init__(self, rows: list[_Row]) -> None:
        plain = sorted((r for r in rows if r[2] and not r[4]), key=lambda row: row[0])
        odd = sorted((r for r in rows if not (r[2] and not r[4])), key=lambda row: row[0])
        self.plain_uppers = [row[0] for row in plain]
        self.plain_los = [row[1] for row in plain]
        self.plain_entries = [row[5] for row in plain]
        self.odd_uppers = [row[0] for row in odd]
        self.odd = odd

    def candidates(self, key: Key) -> list[int]:
        start = bisect.bisect_right(self.plain_uppers, (0, key))
        found = [
            entry
            for lo, entry in zip(self.plain_los[start:], self.plain_entries[start:], strict=True)
            if lo <= key
        ]
        if self.odd:
            start = bisect.bisect_left(self.odd_uppers, (0, key))
            found.extend(
                entry
                for _upper, lo, lo_in, hi, hi_in, entry in self.odd[start:]
                if (lo < key or (lo_in and lo == key))
                and (hi is None or key < hi or (hi_in and key == hi))
            )
        return found


class _Package:
    """One package's advisories: exact versions by key and string, and the intervals of its
    ranges per version ordering, sorted by upper bound so a query scans only the intervals that
    end above the version (few, unless the version is old and affected by many)."""

    __slots__ = ("_tables", "exact_keys", "exact_strings", "limited", "orderings")

    def __init__(self) -> None:
        self.exact_keys: dict[Key, list[int]] = defaultdict(list)
        self.exact_strings: dict[str, list[int]] = defaultdict(list)
        self.limited: list[tuple[int, CompiledRange]] = []  # ranges with ``limit`` events
        # ordering -> [(upper bound sort key, lo, lo inclusive, hi, hi inclusive, entry)]
        self.orderings: dict[str, list[_Row]] = defaultdict(list)
        self._tables: dict[str, _Table] = {}

    def add_range(self, entry: int, compiled: CompiledRange) -> None:
        if compiled.limits:
            self.limited.append((entry, compiled))
            return
        bucket = self.orderings[compiled.ordering]
        for lo, lo_in, hi, hi_in in intervals_of(compiled):
            bucket.append(((0, hi) if hi is not None else _INFINITY, lo, lo_in, hi, hi_in, entry))
        self._tables.pop(compiled.ordering, None)

    def candidates(self, ordering: str, key: Key) -> list[int]:
        table = self._tables.get(ordering)
        if table is None:
            table = self._tables[ordering] = _Table(self.orderings.get(ordering, []))
        return table.candidates(key)


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
        self._entries: list[_Entry] = []
        self._packages: dict[tuple[str, str], _Package] = {}

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
        entry = len(self._entries)
        advisory = self.advisories[position]
        self._entries.append(
            _Entry(
                advisory=position,
                match=Match(
                    vulnerability=advisory.id,
                    aliases=advisory.aliases,
                    fixed_versions=package.fixed_versions,
                    summary=advisory.summary,
                    severity=advisory.severity,
                ),
            )
        )
        key = (ecosystem, normalize_name(ecosystem, package.name))
        target = self._packages.get(key)
        if target is None:
            target = self._packages[key] = _Package()
        for affected_range in package.ranges:
            self.stats.ranges += 1
            try:
                compiled = compile_range(ecosystem, affected_range)
            except InputError:
                self.stats.unparsed_ranges += 1
                continue
            target.add_range(entry, compiled)
        for version in package.versions:
            target.exact_strings[version].append(entry)
            with contextlib.suppress(InputError):  # still matched by its exact string
                target.exact_keys[_wrapped(ecosystem, version)].append(entry)
        self.stats.packages += 1

    def packages(self) -> int:
        return len(self._packages)

    def match(self, ecosystem: str, name: str, version: str) -> list[Match]:
        """Advisories affecting ``name`` at ``version``; raises for an unknown ecosystem.

        A version that does not parse in its ecosystem still matches a ``versions`` entry
        spelled the same way, and matches no range.
        """
        canonical, normalized = _package_key(ecosystem, name)
        package = self._packages.get((canonical, normalized))
        if package is None:
            return []
        keys: dict[str, Key | None] = {}
        hits: list[int] = []
        if package.exact_strings:
            hits.extend(package.exact_strings.get(version, ()))
        for ordering in package.orderings:
            key = keys[ordering] = _key_or_none(ordering, version)
            if key is not None:
                hits.extend(package.candidates(ordering, key))
        if package.exact_keys or package.limited:
            if canonical not in keys:
                keys[canonical] = _key_or_none(canonical, version)
            own = keys[canonical]
            if own is not None:
                hits.extend(package.exact_keys.get(own, ()))
            for entry, compiled in package.limited:
                if compiled.ordering not in keys:
                    keys[compiled.ordering] = _key_or_none(compiled.ordering, version)
                key = keys[compiled.ordering]
                if key is not None and compiled.includes(key):
                    hits.append(entry)
        entries = self._entries
        if len(hits) <= 1:
            return [entries[hits[0]].match] if hits else []
        # One match per advisory (its first entry for this package), in advisory order.
        found: dict[int, Match] = {}
        for entry in sorted(set(hits)):
            chosen = entries[entry]
            if chosen.advisory not in found:
                found[chosen.advisory] = chosen.match
        return [found[position] for position in sorted(found)]


@functools.lru_cache(maxsize=65_536)
def _package_key(ecosystem: str, name: str) -> tuple[str, str]:
    """(canonical ecosystem, normalized name): asked for every component, computed once."""
    canonical = canonical_ecosystem(ecosystem)
    return canonical, normalize_name(canonical, name)


def _key_or_none(ordering: str, version: str) -> Key | None:
    try:
        return _wrapped(ordering, version)
    except InputError:
        return None
