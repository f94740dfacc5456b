"""Celery on Redis or RabbitMQ: the app's configuration and the sender of job ids.

The database row is the truth about a job; a message carries only its id and the task's name,
so a message delivered twice, or lost, is harmless: the worker's claim on the row decides, and
a periodic recovery in every worker re-sends what a dead worker held (``workers.celery_worker``).

The settings chosen here are the ones that make a SIGKILL lose nothing on either broker:

- ``task_acks_late`` with ``task_reject_on_worker_lost``: a message is acknowledged only after
  its job ran, so RabbitMQ hands an unacknowledged message to another worker as soon as the dead
  worker's connection drops; Redis does after ``visibility_timeout``.
- ``worker_prefetch_multiplier = 1``: a busy worker does not sit on messages others could run.
- No result backend: results live in the database rows, never in the broker.

This module knows no task bodies (they live in the ``workers`` entrypoint, above the pipeline):
senders name a task, which is how a lower layer reaches a worker.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from celery import Celery

from clearinghouse.core.errors import InputError

VALIDATE_TASK: Final = "clearinghouse.validation.run"
DEFAULT_QUEUE: Final = "clearinghouse.validation"
_SCHEMES: Final = frozenset({"redis", "rediss", "amqp", "amqps", "pyamqp"})


def check_broker_url(url: str) -> str:
    """The URL if it names a Redis or RabbitMQ broker, else an error naming the setting."""
    scheme = urlsplit(url).scheme
    if scheme not in _SCHEMES:
        raise InputError(
            f"broker: {scheme or 'a URL without a scheme'} is not supported; use "
            "redis://HOST:PORT/DB or amqp://USER:PASSWORD@HOST:PORT//"
        )
    return url


def celery_app(broker_url: str, *, queue: str = DEFAULT_QUEUE, lease_s: float = 60.0) -> Celery:
    """A Celery app for ``broker_url`` whose validation task goes to ``queue``."""
    app = Celery("clearinghouse", broker=check_broker_url(broker_url), set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=queue,
        task_routes={VALIDATE_TASK: {"queue": queue}},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=10,
        # Redis redelivers a dead worker's message after this; the database lease recovers
        # the run sooner, so this only needs to exceed the longest run a live worker holds.
        broker_transport_options={"visibility_timeout": max(3600.0, 10 * lease_s)},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


class CeleryDispatcher:
    """Sends job ids to Celery workers by task name (the sender never imports the task)."""

    def __init__(self, app: Celery, *, task: str = VALIDATE_TASK) -> None:
        self._app = app
        self._task = task

    def submit(self, job_id: int) -> None:
        if job_id < 0:
            raise ValueError("job ids are non-negative")
        self._app.send_task(self._task, args=[job_id])

    def close(self) -> None:
        self._app.close()
