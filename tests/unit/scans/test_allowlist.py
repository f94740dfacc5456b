"""SIEM allow-list exports: CSV injection guard, STIX 2.1 bundle, JSON round-trip."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
import stix2

from clearinghouse.core.errors import InputError, SchemaError
from clearinghouse.scans.allowlist import (
    CSV_HEADER,
    AllowEntry,
    from_json,
    to_csv,
    to_json,
    to_stix,
)

START = datetime(2026, 4, 1, 8, tzinfo=UTC)
END = datetime(2026, 4, 3, 18, tzinfo=UTC)
NOW = datetime(2026, 3, 20, tzinfo=UTC)


def _entry(**overrides: object) -> AllowEntry:
    fields: dict[str, object] = {
        "campaign_ticket": "SCAN-42",
        "organization": "Example Lab",
        "contact": "scans@example.org",
        "sources": ("203.0.113.7/32", "2001:db8:10::/48"),
        "start": START,
        "end": END,
        "technique": "TLS fingerprinting",
    }
    fields.update(overrides)
    return AllowEntry(**fields)  # type: ignore[arg-type]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_has_header_one_row_per_source_and_crlf() -> None:
    text = to_csv([_entry()])
    assert text.endswith("\r\n")
    rows = _rows(text)
    assert rows[0] == list(CSV_HEADER)
    assert [row[3] for row in rows[1:]] == ["203.0.113.7/32", "2001:db8:10::/48"]
    assert rows[1][4:6] == ["2026-04-01T08:00:00Z", "2026-04-03T18:00:00Z"]


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://x")', "+1 555 0100", "-2+3", "@SUM(A1)"])
def test_csv_formula_cells_are_neutralised(payload: str) -> None:
    rows = _rows(to_csv([_entry(organization=payload, contact=payload)]))
    assert rows[1][1] == "'" + payload
    assert rows[1][2] == "'" + payload
    # Ordinary text is untouched.
    assert rows[1][0] == "SCAN-42"


def test_csv_quotes_per_rfc4180() -> None:
    text = to_csv([_entry(technique='banner grab, "safe" mode\nonly')])
    assert '"banner grab, ""safe"" mode\nonly"' in text
    assert _rows(text)[1][6] == 'banner grab, "safe" mode\nonly'


def test_sources_are_normalised() -> None:
    entry = _entry(sources=("2001:DB8:10::/48", "203.0.113.7", "198.51.100.0/24", "203.0.113.7/32"))
    assert entry.sources == ("198.51.100.0/24", "203.0.113.7/32", "2001:db8:10::/48")


@pytest.mark.parametrize(
    "overrides",
    [
        {"sources": ()},
        {"sources": ("10.0.0.5/24",)},  # host bits set: which was meant?
        {"sources": ("not-an-ip",)},
        {"end": START},
        {"start": START.replace(tzinfo=None)},
        {"campaign_ticket": " "},
    ],
)
def test_entry_refuses_unusable_rows(overrides: dict[str, object]) -> None:
    with pytest.raises(InputError):
        _entry(**overrides)


def test_json_round_trip_and_stable_bytes() -> None:
    other_zone = timezone(timedelta(hours=2))
    entries = [
        _entry(),
        _entry(
            campaign_ticket="SCAN-7",
            organization="=Other",
            sources=("192.0.2.0/28",),
            start=datetime(2026, 5, 1, 10, tzinfo=other_zone),
            end=datetime(2026, 5, 2, 10, tzinfo=other_zone),
        ),
    ]
    data = to_json(entries)
    assert data == to_json(list(reversed(entries)))
    back = from_json(data)
    assert sorted(back, key=lambda e: e.campaign_ticket) == sorted(
        entries, key=lambda e: e.campaign_ticket
    )
    # JSON is data, not a spreadsheet: no quote prefix, timestamps in UTC.
    first = orjson.loads(data)["entries"][1]
    assert first["organization"] == "=Other"
    assert first["start"] == "2026-05-01T08:00:00Z"


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        (b'{"items": []}', "/entries"),
        (b'{"entries": [{"campaign_ticket": 3}]}', "/entries/0/campaign_ticket"),
        (
            b'{"entries": [{"campaign_ticket": "T", "organization": "O", "contact": "C", '
            b'"sources": "1.2.3.4"}]}',
            "/entries/0/sources",
        ),
    ],
)
def test_from_json_names_the_bad_field(document: bytes, pointer: str) -> None:
    with pytest.raises(SchemaError) as caught:
        from_json(document)
    assert caught.value.pointer == pointer


def test_stix_bundle_parses_with_one_benign_indicator_per_source() -> None:
    entries = [_entry(), _entry(campaign_ticket="SCAN-7", sources=("192.0.2.0/28",))]
    data = to_stix(entries, identity_name="Operator Corp", now=NOW)
    bundle = stix2.parse(data.decode("utf-8"), allow_custom=False)
    identities = [o for o in bundle.objects if o.type == "identity"]
    indicators = [o for o in bundle.objects if o.type == "indicator"]
    assert [i.name for i in identities] == ["Operator Corp"]
    assert sorted(i.pattern for i in indicators) == [
        "[ipv4-addr:value = '192.0.2.0/28']",
        "[ipv4-addr:value = '203.0.113.7/32']",
        "[ipv6-addr:value = '2001:db8:10::/48']",
    ]
    for indicator in indicators:
        assert indicator.indicator_types == ["benign"]
        assert indicator.valid_from == START
        assert indicator.valid_until == END
        assert indicator.created_by_ref == identities[0].id
        assert "authorized scanning campaign SCAN-" in indicator.name
        assert "by Example Lab" in indicator.name


def test_stix_ids_are_stable_across_exports() -> None:
    first = to_stix([_entry()], identity_name="Operator Corp", now=NOW)
    assert first == to_stix([_entry()], identity_name="Operator Corp", now=NOW)

    def indicator_ids(data: bytes) -> set[str]:
        return {o["id"] for o in orjson.loads(data)["objects"] if o["type"] == "indicator"}

    later = to_stix([_entry()], identity_name="Operator Corp", now=NOW + timedelta(days=1))
    assert indicator_ids(later) == indicator_ids(first)
    other_ticket = to_stix(
        [_entry(campaign_ticket="SCAN-43")], identity_name="Operator Corp", now=NOW
    )
    assert indicator_ids(other_ticket).isdisjoint(indicator_ids(first))


def test_stix_refuses_the_same_source_twice_in_one_campaign() -> None:
    later = _entry(start=END + timedelta(days=1), end=END + timedelta(days=2))
    with pytest.raises(InputError, match="two entries"):
        to_stix([_entry(), later], identity_name="Operator Corp", now=NOW)
