"""Vulnerabilities as one viewer may see them.

A vulnerability is visible when at least one of its findings is. Everything shown about it
(title, CWE, TLP, aliases, findings) comes from the visible findings only; the finders list
keeps its true order but names only organizations whose findings the viewer may see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from clearinghouse.access.models import Organization
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.errors import NotFoundError
from clearinghouse.core.tlp import Tlp, most_restrictive
from clearinghouse.dedup.credit import Contribution, finders
from clearinghouse.dedup.service import open_suggestions
from clearinghouse.intake.models import Finding, FindingContent
from clearinghouse.intake.service import finding_visible
from clearinghouse.vulns import service as vulns_service
from clearinghouse.vulns.models import Vulnerability


@dataclass(frozen=True, slots=True)
class VulnSummary:
    id: str
    title: str
    status: str
    tlp: str
    cwe: int | None
    findings: int
    finders: tuple[str, ...]
    first_finder: str
    aliases: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "tlp": self.tlp,
            "cwe": self.cwe,
            "findings": self.findings,
            "finders": list(self.finders),
            "first_finder": self.first_finder,
            "aliases": list(self.aliases),
        }


def finding_json(finding: Finding, organization: str) -> dict[str, Any]:
    content = finding.content
    return {
        "id": finding.id,
        "submission": finding.submission_id,
        "organization": organization,
        "tlp": finding.tlp,
        "producer": content.producer,
        "producer_version": content.producer_version,
        "rule_id": content.rule_id,
        "title": content.title,
        "description": content.description,
        "cwes": orjson.loads(content.cwes),
        "severity": content.severity,
        "level": content.level,
        "security_severity": content.security_severity,
        "location": {
            "path": content.path,
            "function": content.function,
            "start_line": content.start_line,
            "end_line": content.end_line,
        },
        "target": content.target,
        "version": content.version,
        "aliases": orjson.loads(content.aliases),
        "fingerprints": orjson.loads(content.fingerprints),
        "suppressed": content.suppressed,
        "pointer": finding.pointer,
        "details": orjson.loads(content.details),
        "created_at": finding.created_at.isoformat(),
    }


def _visible_vulns_query(viewer: Viewer, search: str | None) -> Any:
    def some_visible_finding(*extra: Any) -> Any:
        return exists(
            select(Finding.id).where(
                Finding.vulnerability_id == Vulnerability.id, finding_visible(viewer), *extra
            )
        )

    query = select(Vulnerability).where(Vulnerability.status != "merged", some_visible_finding())
    if search and search.strip():
        needle = f"%{search.strip()}%"
        matching_content = exists(
            select(FindingContent.digest).where(
                FindingContent.digest == Finding.content_digest,
                or_(FindingContent.title.ilike(needle), FindingContent.aliases.ilike(needle)),
            )
        )
        query = query.where(
            or_(
                Vulnerability.public_id == search.strip().upper(),
                some_visible_finding(matching_content),
            )
        )
    return query


def _summaries(
    session: Session, viewer: Viewer, vulns: Sequence[Vulnerability]
) -> tuple[list[VulnSummary], dict[int, list[tuple[Finding, str]]]]:
    ids = [v.id for v in vulns]
    visible: dict[int, list[tuple[Finding, str]]] = defaultdict(list)
    if not ids:
        return [], visible
    rows = session.execute(
        select(Finding, Organization.name)
        .join(Organization, Organization.id == Finding.organization_id)
        .where(Finding.vulnerability_id.in_(ids), finding_visible(viewer))
        .order_by(Finding.submission_id, Finding.seq)
    )
    visible_ids: set[int] = set()
    for finding, org in rows:
        visible[finding.vulnerability_id].append((finding, org))
        visible_ids.add(finding.id)
    contributions: dict[int, list[Contribution]] = defaultdict(list)
    for fid, vuln_id, submission_id, seq, org in session.execute(
        select(
            Finding.id,
            Finding.vulnerability_id,
            Finding.submission_id,
            Finding.seq,
            Organization.name,
        )
        .join(Organization, Organization.id == Finding.organization_id)
        .where(Finding.vulnerability_id.in_(ids))
    ):
        contributions[vuln_id].append(Contribution(submission_id, seq, org, fid in visible_ids))
    out = []
    for vuln in vulns:
        shown = visible[vuln.id]
        names = finders(contributions[vuln.id])
        first = shown[0][0].content
        cwe = next((c[0] for f, _ in shown if (c := orjson.loads(f.content.cwes))), None)
        aliases = sorted({a for f, _ in shown for a in orjson.loads(f.content.aliases)})
        out.append(
            VulnSummary(
                id=vuln.public_id,
                title=first.title,
                status=vuln.status,
                tlp=most_restrictive([Tlp(f.tlp) for f, _ in shown]).value,
                cwe=cwe,
                findings=len(shown),
                finders=tuple(names),
                first_finder=names[0],
                aliases=tuple(aliases),
            )
        )
    return out, visible


def list_vulnerabilities(
    session: Session,
    *,
    viewer: Viewer,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[VulnSummary]:
    query = _visible_vulns_query(viewer, search).order_by(Vulnerability.id)
    vulns = list(session.scalars(query.limit(limit).offset(offset)))
    summaries, _ = _summaries(session, viewer, vulns)
    return summaries


def get_visible_or_raise(session: Session, *, viewer: Viewer, public_id: str) -> Vulnerability:
    """The vulnerability (following merges) if the viewer may see it; else 404."""
    vuln = vulns_service.get_by_public_id(session, public_id=public_id)
    if vuln is not None:
        vuln = vulns_service.resolve_merged(session, vuln=vuln)
        visible = session.scalars(
            select(Finding.id).where(Finding.vulnerability_id == vuln.id, finding_visible(viewer))
        ).first()
        if visible is not None:
            return vuln
    raise NotFoundError(f"vulnerability {public_id} does not exist")


def show_vulnerability(session: Session, *, viewer: Viewer, public_id: str) -> dict[str, Any]:
    vuln = get_visible_or_raise(session, viewer=viewer, public_id=public_id)
    (summary,), visible = _summaries(session, viewer, [vuln])
    doc = summary.as_json()
    if vuln.public_id != public_id.strip().upper():
        doc["resolved_from"] = public_id.strip().upper()
    doc["created_at"] = vuln.created_at.isoformat()
    doc["findings_detail"] = [finding_json(f, org) for f, org in visible[vuln.id]]
    suggestions = []
    for item in open_suggestions(session, vulnerability_id=vuln.id):
        other_id = item.vulnerability_b if item.vulnerability_a == vuln.id else item.vulnerability_a
        other = session.get(Vulnerability, other_id)
        if other is None:
            continue
        try:
            get_visible_or_raise(session, viewer=viewer, public_id=other.public_id)
        except NotFoundError:
            continue
        suggestions.append({"id": other.public_id, "score": item.score, "reason": item.reason})
    doc["suggested_duplicates"] = suggestions
    return doc


def restricted_tlps(summaries: Sequence[VulnSummary]) -> list[str]:
    return [s.id for s in summaries if Tlp(s.tlp).restricted]


def summarize(
    session: Session, *, viewer: Viewer, vulns: Sequence[Vulnerability]
) -> tuple[list[VulnSummary], dict[int, list[tuple[Finding, str]]]]:
    """Summaries of ``vulns`` and their findings as ``viewer`` may see them, in two queries."""
    return _summaries(session, viewer, vulns)
