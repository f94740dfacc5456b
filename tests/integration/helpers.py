"""Small helpers shared by the integration tests."""

from __future__ import annotations

from importlib import resources
from typing import Any

from sqlalchemy import func, select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import Role
from clearinghouse.core.tlp import Tlp
from clearinghouse.pipeline import intake_flow
from clearinghouse.pipeline.models import (
    AuditEvent,
    DedupIndexEntry,
    Finding,
    Submission,
    TlpGrant,
    Vulnerability,
)
from clearinghouse.pipeline.runtime import Runtime


def demo_asset(name: str) -> bytes:
    return (resources.files("clearinghouse.pipeline") / "demo_assets" / name).read_bytes()


def import_bytes(
    runtime: Runtime,
    org: str,
    data: bytes,
    *,
    tlp: Tlp | None = None,
    format: str = "auto",
    target: str | None = None,
    share_with: tuple[str, ...] = (),
    batch_size: int | None = None,
) -> intake_flow.ImportOutcome:
    with runtime.db.session() as session:
        organization = access_service.get_org_by_name_or_raise(session, name=org)
        viewer = access_service.viewer_for_org(organization, role=Role.SUBMITTER)
    return intake_flow.import_submission(
        runtime.db,
        runtime.blobs,
        intake_flow.ImportRequest(
            organization=org,
            chunks=[data],
            format=format,
            target=target,
            tlp=tlp,
            share_with=share_with,
        ),
        viewer=viewer,
        clock=runtime.clock,
        max_bytes=runtime.settings.max_upload_bytes,
        limits=runtime.limits,
        batch_size=batch_size or runtime.settings.import_batch_size,
    )


def snapshot(runtime: Runtime) -> dict[str, Any]:
    """Row counts of every table an import touches, and the audit chain's last hash."""
    with runtime.db.session() as session:
        counts: dict[str, Any] = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Submission, Finding, Vulnerability, DedupIndexEntry, AuditEvent, TlpGrant)
        }
        counts["last_audit_hash"] = session.scalar(
            select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        )
    return counts
