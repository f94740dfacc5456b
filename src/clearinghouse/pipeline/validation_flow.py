"""Validation end to end, in-process: register targets, queue runs, run them, recover them.

Each step is its own transaction with its audit record, because a run spans minutes of
sandboxed work that must not hold a database transaction open:

1. ``queue_validation``: check the finding (visible to the caller, carries a proof input, names
   a registered target) and store a ``queued`` run.
   It is then handed to a worker (``Runtime.dispatch``: the API server's in-process pool or the
   Celery workers); with none in reach it waits for ``clearinghouse validation work``.
2. ``execute_run`` (a worker, given only the id): claim the run (``running``, with a lease),
   build and reproduce outside any transaction while a thread renews the lease, then record the
   verdict (``done``) and, for a reproduction, index its crash signature and merge the
   vulnerabilities that are the same crash. Anything unexpected marks the run ``failed`` with
   the reason; a run is never left ``running`` by an exception.
3. ``recover_stale_runs`` (every worker, at start and then periodically): runs whose worker
   died mid-run (its lease lapsed) are requeued, and handed to a worker again, or failed with
   the reason once they have used their attempts.

A finding counts as validated only when its run says ``reproduced``: ``validated`` in every
answer is exactly that, so ``not_reproduced`` is never shown as validated.

It does not run Celery workers (``workers.celery_worker`` does, calling ``execute_run``) or
validate patches (``pipeline.patch_flow`` does).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import ClearinghouseError, InputError, NotFoundError
from clearinghouse.infra.jobs import Periodic, WorkerPool
from clearinghouse.intake import service as intake_service
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import read_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation import service as validation_service
from clearinghouse.validation import snapshot
from clearinghouse.validation.models import Target, ValidationRun
from clearinghouse.validation.reproduce import Reproduction, Verdict
from clearinghouse.validation.target import DOCUMENT, TargetManifest, parse_manifest
from clearinghouse.vulns import service as vulns_service

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerActor:
    """A validation worker as it appears in the audit log (no organization: the system)."""

    name: str

    @property
    def label(self) -> str:
        return f"validation-worker:{self.name}"

    @property
    def audit_organization(self) -> str | None:
        return None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- targets ---------------------------------------------------------------------------------


def target_json(target: Target) -> dict[str, Any]:
    return {
        "id": target.id,
        "name": target.name,
        "purl": f"{validation_service.GENERIC_PURL}{target.name}",
        "digest": target.digest,
        "language": target.language,
        "version": target.version,
        "files": target.files,
        "size": target.size,
        "registered_by": target.registered_by,
        "created_at": target.created_at.isoformat(),
    }


def add_target(rt: Runtime, *, viewer: Viewer, path: Path) -> dict[str, Any]:
    """Snapshot ``path`` into the data directory and register it (idempotent per content)."""
    manifest_path = path / DOCUMENT
    if manifest_path.is_symlink() or not manifest_path.is_file():
        raise InputError(f"PATH: {path} has no {DOCUMENT}")
    raw = manifest_path.read_bytes()
    manifest = parse_manifest(raw)
    for listed in _listed_files(manifest):
        candidate = path / listed
        if candidate.is_symlink() or not candidate.is_file():
            raise InputError(f"{DOCUMENT} names {listed}, which is not a file of the target")
    snap = snapshot.take(
        path, store=rt.settings.target_dir.resolve(), max_bytes=rt.settings.max_target_bytes
    )
    with rt.db.session() as session:
        target, created = validation_service.register_target(
            session,
            manifest=manifest,
            manifest_text=raw.decode("utf-8"),
            snapshot=snap,
            registered_by=viewer.label,
            clock=rt.clock,
        )
        if created:
            audit_service.append(
                session,
                clock=rt.clock,
                viewer=viewer,
                action="target.register",
                object_type="target",
                object_id=target.id,
                detail={"name": target.name, "digest": target.digest},
            )
        return {**target_json(target), "already_registered": not created}


def _listed_files(manifest: TargetManifest) -> list[str]:
    return [
        *(p.file for p in manifest.proofs),
        *(b.file for b in manifest.benign),
        *(p.file for p in manifest.patches),
    ]


def list_targets(rt: Runtime) -> list[dict[str, Any]]:
    with rt.db.session() as session:
        return [target_json(t) for t in validation_service.list_targets(session)]


# --- runs ------------------------------------------------------------------------------------


def proof_input(details: dict[str, Any]) -> bytes | None:
    """The proof's input bytes from a finding's stored details, or ``None`` without one."""
    proof = details.get("proof")
    if not isinstance(proof, dict):
        return None
    encoded = proof.get("input_b64") or proof.get("input_base64")
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise InputError(f"the finding's proof input is not valid base64: {error}") from error
    text = proof.get("input_text")
    return text.encode("utf-8") if isinstance(text, str) else None


def run_json(session: Session, run: ValidationRun, *, with_log: bool = True) -> dict[str, Any]:
    target = session.get(Target, run.target_id)
    finding = session.get(Finding, run.finding_id)
    vulnerability = None
    if finding is not None:
        ids = vulns_service.public_ids(session, ids=[finding.vulnerability_id])
        vulnerability = ids.get(finding.vulnerability_id)
    doc: dict[str, Any] = {
        "id": run.id,
        "finding": run.finding_id,
        "vulnerability": vulnerability,
        "target": target.name if target else None,
        "target_digest": target.digest if target else None,
        "status": run.status,
        "attempts": run.attempts,
        "verdict": run.verdict,
        "validated": run.verdict == Verdict.REPRODUCED.value,
        "repetitions": run.repetitions,
        "reproductions": run.reproductions,
        "sanitizer": run.sanitizer,
        "crash_type": run.crash_type,
        "crash_state": orjson.loads(run.crash_state) if run.crash_state else [],
        "security": run.security,
        "severity": run.severity,
        "signature": run.signature,
        "isolation": run.isolation,
        "error": run.error,
        "requested_by": run.requested_by,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if with_log:
        doc["log"] = run.log
    return doc


def queue_validation(
    rt: Runtime,
    *,
    viewer: Viewer,
    finding_id: int,
    repetitions: int | None = None,
    dispatch: bool = True,
    automatic: bool = False,
) -> dict[str, Any]:
    """Store a queued run for a visible finding with a proof against its registered target,
    then (with ``dispatch``) hand it to a worker; ``dispatched`` says whether one took it."""
    doc = _store_queued(
        rt, viewer=viewer, finding_id=finding_id, repetitions=repetitions, automatic=automatic
    )
    doc["dispatched"] = rt.dispatch(doc["id"]) if dispatch else False
    return doc


def _store_queued(
    rt: Runtime, *, viewer: Viewer, finding_id: int, repetitions: int | None, automatic: bool
) -> dict[str, Any]:
    with rt.db.session() as session:
        finding = intake_service.get_finding_or_raise(session, viewer=viewer, finding_id=finding_id)
        details = orjson.loads(finding.content.details or "{}")
        if proof_input(details) is None:
            raise InputError(f"finding {finding_id} carries no proof input to reproduce")
        target = validation_service.target_for_finding_or_raise(
            session, target_field=finding.content.target
        )
        run = validation_service.create_run(
            session,
            finding_id=finding.id,
            target_id=target.id,
            repetitions=repetitions or rt.settings.validation_repetitions,
            requested_by=viewer.label,
            clock=rt.clock,
        )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="validation.queue",
            object_type="validation_run",
            object_id=run.id,
            tlp=finding.tlp,
            detail={
                "finding": finding.id,
                "target": target.name,
                "repetitions": run.repetitions,
                "automatic": automatic,
            },
        )
        return run_json(session, run, with_log=False)


# Formats whose findings can carry a proof input (the native format; SARIF, OSV, CVE and CSAF
# describe flaws without one), so a large SARIF import never scans its rows for proofs.
PROOF_FORMATS = frozenset({"native"})


def queue_imported(
    rt: Runtime, *, viewer: Viewer, submission_id: int, format: str
) -> dict[str, list[dict[str, Any]]]:
    """Automatic validation: queue (and dispatch) a run for every finding of a fresh import
    that carries a proof; say why each other proof-carrying finding was not queued."""
    queued: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    if not rt.settings.validation_auto or format not in PROOF_FORMATS:
        return {"queued": queued, "skipped": skipped}
    with rt.db.session() as session:
        rows = intake_service.findings_of_submission_with_details(
            session, submission_id=submission_id
        )
    for finding_id, details, _target in rows:
        try:
            if proof_input(orjson.loads(details or "{}")) is None:
                continue
            run = queue_validation(rt, viewer=viewer, finding_id=finding_id, automatic=True)
        except ClearinghouseError as error:
            skipped.append({"finding": finding_id, "reason": str(error)})
            continue
        queued.append({"finding": finding_id, "run": run["id"], "dispatched": run["dispatched"]})
    return {"queued": queued, "skipped": skipped}


@dataclass(frozen=True, slots=True)
class _Job:
    """What a claimed run needs, read in the claiming transaction."""

    manifest: TargetManifest
    digest: str
    proof: bytes
    repetitions: int
    attempt: int
    tlp: str


def execute_run(rt: Runtime, *, run_id: int, worker: str | None = None) -> dict[str, Any] | None:
    """Claim and run one queued run; ``None`` when it was not queued (someone else has it)."""
    actor = WorkerActor(worker or worker_name())
    try:
        job = _claim(rt, run_id=run_id, actor=actor)
    except InputError as error:
        return _fail(rt, run_id=run_id, actor=actor, reason=str(error))
    if job is None:
        return None
    try:
        with _lease_kept(rt, run_id=run_id, actor=actor):
            outcome = rt.reproducer().reproduce(
                manifest=job.manifest,
                source=rt.settings.target_dir.resolve() / job.digest,
                digest=job.digest,
                proof=job.proof,
                repetitions=job.repetitions,
            )
        return _record(rt, run_id=run_id, actor=actor, outcome=outcome, job=job)
    except Exception as error:
        logger.exception("validation run %s failed", run_id)
        return _fail(rt, run_id=run_id, actor=actor, reason=f"{type(error).__name__}: {error}")


def _claim(rt: Runtime, *, run_id: int, actor: WorkerActor) -> _Job | None:
    with rt.db.session() as session:
        queued = validation_service.get_run_or_raise(session, run_id=run_id)
        target = session.get(Target, queued.target_id)
        finding = session.get(Finding, queued.finding_id)
        if target is None or finding is None:  # pragma: no cover - foreign keys
            raise NotFoundError(f"validation run {run_id} lost its target or finding")
        manifest = parse_manifest(target.manifest)
        run = validation_service.claim(
            session,
            run_id=run_id,
            worker=actor.name,
            lease_s=rt.settings.validation_lease_s,
            clock=rt.clock,
        )
        if run is None:
            return None
        proof = proof_input(orjson.loads(finding.content.details or "{}"))
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=actor,
            action="validation.start",
            object_type="validation_run",
            object_id=run.id,
            tlp=finding.tlp,
            detail={"attempt": run.attempts, "worker": actor.name},
        )
        if proof is None:
            raise InputError(f"finding {finding.id} carries no proof input")
        return _Job(
            manifest=manifest,
            digest=target.digest,
            proof=proof,
            repetitions=run.repetitions,
            attempt=run.attempts,
            tlp=finding.tlp,
        )


@contextmanager
def _lease_kept(rt: Runtime, *, run_id: int, actor: WorkerActor) -> Iterator[None]:
    """Renew the run's lease every quarter lease from a thread while the body runs.

    A thread rather than calls between steps: a build or one long proof run may outlast a
    lease, and only a process that is really gone should lose its runs. A renewal that fails
    (database away) is logged and tried again; if the run has been taken from us the thread
    stops, and ``_record`` drops our result.
    """
    lease_s = rt.settings.validation_lease_s
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease_s / 4):
            try:
                with rt.db.session() as session:
                    ours = validation_service.extend_lease(
                        session, run_id=run_id, worker=actor.name, lease_s=lease_s, clock=rt.clock
                    )
            except Exception:
                logger.exception("could not renew the lease of run %s", run_id)
                continue
            if not ours:
                logger.warning("run %s is no longer held by %s", run_id, actor.name)
                return

    thread = threading.Thread(target=renew, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _record(
    rt: Runtime, *, run_id: int, actor: WorkerActor, outcome: Reproduction, job: _Job
) -> dict[str, Any] | None:
    tlp = job.tlp
    with rt.db.session() as session:
        run = validation_service.get_run_or_raise(session, run_id=run_id, for_update=True)
        if (
            run.status != validation_service.RUNNING
            or run.worker != actor.name
            or run.attempts != job.attempt
        ):
            # The lease ran out and the run was recovered elsewhere; its result stands there.
            logger.warning("run %s is no longer ours (%s); result dropped", run_id, run.status)
            return None
        validation_service.finish(session, run=run, outcome=outcome, clock=rt.clock)
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=actor,
            action="validation.finish",
            object_type="validation_run",
            object_id=run.id,
            tlp=tlp,
            detail={
                "verdict": outcome.verdict.value,
                "reproductions": outcome.reproductions,
                "repetitions": outcome.repetitions,
                "crash_type": run.crash_type,
                "signature": run.signature,
                "isolation": outcome.isolation,
            },
        )
        if outcome.verdict is Verdict.REPRODUCED:
            merged = validation_service.merge_by_signature(session, run=run, clock=rt.clock)
            if merged.merged or merged.blocked:
                names = vulns_service.public_ids(
                    session, ids=[merged.vulnerability_id, *merged.merged, *merged.blocked]
                )
                audit_service.append(
                    session,
                    clock=rt.clock,
                    viewer=actor,
                    action="vulnerability.merge_by_signature",
                    object_type="vulnerability",
                    object_id=names[merged.vulnerability_id],
                    tlp=tlp,
                    detail={
                        "merged": [names[v] for v in merged.merged],
                        "kept_apart": [names[v] for v in merged.blocked],
                        "signature": merged.key,
                        "run": run.id,
                    },
                )
        return run_json(session, run)


def _fail(rt: Runtime, *, run_id: int, actor: WorkerActor, reason: str) -> dict[str, Any]:
    with rt.db.session() as session:
        run = validation_service.get_run_or_raise(session, run_id=run_id)
        validation_service.fail(session, run=run, reason=reason, clock=rt.clock)
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=actor,
            action="validation.fail",
            object_type="validation_run",
            object_id=run.id,
            detail={"reason": reason[:500]},
        )
        return run_json(session, run)


def recover_stale_runs(rt: Runtime, *, dispatch: bool = False) -> list[dict[str, Any]]:
    """Requeue or fail runs whose worker's lease expired; with ``dispatch``, hand each
    requeued run to a worker (the messages the dead worker held may be gone)."""
    actor = WorkerActor(worker_name())
    recovered = _recover(rt, actor=actor)
    if dispatch:
        for item in recovered:
            if item["status"] == validation_service.QUEUED:
                rt.dispatch(item["id"])
    return recovered


def _recover(rt: Runtime, *, actor: WorkerActor) -> list[dict[str, Any]]:
    with rt.db.session() as session:
        recovered = validation_service.recover_stale(
            session, clock=rt.clock, max_attempts=rt.settings.validation_max_attempts
        )
        for item in recovered:
            audit_service.append(
                session,
                clock=rt.clock,
                viewer=actor,
                action="validation.recover",
                object_type="validation_run",
                object_id=item.run_id,
                detail={"status": item.status, "reason": item.reason},
            )
        return [{"id": r.run_id, "status": r.status, "reason": r.reason} for r in recovered]


def show_run(rt: Runtime, *, run_id: int, viewer: Viewer | None = None) -> dict[str, Any]:
    """One run with its log; with ``viewer``, 404 unless they may see the run's finding.

    A run carries its finding's label: reading the run of a restricted finding is audited.
    """
    with rt.db.session() as session:
        run = validation_service.get_run_or_raise(session, run_id=run_id)
        if viewer is not None:
            try:
                finding = intake_service.get_finding_or_raise(
                    session, viewer=viewer, finding_id=run.finding_id
                )
            except NotFoundError:
                raise NotFoundError(f"validation run {run_id} does not exist") from None
            read_flow.audit_restricted(
                session,
                clock=rt.clock,
                viewer=viewer,
                object_type="validation_run",
                items=[(str(run.id), finding.tlp)],
            )
        return run_json(session, run)


def list_runs(
    rt: Runtime, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """The operator's view of the queue (the local CLI: it sees every run, without logs)."""
    if status is not None and status not in validation_service.STATUSES:
        raise InputError(
            f"--status: {status!r} is not one of {', '.join(validation_service.STATUSES)}"
        )
    with rt.db.session() as session:
        runs = validation_service.list_runs(session, status=status, limit=limit, offset=offset)
        return [run_json(session, run, with_log=False) for run in runs]


def start_pool(rt: Runtime, *, workers: int | None = None) -> WorkerPool:
    """Recover stale runs, start the in-process pool, and hand it every queued run."""
    recover_stale_runs(rt)
    name = worker_name()
    pool = WorkerPool(
        lambda run_id: execute_run(rt, run_id=run_id, worker=name),
        workers=workers or rt.settings.validation_workers,
        name="validation",
    )
    with rt.db.session() as session:
        for run_id in validation_service.queued_ids(session):
            pool.submit(run_id)
    return pool


def work_queued(rt: Runtime, *, workers: int | None = None) -> list[dict[str, Any]]:
    """Run every queued run with the pool, wait for all, and return their rows."""
    with rt.db.session() as session:
        ids = validation_service.queued_ids(session)
    pool = start_pool(rt, workers=workers)
    pool.join()
    pool.close()
    with rt.db.session() as session:
        queued_now = set(validation_service.queued_ids(session))
        return [
            run_json(
                session, validation_service.get_run_or_raise(session, run_id=i), with_log=False
            )
            for i in sorted(set(ids) | queued_now)
        ]


def recovery_thread(rt: Runtime, *, interval_s: float | None = None) -> Periodic:
    """A thread that recovers stale runs every ``interval_s`` and hands requeued ones on.

    Every process that runs workers starts one: a worker killed mid-run stops renewing its
    lease, and whichever worker is alive next requeues the run and sends it again.
    """
    return Periodic(
        lambda: recover_stale_runs(rt, dispatch=True),
        interval_s=interval_s or rt.settings.validation_recover_interval_s,
        name="validation-recovery",
    )


def dispatch_queued(rt: Runtime) -> int:
    """Hand every queued run to a worker (a worker's start-up: runs queued while no worker
    was in reach, or whose message a broker lost). A run sent twice is claimed once."""
    with rt.db.session() as session:
        ids = validation_service.queued_ids(session)
    return sum(1 for run_id in ids if rt.dispatch(run_id))
