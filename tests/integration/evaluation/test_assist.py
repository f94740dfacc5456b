"""Defensive use: a model is asked for a candidate patch of a validated vulnerability, the
patch engine judges it in the sandbox, and only a ``fixes`` verdict is offered. A coordinator
may ask; a vendor only under an active grant on the model's engagement; every use is audited
against its grant."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.audit.models import AuditEvent
from clearinghouse.core.errors import NotFoundError
from clearinghouse.evaluation.models import Designation, ModelAssist
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import designation_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import POSTGRES_URL, OrgFactory, _reset_postgres
from tests.integration.validation.test_patches import RLE, reproduced_vulnerability


@pytest.fixture
def settings(searchable: Path, eval_sandbox: object) -> Settings:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    return Settings(data_dir=searchable / "data", database_url=POSTGRES_URL)


def _patcher(path: Path, vuln: str, diff: bytes) -> str:
    """A scripted model that writes ``diff`` as fix.diff and submits it."""
    turns = [
        {"tool": "shell", "arguments": {"command": "ls proof.bin src"}},
        {
            "tool": "write_file",
            "arguments": {
                "path": "fix.diff",
                "content": base64.b64encode(diff).decode(),
                "encoding": "base64",
            },
        },
        {"tool": "submit", "arguments": {"file": "fix.diff"}},
    ]
    path.write_bytes(orjson.dumps({"name": path.stem, "tasks": {f"assist-{vuln.lower()}": turns}}))
    return f"scripted:{path}"


def _viewer(runtime: Runtime, name: str) -> Viewer:
    with runtime.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=name)
        return access_service.viewer_for_org(org, role=Role.ANALYST)


def test_only_a_patch_the_engine_says_fixes_is_offered_and_grants_bound_who_asks(
    runtime: Runtime, make_org: OrgFactory, searchable: Path
) -> None:
    make_org("Lab", kind=OrgKind.AI_LAB)
    make_org("Dev", kind=OrgKind.MODEL_DEVELOPER)
    make_org("Vendor", kind=OrgKind.VENDOR)
    vuln = reproduced_vulnerability(runtime, RLE, "Lab")
    good = _patcher(
        searchable / "good.json", vuln, (RLE / "patches/fix-capacity-check.diff").read_bytes()
    )
    bad = _patcher(
        searchable / "bad.json", vuln, (RLE / "patches/off-by-one-check.diff").read_bytes()
    )

    offered = designation_flow.assist_patch(
        runtime, viewer=LOCAL_ADMIN, vuln_id=vuln, model_spec=good
    )
    assert (offered["verdict"], offered["offered"]) == ("fixes", True)
    assert offered["patch"] is not None
    assert "+++" in offered["patch"]
    withheld = designation_flow.assist_patch(
        runtime, viewer=LOCAL_ADMIN, vuln_id=vuln, model_spec=bad
    )
    assert withheld["offered"] is False
    assert withheld["verdict"] != "fixes"
    assert withheld["patch"] is None

    # a vendor holds no grant and is not involved: refused before any model runs, with the same
    # 404 as a missing engagement (probing ids tells nothing)
    vendor = _viewer(runtime, "Vendor")
    dev = _viewer(runtime, "Dev")
    model = designation_flow.register_model(
        runtime,
        viewer=dev,
        name="m",
        version="1",
        planned_release=runtime.clock.now() + dt.timedelta(days=10),
    )
    engagement = designation_flow.open_engagement(runtime, viewer=dev, model_id=model["id"])
    with pytest.raises(NotFoundError):
        designation_flow.assist_patch(
            runtime, viewer=vendor, vuln_id=vuln, model_spec=good, engagement_id=engagement["id"]
        )
    # covered, window open, the vendor admitted as a partner by both sides: now it may ask
    with runtime.db.session() as session:
        session.add(
            Designation(
                engagement_id=engagement["id"],
                outcome="covered",
                outcome_strict="covered",
                outcome_precautionary="covered",
                policy_name="p",
                policy_version="1",
                policy_hash="sha256:0",
                policy="{}",
                decision="{}",
                suite_hashes="[]",
                log_hashes="[]",
                run_ids="[]",
                status="final",
                decided_by="x",
                decided_at=runtime.clock.now(),
                signoffs="[]",
            )
        )
    designation_flow.open_window(
        runtime, viewer=dev, engagement_id=engagement["id"], opens_at=runtime.clock.now()
    )
    designation_flow.nominate(
        runtime, viewer=dev, engagement_id=engagement["id"], organization="Vendor"
    )
    admitted = designation_flow.decide_partner(
        runtime,
        viewer=LOCAL_ADMIN,
        engagement_id=engagement["id"],
        organization="Vendor",
        approve=True,
    )
    assert admitted["status"] == "admitted"
    # the vulnerability must be visible to the vendor too: the lab shares it
    from clearinghouse.pipeline.models import Finding

    with runtime.db.session() as session:
        for finding in session.scalars(select(Finding)):
            access_service.grant(
                session,
                resource_kind="submission",
                resource_id=finding.submission_id,
                org=access_service.get_org_by_name_or_raise(session, name="Vendor"),
                clock=runtime.clock,
            )
    used = designation_flow.assist_patch(
        runtime, viewer=vendor, vuln_id=vuln, model_spec=good, engagement_id=engagement["id"]
    )
    assert used["offered"] is True
    assert used["grant"] == admitted["grant"]
    with runtime.db.session() as session:
        uses = session.scalars(select(ModelAssist).order_by(ModelAssist.id)).all()
        assert [(u.offered, u.grant_id) for u in uses] == [
            (True, None),
            (False, None),
            (True, admitted["grant"]),
        ]
        audited = [
            orjson.loads(event.detail)
            for event in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "model.assist.patch")
            )
        ]
    assert [entry["grant"] for entry in audited] == [None, None, admitted["grant"]]
