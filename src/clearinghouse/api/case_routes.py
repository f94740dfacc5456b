"""The ``/api/v1`` routes of coordinated disclosure (directory, cases, advisories,
notifications) and the public CSAF provider tree under ``/.well-known/csaf/``.

Thin: authenticate, validate the body (pydantic, extra fields refused, lengths bounded), call
the same ``pipeline`` functions as the CLI, render. Whether the caller may act is decided in the
pipeline (coordinator, participant, or 404), the one place that knows the case.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from clearinghouse.access.roles import Action
from clearinghouse.advisories.models import AdvisoryDocument
from clearinghouse.api import problems
from clearinghouse.api.deps import RowId, RuntimeDep, ViewerDep, allowed, refuse_nul
from clearinghouse.core.errors import InputError, NotFoundError, TooLargeError
from clearinghouse.pipeline import case_flow, publish_flow
from clearinghouse.pipeline.runtime import Runtime

router = APIRouter(
    prefix="/api/v1", responses=problems.RESPONSES, dependencies=[Depends(refuse_nul)]
)
public_router = APIRouter()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DirectoryBody(_Body):
    contacts: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=50
    )
    security_txt: str | None = Field(default=None, max_length=65_536)
    namespaces: list[Annotated[str, Field(min_length=5, max_length=300)]] = Field(
        default_factory=list, max_length=200
    )
    openpgp_key: str | None = Field(default=None, max_length=200_000)
    disclosure_days: int | None = Field(default=None, ge=1, le=3650)
    email: str | None = Field(default=None, max_length=254)
    webhook: str | None = Field(default=None, max_length=500)
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=128)


class OpenCaseBody(_Body):
    vulnerabilities: list[Annotated[str, Field(min_length=3, max_length=32)]] = Field(
        min_length=1, max_length=100
    )
    title: str | None = Field(default=None, min_length=1, max_length=500)
    vendors: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=500
    )
    allow_unvalidated: bool = False


class ParticipantBody(_Body):
    organization: str = Field(min_length=1, max_length=200)
    role: Literal["vendor", "reporter", "coordinator"] = "vendor"


class StatusBody(_Body):
    vulnerability: str = Field(min_length=3, max_length=32)
    status: Literal["unknown", "affected", "not_affected", "fixed", "no_response"]
    statement: str = Field(default="", max_length=5_000)
    product: str | None = Field(default=None, max_length=300)
    fixed_version: str | None = Field(default=None, min_length=1, max_length=100)
    vendor: str | None = Field(default=None, min_length=1, max_length=200)


class ApproveBody(_Body):
    vulnerability: str = Field(min_length=3, max_length=32)
    vendor: str = Field(min_length=1, max_length=200)


class DescribeBody(_Body):
    vulnerability: str = Field(min_length=3, max_length=32)
    cvss_v3: str | None = Field(default=None, max_length=200)
    cvss_v4: str | None = Field(default=None, max_length=300)
    cve: str | None = Field(default=None, max_length=32)
    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, min_length=1, max_length=20_000)


class EmbargoBody(_Body):
    action: Literal["agree", "extend", "accept", "lift", "break"]
    until: AwareDatetime | None = None
    reason: str = Field(default="", max_length=2_000)


class MessageBody(_Body):
    body: str = Field(min_length=1, max_length=20_000)
    thread: str = Field(default="case", min_length=1, max_length=300)
    to: str | None = Field(default=None, min_length=1, max_length=200)
    tlp: str = Field(default="AMBER", max_length=20)


class PublishBody(_Body):
    summary: str = Field(default="", max_length=5_000)


class ResponseBody(_Body):
    status: Literal["acknowledged", "remediated", "mitigated", "not_affected"]
    statement: str = Field(default="", max_length=5_000)


# --- directory ------------------------------------------------------------------------------


@router.put("/directory/{organization}")
def set_directory(
    organization: str, body: DirectoryBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    """Fill an organization's directory entry (its own, or any for coordinators)."""
    allowed(viewer, Action.SUBMIT)
    return case_flow.set_directory(
        runtime,
        viewer=viewer,
        organization=organization,
        contacts=body.contacts,
        security_txt=body.security_txt.encode() if body.security_txt is not None else None,
        namespaces=body.namespaces,
        openpgp_key=body.openpgp_key,
        disclosure_days=body.disclosure_days,
        email=body.email,
        webhook=body.webhook,
        webhook_secret=body.webhook_secret,
    )


@router.get("/directory/{organization}")
def show_directory(organization: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return case_flow.show_directory(runtime, viewer=viewer, organization=organization)


# --- cases ----------------------------------------------------------------------------------


@router.post("/cases", status_code=201)
def open_case(body: OpenCaseBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Open a case on validated vulnerabilities (coordinators)."""
    allowed(viewer, Action.READ)
    return case_flow.open_case(
        runtime,
        viewer=viewer,
        vuln_ids=body.vulnerabilities,
        title=body.title,
        vendors=body.vendors,
        allow_unvalidated=body.allow_unvalidated,
    )


@router.get("/cases")
def list_cases(runtime: RuntimeDep, viewer: ViewerDep) -> list[dict[str, Any]]:
    allowed(viewer, Action.READ)
    return case_flow.list_cases(runtime, viewer=viewer)


@router.get("/cases/{case_id}")
def show_case(case_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return case_flow.show_case(runtime, viewer=viewer, case_id=case_id)


@router.post("/cases/{case_id}/participants", status_code=201)
def add_participant(
    case_id: str, body: ParticipantBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return case_flow.add_participant(
        runtime, viewer=viewer, case_id=case_id, organization=body.organization, role=body.role
    )


@router.post("/cases/{case_id}/statuses")
def set_status(
    case_id: str, body: StatusBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    """A vendor states its status of a vulnerability (shown to others once approved)."""
    allowed(viewer, Action.SUBMIT)
    return case_flow.set_status(
        runtime,
        viewer=viewer,
        case_id=case_id,
        vuln_id=body.vulnerability,
        status=body.status,
        statement=body.statement,
        product=body.product,
        fixed_version=body.fixed_version,
        vendor=body.vendor,
    )


@router.post("/cases/{case_id}/statuses/approve")
def approve_status(
    case_id: str, body: ApproveBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return case_flow.approve_status(
        runtime, viewer=viewer, case_id=case_id, vuln_id=body.vulnerability, vendor=body.vendor
    )


@router.post("/cases/{case_id}/describe")
def describe(
    case_id: str, body: DescribeBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return case_flow.describe_vulnerability(
        runtime,
        viewer=viewer,
        case_id=case_id,
        vuln_id=body.vulnerability,
        cvss_v3=body.cvss_v3,
        cvss_v4=body.cvss_v4,
        cve=body.cve,
        title=body.title,
        description=body.description,
    )


@router.post("/cases/{case_id}/embargo")
def embargo(
    case_id: str, body: EmbargoBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    """Agree, extend, lift or break (coordinators); accept a date (participants)."""
    allowed(viewer, Action.SUBMIT)
    return case_flow.embargo_action(
        runtime,
        viewer=viewer,
        case_id=case_id,
        action=body.action,
        until=body.until,
        reason=body.reason,
    )


@router.get("/cases/{case_id}/messages")
def list_messages(case_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return case_flow.list_messages(runtime, viewer=viewer, case_id=case_id)


@router.post("/cases/{case_id}/messages", status_code=201)
def post_message(
    case_id: str, body: MessageBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return case_flow.post_message(
        runtime,
        viewer=viewer,
        case_id=case_id,
        body=body.body,
        thread=body.thread,
        to=body.to,
        tlp=body.tlp,
    )


@router.post(
    "/cases/{case_id}/patches",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/x-diff": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_patch(
    case_id: str,
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    vulnerability: Annotated[str, Query(min_length=3, max_length=32)],
    fixed_version: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> dict[str, Any]:
    """Upload a unified diff as the body; the sandbox judges it against the proofs."""
    from starlette.concurrency import run_in_threadpool

    from clearinghouse.validation.patching import MAX_DIFF_BYTES

    allowed(viewer, Action.SUBMIT)
    diff = bytearray()
    async for chunk in request.stream():
        diff.extend(chunk)
        if len(diff) > MAX_DIFF_BYTES:
            raise TooLargeError(f"body: a patch is at most {MAX_DIFF_BYTES} bytes")
    if not diff:
        raise InputError("body: the unified diff is empty")
    result: dict[str, Any] = await run_in_threadpool(
        lambda: case_flow.upload_patch(
            runtime,
            viewer=viewer,
            case_id=case_id,
            vuln_id=vulnerability,
            diff=bytes(diff),
            fixed_version=fixed_version,
        )
    )
    return result


@router.post("/cases/{case_id}/prenotify")
def prenotify(case_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Warn the exposed operators under embargo, as TLP:AMBER+STRICT (coordinators)."""
    allowed(viewer, Action.READ)
    return publish_flow.prenotify(runtime, viewer=viewer, case_id=case_id)


@router.get("/cases/{case_id}/rates")
def rates(case_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return publish_flow.response_rates(runtime, viewer=viewer, case_id=case_id)


@router.post("/cases/{case_id}/publish")
def publish(
    case_id: str, body: PublishBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    """Publish (or revise) the advisory; 409 while the embargo holds."""
    allowed(viewer, Action.READ)
    return publish_flow.publish(runtime, viewer=viewer, case_id=case_id, summary=body.summary)


# --- advisories, notifications --------------------------------------------------------------


@router.get("/advisories/{case_id}")
def advisory(
    case_id: str,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    version: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> list[dict[str, Any]]:
    """A published advisory's documents (404 before publication)."""
    allowed(viewer, Action.READ)
    return publish_flow.advisory_documents(runtime, case_id=case_id, version=version)


@router.get("/notifications")
def notifications(runtime: RuntimeDep, viewer: ViewerDep) -> list[dict[str, Any]]:
    """The caller's organization's notifications."""
    allowed(viewer, Action.READ)
    return publish_flow.list_notifications(runtime, viewer=viewer)


@router.post("/notifications/{notification_id}/response")
def respond(
    notification_id: RowId, body: ResponseBody, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return publish_flow.respond(
        runtime,
        viewer=viewer,
        notification_id=notification_id,
        response=body.status,
        statement=body.statement,
    )


# --- the public CSAF provider tree ----------------------------------------------------------

_TREE_LOCK = threading.Lock()
_TREE_CACHE: dict[tuple[str, int, int], dict[str, bytes]] = {}
_MEDIA = {
    ".json": "application/json",
    ".asc": "application/pgp-signature",
    ".sha256": "text/plain",
    ".sha512": "text/plain",
    ".txt": "text/plain",
    ".csv": "text/csv",
}


def _tree(runtime: Runtime) -> dict[str, bytes]:
    """The provider tree, rebuilt (and re-signed) only when a document was published."""
    with runtime.db.session() as session:
        count, last = session.execute(
            select(func.count(AdvisoryDocument.id), func.max(AdvisoryDocument.id))
        ).one()
    key = (runtime.db.url, int(count or 0), int(last or 0))
    with _TREE_LOCK:
        if key not in _TREE_CACHE:
            _TREE_CACHE.clear()
            _TREE_CACHE[key] = publish_flow.provider_tree(runtime)
        return _TREE_CACHE[key]


@public_router.get("/.well-known/csaf/{path:path}", include_in_schema=False)
def csaf_file(path: str, runtime: RuntimeDep) -> Response:
    """provider-metadata.json, the ROLIE feed, documents, hashes and signatures; public."""
    tree = _tree(runtime)
    body = tree.get(f".well-known/csaf/{path}")
    if body is None:
        raise NotFoundError(f"/.well-known/csaf/{path} does not exist")
    suffix = "." + path.rsplit(".", 1)[-1] if "." in path else ""
    return Response(content=body, media_type=_MEDIA.get(suffix, "application/octet-stream"))
