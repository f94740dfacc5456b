"""The ``/api/v1`` inventory routes: an operator's SBOMs, their matches and priorities, and the
coordinator's exposure view.

Thin, like ``routes``: authenticate, check the role, call the same ``pipeline.inventory_flow``
functions as the CLI's ``inventory`` and ``exposure`` commands, render. An organization works
on its own inventories only (the token says which); exposure is for coordinators (403 else),
and a vulnerability the coordinator may not see answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from clearinghouse.access.roles import Action
from clearinghouse.access.visibility import Viewer
from clearinghouse.api import problems
from clearinghouse.api.deps import RuntimeDep, ViewerDep, allowed, refuse_nul
from clearinghouse.api.routes import raw_body, spool
from clearinghouse.core.errors import InputError
from clearinghouse.infra.blobs import iter_file
from clearinghouse.pipeline import inventory_flow

router = APIRouter(
    prefix="/api/v1", responses=problems.RESPONSES, dependencies=[Depends(refuse_nul)]
)


def _own_organization(viewer: Viewer) -> str:
    if viewer.organization_id is None:
        raise InputError("this token belongs to no organization; inventories are per organization")
    return viewer.organization


@router.post(
    "/inventories",
    status_code=201,
    responses=problems.RAW_BODY_RESPONSES,
    openapi_extra=raw_body("application/octet-stream"),
)
async def import_inventory(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    product: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
) -> dict[str, Any]:
    """Upload an SBOM (the raw CycloneDX or SPDX document as the body) as the caller's
    organization's current inventory of its product."""
    allowed(viewer, Action.SUBMIT)
    organization = _own_organization(viewer)
    path = await spool(request, runtime.settings.max_upload_bytes)
    try:
        result: dict[str, Any] = await run_in_threadpool(
            lambda: inventory_flow.import_inventory(
                runtime,
                viewer=viewer,
                organization=organization,
                chunks=iter_file(path),
                product=product,
            )
        )
    finally:
        path.unlink(missing_ok=True)
    return result


@router.get("/inventories")
def list_inventories(runtime: RuntimeDep, viewer: ViewerDep) -> list[dict[str, Any]]:
    """The caller's organization's current inventories."""
    allowed(viewer, Action.READ)
    return inventory_flow.list_inventories(runtime, organization=_own_organization(viewer))


@router.get("/inventories/matches")
def inventory_matches(
    runtime: RuntimeDep, viewer: ViewerDep, include_suppressed: bool = False
) -> dict[str, Any]:
    """Advisories affecting the caller's organization's current inventories (matches VEX
    says are not_affected or fixed only with ``include_suppressed``)."""
    allowed(viewer, Action.READ)
    return inventory_flow.matches(
        runtime, organization=_own_organization(viewer), include_suppressed=include_suppressed
    )


@router.post(
    "/vex",
    status_code=201,
    responses=problems.RAW_BODY_RESPONSES,
    openapi_extra=raw_body("application/octet-stream"),
)
async def import_vex(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Record a VEX document (OpenVEX, CycloneDX VEX or CSAF VEX as the body) as the caller's
    organization's statements."""
    allowed(viewer, Action.SUBMIT)
    organization = _own_organization(viewer)
    path = await spool(request, runtime.settings.max_upload_bytes)
    try:
        result: dict[str, Any] = await run_in_threadpool(
            lambda: inventory_flow.import_vex(
                runtime, viewer=viewer, organization=organization, chunks=iter_file(path)
            )
        )
    finally:
        path.unlink(missing_ok=True)
    return result


@router.get("/inventories/report")
def inventory_report(runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """The matches in the order to fix them, with deadlines and reasons."""
    allowed(viewer, Action.READ)
    return inventory_flow.report(runtime, organization=_own_organization(viewer))


@router.get("/exposure/{vuln_id}")
def exposure(vuln_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Which organizations run something the vulnerability affects, by sector (coordinators)."""
    allowed(viewer, Action.READ)
    if len(vuln_id) > 200:
        raise InputError("vuln_id: at most 200 characters")
    return inventory_flow.exposure(runtime, viewer=viewer, vuln_id=vuln_id)
