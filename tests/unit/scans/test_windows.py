"""Weekly windows: the grammar, overnight windows, and coverage across DST transitions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.core.errors import InputError
from clearinghouse.scans.windows import Schedule, WeeklyWindow, parse_windows

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- grammar -----------------------------------------------------------------------------------


def test_the_documented_example_parses() -> None:
    windows = parse_windows("mon-fri 22:00-06:00; sat 00:00-24:00")
    overnight = [WeeklyWindow(day, time(22), time(6)) for day in (MON, TUE, WED, THU, FRI)]
    assert windows == (*overnight, WeeklyWindow(SAT, time(0), time(0)))
    assert all(w.crosses_midnight for w in windows)


def test_day_lists_wrapping_ranges_daily_full_names_and_several_spans() -> None:
    assert {w.day for w in parse_windows("fri-mon 01:00-02:00")} == {FRI, SAT, SUN, MON}
    assert len(parse_windows("daily 01:00-02:00")) == 7
    assert parse_windows(" Tuesday , THU 08:00-12:00,13:00-17:30 ;") == (
        WeeklyWindow(TUE, time(8), time(12)),
        WeeklyWindow(TUE, time(13), time(17, 30)),
        WeeklyWindow(THU, time(8), time(12)),
        WeeklyWindow(THU, time(13), time(17, 30)),
    )
    assert str(parse_windows("sat 22:00-24:00")[0]) == "sat 22:00-24:00"


def test_duplicates_collapse_so_equal_schedules_compare_equal() -> None:
    assert parse_windows("mon 01:00-02:00; mon 01:00-02:00") == parse_windows("mon 01:00-02:00")


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("mon-fro 22:00-06:00", "'mon-fro'"),
        ("mon 25:00-06:00", "'25:00-06:00'"),
        ("mon 22:00-24:30", "'22:00-24:30'"),
        ("mon 22:60-23:00", "'22:60-23:00'"),
        ("mon 9:00-10:00", "'9:00-10:00'"),
        ("mon", "'mon'"),
        ("mon-fri 22:00-06:00; weekend 00:00-24:00", "'weekend'"),
        ("mon 22:00-06:00 extra", "'mon 22:00-06:00 extra'"),
    ],
)
def test_bad_parts_are_named(spec: str, named: str) -> None:
    with pytest.raises(InputError, match=named):
        parse_windows(spec)


def test_an_empty_spec_is_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        parse_windows(" ; ")


def test_bad_days_and_zones_are_refused() -> None:
    with pytest.raises(InputError, match="0 \\(Monday\\) to 6"):
        WeeklyWindow(7, time(1), time(2))
    with pytest.raises(InputError, match="unknown time zone 'Mars/Olympus'"):
        Schedule("Mars/Olympus", ())


# --- contains ----------------------------------------------------------------------------------


def test_an_overnight_window_runs_into_the_next_morning() -> None:
    schedule = Schedule.parse("UTC", "fri 22:00-06:00")
    assert not schedule.contains(_utc(2026, 3, 6, 21, 59))  # Friday
    assert schedule.contains(_utc(2026, 3, 6, 22, 0))
    assert schedule.contains(_utc(2026, 3, 7, 5, 59))  # Saturday morning
    assert not schedule.contains(_utc(2026, 3, 7, 6, 0))  # the end is exclusive
    assert not schedule.contains(_utc(2026, 3, 7, 23, 0))  # Saturday night is not Friday's


def test_contains_reads_the_owners_wall_clock() -> None:
    berlin = Schedule.parse("Europe/Berlin", "mon 09:00-17:00")
    assert berlin.contains(_utc(2026, 1, 5, 8, 0))  # 09:00 CET
    assert not berlin.contains(_utc(2026, 1, 5, 16, 0))  # 17:00 CET
    assert berlin.contains(_utc(2026, 7, 6, 7, 0))  # 09:00 CEST
    assert not berlin.contains(_utc(2026, 7, 6, 15, 0))  # 17:00 CEST
    # Non-UTC aware instants are the same instant.
    assert berlin.contains(datetime(2026, 1, 5, 3, 0, tzinfo=ZoneInfo("America/New_York")))


def test_naive_instants_are_refused() -> None:
    schedule = Schedule.parse("UTC", "daily 00:00-24:00")
    with pytest.raises(InputError, match="no time zone"):
        schedule.contains(datetime(2026, 3, 1, 12))
    with pytest.raises(InputError, match="no time zone"):
        schedule.covers(datetime(2026, 3, 1, 12), _utc(2026, 3, 2))


# --- covers and first_gap ----------------------------------------------------------------------


def test_adjacent_windows_cover_a_whole_working_week() -> None:
    schedule = Schedule.parse("UTC", "mon-fri 00:00-24:00")
    assert schedule.covers(_utc(2026, 3, 2), _utc(2026, 3, 7))  # Mon 00:00 - Sat 00:00
    assert schedule.first_gap(_utc(2026, 3, 2), _utc(2026, 3, 7, 0, 1)) == _utc(2026, 3, 7)


def test_first_gap_is_the_start_when_it_begins_outside() -> None:
    schedule = Schedule.parse("UTC", "mon 10:00-11:00")
    assert schedule.first_gap(_utc(2026, 3, 2, 9, 30), _utc(2026, 3, 2, 10, 30)) == _utc(
        2026, 3, 2, 9, 30
    )
    assert schedule.first_gap(_utc(2026, 3, 2, 10), _utc(2026, 3, 2, 11)) is None


def test_an_empty_interval_is_refused() -> None:
    schedule = Schedule.parse("UTC", "daily 00:00-24:00")
    with pytest.raises(InputError, match="not after"):
        schedule.covers(_utc(2026, 3, 2), _utc(2026, 3, 2))


# Europe/Berlin 2026: spring forward Sun 29 March 02:00 CET -> 03:00 CEST (01:00Z);
# fall back Sun 25 October 03:00 CEST -> 02:00 CET (01:00Z).
# America/New_York 2026: spring forward Sun 8 March 02:00 EST -> 03:00 EDT (07:00Z);
# fall back Sun 1 November 02:00 EDT -> 01:00 EST (06:00Z).
@pytest.mark.parametrize(
    ("tz", "spec", "start", "end"),
    [
        # The skipped hour makes the night an hour shorter: 22:00 CET .. 06:00 CEST = 7 hours.
        ("Europe/Berlin", "sat 22:00-06:00", _utc(2026, 3, 28, 21), _utc(2026, 3, 29, 4)),
        # The repeated hour makes it an hour longer: 22:00 CEST .. 06:00 CET = 9 hours.
        ("Europe/Berlin", "sat 22:00-06:00", _utc(2026, 10, 24, 20), _utc(2026, 10, 25, 5)),
        # A window starting in the skipped hour starts when the clock jumps past it.
        ("Europe/Berlin", "sun 02:30-04:00", _utc(2026, 3, 29, 1), _utc(2026, 3, 29, 2)),
        # A whole day lasts 23 hours in spring and 25 in autumn.
        ("Europe/Berlin", "sun 00:00-24:00", _utc(2026, 3, 28, 23), _utc(2026, 3, 29, 22)),
        ("Europe/Berlin", "sun 00:00-24:00", _utc(2026, 10, 24, 22), _utc(2026, 10, 25, 23)),
        # 23:00 EST .. 03:00 EDT = 3 hours; 23:00 EDT .. 03:00 EST = 5 hours.
        ("America/New_York", "sat 23:00-03:00", _utc(2026, 3, 8, 4), _utc(2026, 3, 8, 7)),
        ("America/New_York", "sat 23:00-03:00", _utc(2026, 11, 1, 3), _utc(2026, 11, 1, 8)),
        ("America/New_York", "sun 00:00-24:00", _utc(2026, 11, 1, 4), _utc(2026, 11, 2, 5)),
    ],
)
def test_dst_weeks_cover_exactly_the_wall_clock_span(
    tz: str, spec: str, start: datetime, end: datetime
) -> None:
    schedule = Schedule.parse(tz, spec)
    minute = timedelta(minutes=1)
    assert schedule.covers(start, end)
    assert schedule.first_gap(start - minute, end) == start - minute
    assert schedule.first_gap(start, end + minute) == end
    assert schedule.covered(start - timedelta(days=1), end + timedelta(days=1)) == [(start, end)]


def test_a_window_starting_in_the_repeated_hour_has_a_hole() -> None:
    # 02:30-05:00 on the Berlin fall-back Sunday: 02:30 CEST (00:30Z) until the clock falls
    # back to 02:00 (01:00Z), then again from 02:30 CET (01:30Z) to 05:00 CET (04:00Z).
    schedule = Schedule.parse("Europe/Berlin", "sun 02:30-05:00")
    assert schedule.covered(_utc(2026, 10, 24), _utc(2026, 10, 26)) == [
        (_utc(2026, 10, 25, 0, 30), _utc(2026, 10, 25, 1)),
        (_utc(2026, 10, 25, 1, 30), _utc(2026, 10, 25, 4)),
    ]
    assert schedule.first_gap(_utc(2026, 10, 25, 0, 30), _utc(2026, 10, 25, 4)) == _utc(
        2026, 10, 25, 1
    )


def test_a_month_long_interval_spanning_a_transition() -> None:
    schedule = Schedule.parse("Europe/Berlin", "daily 00:00-24:00")
    assert schedule.covers(_utc(2026, 3, 15), _utc(2026, 4, 14))
    nights = Schedule.parse("Europe/Berlin", "daily 22:00-06:00")
    assert nights.first_gap(_utc(2026, 3, 27, 21), _utc(2026, 3, 30, 4)) == _utc(2026, 3, 28, 5)


# --- property: interval answers agree with an independent minute-by-minute wall clock ----------

# Zones with an instant shortly before one of their 2026 transitions (Lord Howe shifts by 30
# minutes), and zones without DST in an ordinary week.
_ZONE_ANCHORS = (
    ("Europe/Berlin", _utc(2026, 3, 28, 12)),
    ("Europe/Berlin", _utc(2026, 10, 24, 12)),
    ("America/New_York", _utc(2026, 3, 7, 18)),
    ("America/New_York", _utc(2026, 10, 31, 18)),
    ("Australia/Lord_Howe", _utc(2026, 4, 4, 0)),
    ("Australia/Lord_Howe", _utc(2026, 10, 3, 0)),
    ("Asia/Kolkata", _utc(2026, 6, 10)),
    ("UTC", _utc(2026, 6, 10)),
)
_HALF_HOURS = st.integers(min_value=0, max_value=47).map(lambda n: time(n // 2, 30 * (n % 2)))
_WINDOW = st.builds(WeeklyWindow, st.integers(0, 6), _HALF_HOURS, _HALF_HOURS)


def _oracle(windows: tuple[WeeklyWindow, ...], tz: str, instant: datetime) -> bool:
    """Minute-of-week arithmetic on the wall clock, independent of the module's spans."""
    local = instant.astimezone(ZoneInfo(tz))
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    for w in windows:
        first = w.day * 1440 + w.start.hour * 60 + w.start.minute
        length = (w.end.hour * 60 + w.end.minute - w.start.hour * 60 - w.start.minute) % 1440
        if (minute - first) % 10080 < (length or 1440):
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_ZONE_ANCHORS),
    st.lists(_WINDOW, min_size=0, max_size=4).map(tuple),
    st.integers(min_value=0, max_value=30 * 60),
    st.integers(min_value=1, max_value=24 * 60),
)
def test_covers_and_first_gap_agree_with_the_wall_clock_minute_by_minute(
    zone_anchor: tuple[str, datetime],
    windows: tuple[WeeklyWindow, ...],
    offset: int,
    length: int,
) -> None:
    tz, anchor = zone_anchor
    schedule = Schedule(tz, windows)
    start = anchor + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    minutes = [start + timedelta(minutes=i) for i in range(length)]
    expected = [_oracle(windows, tz, m) for m in minutes]
    assert [schedule.contains(m) for m in minutes] == expected
    spans = schedule.covered(start, end)
    assert [any(lo <= m < hi for lo, hi in spans) for m in minutes] == expected
    assert schedule.covers(start, end) == all(expected)
    first_outside = next((m for m, ok in zip(minutes, expected, strict=True) if not ok), None)
    assert schedule.first_gap(start, end) == first_outside
