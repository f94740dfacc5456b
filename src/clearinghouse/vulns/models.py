"""ORM models of canonical vulnerabilities.

A vulnerability holds no content of its own: its title, CWE, aliases and finders are derived
from the findings the viewer may see, so that no TLP-restricted finding leaks through it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class Vulnerability(Base):
    __tablename__ = "vulnerabilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("vulnerabilities.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class IdCounter(Base):
    """Next number per id scope (``CH-2026``), taken under a row lock."""

    __tablename__ = "id_counters"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column()
