"""The scheduler's one tick: lift due embargoes, remind and escalate silent vendors, deliver the
outbox. Run in-process by the API server (a thread) by default, by Celery beat when scaled out,
or once by ``clearinghouse cases tick``. Every step is idempotent, so two schedulers at once
cost only duplicate work, never a duplicate message.
"""

from __future__ import annotations

from typing import Any

from clearinghouse.infra.jobs import Periodic
from clearinghouse.pipeline import case_flow, publish_flow
from clearinghouse.pipeline.runtime import Runtime

TICK_TASK = "clearinghouse.tick"


def tick(rt: Runtime) -> dict[str, Any]:
    deadlines = case_flow.run_deadlines(rt)
    delivered = publish_flow.deliver_due(rt)
    return {"deadlines": deadlines, "outbox": delivered}


def scheduler_thread(rt: Runtime, *, interval_s: float | None = None) -> Periodic:
    """The in-process scheduler: a thread that ticks every ``scheduler_interval_s``."""
    return Periodic(
        lambda: tick(rt),
        interval_s=interval_s or rt.settings.scheduler_interval_s,
        name="scheduler",
    )
