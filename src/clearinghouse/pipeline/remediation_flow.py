"""An organization's remediation at a glance: what to patch first (the report, worded for an
IT generalist), how remediation went over the last weeks, and an SBOM upload that answers with
what it found.

Reads only the organization's own records (its inventories, the VEX statements that speak for
them, its notifications); the order, deadlines and matches are ``inventory_flow``'s, the
words ``prioritization.plain``'s and the series ``inventory.progress``'s. It adds no rule of
its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import Role
from clearinghouse.access.visibility import Viewer
from clearinghouse.advisories.models import Notification
from clearinghouse.core.errors import InputError
from clearinghouse.inventory import progress, vex
from clearinghouse.inventory import service as inventory_service
from clearinghouse.inventory.matching import AdvisoryIndex, Match
from clearinghouse.inventory.models import Inventory, InventoryComponent, VexRecord
from clearinghouse.inventory.packages import osv_package
from clearinghouse.pipeline import inventory_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.prioritization import plain, signals
from clearinghouse.prioritization.ssvc import Automatable

WEEK_DAYS = 7
DEFAULT_WEEKS = 8


def _package(purl: str | None) -> tuple[str, str | None]:
    """(display name, version) of a component's purl."""
    if not purl:
        return "?", None
    try:
        identity = osv_package(purl)
    except InputError:
        identity = None
    if identity is None:
        return purl, None
    return identity.name, identity.version


def to_patch(rt: Runtime, *, organization: str, today: dt.date | None = None) -> dict[str, Any]:
    """The report's items in its order, each with its package, version, fixed versions, how
    late it is and a plain-language reason; and how many are overdue, and how many more are
    due within the week."""
    today = today or rt.clock.now().date()
    found = inventory_flow.report(rt, organization=organization, today=today)
    vectors = {a.id: a.severity for a in inventory_flow.advisory_index(rt).advisories}
    items = []
    for item in found["items"]:
        due = dt.date.fromisoformat(item["deadline"])
        score = signals.best_cvss(vectors.get(item["vulnerability"], ()))
        network = signals.automatable(score) is Automatable.YES
        factors = plain.Factors(
            due=due,
            in_kev=item["kev"],
            validated=item["validated"],
            network=network,
            severity=item["cvss"]["severity"] if item["cvss"] else None,
            epss_percentile=item["epss_percentile"],
            ssvc=item["ssvc"],
            fixed_versions=item["fixed_versions"],
        )
        name, version = _package(item["purl"])
        items.append(
            {
                **item,
                "package": name,
                "version": version,
                "network": network,
                "overdue_days": plain.overdue_days(due, today),
                "due_this_week": (due - today).days < WEEK_DAYS,
                "deadline_text": plain.deadline_phrase(due, today),
                "plain_reason": plain.plain_reason(factors, today=today),
            }
        )
    return {
        "organization": organization,
        "sector": found["sector"],
        "date": found["date"],
        "items": items,
        "this_week": sum(1 for i in items if i["due_this_week"] and not i["overdue_days"]),
        "overdue": sum(1 for i in items if i["overdue_days"]),
        "not_matchable": found["not_matchable"],
    }


# --- progress over time ----------------------------------------------------------------------


def _hits(indexes: Iterable[AdvisoryIndex], component: InventoryComponent) -> list[Match]:
    if component.ecosystem is None or component.package is None or not component.version:
        return []
    out: list[Match] = []
    for index in indexes:
        try:
            out.extend(index.match(component.ecosystem, component.package, component.version))
        except InputError:
            continue  # an ecosystem matching does not know: not matchable, as in the report
    return out


def remediation_progress(
    rt: Runtime,
    *,
    organization: str,
    weeks: int = DEFAULT_WEEKS,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Open and resolved matches (and answered notifications) at the end of each of the last
    ``weeks`` weeks, rebuilt from import, VEX and response timestamps (``inventory.progress``)."""
    now = now or rt.clock.now()
    ends = progress.period_ends(now=now, periods=weeks, days=WEEK_DAYS)
    feed = inventory_flow.advisory_index(rt)
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        own = AdvisoryIndex.build(
            inventory_flow.own_advisories(
                session, viewer=access_service.viewer_for_org(org, role=Role.VIEWER)
            )
        )
        inventories = list(
            session.scalars(
                select(Inventory)
                .where(Inventory.organization_id == org.id, Inventory.created_at <= now)
                .order_by(Inventory.created_at, Inventory.id)
            )
        )
        components = inventory_service.components_of(
            session, inventory_ids=[row.id for row in inventories]
        )
        statements = inventory_service.vex_for(session, organization_id=org.id)
        imported = dict(
            session.execute(
                select(VexRecord.id, VexRecord.imported_at).where(
                    VexRecord.id.in_([s.order for s in statements])
                )
            ).all()
        )
        responses = list(
            session.scalars(
                select(Notification.responded_at).where(
                    Notification.organization_id == org.id,
                    Notification.responded_at.is_not(None),
                )
            )
        )
    # per inventory: each match key with the purl and identifiers VEX is decided on
    found: dict[int, dict[progress.MatchKey, tuple[str, list[str]]]] = {
        row.id: {} for row in inventories
    }
    products = {row.id: row.product for row in inventories}
    for component in components:
        for match in _hits((feed, own), component):
            key = progress.MatchKey(
                product=products[component.inventory_id],
                package=f"{component.ecosystem}/{component.package}",
                vulnerability=match.vulnerability,
            )
            found[component.inventory_id][key] = (
                component.purl or "",
                [match.vulnerability, *match.aliases],
            )
    imports = [
        progress.Import(product=row.product, at=row.created_at, matches=frozenset(found[row.id]))
        for row in inventories
    ]
    decided: dict[tuple[progress.MatchKey, dt.datetime], bool] = {}

    def suppressed(key: progress.MatchKey, at: dt.datetime) -> bool:
        if (key, at) not in decided:
            current = [
                row for row in inventories if row.product == key.product and row.created_at <= at
            ]
            purl, identifiers = found[current[-1].id].get(key, ("", []))
            known = [s for s in statements if imported.get(s.order, at) <= at]
            statement = vex.deciding(known, purl=purl, identifiers=identifiers) if purl else None
            decided[key, at] = statement is not None and statement.status in vex.SUPPRESSING
        return decided[key, at]

    points = progress.series(
        ends=ends,
        imports=imports,
        suppressed=suppressed,
        responses=[at for at in responses if at is not None],
    )
    return {
        "organization": organization,
        "weeks": weeks,
        "points": [
            {
                "end": point.end.isoformat(),
                "date": point.end.date().isoformat(),
                "open": point.open,
                "resolved": point.resolved,
                "upgraded": point.upgraded,
                "not_affected": point.not_affected,
                "answered": point.answered,
            }
            for point in points
        ],
    }


# --- SBOM upload -----------------------------------------------------------------------------


def upload_sbom(
    rt: Runtime,
    *,
    viewer: Viewer,
    organization: str,
    chunks: Iterable[bytes],
    product: str | None = None,
) -> dict[str, Any]:
    """Import the SBOM (``inventory_flow.import_inventory``: all or nothing) and answer with
    the inventory and the advisories that now affect its product."""
    imported = inventory_flow.import_inventory(
        rt, viewer=viewer, organization=organization, chunks=chunks, product=product
    )
    found = inventory_flow.matches(rt, organization=organization)
    mine = [m for m in found["matches"] if m["product"] == imported["product"]]
    for match in mine:
        match["package"], match["version"] = _package(match["purl"])
    return {"inventory": imported, "matches": mine}
