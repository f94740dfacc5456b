"""The voluntary framework against a real database: the 30-day window, grants that expire by
themselves, two-sided admission of trusted partners, withdrawal, and who may do what."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson
import pytest
from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit.models import AuditEvent
from clearinghouse.core.clock import FixedClock
from clearinghouse.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from clearinghouse.evaluation.models import Designation
from clearinghouse.pipeline import designation_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
RELEASE = NOW + dt.timedelta(days=20)


@dataclasses.dataclass
class World:
    rt: Runtime
    clock: FixedClock
    viewers: dict[str, Viewer]
    engagement: int


@pytest.fixture
def world(runtime: Runtime, make_org: OrgFactory) -> World:
    clock = FixedClock(NOW)
    rt = dataclasses.replace(runtime, clock=clock)
    orgs = {
        "dev": OrgKind.MODEL_DEVELOPER,
        "other-dev": OrgKind.MODEL_DEVELOPER,
        "agency": OrgKind.AGENCY,
        "cc": OrgKind.COORDINATOR,
        "vendor": OrgKind.VENDOR,
        "operator": OrgKind.OPERATOR,
    }
    viewers = {}
    for name, kind in orgs.items():
        make_org(name, kind=kind)
        with rt.db.session() as session:
            org = access_service.get_org_by_name_or_raise(session, name=name)
            viewers[name] = access_service.viewer_for_org(org, role=Role.ANALYST)
    model = designation_flow.register_model(
        rt, viewer=viewers["dev"], name="m", version="1", planned_release=RELEASE
    )
    engagement = designation_flow.open_engagement(rt, viewer=viewers["dev"], model_id=model["id"])
    return World(rt=rt, clock=clock, viewers=viewers, engagement=engagement["id"])


def _designate(world: World, outcome: str) -> None:
    with world.rt.db.session() as session:
        session.add(
            Designation(
                engagement_id=world.engagement,
                outcome=outcome,
                outcome_strict=outcome,
                outcome_precautionary=outcome,
                policy_name="test",
                policy_version="1",
                policy_hash="sha256:0",
                policy="{}",
                decision="{}",
                suite_hashes="[]",
                log_hashes="[]",
                run_ids="[]",
                status="final",
                decided_by="test",
                decided_at=NOW,
                signoffs="[]",
            )
        )


def test_the_window_opens_at_most_30_days_before_release_and_only_for_a_covered_model(
    world: World,
) -> None:
    dev = world.viewers["dev"]
    _designate(world, "not_covered")
    with pytest.raises(ConflictError, match="covered"):
        designation_flow.open_window(
            world.rt, viewer=dev, engagement_id=world.engagement, opens_at=NOW
        )
    _designate(world, "covered")
    with pytest.raises(ConflictError, match="more than 30 days"):
        designation_flow.open_window(
            world.rt,
            viewer=dev,
            engagement_id=world.engagement,
            opens_at=RELEASE - dt.timedelta(days=30, seconds=1),
        )
    with pytest.raises(PermissionDeniedError):  # the government does not open the window
        designation_flow.open_window(
            world.rt, viewer=world.viewers["agency"], engagement_id=world.engagement, opens_at=NOW
        )
    shown = designation_flow.open_window(
        world.rt,
        viewer=dev,
        engagement_id=world.engagement,
        opens_at=RELEASE - dt.timedelta(days=30),
    )
    assert shown["window"]["closes_at"] == RELEASE.isoformat()
    assert "neither licenses nor blocks" in shown["voluntary"]


def test_grants_expire_by_themselves_and_every_access_is_audited(world: World) -> None:
    _designate(world, "covered")
    dev, agency = world.viewers["dev"], world.viewers["agency"]
    designation_flow.open_window(world.rt, viewer=dev, engagement_id=world.engagement, opens_at=NOW)
    with pytest.raises(Exception, match="evaluator access is for government"):
        designation_flow.grant_evaluator(
            world.rt, viewer=dev, engagement_id=world.engagement, organization="vendor"
        )
    grant = designation_flow.grant_evaluator(
        world.rt,
        viewer=dev,
        engagement_id=world.engagement,
        organization="agency",
        expires_at=NOW + dt.timedelta(days=5),
    )
    assert grant["active"] is True
    used = designation_flow.record_access(
        world.rt, viewer=agency, engagement_id=world.engagement, purpose="red team"
    )
    assert used["granted"] is True
    world.clock.advance(dt.timedelta(days=5))
    with pytest.raises(PermissionDeniedError, match="no active access grant"):
        designation_flow.record_access(
            world.rt, viewer=agency, engagement_id=world.engagement, purpose="too late"
        )
    with world.rt.db.session() as session:
        actions = list(
            session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("access.%")))
        )
    assert actions == ["access.grant", "access.use", "access.refused"]
    with pytest.raises(ConflictError, match="after the window closes"):
        designation_flow.grant_evaluator(
            world.rt,
            viewer=dev,
            engagement_id=world.engagement,
            organization="cc",
            expires_at=RELEASE + dt.timedelta(days=1),
        )


def test_a_trusted_partner_is_admitted_only_when_both_sides_approve(world: World) -> None:
    _designate(world, "covered")
    dev, cc, vendor = world.viewers["dev"], world.viewers["cc"], world.viewers["vendor"]
    designation_flow.open_window(world.rt, viewer=dev, engagement_id=world.engagement, opens_at=NOW)
    nominated = designation_flow.nominate(
        world.rt, viewer=dev, engagement_id=world.engagement, organization="vendor"
    )
    assert nominated["status"] == "nominated"
    assert nominated["grant"] is None
    # the nominating side approving again changes nothing; the partner has no access yet
    again = designation_flow.decide_partner(
        world.rt, viewer=dev, engagement_id=world.engagement, organization="vendor", approve=True
    )
    assert again["status"] == "nominated"
    with pytest.raises(PermissionDeniedError, match="no active access grant"):
        designation_flow.record_access(
            world.rt, viewer=vendor, engagement_id=world.engagement, purpose="x"
        )
    with pytest.raises(NotFoundError):  # a third party cannot approve (or see) it
        designation_flow.decide_partner(
            world.rt,
            viewer=world.viewers["operator"],
            engagement_id=world.engagement,
            organization="vendor",
            approve=True,
        )
    admitted = designation_flow.decide_partner(
        world.rt, viewer=cc, engagement_id=world.engagement, organization="vendor", approve=True
    )
    assert admitted["status"] == "admitted"
    assert admitted["grant"] is not None
    assert designation_flow.record_access(
        world.rt, viewer=vendor, engagement_id=world.engagement, purpose="defensive testing"
    )["granted"]
    # a partner sees the engagement, but only its own grant and no partner list
    seen = designation_flow.show_engagement(world.rt, viewer=vendor, engagement_id=world.engagement)
    assert [g["organization"] for g in seen["grants"]] == ["vendor"]
    assert seen["partners"] == []

    designation_flow.nominate(
        world.rt, viewer=cc, engagement_id=world.engagement, organization="operator"
    )
    rejected = designation_flow.decide_partner(
        world.rt, viewer=dev, engagement_id=world.engagement, organization="operator", approve=False
    )
    assert rejected["status"] == "rejected"
    assert rejected["grant"] is None


def test_withdrawal_ends_every_grant_and_strangers_see_nothing(world: World) -> None:
    _designate(world, "covered")
    dev = world.viewers["dev"]
    designation_flow.open_window(world.rt, viewer=dev, engagement_id=world.engagement, opens_at=NOW)
    designation_flow.grant_evaluator(
        world.rt, viewer=dev, engagement_id=world.engagement, organization="agency"
    )
    for stranger in ("other-dev", "vendor", "operator"):
        with pytest.raises(NotFoundError):
            designation_flow.show_engagement(
                world.rt, viewer=world.viewers[stranger], engagement_id=world.engagement
            )
    with pytest.raises(PermissionDeniedError):
        designation_flow.withdraw(
            world.rt, viewer=world.viewers["agency"], engagement_id=world.engagement
        )
    shown = designation_flow.withdraw(world.rt, viewer=dev, engagement_id=world.engagement)
    assert shown["status"] == "withdrawn"
    assert [g["active"] for g in shown["grants"]] == [False]
    with pytest.raises(PermissionDeniedError):
        designation_flow.record_access(
            world.rt, viewer=world.viewers["agency"], engagement_id=world.engagement, purpose="x"
        )


def test_decisions_belong_to_the_government_and_need_a_second_reviewer(world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        designation_flow.decide(
            world.rt, viewer=world.viewers["dev"], engagement_id=world.engagement
        )
    with pytest.raises(ConflictError, match="no finished run"):
        designation_flow.decide(
            world.rt, viewer=world.viewers["agency"], engagement_id=world.engagement
        )
    _designate(world, "covered")
    with world.rt.db.session() as session:
        row = session.scalars(select(Designation)).one()
        row.decided_by = world.viewers["agency"].label
        designation_id = row.id
    with pytest.raises(ConflictError, match="someone other"):
        designation_flow.sign_off(
            world.rt, viewer=world.viewers["agency"], designation_id=designation_id
        )
    signed = designation_flow.sign_off(
        world.rt, viewer=world.viewers["cc"], designation_id=designation_id, note="ok"
    )
    assert signed["status"] == "final"
    assert [entry["reviewer"] for entry in signed["signoffs"]] == [world.viewers["cc"].label]
    assert orjson.loads(orjson.dumps(signed))["voluntary"]
