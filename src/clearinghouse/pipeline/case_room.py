"""The reads behind the web case room: the cases a viewer takes part in with a summary of the
vendors' statuses, one case with everything its room shows, and the advisory as it would be
published (a preview; nothing is stored or sent).

Visibility is ``case_flow``'s: coordinators see every case, participants theirs (approved
statuses and their own, messages to all plus their private ones), anyone else gets 404. What a
viewer may do in the room (``may``) is computed here from the same rules the writes in
``case_flow`` enforce, so a page never offers an action the pipeline would refuse; the writes
check again. Each read is a fixed number of queries whatever the case's size.

It does not write anything but the audit record of a restricted read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse.access.roles import Role
from clearinghouse.access.visibility import Viewer
from clearinghouse.advisories.page import PageView, page_view
from clearinghouse.audit import service as audit_service
from clearinghouse.cases import embargo as embargo_rules
from clearinghouse.cases import service as cases_service
from clearinghouse.cases.embargo import format_instant
from clearinghouse.cases.models import Case, Participant, VendorStatus
from clearinghouse.core.tlp import Tlp
from clearinghouse.intake.models import Finding
from clearinghouse.intake.service import finding_visible
from clearinghouse.pipeline import case_flow, publish_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.prioritization import service as prioritization_service

CASE_THREAD = "case"
# Message TLP labels offered in the room, most open first (CLEAR is refused under embargo).
MESSAGE_TLPS = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)


def may_write(viewer: Viewer) -> bool:
    """The viewer role only reads (``case_flow`` refuses its writes the same way)."""
    return viewer.superuser or viewer.role is not Role.VIEWER


def check_access(rt: Runtime, *, viewer: Viewer, case_id: str) -> str:
    """The viewer's role in the case (``coordinator``, ``vendor``, ``reporter``); 404 for a
    case that does not exist or that the viewer does not take part in. Writes ask this before
    reading an upload, so an outsider learns nothing and costs nothing."""
    with rt.db.session() as session:
        return case_flow.access_case(session, viewer=viewer, case_id=case_id).role


def case_summaries(rt: Runtime, *, viewer: Viewer) -> list[dict[str, Any]]:
    """The cases the viewer takes part in (coordinators: all), newest first, each with its
    embargo and a count of the vendor statuses the viewer may see (three queries)."""
    coordinator = case_flow.is_coordinator(viewer)
    with rt.db.session() as session:
        query = select(Case).order_by(Case.id.desc())
        mine: dict[int, Participant] = {}
        if viewer.organization_id is not None:
            mine = {
                p.case_id: p
                for p in session.scalars(
                    select(Participant).where(Participant.organization_id == viewer.organization_id)
                )
            }
        if not coordinator:
            if not mine:
                return []
            query = query.where(Case.id.in_(sorted(mine)))
        cases = list(session.scalars(query))
        counts: dict[int, Counter[str]] = {case.id: Counter() for case in cases}
        vendors: dict[int, set[int]] = {case.id: set() for case in cases}
        if cases:
            rows = session.scalars(
                select(VendorStatus).where(VendorStatus.case_id.in_([c.id for c in cases]))
            )
            for row in rows:
                vendors[row.case_id].add(row.organization_id)
                if coordinator or row.approved or row.organization_id == viewer.organization_id:
                    counts[row.case_id][row.status] += 1
                else:
                    counts[row.case_id]["not_shared"] += 1
        out = []
        for case in cases:
            part = mine.get(case.id)
            out.append(
                {
                    "id": case.public_id,
                    "title": case.title,
                    "status": case.status,
                    "your_role": "coordinator" if coordinator else (part.role if part else ""),
                    "embargo": case.embargo_state,
                    "embargo_binding": embargo_rules.EmbargoState(case.embargo_state).binding,
                    "embargo_until": case.embargo_until.isoformat(),
                    "embargo_until_display": format_instant(case.embargo_until),
                    "vendors": len(vendors[case.id]),
                    "statuses": dict(sorted(counts[case.id].items())),
                    "created_at": case.created_at.isoformat(),
                }
            )
        return out


def _visible_findings(
    session: Session, *, viewer: Viewer, vuln_ids: Sequence[int]
) -> defaultdict[int, list[Finding]]:
    """The findings of the vulnerabilities that ``viewer`` may see, in submission order."""
    found: defaultdict[int, list[Finding]] = defaultdict(list)
    if vuln_ids:
        for finding in session.scalars(
            select(Finding)
            .where(Finding.vulnerability_id.in_(list(vuln_ids)), finding_visible(viewer))
            .order_by(Finding.submission_id, Finding.seq)
        ):
            found[finding.vulnerability_id].append(finding)
    return found


def _products(shown: Sequence[Finding]) -> list[str]:
    """Package URLs (without version) the findings name: the case's product threads."""
    purls = case_flow.package_urls(shown)
    bare = (p.split("@", 1)[0].split("?", 1)[0] for p in purls)
    return [p for p in bare if p.startswith("pkg:") and len(p) <= 300]


def _messages(
    session: Session, *, viewer: Viewer, access: case_flow.CaseAccess
) -> list[dict[str, Any]]:
    rows = case_flow.visible_messages(session, viewer=viewer, access=access)
    names = case_flow.org_names(session, [r.recipient_org_id for r in rows if r.recipient_org_id])
    return [case_flow.message_json(r, names) for r in sorted(rows, key=lambda r: r.id)]


def room(rt: Runtime, *, viewer: Viewer, case_id: str) -> dict[str, Any]:
    """Everything the case room shows, as ``viewer`` may see it; audited as ``show_case`` is.

    Beyond ``case_flow.case_json``: the vulnerabilities' titles (as the case's participants see
    them: RED findings stay with their recipients), the threads (the case, then each product
    named by a finding or a status, then any other thread a message started) with their
    messages in order, the embargo history, and what the viewer may do (``may``).
    """
    with rt.db.session() as session:
        access = case_flow.access_case(session, viewer=viewer, case_id=case_id)
        case = access.case
        doc = case_flow.case_json(session, access)
        doc["embargo_history"] = [
            {
                "state": e.state,
                "until": e.until.isoformat(),
                "reason": e.reason,
                "at": e.at.isoformat(),
            }
            for e in cases_service.embargo_history(session, case_id=case.id)
        ]
        links = cases_service.case_vulnerabilities(session, case_id=case.id)
        shown = _visible_findings(
            session,
            viewer=case_flow.case_scope_viewer(viewer),
            vuln_ids=[link.vulnerability_id for link in links],
        )
        titles = {
            link.vulnerability_id: link.title
            or (
                shown[link.vulnerability_id][0].content.title
                if shown[link.vulnerability_id]
                else ""
            )
            for link in links
        }
        for item, link in zip(doc["vulnerabilities"], links, strict=True):
            item["title"] = titles[link.vulnerability_id]
        products: list[str] = []
        for link in links:
            products += _products(shown[link.vulnerability_id])
        products += [s["product"] for s in doc["statuses"] if s["product"]]
        messages = _messages(session, viewer=viewer, access=access)
        threads: dict[str, list[dict[str, Any]]] = {CASE_THREAD: []}
        for product in products:
            threads.setdefault(product, [])
        for message in messages:
            threads.setdefault(message["thread"], []).append(message)
        doc["threads"] = threads
        writer = may_write(viewer)
        vendor = access.participant is not None and access.participant.role == "vendor"
        binding = embargo_rules.EmbargoState(case.embargo_state).binding
        doc["may"] = {
            "post": writer,
            "set_status": writer and vendor,
            "upload": writer and (access.coordinator or vendor),
            "accept": writer and access.participant is not None and binding,
            "coordinate": access.coordinator
            and (viewer.superuser or viewer.role in (Role.ANALYST, Role.ADMIN)),
        }
        doc["organization"] = viewer.organization
        doc["vendors"] = [p["organization"] for p in doc["participants"] if p["role"] == "vendor"]
        doc["message_tlps"] = [t.value for t in MESSAGE_TLPS if not (binding and t is Tlp.CLEAR)]
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.read",
            object_type="case",
            object_id=case.public_id,
            tlp=Tlp.AMBER_STRICT.value if binding else None,
        )
        return doc


def matrix(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The room's statuses as rows of vendors by vulnerabilities: ``cells`` maps a
    vulnerability id to its status row, absent where the status is not shared with the viewer."""
    by_vendor: dict[str, dict[str, dict[str, Any]]] = {v: {} for v in doc["vendors"]}
    for status in doc["statuses"]:
        by_vendor.setdefault(status["vendor"], {})[status["vulnerability"]] = status
    return [{"vendor": vendor, "cells": cells} for vendor, cells in by_vendor.items()]


def advisory_preview(rt: Runtime, *, viewer: Viewer, case_id: str) -> dict[str, Any]:
    """The advisory as ``publish`` would compose it now (approved statuses only, finders in
    credit order), for the case's participants, with the priority signals of its CVE aliases
    (CISA KEV, EPSS); nothing is stored, signed or sent."""
    with rt.db.session() as session:
        access = case_flow.access_case(session, viewer=viewer, case_id=case_id)
        case = access.case
        version, history = publish_flow.revision_history(session, case)
        summary = "Initial public release." if version == 1 else "Revised."
        content = publish_flow.advisory_content(
            rt, session, case=case, version=version, summary=summary, history=history
        )
        page: PageView = page_view(content)
        cves = {v.id: [a for a in v.aliases if a.startswith("CVE-")] for v in page.vulnerabilities}
        every = [cve for found in cves.values() for cve in found]
        kev = prioritization_service.kev_for(session, every)
        epss = prioritization_service.epss_for(session, every)
        signals = {
            vuln: {
                "cves": found,
                "kev": [cve for cve in found if cve in kev],
                "epss": [
                    {"cve": cve, "epss": epss[cve].epss, "percentile": epss[cve].percentile}
                    for cve in found
                    if cve in epss
                ],
            }
            for vuln, found in cves.items()
        }
        embargo = cases_service.embargo_of(case)
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="case.advisory.preview",
            object_type="case",
            object_id=case.public_id,
            tlp=Tlp.AMBER_STRICT.value if embargo.state.binding else None,
        )
        return {
            "case": {"id": case.public_id, "title": case.title, "status": case.status},
            "embargo": {"state": embargo.state.value, "until": embargo.until.isoformat()},
            "published_versions": len(history),
            "version": version,
            "page": page,
            "signals": signals,
        }
