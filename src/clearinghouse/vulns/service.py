"""Queries and commands on canonical vulnerabilities and their ids."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import NotFoundError
from clearinghouse.core.ids import format_vuln_id, parse_vuln_id
from clearinghouse.infra.bulk import bind_value, insert_rows, table_of
from clearinghouse.vulns.models import IdCounter, Vulnerability


def allocate_numbers(session: Session, *, scope: str, count: int) -> int:
    """Reserve ``count`` consecutive numbers in ``scope`` under a row lock; return the first."""
    counter = session.get(IdCounter, scope, with_for_update=True)
    if counter is None:
        counter = IdCounter(scope=scope, next_value=1)
        session.add(counter)
        session.flush()
    first = counter.next_value
    counter.next_value = first + count
    session.flush()
    return first


def create_many(session: Session, *, count: int, clock: Clock) -> list[int]:
    """Create ``count`` new vulnerabilities; return their row ids in allocation order.

    One ``executemany`` and a read-back by public id: ``INSERT … RETURNING`` with ordered
    results runs one statement per row on SQLite, which dominated large imports.
    """
    if count <= 0:
        return []
    now = clock.now()
    first = allocate_numbers(session, scope=f"CH-{now.year}", count=count)
    table = table_of(Vulnerability)
    bound_now = bind_value(session, table, "created_at", now)
    public = [format_vuln_id(now.year, first + offset) for offset in range(count)]
    insert_rows(
        session,
        table,
        ("public_id", "status", "created_at", "updated_at"),
        [(public_id, "new", bound_now, bound_now) for public_id in public],
    )
    ids: dict[str, int] = {}
    for start in range(0, count, _READ_BACK_CHUNK):
        chunk = public[start : start + _READ_BACK_CHUNK]
        rows = session.execute(
            select(Vulnerability.public_id, Vulnerability.id).where(
                Vulnerability.public_id.in_(chunk)
            )
        )
        ids.update({row[0]: row[1] for row in rows})
    return [ids[public_id] for public_id in public]


_READ_BACK_CHUNK = 5_000


def get_by_public_id(session: Session, *, public_id: str) -> Vulnerability | None:
    parse_vuln_id(public_id)  # a clear error for a malformed id
    return session.scalars(
        select(Vulnerability).where(Vulnerability.public_id == public_id.strip().upper())
    ).first()


def get_by_public_id_or_raise(session: Session, *, public_id: str) -> Vulnerability:
    vuln = get_by_public_id(session, public_id=public_id)
    if vuln is None:
        raise NotFoundError(f"vulnerability {public_id} does not exist")
    return vuln


def resolve_merged(session: Session, *, vuln: Vulnerability) -> Vulnerability:
    """Follow ``merged_into`` links to the surviving vulnerability."""
    seen = {vuln.id}
    while vuln.merged_into_id is not None:
        target = session.get(Vulnerability, vuln.merged_into_id)
        if target is None or target.id in seen:
            break
        seen.add(target.id)
        vuln = target
    return vuln


def mark_merged(session: Session, *, ids: Sequence[int], into: int, clock: Clock) -> None:
    if not ids:
        return
    session.execute(
        update(Vulnerability)
        .where(Vulnerability.id.in_(list(ids)))
        .values(status="merged", merged_into_id=into, updated_at=clock.now())
    )
    # Earlier merges that pointed at a now-merged vulnerability point at the survivor directly.
    session.execute(
        update(Vulnerability)
        .where(Vulnerability.merged_into_id.in_(list(ids)))
        .values(merged_into_id=into)
    )


def public_ids(session: Session, *, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Vulnerability.id, Vulnerability.public_id).where(Vulnerability.id.in_(list(ids)))
    )
    return {row[0]: row[1] for row in rows}
