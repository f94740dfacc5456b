"""Append to and verify the audit log.

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the
``BEGIN IMMEDIATE`` write lock every transaction takes. The event and the chain head are written
in the caller's transaction, so an action and its audit record commit or vanish together.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from clearinghouse.audit.chain import GENESIS, EventFields, Verdict, event_hash, verify
from clearinghouse.audit.models import AuditEvent, AuditHead
from clearinghouse.core.clock import Clock

_LOCK_KEY = 0x434841554454  # "CHAUDT"
_HEAD_ID = 1


class Actor(Protocol):
    """Whoever acts; ``access.visibility.Viewer`` fits without audit importing access."""

    @property
    def label(self) -> str: ...

    @property
    def audit_organization(self) -> str | None: ...


def append(
    session: Session,
    *,
    clock: Clock,
    viewer: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    tlp: str | None = None,
    detail: dict[str, object] | None = None,
) -> AuditEvent:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    head = session.get(AuditHead, _HEAD_ID, with_for_update=True)
    prev_seq, prev_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
    fields = EventFields(
        seq=prev_seq + 1,
        at=clock.now(),
        actor=viewer.label,
        organization=viewer.audit_organization,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        tlp=tlp,
        detail=orjson.dumps(detail or {}, option=orjson.OPT_SORT_KEYS).decode(),
        prev_hash=prev_hash,
    )
    digest = event_hash(fields)
    event = AuditEvent(
        seq=fields.seq,
        at=fields.at,
        actor=fields.actor,
        organization=fields.organization,
        action=fields.action,
        object_type=fields.object_type,
        object_id=fields.object_id,
        tlp=fields.tlp,
        detail=fields.detail,
        prev_hash=fields.prev_hash,
        hash=digest,
    )
    session.add(event)
    if head is None:
        session.add(AuditHead(id=_HEAD_ID, seq=fields.seq, hash=digest))
    else:
        head.seq, head.hash = fields.seq, digest
    session.flush()
    return event


def fields_of(event: AuditEvent) -> EventFields:
    """The hashed fields of a stored event."""
    return EventFields(
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        organization=event.organization,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        tlp=event.tlp,
        detail=event.detail,
        prev_hash=event.prev_hash,
    )


def _stored(session: Session) -> Iterator[tuple[EventFields, str]]:
    rows = session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    )
    for (event,) in rows:
        yield fields_of(event), event.hash


def verify_chain(session: Session) -> Verdict:
    head = session.get(AuditHead, _HEAD_ID)
    return verify(_stored(session), head=(head.seq, head.hash) if head else None)


def recent(session: Session, *, limit: int = 50) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)))
