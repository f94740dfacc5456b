"""Reads the web pages need beyond the API's: the triage queue with validation verdicts, a
vulnerability's validation runs, and the engagements a viewer may see.

The same visibility as the API, from the same pieces: a vulnerability is listed when one of its
findings is visible (``intake.service.finding_visible``), its summary comes from
``dedup.queries.summarize`` (visible findings only), and its verdict only from runs of visible
findings, so nothing restricted leaks through a page. Restricted reads are audited
(``read_flow.audit_restricted``) in the transaction that reads them, as the API's are.

Each page is a fixed number of queries whatever its size: no query per row. The web views only
check the role and render what these return; they decide no visibility themselves.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from clearinghouse.access.models import Organization
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.clock import Clock
from clearinghouse.dedup import queries as dedup_queries
from clearinghouse.evaluation.models import AccessGrant, Designation, Engagement, FrontierModel
from clearinghouse.infra.db import Database
from clearinghouse.intake.models import Finding, FindingContent
from clearinghouse.intake.service import finding_visible
from clearinghouse.pipeline import eval_flow, read_flow
from clearinghouse.validation.models import Target, ValidationRun
from clearinghouse.vulns.models import Vulnerability

PAGE_SIZE = 50

# What the triage queue says about validation, strongest first.
REPRODUCED = "reproduced"
PENDING = "pending"
NOT_REPRODUCED = "not_reproduced"
INCONCLUSIVE = "inconclusive"  # the run failed, or the build or harness did
UNVALIDATED = "unvalidated"  # no run (no proof, or no registered target)
VERDICTS = (REPRODUCED, PENDING, NOT_REPRODUCED, INCONCLUSIVE, UNVALIDATED)


def overall_verdict(runs: Iterable[tuple[str, str | None]]) -> str:
    """One verdict for a vulnerability from its visible runs' ``(status, verdict)``: reproduced
    if any run reproduced it, else pending while a run is queued or running, else not
    reproduced, else inconclusive; unvalidated without any run."""
    seen = list(runs)
    if not seen:
        return UNVALIDATED
    if any(verdict == REPRODUCED for _, verdict in seen):
        return REPRODUCED
    if any(status in ("queued", "running") for status, _ in seen):
        return PENDING
    if any(verdict == NOT_REPRODUCED for _, verdict in seen):
        return NOT_REPRODUCED
    return INCONCLUSIVE


@dataclass(frozen=True, slots=True)
class TriageRow:
    id: str
    title: str
    status: str
    tlp: str
    cwe: int | None
    findings: int
    finders: tuple[str, ...]
    aliases: tuple[str, ...]
    verdict: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TriagePage:
    rows: tuple[TriageRow, ...]
    total: int
    page: int
    page_size: int
    search: str
    verdict: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.page_size + len(self.rows)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(viewer: Viewer, search: str, verdict: str) -> list[ColumnElement[bool]]:
    """Which vulnerabilities the page lists. Visibility is a correlated EXISTS (walking the
    newest first, the page stops after 50); the filters are uncorrelated IN sets, computed once
    from the few matching contents or runs instead of once per vulnerability."""
    visible = finding_visible(viewer)

    def with_visible_finding(*extra: ColumnElement[bool]) -> Select[int]:
        return select(Finding.vulnerability_id).where(visible, *extra)

    def with_run(*extra: ColumnElement[bool]) -> Select[int]:
        return (
            select(Finding.vulnerability_id)
            .join(ValidationRun, ValidationRun.finding_id == Finding.id)
            .where(visible, *extra)
        )

    conditions: list[ColumnElement[bool]] = [
        Vulnerability.status != "merged",
        exists(select(Finding.id).where(Finding.vulnerability_id == Vulnerability.id, visible)),
    ]
    needle = search.strip()
    if needle:
        pattern = f"%{_escape_like(needle)}%"
        matching = select(FindingContent.digest).where(
            or_(
                FindingContent.title.ilike(pattern, escape="\\"),
                FindingContent.aliases.ilike(pattern, escape="\\"),
            )
        )
        conditions.append(
            or_(
                Vulnerability.public_id == needle.upper(),
                Vulnerability.id.in_(with_visible_finding(Finding.content_digest.in_(matching))),
            )
        )
    if verdict:
        reproduced = Vulnerability.id.in_(with_run(ValidationRun.verdict == REPRODUCED))
        pending = Vulnerability.id.in_(with_run(ValidationRun.status.in_(("queued", "running"))))
        not_reproduced = Vulnerability.id.in_(with_run(ValidationRun.verdict == NOT_REPRODUCED))
        some_run = Vulnerability.id.in_(with_run())
        conditions.extend(
            {
                REPRODUCED: [reproduced],
                PENDING: [not_(reproduced), pending],
                NOT_REPRODUCED: [not_(reproduced), not_(pending), not_reproduced],
                INCONCLUSIVE: [not_(reproduced), not_(pending), not_(not_reproduced), some_run],
                UNVALIDATED: [not_(some_run)],
            }[verdict]
        )
    return conditions


def _verdicts(session: Session, viewer: Viewer, vuln_ids: Sequence[int]) -> dict[int, str]:
    runs: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    if vuln_ids:
        for vuln_id, status, verdict in session.execute(
            select(Finding.vulnerability_id, ValidationRun.status, ValidationRun.verdict)
            .join(Finding, Finding.id == ValidationRun.finding_id)
            .where(Finding.vulnerability_id.in_(vuln_ids), finding_visible(viewer))
            .distinct()
        ):
            runs[vuln_id].append((status, verdict))
    return {vuln_id: overall_verdict(runs[vuln_id]) for vuln_id in vuln_ids}


def triage_page(
    db: Database,
    *,
    viewer: Viewer,
    clock: Clock,
    search: str = "",
    verdict: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> TriagePage:
    """One page of the vulnerabilities ``viewer`` may see, newest first: six queries (count,
    page, two for the summaries, verdicts, and the audit of restricted rows)."""
    if verdict and verdict not in VERDICTS:
        verdict = ""
    conditions = _conditions(viewer, search, verdict)
    with db.session() as session:
        total = session.scalar(select(func.count(Vulnerability.id)).where(*conditions)) or 0
        vulns = list(
            session.scalars(
                select(Vulnerability)
                .where(*conditions)
                .order_by(Vulnerability.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        )
        summaries, _ = dedup_queries.summarize(session, viewer=viewer, vulns=vulns)
        verdicts = _verdicts(session, viewer, [v.id for v in vulns])
        read_flow.audit_restricted(
            session,
            clock=clock,
            viewer=viewer,
            object_type="vulnerability",
            items=[(s.id, s.tlp) for s in summaries],
        )
        rows = tuple(
            TriageRow(
                id=summary.id,
                title=summary.title,
                status=summary.status,
                tlp=summary.tlp,
                cwe=summary.cwe,
                findings=summary.findings,
                finders=summary.finders,
                aliases=summary.aliases,
                verdict=verdicts[vuln.id],
                created_at=vuln.created_at,
            )
            for vuln, summary in zip(vulns, summaries, strict=True)
        )
    return TriagePage(
        rows=rows,
        total=total,
        page=page,
        page_size=page_size,
        search=search.strip(),
        verdict=verdict,
    )


def validation_runs(
    db: Database, *, viewer: Viewer, clock: Clock, finding_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """The runs of these findings, newest first, with their logs (the caller passes findings
    the viewer may see; visibility is applied again here). Restricted reads are audited."""
    if not finding_ids:
        return []
    with db.session() as session:
        rows = session.execute(
            select(ValidationRun, Target.name, Finding.tlp)
            .join(Finding, Finding.id == ValidationRun.finding_id)
            .join(Target, Target.id == ValidationRun.target_id)
            .where(ValidationRun.finding_id.in_(finding_ids), finding_visible(viewer))
            .order_by(ValidationRun.id.desc())
        ).all()
        read_flow.audit_restricted(
            session,
            clock=clock,
            viewer=viewer,
            object_type="validation_run",
            items=[(str(run.id), tlp) for run, _, tlp in rows],
        )
        return [
            {
                "id": run.id,
                "finding": run.finding_id,
                "target": target,
                "status": run.status,
                "verdict": run.verdict,
                "validated": run.verdict == REPRODUCED,
                "repetitions": run.repetitions,
                "reproductions": run.reproductions,
                "sanitizer": run.sanitizer,
                "crash_type": run.crash_type,
                "crash_state": orjson.loads(run.crash_state) if run.crash_state else [],
                "severity": run.severity,
                "security": run.security,
                "signature": run.signature,
                "isolation": run.isolation,
                "error": run.error,
                "log": run.log,
                "created_at": run.created_at,
                "finished_at": run.finished_at,
            }
            for run, target, _ in rows
        ]


def engagements(db: Database, *, viewer: Viewer) -> list[dict[str, Any]]:
    """Engagements ``viewer`` may open: the government side sees all, a developer its own
    models', anyone else those it holds an access grant on (as ``show_engagement`` allows).
    Three queries."""
    query = (
        select(Engagement, FrontierModel, Organization.name)
        .join(FrontierModel, FrontierModel.id == Engagement.model_id)
        .join(Organization, Organization.id == FrontierModel.developer_id)
    )
    if not eval_flow.is_government(viewer):
        granted = exists(
            select(AccessGrant.id).where(
                AccessGrant.engagement_id == Engagement.id,
                AccessGrant.organization_id == viewer.organization_id,
            )
        )
        query = query.where(or_(FrontierModel.developer_id == viewer.organization_id, granted))
    with db.session() as session:
        rows = session.execute(query.order_by(Engagement.id.desc())).all()
        latest: dict[int, Designation] = {}
        if rows:
            for designation in session.scalars(
                select(Designation)
                .where(Designation.engagement_id.in_([e.id for e, _, _ in rows]))
                .order_by(Designation.id)
            ):
                latest[designation.engagement_id] = designation
        return [
            {
                "id": engagement.id,
                "model": model.name,
                "version": model.version,
                "developer": developer,
                "planned_release": model.planned_release,
                "status": engagement.status,
                "opened_at": engagement.opened_at,
                "outcome": latest[engagement.id].outcome if engagement.id in latest else None,
                "designation_status": (
                    latest[engagement.id].status if engagement.id in latest else None
                ),
                "window_closes_at": engagement.window_closes_at,
            }
            for engagement, model, developer in rows
        ]
