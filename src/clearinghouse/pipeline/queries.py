"""Reads the web pages need beyond the API's: the triage queue with validation verdicts, a
vulnerability's validation runs, timeline and exposure, and the engagements a viewer may see.

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
from clearinghouse.access.roles import Action, OrgKind, may
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit.models import AuditEvent
from clearinghouse.cases.models import Case, CaseVulnerability, Participant
from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import InputError
from clearinghouse.dedup import queries as dedup_queries
from clearinghouse.dedup.models import Separation
from clearinghouse.evaluation.models import AccessGrant, Designation, Engagement, FrontierModel
from clearinghouse.infra.db import Database
from clearinghouse.intake.models import Finding, FindingContent
from clearinghouse.intake.service import finding_visible
from clearinghouse.pipeline import eval_flow, inventory_flow, read_flow, triage_signals
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.prioritization.queue import QueuePriority
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
    priority: QueuePriority
    duplicates: int  # open suggestions of a duplicate the viewer may see


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
    """One page of the vulnerabilities ``viewer`` may see, newest first: nine queries (count,
    page, two for the summaries, verdicts, three for the priority and duplicate signals
    (``triage_signals``), and the audit of restricted rows)."""
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
        signals = triage_signals.row_signals(
            session,
            viewer=viewer,
            aliases={v.id: s.aliases for v, s in zip(vulns, summaries, strict=True)},
            reproduced={v.id: verdicts[v.id] == REPRODUCED for v in vulns},
        )
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
                priority=signals[vuln.id].priority,
                duplicates=signals[vuln.id].duplicates,
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


# --- the vulnerability page: its timeline and exposure -----------------------------------------

# Audit actions that changed which findings a vulnerability holds; the log is their only record.
_REGROUPING = ("vulnerability.merge", "vulnerability.merge_by_signature", "vulnerability.split")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One dated event on a vulnerability's page; ``link`` is a page of this site or None."""

    at: dt.datetime
    kind: str  # reported | validation | merge | split | case | advisory
    text: str
    link: str | None = None
    link_text: str = ""


def _instant(value: dt.datetime | str) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def _named(detail: dict[str, Any], key: str) -> list[str]:
    value = detail.get(key)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def vuln_timeline(
    db: Database,
    *,
    viewer: Viewer,
    public_id: str,
    findings: Sequence[dict[str, Any]],
    runs: Sequence[dict[str, Any]],
) -> list[TimelineEntry]:
    """What happened to a vulnerability, oldest first, as ``viewer`` may know it: the reports of
    the findings and the runs the page already read (visible ones only), the merges and splits
    naming it (from the audit log, their only record; another vulnerability is named only if
    the viewer may see it), and the cases it is part of with their advisories (coordinators:
    every case; others: the cases they take part in). Five queries."""
    entries = [
        TimelineEntry(
            at=_instant(f["created_at"]),
            kind="reported",
            text=f"Finding #{f['id']} reported by {f['organization']}",
            link=f"#finding-{f['id']}",
            link_text=str(f["title"]),
        )
        for f in findings
    ]
    for run in runs:
        entries.append(
            TimelineEntry(
                at=_instant(run["created_at"]),
                kind="validation",
                text=f"Validation run {run['id']} queued for finding #{run['finding']}",
                link=f"#run-{run['id']}",
                link_text=f"run {run['id']}",
            )
        )
        if run["finished_at"] is not None:
            outcome = (run["verdict"] or run["status"]).replace("_", " ")
            entries.append(
                TimelineEntry(
                    at=_instant(run["finished_at"]),
                    kind="validation",
                    text=f"Validation run {run['id']} finished: {outcome}",
                    link=f"#run-{run['id']}",
                    link_text=f"run {run['id']}",
                )
            )
    with db.session() as session:
        vuln_id = session.scalar(
            select(Vulnerability.id).where(Vulnerability.public_id == public_id)
        )
        # A split is logged on the vulnerability it left, which stays separated from this one.
        partners = list(
            session.scalars(
                select(Vulnerability.public_id).where(
                    Vulnerability.id.in_(
                        select(Separation.vulnerability_b)
                        .where(Separation.vulnerability_a == vuln_id)
                        .union(
                            select(Separation.vulnerability_a).where(
                                Separation.vulnerability_b == vuln_id
                            )
                        )
                    )
                )
            )
        )
        logged = list(
            session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.object_type == "vulnerability",
                    AuditEvent.object_id.in_([public_id, *partners]),
                    AuditEvent.action.in_(_REGROUPING),
                )
                .order_by(AuditEvent.seq)
            )
        )
        events = [
            event
            for event in logged
            if event.object_id == public_id
            or public_id in _named(orjson.loads(event.detail or "{}"), "new")
        ]
        details = {event.seq: orjson.loads(event.detail or "{}") for event in events}
        others = {
            name
            for event in events
            for name in (
                event.object_id,
                *_named(details[event.seq], "merged"),
                *_named(details[event.seq], "new"),
            )
            if name != public_id
        }
        visible = set(
            session.scalars(
                select(Vulnerability.public_id).where(
                    Vulnerability.public_id.in_(sorted(others)),
                    exists(
                        select(Finding.id).where(
                            Finding.vulnerability_id
                            == func.coalesce(Vulnerability.merged_into_id, Vulnerability.id),
                            finding_visible(viewer),
                        )
                    ),
                )
            )
        )
        cases: list[Case] = []
        if vuln_id is not None:
            query = (
                select(Case)
                .join(CaseVulnerability, CaseVulnerability.case_id == Case.id)
                .where(CaseVulnerability.vulnerability_id == vuln_id)
                .order_by(Case.id)
            )
            if not (viewer.superuser or viewer.kind is OrgKind.COORDINATOR):
                query = query.where(
                    exists(
                        select(Participant.id).where(
                            Participant.case_id == Case.id,
                            Participant.organization_id == viewer.organization_id,
                        )
                    )
                )
            cases = list(session.scalars(query))

    def name(other: str) -> str:
        return other if other in visible else "another vulnerability"

    for event in events:
        detail = details[event.seq]
        by = event.organization or "the clearinghouse"
        if event.action == "vulnerability.split":
            new = _named(detail, "new")
            moved = len(_named(detail, "findings"))
            if event.object_id == public_id:
                text = f"{moved} finding(s) split off into {name(new[0]) if new else '?'} by {by}"
            else:
                text = f"Split off from {name(event.object_id)} by {by}"
            entries.append(TimelineEntry(at=event.at, kind="split", text=text))
        elif event.object_id == public_id:
            merged = ", ".join(name(other) for other in _named(detail, "merged")) or "?"
            how = "by crash signature" if event.action.endswith("by_signature") else f"by {by}"
            entries.append(TimelineEntry(event.at, "merge", f"Merged {merged} into this {how}"))
        else:
            entries.append(
                TimelineEntry(event.at, "merge", f"Merged into {name(event.object_id)} by {by}")
            )
    for case in cases:
        entries.append(
            TimelineEntry(
                at=case.created_at,
                kind="case",
                text=f"Case {case.public_id} opened",
                link=f"/cases/{case.public_id}",
                link_text=case.public_id,
            )
        )
        if case.published_at is not None:
            entries.append(
                TimelineEntry(
                    at=case.published_at,
                    kind="advisory",
                    text=f"Advisory of case {case.public_id} published",
                    link=f"/cases/{case.public_id}/advisory",
                    link_text="advisory",
                )
            )
    order = {"reported": 0, "validation": 1, "merge": 2, "split": 2, "case": 3, "advisory": 4}
    return sorted(entries, key=lambda e: (_instant(e.at), order[e.kind]))


def vuln_exposure(rt: Runtime, *, viewer: Viewer, public_id: str) -> dict[str, Any] | None:
    """The exposure by sector for the vulnerability page: None for a viewer who is not a
    coordinator (the page shows nothing then, not even that it exists); for a vulnerability
    naming no package and version, ``{"unavailable": reason}``. Reading it is audited."""
    if not (viewer.superuser or viewer.kind is OrgKind.COORDINATOR):
        return None
    try:
        doc = inventory_flow.exposure(rt, viewer=viewer, vuln_id=public_id)
    except InputError as error:
        return {"unavailable": error.detail}
    sectors: dict[str, list[str]] = defaultdict(list)
    for entry in doc["organizations"]:
        sectors[entry["sector"] or "unspecified"].append(entry["organization"])
    doc["sectors"] = [
        {"sector": sector, "count": doc["by_sector"][sector], "organizations": names}
        for sector, names in sorted(sectors.items())
    ]
    return doc


def may_regroup(viewer: Viewer) -> bool:
    """Whether ``viewer`` may merge and split vulnerabilities (``triage_flow``'s rule: the
    triage role of a coordinator, or the local operator), so a page offers the forms."""
    allowed = may(role=viewer.role, kind=viewer.kind, action=Action.TRIAGE)
    return allowed and (viewer.superuser or viewer.kind is OrgKind.COORDINATOR)
