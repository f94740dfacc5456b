"""The FastAPI application factory (``clearinghouse serve`` and tests build it the same way)."""

from __future__ import annotations

from fastapi import FastAPI

from clearinghouse import __version__
from clearinghouse.api import problems
from clearinghouse.api.limits import BodyLimit
from clearinghouse.api.routes import router
from clearinghouse.api.validation_routes import router as validation_router
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline.runtime import Runtime


def create_app(runtime: Runtime | None = None) -> FastAPI:
    if runtime is None:
        runtime = Runtime.from_settings(Settings())
        runtime.ensure_schema()
    app = FastAPI(
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
    app.add_middleware(BodyLimit)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
