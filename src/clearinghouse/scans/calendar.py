"""The campaign calendar's arithmetic: a window of whole UTC days, where a campaign's bar falls
in it, lanes so that bars on one target never cover each other, and which campaigns of other
scanners overlap a campaign in space and time (a conflict).

Pure: values in, values out, times as aware instants. It does not decide who may see a campaign
(``pipeline.scan_reads`` does) nor how a bar looks (the templates do).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from clearinghouse.core.errors import InputError
from clearinghouse.scans.scope import NetworkRange, from_bounds

MIN_WEEKS, MAX_WEEKS, DEFAULT_WEEKS = 2, 4, 3
_DAY = dt.timedelta(days=1)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Window:
    """``weeks`` whole UTC days from ``first`` (a date)."""

    first: dt.date
    weeks: int

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range(7 * self.weeks)]

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(weeks=self.weeks)

    @property
    def previous(self) -> dt.date:
        return self.first - dt.timedelta(weeks=self.weeks)

    @property
    def next(self) -> dt.date:
        return self.first + dt.timedelta(weeks=self.weeks)


def window(start: str | None, weeks: str | int | None, *, today: dt.date) -> Window:
    """The window a query asks for: ``start`` (``YYYY-MM-DD``, default the Monday of this
    week) and ``weeks`` (2 to 4, default 3); a bad value is refused naming its parameter."""
    if weeks is None or weeks == "":
        count = DEFAULT_WEEKS
    else:
        try:
            count = int(weeks)
        except ValueError:
            count = 0
        if not MIN_WEEKS <= count <= MAX_WEEKS:
            raise InputError(f"weeks: a whole number from {MIN_WEEKS} to {MAX_WEEKS}")
    if not start:
        return Window(today - dt.timedelta(days=today.weekday()), count)
    try:
        first = dt.date.fromisoformat(start)
    except ValueError:
        shown = start if len(start) <= 40 else start[:37] + "..."
        raise InputError(f"start: {shown!r} is not a date like 2026-11-23") from None
    if not 2000 <= first.year <= 2100:
        raise InputError("start: a date between the years 2000 and 2100")
    return Window(first, count)


@dataclass(frozen=True, slots=True)
class Placed(Generic[T]):
    """A bar: ``item`` over day columns ``first`` to ``last`` (inclusive) of the window;
    ``before``/``after`` when it goes on beyond the window's edge."""

    item: T
    first: int
    last: int
    before: bool
    after: bool

    @property
    def span(self) -> int:
        return self.last - self.first + 1


def place(item: T, start: dt.datetime, end: dt.datetime, frame: Window) -> Placed[T] | None:
    """Where ``[start, end)`` falls in ``frame`` (by UTC day), or ``None`` outside it."""
    if end <= frame.start or start >= frame.end or end <= start:
        return None
    days = 7 * frame.weeks
    first = max(0, (start - frame.start) // _DAY)
    last = min(days - 1, (end - dt.timedelta(microseconds=1) - frame.start) // _DAY)
    return Placed(item, first, last, before=start < frame.start, after=end > frame.end)


def lanes(bars: Iterable[Placed[T]]) -> list[list[Placed[T]]]:
    """Bars stacked into as few lanes as possible, none covering another in its lane (greedy
    by first day: optimal for intervals)."""
    out: list[list[Placed[T]]] = []
    for bar in sorted(bars, key=lambda b: (b.first, b.last)):
        for lane in out:
            if lane[-1].last < bar.first:
                lane.append(bar)
                break
        else:
            out.append([bar])
    return out


@dataclass(frozen=True, slots=True)
class Cell(Generic[T]):
    """One run of a lane's table row: ``bar`` over ``span`` days, or empty days (``None``)."""

    bar: Placed[T] | None
    span: int
    first: int


def cells(lane: Sequence[Placed[T]], days: int) -> list[Cell[T]]:
    """A lane as table cells: empty days one cell each (a column per day), bars with colspan."""
    out: list[Cell[T]] = []
    day = 0
    for bar in lane:
        out.extend(Cell(None, 1, d) for d in range(day, bar.first))
        out.append(Cell(bar, bar.span, bar.first))
        day = bar.last + 1
    out.extend(Cell(None, 1, d) for d in range(day, days))
    return out


# --- conflicts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A campaign as the conflict check needs it."""

    key: Hashable
    scanner_id: int
    start: dt.datetime
    end: dt.datetime
    targets: tuple[NetworkRange, ...]


@dataclass(frozen=True, slots=True)
class Conflict:
    """``other`` scans ``shared`` addresses of a campaign from ``start`` to ``end``."""

    other: Hashable
    start: dt.datetime
    end: dt.datetime
    shared: tuple[NetworkRange, ...]


def intersection(a: NetworkRange, b: NetworkRange) -> list[NetworkRange]:
    if not a.overlaps(b):
        return []
    return from_bounds(a.version, max(a.first, b.first), min(a.last, b.last))


def conflicts(campaign: Scheduled, others: Iterable[Scheduled]) -> list[Conflict]:
    """Other scanners' campaigns sharing an address with ``campaign`` while both run (half-open
    intervals: one ending at 10:00 does not meet one starting at 10:00), as the campaign
    decision reports overlaps."""
    found: list[Conflict] = []
    for other in others:
        if other.key == campaign.key or other.scanner_id == campaign.scanner_id:
            continue
        start, end = max(campaign.start, other.start), min(campaign.end, other.end)
        if start >= end:
            continue
        shared = [
            piece for a in campaign.targets for b in other.targets for piece in intersection(a, b)
        ]
        if shared:
            found.append(Conflict(other.key, start, end, tuple(sorted(set(shared)))))
    return sorted(found, key=lambda c: (c.start, str(c.other)))


def clip(ranges: Iterable[NetworkRange], within: Sequence[NetworkRange]) -> list[NetworkRange]:
    """The parts of ``ranges`` inside ``within`` (what an owner may see of a campaign's
    targets: its own assets, never another owner's)."""
    return sorted({piece for r in ranges for w in within for piece in intersection(r, w)})
