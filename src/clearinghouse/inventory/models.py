"""ORM models of advisory feeds and operators' inventories.

An ``AdvisoryRecord`` is one OSV record from a feed, stored whole (canonical JSON) under its
OSV id; a newer ``modified`` replaces it. The matching index is built from these rows in memory
(``inventory.matching``), so the rows keep everything and the index only what matching needs.

An ``Inventory`` is one imported SBOM of one product of one organization. Importing a newer SBOM
of the same product makes it the ``current`` one and keeps the old rows as history; matching
reads only current inventories. ``InventoryComponent`` rows are its components, with the OSV
identity (ecosystem, name) precomputed from the purl so exposure queries are plain SQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class AdvisoryRecord(Base):
    __tablename__ = "advisories"

    id: Mapped[int] = mapped_column(primary_key=True)
    osv_id: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(64))  # the feed it came from, e.g. "osv:PyPI"
    modified: Mapped[str | None] = mapped_column(String(64))
    withdrawn: Mapped[str | None] = mapped_column(String(64))
    aliases: Mapped[str] = mapped_column(Text)  # JSON list
    record: Mapped[str] = mapped_column(Text)  # the OSV record, canonical JSON
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Inventory(Base):
    __tablename__ = "inventories"
    __table_args__ = (Index("ix_inventories_org_product", "organization_id", "product", "current"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    product: Mapped[str] = mapped_column(String(500))
    product_version: Mapped[str | None] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(32))
    spec_version: Mapped[str | None] = mapped_column(String(16))
    serial: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    components: Mapped[int] = mapped_column(Integer)
    current: Mapped[bool] = mapped_column(Boolean)
    submitted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class InventoryComponent(Base):
    __tablename__ = "inventory_components"
    __table_args__ = (
        Index("ix_inventory_components_inventory", "inventory_id"),
        Index("ix_inventory_components_package", "ecosystem", "package"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inventory_id: Mapped[int] = mapped_column(ForeignKey("inventories.id"))
    purl: Mapped[str | None] = mapped_column(Text)
    ecosystem: Mapped[str | None] = mapped_column(String(64))  # OSV ecosystem, None if unknown
    package: Mapped[str | None] = mapped_column(String(500))  # OSV package name
    name: Mapped[str] = mapped_column(String(500))
    version: Mapped[str | None] = mapped_column(String(200))
    cpes: Mapped[str] = mapped_column(Text)  # JSON list


class VexRecord(Base):
    """One VEX statement as its issuer made it (lists as JSON), in import order (``id``)."""

    __tablename__ = "vex_statements"
    __table_args__ = (Index("ix_vex_statements_organization", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    document_sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(32))
    vulnerability: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[str] = mapped_column(Text)
    products: Mapped[str] = mapped_column(Text)
    subcomponents: Mapped[str] = mapped_column(Text)
    versions: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    justification: Mapped[str | None] = mapped_column(String(100))
    impact_statement: Mapped[str | None] = mapped_column(Text)
    action_statement: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
