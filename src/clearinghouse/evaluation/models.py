"""ORM models of frontier-model assessment: registered suites, evaluation runs and their
samples, registered models with their engagements, designation decisions, the pre-release
access window, access grants, trusted partners and defensive uses of a model.

Suite content is stored on disk under the data directory by content hash (a registered suite
never changes); the rows hold what queries need. JSON columns hold small, display-only lists.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearinghouse.infra.db import Base
from clearinghouse.infra.types import UtcDateTime


class EvalSuite(Base):
    __tablename__ = "eval_suites"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(80), index=True)
    description: Mapped[str] = mapped_column(Text)
    confidential: Mapped[bool] = mapped_column(Boolean)
    tasks: Mapped[int] = mapped_column(Integer)
    families: Mapped[str] = mapped_column(Text)  # JSON {family: task count}
    evaluators: Mapped[str] = mapped_column(Text)  # JSON [organization id] (confidential suites)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    registered_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class EvalRun(Base):
    """One model on one suite for some epochs; its samples are the truth of its progress."""

    __tablename__ = "eval_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    suite_id: Mapped[int] = mapped_column(ForeignKey("eval_suites.id"), index=True)
    engagement_id: Mapped[int | None] = mapped_column(ForeignKey("engagements.id"), index=True)
    model: Mapped[str] = mapped_column(String(300))  # the adapter's name; never a key
    source: Mapped[str] = mapped_column(String(16))  # clearinghouse | inspect
    scaffold: Mapped[str] = mapped_column(String(64))
    epochs: Mapped[int] = mapped_column(Integer)
    budget: Mapped[str] = mapped_column(Text)  # JSON Budget
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    log_sha256: Mapped[str | None] = mapped_column(String(64))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class EvalSample(Base):
    __tablename__ = "eval_samples"
    __table_args__ = (UniqueConstraint("run_id", "task_id", "epoch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("eval_runs.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(64))
    family: Mapped[str] = mapped_column(String(16))
    epoch: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # pending | done
    solved: Mapped[bool | None] = mapped_column(Boolean)  # None: unscored
    grade_status: Mapped[str | None] = mapped_column(String(16))
    explanation: Mapped[str | None] = mapped_column(Text)
    stop: Mapped[str | None] = mapped_column(String(32))
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    steps: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    elapsed_s: Mapped[float] = mapped_column(Float, default=0.0)
    transcript_sha256: Mapped[str | None] = mapped_column(String(64))  # in the blob store
    details: Mapped[str] = mapped_column(Text, default="{}")
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class FrontierModel(Base):
    __tablename__ = "frontier_models"
    __table_args__ = (UniqueConstraint("developer_id", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(64))
    planned_release: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Engagement(Base):
    __tablename__ = "engagements"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("frontier_models.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open | withdrawn
    question: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    window_opens_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    window_closes_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Designation(Base):
    """A decision with everything needed to reproduce it: the policy document and its hash,
    the suites' content hashes, the runs and imported logs, and both policy readings."""

    __tablename__ = "designations"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # covered | not_covered | alert
    outcome_strict: Mapped[str] = mapped_column(String(16))
    outcome_precautionary: Mapped[str] = mapped_column(String(16))
    policy_name: Mapped[str] = mapped_column(String(100))
    policy_version: Mapped[str] = mapped_column(String(64))
    policy_hash: Mapped[str] = mapped_column(String(80))
    policy: Mapped[str] = mapped_column(Text)  # JSON, the document as applied
    decision: Mapped[str] = mapped_column(Text)  # JSON, per family with intervals
    suite_hashes: Mapped[str] = mapped_column(Text)  # JSON [content hash]
    log_hashes: Mapped[str] = mapped_column(Text)  # JSON [sha256 of imported logs]
    run_ids: Mapped[str] = mapped_column(Text)  # JSON [run id]
    status: Mapped[str] = mapped_column(String(16))  # pending_review | final
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    signoffs: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{reviewer, at, note}]


class AccessGrant(Base):
    __tablename__ = "model_access_grants"
    __table_args__ = (Index("ix_model_access_grants_org", "organization_id", "engagement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(16))  # evaluator | partner
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    granted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class TrustedPartner(Base):
    __tablename__ = "trusted_partners"
    __table_args__ = (UniqueConstraint("engagement_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    nominated_by: Mapped[str] = mapped_column(String(16))  # developer | government
    reason: Mapped[str] = mapped_column(Text)
    developer_approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    government_approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    rejected_by: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # nominated | admitted | rejected
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("model_access_grants.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ModelAssist(Base):
    """A defensive use: a model asked for a candidate patch, and what the patch engine said."""

    __tablename__ = "model_assists"

    id: Mapped[int] = mapped_column(primary_key=True)
    vulnerability_id: Mapped[int] = mapped_column(ForeignKey("vulnerabilities.id"), index=True)
    model: Mapped[str] = mapped_column(String(300))
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("model_access_grants.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    requested_by: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str | None] = mapped_column(String(32))
    offered: Mapped[bool] = mapped_column(Boolean, default=False)
    diff_sha256: Mapped[str | None] = mapped_column(String(64))
    stop: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
