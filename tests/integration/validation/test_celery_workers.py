"""Real Celery workers (``clearinghouse worker``) against the Redis and RabbitMQ on loopback.

Each test starts worker processes the way an operator would, on a queue of its own, and sends
run ids from this process through the same dispatcher the API uses. What a user relies on:

- queued runs are all run, by several workers, each exactly once;
- a worker killed with SIGKILL in the middle of a run loses nothing: another worker retries the
  run (a second attempt that reproduces), or, once its attempts are used, marks it ``failed``
  with the reason. It is never left ``running``.

The brokers are the machine's services; without one the test skips with the reason, except in
CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import redis
from kombu import Queue

from clearinghouse.access.roles import OrgKind
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.infra.broker import celery_app
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import validation_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory
from tests.integration.helpers import import_bytes
from tests.integration.validation.test_validation import native, only_finding

BROKERS = {
    # The tests own Redis database 15 and empty it afterwards.
    "redis": os.environ.get("CLEARINGHOUSE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    "rabbitmq": os.environ.get(
        "CLEARINGHOUSE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"
    ),
}

MANIFEST = """\
name = "slow-parser"
language = "python"
version = "1.0.0"
description = "Sleeps for as long as its input asks, then fails on it: a proof that runs long."

[harness]
command = ["{python}", "harness.py", "{input}"]
timeout_s = 60

[tests]
command = ["{python}", "-c", "pass"]
"""

HARNESS = """\
import sys, time

def parse(data):
    seconds = float(data.split(b":")[1])
    time.sleep(seconds)
    raise ValueError("unsupported record after %.1f s" % seconds)

def main(path):
    with open(path, "rb") as handle:
        parse(handle.read())

if __name__ == "__main__":
    main(sys.argv[1])
"""

pytestmark = pytest.mark.slow


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 2):
            return True
    except OSError:
        return False


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> str:
    url = BROKERS[str(request.param)]
    if not _reachable(url):
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the {request.param} broker at {url}")
        pytest.skip(f"no {request.param} broker at {url}")
    return url


@pytest.fixture
def settings(searchable: Path, settings: Settings, broker: str) -> Settings:
    """Short leases and a private queue, so a killed worker is noticed within seconds."""
    return settings.model_copy(
        update={
            "broker_url": broker,
            "broker_queue": f"clearinghouse-test-{uuid.uuid4().hex[:12]}",
            "validation_lease_s": 2.0,
            "validation_recover_interval_s": 0.5,
            "validation_max_attempts": 2,
            "validation_repetitions": 1,
            "validation_auto": False,
        }
    )


@pytest.fixture
def slow_target(searchable: Path) -> Path:
    root = searchable / "slow-parser"
    root.mkdir()
    (root / "clearinghouse-target.toml").write_text(MANIFEST)
    (root / "harness.py").write_text(HARNESS)
    return root


Workers = Callable[..., subprocess.Popen[bytes]]
# The test's worker processes, so that waiting stops at once if they have all died (a worker
# that cannot start would otherwise look like a slow one).
RUNNING_WORKERS: list[subprocess.Popen[bytes]] = []


@pytest.fixture
def start_worker(settings: Settings, searchable: Path) -> Iterator[Workers]:
    """Start ``clearinghouse worker`` processes (each in its own process group)."""
    started: list[subprocess.Popen[bytes]] = []
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CLEARINGHOUSE_DATA_DIR": str(settings.data_dir),
        "CLEARINGHOUSE_BROKER_QUEUE": settings.broker_queue,
        "CLEARINGHOUSE_VALIDATION_LEASE_S": str(settings.validation_lease_s),
        "CLEARINGHOUSE_VALIDATION_RECOVER_INTERVAL_S": str(settings.validation_recover_interval_s),
        "CLEARINGHOUSE_VALIDATION_MAX_ATTEMPTS": str(settings.validation_max_attempts),
    }
    if settings.database_url:
        env["CLEARINGHOUSE_DATABASE_URL"] = settings.database_url

    def start(*, concurrency: int = 1, **extra: str) -> subprocess.Popen[bytes]:
        log = (searchable / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "clearinghouse.cli.main", "worker"),
                *("--broker", str(settings.broker_url), "--concurrency", str(concurrency)),
            ],
            env={**env, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        RUNNING_WORKERS.append(process)
        return process

    yield start
    RUNNING_WORKERS.clear()
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    url = str(settings.broker_url)
    if url.startswith("redis"):  # leave nothing behind: queues, bindings, unacked messages
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
    else:
        app = celery_app(url, queue=settings.broker_queue)
        with app.connection_for_write() as connection:
            Queue(settings.broker_queue).bind(connection.default_channel).delete()
        app.close()
    for log in sorted(searchable.glob("worker-*.log")):
        sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}\n")


def wait_for(
    runtime: Runtime, run_id: int, done: Callable[[dict[str, Any]], bool], timeout_s: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        shown = validation_flow.show_run(runtime, run_id=run_id)
        if done(shown):
            return shown
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} still {shown['status']} after {timeout_s} s: {shown}")
        if RUNNING_WORKERS and all(p.poll() is not None for p in RUNNING_WORKERS):
            pytest.fail(f"every worker has exited with run {run_id} {shown['status']}: see logs")
        time.sleep(0.1)


def finished(run: dict[str, Any]) -> bool:
    return run["status"] in ("done", "failed")


def running_attempt(attempt: int) -> Callable[[dict[str, Any]], bool]:
    return lambda run: run["status"] == "running" and run["attempts"] == attempt


def queue_slow(runtime: Runtime, target: Path, org: str, seconds: float) -> dict[str, Any]:
    outcome = import_bytes(
        runtime,
        org,
        native(
            target="pkg:generic/slow-parser",
            title=f"slow {uuid.uuid4().hex}",
            file="harness.py",
            line=6,
            proof=f"sleep:{seconds}".encode(),
        ),
    )
    finding = only_finding(runtime, outcome.submission)
    queued = validation_flow.queue_validation(runtime, viewer=LOCAL_ADMIN, finding_id=finding)
    assert queued["dispatched"] is True
    return queued


def test_two_workers_run_every_queued_run_once(
    runtime: Runtime, make_org: OrgFactory, slow_target: Path, start_worker: Workers
) -> None:
    make_org("lab-a", kind=OrgKind.AI_LAB)
    validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=slow_target)
    runs = [queue_slow(runtime, slow_target, "lab-a", 0.1) for _ in range(6)]
    start_worker()
    start_worker()
    shown = [wait_for(runtime, r["id"], finished) for r in runs]
    assert [r["verdict"] for r in shown] == ["reproduced"] * 6
    assert [r["attempts"] for r in shown] == [1] * 6
    assert all(r["crash_type"] == "Uncaught exception ValueError" for r in shown)
    # One signature: the six findings are one crash and end up as one vulnerability.
    assert len({r["signature"] for r in shown}) == 1
    assert len({r["vulnerability"] for r in shown}) == 1


def test_a_worker_killed_mid_run_loses_nothing(
    runtime: Runtime, make_org: OrgFactory, slow_target: Path, start_worker: Workers
) -> None:
    make_org("lab-a", kind=OrgKind.AI_LAB)
    validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=slow_target)
    victim = start_worker()
    queued = queue_slow(runtime, slow_target, "lab-a", 3.0)
    running = wait_for(runtime, queued["id"], lambda r: r["status"] == "running")
    assert running["attempts"] == 1
    time.sleep(0.5)  # well inside the proof's run
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)

    start_worker()  # the survivor: recovers the run after its lease lapses, and runs it again
    done = wait_for(runtime, queued["id"], finished)
    assert done["status"] == "done"
    assert done["verdict"] == "reproduced"
    assert done["attempts"] == 2
    assert "stopped renewing its lease" in (
        orjson.dumps(audit_details(runtime, queued["id"], "validation.recover")).decode()
    )


def test_a_run_that_keeps_killing_workers_is_failed_with_the_reason(
    runtime: Runtime, make_org: OrgFactory, slow_target: Path, start_worker: Workers
) -> None:
    make_org("lab-a", kind=OrgKind.AI_LAB)
    validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=slow_target)
    queued = queue_slow(runtime, slow_target, "lab-a", 30.0)
    for attempt in (1, 2):
        worker = start_worker()
        running = wait_for(runtime, queued["id"], running_attempt(attempt))
        assert running["validated"] is False
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    start_worker()  # notices the second lapse: attempts are used up
    failed = wait_for(runtime, queued["id"], finished)
    assert failed["status"] == "failed"
    assert failed["validated"] is False
    assert "stopped renewing its lease" in failed["error"]
    assert "attempt 2 of 2" in failed["error"]


def audit_details(runtime: Runtime, run_id: int, action: str) -> list[Any]:
    from sqlalchemy import select

    from clearinghouse.pipeline.models import AuditEvent

    with runtime.db.session() as session:
        rows = session.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.action == action,
                AuditEvent.object_type == "validation_run",
                AuditEvent.object_id == str(run_id),
            )
        ).all()
    return [orjson.loads(r) for r in rows]
