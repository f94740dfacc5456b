"""Queries and commands on canonical vulnerabilities and their ids."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import NotFoundError
from clearinghouse.core.ids import format_vuln_id, parse_vuln_id
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
    """Create ``count`` new vulnerabilities in one statement; return their row ids in order."""
    if count <= 0:
        return []
    now = clock.now()
    first = allocate_numbers(session, scope=f"CH-{now.year}", count=count)
    rows = [
        {
            "public_id": format_vuln_id(now.year, first + offset),
            "status": "new",
            "created_at": now,
            "updated_at": now,
        }
        for offset in range(count)
    ]
    result = session.execute(
        insert(Vulnerability).returning(Vulnerability.id, sort_by_parameter_order=True), rows
    )
    return [row[0] for row in result]


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
