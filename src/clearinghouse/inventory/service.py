"""Queries and commands on advisory feeds and inventories (one session, no commit).

Advisories are upserted by OSV id: a record whose ``modified`` is newer (or that was never
seen) replaces the stored one, the same or older is left alone, so re-importing a feed is
cheap and idempotent. Inventories of the same (organization, product) form a history whose
newest row is ``current``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from clearinghouse.access.models import Organization
from clearinghouse.access.roles import OrgKind
from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import InputError
from clearinghouse.formats.sbom.records import Inventory as SbomInventory
from clearinghouse.formats.vex.records import VexDocument
from clearinghouse.inventory.advisories import Advisory, parse_advisory
from clearinghouse.inventory.models import (
    AdvisoryRecord,
    Inventory,
    InventoryComponent,
    VexRecord,
)
from clearinghouse.inventory.packages import osv_package
from clearinghouse.inventory.vex import Statement

_LOOKUP_BATCH = 500


@dataclass
class FeedCounts:
    records: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0

    def as_json(self) -> dict[str, int]:
        return {
            "records": self.records,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
        }


def upsert_advisories(
    session: Session,
    items: Iterable[tuple[Advisory, bytes]],
    *,
    source: str,
    clock: Clock,
) -> FeedCounts:
    """Store each (parsed advisory, canonical JSON record); newer ``modified`` wins."""
    counts = FeedCounts()
    batch: list[tuple[Advisory, bytes]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= _LOOKUP_BATCH:
            _upsert_batch(session, batch, source=source, clock=clock, counts=counts)
            batch = []
    if batch:
        _upsert_batch(session, batch, source=source, clock=clock, counts=counts)
    session.flush()
    return counts


def _upsert_batch(
    session: Session,
    batch: Sequence[tuple[Advisory, bytes]],
    *,
    source: str,
    clock: Clock,
    counts: FeedCounts,
) -> None:
    # The last record of an id in a batch wins, as it would have one at a time.
    latest = {advisory.id: (advisory, raw) for advisory, raw in batch}
    existing = {
        row.osv_id: row
        for row in session.scalars(
            select(AdvisoryRecord).where(AdvisoryRecord.osv_id.in_(list(latest)))
        )
    }
    now = clock.now()
    for osv_id, (advisory, raw) in latest.items():
        counts.records += 1
        counts.withdrawn += advisory.is_withdrawn
        row = existing.get(osv_id)
        if row is None:
            session.add(
                AdvisoryRecord(
                    osv_id=osv_id,
                    source=source,
                    modified=advisory.modified,
                    withdrawn=advisory.withdrawn,
                    aliases=orjson.dumps(list(advisory.aliases)).decode(),
                    record=raw.decode("utf-8"),
                    imported_at=now,
                )
            )
            counts.new += 1
        elif (advisory.modified or "") > (row.modified or "") or (
            advisory.modified == row.modified and raw.decode("utf-8") != row.record
        ):
            row.source = source
            row.modified = advisory.modified
            row.withdrawn = advisory.withdrawn
            row.aliases = orjson.dumps(list(advisory.aliases)).decode()
            row.record = raw.decode("utf-8")
            row.imported_at = now
            counts.updated += 1
        else:
            counts.unchanged += 1
    counts.records += len(batch) - len(latest)
    counts.unchanged += len(batch) - len(latest)


def load_advisories(session: Session) -> Iterator[Advisory]:
    """Every stored advisory, parsed (for building the matching index)."""
    for record in session.scalars(select(AdvisoryRecord.record).order_by(AdvisoryRecord.id)):
        yield parse_advisory(orjson.loads(record))


def advisories_version(session: Session) -> tuple[int, str | None]:
    """Changes whenever the stored advisories do: (count, newest import time)."""
    count, newest = session.execute(
        select(func.count(AdvisoryRecord.id), func.max(AdvisoryRecord.imported_at))
    ).one()
    return int(count), newest.isoformat() if newest is not None else None


# --- inventories ---------------------------------------------------------------------------


def create_inventory(
    session: Session,
    *,
    organization_id: int,
    sbom: SbomInventory,
    sha256: str,
    product: str | None,
    submitted_by: str,
    clock: Clock,
) -> tuple[Inventory, int | None]:
    """Store ``sbom`` as the current inventory of its product; (row, replaced inventory id)."""
    name = product or sbom.product_name
    if not name:
        raise InputError(
            "product: the SBOM names no product (CycloneDX metadata.component, SPDX name); "
            "give one with --product"
        )
    previous = session.scalars(
        select(Inventory.id).where(
            Inventory.organization_id == organization_id,
            Inventory.product == name,
            Inventory.current.is_(True),
        )
    ).first()
    if previous is not None:
        session.execute(update(Inventory).where(Inventory.id == previous).values(current=False))
    row = Inventory(
        organization_id=organization_id,
        product=name[:500],
        product_version=(sbom.product_version or None) and str(sbom.product_version)[:200],
        format=sbom.format,
        spec_version=sbom.spec_version,
        serial=sbom.serial[:500] if sbom.serial else None,
        sha256=sha256,
        components=len(sbom.components),
        current=True,
        submitted_by=submitted_by,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    rows = []
    for component in sbom.components:
        identity = osv_package(component.purl) if component.purl else None
        rows.append(
            InventoryComponent(
                inventory_id=row.id,
                purl=component.purl,
                ecosystem=identity.ecosystem if identity else None,
                package=identity.name[:500] if identity else None,
                name=component.name[:500],
                version=component.version[:200] if component.version else None,
                cpes=orjson.dumps(list(component.cpes)).decode(),
            )
        )
    session.add_all(rows)
    session.flush()
    return row, previous


def current_inventories(session: Session, *, organization_id: int) -> list[Inventory]:
    return list(
        session.scalars(
            select(Inventory)
            .where(Inventory.organization_id == organization_id, Inventory.current.is_(True))
            .order_by(Inventory.product)
        )
    )


def components_of(session: Session, *, inventory_ids: Sequence[int]) -> list[InventoryComponent]:
    if not inventory_ids:
        return []
    return list(
        session.scalars(
            select(InventoryComponent)
            .where(InventoryComponent.inventory_id.in_(list(inventory_ids)))
            .order_by(InventoryComponent.inventory_id, InventoryComponent.id)
        )
    )


def find_advisory(session: Session, *, identifier: str) -> Advisory | None:
    """A stored advisory by OSV id, else by an alias (CVE, GHSA …)."""
    record = session.scalars(
        select(AdvisoryRecord.record).where(AdvisoryRecord.osv_id == identifier)
    ).first()
    if record is None:
        quoted = orjson.dumps(identifier).decode()
        record = session.scalars(
            select(AdvisoryRecord.record)
            .where(AdvisoryRecord.aliases.contains(quoted))
            .order_by(AdvisoryRecord.id)
        ).first()
    return parse_advisory(orjson.loads(record)) if record is not None else None


def current_components_in(
    session: Session, *, ecosystems: Sequence[str]
) -> list[tuple[InventoryComponent, str, str, str | None]]:
    """(component, product, organization, sector) of current inventories in ``ecosystems``."""
    if not ecosystems:
        return []
    rows = session.execute(
        select(InventoryComponent, Inventory.product, Organization.name, Organization.sector)
        .join(Inventory, InventoryComponent.inventory_id == Inventory.id)
        .join(Organization, Inventory.organization_id == Organization.id)
        .where(Inventory.current.is_(True), InventoryComponent.ecosystem.in_(list(ecosystems)))
        .order_by(Organization.name, InventoryComponent.id)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


# --- VEX -------------------------------------------------------------------------------------


def store_vex(
    session: Session,
    *,
    organization_id: int,
    document: VexDocument,
    sha256: str,
    clock: Clock,
) -> int:
    """Store every statement of ``document`` as issued by ``organization_id``."""
    now = clock.now()

    def dumps(items: Sequence[str]) -> str:
        return orjson.dumps(list(items)).decode()

    rows = [
        VexRecord(
            organization_id=organization_id,
            document_sha256=sha256,
            format=document.format,
            vulnerability=s.vulnerability[:200],
            aliases=dumps(s.aliases),
            products=dumps(s.products),
            subcomponents=dumps(s.subcomponents),
            versions=dumps(s.versions),
            status=s.status,
            justification=s.justification[:100] if s.justification else None,
            impact_statement=s.impact_statement,
            action_statement=s.action_statement,
            timestamp=(s.timestamp or document.timestamp),
            detail=s.detail,
            imported_at=now,
        )
        for s in document.statements
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)


def vex_for(session: Session, *, organization_id: int) -> list[Statement]:
    """Statements that speak for ``organization_id``'s inventories: its own, and those of
    vendors and coordinators (who speak about their products for everyone)."""
    rows = session.execute(
        select(VexRecord, Organization.name)
        .join(Organization, VexRecord.organization_id == Organization.id)
        .where(
            or_(
                VexRecord.organization_id == organization_id,
                Organization.kind.in_((OrgKind.VENDOR.value, OrgKind.COORDINATOR.value)),
            )
        )
        .order_by(VexRecord.id)
    )
    statements = []
    for row, issuer in rows:
        statements.append(
            Statement(
                order=row.id,
                issuer=issuer,
                vulnerability=row.vulnerability,
                aliases=tuple(orjson.loads(row.aliases)),
                products=tuple(orjson.loads(row.products)),
                subcomponents=tuple(orjson.loads(row.subcomponents)),
                versions=tuple(orjson.loads(row.versions)),
                status=row.status,
                justification=row.justification,
                timestamp=row.timestamp,
            )
        )
    return statements


def organizations_running(session: Session, *, purl: str) -> int:
    """How many organizations' current inventories hold the package ``purl`` (any version)."""
    base = purl.split("?", 1)[0].split("#", 1)[0].split("@", 1)[0]
    count = session.scalar(
        select(func.count(func.distinct(Inventory.organization_id)))
        .join(InventoryComponent, InventoryComponent.inventory_id == Inventory.id)
        .where(
            Inventory.current.is_(True),
            (InventoryComponent.purl == base) | InventoryComponent.purl.startswith(base + "@"),
        )
    )
    return int(count or 0)
