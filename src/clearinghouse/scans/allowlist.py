"""An operator's allow-list of authorized scanning campaigns, exported for its SIEM.

Three renderings of the same :class:`AllowEntry` rows, all deterministic (same input, same
bytes; entry order does not matter):

* :func:`to_csv` — RFC 4180 (CRLF, minimal quoting), one row per source CIDR, for spreadsheet
  and lookup-table imports. Cells that a spreadsheet would evaluate as a formula (starting with
  ``=``, ``+``, ``-``, ``@``, and also tab or carriage return as OWASP advises) get a leading
  ``'``, because ticket, organization and contact text come from other parties.
* :func:`to_json` / :func:`from_json` — one object per entry, keys sorted, UTC timestamps.
* :func:`to_stix` — a STIX 2.1 bundle built with OASIS's ``stix2`` library: one Identity for
  the publishing operator and one ``benign`` Indicator per source, valid exactly for the
  campaign window. ``stix2`` derives deterministic ids only for cyber-observables, not for
  Identity or Indicator, so ids here are UUIDv5: the identity's from its name, an indicator's
  from ticket and source, so a re-export replaces rather than duplicates in a consuming SIEM.
  ``created`` and ``modified`` are both the export time passed in, so a re-export is a newer
  version of the same objects. Strictly, STIX wants ``created`` fixed across versions of an id;
  this stateless exporter cannot know the first export's time, which is a known deviation.

Entries are normalised on construction: sources become canonical, de-duplicated, sorted CIDRs
(a bare address becomes /32 or /128; host bits set is refused as ambiguous) and the window is
converted to UTC. This module does not decide whether a campaign is authorized, and does not
deliver the files anywhere.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
import stix2  # untyped (no py.typed in 3.0.2): see the mypy overrides

from clearinghouse.core.clock import to_utc
from clearinghouse.core.errors import InputError, SchemaError

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CSV_HEADER: Final = (
    "campaign_ticket",
    "organization",
    "contact",
    "source",
    "start",
    "end",
    "technique",
)

_FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")

# Our own namespace for UUIDv5 ids of STIX domain objects; fixed forever, or ids would change.
_STIX_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:clearinghouse:scans:allowlist:stix")


def _network(text: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as error:
        raise InputError(f"not a CIDR without host bits: {text!r} ({error})") from None


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(f"{what} must be timezone-aware")
    return to_utc(moment, what)


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One authorized campaign: who scans, from which CIDRs, when, and with what technique."""

    campaign_ticket: str
    organization: str
    contact: str
    sources: tuple[str, ...]
    start: datetime
    end: datetime
    technique: str

    def __post_init__(self) -> None:
        for name in ("campaign_ticket", "organization"):
            if not getattr(self, name).strip():
                raise InputError(f"allow-list entry {name} must not be empty")
        if not self.sources:
            raise InputError(f"campaign {self.campaign_ticket}: no source CIDR")
        networks = sorted(
            {_network(source) for source in self.sources},
            key=lambda n: (n.version, n.network_address.packed, n.prefixlen),
        )
        start = _utc(self.start, "start")
        end = _utc(self.end, "end")
        if end <= start:
            raise InputError(f"campaign {self.campaign_ticket}: end must be after start")
        # Normalised in place (frozen dataclass) so equal campaigns compare and export equal.
        object.__setattr__(self, "sources", tuple(str(n) for n in networks))
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)


def _ordered(entries: Iterable[AllowEntry]) -> list[AllowEntry]:
    return sorted(
        entries,
        key=lambda e: (
            e.campaign_ticket,
            e.start,
            e.end,
            e.organization,
            e.sources,
            e.contact,
            e.technique,
        ),
    )


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text


def to_csv(entries: Iterable[AllowEntry]) -> str:
    """RFC 4180 CSV with a header, one row per source CIDR, formula cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_HEADER)
    for entry in _ordered(entries):
        for source in entry.sources:
            row = (
                entry.campaign_ticket,
                entry.organization,
                entry.contact,
                source,
                _timestamp(entry.start),
                _timestamp(entry.end),
                entry.technique,
            )
            writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()


def to_json(entries: Iterable[AllowEntry]) -> bytes:
    """``{"entries": [...]}`` with sorted keys and entries; timestamps are UTC with ``Z``."""
    document = {
        "entries": [
            {
                "campaign_ticket": entry.campaign_ticket,
                "organization": entry.organization,
                "contact": entry.contact,
                "sources": list(entry.sources),
                "start": _timestamp(entry.start),
                "end": _timestamp(entry.end),
                "technique": entry.technique,
            }
            for entry in _ordered(entries)
        ]
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def _field(item: dict[str, Any], key: str, pointer: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise SchemaError(f"{pointer}/{key}", "a string", document="allow-list")
    return value


def _moment(item: dict[str, Any], key: str, pointer: str) -> datetime:
    text = _field(item, key, pointer)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise SchemaError(
            f"{pointer}/{key}", "an ISO 8601 timestamp", document="allow-list"
        ) from None


def from_json(data: bytes) -> list[AllowEntry]:
    """Read what :func:`to_json` wrote; :class:`SchemaError` names the first bad field."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise InputError(f"allow-list is not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise SchemaError("/entries", "an array of entries", document="allow-list")
    result: list[AllowEntry] = []
    for index, item in enumerate(document["entries"]):
        pointer = f"/entries/{index}"
        if not isinstance(item, dict):
            raise SchemaError(pointer, "an object", document="allow-list")
        # Read in field order so the error names the first bad field of the entry.
        ticket = _field(item, "campaign_ticket", pointer)
        organization = _field(item, "organization", pointer)
        contact = _field(item, "contact", pointer)
        sources = item.get("sources")
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise SchemaError(
                f"{pointer}/sources", "an array of CIDR strings", document="allow-list"
            )
        result.append(
            AllowEntry(
                campaign_ticket=ticket,
                organization=organization,
                contact=contact,
                sources=tuple(sources),
                start=_moment(item, "start", pointer),
                end=_moment(item, "end", pointer),
                technique=_field(item, "technique", pointer),
            )
        )
    return result


def stix_pattern(source: str) -> str:
    """The STIX pattern matching one canonical CIDR, e.g. ``[ipv4-addr:value = '...']``."""
    kind = "ipv4-addr" if _network(source).version == 4 else "ipv6-addr"
    return f"[{kind}:value = '{source}']"


def _stix_id(kind: str, *parts: str) -> str:
    # A JSON array of the parts is unambiguous whatever characters a ticket contains.
    name = orjson.dumps([kind, *parts]).decode("utf-8")
    return f"{kind}--{uuid.uuid5(_STIX_NAMESPACE, name)}"


def to_stix(entries: Sequence[AllowEntry], *, identity_name: str, now: datetime) -> bytes:
    """A STIX 2.1 bundle: the operator's Identity and one benign Indicator per source CIDR."""
    if not identity_name.strip():
        raise InputError("identity_name must not be empty")
    now = _utc(now, "now")
    identity = stix2.v21.Identity(
        id=_stix_id("identity", identity_name),
        name=identity_name,
        identity_class="organization",
        created=now,
        modified=now,
    )
    objects: list[Any] = [identity]
    emitted: set[tuple[str, str]] = set()
    for entry in _ordered(entries):
        title = f"authorized scanning campaign {entry.campaign_ticket} by {entry.organization}"
        description = (
            f"{title}; technique: {entry.technique}; contact: {entry.contact}; "
            f"window {_timestamp(entry.start)} to {_timestamp(entry.end)}"
        )
        for source in entry.sources:
            # The id is derived from ticket and source, so a repeat would be two objects
            # claiming one id with different windows; make the publisher merge them instead.
            if (entry.campaign_ticket, source) in emitted:
                raise InputError(
                    f"campaign {entry.campaign_ticket} lists source {source} in two entries"
                )
            emitted.add((entry.campaign_ticket, source))
            objects.append(
                stix2.v21.Indicator(
                    id=_stix_id("indicator", entry.campaign_ticket, source),
                    created_by_ref=identity.id,
                    created=now,
                    modified=now,
                    name=title,
                    description=description,
                    indicator_types=["benign"],
                    pattern=stix_pattern(source),
                    pattern_type="stix",
                    valid_from=entry.start,
                    valid_until=entry.end,
                    external_references=[
                        {"source_name": "clearinghouse", "external_id": entry.campaign_ticket}
                    ],
                )
            )
    bundle_id = _stix_id("bundle", _timestamp(now), *(str(o.id) for o in objects))
    bundle = stix2.v21.Bundle(id=bundle_id, objects=objects)
    serialized: str = bundle.serialize(sort_keys=True)
    return serialized.encode("utf-8")
