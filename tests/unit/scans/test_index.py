"""The deconfliction index gives exactly the brute-force answers.

A brute-force oracle (every span checked with ``ipaddress`` objects and datetimes) is compared
with :class:`SourceIndex` on random span sets that nest (a /0, a /8 and /16s over many small
ranges), mix IPv4 and IPv6, include IPv4-mapped and partly mapped IPv6 ranges, and sit on a
coarse time grid so that instants land exactly on starts and ends. Every ``segment_cap``
setting is tried, so both lookup paths (elementary segments and width classes) are checked.
Hand-made cases pin the boundaries (start inclusive, end exclusive, first and last inclusive),
the mapped-address rule, input errors and :class:`IndexHolder`'s rebuild rule.
"""

from __future__ import annotations

import functools
import ipaddress
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.core.errors import InputError
from clearinghouse.scans.index import IndexHolder, SourceIndex, Span, cidr_range

T0 = datetime(2025, 6, 1, tzinfo=UTC)
V4_MAX = (1 << 32) - 1
V6_MAX = (1 << 128) - 1
MAPPED = 0xFFFF << 32  # ::ffff:0:0, the start of the IPv4-mapped block
V4_REGION = int(ipaddress.IPv4Address("198.51.100.0"))
V6_REGION = int(ipaddress.IPv6Address("2001:db8::"))


def at(hours: float, micros: int = 0) -> datetime:
    return T0 + timedelta(hours=hours, microseconds=micros)


# ---- the oracle --------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _as_v6(version: int, value: int) -> int:
    """IPv4 compared as its mapped IPv6 address, the rule the index documents."""
    return (
        int(ipaddress.IPv6Address(f"::ffff:{ipaddress.IPv4Address(value)}"))
        if version == 4
        else value
    )


def oracle_lookup(spans: list[Span], address: str, when: datetime) -> list[int]:
    parsed = ipaddress.ip_address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    point = _as_v6(parsed.version, int(parsed))
    return sorted(
        {
            s.campaign_id
            for s in spans
            if _as_v6(s.version, s.first) <= point <= _as_v6(s.version, s.last)
            and s.start <= when < s.end
        }
    )


def oracle_overlapping(
    spans: list[Span], ranges: list[tuple[int, int, int]], start: datetime, end: datetime
) -> list[int]:
    found = set()
    for s in spans:
        for version, first, last in ranges:
            same_space = _as_v6(s.version, s.first) <= _as_v6(version, last) and _as_v6(
                version, first
            ) <= _as_v6(s.version, s.last)
            # Empty intervals (the span's or the query's) contain no instant to share.
            if same_space and s.start < s.end and start < end and s.start < end and start < s.end:
                found.add(s.campaign_id)
    return sorted(found)


# ---- strategies --------------------------------------------------------------------------


@st.composite
def address_range(draw: st.DrawFn) -> tuple[int, int, int]:
    """Mostly small ranges in one /24 (or one IPv6 /120) so they overlap, sometimes huge ones."""
    kind = draw(st.sampled_from(["v4-small", "v4-small", "v6-small", "v4-huge", "v6-huge"]))
    if kind == "v4-small":
        first = V4_REGION + draw(st.integers(0, 255))
        return 4, first, min(V4_MAX, first + draw(st.sampled_from([0, 0, 1, 3, 15, 40, 255])))
    if kind == "v6-small":
        first = V6_REGION + draw(st.integers(0, 255))
        return 6, first, first + draw(st.sampled_from([0, 0, 1, 7, 100]))
    if kind == "v4-huge":
        prefix = draw(st.sampled_from([0, 1, 8, 16, 23, 24]))
        network = ipaddress.IPv4Network((V4_REGION, prefix), strict=False)
        return 4, int(network.network_address), int(network.broadcast_address)
    cidr = draw(
        st.sampled_from(
            ["::/0", "2001:db8::/32", "2001:db8::/64", "::ffff:0:0/96", "::ffff:198.51.100.0/120"]
        )
        | st.just("partly-mapped")
    )
    if cidr == "partly-mapped":  # an arbitrary range that crosses into the mapped block
        return (
            6,
            MAPPED - draw(st.integers(1, 1000)),
            MAPPED + V4_REGION + draw(st.integers(0, 300)),
        )
    version, first, last = cidr_range(cidr)
    return version, first, last


@st.composite
def spans(draw: st.DrawFn) -> list[Span]:
    result = []
    for campaign in range(1, draw(st.integers(0, 25)) + 1):
        start = draw(st.integers(0, 10))
        end = start + draw(st.integers(0, 4))  # 0: an empty interval, allowed, never matches
        for _ in range(draw(st.integers(1, 2))):  # some campaigns have two ranges
            version, first, last = draw(address_range())
            result.append(Span(campaign, version, first, last, at(start), at(end)))
    return result


def boundary_points(items: list[Span]) -> list[tuple[int, int]]:
    points = [(4, V4_REGION + 7), (6, V6_REGION + 7), (4, 0), (6, V6_MAX)]
    for s in items:
        top = V4_MAX if s.version == 4 else V6_MAX
        points += [(s.version, s.first), (s.version, s.last)]
        points += [(s.version, v) for v in (s.first - 1, s.last + 1) if 0 <= v <= top]
    return points


def text(version: int, value: int, *, mapped: bool = False) -> str:
    if version == 4:
        address = ipaddress.IPv4Address(value)
        return f"::ffff:{address}" if mapped else str(address)
    return str(ipaddress.IPv6Address(value))


# ---- properties --------------------------------------------------------------------------


# (which boundary point, hour, microsecond offset, spell IPv4 as mapped IPv6); drawn in one go
# because per-probe draws inside the test cost more than the test itself.
PROBES = st.lists(
    st.tuples(
        st.integers(0, 1 << 16),
        st.integers(-1, 15),
        st.sampled_from([-1, 0, 0, 1]),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(items=spans(), cap=st.sampled_from([0, 1, 2, 32]), probes=PROBES)
def test_lookup_equals_brute_force(
    items: list[Span], cap: int, probes: list[tuple[int, int, int, bool]]
) -> None:
    index = SourceIndex.build(items, segment_cap=cap)
    assert len(index) == len(items)
    points = boundary_points(items)
    for which, hour, micros, mapped in probes:
        version, value = points[which % len(points)]
        when = at(hour, micros)
        literal = text(version, value, mapped=mapped)
        expected = oracle_lookup(items, literal, when)
        assert index.lookup(literal, when) == expected, (literal, when)
        assert index.lookup(value, when, version=version) == expected


CHECKS = st.lists(
    st.tuples(
        st.lists(address_range(), max_size=4),
        st.integers(-1, 15),
        st.sampled_from([-1, 0, 1]),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=100, deadline=None)
@given(items=spans(), checks=CHECKS)
def test_overlapping_equals_brute_force(
    items: list[Span], checks: list[tuple[list[tuple[int, int, int]], int, int, int]]
) -> None:
    index = SourceIndex.build(items)
    for ranges, hour, micros, hours in checks:
        start = at(hour, micros)
        end = start + timedelta(hours=hours)
        assert index.overlapping(ranges, start, end) == oracle_overlapping(
            items, ranges, start, end
        )


@settings(max_examples=200, deadline=None)
@given(address=st.ip_addresses())
def test_every_address_spelling_gives_the_integer_answer(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    # One span over the address's whole /0: the literal must land where its integer does.
    version, first, last = cidr_range("0.0.0.0/0" if address.version == 4 else "::/0")
    index = SourceIndex.build([Span(1, version, first, last, at(0), at(1))])
    expected = index.lookup(int(address), at(0), version=address.version)
    assert expected == [1]
    assert index.lookup(str(address), at(0)) == expected
    assert index.lookup(address.exploded, at(0)) == expected


# ---- boundaries --------------------------------------------------------------------------


def test_start_and_first_are_inclusive_end_and_last_exclusive_and_inclusive() -> None:
    index = SourceIndex.build([Span.from_cidr(7, "192.0.2.0/24", at(10), at(12))])
    assert index.lookup("192.0.2.0", at(10)) == [7]
    assert index.lookup("192.0.2.255", at(12, -1)) == [7]
    assert index.lookup("192.0.2.128", at(12)) == []
    assert index.lookup("192.0.2.128", at(10, -1)) == []
    assert index.lookup("192.0.1.255", at(11)) == []
    assert index.lookup("192.0.3.0", at(11)) == []


def test_instants_in_other_time_zones_are_the_same_instants() -> None:
    index = SourceIndex.build([Span.from_cidr(1, "2001:db8::/64", at(10), at(12))])
    plus_two = timezone(timedelta(hours=2))
    assert index.lookup("2001:db8::1", datetime(2025, 6, 1, 12, tzinfo=plus_two)) == [1]
    assert index.lookup("2001:db8::1", datetime(2025, 6, 1, 14, tzinfo=plus_two)) == []


def test_overlap_in_time_is_half_open_and_addresses_inclusive() -> None:
    index = SourceIndex.build([Span.from_cidr(3, "203.0.113.0/28", at(10), at(12))])
    block = cidr_range("203.0.113.0/28")
    assert index.overlapping([block], at(12), at(13)) == []  # starts as the campaign ends
    assert index.overlapping([block], at(9), at(10)) == []  # ends as the campaign starts
    assert index.overlapping([block], at(9), at(10, 1)) == [3]
    assert index.overlapping([cidr_range("203.0.113.15")], at(11), at(11, 1)) == [3]
    assert index.overlapping([cidr_range("203.0.113.16/28")], at(0), at(24)) == []
    assert index.overlapping([block], at(11), at(11)) == []  # an empty interval
    assert index.overlapping([], at(0), at(24)) == []


def test_a_campaign_with_several_matching_ranges_is_reported_once_in_order() -> None:
    items = [
        Span.from_cidr(9, "10.0.0.0/8", at(0), at(5)),
        Span.from_cidr(9, "10.1.0.0/16", at(0), at(5)),
        Span.from_cidr(2, "10.1.2.3", at(0), at(5)),
    ]
    index = SourceIndex.build(items)
    assert index.lookup("10.1.2.3", at(1)) == [2, 9]
    assert index.overlapping([cidr_range("10.1.2.0/24")], at(1), at(2)) == [2, 9]


def test_a_wide_range_over_thousands_of_small_ones_answers_correctly() -> None:
    # The worst case for a "sort by first, scan back" index: a /8 over everything.
    items = [Span.from_cidr(1, "10.0.0.0/8", at(0), at(1))]
    items += [
        Span(n + 2, 4, (10 << 24) + 3 * n, (10 << 24) + 3 * n, at(0), at(2)) for n in range(5000)
    ]
    index = SourceIndex.build(items)
    assert index.lookup((10 << 24) + 3 * 4321, at(0), version=4) == [1, 4323]
    assert index.lookup((10 << 24) + 3 * 4321 + 1, at(0), version=4) == [1]
    assert index.lookup((10 << 24) + 3 * 4321, at(1), version=4) == [4323]
    assert index.lookup("11.0.0.0", at(0)) == []


def test_empty_index() -> None:
    index = SourceIndex.build([])
    assert len(index) == 0
    assert index.lookup("192.0.2.1", at(0)) == []
    assert index.lookup(0, at(0), version=6) == []
    assert index.overlapping([cidr_range("::/0")], at(0), at(1)) == []


# ---- IPv4-mapped IPv6 --------------------------------------------------------------------


def test_ipv4_mapped_addresses_are_the_ipv4_addresses_they_carry() -> None:
    index = SourceIndex.build([Span.from_cidr(5, "192.0.2.0/24", at(0), at(1))])
    assert index.lookup("::ffff:192.0.2.9", at(0)) == [5]
    assert index.lookup("::ffff:c000:209", at(0)) == [5]
    assert index.lookup(MAPPED | int(ipaddress.IPv4Address("192.0.2.9")), at(0), version=6) == [5]
    assert index.lookup("::192.0.2.9", at(0)) == []  # IPv4-compatible is not mapped
    assert index.overlapping([cidr_range("::ffff:192.0.2.0/120")], at(0), at(1)) == [5]


def test_a_range_written_in_mapped_notation_is_the_ipv4_range() -> None:
    index = SourceIndex.build([Span.from_cidr(6, "::ffff:198.51.100.0/120", at(0), at(1))])
    assert index.lookup("198.51.100.200", at(0)) == [6]
    assert index.lookup("198.51.101.0", at(0)) == []


# ---- input errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [
        "",
        "abc",
        "1.2.3",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3.4/32",
        " 1.2.3.4",
        "1::2::3",
        "::g",
        "1.2.3.4\x00",
    ],
)
def test_an_invalid_address_is_a_clear_input_error(literal: str) -> None:
    index = SourceIndex.build([])
    with pytest.raises(InputError, match="not an IP address"):
        index.lookup(literal, at(0))


def test_integer_addresses_need_a_valid_version_and_range() -> None:
    index = SourceIndex.build([])
    with pytest.raises(InputError, match="needs version"):
        index.lookup(1, at(0))
    with pytest.raises(InputError, match="outside the IPv4"):
        index.lookup(1 << 32, at(0), version=4)
    with pytest.raises(InputError, match="outside the IPv6"):
        index.lookup(-1, at(0), version=6)
    with pytest.raises(InputError, match="4 or 6"):
        index.lookup(1, at(0), version=5)
    with pytest.raises(InputError, match="integer address"):
        index.lookup(True, at(0), version=4)
    with pytest.raises(InputError, match="not IPv6"):
        index.lookup("192.0.2.1", at(0), version=6)


def test_naive_instants_are_refused() -> None:
    index = SourceIndex.build([])
    with pytest.raises(InputError, match="timezone-aware"):
        index.lookup("192.0.2.1", datetime(2025, 6, 1))
    with pytest.raises(InputError, match="timezone-aware"):
        index.overlapping([], datetime(2025, 6, 1), at(1))
    with pytest.raises(InputError, match="timezone-aware"):
        Span(1, 4, 0, 0, datetime(2025, 6, 1), at(1))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, 4, 5, 4, at(0), at(1)), "first is after last"),
        ((1, 4, 0, 1 << 32, at(0), at(1)), "outside the IPv4"),
        ((1, 6, -1, 0, at(0), at(1)), "outside the IPv6"),
        ((1, 5, 0, 0, at(0), at(1)), "4 or 6"),
        ((1, 4, 0, 0, at(1), at(0)), "end is before start"),
        (("1", 4, 0, 0, at(0), at(1)), "campaign_id"),
    ],
)
def test_invalid_spans_are_refused(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Span(*args)  # type: ignore[arg-type]


def test_invalid_conflict_checks_are_refused() -> None:
    index = SourceIndex.build([])
    with pytest.raises(InputError, match="end is before start"):
        index.overlapping([], at(1), at(0))
    with pytest.raises(InputError, match="first is after last"):
        index.overlapping([(4, 9, 8)], at(0), at(1))
    with pytest.raises(InputError, match=r"\(version, first, last\)"):
        index.overlapping([(4, 9)], at(0), at(1))  # type: ignore[list-item]


def test_cidr_parsing() -> None:
    assert cidr_range("192.0.2.0/24") == (4, 0xC0000200, 0xC00002FF)
    assert cidr_range("2001:db8::1") == (6, V6_REGION + 1, V6_REGION + 1)
    with pytest.raises(InputError, match="not a CIDR range"):
        cidr_range("192.0.2.1/24")  # host bits set: probably a typo for another network
    with pytest.raises(InputError, match="not a CIDR range"):
        Span.from_cidr(1, "192.0.2.0/33", at(0), at(1))


# ---- IndexHolder -------------------------------------------------------------------------


def test_holder_rebuilds_only_when_the_version_changes() -> None:
    data = [Span.from_cidr(1, "192.0.2.1", at(0), at(1))]
    loads = []

    def load() -> list[Span]:
        loads.append(1)
        return list(data)

    holder = IndexHolder(load)
    first = holder.get((1, 1))
    assert holder.get((1, 1)) is first
    assert len(loads) == 1
    data.append(Span.from_cidr(2, "192.0.2.1", at(0), at(1)))
    assert holder.get((2, 2)).lookup("192.0.2.1", at(0)) == [1, 2]
    assert len(loads) == 2


def test_holder_keeps_the_previous_index_when_loading_fails() -> None:
    calls = []

    def load() -> list[Span]:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return [Span.from_cidr(1, "192.0.2.1", at(0), at(1))]

    holder = IndexHolder(load)
    first = holder.get(1)
    with pytest.raises(RuntimeError):
        holder.get(2)
    assert holder.get(1) is first
    assert holder.get(2).lookup("192.0.2.1", at(0)) == [1]


def test_holder_builds_once_for_concurrent_readers_of_a_new_version() -> None:
    loads = []
    gate = threading.Event()

    def load() -> list[Span]:
        loads.append(1)
        gate.wait(5)  # hold the first builder so that the others pile up on the lock
        return [Span.from_cidr(1, "192.0.2.1", at(0), at(1))]

    holder = IndexHolder(load)
    results: list[SourceIndex] = []
    threads = [threading.Thread(target=lambda: results.append(holder.get("v1"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(loads) == 1
    assert len(results) == 8
    assert all(result is results[0] for result in results)
