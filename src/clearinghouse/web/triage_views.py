"""The analyst's pages: the triage queue (``/triage``, its htmx rows ``/triage/rows``) and a
vulnerability (``/vulns/{id}``: findings, validation, duplicates, exposure by sector for
coordinators, timeline), with its merge and split forms (``POST /vulns/{id}/merge``,
``POST /vulns/{id}/split``).

Thin: check the role, read through the pipeline (``read_flow.show_vuln``) or the page reads in
``pipeline.queries`` (which audit restricted reads as the API does), write through
``triage_flow`` as the API does, render. A vulnerability the viewer may not see, or an id that
names nothing, is a 404 page. Merge and split are plain forms (no script needed): success goes
to the resulting page (303), a refusal re-renders this page with the reason beside the form, in
the refusal's status.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from clearinghouse.access.roles import Action, require
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.errors import (
    ClearinghouseError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from clearinghouse.core.ids import parse_vuln_id
from clearinghouse.pipeline import queries, read_flow, triage_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.web.pages import WebRoute, is_htmx, render, signed_in, web_state
from clearinghouse.web.security import read_form

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


VulnId = Annotated[str, Path(max_length=40)]
MAX_SPLIT = 40  # findings one split moves (the form parser keeps at most 50 fields)


def _show(request: Request, public_id: str, *, status: int = 200, **errors: str) -> Response:
    """The page (also answering a refused merge or split, with ``errors`` beside its form)."""
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
    timeline = queries.vuln_timeline(
        runtime.db, viewer=viewer, public_id=doc["id"], findings=doc["findings_detail"], runs=runs
    )
    exposure = queries.vuln_exposure(runtime, viewer=viewer, public_id=doc["id"])
    return render(
        request,
        "vuln.html.j2",
        status=status,
        active="triage",
        vuln=doc,
        runs=runs,
        verdict=verdict,
        verdicts=VERDICT_LABELS,
        timeline=timeline,
        exposure=exposure,
        may_regroup=queries.may_regroup(viewer),
        merge_error=errors.get("merge", ""),
        split_error=errors.get("split", ""),
        max_split=MAX_SPLIT,
    )


@router.get("/vulns/{public_id}")
def vulnerability(request: Request, public_id: VulnId) -> Response:
    return _show(request, public_id)


def _known_id(value: str) -> None:
    """A malformed path id names nothing that exists: 404, as the API answers."""
    try:
        parse_vuln_id(value)
    except InputError:
        raise NotFoundError(f"vulnerability {value} does not exist") from None


def _analyst(request: Request, public_id: str) -> tuple[Viewer, Runtime]:
    """The viewer, when their role may merge and split (else 403, asked first as the API
    does), and a path id that could name a vulnerability (else 404)."""
    viewer = signed_in(request).viewer
    if not queries.may_regroup(viewer):
        raise PermissionDeniedError("only coordinator analysts merge and split vulnerabilities")
    _known_id(public_id)
    return viewer, web_state(request).runtime


def _refused(request: Request, public_id: str, form: str, error: ClearinghouseError) -> Response:
    """This page with the refusal beside ``form``, in the refusal's status; the 404 page when
    the viewer may not see this vulnerability (``_show`` asks that first)."""
    return _show(
        request, public_id, status=error.status, **{form: f"{error.title}: {error.detail}"}
    )


@router.post("/vulns/{public_id}/merge")
async def merge(request: Request, public_id: VulnId) -> Response:
    """Merge the vulnerability named in the form into this one (``triage_flow.merge``, as the
    API); then this page, which lists the merged findings. A refusal of the other id (unknown,
    not visible, already merged, this one itself) is shown beside the form with its status."""
    form = await read_form(request)
    viewer, runtime = _analyst(request, public_id)
    other = form.get("other", "").strip()
    try:
        if not other:
            raise InputError("other: enter the id of the vulnerability to merge into this one")
        try:
            parse_vuln_id(other)
        except InputError:
            raise InputError(
                f"other: {other[:40]!r} is not a vulnerability id (CH-YYYY-NNNNN)"
            ) from None
        result = await run_in_threadpool(
            lambda: triage_flow.merge(
                runtime.db, viewer=viewer, into=public_id, other=other, clock=runtime.clock
            )
        )
    except NotFoundError:
        # Rendering this page asks first whether the viewer may see it: if not, the answer is
        # its 404 page, as for GET; if so, the id that names nothing visible is the other one.
        error = NotFoundError(f"other: no vulnerability {other.upper()} that you may see")
        return await run_in_threadpool(_refused, request, public_id, "merge", error)
    except (InputError, ConflictError) as error:
        return await run_in_threadpool(_refused, request, public_id, "merge", error)
    return RedirectResponse(f"/vulns/{result['id']}#timeline", status_code=303)


def _selected(form: dict[str, str]) -> list[int]:
    """The findings ticked in the split form (``finding-<id>`` checkboxes)."""
    chosen = []
    for key in form:
        if key.startswith("finding-"):
            try:
                chosen.append(int(key.removeprefix("finding-")))
            except ValueError:
                raise InputError(f"{key[:40]}: not a finding of this vulnerability") from None
    if not chosen:
        raise InputError("findings: tick at least one finding to move to a new vulnerability")
    if len(chosen) > MAX_SPLIT:
        raise InputError(f"findings: at most {MAX_SPLIT} findings in one split")
    return sorted(chosen)


@router.post("/vulns/{public_id}/split")
async def split(request: Request, public_id: VulnId) -> Response:
    """Move the ticked findings to a new vulnerability (``triage_flow.split``, as the API) and
    go to its page; ticking none, or every finding, is refused beside the form."""
    form = await read_form(request)
    viewer, runtime = _analyst(request, public_id)
    try:
        chosen = _selected(form)
        result = await run_in_threadpool(
            lambda: triage_flow.split(
                runtime.db,
                viewer=viewer,
                public_id=public_id,
                finding_ids=chosen,
                clock=runtime.clock,
            )
        )
    except (InputError, ConflictError, NotFoundError) as error:
        # a finding that is not (visibly) part of it; this page itself when invisible: its 404
        return await run_in_threadpool(_refused, request, public_id, "split", error)
    return RedirectResponse(f"/vulns/{result['new']}#timeline", status_code=303)
