"""In-memory deconfliction index: which campaigns covered an address at an instant.

A :class:`SourceIndex` answers two questions over a fixed set of :class:`Span` s (one address
range of one campaign, with the campaign's half-open time interval ``[start, end)``):

* :meth:`SourceIndex.lookup`: which campaigns have a range containing this address and an
  interval containing this instant ("was that scan authorized, and whose?");
* :meth:`SourceIndex.overlapping`: which campaigns touch any of these ranges during
  ``[start, end)`` (the conflict check; built over campaigns' *target* ranges it says who else
  is scanning the same networks at the same time).

One address space. IPv4 addresses are placed at their IPv4-mapped IPv6 position
(``::ffff:a.b.c.d``, RFC 4291 section 2.5.5.2), so a lookup of ``::ffff:192.0.2.1`` is the lookup of
``192.0.2.1``, a range written in mapped notation means the IPv4 range, and an IPv6 range that
spans part of ``::ffff:0:0/96`` covers the IPv4 addresses in that part. Comparisons are exact
integer comparisons; instants are compared as whole microseconds since the epoch.

How it stays fast without numpy (plain lists and ``bisect``):

* Width classes, for everything. A span of ``w`` addresses goes to class ``k`` with
  ``2**(k-1) < w <= 2**k``; each class is sorted by first address and knows its widest span
  (``reach + 1`` addresses), so a span touching ``[low, high]`` has its first address in
  ``[low - reach, high]``: two ``bisect`` calls bound the candidates. A candidate that misses
  a point ``x`` still contains the point about ``reach / 2`` below it, so the work per class is
  the hits plus the overlap depth at one nearby point. A /8 over everything costs one class,
  not a scan of all spans as sorting by first with a prefix maximum of last would.
  :meth:`~SourceIndex.overlapping` uses only these.
* Elementary segments, for :meth:`~SourceIndex.lookup`. Every first and ``last + 1`` is a
  boundary; between two neighbouring boundaries the set of covering spans is constant and is
  stored once, so a lookup is one ``bisect`` and a walk over exactly the spans containing the
  address. A span covering more than ``segment_cap`` segments (a big range with many ranges
  inside it) would be copied that many times, so it is left out of the segments and looked
  up through width classes built over those "wide" spans only. Memory therefore stays at most
  ``segment_cap`` entries per span, and nested big ranges only cost a few extra bisects.

The time interval is checked after the address. Many campaigns on the same address at
different times are all visited (there is no time index): the work is output-sensitive in
space, not in time.

Not here: loading spans from the database, deciding what a campaign may register, time zones
other than aware datetimes (naive ones are refused), persistence. The index is immutable after
:meth:`SourceIndex.build`, so one instance may be read from many threads; :class:`IndexHolder`
is the small thread-safe wrapper that rebuilds it when the caller's data version changes.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from clearinghouse.core.errors import InputError

__all__ = ["IndexHolder", "SourceIndex", "Span", "cidr_range"]

_V4_MAX = (1 << 32) - 1
_V6_MAX = (1 << 128) - 1
# ::ffff:0:0/96, where IPv4 lives in the one address space.
_V4_BASE = 0xFFFF << 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def _micros(value: datetime, what: str) -> int:
    if not isinstance(value, datetime):
        raise InputError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise InputError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return (value - _EPOCH) // _ONE_MICROSECOND


def _check_version(version: object) -> int:
    if not isinstance(version, int) or isinstance(version, bool) or version not in (4, 6):
        raise InputError(f"IP version must be 4 or 6, not {version!r}")
    return version


def _key(version: int, address: int, what: str) -> int:
    """The position of an integer address in the one address space."""
    if not isinstance(address, int) or isinstance(address, bool):
        raise InputError(f"{what} must be an integer address, not {type(address).__name__}")
    top = _V4_MAX if version == 4 else _V6_MAX
    if not 0 <= address <= top:
        raise InputError(f"{what} {address} is outside the IPv{version} address space")
    return _V4_BASE | address if version == 4 else address


def _parse_address(text: str) -> tuple[int, int]:
    """``(version, integer)`` of an address literal, ``ipaddress``'s grammar.

    ``inet_pton`` first: it is about ten times faster than ``ipaddress`` and, like it, refuses
    leading zeros, short forms such as ``127.1`` and prefixes. Whatever it refuses goes through
    ``ipaddress``, which also reads scoped literals (``fe80::1%eth0``) and words the error.
    """
    try:
        family = socket.AF_INET6 if ":" in text else socket.AF_INET
        return (6 if ":" in text else 4), int.from_bytes(socket.inet_pton(family, text), "big")
    except (OSError, ValueError):
        pass
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        shown = text if len(text) <= 64 else text[:61] + "..."
        raise InputError(f"not an IP address: {shown!r}") from None
    return address.version, int(address)


def cidr_range(cidr: str) -> tuple[int, int, int]:
    """``(version, first, last)`` of a CIDR such as ``"192.0.2.0/24"`` or a bare address.

    Host bits must be zero (``192.0.2.1/24`` is refused): a range with host bits set is usually
    a typo for a different network, and deconfliction must not guess.
    """
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except (ValueError, TypeError) as exc:
        shown = cidr if len(cidr) <= 64 else cidr[:61] + "..."
        raise InputError(f"not a CIDR range: {shown!r} ({exc})") from None
    return network.version, int(network.network_address), int(network.broadcast_address)


@dataclass(frozen=True, slots=True)
class Span:
    """One source (or target) range of one campaign and the campaign's ``[start, end)``.

    ``first`` and ``last`` are inclusive integer addresses of IP version ``version``; ``start``
    and ``end`` are aware datetimes. An empty interval (``start == end``) is allowed and never
    matches. Invalid values raise :class:`InputError` on construction.
    """

    campaign_id: int
    version: int
    first: int
    last: int
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.campaign_id, int) or isinstance(self.campaign_id, bool):
            raise InputError(f"campaign_id must be an integer, not {self.campaign_id!r}")
        _check_version(self.version)
        low = _key(self.version, self.first, "first")
        high = _key(self.version, self.last, "last")
        if low > high:
            raise InputError(f"span of campaign {self.campaign_id}: first is after last")
        if _micros(self.start, "start") > _micros(self.end, "end"):
            raise InputError(f"span of campaign {self.campaign_id}: end is before start")

    @classmethod
    def from_cidr(cls, campaign_id: int, cidr: str, start: datetime, end: datetime) -> Span:
        version, first, last = cidr_range(cidr)
        return cls(campaign_id, version, first, last, start, end)


@dataclass(frozen=True, slots=True)
class _WidthClass:
    """Spans whose width is at most ``reach + 1``, sorted by first address (parallel lists)."""

    reach: int
    firsts: list[int]
    lasts: list[int]
    starts: list[int]
    ends: list[int]
    campaigns: list[int]


@dataclass(frozen=True, slots=True)
class _Segments:
    """Segment ``j`` is ``[bounds[j], bounds[j + 1])``; its spans are entries ``offsets[j]`` to
    ``offsets[j + 1]`` of the parallel ``starts``/``ends``/``campaigns`` lists."""

    bounds: list[int]
    offsets: list[int]
    starts: list[int]
    ends: list[int]
    campaigns: list[int]


_Row = tuple[int, int, int, int, int]  # first key, last key, start us, end us, campaign id


def _width_classes(rows: Iterable[_Row]) -> tuple[_WidthClass, ...]:
    groups: dict[int, list[_Row]] = {}
    for row in rows:
        # last - first is width - 1; its bit length is the k with width <= 2**k.
        groups.setdefault((row[1] - row[0]).bit_length(), []).append(row)
    classes = []
    for _, members in sorted(groups.items()):
        members.sort()
        classes.append(
            _WidthClass(
                reach=max(row[1] - row[0] for row in members),
                firsts=[row[0] for row in members],
                lasts=[row[1] for row in members],
                starts=[row[2] for row in members],
                ends=[row[3] for row in members],
                campaigns=[row[4] for row in members],
            )
        )
    return tuple(classes)


def _segments(rows: Sequence[_Row], cap: int) -> tuple[_Segments, list[_Row]]:
    """The elementary segments of the rows covering at most ``cap`` segments, and the rest."""
    bounds = sorted({row[0] for row in rows} | {row[1] + 1 for row in rows})
    position = {bound: j for j, bound in enumerate(bounds)}
    narrow: list[tuple[int, int, _Row]] = []
    wide: list[_Row] = []
    counts = [0] * (len(bounds) + 1)
    for row in rows:
        low, high = position[row[0]], position[row[1] + 1]
        if high - low > cap:
            wide.append(row)
            continue
        narrow.append((low, high, row))
        for j in range(low, high):
            counts[j + 1] += 1
    offsets = counts
    for j in range(1, len(offsets)):
        offsets[j] += offsets[j - 1]
    size = offsets[-1]
    starts, ends, campaigns = [0] * size, [0] * size, [0] * size
    cursor = offsets[:-1]  # next free entry of each segment
    for low, high, row in narrow:
        for j in range(low, high):
            k = cursor[j]
            cursor[j] = k + 1
            starts[k], ends[k], campaigns[k] = row[2], row[3], row[4]
    return _Segments(bounds, offsets, starts, ends, campaigns), wide


class SourceIndex:
    """An immutable index of spans; see the module docstring for the method and its bounds."""

    __slots__ = ("_classes", "_segments", "_size", "_wide")

    def __init__(
        self,
        classes: tuple[_WidthClass, ...],
        segments: _Segments,
        wide: tuple[_WidthClass, ...],
        size: int,
    ) -> None:
        self._classes = classes
        self._segments = segments
        self._wide = wide
        self._size = size

    @classmethod
    def build(cls, spans: Iterable[Span], *, segment_cap: int = 32) -> SourceIndex:
        """Index ``spans``. ``segment_cap`` trades memory for lookup speed (module docstring);
        0 sends every span through the width classes."""
        if segment_cap < 0:
            raise InputError("segment_cap must be 0 or more")
        rows: list[_Row] = []
        size = 0
        for span in spans:
            if not isinstance(span, Span):
                raise InputError(f"expected a Span, got {type(span).__name__}")
            size += 1
            start = _micros(span.start, "start")
            end = _micros(span.end, "end")
            if start == end:
                continue  # an empty interval contains no instant and overlaps nothing
            first = _key(span.version, span.first, "first")
            last = _key(span.version, span.last, "last")
            rows.append((first, last, start, end, span.campaign_id))
        segments, wide = _segments(rows, segment_cap)
        return cls(_width_classes(rows), segments, _width_classes(wide), size)

    def __len__(self) -> int:
        """The number of spans given to :meth:`build`, empty intervals included."""
        return self._size

    def lookup(self, ip: str | int, at: datetime, *, version: int | None = None) -> list[int]:
        """Campaign ids (sorted, unique) with a span containing ``ip`` whose interval holds ``at``.

        ``ip`` is an address literal (its version then comes from the text; ``version``, if
        given, must agree) or an integer, which needs ``version``. An IPv4-mapped IPv6 address
        is looked up as the IPv4 address it carries.
        """
        # The common cases inline: this runs for every packet a defender asks about.
        if isinstance(ip, str):
            parsed, x = _parse_address(ip)
            if version is not None and version != parsed:
                raise InputError(f"{ip!r} is an IPv{parsed} address, not IPv{version}")
            if parsed == 4:
                x |= _V4_BASE
        elif version == 4 and type(ip) is int and 0 <= ip <= _V4_MAX:
            x = ip | _V4_BASE
        elif version == 6 and type(ip) is int and 0 <= ip <= _V6_MAX:
            x = ip
        elif version is None:
            raise InputError("an integer address needs version=4 or version=6")
        else:
            x = _key(_check_version(version), ip, "address")
        try:
            t = (at - _EPOCH) // _ONE_MICROSECOND
        except TypeError:  # naive, or not a datetime: say which
            t = _micros(at, "at")
        found: list[int] = []
        segments = self._segments
        j = bisect_right(segments.bounds, x)
        # j == 0: before every boundary; j == len(bounds): past the last one. Neither is covered.
        if 0 < j < len(segments.bounds):
            starts, ends = segments.starts, segments.ends
            for k in range(segments.offsets[j - 1], segments.offsets[j]):
                if starts[k] <= t < ends[k]:
                    found.append(segments.campaigns[k])
        for group in self._wide:
            firsts = group.firsts
            high = bisect_right(firsts, x)
            if not high:
                continue
            low = bisect_left(firsts, x - group.reach, 0, high)
            lasts, starts, ends = group.lasts, group.starts, group.ends
            for i in range(low, high):
                if lasts[i] >= x and starts[i] <= t < ends[i]:
                    found.append(group.campaigns[i])
        return sorted(set(found)) if len(found) > 1 else found

    def overlapping(
        self, ranges: Sequence[tuple[int, int, int]], start: datetime, end: datetime
    ) -> list[int]:
        """Campaign ids (sorted, unique) touching any ``(version, first, last)`` range in time.

        A span overlaps when it shares at least one address with a range (bounds inclusive) and
        its ``[start, end)`` shares at least one instant with the given ``[start, end)``. An
        empty query interval overlaps nothing; ``end`` before ``start`` is refused.
        """
        t0 = _micros(start, "start")
        t1 = _micros(end, "end")
        if t1 < t0:
            raise InputError("conflict check: end is before start")
        bounds = []
        for item in ranges:
            if not isinstance(item, tuple) or len(item) != 3:
                raise InputError(f"a range is (version, first, last), not {item!r}")
            version, first, last = item
            low = _key(_check_version(version), first, "first")
            high = _key(version, last, "last")
            if low > high:
                raise InputError(f"range {item!r}: first is after last")
            bounds.append((low, high))
        if t0 == t1:
            return []
        found: set[int] = set()
        for group in self._classes:
            firsts, lasts, starts, ends = group.firsts, group.lasts, group.starts, group.ends
            for low, high in bounds:
                stop = bisect_right(firsts, high)
                if not stop:
                    continue
                for i in range(bisect_left(firsts, low - group.reach, 0, stop), stop):
                    if lasts[i] >= low and starts[i] < t1 and t0 < ends[i]:
                        found.add(group.campaigns[i])
        return sorted(found)


class IndexHolder:
    """One :class:`SourceIndex`, rebuilt from ``load()`` when the caller's data version changes.

    The caller passes a cheap token of the data (e.g. ``(max campaign id, count, max updated)``
    from the database) to :meth:`get`; the index is rebuilt only when the token differs from the
    one it was built for, by one thread at a time, while other threads keep reading the index
    they already hold. A failing ``load`` leaves the previous index in place. Tokens are compared
    with ``==`` only, so a caller alternating between two tokens rebuilds every time.
    """

    __slots__ = ("_current", "_load", "_lock")

    def __init__(self, load: Callable[[], Iterable[Span]]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._current: tuple[object, SourceIndex] | None = None

    def get(self, version: object) -> SourceIndex:
        current = self._current  # one attribute read: a consistent (token, index) pair
        if current is not None and current[0] == version:
            return current[1]
        with self._lock:
            current = self._current
            if current is None or current[0] != version:
                current = (version, SourceIndex.build(self._load()))
                self._current = current
            return current[1]
