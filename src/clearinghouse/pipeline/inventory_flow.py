"""Inventories end to end: import an SBOM for an organization, match it against advisories.

An import stores the raw SBOM content-addressed (like every submission), reads and validates it
completely (``formats.sbom``), and stores its components as the product's current inventory in
one transaction with its audit record. Matching builds the advisory index once per process and
rebuilds it only when the stored advisories change (``advisories_version``), so a query costs a
dictionary lookup and a binary search per range.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import InputError, NotFoundError, PermissionDeniedError
from clearinghouse.dedup import queries as dedup_queries
from clearinghouse.formats.sbom import read_sbom
from clearinghouse.formats.vex import read_vex
from clearinghouse.infra.db import Database
from clearinghouse.intake import service as intake_service
from clearinghouse.intake.models import Finding, FindingContent
from clearinghouse.inventory import service as inventory_service
from clearinghouse.inventory import vex
from clearinghouse.inventory.advisories import Advisory, parse_advisory
from clearinghouse.inventory.matching import AdvisoryIndex
from clearinghouse.inventory.models import Inventory, InventoryComponent
from clearinghouse.inventory.packages import osv_package
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.prioritization import service as prioritization_service
from clearinghouse.prioritization import signals
from clearinghouse.prioritization.policy import DEFAULT_TABLE, load_table
from clearinghouse.validation import service as validation_service
from clearinghouse.vulns.models import Vulnerability

_index_lock = threading.Lock()
# Per database object, not per URL (a database re-created at the same URL starts over).
_index_cache: weakref.WeakKeyDictionary[Database, tuple[tuple[int, str | None], AdvisoryIndex]] = (
    weakref.WeakKeyDictionary()
)


def advisory_index(rt: Runtime) -> AdvisoryIndex:
    """The matching index of the stored advisories, rebuilt only when they changed."""
    with rt.db.session() as session:
        version = inventory_service.advisories_version(session)
    with _index_lock:
        cached = _index_cache.get(rt.db)
        if cached is not None and cached[0] == version:
            return cached[1]
        with rt.db.session() as session:
            index = AdvisoryIndex.build(inventory_service.load_advisories(session))
        _index_cache[rt.db] = (version, index)
        return index


def inventory_json(row: Inventory, *, replaced: int | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "product": row.product,
        "product_version": row.product_version,
        "format": row.format,
        "spec_version": row.spec_version,
        "serial": row.serial,
        "sha256": row.sha256,
        "components": row.components,
        "current": row.current,
        "replaces": replaced,
        "submitted_by": row.submitted_by,
        "created_at": row.created_at.isoformat(),
    }


def import_inventory(
    rt: Runtime,
    *,
    viewer: Viewer,
    organization: str,
    chunks: Iterable[bytes],
    product: str | None = None,
) -> dict[str, Any]:
    """Store an SBOM as ``organization``'s current inventory of its product."""
    if product is not None and not 0 < len(product) <= 500:
        raise InputError("product: between 1 and 500 characters")
    stored = rt.blobs.put_stream(chunks, max_bytes=rt.settings.max_upload_bytes)
    sbom = read_sbom(rt.blobs.get(stored.sha256), limits=rt.limits)
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        row, replaced = inventory_service.create_inventory(
            session,
            organization_id=org.id,
            sbom=sbom,
            sha256=stored.sha256,
            product=product,
            submitted_by=viewer.label,
            clock=rt.clock,
        )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="inventory.import",
            object_type="inventory",
            object_id=row.id,
            detail={
                "organization": org.name,
                "product": row.product,
                "components": row.components,
                "sha256": stored.sha256,
                "replaces": replaced,
            },
        )
        doc = inventory_json(row, replaced=replaced)
    doc["warnings"] = list(sbom.warnings)
    return doc


def list_inventories(rt: Runtime, *, organization: str) -> list[dict[str, Any]]:
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        return [
            inventory_json(row)
            for row in inventory_service.current_inventories(session, organization_id=org.id)
        ]


def _component_matches(
    index: AdvisoryIndex, component: InventoryComponent
) -> tuple[list[dict[str, Any]], str | None]:
    """(matches, why not matchable) of one component."""
    if component.ecosystem is None or component.package is None:
        return [], "no OSV ecosystem for this component's purl" if component.purl else "no purl"
    if not component.version:
        return [], "no version"
    try:
        found = index.match(component.ecosystem, component.package, component.version)
    except InputError as error:
        return [], str(error)
    return [
        {
            "purl": component.purl,
            "vulnerability": match.vulnerability,
            "aliases": list(match.aliases),
            "fixed_versions": list(match.fixed_versions),
            "summary": match.summary,
        }
        for match in found
    ], None


def _with_vex(row: dict[str, Any], statements: list[vex.Statement]) -> dict[str, Any]:
    statement = (
        vex.deciding(
            statements, purl=row["purl"], identifiers=[row["vulnerability"], *row["aliases"]]
        )
        if row["purl"]
        else None
    )
    row["vex"] = (
        {
            "status": statement.status,
            "justification": statement.justification,
            "by": statement.issuer,
            "timestamp": statement.timestamp,
        }
        if statement
        else None
    )
    row["suppressed"] = statement is not None and statement.status in vex.SUPPRESSING
    return row


def matches(rt: Runtime, *, organization: str, include_suppressed: bool = False) -> dict[str, Any]:
    """Every advisory affecting a component of ``organization``'s current inventories: the
    feeds' advisories, and the clearinghouse's own vulnerabilities the organization may see.

    A VEX statement of the organization, or of a vendor or coordinator, that says
    ``not_affected`` or ``fixed`` suppresses a match; ``include_suppressed`` shows those too.
    """
    index = advisory_index(rt)
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        viewer = access_service.viewer_for_org(org, role=Role.VIEWER)
        own = AdvisoryIndex.build(own_advisories(session, viewer=viewer))
        inventories = inventory_service.current_inventories(session, organization_id=org.id)
        products = {row.id: row.product for row in inventories}
        components = inventory_service.components_of(session, inventory_ids=list(products))
        statements = inventory_service.vex_for(session, organization_id=org.id)
    found: list[dict[str, Any]] = []
    unmatchable: dict[str, int] = {}
    for component in components:
        rows, why = _component_matches(index, component)
        if why is not None:
            unmatchable[why] = unmatchable.get(why, 0) + 1
        own_rows, _ = _component_matches(own, component)
        for row in rows:
            found.append({"product": products[component.inventory_id], "source": "feed", **row})
        for row in own_rows:
            found.append(
                {"product": products[component.inventory_id], "source": "clearinghouse", **row}
            )
    found = [_with_vex(row, statements) for row in found]
    suppressed = sum(1 for row in found if row["suppressed"])
    if not include_suppressed:
        found = [row for row in found if not row["suppressed"]]
    return {
        "organization": organization,
        "inventories": len(products),
        "components": len(components),
        "matches": found,
        "suppressed": suppressed,
        "not_matchable": dict(sorted(unmatchable.items())),
        "advisories": index.stats.as_json(),
    }


def _cves(match: dict[str, Any]) -> list[str]:
    ids = [match["vulnerability"], *match["aliases"]]
    return sorted({i for i in ids if i.startswith("CVE-")})


def report(rt: Runtime, *, organization: str, today: dt.date | None = None) -> dict[str, Any]:
    """The organization's matches in the order to fix them, each with its deadline and why."""
    today = today or rt.clock.now().date()
    policy = (
        load_table(rt.settings.deadline_policy.read_bytes())
        if rt.settings.deadline_policy
        else DEFAULT_TABLE
    )
    found = matches(rt, organization=organization)
    index = advisory_index(rt)
    severity = {a.id: a.severity for a in index.advisories}
    cves = {cve for match in found["matches"] for cve in _cves(match)}
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        sector = org.sector
        kev = prioritization_service.kev_for(session, cves)
        epss = prioritization_service.epss_for(session, cves)
        own = [m["vulnerability"] for m in found["matches"] if m["source"] == "clearinghouse"]
        validated = validation_service.reproduced_public_ids(session, public_ids=own)
    rows = []
    for match in found["matches"]:
        ids = _cves(match)
        in_kev = [kev[c] for c in ids if c in kev]
        scores = [epss[c] for c in ids if c in epss]
        best = max(scores, key=lambda s: s.epss) if scores else None
        due_dates = [k.due_date for k in in_kev if k.due_date is not None]
        assessment = signals.assess(
            vectors=severity.get(match["vulnerability"], ()),
            in_kev=bool(in_kev),
            kev_due=min(due_dates) if due_dates else None,
            epss=best.epss if best else None,
            epss_percentile=best.percentile if best else None,
            validated=match["vulnerability"] in validated,
            sector=sector,
            today=today,
            policy=policy,
        )
        score = assessment.cvss
        rows.append(
            {
                **match,
                "cves": ids,
                "cvss": (
                    {
                        "version": score.version,
                        "score": score.score,
                        "severity": score.score_severity.value,
                    }
                    if score
                    else None
                ),
                "kev": bool(in_kev),
                "epss": best.epss if best else None,
                "epss_percentile": best.percentile if best else None,
                "ssvc": assessment.ssvc.outcome.value,
                "ssvc_coordinator": assessment.coordinator.outcome.value,
                "validated": match["vulnerability"] in validated,
                "deadline": assessment.deadline.due.isoformat(),
                "rule": assessment.deadline.rule.name,
                "reason": assessment.deadline.explain(),
                "_order": (
                    assessment.deadline.due,
                    -assessment.ssvc.outcome.rank,
                    -(best.epss if best else 0.0),
                    -(score.score if score else 0.0),
                    match["vulnerability"],
                ),
            }
        )
    rows.sort(key=lambda row: row["_order"])
    for row in rows:
        del row["_order"]
    return {
        "organization": organization,
        "sector": sector,
        "date": today.isoformat(),
        "items": rows,
        "not_matchable": found["not_matchable"],
    }


# --- the clearinghouse's own vulnerabilities -------------------------------------------------


def _own_affected(details: dict[str, Any], target: str | None, version: str | None) -> list[Any]:
    """OSV ``affected`` entries a finding states: its ranges, or its target purl at a version."""
    entries: list[Any] = []
    for item in details.get("affected") or []:
        if not isinstance(item, dict):
            continue
        ecosystem, name = item.get("ecosystem"), item.get("name")
        if (not ecosystem or not name) and item.get("purl"):
            identity = osv_package(item["purl"])
            if identity is None:
                continue
            ecosystem, name = identity.ecosystem, identity.name
        if not ecosystem or not name:
            continue
        ranges = orjson.loads(item["ranges_json"]) if item.get("ranges_json") else []
        entries.append(
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": ranges if isinstance(ranges, list) else [],
                "versions": list(item.get("versions") or []),
            }
        )
    if not entries and target and target.startswith("pkg:"):
        try:
            identity = osv_package(target)
        except InputError:
            identity = None
        at = version or (identity.version if identity else None)
        if identity is not None and at:
            entries.append(
                {
                    "package": {"ecosystem": identity.ecosystem, "name": identity.name},
                    "versions": [at],
                }
            )
    return entries


def own_advisories(
    session: Session, *, viewer: Viewer, vulnerability_id: int | None = None
) -> list[Advisory]:
    """The clearinghouse's vulnerabilities as advisories, from the findings ``viewer`` may see
    (an embargoed one takes part only for those it is shared with); only one with
    ``vulnerability_id``."""
    query = (
        select(
            Vulnerability.public_id,
            FindingContent.details,
            FindingContent.target,
            FindingContent.version,
            FindingContent.aliases,
            FindingContent.title,
        )
        .join(Finding, Finding.vulnerability_id == Vulnerability.id)
        .join(FindingContent, Finding.content_digest == FindingContent.digest)
        .where(intake_service.finding_visible(viewer), Vulnerability.merged_into_id.is_(None))
        .order_by(Vulnerability.id, Finding.id)
    )
    if vulnerability_id is not None:
        query = query.where(Vulnerability.id == vulnerability_id)
    rows = session.execute(query)
    grouped: dict[str, dict[str, Any]] = {}
    for public_id, details, target, version, aliases, title in rows:
        affected = _own_affected(orjson.loads(details or "{}"), target, version)
        if not affected:
            continue
        entry = grouped.setdefault(
            public_id, {"id": public_id, "summary": title, "aliases": [], "affected": []}
        )
        entry["affected"].extend(affected)
        entry["aliases"].extend(a for a in orjson.loads(aliases or "[]") if a != public_id)
    advisories = []
    for raw in grouped.values():
        raw["aliases"] = sorted(set(raw["aliases"]))
        try:
            advisories.append(parse_advisory(raw))
        except InputError:
            continue  # a finding's ranges that are not OSV-shaped cannot be matched
    return advisories


# --- exposure: the coordinator's view --------------------------------------------------------


def _advisory_for(session: Session, *, viewer: Viewer, vuln_id: str) -> Advisory:
    if vuln_id.upper().startswith("CH-"):
        vuln = dedup_queries.get_visible_or_raise(session, viewer=viewer, public_id=vuln_id)
        found = own_advisories(session, viewer=viewer, vulnerability_id=vuln.id)
        if found:
            return found[0]
        raise InputError(
            f"vulnerability {vuln.public_id} names no affected package and version: "
            "nothing to match inventories against"
        )
    record = inventory_service.find_advisory(session, identifier=vuln_id)
    if record is None:
        raise NotFoundError(f"no advisory {vuln_id} in the feeds (OSV id or alias)")
    return record


def exposure(rt: Runtime, *, viewer: Viewer, vuln_id: str) -> dict[str, Any]:
    """Which organizations' current inventories a vulnerability affects, by sector.

    Coordinators (and the local operator) only: it says who runs what. A clearinghouse
    vulnerability under embargo is matched too, which is the point of sizing its impact
    before disclosure; reading it is audited like any restricted read.
    """
    if not (viewer.superuser or viewer.kind is OrgKind.COORDINATOR):
        raise PermissionDeniedError("exposure is for coordinators")
    with rt.db.session() as session:
        advisory = _advisory_for(session, viewer=viewer, vuln_id=vuln_id)
        index = AdvisoryIndex.build([advisory])
        ecosystems = sorted({p.ecosystem.split(":", 1)[0] for p in advisory.affected})
        rows = inventory_service.current_components_in(session, ecosystems=ecosystems)
        exposed: dict[str, dict[str, Any]] = {}
        for component, product, org_name, sector in rows:
            hits, _ = _component_matches(index, component)
            if not hits:
                continue
            entry = exposed.setdefault(
                org_name, {"organization": org_name, "sector": sector, "components": []}
            )
            entry["components"].append({"product": product, "purl": component.purl})
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="exposure.read",
            object_type="vulnerability",
            object_id=advisory.id,
            detail={"organizations": len(exposed)},
        )
    by_sector: dict[str, int] = {}
    for entry in exposed.values():
        key = entry["sector"] or "unspecified"
        by_sector[key] = by_sector.get(key, 0) + 1
    return {
        "vulnerability": advisory.id,
        "aliases": list(advisory.aliases),
        "organizations": sorted(
            exposed.values(), key=lambda e: (e["sector"] or "", e["organization"])
        ),
        "by_sector": dict(sorted(by_sector.items())),
    }


# --- VEX -----------------------------------------------------------------------------------


def import_vex(
    rt: Runtime, *, viewer: Viewer, organization: str, chunks: Iterable[bytes]
) -> dict[str, Any]:
    """Store a VEX document's statements as ``organization``'s (OpenVEX, CycloneDX, CSAF)."""
    stored = rt.blobs.put_stream(chunks, max_bytes=rt.settings.max_upload_bytes)
    document = read_vex(rt.blobs.get(stored.sha256), limits=rt.limits)
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        count = inventory_service.store_vex(
            session, organization_id=org.id, document=document, sha256=stored.sha256, clock=rt.clock
        )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="vex.import",
            object_type="organization",
            object_id=org.name,
            detail={"format": document.format, "statements": count, "sha256": stored.sha256},
        )
    statuses: dict[str, int] = {}
    for statement in document.statements:
        statuses[statement.status] = statuses.get(statement.status, 0) + 1
    return {
        "organization": organization,
        "format": document.format,
        "author": document.author,
        "statements": count,
        "statuses": dict(sorted(statuses.items())),
    }
