"""The FastAPI application factory (``clearinghouse serve`` and tests build it the same way).

The served app (no runtime passed in) also runs validation: with ``CLEARINGHOUSE_BROKER_URL``
set, queued runs go to the Celery workers; without, the process starts an in-process worker
pool and a recovery thread for the life of the server.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI

from clearinghouse import __version__
from clearinghouse.api import problems
from clearinghouse.api.case_routes import public_router as csaf_public_router
from clearinghouse.api.case_routes import router as case_router
from clearinghouse.api.eval_routes import router as eval_router
from clearinghouse.api.inventory_routes import router as inventory_router
from clearinghouse.api.limits import BodyLimit
from clearinghouse.api.routes import router
from clearinghouse.api.scan_routes import router as scan_router
from clearinghouse.api.validation_routes import router as validation_router
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import validation_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.pipeline.scheduler import scheduler_thread


def create_app(
    runtime: Runtime | None = None,
    *,
    run_workers: bool | None = None,
    body_limit_exempt: Callable[[str], bool] | None = None,
) -> FastAPI:
    """The app; ``run_workers`` (default: only when it builds its own runtime) starts the
    in-process validation pool while the app runs, unless a broker is configured.
    ``body_limit_exempt`` names paths that cap their own bodies (see ``limits.BodyLimit``)."""
    if run_workers is None:
        run_workers = runtime is None
    if runtime is None:
        runtime = Runtime.from_settings(Settings())
        runtime.ensure_schema()
    rt = runtime

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not run_workers:
            yield
            return
        # Deadlines and the outbox tick here unless Celery beat does it for a scaled-out setup.
        ticker = scheduler_thread(rt).start() if not rt.settings.broker_url else None
        if rt.settings.broker_url:
            yield
            return
        pool = validation_flow.start_pool(rt)
        rt.dispatcher = pool
        recovery = validation_flow.recovery_thread(rt).start()
        try:
            yield
        finally:
            recovery.stop()
            if ticker is not None:
                ticker.stop()
            rt.dispatcher = None  # queued runs stay queued; the next start picks them up

    app = FastAPI(
        lifespan=lifespan,
        title="Clearinghouse API",
        version=__version__,
        description=(
            "Coordinated intake and deduplication of vulnerability findings. Errors are RFC 9457 "
            "problem+json. Authenticate with `Authorization: Bearer <token>`."
        ),
    )
    app.state.runtime = runtime
    problems.install(app)
    app.include_router(router)
    app.include_router(validation_router)
    app.include_router(inventory_router)
    app.include_router(case_router)
    app.include_router(scan_router)
    app.include_router(eval_router)
    app.include_router(csaf_public_router)
    app.add_middleware(BodyLimit, exempt=body_limit_exempt)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
