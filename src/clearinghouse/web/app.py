"""The whole application: the HTTP API with the web interface mounted beside it, server-rendered
pages (Jinja2) with htmx, in the same process and on the same runtime.

``create_app`` is what ``clearinghouse serve`` runs; the web layer sits above the API (the API
never imports it).

``install(app, runtime)`` adds the page routes (left out of the OpenAPI document), the static
files under ``/static`` and the security headers of every web response. It does not change the
API: its routes, its problem+json errors and its headers stay as they are.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from clearinghouse.api.app import create_app as create_api_app
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.web import (
    case_views,
    model_views,
    operator_views,
    scan_views,
    triage_views,
    views,
)
from clearinghouse.web.pages import WebState
from clearinghouse.web.security import SecurityHeaders
from clearinghouse.web.uploads import is_upload_route

STATIC_DIR = Path(str(resources.files("clearinghouse.web") / "static"))
# Paths that are web pages (each also covers what lies below it, e.g. /vulns/CH-…).
PAGES = (
    "/",
    "/signin",
    "/signout",
    "/triage",
    "/vulns",
    "/cases",
    "/dashboard",
    "/scans",
    "/models",
    "/engagements",
)


def install(app: FastAPI, runtime: Runtime) -> None:
    app.state.web = WebState(runtime=runtime)
    for module in (views, triage_views, case_views, operator_views, scan_views, model_views):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders, pages=PAGES)


def create_app(runtime: Runtime | None = None, *, run_workers: bool | None = None) -> FastAPI:
    """The API app (see ``clearinghouse.api.app.create_app``) with the web interface installed."""
    app = create_api_app(runtime, run_workers=run_workers, body_limit_exempt=is_upload_route)
    install(app, app.state.runtime)
    return app
