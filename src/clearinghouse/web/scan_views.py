"""Scanning pages: the campaign calendar per target (``/scans``, weeks by query parameter), one
campaign with its conflicts (``/scans/campaigns/{ticket}``), the lease queue
(``/scans/leases``, and asking for the next leases), and the source-address lookup
(``/scans/lookup``, a whole page or, for htmx, the answer alone).

Thin: check the role, read through ``pipeline.scan_reads`` (which decides what the viewer may
see: a campaign it may not see is a 404, like a ticket that names nothing) or call
``pipeline.scan_flow`` (leases, the audited lookup, rate-limited per token with the API's own
budget), render.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from clearinghouse.access.roles import Action, may, require
from clearinghouse.api import scan_routes
from clearinghouse.core.errors import InputError
from clearinghouse.pipeline import scan_flow, scan_reads
from clearinghouse.scans import calendar
from clearinghouse.web.pages import WebRoute, is_htmx, render, signed_in, web_state
from clearinghouse.web.security import read_form

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MAX_LEASES_ASKED = 20
TECHNIQUES = {
    "passive": "Passive",
    "discovery": "Discovery",
    "vulnerability-scan": "Vulnerability scan",
    "exploit-validation": "Exploit validation",
    "ai-agent": "AI agent",
}


def calendar_url(first: dt.date, weeks: int) -> str:
    return "/scans?" + urlencode({"start": first.isoformat(), "weeks": weeks})


@router.get("/scans")
def campaigns_calendar(
    request: Request,
    start: Annotated[str, Query(max_length=100)] = "",
    weeks: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    runtime = web_state(request).runtime
    today = runtime.clock.now().astimezone(dt.UTC).date()
    frame = calendar.window(start or None, weeks or None, today=today)
    page = scan_reads.calendar_page(runtime, viewer=viewer, frame=frame)
    return render(
        request,
        "scans.html.j2",
        active="scans",
        section="calendar",
        page=page,
        frame=frame,
        days=frame.days,
        today=today,
        calendar_url=calendar_url,
        this_week=calendar.window(None, frame.weeks, today=today).first,
        week_choices=range(calendar.MIN_WEEKS, calendar.MAX_WEEKS + 1),
        techniques=TECHNIQUES,
    )


@router.get("/scans/campaigns/{ticket}")
def campaign(request: Request, ticket: Annotated[str, Path(max_length=40)]) -> Response:
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    runtime = web_state(request).runtime
    view = scan_reads.campaign(runtime, viewer=viewer, ticket=ticket)
    return render(
        request,
        "scans_campaign.html.j2",
        active="scans",
        section="calendar",
        campaign=view,
        techniques=TECHNIQUES,
        calendar_url=calendar_url,
        frame=calendar.window(
            None, calendar.DEFAULT_WEEKS, today=view.start.astimezone(dt.UTC).date()
        ),
    )


@router.get("/scans/leases")
def lease_queue(
    request: Request, leased: Annotated[int | None, Query(ge=0, le=MAX_LEASES_ASKED)] = None
) -> Response:
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    runtime = web_state(request).runtime
    queue = scan_reads.lease_queue(runtime, viewer=viewer)
    return render(
        request,
        "scans_leases.html.j2",
        active="scans",
        section="leases",
        queue=queue,
        leased=leased,
        may_lease=may(role=viewer.role, kind=viewer.kind, action=Action.SUBMIT),
        max_asked=MAX_LEASES_ASKED,
        everyone=scan_reads.sees_everything(viewer),
    )


@router.post("/scans/leases")
async def ask_for_leases(request: Request) -> Response:
    """Time-boxed leases on the next projects for the viewer's organization (the API's
    ``POST /leases``); the queue shows them."""
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.SUBMIT)
    form = await read_form(request)
    text = form.get("count", "").strip() or "5"
    count = int(text) if text.isdigit() and len(text) <= 3 else 0
    if not 1 <= count <= MAX_LEASES_ASKED:
        raise InputError(f"count: a whole number from 1 to {MAX_LEASES_ASKED}")
    runtime = web_state(request).runtime
    granted = await run_in_threadpool(
        scan_flow.next_targets,
        runtime,
        viewer=viewer,
        organization=viewer.organization,
        count=count,
    )
    return RedirectResponse(f"/scans/leases?leased={len(granted)}#leases", status_code=303)


@router.get("/scans/lookup")
def lookup(
    request: Request,
    address: Annotated[str | None, Query(max_length=1000)] = None,
    at: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """Is this source address a declared, authorized scanner (now, or at ``at`` in UTC)?"""
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    runtime = web_state(request).runtime
    result = None
    error: InputError | None = None
    if address is not None:
        try:
            ip = scan_reads.parse_address(address)
            when = scan_reads.parse_instant(at)
        except InputError as refused:
            error = refused
        else:
            scan_routes.LOOKUPS.take(viewer.label)  # one budget per token, web and API
            result = scan_flow.lookup(runtime, ip=ip, at=when, viewer=viewer)
    field = error.detail.split(":", 1)[0] if error else None
    context: dict[str, Any] = {
        "address": (address or "")[:100],
        "at": at[:40],
        "result": result,
        "error": error.detail if error else None,
        "error_field": field,
        "techniques": TECHNIQUES,
    }
    status = 400 if error else 200
    if is_htmx(request):
        return render(
            request,
            "_scans_lookup_result.html.j2",
            status=status,
            headers={"Vary": "HX-Request"},
            **context,
        )
    return render(
        request, "scans_lookup.html.j2", status=status, active="scans", section="lookup", **context
    )
