"""Store and read the exploitation signals (one session, no commit)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from clearinghouse.core.clock import Clock
from clearinghouse.formats.epss import EpssFile
from clearinghouse.formats.kev import KevCatalog
from clearinghouse.prioritization.models import EpssRecord, KevRecord


def replace_kev(session: Session, *, catalog: KevCatalog, clock: Clock) -> int:
    """The catalog replaces the stored one whole (entries can be removed from KEV)."""
    now = clock.now()
    latest = {entry.cve: entry for entry in catalog.entries}
    session.execute(delete(KevRecord))
    if latest:
        session.execute(
            insert(KevRecord),
            [
                {
                    "cve": e.cve,
                    "vendor": e.vendor,
                    "product": e.product,
                    "name": e.name,
                    "date_added": e.date_added,
                    "due_date": e.due_date,
                    "ransomware": e.ransomware,
                    "imported_at": now,
                }
                for e in latest.values()
            ],
        )
    return len(latest)


def replace_epss(session: Session, *, scores: EpssFile, clock: Clock) -> int:
    now = clock.now()
    latest = {s.cve: s for s in scores.scores}
    session.execute(delete(EpssRecord))
    if latest:
        session.execute(
            insert(EpssRecord),
            [
                {
                    "cve": s.cve,
                    "epss": s.epss,
                    "percentile": s.percentile,
                    "score_date": scores.score_date,
                    "imported_at": now,
                }
                for s in latest.values()
            ],
        )
    return len(latest)


def kev_for(session: Session, cves: Iterable[str]) -> dict[str, KevRecord]:
    wanted = sorted(set(cves))
    if not wanted:
        return {}
    rows = session.scalars(select(KevRecord).where(KevRecord.cve.in_(wanted)))
    return {row.cve: row for row in rows}


def epss_for(session: Session, cves: Iterable[str]) -> dict[str, EpssRecord]:
    wanted = sorted(set(cves))
    if not wanted:
        return {}
    rows = session.scalars(select(EpssRecord).where(EpssRecord.cve.in_(wanted)))
    return {row.cve: row for row in rows}
