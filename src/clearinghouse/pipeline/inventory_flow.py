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
from collections.abc import Iterable
from typing import Any

from clearinghouse.access import service as access_service
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import InputError
from clearinghouse.formats.sbom import read_sbom
from clearinghouse.inventory import service as inventory_service
from clearinghouse.inventory.matching import AdvisoryIndex
from clearinghouse.inventory.models import Inventory, InventoryComponent
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.prioritization import service as prioritization_service
from clearinghouse.prioritization import signals

_index_lock = threading.Lock()
_index_cache: dict[str, tuple[tuple[int, str | None], AdvisoryIndex]] = {}


def advisory_index(rt: Runtime) -> AdvisoryIndex:
    """The matching index of the stored advisories, rebuilt only when they changed."""
    with rt.db.session() as session:
        version = inventory_service.advisories_version(session)
    with _index_lock:
        cached = _index_cache.get(rt.db.url)
        if cached is not None and cached[0] == version:
            return cached[1]
        with rt.db.session() as session:
            index = AdvisoryIndex.build(inventory_service.load_advisories(session))
        _index_cache[rt.db.url] = (version, index)
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


def matches(rt: Runtime, *, organization: str) -> dict[str, Any]:
    """Every advisory affecting a component of ``organization``'s current inventories."""
    index = advisory_index(rt)
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        inventories = inventory_service.current_inventories(session, organization_id=org.id)
        products = {row.id: row.product for row in inventories}
        components = inventory_service.components_of(session, inventory_ids=list(products))
    found: list[dict[str, Any]] = []
    unmatchable: dict[str, int] = {}
    for component in components:
        rows, why = _component_matches(index, component)
        if why is not None:
            unmatchable[why] = unmatchable.get(why, 0) + 1
        for row in rows:
            found.append({"product": products[component.inventory_id], **row})
    return {
        "organization": organization,
        "inventories": len(products),
        "components": len(components),
        "matches": found,
        "not_matchable": dict(sorted(unmatchable.items())),
        "advisories": index.stats.as_json(),
    }


def _cves(match: dict[str, Any]) -> list[str]:
    ids = [match["vulnerability"], *match["aliases"]]
    return sorted({i for i in ids if i.startswith("CVE-")})


def report(rt: Runtime, *, organization: str, today: dt.date | None = None) -> dict[str, Any]:
    """The organization's matches in the order to fix them, each with its deadline and why."""
    today = today or rt.clock.now().date()
    found = matches(rt, organization=organization)
    index = advisory_index(rt)
    severity = {a.id: a.severity for a in index.advisories}
    cves = {cve for match in found["matches"] for cve in _cves(match)}
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        sector = org.sector
        kev = prioritization_service.kev_for(session, cves)
        epss = prioritization_service.epss_for(session, cves)
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
            validated=False,
            sector=sector,
            today=today,
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
