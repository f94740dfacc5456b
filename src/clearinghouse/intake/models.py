"""ORM models of submissions and findings.

Structured fields a finding carries in lists (CWEs, aliases, fingerprints, identity keys) are
stored as JSON text: they are read whole and never queried element by element, except through
the dedup index, which has its own table. A finding's content is stored once per distinct
content (``FindingContent``) and each occurrence (``Finding``) points at it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("organization_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    producer: Mapped[str | None] = mapped_column(String(500))
    tlp: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(2000))
    finding_count: Mapped[int] = mapped_column(Integer, default=0)
    new_vulnerabilities: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    submitted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class FindingContent(Base):
    """What a finding says, stored once per distinct content (content-addressed).

    Stacked CI scans repeat the same result many times; each occurrence is a ``Finding`` row
    (its own submission, position and credit), and they all point at one content row. The
    digest is SHA-256 over the content columns and the identity keys, JSON-encoded.
    """

    __tablename__ = "finding_contents"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    identity: Mapped[str] = mapped_column(Text)  # JSON {"exact": [...], "locations": [...]}
    producer: Mapped[str] = mapped_column(String(500))
    producer_version: Mapped[str | None] = mapped_column(String(200))
    rule_id: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    cwes: Mapped[str] = mapped_column(Text)  # JSON list of ints
    severity: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    security_severity: Mapped[float | None] = mapped_column(Float)
    path: Mapped[str | None] = mapped_column(Text)
    function: Mapped[str | None] = mapped_column(Text)
    start_line: Mapped[int | None] = mapped_column(Integer)
    end_line: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(2000))
    version: Mapped[str | None] = mapped_column(String(200))
    aliases: Mapped[str] = mapped_column(Text)  # JSON list
    fingerprints: Mapped[str] = mapped_column(Text)  # JSON list of [name, value]
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[str] = mapped_column(Text)  # JSON: snippet, proof, provenance, affected, extra


class Finding(Base):
    """One occurrence of a finding in one submission: who reported it, where, and when."""

    __tablename__ = "findings"
    __table_args__ = (
        # A vulnerability's findings, and whether a viewer may see them, from the index alone
        # (the triage queue tests this for every vulnerability it counts).
        Index(
            "ix_findings_visibility", "vulnerability_id", "tlp", "organization_id", "submission_id"
        ),
        Index("ix_findings_submission", "submission_id", "seq"),
        Index("ix_findings_content", "content_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    seq: Mapped[int] = mapped_column(Integer)
    vulnerability_id: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"))
    tlp: Mapped[str] = mapped_column(String(16))
    pointer: Mapped[str] = mapped_column(String(200))
    content_digest: Mapped[str] = mapped_column(ForeignKey("finding_contents.digest"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    content: Mapped[FindingContent] = relationship(lazy="joined", innerjoin=True)
