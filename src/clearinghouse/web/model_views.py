"""Model designation pages: the engagements a viewer may see (``/models``), one engagement with
its designation, per-family interval bars against the threshold, window, grants and trusted
partners (``/engagements/{id}``), and a side's approval of a nominated partner.

Thin: the data and every rule come from ``pipeline.designation_flow`` (which answers 404 to
organizations on neither side and without a grant, and refuses a side that may not act).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from clearinghouse.access.roles import Action, may, require
from clearinghouse.access.visibility import Viewer
from clearinghouse.evaluation import framework
from clearinghouse.pipeline import designation_flow, eval_flow, queries
from clearinghouse.web.pages import WebRoute, is_htmx, path_part, render, signed_in, web_state

router = APIRouter(route_class=WebRoute, include_in_schema=False)

STATES = {
    "demonstrated": "Demonstrated",
    "ruled_out": "Ruled out",
    "cannot_rule_out": "Cannot rule out",
}
OUTCOMES = {"covered": "Covered", "not_covered": "Not covered", "alert": "Alert"}


def side_of(viewer: Viewer, doc: dict[str, Any]) -> str | None:
    """``developer``, ``government`` or ``None`` (a partner holding a grant)."""
    if viewer.organization == doc["model"]["developer"]:
        return framework.Side.DEVELOPER.value
    if eval_flow.is_government(viewer):
        return framework.Side.GOVERNMENT.value
    return None


def may_approve(viewer: Viewer, doc: dict[str, Any], side: str | None) -> set[str]:
    """Organizations this viewer's side may approve now: nominated, not yet approved by it."""
    if side is None or doc["status"] != framework.EngagementStatus.OPEN.value:
        return set()
    if not may(role=viewer.role, kind=viewer.kind, action=Action.SUBMIT):
        return set()
    mark = "developer_approved_at" if side == "developer" else "government_approved_at"
    return {
        partner["organization"]
        for partner in doc["partners"]
        if partner["status"] == framework.PartnerStatus.NOMINATED.value and not partner[mark]
    }


def _context(viewer: Viewer, doc: dict[str, Any]) -> dict[str, Any]:
    side = side_of(viewer, doc)
    designation = doc["designation"]
    return {
        "engagement": doc,
        "side": side,
        "approvable": may_approve(viewer, doc, side),
        "families": designation["decision"].get("families", []) if designation else [],
        "states": STATES,
        "outcomes": OUTCOMES,
    }


@router.get("/models")
def models(request: Request) -> Response:
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    runtime = web_state(request).runtime
    rows = queries.engagements(runtime.db, viewer=viewer)
    return render(
        request,
        "models.html.j2",
        active="models",
        engagements=rows,
        outcomes=OUTCOMES,
        voluntary=framework.NOT_A_LICENSE,
    )


@router.get("/engagements/{engagement_id}")
def engagement(request: Request, engagement_id: int) -> Response:
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.READ)
    runtime = web_state(request).runtime
    doc = designation_flow.show_engagement(runtime, viewer=viewer, engagement_id=engagement_id)
    return render(request, "engagement.html.j2", active="models", **_context(viewer, doc))


@router.post("/engagements/{engagement_id}/partners/{organization:path}/approve")
def approve_partner(request: Request, engagement_id: int, organization: str) -> Response:
    """This side's approval; admitted (with an expiring early-access grant) once both sides
    have approved. htmx gets the partner's row back (and the grants, out of band)."""
    viewer = signed_in(request).viewer
    require(role=viewer.role, kind=viewer.kind, action=Action.SUBMIT)
    runtime = web_state(request).runtime
    designation_flow.decide_partner(
        runtime,
        viewer=viewer,
        engagement_id=engagement_id,
        organization=organization,
        approve=True,
    )
    if not is_htmx(request):
        return RedirectResponse(f"/engagements/{engagement_id}#partners", status_code=303)
    doc = designation_flow.show_engagement(runtime, viewer=viewer, engagement_id=engagement_id)
    partner = next(p for p in doc["partners"] if p["organization"] == organization)
    return render(
        request,
        "_partner_row.html.j2",
        partner=partner,
        oob_grants=True,
        path_part=path_part,
        **_context(viewer, doc),
    )
