"""Scanning as a service: the clearinghouse runs the scanners (and a fuzzing job) on a target the
operator proved it owns, inside bubblewrap, and what they find goes through intake, credited to
the clearinghouse and shared with the owner; anyone else is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, update

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.errors import PermissionDeniedError
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import read_flow, scan_flow, scan_service, validation_flow
from clearinghouse.pipeline.models import Finding, Organization, ScopeClaim
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory
from tests.integration.validation.test_scanners import REPO, TARGETS, _unavailable
from tests.integration.validation.test_scanners import toolchain as toolchain


@pytest.fixture
def scanning(
    runtime: Runtime,
    make_org: OrgFactory,
    toolchain: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Runtime:
    import shutil

    if shutil.which("bwrap") is None:
        _unavailable("bubblewrap is not installed")
    # The sandbox's user must reach the work and build directories: a world-searchable parent.
    work = Path("/tmp") / f"clearinghouse-scan-{tmp_path_factory.getbasetemp().name}"
    work.mkdir(mode=0o755, exist_ok=True)
    work.chmod(0o755)
    runtime.settings = runtime.settings.model_copy(
        update={"scanner_toolchain": toolchain, "work_dir": work}
    )
    make_org("Valley Hospital", kind=OrgKind.OPERATOR)
    make_org("Lab Alpha", kind=OrgKind.AI_LAB)
    validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=TARGETS / "c-stack-overflow")
    with runtime.db.session() as session:
        hospital = access_service.get_org_by_name_or_raise(session, name="Valley Hospital")
        viewer = access_service.viewer_for_org(hospital, role=Role.ANALYST)
    scan_flow.claim_scope(
        runtime,
        viewer=viewer,
        organization="Valley Hospital",
        code=["pkg:generic/dns-question"],
        domain="valley-hospital.example",
    )
    with runtime.db.session() as session:  # the proof itself is tested against a real DNS
        session.execute(update(ScopeClaim).values(verified_at=dt.datetime.now(dt.UTC)))
    return runtime


def test_the_service_scans_an_owned_target_and_imports_the_findings(scanning: Runtime) -> None:
    assert REPO.is_dir()
    with scanning.db.session() as session:
        hospital = access_service.get_org_by_name_or_raise(session, name="Valley Hospital")
        lab = access_service.get_org_by_name_or_raise(session, name="Lab Alpha")
        hospital_viewer = access_service.viewer_for_org(hospital, role=Role.ANALYST)
        lab_viewer = access_service.viewer_for_org(lab, role=Role.ANALYST)
    with pytest.raises(PermissionDeniedError, match="neither owns"):
        scan_service.run_service(
            scanning,
            viewer=lab_viewer,
            organization="Lab Alpha",
            target="dns-question",
            static=("flawfinder",),
            fuzz_seconds=0,
        )
    result = scan_service.run_service(
        scanning,
        viewer=hospital_viewer,
        organization="Valley Hospital",
        target="dns-question",
        static=("flawfinder", "semgrep"),
        fuzz_seconds=0,
    )
    assert result["ticket"].startswith("SCAN-")
    assert result["basis"] == "owner"
    by_scanner = {r["scanner"]: r for r in result["static"]}
    assert by_scanner["flawfinder"]["isolation"] == "bubblewrap"
    assert by_scanner["flawfinder"]["findings"] > 0
    # Credited to the clearinghouse's service, shared with the owner, hidden from the lab.
    with scanning.db.session() as session:
        credited = set(
            session.scalars(
                select(Organization.name).join(Finding, Finding.organization_id == Organization.id)
            )
        )
    assert credited == {scan_service.SERVICE_ORG}
    seen = read_flow.list_findings(
        scanning.db,
        viewer=hospital_viewer,
        clock=scanning.clock,
        submission_id=None,
        limit=1000,
        offset=0,
    )
    assert seen
    hidden = read_flow.list_findings(
        scanning.db,
        viewer=lab_viewer,
        clock=scanning.clock,
        submission_id=None,
        limit=1000,
        offset=0,
    )
    assert hidden == []


def test_settings_default_the_toolchain_beside_the_data(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", scanner_toolchain=None)
    assert settings.scanner_dir == tmp_path / "data" / "scanners-venv"


def test_a_fuzzing_job_finds_the_bug_and_validation_reproduces_it(scanning: Runtime) -> None:
    import shutil

    if shutil.which("clang") is None:
        _unavailable("clang is not installed (apt-get install clang)")
    validation_flow.add_target(scanning, viewer=LOCAL_ADMIN, path=TARGETS / "c-fuzz-tlv")
    scan_flow.claim_scope(
        scanning,
        viewer=LOCAL_ADMIN,
        organization="Valley Hospital",
        code=["pkg:generic/tlv-message"],
        domain="valley-hospital.example",
    )
    with scanning.db.session() as session:
        session.execute(update(ScopeClaim).values(verified_at=dt.datetime.now(dt.UTC)))
    result = scan_service.run_service(
        scanning,
        viewer=LOCAL_ADMIN,
        organization="Valley Hospital",
        target="tlv-message",
        static=(),
        fuzz_seconds=15,
    )
    fuzz = result["fuzz"]
    assert fuzz is not None
    assert fuzz["isolation"] == "bubblewrap"
    assert "Heap-buffer-overflow WRITE 1" in fuzz["crashes"]
    assert fuzz["imported"]["validations"] >= 1
    runs = validation_flow.work_queued(scanning, workers=1)
    assert "reproduced" in {run["verdict"] for run in runs}
