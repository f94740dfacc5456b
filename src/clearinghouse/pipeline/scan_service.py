"""Scanning as a service: the clearinghouse runs real scanners itself on a code target that the
asking organization owns (a verified code claim) or has leased, under a campaign ticket and
inside the sandbox, and feeds what they find through intake, dedup and validation like any
other report, credited to the clearinghouse.

Static scanners (flawfinder, bandit, semgrep with the clearinghouse's own local rules) run from
their own toolchain venv (``validation.scanners``); a C target with a libFuzzer harness also
gets a bounded fuzzing job (``validation.fuzzing``), whose crash inputs become findings with a
proof that the validation engine reproduces on the target's normal build.
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import ConflictError, InputError, PermissionDeniedError
from clearinghouse.core.tlp import Tlp
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import intake_flow, submit_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.scans.models import Campaign, OwnerPolicy, Project, ScanLease, ScopeClaim
from clearinghouse.validation import fuzzing, scanners
from clearinghouse.validation import service as validation_service
from clearinghouse.validation.sandbox import select_sandbox
from clearinghouse.validation.sandbox.base import SandboxLimits
from clearinghouse.validation.target import parse_manifest
from clearinghouse.vulns import service as vulns_service
from clearinghouse.vulns.models import Vulnerability

SERVICE_ORG = "Clearinghouse Scanning Service"
STATIC_SCANNERS = ("flawfinder", "bandit", "semgrep")


def _service_viewer(rt: Runtime) -> Viewer:
    """The organization findings are credited to, made on first use."""
    with rt.db.session() as session:
        org = access_service.get_org_by_name(session, name=SERVICE_ORG)
        if org is None:
            org = access_service.create_org(
                session, name=SERVICE_ORG, kind=OrgKind.COORDINATOR, sector=None, clock=rt.clock
            )
        return access_service.viewer_for_org(org, role=Role.SUBMITTER)


def _may_scan(session: Any, *, organization_id: int, purl: str, now: dt.datetime) -> str | None:
    """Why the organization may have this target scanned: its verified claim, or its lease."""
    claim = session.scalars(
        select(ScopeClaim).where(
            ScopeClaim.organization_id == organization_id,
            ScopeClaim.kind == "code",
            ScopeClaim.value == purl,
            ScopeClaim.verified_at.is_not(None),
        )
    ).first()
    if claim is not None:
        return "owner"
    lease = session.scalars(
        select(ScanLease)
        .join(Project, Project.id == ScanLease.project_id)
        .where(
            Project.name == purl,
            ScanLease.organization_id == organization_id,
            ScanLease.released_at.is_(None),
            ScanLease.expires_at > now,
        )
    ).first()
    return "lease" if lease is not None else None


def run_service(
    rt: Runtime,
    *,
    viewer: Viewer,
    organization: str,
    target: str,
    static: Sequence[str] = STATIC_SCANNERS,
    fuzz_seconds: int | None = None,
) -> dict[str, Any]:
    """Scan a registered target for ``organization``: a ticket, each scanner's SARIF imported,
    each fuzzing crash imported with its proof (and queued for validation)."""
    unknown = sorted(set(static) - set(STATIC_SCANNERS))
    if unknown:
        raise InputError(f"scanners: unknown {', '.join(unknown)} (one of {STATIC_SCANNERS})")
    seconds = fuzz_seconds if fuzz_seconds is not None else rt.settings.fuzz_seconds
    if not 0 <= seconds <= 3600:
        raise InputError("fuzz_seconds: 0 to 3600")
    purl = f"pkg:generic/{target}"
    now = rt.clock.now()
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        if not (viewer.superuser or viewer.kind is OrgKind.COORDINATOR) and (
            viewer.organization_id != org.id
        ):
            raise PermissionDeniedError("an organization asks for scans of its own targets")
        basis = _may_scan(session, organization_id=org.id, purl=purl, now=now)
        if basis is None:
            raise PermissionDeniedError(
                f"{organization} neither owns {purl} (a verified code claim) nor holds a lease "
                "on it: the clearinghouse scans only what it is authorized to"
            )
        policy = session.get(OwnerPolicy, org.id)
        if policy is not None and policy.paused_at is not None:
            raise ConflictError(f"{organization} has paused every scan of its assets")
        found = validation_service.target_for_finding_or_raise(session, target_field=purl)
        digest, manifest_text = found.digest, found.manifest
        number = vulns_service.allocate_numbers(session, scope=f"SCAN-{now.year}", count=1)
        campaign = Campaign(
            ticket=f"SCAN-{now.year}-{number:06d}",
            scanner_id=org.id,
            targets="[]",
            hostnames="[]",
            sources="[]",
            owners=orjson.dumps([org.id]).decode(),
            technique="vulnerability-scan",
            rate_pps=1,
            concurrency=1,
            starts_at=now,
            ends_at=now + dt.timedelta(hours=2),
            contact="clearinghouse scanning service",
            created_at=now,
        )
        session.add(campaign)
        session.flush()
        ticket = campaign.ticket
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="scan.service",
            object_type="scan",
            object_id=ticket,
            detail={"target": purl, "basis": basis, "scanners": list(static)},
        )
    stored = rt.settings.target_dir.resolve() / digest
    service = _service_viewer(rt)
    sandbox = select_sandbox(
        allow_unisolated=rt.settings.validation_allow_unisolated,
        limits=SandboxLimits(wall_clock_s=900, cpu_s=900, max_processes=256),
    )
    work_root = rt.settings.run_dir.resolve()
    work_root.mkdir(parents=True, exist_ok=True)
    # The sandbox's user reads the target from a copy beside the runs (the data directory may
    # sit under a private parent); the stored snapshot's modes (0755/0644) come along.
    copy = Path(tempfile.mkdtemp(prefix="scan-source-", dir=work_root))
    copy.chmod(0o755)
    source = copy / "src"
    shutil.copytree(stored, source)
    try:
        seeds = tuple(
            (source / spec.file).read_bytes()[:4096]
            for spec in parse_manifest(manifest_text).benign
            if (source / spec.file).is_file()
        )
        return _scan(
            rt,
            sandbox,
            service,
            organization=organization,
            purl=purl,
            ticket=ticket,
            basis=basis,
            source=source,
            static=static,
            seconds=seconds,
            work_root=work_root,
            seeds=seeds,
        )
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def _scan(
    rt: Runtime,
    sandbox: Any,
    service: Viewer,
    *,
    organization: str,
    purl: str,
    ticket: str,
    basis: str,
    source: Path,
    static: Sequence[str],
    seconds: int,
    work_root: Path,
    seeds: tuple[bytes, ...],
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    if static:
        toolchain = scanners.toolchain_at(rt.settings.scanner_dir)
        for name in static:
            work = Path(tempfile.mkdtemp(prefix=f"scan-{name}-", dir=work_root))
            work.chmod(0o777)
            try:
                output = scanners.run_scanner(
                    sandbox, scanner=name, toolchain=toolchain, source=source, work_dir=work
                )
            finally:
                shutil.rmtree(work, ignore_errors=True)
            imported = _import(rt, service, org_name=organization, data=output.sarif, purl=purl)
            results.append(
                {
                    "scanner": name,
                    "seconds": round(output.seconds, 1),
                    "isolation": output.isolation,
                    **imported,
                }
            )
    fuzz: dict[str, Any] | None = None
    if seconds and fuzzing.harness_of(source) is not None:
        fuzz = _fuzz(
            rt,
            sandbox,
            service,
            seeds=seeds,
            org_name=organization,
            source=source,
            purl=purl,
            seconds=seconds,
            work_root=work_root,
        )
    return {"ticket": ticket, "target": purl, "basis": basis, "static": results, "fuzz": fuzz}


def _import(
    rt: Runtime, service: Viewer, *, org_name: str, data: bytes, purl: str
) -> dict[str, Any]:
    """Import a scanner's or fuzzer's report as the service, shared with the asking owner."""
    outcome, doc = submit_flow.submit(
        rt,
        intake_flow.ImportRequest(
            organization=SERVICE_ORG,
            chunks=[data],
            target=purl,
            tlp=Tlp.AMBER,
            share_with=(org_name,),
        ),
        viewer=service,
    )
    with rt.db.session() as session:
        ids = sorted(
            set(
                session.scalars(
                    select(Vulnerability.public_id)
                    .join(Finding, Finding.vulnerability_id == Vulnerability.id)
                    .where(Finding.submission_id == outcome.submission)
                )
            )
        )
    return {
        "submission": outcome.submission,
        "vulnerabilities": ids,
        "findings": outcome.findings,
        "new_vulnerabilities": outcome.new_vulnerabilities,
        "validations": len(doc.get("validations", {}).get("queued", [])),
    }


def _fuzz(
    rt: Runtime,
    sandbox: Any,
    service: Viewer,
    *,
    org_name: str,
    source: Path,
    purl: str,
    seconds: int,
    work_root: Path,
    seeds: tuple[bytes, ...] = (),
) -> dict[str, Any]:
    build = Path(tempfile.mkdtemp(prefix="fuzz-build-", dir=work_root))
    work = Path(tempfile.mkdtemp(prefix="fuzz-run-", dir=work_root))
    for path in (build, work):
        path.chmod(0o777)
    try:
        # Compiled in the sandbox too: a hostile source could pull host files in at build time.
        binary = fuzzing.build_fuzzer(source=source, out_dir=build, sandbox=sandbox)
        outcome = fuzzing.run_fuzzer(
            sandbox, binary=binary, work_dir=work, max_total_time_s=seconds, seed_inputs=seeds
        )
    finally:
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    imported: dict[str, Any] | None = None
    if outcome.crashes:
        findings = [
            {
                "target": purl,
                "title": f"{crash.crash_type or 'Crash'} found by fuzzing",
                "file": "fuzz/harness.c",
                "proof": {"input_base64": base64.b64encode(crash.input).decode()},
                "provenance": {"tool": "libFuzzer (clearinghouse scanning service)"},
            }
            for crash in outcome.crashes
        ]
        data = orjson.dumps(
            {"format": "clearinghouse-findings", "version": "1.0", "findings": findings}
        )
        imported = _import(rt, service, org_name=org_name, data=data, purl=purl)
    return {
        "seconds": round(outcome.seconds, 1),
        "runs": outcome.runs,
        "crashes": [c.crash_type for c in outcome.crashes],
        "isolation": outcome.isolation,
        "imported": imported,
    }
