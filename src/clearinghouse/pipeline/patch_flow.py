"""Validate a candidate patch for a vulnerability, end to end, and store and audit the result.

The proofs a patch must stop are those of the vulnerability's ``reproduced`` validation runs
(a proof that never reproduced proves nothing about a fix). They must all be on one target:
the target of the newest reproduced run; runs on other targets are left out and named in the
answer. Each distinct proof input runs N times against the patched build, then the target's
functional tests run once (``validation.patching``).

The work runs synchronously, outside any transaction; the result is stored in one transaction
with its audit record; a vulnerability the caller may not see is absent (404). The API route
``POST /api/v1/vulns/{vuln_id}/patches`` calls this same function. It does not queue patch
validations or rank several patches against each other.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import InputError, NotFoundError
from clearinghouse.dedup import queries as dedup_queries
from clearinghouse.intake import service as intake_service
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.pipeline.validation_flow import proof_input
from clearinghouse.validation import service as validation_service
from clearinghouse.validation.models import PatchValidation, Target
from clearinghouse.validation.patching import MAX_DIFF_BYTES, PatchValidator
from clearinghouse.validation.target import parse_manifest
from clearinghouse.vulns import service as vulns_service


def patch_validation_json(session: Session, row: PatchValidation) -> dict[str, Any]:
    target = session.get(Target, row.target_id)
    names = vulns_service.public_ids(session, ids=[row.vulnerability_id])
    return {
        "id": row.id,
        "vulnerability": names.get(row.vulnerability_id),
        "target": target.name if target else None,
        "target_digest": target.digest if target else None,
        "verdict": row.verdict,
        "repetitions": row.repetitions,
        "runs": orjson.loads(row.runs),
        "diff_sha256": row.diff_sha256,
        "evidence": orjson.loads(row.evidence),
        "isolation": row.isolation,
        "requested_by": row.requested_by,
        "created_at": row.created_at.isoformat(),
    }


def validate_patch(
    rt: Runtime, *, viewer: Viewer, vuln_id: str, diff: bytes, repetitions: int = 3
) -> dict[str, Any]:
    """Judge ``diff`` against every reproduced proof of ``vuln_id``; store and audit it."""
    if not 1 <= repetitions <= 50:
        raise InputError("repetitions: between 1 and 50")
    if len(diff) > MAX_DIFF_BYTES:
        raise InputError(f"PATCH: {len(diff)} bytes; the limit is {MAX_DIFF_BYTES}")
    with rt.db.session() as session:
        vuln = dedup_queries.get_visible_or_raise(session, viewer=viewer, public_id=vuln_id)
        runs = validation_service.reproduced_runs_of_vulnerability(
            session, vulnerability_id=vuln.id
        )
        if not runs:
            raise InputError(
                f"vulnerability {vuln.public_id} has no reproduced validation run: "
                "validate a finding's proof first ('validate FINDING_ID --wait')"
            )
        target = session.get(Target, runs[0].target_id)
        if target is None:  # pragma: no cover - a foreign key guarantees it
            raise NotFoundError(f"validation run {runs[0].id} lost its target")
        proofs: list[tuple[str, bytes]] = []
        used: list[int] = []
        tlp: str | None = None
        for run in runs:
            if run.target_id != target.id:
                continue
            finding = intake_service.get_finding_or_raise(
                session, viewer=viewer, finding_id=run.finding_id
            )
            tlp = finding.tlp
            proof = proof_input(orjson.loads(finding.content.details or "{}"))
            used.append(run.id)
            if proof is not None and all(proof != seen for _, seen in proofs):
                proofs.append((f"finding {finding.id} (run {run.id})", proof))
        manifest = parse_manifest(target.manifest)
        digest, vulnerability_id, public_id = target.digest, vuln.id, vuln.public_id
        target_id, target_name = target.id, target.name
    outcome = PatchValidator(rt.reproducer()).validate(
        manifest=manifest,
        source=rt.settings.target_dir.resolve() / digest,
        diff=diff,
        proofs=proofs,
        repetitions=repetitions,
        max_target_bytes=rt.settings.max_target_bytes,
    )
    with rt.db.session() as session:
        row = validation_service.record_patch_validation(
            session,
            vulnerability_id=vulnerability_id,
            target_id=target_id,
            diff=diff,
            outcome=outcome,
            repetitions=repetitions,
            run_ids=sorted(used),
            requested_by=viewer.label,
            clock=rt.clock,
        )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="patch.validate",
            object_type="vulnerability",
            object_id=public_id,
            tlp=tlp,
            detail={
                "patch_validation": row.id,
                "verdict": row.verdict,
                "target": target_name,
                "diff_sha256": row.diff_sha256,
                "repetitions": repetitions,
                "runs": sorted(used),
            },
        )
        return patch_validation_json(session, row)
