"""Frontier model assessment end to end: registered suites, runs of a model through the
sandboxed agent, Inspect log imports, and per-family statistics.

The pieces are pure or self-contained in ``evaluation/`` (tasks, grading, adapters, agent,
statistics); this module stores what they produce and enforces who may see what.

**Confidential suites (TLP:RED).** A suite's *content* is its tasks (ids, prompts, assets,
reference solutions) and everything derived per task (sample rows, grader explanations,
transcripts). For a confidential suite only the organizations named as its evaluators see
content, through every route; everyone else who may see a run sees its per-family statistics
only. Reference solutions never leave through any route, to anyone.

**Runs** are resumable: a run's samples are created ``pending`` up front and each is stored
when it finishes, so ``eval resume`` (or re-running after a crash) does only what is missing.
Samples run in parallel on a thread pool (``CLEARINGHOUSE_EVAL_WORKERS``).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from clearinghouse.evaluation import framework
from clearinghouse.evaluation.adapters import adapter_from_spec
from clearinghouse.evaluation.adapters.base import ModelAdapter
from clearinghouse.evaluation.agent import SCAFFOLD, AgentOutcome, Budget, run_agent
from clearinghouse.evaluation.grading import Grade, Grader, GradeStatus, verify_suite
from clearinghouse.evaluation.models import (
    Engagement,
    EvalRun,
    EvalSample,
    EvalSuite,
    FrontierModel,
)
from clearinghouse.evaluation.statistics import Attempt, paired_comparison, summarize
from clearinghouse.evaluation.tasks import Suite, Task, load_suite, starter_suite_dir
from clearinghouse.pipeline.runtime import Runtime

MAX_TRANSCRIPT_BYTES = 8 * 1024 * 1024
MAX_EPOCHS = 100
ProgressFn = Callable[[int, int, str], None]


# --- who may see what ---------------------------------------------------------------------


def is_government(viewer: Viewer) -> bool:
    return viewer.superuser or viewer.kind in framework.GOVERNMENT_KINDS


def content_allowed(viewer: Viewer, suite: EvalSuite) -> bool:
    """May ``viewer`` see the suite's tasks and per-task results?"""
    if viewer.superuser:
        return True
    if suite.confidential:
        return viewer.organization_id in _ids(suite.evaluators)
    return True


def _ids(text: str) -> set[int]:
    return {int(value) for value in orjson.loads(text or "[]")}


def _suite_or_404(session: Session, *, viewer: Viewer, ref: str | int) -> EvalSuite:
    """A suite by id or ``name[@version]`` (newest version when omitted)."""
    suite: EvalSuite | None
    if isinstance(ref, int) or str(ref).isdigit():
        suite = session.get(EvalSuite, int(ref))
    else:
        name, _, version = str(ref).partition("@")
        query = select(EvalSuite).where(EvalSuite.name == name)
        if version:
            query = query.where(EvalSuite.version == version)
        suite = session.scalars(query.order_by(EvalSuite.id.desc())).first()
    if suite is None:
        raise NotFoundError(f"suite {ref} not found")
    return suite


def _engagement_developer(session: Session, engagement_id: int | None) -> int | None:
    if engagement_id is None:
        return None
    engagement = session.get(Engagement, engagement_id)
    if engagement is None:
        return None
    model = session.get(FrontierModel, engagement.model_id)
    return model.developer_id if model is not None else None


def run_visible(session: Session, *, viewer: Viewer, run: EvalRun) -> bool:
    """Runs are seen by the government side, the organization that ran them, and the
    developer of the engagement they belong to."""
    if is_government(viewer):
        return True
    if viewer.organization_id is not None and viewer.organization_id == run.organization_id:
        return True
    developer = _engagement_developer(session, run.engagement_id)
    return developer is not None and developer == viewer.organization_id


def _run_or_404(session: Session, *, viewer: Viewer, run_id: int) -> EvalRun:
    run = session.get(EvalRun, run_id)
    if run is None or not run_visible(session, viewer=viewer, run=run):
        raise NotFoundError(f"evaluation run {run_id} not found")
    return run


# --- suites -------------------------------------------------------------------------------


def suite_json(suite: EvalSuite, *, viewer: Viewer, loaded: Suite | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": suite.id,
        "name": suite.name,
        "version": suite.version,
        "content_hash": suite.content_hash,
        "confidential": suite.confidential,
        "tlp": "RED" if suite.confidential else "AMBER",
        "tasks": suite.tasks,
        "families": orjson.loads(suite.families),
        "registered_by": suite.registered_by,
        "created_at": suite.created_at.isoformat(),
        "content_visible": content_allowed(viewer, suite),
    }
    if content_allowed(viewer, suite):
        out["description"] = suite.description
        if loaded is not None:
            out["task_list"] = [_task_json(task) for task in loaded.tasks]
    return out


def _task_json(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "family": task.family.value,
        "version": task.version,
        "difficulty": task.difficulty,
        "human_minutes": task.human_minutes,
        "title": task.title,
        "answer_kind": task.answer_kind,
    }


def _stored_copy(rt: Runtime, content_hash: str) -> Path:
    return rt.settings.suite_dir.resolve() / content_hash.removeprefix("sha256:")


def register_suite(
    rt: Runtime,
    *,
    viewer: Viewer,
    path: Path | None = None,
    confidential: bool | None = None,
    evaluators: Sequence[str] = (),
) -> dict[str, Any]:
    """Register a suite directory (default: the packaged starter suite) under its content hash.

    Only the government side registers suites. The directory is copied into the data
    directory, so later edits to the source cannot change what a recorded hash refers to.
    """
    if not is_government(viewer):
        raise PermissionDeniedError("only coordinators and government evaluators register suites")
    source = (path or starter_suite_dir()).resolve()
    suite = load_suite(source)
    secret = suite.confidential if confidential is None else confidential
    with rt.db.session() as session:
        existing = session.scalars(
            select(EvalSuite).where(
                EvalSuite.name == suite.name, EvalSuite.version == suite.version
            )
        ).first()
        if existing is not None:
            if existing.content_hash != suite.content_hash:
                raise ConflictError(
                    f"suite {suite.name}@{suite.version} is registered with content "
                    f"{existing.content_hash}; give changed content a new version"
                )
            return suite_json(existing, viewer=viewer, loaded=suite)
        # The registering organization is always among a confidential suite's evaluators.
        named = _org_ids(session, evaluators)
        if viewer.organization_id is not None:
            named.add(viewer.organization_id)
        if secret and not named:
            raise InputError("evaluators: a confidential suite needs at least one named evaluator")
        evaluator_ids = sorted(named)
        copy = _stored_copy(rt, suite.content_hash)
        if not copy.exists():
            staging = copy.with_name(copy.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(source, staging, symlinks=False)
            staging.rename(copy)
        families: dict[str, int] = {}
        for task in suite.tasks:
            families[task.family.value] = families.get(task.family.value, 0) + 1
        row = EvalSuite(
            name=suite.name,
            version=suite.version,
            content_hash=suite.content_hash,
            description=suite.description,
            confidential=secret,
            tasks=len(suite.tasks),
            families=orjson.dumps(families).decode(),
            evaluators=orjson.dumps(evaluator_ids).decode(),
            owner_id=viewer.organization_id,
            registered_by=viewer.label,
            created_at=rt.clock.now(),
        )
        session.add(row)
        session.flush()
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="eval.suite.register",
            object_type="eval_suite",
            object_id=row.id,
            tlp="RED" if secret else "AMBER",
            detail={"name": suite.name, "version": suite.version, "hash": suite.content_hash},
        )
        return suite_json(row, viewer=viewer, loaded=suite)


def _org_ids(session: Session, names: Iterable[str]) -> set[int]:
    ids: set[int] = set()
    for name in names:
        org = access_service.get_org_by_name_or_raise(session, name=name)
        if OrgKind(org.kind) not in framework.GOVERNMENT_KINDS:
            raise InputError(
                f"evaluators: {name} is a {org.kind}; evaluators are coordinators or agencies"
            )
        ids.add(org.id)
    return ids


def load_registered(rt: Runtime, row: EvalSuite) -> Suite:
    """The stored copy of a registered suite, checked against its recorded hash."""
    copy = _stored_copy(rt, row.content_hash)
    if not copy.is_dir():
        raise NotFoundError(f"suite {row.name}@{row.version}: its stored copy is missing")
    suite = load_suite(copy)
    if suite.content_hash != row.content_hash:
        raise ConflictError(
            f"suite {row.name}@{row.version}: stored content hashes to {suite.content_hash}, "
            f"registered as {row.content_hash}"
        )
    return suite


def list_suites(rt: Runtime, *, viewer: Viewer) -> list[dict[str, Any]]:
    with rt.db.session() as session:
        rows = session.scalars(select(EvalSuite).order_by(EvalSuite.id)).all()
        return [suite_json(row, viewer=viewer) for row in rows]


def show_suite(rt: Runtime, *, viewer: Viewer, ref: str) -> dict[str, Any]:
    with rt.db.session() as session:
        row = _suite_or_404(session, viewer=viewer, ref=ref)
        loaded = load_registered(rt, row) if content_allowed(viewer, row) else None
        if content_allowed(viewer, row) and row.confidential:
            _audit_content(rt, session, viewer=viewer, suite=row, what="suite")
        return suite_json(row, viewer=viewer, loaded=loaded)


def show_task(rt: Runtime, *, viewer: Viewer, ref: str, task_id: str) -> dict[str, Any]:
    """A task's prompt and workspace listing, for those who may see the suite's content."""
    with rt.db.session() as session:
        row = _suite_or_404(session, viewer=viewer, ref=ref)
        if not content_allowed(viewer, row):
            raise NotFoundError(f"task {task_id} not found")
        suite = load_registered(rt, row)
        task = next((task for task in suite.tasks if task.id == task_id), None)
        if task is None:
            raise NotFoundError(f"task {task_id} not found")
        _audit_content(rt, session, viewer=viewer, suite=row, what=f"task {task_id}")
        return {**_task_json(task), "prompt": task.prompt, "workspace": list(task.workspace)}


def _audit_content(
    rt: Runtime, session: Session, *, viewer: Viewer, suite: EvalSuite, what: str
) -> None:
    audit_service.append(
        session,
        clock=rt.clock,
        viewer=viewer,
        action="eval.content.read",
        object_type="eval_suite",
        object_id=suite.id,
        tlp="RED" if suite.confidential else "AMBER",
        detail={"what": what},
    )


def verify_registered(
    rt: Runtime, *, viewer: Viewer, ref: str, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Grade every task's reference solution, an empty answer and a wrong one, for real."""
    with rt.db.session() as session:
        row = _suite_or_404(session, viewer=viewer, ref=ref)
        if not content_allowed(viewer, row):
            raise NotFoundError(f"suite {ref} not found")
        suite = load_registered(rt, row)
    grader = Grader(rt.reproducer(), repetitions=1, max_target_bytes=rt.settings.max_target_bytes)
    results = []
    failures = 0
    for index, (task_id, *grades) in enumerate(verify_suite(grader, suite), start=1):
        reference, others = grades[0], grades[1:]
        ok = (
            reference.status is GradeStatus.SCORED
            and reference.solved
            and all(g.status is GradeStatus.SCORED and not g.solved for g in others)
        )
        failures += 0 if ok else 1
        results.append(
            {
                "task": task_id,
                "ok": ok,
                "reference": reference.explanation,
                "others": [g.explanation for g in others],
            }
        )
        if progress is not None:
            progress(index, len(suite.tasks), task_id)
    return {"suite": f"{row.name}@{row.version}", "ok": failures == 0, "tasks": results}


# --- runs ---------------------------------------------------------------------------------


def budget_json(budget: Budget) -> dict[str, Any]:
    return dataclasses.asdict(budget)


def default_budget(rt: Runtime) -> Budget:
    settings = rt.settings
    return Budget(
        max_steps=settings.eval_max_steps,
        max_tokens=settings.eval_max_tokens,
        wall_time_s=settings.eval_wall_time_s,
    )


def make_adapter(rt: Runtime, spec: str) -> ModelAdapter:
    keys = {
        name: value
        for name, value in (
            ("openai", rt.settings.openai_api_key),
            ("anthropic", rt.settings.anthropic_api_key),
        )
        if value
    }
    return adapter_from_spec(spec, settings_keys=keys, timeout_s=rt.settings.eval_request_timeout_s)


def create_run(
    rt: Runtime,
    *,
    viewer: Viewer,
    suite_ref: str,
    model: ModelAdapter,
    epochs: int,
    budget: Budget,
    engagement_id: int | None = None,
    tasks: Sequence[str] = (),
) -> int:
    """Store a queued run with one pending sample per (task, epoch)."""
    if not 1 <= epochs <= MAX_EPOCHS:
        raise InputError(f"epochs: between 1 and {MAX_EPOCHS}")
    with rt.db.session() as session:
        row = _suite_or_404(session, viewer=viewer, ref=suite_ref)
        if not content_allowed(viewer, row):
            raise NotFoundError(f"suite {suite_ref} not found")
        if engagement_id is not None:
            _engagement_for_run(session, viewer=viewer, engagement_id=engagement_id)
        suite = load_registered(rt, row)
        chosen = [task for task in suite.tasks if not tasks or task.id in tasks]
        unknown = sorted(set(tasks) - {task.id for task in suite.tasks})
        if unknown:
            raise InputError(f"tasks: not in the suite: {', '.join(unknown)}")
        run = EvalRun(
            suite_id=row.id,
            engagement_id=engagement_id,
            model=model.name,
            source="clearinghouse",
            scaffold=SCAFFOLD,
            epochs=epochs,
            budget=orjson.dumps(budget_json(budget)).decode(),
            status="queued",
            organization_id=viewer.organization_id,
            requested_by=viewer.label,
            created_at=rt.clock.now(),
        )
        session.add(run)
        session.flush()
        for epoch in range(1, epochs + 1):
            for task in chosen:
                session.add(
                    EvalSample(
                        run_id=run.id,
                        task_id=task.id,
                        family=task.family.value,
                        epoch=epoch,
                        status="pending",
                        details="{}",
                    )
                )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="eval.run.create",
            object_type="eval_run",
            object_id=run.id,
            tlp="RED" if row.confidential else "AMBER",
            detail={"suite": row.content_hash, "model": model.name, "epochs": epochs},
        )
        return run.id


def _engagement_for_run(session: Session, *, viewer: Viewer, engagement_id: int) -> Engagement:
    engagement = session.get(Engagement, engagement_id)
    if engagement is None:
        raise NotFoundError(f"engagement {engagement_id} not found")
    if not is_government(viewer):
        raise PermissionDeniedError("only government evaluators run assessments for engagements")
    if engagement.status != framework.EngagementStatus.OPEN:
        raise ConflictError(f"engagement {engagement_id} is {engagement.status}")
    return engagement


def execute_run(
    rt: Runtime,
    *,
    run_id: int,
    model: ModelAdapter,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Do every pending sample of the run (in parallel) and mark it done."""
    with rt.db.session() as session:
        run = session.get(EvalRun, run_id)
        if run is None:
            raise NotFoundError(f"evaluation run {run_id} not found")
        if run.source != "clearinghouse":
            raise ConflictError(f"run {run_id} was imported; there is nothing to execute")
        suite_row = session.get(EvalSuite, run.suite_id)
        assert suite_row is not None
        suite = load_registered(rt, suite_row)
        budget = Budget(**orjson.loads(run.budget))
        pending = [
            (sample.id, sample.task_id)
            for sample in session.scalars(
                select(EvalSample)
                .where(EvalSample.run_id == run_id, EvalSample.status == "pending")
                .order_by(EvalSample.epoch, EvalSample.id)
            )
        ]
        run.status = "running"
    tasks = {task.id: task for task in suite.tasks}
    reproducer = rt.reproducer()
    grader = Grader(reproducer, repetitions=1, max_target_bytes=rt.settings.max_target_bytes)
    work_root = rt.settings.run_dir.resolve() / "agent"
    done = 0
    lock = threading.Lock()

    def one(sample_id: int, task_id: str) -> None:
        nonlocal done
        task = tasks[task_id]
        outcome = run_agent(
            model, task, sandbox=reproducer.sandbox, work_root=work_root, budget=budget
        )
        grade = grader.grade(task, outcome.answer)
        _store_sample(rt, sample_id=sample_id, outcome=outcome, grade=grade)
        with lock:
            done += 1
            if progress is not None:
                progress(done, len(pending), task_id)

    pool_size = max(1, min(workers or rt.settings.eval_workers, len(pending) or 1))
    with concurrent.futures.ThreadPoolExecutor(max_workers=pool_size) as pool:
        futures = [pool.submit(one, sample_id, task_id) for sample_id, task_id in pending]
        errors = [f.exception() for f in concurrent.futures.as_completed(futures)]
    failed = [error for error in errors if error is not None]
    with rt.db.session() as session:
        run = session.get(EvalRun, run_id)
        assert run is not None
        left = session.scalars(
            select(EvalSample.id).where(EvalSample.run_id == run_id, EvalSample.status == "pending")
        ).first()
        run.status = "done" if left is None else "queued"
        if left is None:
            run.finished_at = rt.clock.now()
    if failed:
        raise failed[0]
    return {"run": run_id, "executed": done, "status": "done" if left is None else "queued"}


def _store_sample(rt: Runtime, *, sample_id: int, outcome: AgentOutcome, grade: Grade) -> None:
    transcript = orjson.dumps(outcome.transcript)
    blob = rt.blobs.put_bytes(transcript[:MAX_TRANSCRIPT_BYTES], max_bytes=MAX_TRANSCRIPT_BYTES)
    unscored = grade.status is GradeStatus.UNSCORED or outcome.stop == "model_error"
    with rt.db.session() as session:
        sample = session.get(EvalSample, sample_id)
        assert sample is not None
        sample.status = "done"
        sample.solved = None if unscored else grade.solved
        sample.grade_status = GradeStatus.UNSCORED.value if unscored else grade.status.value
        sample.explanation = outcome.error if outcome.stop == "model_error" else grade.explanation
        sample.stop = outcome.stop
        sample.refused = outcome.stop == "refused"
        sample.steps = outcome.steps
        sample.input_tokens = outcome.input_tokens
        sample.output_tokens = outcome.output_tokens
        sample.elapsed_s = round(outcome.elapsed_s, 3)
        sample.transcript_sha256 = blob.sha256
        sample.details = orjson.dumps(dict(grade.details), default=str).decode()
        sample.finished_at = rt.clock.now()


def run_model(
    rt: Runtime,
    *,
    viewer: Viewer,
    suite_ref: str,
    model_spec: str,
    epochs: int,
    budget: Budget | None = None,
    engagement_id: int | None = None,
    tasks: Sequence[str] = (),
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """``eval run``: create the run, execute it, and report it."""
    model = make_adapter(rt, model_spec)
    run_id = create_run(
        rt,
        viewer=viewer,
        suite_ref=suite_ref,
        model=model,
        epochs=epochs,
        budget=budget or default_budget(rt),
        engagement_id=engagement_id,
        tasks=tasks,
    )
    execute_run(rt, run_id=run_id, model=model, workers=workers, progress=progress)
    return report(rt, viewer=viewer, run_id=run_id)


def resume_run(
    rt: Runtime,
    *,
    viewer: Viewer,
    run_id: int,
    model_spec: str | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    with rt.db.session() as session:
        run = _run_or_404(session, viewer=viewer, run_id=run_id)
        if not is_government(viewer) and viewer.organization_id != run.organization_id:
            raise PermissionDeniedError("only whoever started a run may resume it")
        spec = model_spec or run.model
    execute_run(rt, run_id=run_id, model=make_adapter(rt, spec), workers=workers, progress=progress)
    return report(rt, viewer=viewer, run_id=run_id)


# --- Inspect logs ---------------------------------------------------------------------------


def import_inspect(
    rt: Runtime,
    *,
    viewer: Viewer,
    path: Path,
    suite_ref: str,
    engagement_id: int | None = None,
    steps_budget: int = 0,
    tokens_budget: int = 0,
) -> dict[str, Any]:
    """Store an Inspect log's samples as a run on a registered suite.

    Sample ids must be the suite's task ids (or carry ``task_id`` metadata); an unknown id is
    refused, naming it, rather than silently dropped. The same log imported twice is the same
    run (its SHA-256 identifies it). Budgets cannot be read back from every log, so the
    evaluator states them; an unstated budget counts as zero for the elicitation check.
    """
    from clearinghouse.evaluation.inspect_log import read_inspect_log

    log = read_inspect_log(path, max_bytes=rt.settings.max_upload_bytes)
    with rt.db.session() as session:
        row = _suite_or_404(session, viewer=viewer, ref=suite_ref)
        if not content_allowed(viewer, row):
            raise NotFoundError(f"suite {suite_ref} not found")
        if engagement_id is not None:
            _engagement_for_run(session, viewer=viewer, engagement_id=engagement_id)
        existing = session.scalars(
            select(EvalRun).where(EvalRun.log_sha256 == log.log_sha256, EvalRun.suite_id == row.id)
        ).first()
        if existing is not None:
            return {**_run_header(session, existing), "already_imported": True}
        suite = load_registered(rt, row)
        families = {task.id: task.family.value for task in suite.tasks}
        unknown = sorted({s.task_id for s in log.samples} - set(families))
        if unknown:
            raise InputError(
                f"{path.name}: sample ids not in suite {row.name}@{row.version}: "
                + ", ".join(unknown[:10])
            )
        run = EvalRun(
            suite_id=row.id,
            engagement_id=engagement_id,
            model=log.model[:300],
            source="inspect",
            scaffold="inspect",
            epochs=max(1, log.epochs),
            budget=orjson.dumps(
                {
                    "max_steps": steps_budget,
                    "max_tokens": tokens_budget,
                    "declared_by_importer": True,
                }
            ).decode(),
            status="done",
            log_sha256=log.log_sha256,
            organization_id=viewer.organization_id,
            requested_by=viewer.label,
            created_at=rt.clock.now(),
            finished_at=rt.clock.now(),
        )
        session.add(run)
        session.flush()
        seen: set[tuple[str, int]] = set()
        for sample in log.samples:
            key = (sample.task_id, sample.epoch)
            if key in seen:
                raise InputError(f"{path.name}: sample {sample.task_id} epoch {sample.epoch} twice")
            seen.add(key)
            session.add(
                EvalSample(
                    run_id=run.id,
                    task_id=sample.task_id,
                    family=families[sample.task_id],
                    epoch=sample.epoch,
                    status="done",
                    solved=sample.solved,
                    grade_status="scored" if sample.solved is not None else "unscored",
                    explanation=sample.error or sample.score_raw,
                    stop="inspect",
                    input_tokens=sample.input_tokens,
                    output_tokens=sample.output_tokens,
                    details=orjson.dumps({"score": sample.score_raw}).decode(),
                    finished_at=rt.clock.now(),
                )
            )
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="eval.import.inspect",
            object_type="eval_run",
            object_id=run.id,
            tlp="RED" if row.confidential else "AMBER",
            detail={"log_sha256": log.log_sha256, "model": log.model, "samples": len(seen)},
        )
        return {**_run_header(session, run), "already_imported": False}


# --- reports ------------------------------------------------------------------------------


def attempts_of(session: Session, run_ids: Sequence[int]) -> list[Attempt]:
    rows = session.scalars(
        select(EvalSample).where(EvalSample.run_id.in_(run_ids), EvalSample.status == "done")
    ).all()
    return [
        Attempt(task_id=row.task_id, family=row.family, epoch=row.epoch, solved=row.solved)
        for row in rows
    ]


def _run_header(session: Session, run: EvalRun) -> dict[str, Any]:
    suite = session.get(EvalSuite, run.suite_id)
    assert suite is not None
    counts = {"pending": 0, "done": 0}
    for status in session.scalars(select(EvalSample.status).where(EvalSample.run_id == run.id)):
        counts[status] = counts.get(status, 0) + 1
    return {
        "id": run.id,
        "suite": {"name": suite.name, "version": suite.version, "hash": suite.content_hash},
        "engagement": run.engagement_id,
        "model": run.model,
        "source": run.source,
        "scaffold": run.scaffold,
        "epochs": run.epochs,
        "budget": orjson.loads(run.budget),
        "status": run.status,
        "log_sha256": run.log_sha256,
        "samples": counts,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def report(
    rt: Runtime,
    *,
    viewer: Viewer,
    run_id: int,
    reference_run: int | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Per-family statistics of a run (and a paired comparison against a reference run);
    per-task rows only for those who may see the suite's content."""
    with rt.db.session() as session:
        run = _run_or_404(session, viewer=viewer, run_id=run_id)
        suite = session.get(EvalSuite, run.suite_id)
        assert suite is not None
        attempts = attempts_of(session, [run.id])
        out = _run_header(session, run)
        out["families"] = {
            family: summary.as_json()
            for family, summary in sorted(
                summarize(attempts, confidence=confidence, ks=(1, 3)).items()
            )
        }
        refused = session.scalars(
            select(EvalSample.id).where(EvalSample.run_id == run.id, EvalSample.refused)
        ).all()
        out["refusals"] = len(refused)
        if reference_run is not None:
            reference = _run_or_404(session, viewer=viewer, run_id=reference_run)
            if reference.suite_id != run.suite_id:
                raise InputError("reference: runs on different suites cannot be paired")
            theirs = attempts_of(session, [reference.id])
            out["comparison"] = {
                "reference_run": reference.id,
                "reference_model": reference.model,
                "families": {
                    family: paired_comparison(
                        attempts, theirs, family=family, confidence=confidence
                    ).as_json()
                    for family in sorted({a.family for a in attempts})
                },
            }
        if content_allowed(viewer, suite):
            out["samples_detail"] = [
                {
                    "id": sample.id,
                    "task": sample.task_id,
                    "family": sample.family,
                    "epoch": sample.epoch,
                    "status": sample.status,
                    "solved": sample.solved,
                    "grade": sample.grade_status,
                    "stop": sample.stop,
                    "steps": sample.steps,
                    "tokens": sample.input_tokens + sample.output_tokens,
                    "explanation": sample.explanation,
                }
                for sample in session.scalars(
                    select(EvalSample)
                    .where(EvalSample.run_id == run.id)
                    .order_by(EvalSample.task_id, EvalSample.epoch)
                )
            ]
        return out


def transcript(rt: Runtime, *, viewer: Viewer, run_id: int, sample_id: int) -> list[Any]:
    with rt.db.session() as session:
        run = _run_or_404(session, viewer=viewer, run_id=run_id)
        suite = session.get(EvalSuite, run.suite_id)
        sample = session.get(EvalSample, sample_id)
        if (
            suite is None
            or sample is None
            or sample.run_id != run.id
            or not content_allowed(viewer, suite)
            or sample.transcript_sha256 is None
        ):
            raise NotFoundError(f"transcript of sample {sample_id} not found")
        _audit_content(rt, session, viewer=viewer, suite=suite, what=f"transcript {sample_id}")
        digest = sample.transcript_sha256
    data: list[Any] = orjson.loads(rt.blobs.get(digest))
    return data


def list_runs(rt: Runtime, *, viewer: Viewer) -> list[dict[str, Any]]:
    with rt.db.session() as session:
        rows = session.scalars(select(EvalRun).order_by(EvalRun.id)).all()
        return [
            _run_header(session, row)
            for row in rows
            if run_visible(session, viewer=viewer, run=row)
        ]
