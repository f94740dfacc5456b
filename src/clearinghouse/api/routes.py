"""The ``/api/v1`` routes. Each one authenticates, checks the role, calls the pipeline.

Records a token may not see answer 404 whether they exist or not; role refusals answer 403.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import Action, OrgKind, Role, Sector
from clearinghouse.access.visibility import Viewer
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
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import (
    InputError,
    NotFoundError,
    PermissionDeniedError,
    TooLargeError,
    UnsupportedEncodingError,
)
from clearinghouse.core.ids import parse_vuln_id
from clearinghouse.core.tlp import Tlp
from clearinghouse.infra.blobs import iter_file
from clearinghouse.pipeline import admin_flow, intake_flow, read_flow, submit_flow, triage_flow
from clearinghouse.pipeline.runtime import Runtime

router = APIRouter(
    prefix="/api/v1", responses=problems.RESPONSES, dependencies=[Depends(refuse_nul)]
)

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_ID)]


class OrganizationIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    sector: Sector | None = None


class OrganizationOut(BaseModel):
    id: int
    name: str
    kind: str
    sector: str | None


class TokenIn(BaseModel):
    role: Role
    organization: str | None = Field(default=None, max_length=200)


class TokenOut(BaseModel):
    id: int
    organization: str
    role: str
    token: str


class GrantIn(BaseModel):
    organization: str = Field(min_length=1, max_length=200)


class MergeIn(BaseModel):
    other: str = Field(min_length=1, max_length=32)


class SplitIn(BaseModel):
    findings: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(
        min_length=1, max_length=10_000
    )


@router.get("/organizations", response_model=list[OrganizationOut])
def list_organizations(runtime: RuntimeDep, viewer: ViewerDep) -> list[OrganizationOut]:
    allowed(viewer, Action.READ)
    with runtime.db.session() as session:
        return [
            OrganizationOut(id=o.id, name=o.name, kind=o.kind, sector=o.sector)
            for o in access_service.list_orgs(session)
        ]


@router.post("/organizations", response_model=OrganizationOut, status_code=201)
def create_organization(
    body: OrganizationIn, runtime: RuntimeDep, viewer: ViewerDep
) -> OrganizationOut:
    allowed(viewer, Action.MANAGE_ORGS)
    doc = admin_flow.create_organization(
        runtime.db,
        viewer=viewer,
        name=body.name,
        kind=body.kind,
        sector=body.sector,
        clock=runtime.clock,
    )
    return OrganizationOut(**doc)


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenIn, runtime: RuntimeDep, viewer: ViewerDep) -> TokenOut:
    allowed(viewer, Action.MANAGE_TOKENS)
    name = body.organization or viewer.organization
    if name != viewer.organization and viewer.kind is not OrgKind.COORDINATOR:
        raise PermissionDeniedError("admins create tokens for their own organization only")
    doc = admin_flow.create_token(
        runtime.db, viewer=viewer, organization=name, role=body.role, clock=runtime.clock
    )
    return TokenOut(**doc)


def raw_body(*media_types: str) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads its raw body itself (FastAPI cannot see it), so
    that the document says a body is expected, and which errors reading it may answer."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": dict.fromkeys(media_types, binary)}}


def _spool_limit_error(limit: int) -> TooLargeError:
    return TooLargeError(f"upload: more than {limit} bytes (the configured limit)")


async def spool(request: Request, limit: int) -> Path:
    """Stream the body to a temporary file, refusing it as soon as it passes ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _spool_limit_error(limit)
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding not in ("", "identity"):
        # RFC 9110 section 15.5.16: an unsupported content coding is a 415. Compressed uploads
        # are refused rather than inflated, which keeps decompression bombs out entirely.
        raise UnsupportedEncodingError(
            f"Content-Encoding: {encoding!r} is not accepted; send the document uncompressed"
        )
    fd, name = tempfile.mkstemp(prefix="clearinghouse-upload-")
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _spool_limit_error(limit)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@router.post(
    "/submissions",
    status_code=201,
    responses=problems.RAW_BODY_RESPONSES,
    openapi_extra=raw_body("application/octet-stream"),
)
async def create_submission(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    format: Annotated[str, Query(max_length=16)] = "auto",
    target: Annotated[str | None, Query(max_length=2000)] = None,
    tlp: Annotated[str | None, Query(max_length=16)] = None,
    share_with: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Upload one document (the raw bytes as the body): SARIF, OSV, CVE 5, CSAF or native."""
    allowed(viewer, Action.SUBMIT)
    label = Tlp.parse(tlp) if tlp else None
    path = await spool(request, runtime.settings.max_upload_bytes)
    try:
        outcome, doc = await run_in_threadpool(
            _import, runtime, viewer, path, format, target, label, tuple(share_with or ())
        )
    finally:
        path.unlink(missing_ok=True)
    if outcome.already_imported:
        response.status_code = 200
    return doc


def _import(
    runtime: Runtime,
    viewer: Viewer,
    path: Path,
    format: str,
    target: str | None,
    tlp: Tlp | None,
    share_with: tuple[str, ...],
) -> tuple[intake_flow.ImportOutcome, dict[str, Any]]:
    return submit_flow.submit(
        runtime,
        intake_flow.ImportRequest(
            organization=viewer.organization,
            chunks=iter_file(path),
            format=format,
            target=target,
            tlp=tlp,
            share_with=share_with,
        ),
        viewer=viewer,
    )


@router.get("/submissions")
def list_submissions(
    runtime: RuntimeDep, viewer: ViewerDep, limit: Limit = 100, offset: Offset = 0
) -> list[dict[str, Any]]:
    allowed(viewer, Action.READ)
    return read_flow.list_submissions(
        runtime.db, viewer=viewer, clock=runtime.clock, limit=limit, offset=offset
    )


@router.get("/submissions/{submission_id}")
def get_submission(submission_id: RowId, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return read_flow.show_submission(
        runtime.db, viewer=viewer, clock=runtime.clock, submission_id=submission_id
    )


@router.post("/submissions/{submission_id}/grants", status_code=201)
def grant_submission(
    submission_id: RowId, body: GrantIn, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, Any]:
    """The submitting organization lets one more organization see a restricted submission."""
    allowed(viewer, Action.TRIAGE)
    return admin_flow.share_submission(
        runtime.db,
        viewer=viewer,
        submission_id=submission_id,
        organization=body.organization,
        clock=runtime.clock,
    )


@router.get("/findings")
def list_findings(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    submission: RowIdQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    allowed(viewer, Action.READ)
    return read_flow.list_findings(
        runtime.db,
        viewer=viewer,
        clock=runtime.clock,
        submission_id=submission,
        limit=limit,
        offset=offset,
    )


@router.get("/findings/{finding_id}")
def get_finding(finding_id: RowId, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    return read_flow.show_finding(
        runtime.db, viewer=viewer, clock=runtime.clock, finding_id=finding_id
    )


@router.get("/vulns")
def list_vulns(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    allowed(viewer, Action.READ)
    return read_flow.list_vulns(
        runtime.db, viewer=viewer, clock=runtime.clock, search=q, limit=limit, offset=offset
    )


@router.get("/vulns/{vuln_id}")
def get_vuln(vuln_id: str, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.READ)
    try:
        return read_flow.show_vuln(
            runtime.db, viewer=viewer, clock=runtime.clock, public_id=vuln_id
        )
    except InputError:  # a malformed id names nothing that exists
        raise NotFoundError(f"vulnerability {vuln_id} does not exist") from None


@router.post("/vulns/{vuln_id}/merge")
def merge_vulns(
    vuln_id: str, body: MergeIn, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, object]:
    for value in (vuln_id, body.other):
        _existing_id(value)
    return triage_flow.merge(
        runtime.db, viewer=viewer, into=vuln_id, other=body.other, clock=runtime.clock
    )


def _existing_id(value: str) -> None:
    """A malformed id names nothing that exists: 404, as for GET."""
    try:
        parse_vuln_id(value)
    except InputError:
        raise NotFoundError(f"vulnerability {value} does not exist") from None


@router.post("/vulns/{vuln_id}/split", status_code=201)
def split_vuln(
    vuln_id: str, body: SplitIn, runtime: RuntimeDep, viewer: ViewerDep
) -> dict[str, object]:
    _existing_id(vuln_id)
    return triage_flow.split(
        runtime.db,
        viewer=viewer,
        public_id=vuln_id,
        finding_ids=body.findings,
        clock=runtime.clock,
    )


@router.get("/audit/verify")
def verify_audit(runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.VERIFY_AUDIT)
    with runtime.db.session() as session:
        verdict = audit_service.verify_chain(session)
    doc: dict[str, Any] = {"ok": verdict.ok, "events": verdict.events}
    if not verdict.ok:
        doc.update({"first_bad_event": verdict.first_bad_seq, "reason": verdict.reason})
    return doc
