"""``clearinghouse worker``: a Celery worker process that runs validation runs by id.

Any number of these, on any number of machines sharing the database, the data directory and
the broker, take run ids from the queue. Each message is only a nudge: ``execute_run`` claims
the row, so a message delivered twice runs once, and one for a run that is no longer queued is
dropped. Nothing is lost when a worker is killed (SIGKILL included):

- its runs stop having their lease renewed; the recovery thread of any live worker
  requeues them (or fails them with the reason after ``validation_max_attempts``) and sends
  them to the queue again;
- its unacknowledged messages go back to the broker (acks late) and, when delivered again,
  find their run either still leased (dropped; recovery will resend) or requeued (run).

The pool is threads, not forked processes: the work itself runs in sandboxed subprocesses, and
one process per worker keeps the database engine and build cache shared and the kill simple.
"""

from __future__ import annotations

import logging
import os
import socket

from celery import Celery

from clearinghouse.infra.broker import VALIDATE_TASK, CeleryDispatcher, celery_app
from clearinghouse.pipeline import scheduler, validation_flow
from clearinghouse.pipeline.runtime import Runtime

logger = logging.getLogger(__name__)


def make_app(rt: Runtime, *, broker_url: str) -> Celery:
    """The Celery app with the validation task bound to this process's runtime."""
    app = celery_app(
        broker_url, queue=rt.settings.broker_queue, lease_s=rt.settings.validation_lease_s
    )
    name = validation_flow.worker_name()

    @app.task(name=VALIDATE_TASK, ignore_result=True)
    def run_validation(run_id: int) -> str:
        result = validation_flow.execute_run(rt, run_id=int(run_id), worker=name)
        return "skipped" if result is None else str(result["status"])

    @app.task(name=scheduler.TICK_TASK, ignore_result=True)
    def run_tick() -> str:
        return str(scheduler.tick(rt))

    del run_validation, run_tick  # registered on the app by name; senders never import them
    # Celery beat (``worker --beat``) sends the tick; exactly one beat should run per site.
    app.conf.beat_schedule = {
        "clearinghouse-tick": {
            "task": scheduler.TICK_TASK,
            "schedule": rt.settings.scheduler_interval_s,
        }
    }
    app.conf.task_routes = {
        **(app.conf.task_routes or {}),
        scheduler.TICK_TASK: {"queue": rt.settings.broker_queue},
    }
    return app


def run_worker(
    rt: Runtime, *, broker_url: str, concurrency: int, loglevel: str = "INFO", beat: bool = False
) -> None:
    """Recover, resend what is queued, then consume until stopped (SIGTERM: warm shutdown)."""
    app = make_app(rt, broker_url=broker_url)
    rt.dispatcher = CeleryDispatcher(app)
    recovered = validation_flow.recover_stale_runs(rt)
    sent = validation_flow.dispatch_queued(rt)
    logger.info("recovered %d stale runs; sent %d queued runs", len(recovered), sent)
    recovery = validation_flow.recovery_thread(rt).start()
    worker = app.Worker(
        pool="threads",
        concurrency=concurrency,
        loglevel=loglevel,
        hostname=f"clearinghouse-{os.getpid()}@{socket.gethostname()}",
        queues=[rt.settings.broker_queue],
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
        optimization="fair",
        beat=beat,
    )
    try:
        worker.start()
    finally:
        recovery.stop()
