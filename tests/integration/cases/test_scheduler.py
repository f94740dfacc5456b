"""The scheduler: the in-process thread lifts a due embargo and delivers the outbox on its own;
the Celery app carries the same tick as a task with a beat schedule."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.clock import FixedClock
from clearinghouse.pipeline import case_flow, scheduler
from clearinghouse.pipeline.runtime import Runtime
from tests.integration.cases.test_disclosure_flow import world  # noqa: F401 (the fixture)


def test_the_in_process_scheduler_lifts_a_due_embargo(
    runtime: Runtime,
    world: dict[str, Any],  # noqa: F811
) -> None:
    assert isinstance(runtime.clock, FixedClock)
    case = case_flow.open_case(
        runtime, viewer=LOCAL_ADMIN, vuln_ids=[world["vuln"]], allow_unvalidated=True
    )
    runtime.clock.advance(dt.timedelta(days=46))
    ticker = scheduler.scheduler_thread(runtime, interval_s=0.2).start()
    try:
        deadline = time.monotonic() + 20
        state = "proposed"
        while time.monotonic() < deadline and state != "lifted":
            time.sleep(0.2)
            state = case_flow.show_case(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])["embargo"][
                "state"
            ]
    finally:
        ticker.stop()
    assert state == "lifted"
    history = case_flow.show_case(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])[
        "embargo_history"
    ]
    assert [e["state"] for e in history] == ["proposed", "lifted"]  # lifted once, not per tick


def test_celery_beat_sends_the_tick_task(runtime: Runtime) -> None:
    from clearinghouse.workers.celery_worker import make_app

    app = make_app(runtime, broker_url="redis://127.0.0.1:6379/15")
    schedule = app.conf.beat_schedule["clearinghouse-tick"]
    assert schedule["task"] == scheduler.TICK_TASK
    assert schedule["schedule"] == runtime.settings.scheduler_interval_s
    result = app.tasks[scheduler.TICK_TASK].run()
    assert "deadlines" in result
