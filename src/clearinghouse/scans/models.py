"""ORM models of scan coordination: claimed scope with its ownership proof, owners' throttle and
kill switch, authorizations, campaigns (with their source and target ranges for lookups), and
open-source projects with leases and coverage.

Addresses are stored as 32-digit hexadecimal strings (IPv6-wide, zero-padded), so that range
comparisons work as string comparisons on every database.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class ScopeClaim(Base):
    __tablename__ = "scope_claims"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        Index("ix_scope_claims_range", "version", "first_hex", "last_hex"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # network | hostname | code
    value: Mapped[str] = mapped_column(String(500))  # canonical CIDR, hostname, purl or repo
    version: Mapped[int | None] = mapped_column()  # 4 or 6 for networks
    first_hex: Mapped[str | None] = mapped_column(String(32))
    last_hex: Mapped[str | None] = mapped_column(String(32))
    domain: Mapped[str | None] = mapped_column(String(300))  # where the challenge is answered
    challenge_token: Mapped[str | None] = mapped_column(String(100))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(16))  # dns | http
    fragile: Mapped[bool] = mapped_column(default=False)  # never actively scanned
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class OwnerPolicy(Base):
    """An owner's one shared throttle, time zone, exclusivity and kill switch."""

    __tablename__ = "owner_policies"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    rate_cap_pps: Mapped[int] = mapped_column(default=1000)
    exclusive: Mapped[bool] = mapped_column(default=False)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ScanAuthorization(Base):
    __tablename__ = "scan_authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    scanner_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    ranges: Mapped[str] = mapped_column(Text)  # JSON list of CIDRs
    hostnames: Mapped[str] = mapped_column(Text)  # JSON list
    windows: Mapped[str] = mapped_column(String(500))  # "mon-fri 22:00-06:00; ..."
    timezone: Mapped[str] = mapped_column(String(64))
    techniques: Mapped[str] = mapped_column(Text)  # JSON list
    max_rate_pps: Mapped[int] = mapped_column()
    max_concurrency: Mapped[int] = mapped_column()
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    scanner_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    targets: Mapped[str] = mapped_column(Text)  # JSON list of CIDRs
    hostnames: Mapped[str] = mapped_column(Text)  # JSON list
    sources: Mapped[str] = mapped_column(Text)  # JSON list of CIDRs
    owners: Mapped[str] = mapped_column(Text)  # JSON list of owner organization ids
    technique: Mapped[str] = mapped_column(String(32))
    rate_pps: Mapped[int] = mapped_column()
    concurrency: Mapped[int] = mapped_column()
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    contact: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CampaignRange(Base):
    """One source or target range of a campaign, for lookups and conflict checks."""

    __tablename__ = "campaign_ranges"
    __table_args__ = (Index("ix_campaign_ranges_lookup", "role", "version", "first_hex"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))  # source | target
    version: Mapped[int] = mapped_column()
    first_hex: Mapped[str] = mapped_column(String(32))
    last_hex: Mapped[str] = mapped_column(String(32))


class Project(Base):
    """An open-source project the clearinghouse spreads scanning over."""

    __tablename__ = "scan_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(500), unique=True)  # purl or repository URL
    signals: Mapped[str] = mapped_column(Text, default="{}")  # JSON criticality signals
    score: Mapped[float] = mapped_column(default=0.0)
    last_covered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ScanLease(Base):
    __tablename__ = "scan_leases"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("scan_projects.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    released_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Coverage(Base):
    """A completed scan: target, commit, technique, organization, date."""

    __tablename__ = "scan_coverage"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("scan_projects.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    commit: Mapped[str] = mapped_column(String(64))
    technique: Mapped[str] = mapped_column(String(32))
    completed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
