"""Reads that the edges serve, each auditing the restricted records it returns.

Every read of an AMBER, AMBER+STRICT or RED record is appended to the audit log in the same
transaction as the read, naming the records, so that who saw what can always be answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from clearinghouse.access import service as access_service
from clearinghouse.access.models import Organization
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.clock import Clock
from clearinghouse.core.tlp import Tlp, most_restrictive
from clearinghouse.dedup import queries
from clearinghouse.infra.db import Database
from clearinghouse.intake import service as intake_service
from clearinghouse.intake.models import Submission
from clearinghouse.vulns import service as vulns_service
from clearinghouse.vulns.models import Vulnerability

_AUDIT_ID_LIST = 200  # ids named per read event; longer lists are counted, not listed


def audit_restricted(
    session: Session,
    *,
    clock: Clock,
    viewer: Viewer,
    object_type: str,
    items: Iterable[tuple[str, str]],
) -> None:
    """One audit event naming the AMBER/AMBER+STRICT/RED records among ``(id, tlp)`` read."""
    restricted = [(item_id, Tlp(tlp)) for item_id, tlp in items if Tlp(tlp).restricted]
    if not restricted:
        return
    ids = [item_id for item_id, _ in restricted]
    audit_service.append(
        session,
        clock=clock,
        viewer=viewer,
        action="read",
        object_type=object_type,
        object_id=ids[0] if len(ids) == 1 else f"{len(ids)} records",
        tlp=most_restrictive([tlp for _, tlp in restricted]).value,
        detail={"ids": ids[:_AUDIT_ID_LIST], "count": len(ids)},
    )


def list_vulns(
    db: Database, *, viewer: Viewer, clock: Clock, search: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    with db.session() as session:
        items = queries.list_vulnerabilities(
            session, viewer=viewer, search=search, limit=limit, offset=offset
        )
        audit_restricted(
            session,
            clock=clock,
            viewer=viewer,
            object_type="vulnerability",
            items=[(s.id, s.tlp) for s in items],
        )
        return [s.as_json() for s in items]


def show_vuln(db: Database, *, viewer: Viewer, clock: Clock, public_id: str) -> dict[str, Any]:
    with db.session() as session:
        doc = queries.show_vulnerability(session, viewer=viewer, public_id=public_id)
        audit_restricted(
            session,
            clock=clock,
            viewer=viewer,
            object_type="vulnerability",
            items=[(doc["id"], doc["tlp"])],
        )
        return doc


def submission_json(submission: Submission, organization: str) -> dict[str, Any]:
    return {
        "id": submission.id,
        "organization": organization,
        "format": submission.format,
        "producer": submission.producer,
        "sha256": submission.sha256,
        "size": submission.size,
        "tlp": submission.tlp,
        "target": submission.target,
        "findings": submission.finding_count,
        "new_vulnerabilities": submission.new_vulnerabilities,
        "duplicates": submission.duplicates,
        "created_at": submission.created_at.isoformat(),
    }


def list_submissions(
    db: Database, *, viewer: Viewer, clock: Clock, limit: int, offset: int
) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = intake_service.list_submissions(session, viewer=viewer, limit=limit, offset=offset)
        audit_restricted(
            session,
            clock=clock,
            viewer=viewer,
            object_type="submission",
            items=[(str(s.id), s.tlp) for s, _ in rows],
        )
        return [submission_json(s, org) for s, org in rows]


def show_submission(
    db: Database, *, viewer: Viewer, clock: Clock, submission_id: int
) -> dict[str, Any]:
    with db.session() as session:
        submission = intake_service.get_submission_or_raise(
            session, viewer=viewer, submission_id=submission_id
        )
        org = session.get(Organization, submission.organization_id)
        audit_restricted(
            session,
            clock=clock,
            viewer=viewer,
            object_type="submission",
            items=[(str(submission.id), submission.tlp)],
        )
        return submission_json(submission, org.name if org else "?")


def show_finding(db: Database, *, viewer: Viewer, clock: Clock, finding_id: int) -> dict[str, Any]:
    with db.session() as session:
        finding = intake_service.get_finding_or_raise(session, viewer=viewer, finding_id=finding_id)
        org = session.get(Organization, finding.organization_id)
        doc = queries.finding_json(finding, org.name if org else "?")
        vuln = session.get(Vulnerability, finding.vulnerability_id)
        doc["vulnerability"] = vuln.public_id if vuln else None
        audit_restricted(
            session,
            clock=clock,
            viewer=viewer,
            object_type="finding",
            items=[(str(finding.id), finding.tlp)],
        )
        return doc


def list_findings(
    db: Database,
    *,
    viewer: Viewer,
    clock: Clock,
    submission_id: int | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    with db.session() as session:
        findings = intake_service.list_findings(
            session, viewer=viewer, submission_id=submission_id, limit=limit, offset=offset
        )
        orgs = {o.id: o.name for o in access_service.list_orgs(session)}
        vuln_ids = {f.vulnerability_id for f in findings}
        public = vulns_service.public_ids(session, ids=sorted(vuln_ids))
        docs = []
        for finding in findings:
            doc = queries.finding_json(finding, orgs.get(finding.organization_id, "?"))
            doc["vulnerability"] = public.get(finding.vulnerability_id)
            docs.append(doc)
        audit_restricted(
            session,
            clock=clock,
            viewer=viewer,
            object_type="finding",
            items=[(str(f.id), f.tlp) for f in findings],
        )
        return docs
