"""Scan coordination through the database: a hospital proves its scope by DNS, authorizes a
lab, tickets and refusals, the kill switch, the source lookup (which leaks no scope), the SIEM
allow-list, and open-source leases with coverage."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
import stix2

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.core.clock import FixedClock
from clearinghouse.core.errors import ConflictError, InputError, PermissionDeniedError
from clearinghouse.pipeline import scan_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory
from tests.integration.scans.test_challenge import DnsServer, dns_server  # noqa: F401

# A Monday, 23:00 UTC.
NOW = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def member(runtime: Runtime, org: str, role: Role = Role.ANALYST) -> Viewer:
    with runtime.db.session() as session:
        found = access_service.get_org_by_name_or_raise(session, name=org)
        return access_service.viewer_for_org(found, role=role)


@pytest.fixture
def hospital(
    runtime: Runtime,
    make_org: OrgFactory,
    dns_server: DnsServer,  # noqa: F811
) -> dict[str, Any]:
    runtime.clock = FixedClock(NOW)
    make_org("Valley Hospital", kind=OrgKind.OPERATOR, sector=Sector.HEALTHCARE)
    make_org("Lab Alpha", kind=OrgKind.AI_LAB)
    make_org("Lab Beta", kind=OrgKind.AI_LAB)
    make_org("First Bank", kind=OrgKind.OPERATOR, sector=Sector.FINANCE)
    hospital = member(runtime, "Valley Hospital")
    claimed = scan_flow.claim_scope(
        runtime,
        viewer=hospital,
        organization="Valley Hospital",
        networks=["203.0.113.0/24"],
        domain="valley-hospital.example",
    )
    txt = claimed["challenge"]
    dns_server.zone.records[txt["dns_name"]] = [[txt["dns_value"].encode()]]
    verified = scan_flow.verify_scope(
        runtime,
        viewer=hospital,
        organization="Valley Hospital",
        method="dns",
        nameservers=["127.0.0.1"],
        dns_port=dns_server.port,
    )
    assert verified["ok"] is True
    assert verified["verified"] == ["203.0.113.0/24"]
    scan_flow.set_policy(
        runtime,
        viewer=hospital,
        organization="Valley Hospital",
        timezone="America/Chicago",
        rate_cap_pps=100,
    )
    auth = scan_flow.authorize(
        runtime,
        viewer=hospital,
        owner="Valley Hospital",
        scanner="Lab Alpha",
        ranges=["203.0.113.0/25"],
        windows="mon-fri 17:00-23:00",
        techniques=["discovery", "vulnerability-scan"],
        max_rate_pps=80,
        max_concurrency=4,
        expires_at=NOW + 30 * 24 * HOUR,
    )
    scan_flow.authorize(
        runtime,
        viewer=hospital,
        owner="Valley Hospital",
        scanner="Lab Beta",
        ranges=["203.0.113.0/25"],
        windows="mon-fri 17:00-23:00",
        techniques=["vulnerability-scan"],
        max_rate_pps=80,
        max_concurrency=4,
        expires_at=NOW + 30 * 24 * HOUR,
    )
    return {"authorization": auth["id"]}


def campaign(runtime: Runtime, lab: str, **changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "targets": ["203.0.113.0/26"],
        "sources": ["198.51.100.7/32"],
        "start": NOW,  # 17:00 in Chicago
        "end": NOW + 2 * HOUR,
        "technique": "vulnerability-scan",
        "rate_pps": 60,
        "contact": f"soc@{lab.split()[-1].lower()}.example",
    } | changes
    return scan_flow.declare_campaign(runtime, viewer=member(runtime, lab), scanner=lab, **request)


def test_claims_are_refused_when_they_overlap_or_are_special(
    runtime: Runtime,
    hospital: dict[str, Any],
) -> None:
    bank = member(runtime, "First Bank")
    with pytest.raises(ConflictError, match=r"203\.0\.113\.128/25 overlaps 203\.0\.113\.0/24"):
        scan_flow.claim_scope(
            runtime,
            viewer=bank,
            organization="First Bank",
            networks=["203.0.113.128/25"],
            domain="firstbank.example",
        )
    with pytest.raises(InputError, match=r"10\.0\.0\.0/8"):
        scan_flow.claim_scope(
            runtime,
            viewer=bank,
            organization="First Bank",
            networks=["10.1.0.0/16"],
            domain="firstbank.example",
        )
    with pytest.raises(PermissionDeniedError):
        scan_flow.claim_scope(
            runtime,
            viewer=bank,
            organization="Valley Hospital",
            networks=["198.51.100.0/24"],
            domain="firstbank.example",
        )


def test_tickets_refusals_throttle_and_kill_switch(
    runtime: Runtime, hospital: dict[str, Any]
) -> None:
    first = campaign(runtime, "Lab Alpha")
    assert first["ticket"].startswith("SCAN-2026-")
    assert first["owners"] == ["Valley Hospital"]
    # Lab Beta's 60 pps on top of Lab Alpha's 60 pps exceeds the hospital's shared 100 pps.
    with pytest.raises(ConflictError, match="shared limit"):
        campaign(runtime, "Lab Beta", sources=["198.51.100.9/32"])
    beta = campaign(runtime, "Lab Beta", sources=["198.51.100.9/32"], rate_pps=40)
    assert beta["overlapping_campaigns"] == [first["ticket"]]
    # Beyond the authorized /25: the refusal names the addresses.
    with pytest.raises(ConflictError, match=r"203\.0\.113\.128/25"):
        campaign(runtime, "Lab Alpha", targets=["203.0.113.0/24"], rate_pps=1)
    # Outside the weekly window (Chicago 23:00 is past 23:00 end).
    with pytest.raises(ConflictError, match="window"):
        campaign(runtime, "Lab Alpha", start=NOW + 6 * HOUR, end=NOW + 7 * HOUR, rate_pps=1)
    with pytest.raises(ConflictError, match="technique"):
        campaign(runtime, "Lab Beta", technique="exploit-validation", rate_pps=1)
    # The lookup vouches for the source while the hospital lets scans run...
    seen = scan_flow.lookup(runtime, ip="198.51.100.7", at=NOW + HOUR)
    assert seen["authorized"] is True
    assert [c["ticket"] for c in seen["campaigns"]] == [first["ticket"]]
    assert seen["campaigns"][0]["contact"] == "soc@alpha.example"
    assert "203.0.113" not in orjson.dumps(seen).decode()  # no owner's scope leaks
    assert scan_flow.lookup(runtime, ip="198.51.100.8", at=NOW + HOUR)["authorized"] is False
    assert scan_flow.lookup(runtime, ip="198.51.100.7", at=NOW + 3 * HOUR)["authorized"] is False
    # ...and not after the kill switch, which also refuses new campaigns at once.
    assert isinstance(runtime.clock, FixedClock)
    runtime.clock.advance(dt.timedelta(minutes=30))
    paused = scan_flow.kill_switch(
        runtime, viewer=member(runtime, "Valley Hospital"), organization="Valley Hospital", on=True
    )
    assert paused["paused"] is True
    assert scan_flow.lookup(runtime, ip="198.51.100.7", at=NOW + HOUR)["authorized"] is False
    with pytest.raises(ConflictError, match="paus"):
        campaign(runtime, "Lab Alpha", start=NOW + HOUR, end=NOW + 2 * HOUR, rate_pps=1)


def test_revocation_is_immediate(runtime: Runtime, hospital: dict[str, Any]) -> None:
    first = campaign(runtime, "Lab Alpha")
    scan_flow.revoke(
        runtime,
        viewer=member(runtime, "Valley Hospital"),
        authorization_id=hospital["authorization"],
    )
    assert scan_flow.lookup(runtime, ip="198.51.100.7", at=NOW + HOUR)["authorized"] is False
    with pytest.raises(ConflictError):
        campaign(runtime, "Lab Alpha", rate_pps=1)
    assert first["ticket"]


def test_allowlist_exports_for_the_owner_only(runtime: Runtime, hospital: dict[str, Any]) -> None:
    first = campaign(runtime, "Lab Alpha")
    hospital_viewer = member(runtime, "Valley Hospital")
    csv = scan_flow.export_allowlist(
        runtime, viewer=hospital_viewer, organization="Valley Hospital", fmt="csv"
    ).decode()
    assert first["ticket"] in csv
    assert "198.51.100.7/32" in csv
    bundle = stix2.parse(
        scan_flow.export_allowlist(
            runtime, viewer=hospital_viewer, organization="Valley Hospital", fmt="stix"
        ).decode(),
        allow_custom=False,
    )
    indicators = [o for o in bundle.objects if o.type == "indicator"]
    assert [i.pattern for i in indicators] == ["[ipv4-addr:value = '198.51.100.7/32']"]
    bank_list = orjson.loads(
        scan_flow.export_allowlist(
            runtime, viewer=member(runtime, "First Bank"), organization="First Bank", fmt="json"
        )
    )
    assert bank_list["entries"] == []
    with pytest.raises(PermissionDeniedError):
        scan_flow.export_allowlist(
            runtime,
            viewer=member(runtime, "First Bank"),
            organization="Valley Hospital",
            fmt="csv",
        )


def test_leases_spread_projects_and_coverage_raises_them_later(
    runtime: Runtime, make_org: OrgFactory
) -> None:
    runtime.clock = FixedClock(NOW)
    make_org("Lab Alpha", kind=OrgKind.AI_LAB)
    make_org("Lab Beta", kind=OrgKind.AI_LAB)
    for n, dependents in enumerate((500_000, 1_000, 10)):
        scan_flow.add_project(
            runtime,
            viewer=LOCAL_ADMIN,
            name=f"pkg:pypi/project-{n}",
            signals={"dependents_count": dependents, "contributor_count": 50},
        )
    alpha = scan_flow.next_targets(
        runtime, viewer=member(runtime, "Lab Alpha"), organization="Lab Alpha", count=2
    )
    beta = scan_flow.next_targets(
        runtime, viewer=member(runtime, "Lab Beta"), organization="Lab Beta", count=2
    )
    assert [t["project"] for t in alpha] == ["pkg:pypi/project-0", "pkg:pypi/project-1"]
    # The most critical project takes a second scanner (k = 2); project-1 is taken.
    assert [t["project"] for t in beta] == ["pkg:pypi/project-0", "pkg:pypi/project-2"]
    done = scan_flow.complete_scan(
        runtime,
        viewer=member(runtime, "Lab Alpha"),
        organization="Lab Alpha",
        project="pkg:pypi/project-1",
        commit="a1b2c3d4e5f6",
        technique="vulnerability-scan",
    )
    assert done["commit"] == "a1b2c3d4e5f6"


def test_lookups_are_audited_and_operators_running_is_counted(
    runtime: Runtime, make_org: OrgFactory
) -> None:
    from sqlalchemy import select

    from clearinghouse.pipeline import inventory_flow
    from clearinghouse.pipeline.models import AuditEvent
    from tests.integration.test_inventory_flow import cyclonedx

    runtime.clock = FixedClock(NOW)
    make_org("Valley Hospital", kind=OrgKind.OPERATOR, sector=Sector.HEALTHCARE)
    make_org("First Bank", kind=OrgKind.OPERATOR, sector=Sector.FINANCE)
    for org in ("Valley Hospital", "First Bank"):
        inventory_flow.import_inventory(
            runtime,
            viewer=LOCAL_ADMIN,
            organization=org,
            chunks=[cyclonedx("Portal", "1", ["pkg:pypi/requests@2.19.0"])],
        )
    added = scan_flow.add_project(
        runtime, viewer=LOCAL_ADMIN, name="pkg:pypi/requests", signals={"dependents_count": 10}
    )
    assert added["signals"]["operators_running"] == 2
    scan_flow.lookup(
        runtime, ip="198.51.100.7", at=NOW, viewer=member(runtime, "First Bank", Role.VIEWER)
    )
    with runtime.db.session() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert "scan.lookup" in actions
