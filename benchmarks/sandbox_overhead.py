"""Sandbox overhead and validation throughput, against running the same thing bare.

1. Overhead: the same 50 ms program (``sleep 0.05``) run bare with ``subprocess`` (the peer:
   what a runner without isolation pays) and inside :class:`BubblewrapSandbox`, alternating,
   ``--runs`` times each; prints both medians and their ratio (issue 3's target: at most 1.3).
2. Throughput: 50 queued validations of a real proof (the RLE decoder example target, built
   with AddressSanitizer once, outside the timing; 3 sandboxed runs each), worked off first by
   the in-process pool with 2 workers, then by 2 ``clearinghouse worker`` processes (one run at
   a time each) on Redis and on RabbitMQ; prints validations per second and the Celery /
   in-process ratio. The Celery timing starts when the first run is queued and ends when the
   last row is ``done``, so it includes the broker round trips and the database polling.

Run: ``.venv/bin/python benchmarks/sandbox_overhead.py [--runs 40] [--validations 50]
[--broker URL ...]``. Needs bubblewrap and a C compiler. Prints ratios and rates; never fails
on a slow result.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import kombu.exceptions
from kombu import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.infra.broker import celery_app
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import admin_flow, intake_flow, submit_flow, validation_flow
from clearinghouse.pipeline.models import Finding, ValidationRun
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.sandbox import BubblewrapSandbox, RunRequest, SandboxLimits

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "clearinghouse.cli.main"]
TARGET = ROOT / "src/clearinghouse/validation/targets/c-heap-overflow-write"


def overhead(runs: int, work: Path) -> tuple[float, float]:
    sandbox = BubblewrapSandbox(SandboxLimits(wall_clock_s=10))
    request = RunRequest(argv=("/usr/bin/sleep", "0.05"), work_dir=work)
    bare: list[float] = []
    boxed: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["/usr/bin/sleep", "0.05"], check=True)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = sandbox.run(request)
        boxed.append(time.perf_counter() - start)
        if result.exit_code != 0:
            raise SystemExit(f"sandboxed run failed: {result}")
    return statistics.median(bare), statistics.median(boxed)


def world(root: Path, validations: int) -> tuple[Runtime, list[int]]:
    """A data directory with the RLE target built once and ``validations`` findings with its
    proof (automatic validation off: the benchmark queues the runs itself)."""
    settings = Settings(data_dir=root / "data", validation_auto=False)
    rt = Runtime.from_settings(settings)
    rt.ensure_schema()
    admin_flow.create_organization(
        rt.db,
        viewer=LOCAL_ADMIN,
        name="Bench Lab",
        kind=OrgKind.AI_LAB,
        sector=None,
        clock=rt.clock,
    )
    with rt.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name="Bench Lab")
        viewer = access_service.viewer_for_org(org, role=Role.SUBMITTER)
    validation_flow.add_target(rt, viewer=LOCAL_ADMIN, path=TARGET)
    proof = base64.b64encode((TARGET / "proofs/long-run.bin").read_bytes()).decode()
    findings = [
        {
            "target": "pkg:generic/rle-decoder",
            "title": f"RLE overflow report {n}",
            "proof": {"input_base64": proof},
            "provenance": {"tool": "bench"},
        }
        for n in range(validations)
    ]
    document = json.dumps(
        {"format": "clearinghouse-findings", "version": "1.0", "findings": findings}
    ).encode()
    outcome, _ = submit_flow.submit(
        rt,
        intake_flow.ImportRequest(organization="Bench Lab", chunks=[document]),
        viewer=viewer,
    )
    with rt.db.session() as session:
        ids = [row[0] for row in read_ids(session, outcome.submission)]
    first = validation_flow.queue_validation(
        rt, viewer=LOCAL_ADMIN, finding_id=ids[0], dispatch=False
    )
    validation_flow.execute_run(rt, run_id=first["id"])  # build once, outside the timing
    return rt, ids


def read_ids(session: Session, submission: int) -> list[tuple[int]]:
    rows = session.execute(
        select(Finding.id).where(Finding.submission_id == submission).order_by(Finding.id)
    )
    return [(row[0],) for row in rows]


def pool_rate(rt: Runtime, ids: list[int]) -> float:
    for finding in ids:
        validation_flow.queue_validation(rt, viewer=LOCAL_ADMIN, finding_id=finding, dispatch=False)
    start = time.perf_counter()
    worked = validation_flow.work_queued(rt, workers=2)
    elapsed = time.perf_counter() - start
    if any(r["verdict"] != "reproduced" for r in worked):
        raise SystemExit("a pooled validation did not reproduce")
    return len(worked) / elapsed


def celery_rate(rt: Runtime, ids: list[int], broker: str, logs: Path) -> float:
    """Two ``clearinghouse worker`` processes (one run at a time each) on a private queue."""
    queue = f"clearinghouse-bench-{uuid.uuid4().hex[:8]}"
    rt.settings = rt.settings.model_copy(update={"broker_url": broker, "broker_queue": queue})
    rt.dispatcher = None
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CLEARINGHOUSE_")},
        "CLEARINGHOUSE_DATA_DIR": str(rt.settings.data_dir),
        "CLEARINGHOUSE_BROKER_QUEUE": queue,
    }
    workers = []
    for n in range(2):
        log = logs / f"worker-{n}.log"
        workers.append(
            (
                subprocess.Popen(
                    [*CLI, "worker", "--broker", broker, "--concurrency", "1"],
                    env=env,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                ),
                log,
            )
        )
    try:
        deadline = time.monotonic() + 60
        while not all(b" ready." in log.read_bytes() for _, log in workers):
            if time.monotonic() > deadline:
                raise SystemExit(f"Celery workers did not start; see {logs}")
            time.sleep(0.1)
        start = time.perf_counter()
        runs = [
            validation_flow.queue_validation(rt, viewer=LOCAL_ADMIN, finding_id=finding)["id"]
            for finding in ids
        ]
        pending = set(runs)
        while pending:
            with rt.db.session() as session:
                done = session.scalars(
                    select(ValidationRun.id).where(
                        ValidationRun.id.in_(pending), ValidationRun.status.in_(("done", "failed"))
                    )
                ).all()
            pending -= set(done)
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
    finally:
        for process, _ in workers:
            os.killpg(process.pid, signal.SIGTERM)
        for process, _ in workers:
            process.wait(timeout=60)
        app = celery_app(broker, queue=queue)
        with app.connection_for_write() as connection:
            Queue(queue).bind(connection.default_channel).delete()
        app.close()
    with rt.db.session() as session:
        verdicts = session.scalars(
            select(ValidationRun.verdict).where(ValidationRun.id.in_(runs))
        ).all()
    if any(v != "reproduced" for v in verdicts):
        raise SystemExit("a Celery validation did not reproduce")
    return len(runs) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--validations", type=int, default=50)
    parser.add_argument(
        "--broker",
        action="append",
        help="Celery broker URL (repeatable; default: Redis and RabbitMQ on loopback)",
    )
    args = parser.parse_args()
    args.broker = args.broker or [
        "redis://127.0.0.1:6379/0",
        "amqp://guest:guest@127.0.0.1:5672//",
    ]
    with tempfile.TemporaryDirectory(prefix="ch-bench-") as scratch:
        root = Path(scratch)
        root.chmod(0o755)  # the sandbox's unprivileged uid must reach the work directory
        work = root / "work"
        work.mkdir(mode=0o755)
        bare, boxed = overhead(args.runs, work)
        print(
            f"50 ms program, median of {args.runs}: bare {bare * 1000:.1f} ms, "
            f"bubblewrap {boxed * 1000:.1f} ms"
        )
        print(f"sandbox/bare time ratio: {boxed / bare:.2f} (target <= 1.3)")
        rt, ids = world(root, args.validations)
        pooled = pool_rate(rt, ids)
        print(
            f"{len(ids)} queued validations, in-process pool (2 workers): "
            f"{pooled:.1f} validations/s"
        )
        logs = root / "logs"
        logs.mkdir()
        for broker in args.broker:
            name = urlsplit(broker).scheme
            try:
                rate = celery_rate(rt, ids, broker, logs)
            except (OSError, kombu.exceptions.OperationalError) as error:
                print(f"Celery workers (2) on {name}: broker unreachable ({error})")
                continue
            print(
                f"{len(ids)} queued validations, Celery workers (2) on {name}: {rate:.1f} "
                f"validations/s; Celery/in-process ratio {rate / pooled:.2f}"
            )
        rt.close()


if __name__ == "__main__":
    main()
