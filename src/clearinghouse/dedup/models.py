"""ORM models of the dedup index, analyst separations and duplicate suggestions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class DedupIndexEntry(Base):
    """Identity key -> vulnerability. ``cwes`` is set (JSON) only for location keys.

    Rows are rebuilt from the findings' stored identity keys when an analyst splits a
    vulnerability, and re-pointed when vulnerabilities merge; duplicates are harmless.
    """

    __tablename__ = "dedup_index"
    __table_args__ = (
        Index("ix_dedup_index_key", "key"),
        Index("ix_dedup_index_vuln", "vulnerability_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    vulnerability_id: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"))
    cwes: Mapped[str] = mapped_column(Text, default="")


class Separation(Base):
    """An analyst split these two vulnerabilities; the engine never merges them again."""

    __tablename__ = "dedup_separations"
    __table_args__ = (UniqueConstraint("vulnerability_a", "vulnerability_b"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vulnerability_a: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"))
    vulnerability_b: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Suggestion(Base):
    """A likely-but-unsure duplicate pair for an analyst to decide."""

    __tablename__ = "dedup_suggestions"
    __table_args__ = (UniqueConstraint("vulnerability_a", "vulnerability_b"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vulnerability_a: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"))
    vulnerability_b: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"))
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
