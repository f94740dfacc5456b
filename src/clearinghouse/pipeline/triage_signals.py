"""What the triage queue says beside each row: its priority (from the visible findings'
severity, CISA KEV and EPSS for its CVE aliases, and whether a proof reproduced) and how many
suggested duplicates wait for an analyst.

Three queries per page, whatever its size: the visible findings' severities, the KEV and EPSS
rows of the page's CVE aliases (one UNION), and the open duplicate suggestions whose other side
the viewer may see (a suggestion naming a record the viewer may not see is not counted: its
existence would say something about that record).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, exists, literal, null, or_, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Subquery

from clearinghouse.access.visibility import Viewer, visible_clause
from clearinghouse.dedup.models import Suggestion
from clearinghouse.intake.models import Finding, FindingContent
from clearinghouse.intake.service import RESOURCE_KIND, finding_visible
from clearinghouse.prioritization.models import EpssRecord, KevRecord
from clearinghouse.prioritization.queue import (
    QueuePriority,
    queue_priority,
    severity_of,
    worst_severity,
)


@dataclass(frozen=True, slots=True)
class RowSignals:
    priority: QueuePriority
    duplicates: int


def _cves(aliases: Sequence[str]) -> list[str]:
    return [a.upper() for a in aliases if a.upper().startswith("CVE-")]


def row_signals(
    session: Session,
    *,
    viewer: Viewer,
    aliases: Mapping[int, Sequence[str]],
    reproduced: Mapping[int, bool],
) -> dict[int, RowSignals]:
    """For each vulnerability id in ``aliases`` (the page's rows, with their visible aliases)."""
    ids = list(aliases)
    if not ids:
        return {}
    severities: dict[int, list[str | None]] = defaultdict(list)
    for vuln_id, rating, score in session.execute(
        select(Finding.vulnerability_id, FindingContent.severity, FindingContent.security_severity)
        .join(FindingContent, FindingContent.digest == Finding.content_digest)
        .where(Finding.vulnerability_id.in_(ids), finding_visible(viewer))
        .distinct()
    ):
        severities[vuln_id].append(severity_of(rating, score))

    cves = sorted({cve for vuln_id in ids for cve in _cves(aliases[vuln_id])})
    kev: set[str] = set()
    percentile: dict[str, float] = {}
    if cves:
        feeds: Subquery = union_all(
            select(literal("kev").label("feed"), KevRecord.cve, null().label("percentile")).where(
                KevRecord.cve.in_(cves)
            ),
            select(literal("epss"), EpssRecord.cve, EpssRecord.percentile).where(
                EpssRecord.cve.in_(cves)
            ),
        ).subquery()
        for feed, cve, value in session.execute(select(feeds)):
            if feed == "kev":
                kev.add(cve)
            elif value is not None:
                percentile[cve] = float(value)

    other = aliased(Finding)
    other_visible = visible_clause(
        viewer,
        tlp=other.tlp,
        owner_id=other.organization_id,
        resource_kind=RESOURCE_KIND,
        resource_id=other.submission_id,
    )
    a_side = and_(
        Suggestion.vulnerability_a.in_(ids),
        exists().where(other.vulnerability_id == Suggestion.vulnerability_b, other_visible),
    )
    b_side = and_(
        Suggestion.vulnerability_b.in_(ids),
        exists().where(other.vulnerability_id == Suggestion.vulnerability_a, other_visible),
    )
    waiting: dict[int, int] = defaultdict(int)
    for a, b in session.execute(
        select(Suggestion.vulnerability_a, Suggestion.vulnerability_b).where(
            Suggestion.status == "open", or_(a_side, b_side)
        )
    ):
        for mine in (a, b):
            if mine in aliases:
                waiting[mine] += 1

    out: dict[int, RowSignals] = {}
    for vuln_id in ids:
        vuln_cves = _cves(aliases[vuln_id])
        scores = [percentile[c] for c in vuln_cves if c in percentile]
        out[vuln_id] = RowSignals(
            priority=queue_priority(
                severity=worst_severity(severities[vuln_id]),
                known_exploited=any(c in kev for c in vuln_cves),
                epss_percentile=max(scores) if scores else None,
                reproduced=reproduced.get(vuln_id, False),
            ),
            duplicates=waiting[vuln_id],
        )
    return out
