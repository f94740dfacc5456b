"""The pure rules of the hash chain: how an event is hashed and how a chain is checked.

An event's hash covers its sequence number, the previous hash and every field, encoded as a
JSON array (so no two different events can encode alike). Verification walks the events in
sequence order and reports the first one whose content, order or presence is wrong.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class EventFields:
    seq: int
    at: dt.datetime
    actor: str
    organization: str | None
    action: str
    object_type: str
    object_id: str
    tlp: str | None
    detail: str
    prev_hash: str


def event_hash(fields: EventFields) -> str:
    encoded = orjson.dumps(
        [
            fields.seq,
            fields.prev_hash,
            fields.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            fields.actor,
            fields.organization,
            fields.action,
            fields.object_type,
            fields.object_id,
            fields.tlp,
            fields.detail,
        ]
    )
    return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(events: Iterable[tuple[EventFields, str]], *, head: tuple[int, str] | None) -> Verdict:
    """Check ``(fields, stored_hash)`` pairs in stored sequence order against the head."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    for fields, stored_hash in events:
        count += 1
        if fields.seq != expected_seq:
            return Verdict(False, count, fields.seq, f"event {expected_seq} is missing or moved")
        if fields.prev_hash != expected_prev:
            return Verdict(False, count, fields.seq, "previous-hash link is broken (reordered?)")
        if event_hash(fields) != stored_hash:
            return Verdict(False, count, fields.seq, "content does not match its hash (edited)")
        expected_prev = stored_hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if head is None:
        if count:
            return Verdict(False, count, 1, "chain head is missing")
        return Verdict(True, 0)
    head_seq, head_hash = head
    if head_seq != last_seq or head_hash != expected_prev:
        return Verdict(
            False, count, last_seq + 1, f"events after {last_seq} are missing (head is {head_seq})"
        )
    return Verdict(True, count)
