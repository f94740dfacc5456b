"""The ``/api/v1`` routes of scan coordination: scope claims and proofs, owner policy and the
kill switch, authorizations, campaigns, the rate-limited source lookup, allow-list exports,
and open-source leases.

Thin: authenticate, validate the body (extra fields refused, lengths bounded), call
``pipeline.scan_flow`` as the CLI does, render. The caller acts for its own organization.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clearinghouse.access.roles import Action
from clearinghouse.access.visibility import Viewer
from clearinghouse.api import problems
from clearinghouse.api.deps import RowId, RuntimeDep, ViewerDep, allowed, refuse_nul
from clearinghouse.core.errors import InputError, RateLimitedError
from clearinghouse.pipeline import scan_flow

router = APIRouter(
    prefix="/api/v1", responses=problems.RESPONSES, dependencies=[Depends(refuse_nul)]
)

Entry = Annotated[str, Field(min_length=1, max_length=300)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimBody(_Body):
    networks: list[Entry] = Field(default_factory=list, max_length=200)
    hostnames: list[Entry] = Field(default_factory=list, max_length=200)
    code: list[Entry] = Field(default_factory=list, max_length=200)
    domain: str = Field(min_length=1, max_length=253)
    fragile: bool = False


class VerifyBody(_Body):
    method: Literal["dns", "http"]


class PolicyBody(_Body):
    timezone: str | None = Field(default=None, max_length=64)
    rate_cap_pps: int | None = Field(default=None, ge=1, le=10_000_000)
    exclusive: bool | None = None


class KillSwitchBody(_Body):
    on: bool


class AuthorizationBody(_Body):
    scanner: str = Field(min_length=1, max_length=200)
    ranges: list[Entry] = Field(default_factory=list, max_length=200)
    hostnames: list[Entry] = Field(default_factory=list, max_length=200)
    windows: str = Field(min_length=1, max_length=500)
    techniques: list[
        Literal["passive", "discovery", "vulnerability-scan", "exploit-validation", "ai-agent"]
    ] = Field(min_length=1, max_length=5)
    max_rate_pps: int = Field(ge=1, le=10_000_000)
    max_concurrency: int = Field(ge=1, le=10_000)
    expires_at: AwareDatetime
    starts_at: AwareDatetime | None = None


class CampaignBody(_Body):
    targets: list[Entry] = Field(default_factory=list, max_length=200)
    hostnames: list[Entry] = Field(default_factory=list, max_length=200)
    sources: list[Entry] = Field(min_length=1, max_length=200)
    start: AwareDatetime
    end: AwareDatetime
    technique: Literal[
        "passive", "discovery", "vulnerability-scan", "exploit-validation", "ai-agent"
    ]
    rate_pps: int = Field(ge=1, le=10_000_000)
    concurrency: int = Field(default=1, ge=1, le=10_000)
    contact: str = Field(default="", max_length=500)


class CoverageBody(_Body):
    project: str = Field(min_length=1, max_length=500)
    commit: str = Field(min_length=7, max_length=64)
    technique: Literal[
        "passive", "discovery", "vulnerability-scan", "exploit-validation", "ai-agent"
    ]


def _own(viewer: Viewer) -> str:
    if viewer.organization_id is None:
        raise InputError("this token belongs to no organization")
    return viewer.organization


@router.post("/scope", status_code=201)
def claim(body: ClaimBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Claim scope for the caller's organization; the answer carries the ownership challenge."""
    allowed(viewer, Action.SUBMIT)
    return scan_flow.claim_scope(
        runtime,
        viewer=viewer,
        organization=_own(viewer),
        networks=body.networks,
        hostnames=body.hostnames,
        code=body.code,
        domain=body.domain,
        fragile=body.fragile,
    )


@router.post("/scope/verify")
def verify(body: VerifyBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Check the challenge in the claimed domain's DNS (TXT) or at its HTTPS well-known path."""
    allowed(viewer, Action.SUBMIT)
    return scan_flow.verify_scope(
        runtime, viewer=viewer, organization=_own(viewer), method=body.method
    )


@router.put("/scan-policy")
def policy(body: PolicyBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return scan_flow.set_policy(
        runtime,
        viewer=viewer,
        organization=_own(viewer),
        timezone=body.timezone,
        rate_cap_pps=body.rate_cap_pps,
        exclusive=body.exclusive,
    )


@router.post("/kill-switch")
def kill_switch(body: KillSwitchBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """Pause (or resume) every scan of the caller's assets at once."""
    allowed(viewer, Action.SUBMIT)
    return scan_flow.kill_switch(runtime, viewer=viewer, organization=_own(viewer), on=body.on)


@router.post("/authorizations", status_code=201)
def authorize(body: AuthorizationBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return scan_flow.authorize(
        runtime,
        viewer=viewer,
        owner=_own(viewer),
        scanner=body.scanner,
        ranges=body.ranges,
        hostnames=body.hostnames,
        windows=body.windows,
        techniques=body.techniques,
        max_rate_pps=body.max_rate_pps,
        max_concurrency=body.max_concurrency,
        expires_at=body.expires_at,
        starts_at=body.starts_at,
    )


@router.post("/authorizations/{authorization_id}/revoke")
def revoke(authorization_id: RowId, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return scan_flow.revoke(runtime, viewer=viewer, authorization_id=authorization_id)


@router.post("/campaigns", status_code=201)
def declare(body: CampaignBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    """A ticket, or 409 with every reason the campaign is refused."""
    allowed(viewer, Action.SUBMIT)
    return scan_flow.declare_campaign(
        runtime,
        viewer=viewer,
        scanner=_own(viewer),
        targets=body.targets,
        hostnames=body.hostnames,
        sources=body.sources,
        start=body.start,
        end=body.end,
        technique=body.technique,
        rate_pps=body.rate_pps,
        concurrency=body.concurrency,
        contact=body.contact,
    )


class _Buckets:
    """Per-token token buckets: ``rate`` lookups a second, bursts of ``burst``.

    ``now`` is a monotonic clock in seconds (injectable, so a test can show the bucket refill).
    A refusal says how long until one lookup is available again (``Retry-After``).
    """

    def __init__(
        self, rate: float, burst: int, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate, self._burst, self._now = rate, burst, now
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        now = self._now()
        with self._lock:
            tokens, last = self._state.get(key, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - last) * self._rate)
            if tokens < 1:
                self._state[key] = (tokens, now)
                raise RateLimitedError(
                    f"lookup: at most {self._rate:g} per second per token",
                    retry_after_s=(1 - tokens) / self._rate,
                )
            self._state[key] = (tokens - 1, now)


LOOKUPS = _Buckets(rate=10.0, burst=50)


@router.get("/deconfliction/lookup", responses=problems.RATE_LIMITED_RESPONSES)
def lookup(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    ip: Annotated[str, Query(min_length=2, max_length=64)],
    at: Annotated[AwareDatetime | None, Query()] = None,
) -> dict[str, Any]:
    """Was an authorized campaign scanning from ``ip`` at ``at`` (default now), whose, and how
    to reach them. Rate-limited per token; says nothing about any owner's scope."""
    allowed(viewer, Action.READ)
    LOOKUPS.take(viewer.label)
    return scan_flow.lookup(runtime, ip=ip, at=at, viewer=viewer)


@router.get(
    "/allowlist",
    responses={
        200: {
            "description": "The allowlist in the format asked for",
            "content": {
                "application/json": {},
                "text/csv": {"schema": {"type": "string"}},
                "application/stix+json": {"schema": {"type": "object"}},
            },
        }
    },
)
def allowlist(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    format: Annotated[Literal["csv", "json", "stix"], Query()] = "json",
) -> Response:
    """The campaigns authorized against the caller's assets, for its SIEM."""
    allowed(viewer, Action.READ)
    body = scan_flow.export_allowlist(runtime, viewer=viewer, organization=_own(viewer), fmt=format)
    media = {"csv": "text/csv", "json": "application/json", "stix": "application/stix+json"}
    return Response(content=body, media_type=media[format])


@router.post("/leases")
def leases(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    count: Annotated[int, Query(ge=1, le=100)] = 5,
) -> list[dict[str, Any]]:
    """Time-boxed leases on the most critical open-source projects no one else is scanning."""
    allowed(viewer, Action.SUBMIT)
    return scan_flow.next_targets(runtime, viewer=viewer, organization=_own(viewer), count=count)


@router.post("/coverage", status_code=201)
def coverage(body: CoverageBody, runtime: RuntimeDep, viewer: ViewerDep) -> dict[str, Any]:
    allowed(viewer, Action.SUBMIT)
    return scan_flow.complete_scan(
        runtime,
        viewer=viewer,
        organization=_own(viewer),
        project=body.project,
        commit=body.commit,
        technique=body.technique,
    )
