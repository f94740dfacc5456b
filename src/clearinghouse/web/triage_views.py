"""The analyst's pages: the triage queue (``/triage``, its htmx rows ``/triage/rows``) and a
vulnerability (``/vulns/{id}``).

Thin: check the role, read through the pipeline (``read_flow.show_vuln``) or the page reads in
``pipeline.queries`` (which audit restricted reads as the API does), render. A vulnerability the
viewer may not see, or an id that names nothing, is a 404 page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from clearinghouse.access.roles import Action, require
from clearinghouse.core.errors import InputError, NotFoundError
from clearinghouse.pipeline import queries, read_flow
from clearinghouse.web.pages import WebRoute, is_htmx, render, signed_in, web_state

router = APIRouter(route_class=WebRoute, include_in_schema=False)

VERDICT_LABELS = {
    queries.REPRODUCED: "Reproduced",
    queries.PENDING: "Pending",
    queries.NOT_REPRODUCED: "Not reproduced",
    queries.INCONCLUSIVE: "Inconclusive",
    queries.UNVALIDATED: "Not validated",
}

Search = Annotated[str, Query(max_length=200)]
VerdictParam = Annotated[str, Query(max_length=32)]
PageParam = Annotated[int, Query(ge=1, le=1_000_000)]


def triage_url(*, search: str, verdict: str, page: int = 1, path: str = "/triage") -> str:
    params = {
        key: value
        for key, value in (("q", search), ("verdict", verdict), ("page", page))
        if value and not (key == "page" and value == 1)
    }
    return f"{path}?{urlencode(params)}" if params else path


def _page(request: Request, search: str, verdict: str, page: int) -> queries.TriagePage:
    signed = signed_in(request)
    viewer = signed.viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    runtime = web_state(request).runtime
    return queries.triage_page(
        runtime.db,
        viewer=viewer,
        clock=runtime.clock,
        search=search,
        verdict=verdict,
        page=page,
    )


@router.get("/triage")
def triage(
    request: Request, q: Search = "", verdict: VerdictParam = "", page: PageParam = 1
) -> Response:
    data = _page(request, q, verdict, page)
    return render(
        request,
        "triage.html.j2",
        active="triage",
        data=data,
        verdicts=VERDICT_LABELS,
        triage_url=triage_url,
    )


@router.get("/triage/rows")
def triage_rows(
    request: Request, q: Search = "", verdict: VerdictParam = "", page: PageParam = 1
) -> Response:
    """The table alone (with the pager and the count swapped out of band), for htmx."""
    if not is_htmx(request):
        return RedirectResponse(triage_url(search=q, verdict=verdict, page=page), 303)
    data = _page(request, q, verdict, page)
    return render(
        request,
        "_triage_rows.html.j2",
        data=data,
        verdicts=VERDICT_LABELS,
        triage_url=triage_url,
        headers={
            "HX-Push-Url": triage_url(search=data.search, verdict=data.verdict, page=page),
            "Vary": "HX-Request",
        },
    )


@router.get("/vulns/{public_id}")
def vulnerability(request: Request, public_id: Annotated[str, Path(max_length=40)]) -> Response:
    signed = signed_in(request)
    viewer = signed.viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    runtime = web_state(request).runtime
    try:
        doc = read_flow.show_vuln(
            runtime.db, viewer=viewer, clock=runtime.clock, public_id=public_id
        )
    except InputError:  # a malformed id names nothing that exists
        raise NotFoundError(f"vulnerability {public_id} does not exist") from None
    runs = queries.validation_runs(
        runtime.db,
        viewer=viewer,
        clock=runtime.clock,
        finding_ids=[int(f["id"]) for f in doc["findings_detail"]],
    )
    verdict = queries.overall_verdict((run["status"], run["verdict"]) for run in runs)
    return render(
        request,
        "vuln.html.j2",
        active="triage",
        vuln=doc,
        runs=runs,
        verdict=verdict,
        verdicts=VERDICT_LABELS,
    )
