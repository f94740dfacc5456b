"""The operator's dashboard (``/dashboard``): what to patch first and by when, remediation
progress over the last weeks, notifications with their answer, SBOM upload, and the scan
authorizations the organization granted with its kill switch.

Every read is of the viewer's own organization, through the pipeline
(``remediation_flow``, ``inventory_flow``, ``publish_flow``, ``authorization_reads``); every
write needs the role the API needs for it (``submit``), and the pipeline checks again. An
organization of any kind gets the page: one without inventories sees why it is empty.

Writes answer htmx with the changed part of the page; without htmx, with a redirect back
(the SBOM upload, a file input, needs the ``X-CSRF-Token`` header htmx sends).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from clearinghouse.access.roles import Action, may, require
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.errors import ClearinghouseError, InputError, NotFoundError
from clearinghouse.pipeline import (
    authorization_reads,
    inventory_flow,
    publish_flow,
    remediation_flow,
    scan_flow,
)
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.web import progress_chart
from clearinghouse.web.pages import WebRoute, is_htmx, render, signed_in, web_state
from clearinghouse.web.security import read_form
from clearinghouse.web.uploads import MAX_WEB_UPLOAD_BYTES, read_multipart

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# The whole request, file and form fields together (the route streams it under this cap).
MAX_SBOM_BYTES = MAX_WEB_UPLOAD_BYTES
MAX_PRODUCT_CHARS = 500
RESPONSE_LABELS = {
    "acknowledged": "Acknowledged",
    "remediated": "Patched (remediated)",
    "mitigated": "Mitigated",
    "not_affected": "Not affected",
}
CONFIRM = "yes"

Id = Annotated[int, Path(ge=1, le=2**62)]


def _organization(viewer: Viewer) -> str:
    if viewer.organization_id is None:
        raise InputError(
            "this sign-in belongs to no organization; the dashboard is per organization"
        )
    return viewer.organization


def _scans(runtime: Runtime, viewer: Viewer, *, confirming: bool = False) -> dict[str, Any]:
    return {
        "scans": authorization_reads.granted_by(
            runtime, viewer=viewer, organization=_organization(viewer)
        ),
        "confirming": confirming,
    }


def _context(request: Request, viewer: Viewer, **extra: Any) -> dict[str, Any]:
    runtime = web_state(request).runtime
    organization = _organization(viewer)
    patch = remediation_flow.to_patch(runtime, organization=organization)
    progress = remediation_flow.remediation_progress(runtime, organization=organization)
    return {
        "active": "dashboard",
        "organization": organization,
        "kind": viewer.kind.value,
        "patch": patch,
        "progress": progress,
        "chart": progress_chart.chart(progress["points"]),
        "inventories": inventory_flow.list_inventories(runtime, organization=organization),
        "notifications": list(reversed(publish_flow.list_notifications(runtime, viewer=viewer))),
        "responses": RESPONSE_LABELS,
        "may_write": may(role=viewer.role, kind=viewer.kind, action=Action.SUBMIT),
        "max_sbom_bytes": MAX_SBOM_BYTES,
        "upload": None,
        "upload_error": None,
        **_scans(runtime, viewer),
        **extra,
    }


def _reader(request: Request) -> Viewer:
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    return viewer


def _writer(request: Request) -> Viewer:
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.SUBMIT)
    return viewer


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    viewer = _reader(request)
    return render(request, "dashboard.html.j2", **_context(request, viewer))


# --- SBOM upload -----------------------------------------------------------------------------


@router.post("/dashboard/inventories")
async def upload_inventory(request: Request) -> Response:
    """A CycloneDX or SPDX file as the organization's current inventory of its product; the
    answer names the components and the advisories now affecting it. An SBOM that is not
    valid is refused naming where (nothing is stored); a file over the cap is refused (413)
    before it is read."""
    viewer = _writer(request)
    runtime = web_state(request).runtime
    organization = _organization(viewer)
    try:
        parts = await read_multipart(request, max_bytes=MAX_SBOM_BYTES, what="SBOM file")
        files = [p for p in parts if p.name == "sbom"]
        if len(files) != 1 or not files[0].data:
            raise InputError("SBOM file: choose one CycloneDX or SPDX file to upload")
        product = next((p.data for p in parts if p.name == "product"), b"")
        try:
            named = product.decode("utf-8").strip() or None
        except UnicodeDecodeError:
            raise InputError("product: not UTF-8 text") from None
        if named is not None and len(named) > MAX_PRODUCT_CHARS:
            raise InputError(f"product: at most {MAX_PRODUCT_CHARS} characters")
        data = files[0].data
        result = await run_in_threadpool(
            lambda: remediation_flow.upload_sbom(
                runtime, viewer=viewer, organization=organization, chunks=[data], product=named
            )
        )
    except ClearinghouseError as error:
        if error.status >= 500 or error.status in (401, 403, 404):
            raise
        status = error.status
        problem = {"title": error.title, "detail": error.detail, "status": status}
        return await run_in_threadpool(
            lambda: _upload_answer(request, viewer, upload=None, error=problem, status=status)
        )
    result["filename"] = files[0].filename
    return await run_in_threadpool(
        lambda: _upload_answer(request, viewer, upload=result, error=None, status=200)
    )


def _upload_answer(
    request: Request,
    viewer: Viewer,
    *,
    upload: dict[str, Any] | None,
    error: dict[str, Any] | None,
    status: int,
) -> Response:
    if is_htmx(request):
        context = _context(request, viewer) if upload is not None else {}
        return render(
            request,
            "_dashboard_upload_result.html.j2",
            status=status,
            upload=upload,
            upload_error=error,
            refreshed=upload is not None,
            **{k: v for k, v in context.items() if k not in ("upload", "upload_error")},
        )
    return render(
        request,
        "dashboard.html.j2",
        status=status,
        **_context(request, viewer, upload=upload, upload_error=error),
    )


# --- notifications ---------------------------------------------------------------------------


@router.post("/dashboard/notifications/{notification_id}/response")
async def respond(request: Request, notification_id: Id) -> Response:
    """The organization's answer to a notification (as ``POST /api/v1/notifications/{id}/
    response``): acknowledged, patched, mitigated or not affected, with an optional note."""
    viewer = _writer(request)
    runtime = web_state(request).runtime
    form = await read_form(request)
    answer = form.get("response", "")
    if answer not in RESPONSE_LABELS:
        raise InputError(f"response: choose one of {', '.join(RESPONSE_LABELS.values())}")
    note = form.get("statement", "").strip()
    done = await run_in_threadpool(
        lambda: publish_flow.respond(
            runtime,
            viewer=viewer,
            notification_id=notification_id,
            response=answer,
            statement=note,
        )
    )
    if not is_htmx(request):
        return RedirectResponse(f"/dashboard#notification-{notification_id}", status_code=303)
    return render(
        request,
        "_dashboard_notification.html.j2",
        n=done,
        responses=RESPONSE_LABELS,
        may_write=True,
    )


# --- scan authorizations and the kill switch -------------------------------------------------


def _scans_answer(request: Request, viewer: Viewer, *, confirming: bool = False) -> Response:
    runtime = web_state(request).runtime
    if is_htmx(request):
        return render(
            request,
            "_dashboard_scans.html.j2",
            may_write=may(role=viewer.role, kind=viewer.kind, action=Action.SUBMIT),
            **_scans(runtime, viewer, confirming=confirming),
        )
    if confirming:
        return render(request, "dashboard.html.j2", **_context(request, viewer, confirming=True))
    return RedirectResponse("/dashboard#scans", status_code=303)


@router.get("/dashboard/scans")
def scans(request: Request) -> Response:
    """The scans section alone (htmx; e.g. cancelling the confirmation step)."""
    viewer = _reader(request)
    return _scans_answer(request, viewer)


@router.get("/dashboard/kill-switch")
def confirm_kill_switch(request: Request) -> Response:
    """The confirmation step before the kill switch goes on (changes nothing)."""
    viewer = _writer(request)
    return _scans_answer(request, viewer, confirming=True)


@router.post("/dashboard/kill-switch")
async def kill_switch(request: Request) -> Response:
    """Turn the kill switch on (``on=on`` with ``confirm=yes``) or off (``on=off``): every
    scan of the organization's assets halts, or may resume, at once; audited."""
    viewer = _writer(request)
    runtime = web_state(request).runtime
    form = await read_form(request)
    state = form.get("on", "")
    if state not in ("on", "off"):
        raise InputError("on: 'on' or 'off'")
    if state == "on" and form.get("confirm") != CONFIRM:
        raise InputError("confirm: turning the kill switch on needs the confirmation step")
    organization = _organization(viewer)
    await run_in_threadpool(
        lambda: scan_flow.kill_switch(
            runtime, viewer=viewer, organization=organization, on=state == "on"
        )
    )
    return await run_in_threadpool(_scans_answer, request, viewer)


@router.post("/dashboard/authorizations/{authorization_id}/revoke")
async def revoke(request: Request, authorization_id: Id) -> Response:
    """Revoke one authorization this organization granted (another's answers 404)."""
    viewer = _writer(request)
    runtime = web_state(request).runtime
    organization = _organization(viewer)
    granted = await run_in_threadpool(
        lambda: authorization_reads.granted_by(runtime, viewer=viewer, organization=organization)
    )
    if authorization_id not in {a["id"] for a in granted["authorizations"]}:
        # not ours (scan_flow would refuse with 403): absent, as for any record one may not see
        raise NotFoundError(f"authorization {authorization_id} does not exist")
    await run_in_threadpool(
        lambda: scan_flow.revoke(runtime, viewer=viewer, authorization_id=authorization_id)
    )
    return await run_in_threadpool(_scans_answer, request, viewer)
