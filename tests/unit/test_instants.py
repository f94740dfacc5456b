"""Instants typed or submitted by users are turned to UTC without ever crashing the request."""

from __future__ import annotations

import datetime as dt

import pytest

from clearinghouse.core.clock import to_utc
from clearinghouse.core.errors import InputError
from clearinghouse.pipeline.scan_reads import parse_instant

BEYOND = ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"]


@pytest.mark.parametrize("text", BEYOND)
def test_an_offset_past_the_calendar_is_refused_by_name(text: str) -> None:
    with pytest.raises(InputError, match=r"^when: .* is out of range$"):
        to_utc(dt.datetime.fromisoformat(text), "when")


def test_an_instant_in_range_is_the_same_instant_in_utc() -> None:
    local = dt.datetime.fromisoformat("2026-11-27T14:05:00+01:00")
    assert to_utc(local, "when") == local
    assert to_utc(local, "when").tzinfo is dt.UTC


@pytest.mark.parametrize("text", BEYOND)
def test_the_lookup_page_refuses_such_an_instant_naming_at(text: str) -> None:
    with pytest.raises(InputError, match=r"^at: "):
        parse_instant(text)
