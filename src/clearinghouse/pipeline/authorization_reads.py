"""Reads of the scan authorizations an owner has granted, and its kill switch, for the owner.

``scan_flow`` writes them (authorize, revoke, kill switch) and decides campaigns; this module
only answers "whom have we let scan us, on what, when, and is any of it running now?", with
one state per authorization that already accounts for the owner's kill switch. An owner sees
its own grants; coordinators any owner's; anyone else is told the owner has none to show
(404), as for any record one may not see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from clearinghouse.access import service as access_service
from clearinghouse.access.models import Organization
from clearinghouse.access.roles import OrgKind
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.errors import NotFoundError
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.scans.models import OwnerPolicy, ScanAuthorization

# What each state means to the owner, in words (the page shows the word, not only a colour).
STATES = {
    "active": "may scan in its windows",
    "scheduled": "not started yet",
    "halted": "halted by your kill switch",
    "revoked": "revoked",
    "expired": "expired",
}


def authorization_state(
    *,
    starts_at: dt.datetime,
    expires_at: dt.datetime,
    revoked_at: dt.datetime | None,
    paused: bool,
    now: dt.datetime,
) -> str:
    """``revoked``, ``expired``, ``halted`` (the owner's kill switch is on), ``scheduled`` or
    ``active``: what ends a grant for good is said before what only suspends it."""
    if revoked_at is not None and revoked_at <= now:
        return "revoked"
    if expires_at <= now:
        return "expired"
    if paused:
        return "halted"
    if starts_at > now:
        return "scheduled"
    return "active"


def _owner(session: Session, viewer: Viewer, organization: str) -> Organization:
    org = access_service.get_org_by_name_or_raise(session, name=organization)
    if not (viewer.superuser or viewer.kind is OrgKind.COORDINATOR) and (
        viewer.organization_id != org.id
    ):
        raise NotFoundError(f"no scan authorizations of {organization} to show")
    return org


def granted_by(rt: Runtime, *, viewer: Viewer, organization: str) -> dict[str, Any]:
    """The owner's kill switch and every authorization it granted, newest first."""
    now = rt.clock.now()
    scanner = aliased(Organization)
    with rt.db.session() as session:
        org = _owner(session, viewer, organization)
        policy = session.get(OwnerPolicy, org.id)
        paused_at = policy.paused_at if policy is not None else None
        rows = session.execute(
            select(ScanAuthorization, scanner.name)
            .join(scanner, scanner.id == ScanAuthorization.scanner_id)
            .where(ScanAuthorization.owner_id == org.id)
            .order_by(ScanAuthorization.created_at.desc(), ScanAuthorization.id.desc())
        ).all()
        items = [_json(row, name, paused=paused_at is not None, now=now) for row, name in rows]
    return {
        "organization": org.name,
        "kill_switch": {
            "on": paused_at is not None,
            "since": paused_at.isoformat() if paused_at else None,
        },
        "authorizations": items,
        "live": sum(1 for item in items if item["state"] in ("active", "scheduled")),
        "halted": sum(1 for item in items if item["state"] == "halted"),
    }


def _json(
    row: ScanAuthorization, scanner: str, *, paused: bool, now: dt.datetime
) -> dict[str, Any]:
    state = authorization_state(
        starts_at=row.starts_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        paused=paused,
        now=now,
    )
    return {
        "id": row.id,
        "scanner": scanner,
        "ranges": orjson.loads(row.ranges),
        "hostnames": orjson.loads(row.hostnames),
        "windows": row.windows,
        "timezone": row.timezone,
        "techniques": orjson.loads(row.techniques),
        "max_rate_pps": row.max_rate_pps,
        "max_concurrency": row.max_concurrency,
        "starts_at": row.starts_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "state": state,
        "state_text": STATES[state],
    }
