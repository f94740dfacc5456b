"""ORM models of registered targets and validation runs.

A ``Target`` row names one registered copy of a target directory, stored under the digest of
its files (``validation.snapshot``); the same name may be registered again with other content,
and the newest registration of a name is the one findings are validated against.

A ``PatchValidation`` is one candidate patch judged against a vulnerability's reproduced
proofs (``validation.patching``), with its verdict and evidence.

A ``ValidationRun`` is one reproduction of one finding's proof against one target. The row is
the truth about the job (``queued -> running -> done | failed``); a queue only ever carries its
id. A ``running`` row holds a lease (``lease_expires_at``) that its worker extends while it
works, so a run whose worker died is found and requeued or failed instead of staying
``running`` forever. ``crash_state`` is JSON (a list of at most three frames).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class Target(Base):
    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("name", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(64))
    files: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    manifest: Mapped[str] = mapped_column(Text)  # the clearinghouse-target.toml text
    registered_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ValidationRun(Base):
    __tablename__ = "validation_runs"
    __table_args__ = (
        Index("ix_validation_runs_status", "status"),
        Index("ix_validation_runs_finding", "finding_id"),
        Index("ix_validation_runs_target", "target_id", "verdict"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    repetitions: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str | None] = mapped_column(String(32))
    reproductions: Mapped[int | None] = mapped_column(Integer)
    sanitizer: Mapped[str | None] = mapped_column(String(64))
    crash_type: Mapped[str | None] = mapped_column(String(300))
    crash_state: Mapped[str | None] = mapped_column(Text)  # JSON list of frames
    security: Mapped[bool | None] = mapped_column(Boolean)
    severity: Mapped[str | None] = mapped_column(String(16))
    signature: Mapped[str | None] = mapped_column(String(64), index=True)
    isolation: Mapped[str | None] = mapped_column(String(100))
    log: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class PatchValidation(Base):
    """One candidate patch checked against one vulnerability's reproduced proofs.

    The diff is kept (bounded by ``validation.patching.MAX_DIFF_BYTES``) with its SHA-256, so
    the verdict can be reviewed against exactly what was applied; ``evidence`` is JSON (per
    proof: runs and crashes; test exit code and capped output; capped build and patch logs).
    """

    __tablename__ = "patch_validations"
    __table_args__ = (Index("ix_patch_validations_vulnerability", "vulnerability_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vulnerability_id: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"))
    diff_sha256: Mapped[str] = mapped_column(String(64))
    diff: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(32))
    repetitions: Mapped[int] = mapped_column(Integer)
    runs: Mapped[str] = mapped_column(Text)  # JSON list of the validation run ids whose proofs ran
    evidence: Mapped[str] = mapped_column(Text)  # JSON
    isolation: Mapped[str | None] = mapped_column(String(100))
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
