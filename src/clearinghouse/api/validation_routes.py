"""The ``/api/v1`` validation routes: targets, reproduction runs and patch validation.

Thin, like ``routes``: authenticate, check the role, call the same ``pipeline`` functions as the
CLI's ``targets list``, ``validate``, ``validation show`` and ``patches validate``, render. The
flows audit what they do. A finding, run or vulnerability the caller may not see answers 404.

Registering a target reads a directory on the server's disk, so it is CLI only
(``clearinghouse targets add PATH``): there is no ``POST /targets``.

``POST /findings/{id}/validations`` without ``wait`` stores a queued run and hands it to a
worker (202): the served app's in-process pool, or the Celery workers when a broker is set.
With ``wait`` the request runs it to the end and answers the finished run (200).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearinghouse.access.roles import Action
from clearinghouse.api import problems
from clearinghouse.api.deps import RowId, RuntimeDep, ViewerDep, allowed, refuse_nul
from clearinghouse.core.errors import InputError, NotFoundError
from clearinghouse.core.ids import parse_vuln_id
from clearinghouse.pipeline import patch_flow, validation_flow

router = APIRouter(
    prefix="/api/v1", responses=problems.RESPONSES, dependencies=[Depends(refuse_nul)]
)


class ValidationIn(BaseModel):
    repetitions: int | None = Field(default=None, ge=1, le=10)
    wait: bool = False


@router.get("/targets")
def list_targets(runtime: RuntimeDep, viewer: ViewerDep) -> list[dict[str, Any]]:
    """Registered targets (register one with ``clearinghouse targets add PATH``)."""
    allowed(viewer, Action.READ)
    return validation_flow.list_targets(runtime)


@router.post("/findings/{finding_id}/validations", status_code=202)
def validate_finding(
    finding_id: RowId,
    body: ValidationIn,
    response: Response,
    runtime: RuntimeDep,
    viewer: ViewerDep,
) -> dict[str, Any]:
    """Queue a reproduction of the finding's proof (202); with ``wait``, run it (200)."""
    allowed(viewer, Action.SUBMIT)
    doc = validation_flow.queue_validation(
        runtime,
        viewer=viewer,
        finding_id=finding_id,
        repetitions=body.repetitions,
        dispatch=not body.wait,
    )
    if body.wait:
        validation_flow.recover_stale_runs(runtime)
        validation_flow.execute_run(runtime, run_id=doc["id"])
        doc = validation_flow.show_run(runtime, run_id=doc["id"], viewer=viewer)
        response.status_code = 200
    return doc


@router.get("/validations/{run_id}")
def get_validation(run_id: RowId, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """One validation run with its (capped) log."""
    allowed(viewer, Action.READ)
    return validation_flow.show_run(runtime, run_id=run_id, viewer=viewer)


@router.post(
    "/vulns/{vuln_id}/patches",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/x-diff": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def validate_patch(
    vuln_id: str,
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    repetitions: Annotated[int, Query(ge=1, le=50)] = 3,
) -> dict[str, Any]:
    """Judge a unified diff (the raw body, at most 1 MiB) against the vulnerability's
    reproduced proofs and the target's tests: ``fixes | does_not_fix | breaks_tests |
    does_not_apply | build_failed``, with evidence."""
    allowed(viewer, Action.SUBMIT)
    try:
        parse_vuln_id(vuln_id)
    except InputError:  # a malformed id names nothing that exists
        raise NotFoundError(f"vulnerability {vuln_id} does not exist") from None
    diff = await request.body()
    result: dict[str, Any] = await run_in_threadpool(
        lambda: patch_flow.validate_patch(
            runtime, viewer=viewer, vuln_id=vuln_id, diff=diff, repetitions=repetitions
        )
    )
    return result
