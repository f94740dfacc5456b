"""The dashboard's pure parts: the multipart splitter behind the SBOM upload (a file's bytes
come out exactly as chosen), the chart's geometry, and an authorization's state."""

from __future__ import annotations

import datetime as dt

import pytest

from clearinghouse.core.errors import InputError, UnsupportedEncodingError
from clearinghouse.pipeline.authorization_reads import authorization_state
from clearinghouse.web.progress_chart import chart, nice_top
from clearinghouse.web.uploads import MAX_PARTS, boundary_of, split

BOUNDARY = b"----chBoundary7MA4YWxk"


def body(*parts: tuple[bytes, bytes]) -> bytes:
    out = b""
    for headers, data in parts:
        out += b"--" + BOUNDARY + b"\r\n" + headers + b"\r\n\r\n" + data + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


def test_a_file_comes_out_byte_for_byte() -> None:
    data = b'{"a": 1}\r\n--not-the-boundary\r\n\x00\xff\r\n'
    parts = split(
        body(
            (
                b'Content-Disposition: form-data; name="sbom"; filename="bom.cdx.json"\r\n'
                b"Content-Type: application/json",
                data,
            ),
            (b'Content-Disposition: form-data; name="product"', b"Patient Portal"),
        ),
        BOUNDARY,
    )
    assert [(p.name, p.filename, p.content_type) for p in parts] == [
        ("sbom", "bom.cdx.json", "application/json"),
        ("product", None, None),
    ]
    assert parts[0].data == data
    assert parts[1].data == b"Patient Portal"


def test_malformed_bodies_are_refused_naming_why() -> None:
    with pytest.raises(InputError, match="no boundary"):
        split(b"just bytes", BOUNDARY)
    with pytest.raises(InputError, match="not closed"):
        split(
            b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="x"\r\n\r\nabc', BOUNDARY
        )
    with pytest.raises(InputError, match="without a name"):
        split(body((b"Content-Type: text/plain", b"x")), BOUNDARY)
    many = [(b'Content-Disposition: form-data; name="f"', b"x")] * (MAX_PARTS + 1)
    with pytest.raises(InputError, match=f"more than {MAX_PARTS} parts"):
        split(body(*many), BOUNDARY)


def test_only_multipart_form_data_with_a_boundary_is_read() -> None:
    assert boundary_of('multipart/form-data; boundary="abc"') == b"abc"
    with pytest.raises(UnsupportedEncodingError):
        boundary_of("application/json")
    with pytest.raises(InputError, match="boundary"):
        boundary_of("multipart/form-data")


def test_the_chart_has_one_dot_per_period_on_a_scale_of_whole_quarters() -> None:
    assert [nice_top(v) for v in (0, 4, 5, 13, 21, 81)] == [4, 4, 8, 16, 40, 120]
    points = [
        {"date": "2026-11-13", "open": 0, "resolved": 0},
        {"date": "2026-11-20", "open": 6, "resolved": 1},
        {"date": "2026-11-27", "open": 3, "resolved": 4},
    ]
    drawn = chart(points)
    assert [len(drawn.dots[s]) for s in ("open", "resolved")] == [3, 3]
    assert [tick for _, tick in drawn.ticks] == [0, 2, 4, 6, 8]
    baseline, top = drawn.bottom, drawn.top
    assert drawn.dots["open"][0].y == baseline
    assert drawn.dots["open"][1].y == pytest.approx(baseline - (baseline - top) * 6 / 8)
    assert [d.x for d in drawn.dots["open"]] == [
        drawn.left,
        (drawn.left + drawn.right) / 2,
        drawn.right,
    ]
    assert drawn.lines["resolved"].count(",") == 3


NOW = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("starts", "expires", "revoked", "paused", "state"),
    [
        (NOW - DAY, NOW + DAY, None, False, "active"),
        (NOW + DAY, NOW + 2 * DAY, None, False, "scheduled"),
        (NOW - DAY, NOW + DAY, None, True, "halted"),
        (NOW + DAY, NOW + 2 * DAY, None, True, "halted"),
        (NOW - 2 * DAY, NOW - DAY, None, True, "expired"),
        (NOW - DAY, NOW + DAY, NOW - DAY / 2, True, "revoked"),
        (NOW - DAY, NOW + DAY, NOW + DAY / 2, False, "active"),
    ],
)
def test_an_authorization_state_says_what_ends_it_before_what_suspends_it(
    starts: dt.datetime, expires: dt.datetime, revoked: dt.datetime | None, paused: bool, state: str
) -> None:
    assert (
        authorization_state(
            starts_at=starts, expires_at=expires, revoked_at=revoked, paused=paused, now=NOW
        )
        == state
    )
