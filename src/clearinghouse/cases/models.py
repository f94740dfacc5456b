"""ORM models of coordinated-disclosure cases and the vendor directory.

The directory (contacts, keys, package-URL namespaces, delivery endpoints) belongs to
organizations; a case links vulnerabilities to participants, keeps one status row per vendor and
vulnerability, its embargo with history, threaded messages and vendors' patches.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class DirectoryEntry(Base):
    """How to reach an organization about a vulnerability: contacts, key, disclosure policy."""

    __tablename__ = "directory_entries"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    contacts: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of URIs, in order
    encryption: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of key URIs
    openpgp_key: Mapped[str | None] = mapped_column(Text)  # armored public key, if given
    policy_url: Mapped[str | None] = mapped_column(String(500))
    disclosure_days: Mapped[int | None] = mapped_column()  # a finder's own disclosure policy
    security_txt_expires: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class VendorNamespace(Base):
    """A package-URL prefix a vendor owns (``pkg:pypi/rle-decoder``, ``pkg:github/acme/``)."""

    __tablename__ = "vendor_namespaces"
    __table_args__ = (UniqueConstraint("prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(300))


class Endpoint(Base):
    """Where notifications for an organization are delivered: an e-mail address or a webhook."""

    __tablename__ = "endpoints"
    __table_args__ = (UniqueConstraint("organization_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    address: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(128))  # webhook HMAC secret
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|published|closed
    exploited: Mapped[bool] = mapped_column(default=False)
    embargo_state: Mapped[str] = mapped_column(String(16))
    embargo_until: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    embargo_binding_until: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    embargo_reason: Mapped[str] = mapped_column(Text, default="")
    embargo_ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class CaseVulnerability(Base):
    __tablename__ = "case_vulnerabilities"
    __table_args__ = (UniqueConstraint("case_id", "vulnerability_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    vulnerability_id: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"), index=True)
    # What the coordinator states for the advisory; None: derived from the findings.
    title: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    cvss_v3: Mapped[str | None] = mapped_column(String(200))
    cvss_v4: Mapped[str | None] = mapped_column(String(300))
    cve_id: Mapped[str | None] = mapped_column(String(32))


class Participant(Base):
    __tablename__ = "case_participants"
    __table_args__ = (UniqueConstraint("case_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # vendor | reporter | coordinator
    suggested_by: Mapped[str | None] = mapped_column(String(300))  # the matching namespace
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    notified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    responded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    agreed_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class VendorStatus(Base):
    """One vendor's status of one vulnerability; shown to others only once approved."""

    __tablename__ = "vendor_statuses"
    __table_args__ = (UniqueConstraint("case_id", "vulnerability_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    vulnerability_id: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    statement: Mapped[str] = mapped_column(Text, default="")
    product: Mapped[str | None] = mapped_column(String(300))  # package URL without version
    fixed_version: Mapped[str | None] = mapped_column(String(100))
    approved: Mapped[bool] = mapped_column(default=False)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class EmbargoEvent(Base):
    __tablename__ = "embargo_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    until: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CaseMessage(Base):
    """A message in a case thread (``case`` or a product purl), to all or one organization."""

    __tablename__ = "case_messages"
    __table_args__ = (Index("ix_case_messages_case_thread", "case_id", "thread"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    thread: Mapped[str] = mapped_column(String(300))
    author_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    author: Mapped[str] = mapped_column(String(200))
    recipient_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    tlp: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CasePatch(Base):
    """A vendor's candidate patch, validated by the engine; its verdict is the patch run's."""

    __tablename__ = "case_patches"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    vulnerability_id: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    patch_validation_id: Mapped[int | None] = mapped_column(ForeignKey("patch_validations.id"))
    fixed_version: Mapped[str | None] = mapped_column(String(100))
    verdict: Mapped[str | None] = mapped_column(String(32))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
