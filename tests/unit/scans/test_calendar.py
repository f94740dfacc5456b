"""The campaign calendar's arithmetic: windows from query parameters, bars on UTC days, lanes
that never stack two bars on one day, and conflicts as the campaign decision sees overlaps."""

from __future__ import annotations

import datetime as dt

import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.scans import calendar
from clearinghouse.scans.scope import parse_network

TODAY = dt.date(2026, 11, 27)  # a Friday
MONDAY = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def at(days: float) -> dt.datetime:
    return MONDAY + dt.timedelta(days=days)


def test_the_default_window_starts_this_monday_and_navigates_by_its_length() -> None:
    frame = calendar.window(None, None, today=TODAY)
    assert (frame.first, frame.weeks) == (dt.date(2026, 11, 23), 3)
    assert len(frame.days) == 21
    assert frame.start == MONDAY
    assert frame.end == at(21)
    assert frame.next == dt.date(2026, 12, 14)
    assert frame.previous == dt.date(2026, 11, 2)
    assert calendar.window("2026-12-03", "2", today=TODAY) == calendar.Window(
        dt.date(2026, 12, 3), 2
    )


@pytest.mark.parametrize(
    ("start", "weeks", "field"),
    [
        ("tomorrow", "3", "start"),
        ("2026-13-01", "3", "start"),
        ("1900-01-01", "2", "start"),
        (None, "1", "weeks"),
        (None, "5", "weeks"),
        (None, "three", "weeks"),
    ],
)
def test_a_bad_window_is_refused_naming_the_parameter(
    start: str | None, weeks: str, field: str
) -> None:
    with pytest.raises(InputError, match=f"^{field}:"):
        calendar.window(start, weeks, today=TODAY)


def test_a_bar_covers_the_utc_days_its_interval_touches() -> None:
    frame = calendar.Window(MONDAY.date(), 2)
    bar = calendar.place("a", at(1 + 10 / 24), at(3.5), frame)
    assert bar is not None
    assert (bar.first, bar.last, bar.span) == (1, 3, 3)
    assert not bar.before
    assert not bar.after
    # Ending exactly at midnight does not reach into the next day.
    midnight = calendar.place("b", at(2), at(4), frame)
    assert midnight is not None
    assert (midnight.first, midnight.last) == (2, 3)
    clipped = calendar.place("c", at(-3), at(20), frame)
    assert clipped is not None
    assert (clipped.first, clipped.last) == (0, 13)
    assert clipped.before
    assert clipped.after
    assert calendar.place("d", at(-3), at(0), frame) is None
    assert calendar.place("e", at(14), at(15), frame) is None


def test_lanes_stack_overlapping_bars_and_cells_fill_every_day() -> None:
    frame = calendar.Window(MONDAY.date(), 2)
    bars = [
        calendar.place(name, at(a), at(b), frame)
        for name, a, b in (("x", 1, 4), ("y", 2, 3), ("z", 4, 6), ("w", 3.5, 5))
    ]
    stacked = calendar.lanes(b for b in bars if b is not None)
    assert [[b.item for b in lane] for lane in stacked] == [["x", "z"], ["y", "w"]]
    for lane in stacked:
        cells = calendar.cells(lane, 14)
        assert sum(c.span for c in cells) == 14
        days = [d for c in cells for d in range(c.first, c.first + c.span)]
        assert days == list(range(14))


def test_conflicts_are_other_scanners_sharing_addresses_at_the_same_time() -> None:
    def campaign(key: str, scanner: int, a: float, b: float, *cidrs: str) -> calendar.Scheduled:
        return calendar.Scheduled(key, scanner, at(a), at(b), tuple(map(parse_network, cidrs)))

    mine = campaign("mine", 1, 1, 3, "192.0.2.0/26", "203.0.113.0/28")
    others = [
        campaign("overlap", 2, 2, 4, "192.0.2.32/27"),
        campaign("same-scanner", 1, 1, 3, "192.0.2.0/26"),
        campaign("elsewhere", 3, 1, 3, "192.0.2.128/26"),
        campaign("after", 4, 3, 5, "192.0.2.0/24"),  # starts when mine ends: half-open
    ]
    [found] = calendar.conflicts(mine, others)
    assert found.other == "overlap"
    assert (found.start, found.end) == (at(2), at(3))
    assert [r.text for r in found.shared] == ["192.0.2.32/27"]


def test_an_owner_sees_only_the_parts_inside_its_scope() -> None:
    targets = [parse_network("192.0.2.192/27"), parse_network("203.0.113.128/27")]
    mine = [parse_network("192.0.2.0/24")]
    assert [r.text for r in calendar.clip(targets, mine)] == ["192.0.2.192/27"]
    assert calendar.clip(targets, []) == []
