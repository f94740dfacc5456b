"""Administrative writes shared by the CLI, the API and the demo, each with its audit record.

Creating organizations and tokens and sharing a submission are one transaction each: the change
and the audit event that records it commit together or not at all.
"""

from __future__ import annotations

from typing import Any

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import PermissionDeniedError
from clearinghouse.infra.db import Database
from clearinghouse.intake import service as intake_service


def create_organization(
    db: Database,
    *,
    viewer: Viewer,
    name: str,
    kind: OrgKind,
    sector: Sector | None,
    clock: Clock,
) -> dict[str, Any]:
    with db.session() as session:
        org = access_service.create_org(session, name=name, kind=kind, sector=sector, clock=clock)
        audit_service.append(
            session,
            clock=clock,
            viewer=viewer,
            action="organization.create",
            object_type="organization",
            object_id=org.id,
            detail={"name": org.name, "kind": org.kind},
        )
        return {"id": org.id, "name": org.name, "kind": org.kind, "sector": org.sector}


def create_token(
    db: Database, *, viewer: Viewer, organization: str, role: Role, clock: Clock
) -> dict[str, Any]:
    """The secret is in the answer, once; only its hash is stored."""
    with db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        token, secret = access_service.create_token(session, org=org, role=role, clock=clock)
        audit_service.append(
            session,
            clock=clock,
            viewer=viewer,
            action="token.create",
            object_type="token",
            object_id=token.id,
            detail={"org": org.name, "role": role.value},
        )
        return {"id": token.id, "organization": org.name, "role": role.value, "token": secret}


def share_submission(
    db: Database, *, viewer: Viewer, submission_id: int, organization: str, clock: Clock
) -> dict[str, Any]:
    """Grant one more organization a restricted submission (a named recipient, for RED).

    Only the submitting organization shares its own submission; the local operator may too.
    """
    with db.session() as session:
        submission = intake_service.get_submission_or_raise(
            session, viewer=viewer, submission_id=submission_id
        )
        if not viewer.superuser and submission.organization_id != viewer.organization_id:
            raise PermissionDeniedError("only the submitting organization shares its submission")
        grantee = access_service.get_org_by_name_or_raise(session, name=organization)
        added = access_service.grant(
            session,
            resource_kind=intake_service.RESOURCE_KIND,
            resource_id=submission.id,
            org=grantee,
            clock=clock,
        )
        audit_service.append(
            session,
            clock=clock,
            viewer=viewer,
            action="submission.grant",
            object_type="submission",
            object_id=submission.id,
            tlp=submission.tlp,
            detail={"org": grantee.name},
        )
        return {"submission": submission.id, "organization": grantee.name, "added": added}
