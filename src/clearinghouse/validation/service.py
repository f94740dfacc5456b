"""Queries and commands on registered targets and validation runs.

Targets: register a snapshot (idempotent per name and digest), list them, and find the one a
finding names. **The linking rule**: a finding belongs to the registered target whose name
equals the finding's ``target`` field, either as the bare name (``rle-decoder``) or as a
generic package URL (``pkg:generic/rle-decoder``, with any ``@version``, ``?qualifiers`` or
``#subpath`` ignored). When a name was registered several times (different contents), the
newest registration is used.

Runs: create (``queued``), claim (``queued -> running`` with a lease, only if still queued, so
two workers can never both run one), extend the lease, finish (``done`` with the verdict and
crash signature) or fail (``failed`` with the reason), and recover runs whose worker's lease
expired: requeued while attempts remain, failed with the reason after that.

Signatures: after a run reproduces, its crash signature becomes an exact key of the finding's
vulnerability in the dedup index, and vulnerabilities that hold the same key, or whose
reproduced runs on the same target are the same crash (``validation.signature.same_crash``),
are merged through ``dedup.service.merge_group`` (which respects analyst separations).

Patch validations: the reproduced runs of a vulnerability (whose proofs a patch must stop), and
the stored ``patch_validations`` row of a judged patch.

Nothing here audits, runs processes or commits: the pipeline does, in one transaction per step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import InputError, NotFoundError
from clearinghouse.dedup import service as dedup_service
from clearinghouse.intake.models import Finding
from clearinghouse.validation.crash import CrashReport, Severity
from clearinghouse.validation.models import PatchValidation, Target, ValidationRun
from clearinghouse.validation.patching import PatchOutcome
from clearinghouse.validation.reproduce import Reproduction, Verdict
from clearinghouse.validation.signature import same_crash, signature_key
from clearinghouse.validation.snapshot import Snapshot
from clearinghouse.validation.target import TargetManifest
from clearinghouse.vulns.models import Vulnerability

QUEUED: Final = "queued"
RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"
GENERIC_PURL: Final = "pkg:generic/"
_SIMILAR_CANDIDATES: Final = 1_000  # reproduced runs of one target compared per new crash


# --- targets ---------------------------------------------------------------------------------


def register_target(
    session: Session,
    *,
    manifest: TargetManifest,
    manifest_text: str,
    snapshot: Snapshot,
    registered_by: str,
    clock: Clock,
) -> tuple[Target, bool]:
    """The ``targets`` row for this name and content; ``(row, created)``."""
    existing = session.scalars(
        select(Target).where(Target.name == manifest.name, Target.digest == snapshot.digest)
    ).first()
    if existing is not None:
        return existing, False
    target = Target(
        name=manifest.name,
        digest=snapshot.digest,
        language=manifest.language.value,
        version=manifest.version,
        files=snapshot.files,
        size=snapshot.size,
        manifest=manifest_text,
        registered_by=registered_by,
        created_at=clock.now(),
    )
    session.add(target)
    session.flush()
    return target, True


def list_targets(session: Session) -> list[Target]:
    return list(session.scalars(select(Target).order_by(Target.id)))


def target_name_of(field: str | None) -> str | None:
    """The registered-target name a finding's ``target`` field names (the linking rule)."""
    if not field:
        return None
    value = field.strip()
    if value.startswith(GENERIC_PURL):
        value = value[len(GENERIC_PURL) :]
        for separator in ("#", "?", "@"):
            value = value.split(separator, 1)[0]
    return value or None


def target_for_finding_or_raise(session: Session, *, target_field: str | None) -> Target:
    name = target_name_of(target_field)
    if name is None:
        raise InputError("the finding names no target, so there is nothing to reproduce it on")
    target = session.scalars(
        select(Target).where(Target.name == name).order_by(Target.id.desc())
    ).first()
    if target is None:
        raise NotFoundError(
            f"no registered target named {name!r} (register it with 'targets add PATH')"
        )
    return target


# --- runs ------------------------------------------------------------------------------------


def create_run(
    session: Session,
    *,
    finding_id: int,
    target_id: int,
    repetitions: int,
    requested_by: str,
    clock: Clock,
) -> ValidationRun:
    if not 1 <= repetitions <= 50:
        raise InputError("repetitions: between 1 and 50")
    run = ValidationRun(
        finding_id=finding_id,
        target_id=target_id,
        status=QUEUED,
        attempts=0,
        repetitions=repetitions,
        requested_by=requested_by,
        created_at=clock.now(),
    )
    session.add(run)
    session.flush()
    return run


def get_run_or_raise(session: Session, *, run_id: int, for_update: bool = False) -> ValidationRun:
    """The run; ``for_update`` locks its row (on PostgreSQL) so a recovery cannot interleave."""
    run = session.get(ValidationRun, run_id, with_for_update=for_update or None)
    if run is None:
        raise NotFoundError(f"validation run {run_id} does not exist")
    return run


def claim(
    session: Session, *, run_id: int, worker: str, lease_s: float, clock: Clock
) -> ValidationRun | None:
    """Take a queued run (``running``, one more attempt, a lease); ``None`` if not queued.

    The row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's write lock is already held
    by ``BEGIN IMMEDIATE``), so two workers handed the same id cannot both take it.
    """
    run = session.get(ValidationRun, run_id, with_for_update=True)
    if run is None or run.status != QUEUED:
        return None
    now = clock.now()
    run.status = RUNNING
    run.attempts += 1
    run.worker = worker
    run.started_at = now
    run.lease_expires_at = now + dt.timedelta(seconds=lease_s)
    session.flush()
    return run


def extend_lease(
    session: Session, *, run_id: int, worker: str, lease_s: float, clock: Clock
) -> bool:
    """Push the lease forward; false when the run is no longer this worker's."""
    run = session.get(ValidationRun, run_id, with_for_update=True)
    if run is None or run.status != RUNNING or run.worker != worker:
        return False
    run.lease_expires_at = clock.now() + dt.timedelta(seconds=lease_s)
    return True


def finish(session: Session, *, run: ValidationRun, outcome: Reproduction, clock: Clock) -> None:
    report = outcome.report
    run.status = DONE
    run.verdict = outcome.verdict.value
    run.reproductions = outcome.reproductions
    run.isolation = outcome.isolation
    run.log = outcome.log
    run.error = outcome.error
    run.finished_at = clock.now()
    run.lease_expires_at = None
    if report is not None and outcome.verdict is Verdict.REPRODUCED:
        run.sanitizer = report.sanitizer
        run.crash_type = report.crash_type
        run.crash_state = orjson.dumps(list(report.crash_state)).decode()
        run.security = report.security
        run.severity = report.severity
        run.signature = signature_key(report)
    session.flush()


def fail(session: Session, *, run: ValidationRun, reason: str, clock: Clock) -> None:
    run.status = FAILED
    run.error = reason
    run.finished_at = clock.now()
    run.lease_expires_at = None
    session.flush()


@dataclass(frozen=True, slots=True)
class Recovered:
    run_id: int
    status: str  # queued (retried) or failed
    reason: str


def recover_stale(session: Session, *, clock: Clock, max_attempts: int) -> list[Recovered]:
    """Runs left ``running`` by a worker whose lease expired: requeue, or fail after
    ``max_attempts`` (a proof that kills its worker every time must not loop forever)."""
    now = clock.now()
    stale = session.scalars(
        select(ValidationRun)
        .where(ValidationRun.status == RUNNING, ValidationRun.lease_expires_at < now)
        .order_by(ValidationRun.id)
        .with_for_update()
    ).all()
    recovered = []
    for run in stale:
        expired = run.lease_expires_at.isoformat() if run.lease_expires_at else "?"
        if run.attempts < max_attempts:
            reason = (
                f"worker {run.worker} stopped renewing its lease (expired {expired}); "
                f"requeued after attempt {run.attempts}"
            )
            run.status = QUEUED
            run.worker = None
            run.lease_expires_at = None
            run.error = reason
        else:
            reason = (
                f"worker {run.worker} stopped renewing its lease (expired {expired}) on "
                f"attempt {run.attempts} of {max_attempts}; not retried"
            )
            fail(session, run=run, reason=reason, clock=clock)
        recovered.append(Recovered(run_id=run.id, status=run.status, reason=reason))
    session.flush()
    return recovered


STATUSES: Final = (QUEUED, RUNNING, DONE, FAILED)


def list_runs(
    session: Session, *, status: str | None, limit: int, offset: int
) -> list[ValidationRun]:
    """Runs, newest first, optionally of one status (an operator's view of the queue)."""
    query = select(ValidationRun).order_by(ValidationRun.id.desc()).limit(limit).offset(offset)
    if status is not None:
        query = query.where(ValidationRun.status == status)
    return list(session.scalars(query))


def queued_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(ValidationRun.id)
            .where(ValidationRun.status == QUEUED)
            .order_by(ValidationRun.id)
        )
    )


def runs_of_finding(session: Session, *, finding_id: int) -> list[ValidationRun]:
    return list(
        session.scalars(
            select(ValidationRun)
            .where(ValidationRun.finding_id == finding_id)
            .order_by(ValidationRun.id)
        )
    )


def crash_report_of(run: ValidationRun) -> CrashReport | None:
    """The stored crash of a reproduced run, as ``validation.crash`` made it (log aside)."""
    if run.verdict != Verdict.REPRODUCED.value or run.crash_type is None:
        return None
    state = tuple(str(frame) for frame in orjson.loads(run.crash_state or "[]"))
    severity: Severity | None = None
    if run.severity in ("high", "medium", "low"):
        severity = run.severity  # type: ignore[assignment]
    return CrashReport(
        sanitizer=run.sanitizer or "",
        crash_type=run.crash_type,
        crash_state=state,
        security=bool(run.security),
        severity=severity,
        log="",
    )


# --- crash signatures merge duplicates ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignatureMerge:
    vulnerability_id: int  # the finding's vulnerability after merging (the survivor)
    merged: tuple[int, ...]
    blocked: tuple[int, ...]  # same crash, but an analyst separated them
    key: str


def merge_by_signature(session: Session, *, run: ValidationRun, clock: Clock) -> SignatureMerge:
    """Index the run's crash signature and merge every vulnerability that is the same crash."""
    report = crash_report_of(run)
    if report is None or run.signature is None:
        raise InputError(f"validation run {run.id} did not reproduce; it has no signature")
    finding = session.get(Finding, run.finding_id)
    if finding is None:  # pragma: no cover - a foreign key guarantees it
        raise NotFoundError(f"finding {run.finding_id} does not exist")
    mine = finding.vulnerability_id
    candidates = set(dedup_service.vulnerabilities_with_key(session, key=run.signature))
    if report.crash_state:  # no stack: nothing tells two hangs apart (signature.same_crash)
        others = session.execute(
            select(ValidationRun, Finding.vulnerability_id)
            .join(Finding, Finding.id == ValidationRun.finding_id)
            .where(
                ValidationRun.target_id == run.target_id,
                ValidationRun.verdict == Verdict.REPRODUCED.value,
                ValidationRun.security == report.security,
                ValidationRun.id != run.id,
                Finding.vulnerability_id != mine,
            )
            .order_by(ValidationRun.id.desc())
            .limit(_SIMILAR_CANDIDATES)
        )
        for other, vulnerability in others:
            other_report = crash_report_of(other)
            if other_report is not None and same_crash(report, other_report):
                candidates.add(vulnerability)
    dedup_service.add_exact_key(session, key=run.signature, vulnerability_id=mine)
    outcome = dedup_service.merge_group(session, vulnerability_ids=[mine, *candidates], clock=clock)
    return SignatureMerge(
        vulnerability_id=outcome.survivor,
        merged=outcome.merged,
        blocked=outcome.blocked,
        key=run.signature,
    )


# --- patch validations -----------------------------------------------------------------------


def reproduced_runs_of_vulnerability(
    session: Session, *, vulnerability_id: int
) -> list[ValidationRun]:
    """Every ``reproduced`` run of the vulnerability's findings, newest first."""
    return list(
        session.scalars(
            select(ValidationRun)
            .join(Finding, Finding.id == ValidationRun.finding_id)
            .where(
                Finding.vulnerability_id == vulnerability_id,
                ValidationRun.verdict == Verdict.REPRODUCED.value,
            )
            .order_by(ValidationRun.id.desc())
        )
    )


def record_patch_validation(
    session: Session,
    *,
    vulnerability_id: int,
    target_id: int,
    diff: bytes,
    outcome: PatchOutcome,
    repetitions: int,
    run_ids: list[int],
    requested_by: str,
    clock: Clock,
) -> PatchValidation:
    row = PatchValidation(
        vulnerability_id=vulnerability_id,
        target_id=target_id,
        diff_sha256=hashlib.sha256(diff).hexdigest(),
        diff=diff.decode("utf-8", "replace"),
        verdict=outcome.verdict.value,
        repetitions=repetitions,
        runs=orjson.dumps(run_ids).decode(),
        evidence=orjson.dumps(outcome.evidence()).decode(),
        isolation=outcome.isolation or None,
        requested_by=requested_by,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def reproduced_public_ids(session: Session, *, public_ids: Sequence[str]) -> set[str]:
    """Which of these vulnerabilities have a finding whose proof was reproduced."""
    if not public_ids:
        return set()
    rows = session.scalars(
        select(Vulnerability.public_id)
        .join(Finding, Finding.vulnerability_id == Vulnerability.id)
        .join(ValidationRun, ValidationRun.finding_id == Finding.id)
        .where(
            Vulnerability.public_id.in_(sorted(set(public_ids))),
            ValidationRun.verdict == Verdict.REPRODUCED.value,
        )
    )
    return set(rows)
