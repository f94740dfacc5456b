"""ORM models of the exploitation signals: CISA KEV entries and FIRST EPSS scores, by CVE.

Each import replaces the previous catalog or score file whole (both are published as complete
snapshots); ``imported_at`` says how fresh they are.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class KevRecord(Base):
    __tablename__ = "kev_entries"

    cve: Mapped[str] = mapped_column(String(32), primary_key=True)
    vendor: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    date_added: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    ransomware: Mapped[bool] = mapped_column(Boolean)
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class EpssRecord(Base):
    __tablename__ = "epss_scores"

    cve: Mapped[str] = mapped_column(String(32), primary_key=True)
    epss: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    score_date: Mapped[str | None] = mapped_column(String(10))
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
