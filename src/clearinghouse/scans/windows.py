"""Weekly scanning windows in an owner's time zone, and whether instants or intervals fit them.

What it does: parses the compact window grammar owners write, and answers, for aware instants,
"is this instant inside a window?", "does this whole interval lie inside the windows?" and
"which is the first instant that does not?", correctly across daylight-saving transitions.

Semantics, chosen so that an owner can predict them from a wall clock: an instant is inside a
window when the owner's wall clock (in the schedule's IANA zone) shows a weekday and time inside
it. Consequences at DST transitions: on a spring-forward night the skipped hour simply never
shows, so ``22:00-06:00`` lasts an hour less; on a fall-back night the repeated hour shows twice
and is inside (or outside) both times, so ``22:00-06:00`` lasts an hour more, and a window that
starts inside the repeated hour (``02:30-05:00`` in Europe/Berlin) has a 30-minute hole while
the clock shows 02:00-02:30 for the second time.

What it does not do: read a clock (every instant is passed in), store schedules, or decide
campaigns (see ``decision``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clearinghouse.core.clock import to_utc
from clearinghouse.core.errors import InputError

_DAYS = {
    name: index
    for index, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_MAX_SPEC_CHARS = 2_000
# Sampling step when looking for UTC-offset changes: no zone in the tz database changes its
# offset twice within three hours, so a change between two samples is exactly one transition.
_SAMPLE = timedelta(hours=3)


@dataclass(frozen=True, slots=True, order=True)
class WeeklyWindow:
    """From ``start`` on ``day`` (0 = Monday) until ``end``; ``end <= start`` means next day.

    ``00:00-00:00`` is therefore the whole day, and ``22:00-06:00`` on Friday runs into
    Saturday morning.
    """

    day: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.day <= 6:
            raise InputError(f"window day must be 0 (Monday) to 6 (Sunday), not {self.day}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InputError("window times are wall-clock times of the schedule's zone")

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def wall_span(self, day: date) -> tuple[datetime, datetime]:
        """The naive wall-clock interval ``[start, end)`` of this window starting on ``day``."""
        end_day = day + timedelta(days=1) if self.crosses_midnight else day
        return datetime.combine(day, self.start), datetime.combine(end_day, self.end)

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0) else self.end.strftime("%H:%M")
        return f"{_DAY_NAMES[self.day]} {self.start.strftime('%H:%M')}-{end}"


def parse_windows(spec: str) -> tuple[WeeklyWindow, ...]:
    """Parse the compact weekly-window grammar; refuse with the offending part named.

    Grammar (case-insensitive; spaces around ``;``, ``,`` and ``-`` are ignored)::

        spec  = entry *( ";" entry )      ; empty entries (a trailing ";") are ignored
        entry = days 1*SP spans
        days  = dayset *( "," dayset )
        dayset = "daily" / day / day "-" day   ; ranges wrap: "fri-mon" = fri,sat,sun,mon
        day   = "mon" / "tue" / ... / "sun"  (or the full English name)
        spans = span *( "," span )
        span  = HH ":" MM "-" HH ":" MM      ; 00:00-23:59, and 24:00 as an end

    A span whose end is not after its start runs into the next day, so ``22:00-06:00`` is an
    overnight window and ``00:00-24:00`` (or ``00:00-00:00``) a whole day. Example:
    ``"mon-fri 22:00-06:00; sat,sun 00:00-24:00"``. Duplicates are dropped and the result is
    sorted, so equal schedules compare equal.
    """
    if len(spec) > _MAX_SPEC_CHARS:
        raise InputError(f"window spec is longer than {_MAX_SPEC_CHARS} characters")
    windows: set[WeeklyWindow] = set()
    for raw in spec.split(";"):
        entry = re.sub(r"\s*([,-])\s*", r"\1", raw.strip().lower())
        if not entry:
            continue
        parts = entry.split()
        if len(parts) != 2:
            raise InputError(
                f"window entry {raw.strip()!r} must be '<days> <HH:MM-HH:MM>', "
                "e.g. 'mon-fri 22:00-06:00'"
            )
        days = _parse_days(parts[0], raw)
        for span in parts[1].split(","):
            start, end = _parse_span(span, raw)
            windows.update(WeeklyWindow(day, start, end) for day in days)
    if not windows:
        raise InputError("window spec is empty: give at least one entry like 'mon-fri 22:00-06:00'")
    return tuple(sorted(windows))


def _parse_days(text: str, raw: str) -> list[int]:
    days: list[int] = []
    for item in text.split(","):
        if item == "daily":
            days.extend(range(7))
            continue
        first_name, _, last_name = item.partition("-")
        first = _DAYS.get(first_name)
        last = _DAYS.get(last_name) if last_name else first
        if first is None or last is None:
            raise InputError(
                f"window entry {raw.strip()!r}: {item!r} is not a day, a day range "
                "like 'mon-fri', or 'daily'"
            )
        days.extend((first + offset) % 7 for offset in range((last - first) % 7 + 1))
    return days


def _parse_span(text: str, raw: str) -> tuple[time, time]:
    match = _SPAN.fullmatch(text)
    if match:
        start_h, start_m, end_h, end_m = (int(group) for group in match.groups())
        start_ok = start_h < 24 and start_m < 60
        end_ok = (end_h < 24 and end_m < 60) or (end_h, end_m) == (24, 0)
        if start_ok and end_ok:
            return time(start_h, start_m), time(end_h % 24, end_m)
    raise InputError(
        f"window entry {raw.strip()!r}: {text!r} is not a time span 'HH:MM-HH:MM' (00:00 to 24:00)"
    )


def _aware(instant: datetime, what: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InputError(f"{what} {instant.isoformat()} has no time zone; pass an aware instant")
    return to_utc(instant, what)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Weekly windows in one IANA time zone (``"Europe/Berlin"``, ``"UTC"``)."""

    tz: str
    windows: tuple[WeeklyWindow, ...]

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"unknown time zone {self.tz!r}; use an IANA name") from None

    @classmethod
    def parse(cls, tz: str, spec: str) -> Schedule:
        return cls(tz, parse_windows(spec))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)  # ZoneInfo caches instances per key

    def contains(self, instant: datetime) -> bool:
        """Whether the owner's wall clock shows a time inside a window at ``instant``."""
        wall = _aware(instant, "instant").astimezone(self.zone).replace(tzinfo=None)
        for window in self.windows:
            # Only a window starting on the wall date or the day before can contain it.
            for day in (wall.date(), wall.date() - timedelta(days=1)):
                if day.weekday() == window.day:
                    first, last = window.wall_span(day)
                    if first <= wall < last:
                        return True
        return False

    def covered(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The parts of ``[start, end)`` inside the windows: sorted, disjoint UTC intervals."""
        start, end = _aware(start, "start"), _aware(end, "end")
        if end <= start:
            return []
        zone = self.zone
        pieces = _constant_offset_pieces(zone, start, end)
        # Two days of margin each side: an overnight window started the day before reaches in,
        # and a DST change at midnight moves the wall date of an instant by one.
        day = start.astimezone(zone).date() - timedelta(days=2)
        last_day = end.astimezone(zone).date() + timedelta(days=1)
        spans: list[tuple[datetime, datetime]] = []
        while day <= last_day:
            for window in self.windows:
                if window.day != day.weekday():
                    continue
                wall_first, wall_last = window.wall_span(day)
                # Within a piece the offset is constant, so "wall clock in [first, last)" is
                # the UTC interval [first - offset, last - offset) clipped to the piece.
                for piece_start, piece_end, offset in pieces:
                    lo = max(piece_start, (wall_first - offset).replace(tzinfo=UTC))
                    hi = min(piece_end, (wall_last - offset).replace(tzinfo=UTC))
                    if lo < hi:
                        spans.append((lo, hi))
            day += timedelta(days=1)
        spans.sort()
        merged: list[tuple[datetime, datetime]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        return merged

    def first_gap(self, start: datetime, end: datetime) -> datetime | None:
        """The first instant of ``[start, end)`` outside every window (UTC), or None."""
        start, end = _aware(start, "start"), _aware(end, "end")
        if end <= start:
            raise InputError(f"interval end {end.isoformat()} is not after {start.isoformat()}")
        cursor = start
        for lo, hi in self.covered(start, end):
            if lo > cursor:
                return cursor
            cursor = max(cursor, hi)
        return cursor if cursor < end else None

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether every instant of ``[start, end)`` lies inside the windows."""
        return self.first_gap(start, end) is None

    def __str__(self) -> str:
        return f"{'; '.join(str(window) for window in self.windows)} ({self.tz})"


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always yields an offset for an aware instant
    return offset


def _constant_offset_pieces(
    zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, timedelta]]:
    """Split UTC ``[start, end)`` where the zone's UTC offset changes: (from, to, offset)."""
    pieces: list[tuple[datetime, datetime, timedelta]] = []
    piece_start, offset = start, _offset(zone, start)
    probe = start
    while probe < end:
        following = min(probe + _SAMPLE, end)
        following_offset = _offset(zone, following)
        if following_offset != offset:
            # Exactly one transition lies in (probe, following]; the tz database puts them on
            # whole seconds, so a bisection over seconds finds the first instant of the new one.
            lo, hi = math.floor(probe.timestamp()), math.ceil(following.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, datetime.fromtimestamp(mid, UTC)) == offset:
                    lo = mid
                else:
                    hi = mid
            change = datetime.fromtimestamp(hi, UTC)
            pieces.append((piece_start, change, offset))
            piece_start, offset = change, following_offset
        probe = following
    pieces.append((piece_start, end, offset))
    return [piece for piece in pieces if piece[0] < piece[1]]
