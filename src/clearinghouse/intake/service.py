"""Queries and commands on submissions and findings, with TLP visibility applied."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from clearinghouse.access.models import Organization
from clearinghouse.access.visibility import Viewer, visible_clause
from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import NotFoundError
from clearinghouse.infra.bulk import bind_value, insert_rows, table_of
from clearinghouse.intake.finding_rows import CONTENT_COLUMNS, FINDING_COLUMNS
from clearinghouse.intake.models import Finding, FindingContent, Submission

RESOURCE_KIND = "submission"  # grants are per submission; findings inherit them


def finding_visible(viewer: Viewer) -> ColumnElement[bool]:
    return visible_clause(
        viewer,
        tlp=Finding.tlp,
        owner_id=Finding.organization_id,
        resource_kind=RESOURCE_KIND,
        resource_id=Finding.submission_id,
    )


def submission_visible(viewer: Viewer) -> ColumnElement[bool]:
    return visible_clause(
        viewer,
        tlp=Submission.tlp,
        owner_id=Submission.organization_id,
        resource_kind=RESOURCE_KIND,
        resource_id=Submission.id,
    )


def get_by_digest(session: Session, *, organization_id: int, sha256: str) -> Submission | None:
    return session.scalars(
        select(Submission).where(
            Submission.organization_id == organization_id, Submission.sha256 == sha256
        )
    ).first()


def create_submission(
    session: Session,
    *,
    org: Organization,
    sha256: str,
    size: int,
    format: str,
    producer: str | None,
    tlp: str,
    target: str | None,
    submitted_by: str,
    clock: Clock,
) -> Submission:
    submission = Submission(
        organization_id=org.id,
        sha256=sha256,
        size=size,
        format=format,
        producer=producer[:500] if producer else None,
        tlp=tlp,
        target=target,
        finding_count=0,
        new_vulnerabilities=0,
        duplicates=0,
        submitted_by=submitted_by,
        created_at=clock.now(),
    )
    session.add(submission)
    session.flush()
    return submission


def insert_findings(session: Session, *, rows: Sequence[tuple[Any, ...]]) -> None:
    """Occurrence rows in ``finding_rows.FINDING_COLUMNS`` order; their contents must exist."""
    insert_rows(session, table_of(Finding), FINDING_COLUMNS, rows)


def insert_contents(session: Session, *, rows: Sequence[tuple[Any, ...]]) -> None:
    """Content rows in ``CONTENT_COLUMNS`` order; a digest already stored is left as it is."""
    insert_rows(
        session, table_of(FindingContent), CONTENT_COLUMNS, rows, on_conflict_ignore=("digest",)
    )


def bound_created_at(session: Session, value: dt.datetime) -> object:
    return bind_value(session, table_of(Finding), "created_at", value)


def get_submission_or_raise(session: Session, *, viewer: Viewer, submission_id: int) -> Submission:
    submission = session.scalars(
        select(Submission).where(Submission.id == submission_id, submission_visible(viewer))
    ).first()
    if submission is None:
        raise NotFoundError(f"submission {submission_id} does not exist")
    return submission


def list_submissions(
    session: Session, *, viewer: Viewer, limit: int, offset: int
) -> list[tuple[Submission, str]]:
    rows = session.execute(
        select(Submission, Organization.name)
        .join(Organization, Organization.id == Submission.organization_id)
        .where(submission_visible(viewer))
        .order_by(Submission.id)
        .limit(limit)
        .offset(offset)
    )
    return [(row[0], row[1]) for row in rows]


def get_finding_or_raise(session: Session, *, viewer: Viewer, finding_id: int) -> Finding:
    finding = session.scalars(
        select(Finding).where(Finding.id == finding_id, finding_visible(viewer))
    ).first()
    if finding is None:
        raise NotFoundError(f"finding {finding_id} does not exist")
    return finding


def list_findings(
    session: Session,
    *,
    viewer: Viewer,
    submission_id: int | None = None,
    vulnerability_ids: Sequence[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Finding]:
    query = select(Finding).where(finding_visible(viewer))
    if submission_id is not None:
        query = query.where(Finding.submission_id == submission_id)
    if vulnerability_ids is not None:
        query = query.where(Finding.vulnerability_id.in_(list(vulnerability_ids)))
    query = query.order_by(Finding.submission_id, Finding.seq).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def findings_of_submission_with_details(
    session: Session, *, submission_id: int
) -> list[tuple[int, str | None, str | None]]:
    """(finding id, details JSON, target) of a submission's findings, in document order."""
    rows = session.execute(
        select(Finding.id, FindingContent.details, FindingContent.target)
        .join(FindingContent, Finding.content_digest == FindingContent.digest)
        .where(Finding.submission_id == submission_id)
        .order_by(Finding.seq)
    )
    return [(row[0], row[1], row[2]) for row in rows]
