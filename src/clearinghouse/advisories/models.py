"""ORM models of published advisory documents, notifications and the transactional outbox.

A notification is the fact that an organization must be told something (a pre-notification under
embargo, an advisory at publication, a reminder); an outbox message is one delivery of it to one
endpoint. Both are written in the transaction that decides them, so a crash can delay a
delivery but never lose or invent one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class AdvisoryDocument(Base):
    """One document of one revision of a case's advisory (CSAF, CSAF VEX, OSV, CVE, page)."""

    __tablename__ = "advisory_documents"
    __table_args__ = (UniqueConstraint("case_id", "version", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))  # csaf | csaf_vex | osv | cve | md | html
    name: Mapped[str] = mapped_column(String(200))  # file name
    media_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")  # the revision's summary
    published_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    published_by: Mapped[str] = mapped_column(String(200))


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("case_id", "organization_id", "kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # prenotify | advisory | reminder | escalation
    version: Mapped[int] = mapped_column(default=0)  # advisory version (0: not an advisory)
    tlp: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)  # JSON
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    response: Mapped[str | None] = mapped_column(String(16))  # acknowledged|remediated|...
    response_statement: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
