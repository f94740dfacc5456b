"""An injectable clock so that pure logic never reads the wall time itself."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from clearinghouse.core.errors import InputError


def to_utc(value: dt.datetime, what: str) -> dt.datetime:
    """An aware instant in UTC; one whose offset carries it past year 1 or 9999 is refused.

    ``0001-01-01T00:00:00+00:01`` is a valid ISO 8601 instant that Python cannot convert
    (OverflowError): submitted dates must be refused by name, not crash the request.
    """
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise InputError(f"{what}: {value.isoformat()} is out of range") from None


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """A timezone-aware UTC instant."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock for tests and replays; ``advance`` moves it forward."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware instant")
        self._at = at.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._at

    def advance(self, delta: dt.timedelta) -> None:
        self._at += delta


def ensure_utc(value: dt.datetime) -> dt.datetime:
    """Databases without zone support hand back naive values stored as UTC; make them aware."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
