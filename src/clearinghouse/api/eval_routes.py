"""The ``/api/v1`` routes of frontier model assessment: suites (content only to their named
evaluators when confidential), runs and their statistics, transcripts, and the voluntary
framework (models, engagements, window, grants, trusted partners, designations).

Running a suite takes minutes to hours, so runs start from the CLI (``eval run``), as a job;
the API reads them. Thin: authenticate, validate, call the pipeline as the CLI does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clearinghouse.access.roles import Action
from clearinghouse.api import problems
from clearinghouse.api.deps import (
    MAX_ROW_ID,
    RowId,
    RowIdQuery,
    RuntimeDep,
    ViewerDep,
    allowed,
    refuse_nul,
)
from clearinghouse.pipeline import designation_flow, eval_flow

router = APIRouter(
    prefix="/api/v1", responses=problems.RESPONSES, dependencies=[Depends(refuse_nul)]
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=64)
    planned_release: AwareDatetime


class EngagementBody(_Body):
    model_id: int = Field(ge=1, le=MAX_ROW_ID)
    question: str = Field(default="", max_length=4000)


class WindowBody(_Body):
    opens_at: AwareDatetime


class GrantBody(_Body):
    organization: str = Field(min_length=1, max_length=200)
    expires_at: AwareDatetime | None = None


class PartnerBody(_Body):
    organization: str = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=4000)


class PartnerDecisionBody(_Body):
    approve: bool
    expires_at: AwareDatetime | None = None


class AccessBody(_Body):
    purpose: str = Field(min_length=1, max_length=500)


class SignOffBody(_Body):
    note: str = Field(default="", max_length=4000)


@router.get("/eval/suites")
def suites(runtime: RuntimeDep, viewer: ViewerDep) -> list[dict[str, Any]]:
    allowed(viewer, Action.READ)
    return eval_flow.list_suites(runtime, viewer=viewer)


@router.get("/eval/suites/{suite_id}")
def suite(suite_id: RowId, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return eval_flow.show_suite(runtime, viewer=viewer, ref=str(suite_id))


@router.get("/eval/suites/{suite_id}/tasks/{task_id}")
def task(suite_id: RowId, task_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return eval_flow.show_task(runtime, viewer=viewer, ref=str(suite_id), task_id=task_id)


@router.get("/eval/runs")
def runs(runtime: RuntimeDep, viewer: ViewerDep) -> list[dict[str, Any]]:
    allowed(viewer, Action.READ)
    return eval_flow.list_runs(runtime, viewer=viewer)


@router.get("/eval/runs/{run_id}")
def run_report(
    run_id: RowId, runtime: RuntimeDep, viewer: ViewerDep, reference: RowIdQuery = None
) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return eval_flow.report(runtime, viewer=viewer, run_id=run_id, reference_run=reference)


@router.get("/eval/runs/{run_id}/samples/{sample_id}/transcript")
def run_transcript(
    run_id: RowId, sample_id: RowId, runtime: RuntimeDep, viewer: ViewerDep
) -> list[Any]:
    allowed(viewer, Action.READ)
    return eval_flow.transcript(runtime, viewer=viewer, run_id=run_id, sample_id=sample_id)


@router.post("/models", status_code=201)
def register_model(body: ModelBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return designation_flow.register_model(
        runtime,
        viewer=viewer,
        name=body.name,
        version=body.version,
        planned_release=body.planned_release,
    )


@router.post("/engagements", status_code=201)
def open_engagement(body: EngagementBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return designation_flow.open_engagement(
        runtime, viewer=viewer, model_id=body.model_id, question=body.question
    )


@router.get("/engagements/{engagement_id}")
def engagement(engagement_id: RowId, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return designation_flow.show_engagement(runtime, viewer=viewer, engagement_id=engagement_id)


@router.post("/engagements/{engagement_id}/withdraw")
def withdraw(engagement_id: RowId, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return designation_flow.withdraw(runtime, viewer=viewer, engagement_id=engagement_id)


@router.put("/engagements/{engagement_id}/window")
def window(
    engagement_id: RowId, body: WindowBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return designation_flow.open_window(
        runtime, viewer=viewer, engagement_id=engagement_id, opens_at=body.opens_at
    )


@router.post("/engagements/{engagement_id}/grants", status_code=201)
def grant(
    engagement_id: RowId, body: GrantBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return designation_flow.grant_evaluator(
        runtime,
        viewer=viewer,
        engagement_id=engagement_id,
        organization=body.organization,
        expires_at=body.expires_at,
    )


@router.post("/engagements/{engagement_id}/access")
def access(
    engagement_id: RowId, body: AccessBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return designation_flow.record_access(
        runtime, viewer=viewer, engagement_id=engagement_id, purpose=body.purpose
    )


@router.post("/engagements/{engagement_id}/partners", status_code=201)
def nominate(
    engagement_id: RowId, body: PartnerBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return designation_flow.nominate(
        runtime,
        viewer=viewer,
        engagement_id=engagement_id,
        organization=body.organization,
        reason=body.reason,
    )


@router.post("/engagements/{engagement_id}/partners/{organization}")
def decide_partner(
    engagement_id: RowId,
    organization: str,
    body: PartnerDecisionBody,
    runtime: RuntimeDep,
    viewer: ViewerDep,
) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return designation_flow.decide_partner(
        runtime,
        viewer=viewer,
        engagement_id=engagement_id,
        organization=organization,
        approve=body.approve,
        expires_at=body.expires_at,
    )


@router.get("/designations/{designation_id}")
def designation(designation_id: RowId, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return designation_flow.show_designation(runtime, viewer=viewer, designation_id=designation_id)


@router.post("/designations/{designation_id}/sign-off")
def sign_off(
    designation_id: RowId, body: SignOffBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.TRIAGE)
    return designation_flow.sign_off(
        runtime, viewer=viewer, designation_id=designation_id, note=body.note
    )
