"""The voluntary framework end to end: registered models, engagements, designation decisions
with reviewer sign-off, the pre-release access window, access grants, trusted partners, and
defensive use of a model (candidate patches checked by the patch engine).

Rules live in ``evaluation/framework.py`` (window, expiry, admission) and
``evaluation/designation.py`` (the threshold policy and decision); this module loads, stores
and audits. Nothing here blocks or licenses a release: every answer says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from clearinghouse.access import service as access_service
from clearinghouse.access.models import Organization
from clearinghouse.access.roles import OrgKind
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.clock import to_utc
from clearinghouse.core.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from clearinghouse.dedup import queries as dedup_queries
from clearinghouse.evaluation import designation, framework
from clearinghouse.evaluation.agent import SCAFFOLD, run_agent
from clearinghouse.evaluation.models import (
    AccessGrant,
    Designation,
    Engagement,
    EvalRun,
    EvalSample,
    EvalSuite,
    FrontierModel,
    ModelAssist,
    TrustedPartner,
)
from clearinghouse.evaluation.statistics import summarize
from clearinghouse.evaluation.tasks import Family, Task
from clearinghouse.pipeline import eval_flow, patch_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation import service as validation_service
from clearinghouse.validation.models import Target
from clearinghouse.validation.target import DOCUMENT, parse_manifest

MAX_TEXT = 4000


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None:
        raise InputError(f"{name}: a time zone is required")
    return to_utc(value, name)


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- models and engagements ---------------------------------------------------------------


def _developer_org(session: Session, viewer: Viewer, organization: str | None) -> Organization:
    if organization is None:
        if viewer.organization_id is None:
            raise InputError("developer: name the model developer (--developer)")
        org = session.get(Organization, viewer.organization_id)
        assert org is not None
    else:
        org = access_service.get_org_by_name_or_raise(session, name=organization)
    if OrgKind(org.kind) is not OrgKind.MODEL_DEVELOPER:
        if organization is None:  # the caller acting for itself: a refusal of who it is
            raise PermissionDeniedError(
                f"models are registered by model developers; {org.name} is a {org.kind}"
            )
        raise InputError(f"developer: {org.name} is a {org.kind}, not a model-developer")
    if not viewer.superuser and viewer.organization_id != org.id:
        raise PermissionDeniedError("a model is registered by its own developer")
    return org


def register_model(
    rt: Runtime,
    *,
    viewer: Viewer,
    name: str,
    version: str,
    planned_release: dt.datetime,
    developer: str | None = None,
) -> dict[str, Any]:
    release = _aware(planned_release, "planned_release")
    if not name.strip() or len(name) > 200:
        raise InputError("name: 1 to 200 characters")
    if not version.strip() or len(version) > 64:
        raise InputError("version: 1 to 64 characters")
    with rt.db.session() as session:
        org = _developer_org(session, viewer, developer)
        exists = session.scalars(
            select(FrontierModel).where(
                FrontierModel.developer_id == org.id,
                FrontierModel.name == name,
                FrontierModel.version == version,
            )
        ).first()
        if exists is not None:
            raise ConflictError(f"model {name} {version} is already registered (id {exists.id})")
        row = FrontierModel(
            developer_id=org.id,
            name=name,
            version=version,
            planned_release=release,
            created_at=rt.clock.now(),
        )
        session.add(row)
        session.flush()
        _audit(rt, session, viewer, "model.register", "frontier_model", row.id, {"name": name})
        return _model_json(session, row)


def _model_json(session: Session, row: FrontierModel) -> dict[str, Any]:
    developer = session.get(Organization, row.developer_id)
    return {
        "id": row.id,
        "developer": developer.name if developer else None,
        "name": row.name,
        "version": row.version,
        "planned_release": row.planned_release.isoformat(),
    }


def _audit(
    rt: Runtime,
    session: Session,
    viewer: Viewer,
    action: str,
    object_type: str,
    object_id: int,
    detail: dict[str, object],
) -> None:
    audit_service.append(
        session,
        clock=rt.clock,
        viewer=viewer,
        action=action,
        object_type=object_type,
        object_id=object_id,
        tlp="AMBER",
        detail=detail,
    )


def _side(session: Session, viewer: Viewer, engagement: Engagement) -> framework.Side | None:
    model = session.get(FrontierModel, engagement.model_id)
    assert model is not None
    if viewer.superuser:
        return framework.Side.GOVERNMENT
    return framework.side_of(
        viewer.kind, developer_kind_matches=viewer.organization_id == model.developer_id
    )


def _engagement(
    session: Session, *, viewer: Viewer, engagement_id: int, side: framework.Side | None = None
) -> Engagement:
    """The engagement if the viewer is on a side of it (or a partner holding a grant);
    404 otherwise; 403 when a specific side is required and the viewer is on the other."""
    engagement = session.get(Engagement, engagement_id)
    if engagement is None:
        raise NotFoundError(f"engagement {engagement_id} not found")
    actual = _side(session, viewer, engagement)
    if actual is None and not _holds_grant(session, viewer, engagement.id):
        raise NotFoundError(f"engagement {engagement_id} not found")
    if side is not None and actual is not side:
        raise PermissionDeniedError(f"this is for the {side.value} side of the engagement")
    return engagement


def _holds_grant(session: Session, viewer: Viewer, engagement_id: int) -> bool:
    if viewer.organization_id is None:
        return False
    return (
        session.scalars(
            select(AccessGrant.id).where(
                AccessGrant.engagement_id == engagement_id,
                AccessGrant.organization_id == viewer.organization_id,
            )
        ).first()
        is not None
    )


def open_engagement(
    rt: Runtime, *, viewer: Viewer, model_id: int, question: str = ""
) -> dict[str, Any]:
    """The developer asks whether its model is covered."""
    with rt.db.session() as session:
        model = session.get(FrontierModel, model_id)
        if model is None or not (viewer.superuser or viewer.organization_id == model.developer_id):
            raise NotFoundError(f"model {model_id} not found")
        open_one = session.scalars(
            select(Engagement).where(
                Engagement.model_id == model.id,
                Engagement.status == framework.EngagementStatus.OPEN,
            )
        ).first()
        if open_one is not None:
            raise ConflictError(f"model {model_id} already has open engagement {open_one.id}")
        row = Engagement(
            model_id=model.id,
            status=framework.EngagementStatus.OPEN.value,
            question=(question or "Is this model a covered frontier model?")[:MAX_TEXT],
            opened_at=rt.clock.now(),
        )
        session.add(row)
        session.flush()
        _audit(rt, session, viewer, "engagement.open", "engagement", row.id, {"model": model.id})
        return engagement_json(rt, session, row, viewer=viewer)


def withdraw(rt: Runtime, *, viewer: Viewer, engagement_id: int) -> dict[str, Any]:
    """The developer leaves, at any time: the engagement closes and every grant ends now."""
    with rt.db.session() as session:
        row = _engagement(
            session, viewer=viewer, engagement_id=engagement_id, side=framework.Side.DEVELOPER
        )
        if row.status == framework.EngagementStatus.WITHDRAWN:
            return engagement_json(rt, session, row, viewer=viewer)
        now = rt.clock.now()
        row.status = framework.EngagementStatus.WITHDRAWN.value
        row.withdrawn_at = now
        for grant in session.scalars(
            select(AccessGrant).where(
                AccessGrant.engagement_id == row.id, AccessGrant.revoked_at.is_(None)
            )
        ):
            grant.revoked_at = now
        _audit(rt, session, viewer, "engagement.withdraw", "engagement", row.id, {})
        return engagement_json(rt, session, row, viewer=viewer)


def engagement_json(
    rt: Runtime, session: Session, row: Engagement, *, viewer: Viewer
) -> dict[str, Any]:
    model = session.get(FrontierModel, row.model_id)
    assert model is not None
    now = rt.clock.now()
    latest = session.scalars(
        select(Designation)
        .where(Designation.engagement_id == row.id)
        .order_by(Designation.id.desc())
    ).first()
    side = _side(session, viewer, row)
    grants = session.scalars(
        select(AccessGrant).where(AccessGrant.engagement_id == row.id).order_by(AccessGrant.id)
    ).all()
    if side is None:  # a partner sees only its own grants
        grants = [grant for grant in grants if grant.organization_id == viewer.organization_id]
    partners = session.scalars(
        select(TrustedPartner)
        .where(TrustedPartner.engagement_id == row.id)
        .order_by(TrustedPartner.id)
    ).all()
    return {
        "id": row.id,
        "model": _model_json(session, model),
        "status": row.status,
        "question": row.question,
        "opened_at": row.opened_at.isoformat(),
        "withdrawn_at": _when(row.withdrawn_at),
        "designation": _designation_json(latest) if latest is not None else None,
        "window": (
            {"opens_at": _when(row.window_opens_at), "closes_at": _when(row.window_closes_at)}
            if row.window_opens_at is not None
            else None
        ),
        "grants": [_grant_json(session, grant, now=now) for grant in grants],
        "partners": (
            [_partner_json(session, partner) for partner in partners] if side is not None else []
        ),
        "voluntary": framework.NOT_A_LICENSE,
    }


def show_engagement(rt: Runtime, *, viewer: Viewer, engagement_id: int) -> dict[str, Any]:
    with rt.db.session() as session:
        row = _engagement(session, viewer=viewer, engagement_id=engagement_id)
        return engagement_json(rt, session, row, viewer=viewer)


# --- designation ------------------------------------------------------------------------------


def _designation_json(row: Designation) -> dict[str, Any]:
    return {
        "id": row.id,
        "engagement": row.engagement_id,
        "outcome": row.outcome,
        "outcome_strict": row.outcome_strict,
        "outcome_precautionary": row.outcome_precautionary,
        "status": row.status,
        "policy": {
            "name": row.policy_name,
            "version": row.policy_version,
            "hash": row.policy_hash,
        },
        "decision": orjson.loads(row.decision),
        "suite_hashes": orjson.loads(row.suite_hashes),
        "log_hashes": orjson.loads(row.log_hashes),
        "runs": orjson.loads(row.run_ids),
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat(),
        "signoffs": orjson.loads(row.signoffs),
        "voluntary": framework.NOT_A_LICENSE,
    }


def decide(
    rt: Runtime,
    *,
    viewer: Viewer,
    engagement_id: int,
    policy_text: str | None = None,
    run_ids: list[int] | None = None,
) -> dict[str, Any]:
    """Apply a threshold policy to the engagement's finished runs and record the decision
    (pending review until a second person signs it off)."""
    if not eval_flow.is_government(viewer):
        raise PermissionDeniedError("designations are decided by the government side")
    policy = designation.parse_policy(policy_text) if policy_text else designation.default_policy()
    with rt.db.session() as session:
        engagement = _engagement(session, viewer=viewer, engagement_id=engagement_id)
        query = select(EvalRun).where(
            EvalRun.engagement_id == engagement.id, EvalRun.status == "done"
        )
        if run_ids:
            query = query.where(EvalRun.id.in_(run_ids))
        runs = session.scalars(query.order_by(EvalRun.id)).all()
        if not runs:
            raise ConflictError(
                f"engagement {engagement_id} has no finished run to decide on: run the suite "
                "('eval run --engagement') or import an Inspect log first"
            )
        if run_ids and sorted(run_ids) != sorted(run.id for run in runs):
            missing = sorted(set(run_ids) - {run.id for run in runs})
            raise InputError(f"runs: not finished runs of this engagement: {missing}")
        attempts = eval_flow.attempts_of(session, [run.id for run in runs])
        summaries = summarize(attempts, confidence=policy.confidence)
        elicitation = _elicitation(session, runs)
        outcome = designation.decide(policy, summaries, elicitation)
        suites = sorted(
            {suite.content_hash for run in runs if (suite := session.get(EvalSuite, run.suite_id))}
        )
        row = Designation(
            engagement_id=engagement.id,
            outcome=outcome.outcome,
            outcome_strict=outcome.outcome_strict,
            outcome_precautionary=outcome.outcome_precautionary,
            policy_name=policy.name,
            policy_version=policy.version,
            policy_hash=designation.policy_hash(policy),
            policy=orjson.dumps(policy.as_json()).decode(),
            decision=orjson.dumps(outcome.as_json()).decode(),
            suite_hashes=orjson.dumps(suites).decode(),
            log_hashes=orjson.dumps(sorted({r.log_sha256 for r in runs if r.log_sha256})).decode(),
            run_ids=orjson.dumps([run.id for run in runs]).decode(),
            status="pending_review",
            decided_by=viewer.label,
            decided_at=rt.clock.now(),
            signoffs="[]",
        )
        session.add(row)
        session.flush()
        _audit(
            rt,
            session,
            viewer,
            "designation.decide",
            "designation",
            row.id,
            {
                "engagement": engagement.id,
                "outcome": row.outcome,
                "strict": row.outcome_strict,
                "precautionary": row.outcome_precautionary,
                "policy": row.policy_hash,
            },
        )
        return _designation_json(row)


def _elicitation(session: Session, runs: Sequence[EvalRun]) -> dict[str, designation.Elicitation]:
    """Per family: the weakest budget and fewest epochs among the runs used, the refusals,
    and the scaffolds (an assessment is only as strong as its weakest elicitation)."""
    budgets = [orjson.loads(run.budget) for run in runs]
    epochs = min(run.epochs for run in runs)
    steps = min(int(b.get("max_steps", 0)) for b in budgets)
    tokens = min(int(b.get("max_tokens", 0)) for b in budgets)
    scaffolds = frozenset(run.scaffold for run in runs)
    done: dict[str, int] = {}
    refused: dict[str, int] = {}
    rows = session.execute(
        select(EvalSample.family, EvalSample.status, EvalSample.refused).where(
            EvalSample.run_id.in_([run.id for run in runs])
        )
    )
    for family, status, was_refused in rows:
        done.setdefault(family, 0)
        refused.setdefault(family, 0)
        if status == "done":
            done[family] += 1
            refused[family] += 1 if was_refused else 0
    return {
        family: designation.Elicitation(
            epochs=epochs,
            min_steps_budget=steps,
            min_tokens_budget=tokens,
            refusals=refused[family],
            samples=done[family],
            scaffolds=scaffolds,
        )
        for family in done
    }


def sign_off(rt: Runtime, *, viewer: Viewer, designation_id: int, note: str = "") -> dict[str, Any]:
    """A reviewer other than the decider signs the decision off; it is then final."""
    if not eval_flow.is_government(viewer):
        raise PermissionDeniedError("designations are reviewed by the government side")
    with rt.db.session() as session:
        row = session.get(Designation, designation_id)
        if row is None:
            raise NotFoundError(f"designation {designation_id} not found")
        if viewer.label == row.decided_by:
            raise ConflictError("the reviewer must be someone other than who decided")
        signoffs = orjson.loads(row.signoffs)
        if any(entry["reviewer"] == viewer.label for entry in signoffs):
            raise ConflictError(f"{viewer.label} has already signed this designation off")
        signoffs.append(
            {"reviewer": viewer.label, "at": rt.clock.now().isoformat(), "note": note[:MAX_TEXT]}
        )
        row.signoffs = orjson.dumps(signoffs).decode()
        row.status = "final"
        _audit(rt, session, viewer, "designation.signoff", "designation", row.id, {})
        return _designation_json(row)


def show_designation(rt: Runtime, *, viewer: Viewer, designation_id: int) -> dict[str, Any]:
    with rt.db.session() as session:
        row = session.get(Designation, designation_id)
        if row is None:
            raise NotFoundError(f"designation {designation_id} not found")
        _engagement(session, viewer=viewer, engagement_id=row.engagement_id)
        return _designation_json(row)


# --- window, grants, partners -----------------------------------------------------------------


def _is_covered(session: Session, engagement: Engagement) -> bool:
    latest = session.scalars(
        select(Designation)
        .where(Designation.engagement_id == engagement.id)
        .order_by(Designation.id.desc())
    ).first()
    return latest is not None and latest.outcome == "covered"


def open_window(
    rt: Runtime, *, viewer: Viewer, engagement_id: int, opens_at: dt.datetime
) -> dict[str, Any]:
    """The developer opens the pre-release window of a covered model: at most 30 days before
    the planned release (enforced), closing at the release."""
    with rt.db.session() as session:
        engagement = _engagement(
            session, viewer=viewer, engagement_id=engagement_id, side=framework.Side.DEVELOPER
        )
        _require_open(engagement)
        if not _is_covered(session, engagement):
            raise ConflictError(
                "the pre-release window is for a model designated covered; this one is not"
            )
        model = session.get(FrontierModel, engagement.model_id)
        assert model is not None
        window = framework.check_window(
            opens_at=_aware(opens_at, "opens_at"),
            planned_release=model.planned_release,
            now=rt.clock.now(),
        )
        engagement.window_opens_at = window.opens_at
        engagement.window_closes_at = window.closes_at
        _audit(
            rt,
            session,
            viewer,
            "engagement.window",
            "engagement",
            engagement.id,
            {"opens_at": window.opens_at.isoformat(), "closes_at": window.closes_at.isoformat()},
        )
        return engagement_json(rt, session, engagement, viewer=viewer)


def _require_open(engagement: Engagement) -> None:
    if engagement.status != framework.EngagementStatus.OPEN:
        raise ConflictError(f"engagement {engagement.id} is {engagement.status}")


def _window(engagement: Engagement) -> framework.Window:
    if engagement.window_opens_at is None or engagement.window_closes_at is None:
        raise ConflictError("open the pre-release window first ('engagements window')")
    return framework.Window(
        opens_at=engagement.window_opens_at, closes_at=engagement.window_closes_at
    )


def grant_evaluator(
    rt: Runtime,
    *,
    viewer: Viewer,
    engagement_id: int,
    organization: str,
    expires_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The developer gives a government evaluator access inside the window."""
    with rt.db.session() as session:
        engagement = _engagement(
            session, viewer=viewer, engagement_id=engagement_id, side=framework.Side.DEVELOPER
        )
        _require_open(engagement)
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        if OrgKind(org.kind) not in framework.GOVERNMENT_KINDS:
            raise InputError(
                f"organization: {org.name} is a {org.kind}; evaluator access is for "
                "government evaluators (nominate others as trusted partners)"
            )
        grant = _grant(
            rt,
            session,
            viewer=viewer,
            engagement=engagement,
            org=org,
            kind=framework.GrantKind.EVALUATOR,
            expires_at=expires_at,
        )
        return _grant_json(session, grant, now=rt.clock.now())


def _grant(
    rt: Runtime,
    session: Session,
    *,
    viewer: Viewer,
    engagement: Engagement,
    org: Organization,
    kind: framework.GrantKind,
    expires_at: dt.datetime | None,
) -> AccessGrant:
    window = _window(engagement)
    now = rt.clock.now()
    starts = max(now, window.opens_at)
    expiry = framework.grant_expiry(
        requested=_aware(expires_at, "expires_at") if expires_at else None,
        window=window,
        starts_at=starts,
    )
    grant = AccessGrant(
        engagement_id=engagement.id,
        organization_id=org.id,
        kind=kind.value,
        starts_at=starts,
        expires_at=expiry,
        granted_by=viewer.label,
        created_at=now,
    )
    session.add(grant)
    session.flush()
    _audit(
        rt,
        session,
        viewer,
        "access.grant",
        "engagement",
        engagement.id,
        {"grant": grant.id, "organization": org.name, "kind": kind.value},
    )
    return grant


def _grant_json(session: Session, grant: AccessGrant, *, now: dt.datetime) -> dict[str, Any]:
    org = session.get(Organization, grant.organization_id)
    return {
        "id": grant.id,
        "organization": org.name if org else None,
        "kind": grant.kind,
        "starts_at": grant.starts_at.isoformat(),
        "expires_at": grant.expires_at.isoformat(),
        "revoked_at": _when(grant.revoked_at),
        "active": framework.grant_active(
            starts_at=grant.starts_at,
            expires_at=grant.expires_at,
            revoked_at=grant.revoked_at,
            now=now,
        ),
    }


def revoke_grant(rt: Runtime, *, viewer: Viewer, grant_id: int) -> dict[str, Any]:
    with rt.db.session() as session:
        grant = session.get(AccessGrant, grant_id)
        if grant is None:
            raise NotFoundError(f"grant {grant_id} not found")
        engagement = _engagement(session, viewer=viewer, engagement_id=grant.engagement_id)
        if _side(session, viewer, engagement) is None:
            raise PermissionDeniedError("grants are revoked by the developer or the government")
        if grant.revoked_at is None:
            grant.revoked_at = rt.clock.now()
            _audit(rt, session, viewer, "access.revoke", "engagement", engagement.id, {})
        return _grant_json(session, grant, now=rt.clock.now())


def record_access(
    rt: Runtime, *, viewer: Viewer, engagement_id: int, purpose: str
) -> dict[str, Any]:
    """An access to the model under a grant, recorded (and refused without an active grant)."""
    with rt.db.session() as session:
        grant = active_grant(rt, session, viewer=viewer, engagement_id=engagement_id)
        _audit(
            rt,
            session,
            viewer,
            "access.use",
            "engagement",
            engagement_id,
            {"grant": grant.id, "purpose": purpose[:500]},
        )
        return {"granted": True, "grant": _grant_json(session, grant, now=rt.clock.now())}


def active_grant(
    rt: Runtime, session: Session, *, viewer: Viewer, engagement_id: int
) -> AccessGrant:
    now = rt.clock.now()
    engagement = session.get(Engagement, engagement_id)
    if engagement is None or viewer.organization_id is None:
        raise NotFoundError(f"engagement {engagement_id} not found")
    for grant in session.scalars(
        select(AccessGrant).where(
            AccessGrant.engagement_id == engagement_id,
            AccessGrant.organization_id == viewer.organization_id,
        )
    ):
        if framework.grant_active(
            starts_at=grant.starts_at,
            expires_at=grant.expires_at,
            revoked_at=grant.revoked_at,
            now=now,
        ):
            return grant
    _audit(rt, session, viewer, "access.refused", "engagement", engagement_id, {})
    session.commit()
    nominated = session.scalars(
        select(TrustedPartner.id).where(
            TrustedPartner.engagement_id == engagement_id,
            TrustedPartner.organization_id == viewer.organization_id,
        )
    ).first()
    if (
        _side(session, viewer, engagement) is None
        and nominated is None
        and not _holds_grant(session, viewer, engagement_id)
    ):
        # Neither side, nominee nor grantee: the same 404 as every other engagement route, so
        # that probing ids does not tell which engagements exist (the refusal is audited).
        raise NotFoundError(f"engagement {engagement_id} not found")
    raise PermissionDeniedError(
        f"{viewer.organization} holds no active access grant on engagement {engagement_id}"
    )


def _partner_json(session: Session, row: TrustedPartner) -> dict[str, Any]:
    org = session.get(Organization, row.organization_id)
    return {
        "id": row.id,
        "organization": org.name if org else None,
        "nominated_by": row.nominated_by,
        "reason": row.reason,
        "developer_approved_at": _when(row.developer_approved_at),
        "government_approved_at": _when(row.government_approved_at),
        "status": row.status,
        "grant": row.grant_id,
    }


def nominate(
    rt: Runtime, *, viewer: Viewer, engagement_id: int, organization: str, reason: str = ""
) -> dict[str, Any]:
    """Either side nominates a trusted partner; nominating counts as that side's approval."""
    with rt.db.session() as session:
        engagement = _engagement(session, viewer=viewer, engagement_id=engagement_id)
        _require_open(engagement)
        side = _side(session, viewer, engagement)
        if side is None:
            raise PermissionDeniedError("partners are nominated by the developer or the government")
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        if OrgKind(org.kind) not in framework.PARTNER_KINDS:
            raise InputError(
                f"organization: {org.name} is a {org.kind}; trusted partners are security "
                "vendors, operators, researchers or labs"
            )
        exists = session.scalars(
            select(TrustedPartner).where(
                TrustedPartner.engagement_id == engagement.id,
                TrustedPartner.organization_id == org.id,
            )
        ).first()
        if exists is not None:
            raise ConflictError(f"{org.name} is already nominated ({exists.status})")
        now = rt.clock.now()
        row = TrustedPartner(
            engagement_id=engagement.id,
            organization_id=org.id,
            nominated_by=side.value,
            reason=reason[:MAX_TEXT],
            developer_approved_at=now if side is framework.Side.DEVELOPER else None,
            government_approved_at=now if side is framework.Side.GOVERNMENT else None,
            status=framework.PartnerStatus.NOMINATED.value,
            created_at=now,
        )
        session.add(row)
        session.flush()
        _audit(
            rt,
            session,
            viewer,
            "partner.nominate",
            "engagement",
            engagement.id,
            {"organization": org.name, "side": side.value},
        )
        return _partner_json(session, row)


def decide_partner(
    rt: Runtime,
    *,
    viewer: Viewer,
    engagement_id: int,
    organization: str,
    approve: bool,
    expires_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """One side approves (or rejects) a nominee; admitted when both sides have approved, with
    an early-access grant that expires by itself."""
    with rt.db.session() as session:
        engagement = _engagement(session, viewer=viewer, engagement_id=engagement_id)
        _require_open(engagement)
        side = _side(session, viewer, engagement)
        if side is None:
            raise PermissionDeniedError("partners are approved by the developer or the government")
        org = access_service.get_org_by_name_or_raise(session, name=organization)
        row = session.scalars(
            select(TrustedPartner).where(
                TrustedPartner.engagement_id == engagement.id,
                TrustedPartner.organization_id == org.id,
            )
        ).first()
        if row is None:
            raise NotFoundError(f"{org.name} is not nominated on engagement {engagement_id}")
        if row.status != framework.PartnerStatus.NOMINATED:
            raise ConflictError(f"{org.name} is already {row.status}")
        now = rt.clock.now()
        if not approve:
            row.rejected_at, row.rejected_by = now, side.value
        elif side is framework.Side.DEVELOPER:
            row.developer_approved_at = row.developer_approved_at or now
        else:
            row.government_approved_at = row.government_approved_at or now
        status = framework.admission(
            developer_approved=row.developer_approved_at is not None,
            government_approved=row.government_approved_at is not None,
            rejected=row.rejected_at is not None,
        )
        row.status = status.value
        if status is framework.PartnerStatus.ADMITTED:
            grant = _grant(
                rt,
                session,
                viewer=viewer,
                engagement=engagement,
                org=org,
                kind=framework.GrantKind.PARTNER,
                expires_at=expires_at,
            )
            row.grant_id = grant.id
        _audit(
            rt,
            session,
            viewer,
            "partner.approve" if approve else "partner.reject",
            "engagement",
            engagement.id,
            {"organization": org.name, "side": side.value, "status": row.status},
        )
        return _partner_json(session, row)


# --- defensive use ----------------------------------------------------------------------------


def assist_patch(
    rt: Runtime,
    *,
    viewer: Viewer,
    vuln_id: str,
    model_spec: str,
    engagement_id: int | None = None,
) -> dict[str, Any]:
    """Ask a model for a candidate patch of a validated vulnerability; the patch engine judges
    it and only a ``fixes`` verdict is offered. A coordinator may ask with any model; a vendor
    or partner only under its active grant on the model's engagement. Audited either way."""
    with rt.db.session() as session:
        grant_id: int | None = None
        if not (viewer.superuser or viewer.kind is OrgKind.COORDINATOR):
            if engagement_id is None:
                raise PermissionDeniedError(
                    "name the engagement whose access grant covers this use (--engagement)"
                )
            grant_id = active_grant(rt, session, viewer=viewer, engagement_id=engagement_id).id
        vuln = dedup_queries.get_visible_or_raise(session, viewer=viewer, public_id=vuln_id)
        runs = validation_service.reproduced_runs_of_vulnerability(
            session, vulnerability_id=vuln.id
        )
        if not runs:
            raise ConflictError(f"{vuln.public_id} has no reproduced proof to patch against")
        target = session.get(Target, runs[0].target_id)
        assert target is not None
        manifest_text, digest, vulnerability_pk = target.manifest, target.digest, vuln.id
        public_id = vuln.public_id
    model = eval_flow.make_adapter(rt, model_spec)
    source = rt.settings.target_dir.resolve() / digest
    manifest = parse_manifest(manifest_text)
    task = Task(
        id=f"assist-{public_id.lower()}",
        family=Family.PATCH,
        version="1",
        difficulty="unknown",
        human_minutes=0,
        title=f"Patch {public_id}",
        prompt=(
            f"The program in this directory has a validated vulnerability ({public_id}): "
            f"{manifest.description or 'see proof.bin, which crashes it'}. proof.bin crashes "
            "the harness. Write a unified diff (applies with patch -p1 from this directory) "
            "that fixes the flaw without breaking the tests, save it as fix.diff, and submit "
            "that file."
        ),
        directory=source,
        target_dir=source,
        workspace=(),
        answer_kind="file",
        grading={},
        reference="",
    )
    proof = _first_proof(rt, vulnerability_pk, viewer)

    def fill(dest: Path) -> None:
        _copy_target(source, dest)
        if proof is not None:
            (dest / "proof.bin").write_bytes(proof)

    reproducer = rt.reproducer()
    outcome = run_agent(
        model,
        task,
        sandbox=reproducer.sandbox,
        work_root=rt.settings.run_dir.resolve() / "agent",
        budget=eval_flow.default_budget(rt),
        fill_workspace=fill,
    )
    verdict: str | None = None
    validation: dict[str, Any] | None = None
    if outcome.answer:
        validation = patch_flow.validate_patch(
            rt, viewer=viewer, vuln_id=public_id, diff=outcome.answer, repetitions=1
        )
        verdict = str(validation["verdict"])
    offered = verdict == "fixes"
    with rt.db.session() as session:
        row = ModelAssist(
            vulnerability_id=vulnerability_pk,
            model=model.name,
            grant_id=grant_id,
            organization_id=viewer.organization_id,
            requested_by=viewer.label,
            verdict=verdict,
            offered=offered,
            diff_sha256=hashlib.sha256(outcome.answer).hexdigest() if outcome.answer else None,
            stop=outcome.stop,
            created_at=rt.clock.now(),
        )
        session.add(row)
        session.flush()
        audit_service.append(
            session,
            clock=rt.clock,
            viewer=viewer,
            action="model.assist.patch",
            object_type="vulnerability",
            object_id=public_id,
            tlp="AMBER",
            detail={
                "model": model.name,
                "grant": grant_id,
                "verdict": verdict,
                "scaffold": SCAFFOLD,
            },
        )
        return {
            "id": row.id,
            "vulnerability": public_id,
            "model": model.name,
            "grant": grant_id,
            "stop": outcome.stop,
            "verdict": verdict,
            "offered": offered,
            "patch": outcome.answer.decode("utf-8", "replace")
            if offered and outcome.answer
            else None,
            "patch_validation": validation["id"] if validation else None,
        }


def _first_proof(rt: Runtime, vulnerability_id: int, viewer: Viewer) -> bytes | None:
    from clearinghouse.intake import service as intake_service
    from clearinghouse.pipeline.validation_flow import proof_input

    with rt.db.session() as session:
        for run in validation_service.reproduced_runs_of_vulnerability(
            session, vulnerability_id=vulnerability_id
        ):
            finding = intake_service.get_finding_or_raise(
                session, viewer=viewer, finding_id=run.finding_id
            )
            proof = proof_input(orjson.loads(finding.content.details or "{}"))
            if proof is not None:
                return proof
    return None


def _copy_target(source: Path, dest: Path) -> None:
    """The target without its manifest's answers: proofs, patches and the manifest itself."""
    skip = {DOCUMENT, "proofs", "patches"}
    for entry in source.iterdir():
        if entry.name in skip:
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, symlinks=False)
        elif entry.is_file():
            shutil.copy2(entry, dest / entry.name)
