"""Analyst actions on vulnerabilities (merge, split) with their audit records."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from clearinghouse.access.roles import Action, OrgKind, require
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from clearinghouse.dedup import queries
from clearinghouse.dedup import service as dedup_service
from clearinghouse.infra.db import Database
from clearinghouse.intake.models import Finding
from clearinghouse.intake.service import finding_visible


def _require_triage(viewer: Viewer) -> None:
    require(role=viewer.role, kind=viewer.kind, action=Action.TRIAGE)
    if not viewer.superuser and viewer.kind is not OrgKind.COORDINATOR:
        raise PermissionDeniedError("only coordinator analysts merge and split vulnerabilities")


def merge(
    db: Database, *, viewer: Viewer, into: str, other: str, clock: Clock
) -> dict[str, object]:
    _require_triage(viewer)
    with db.session() as session:
        target = queries.get_visible_or_raise(session, viewer=viewer, public_id=into)
        source = queries.get_visible_or_raise(session, viewer=viewer, public_id=other)
        for asked, found in ((into, target), (other, source)):
            if found.public_id != asked.strip().upper():
                raise ConflictError(
                    f"{asked.strip().upper()} was already merged into {found.public_id}"
                )
        dedup_service.merge(session, into=target, other=source, clock=clock)
        audit_service.append(
            session,
            clock=clock,
            viewer=viewer,
            action="vulnerability.merge",
            object_type="vulnerability",
            object_id=target.public_id,
            detail={"merged": source.public_id},
        )
        return {"id": target.public_id, "merged": source.public_id}


def split(
    db: Database, *, viewer: Viewer, public_id: str, finding_ids: Sequence[int], clock: Clock
) -> dict[str, object]:
    _require_triage(viewer)
    with db.session() as session:
        vuln = queries.get_visible_or_raise(session, viewer=viewer, public_id=public_id)
        for fid in finding_ids:
            # A finding the analyst may not see is "not part of" the vulnerability for them:
            # answering otherwise would confirm that the hidden id belongs to it.
            finding = session.scalars(
                select(Finding).where(Finding.id == fid, finding_visible(viewer))
            ).first()
            if finding is None or finding.vulnerability_id != vuln.id:
                raise NotFoundError(f"finding {fid} is not part of {vuln.public_id}")
        created = dedup_service.split(
            session, vuln=vuln, finding_ids=finding_ids, actor=viewer.label, clock=clock
        )
        audit_service.append(
            session,
            clock=clock,
            viewer=viewer,
            action="vulnerability.split",
            object_type="vulnerability",
            object_id=vuln.public_id,
            detail={"new": created.public_id, "findings": list(finding_ids)},
        )
        return {"id": vuln.public_id, "new": created.public_id, "findings": list(finding_ids)}
