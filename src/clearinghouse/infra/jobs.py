"""The in-process worker pool: threads that take job ids from a queue and hand each to a handler.

The queue carries only ids; the database row a job is about is the truth about its state, and
the handler is responsible for claiming the row and recording the outcome (so a job submitted
twice, or still queued when the process dies, is harmless: the row says whether it still needs
doing, and a start-up recovery finds rows whose worker vanished). A handler that raises is
logged and the worker carries on; the pool never loses its threads to one bad job.

It does not know about validation or any other domain, retry anything itself, or span
processes (``infra.broker`` sends ids to Celery workers for that; both are a ``Dispatcher``).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Final, Protocol

logger = logging.getLogger(__name__)

_STOP: Final = -1


class Dispatcher(Protocol):
    """Hands a job id to whatever runs jobs: the in-process pool or a broker's workers."""

    def submit(self, job_id: int) -> None: ...


class WorkerPool:
    """``workers`` daemon threads running ``handler(job_id)`` for each submitted id."""

    def __init__(self, handler: Callable[[int], object], *, workers: int, name: str) -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self._handler = handler
        self._queue: queue.Queue[int] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job_id: int) -> None:
        if job_id < 0:
            raise ValueError("job ids are non-negative")
        self._queue.put(job_id)

    def join(self) -> None:
        """Wait until every submitted job has been handled."""
        self._queue.join()

    def close(self) -> None:
        """Finish the queued jobs, then stop the threads."""
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                if job_id == _STOP:
                    return
                self._handler(job_id)
            except Exception:
                logger.exception("job %s failed in the worker pool", job_id)
            finally:
                self._queue.task_done()


class Periodic:
    """A daemon thread calling ``action()`` every ``interval_s`` until stopped; a failure is
    logged and tried again next time (a tick must never kill the thread that runs ticks)."""

    def __init__(self, action: Callable[[], object], *, interval_s: float, name: str) -> None:
        self._action = action
        self._interval_s = interval_s
        self._name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._action()
            except Exception:
                logger.exception("%s failed; trying again in %.1f s", self._name, self._interval_s)
