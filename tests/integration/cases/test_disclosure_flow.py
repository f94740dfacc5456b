"""A case from opening to a published, signed advisory and exactly the exposed operators told.

Runs on the real database (SQLite, and PostgreSQL in CI) with a fixed clock; the outbox is
delivered through the in-tree recording channel (the real SMTP and webhook channels have their
own tests against real servers on loopback).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.advisories.channels.base import RecordingChannel
from clearinghouse.core.clock import FixedClock
from clearinghouse.core.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
)
from clearinghouse.core.tlp import Tlp
from clearinghouse.formats.csaf_validation import validate_csaf
from clearinghouse.pipeline import case_flow, inventory_flow, publish_flow, scheduler
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory
from tests.integration.helpers import import_bytes
from tests.integration.test_inventory_flow import cyclonedx

START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def finding(target: str, title: str) -> bytes:
    return orjson.dumps(
        {
            "format": "clearinghouse-findings",
            "version": "1.0",
            "findings": [{"target": target, "title": title, "provenance": {"tool": "agent"}}],
        }
    )


def member(runtime: Runtime, org: str, role: Role = Role.SUBMITTER) -> Viewer:
    with runtime.db.session() as session:
        organization = access_service.get_org_by_name_or_raise(session, name=org)
        return access_service.viewer_for_org(organization, role=role)


@pytest.fixture
def world(runtime: Runtime, make_org: OrgFactory) -> dict[str, Any]:
    """A lab's finding in tiffkit 2.3.0; its vendor; a hospital that runs it; a bank that
    does not; the clock at START."""
    runtime.clock = FixedClock(START)
    make_org("Lab Alpha", kind=OrgKind.AI_LAB)
    make_org("Tiff Project", kind=OrgKind.VENDOR)
    make_org("Valley Hospital", kind=OrgKind.OPERATOR, sector=Sector.HEALTHCARE)
    make_org("First Bank", kind=OrgKind.OPERATOR, sector=Sector.FINANCE)
    make_org("CISA Desk", kind=OrgKind.COORDINATOR)
    inventory_flow.import_inventory(
        runtime,
        viewer=LOCAL_ADMIN,
        organization="Valley Hospital",
        chunks=[cyclonedx("PACS", "1", ["pkg:pypi/tiffkit@2.3.0"])],
    )
    inventory_flow.import_inventory(
        runtime,
        viewer=LOCAL_ADMIN,
        organization="First Bank",
        chunks=[cyclonedx("Teller", "1", ["pkg:pypi/requests@2.31.0"])],
    )
    case_flow.set_directory(
        runtime,
        viewer=LOCAL_ADMIN,
        organization="Tiff Project",
        namespaces=["pkg:pypi/tiffkit"],
        email="security@tiff.example",
    )
    for org in ("Valley Hospital", "First Bank"):
        case_flow.set_directory(
            runtime, viewer=LOCAL_ADMIN, organization=org, email=f"it@{org[:5].lower()}.example"
        )
    case_flow.set_directory(
        runtime, viewer=LOCAL_ADMIN, organization="Lab Alpha", disclosure_days=45
    )
    imported = import_bytes(
        runtime,
        "Lab Alpha",
        finding("pkg:pypi/tiffkit@2.3.0", "Heap overflow in tiffkit strip decoder"),
        tlp=Tlp.AMBER,
    )
    assert imported.findings == 1
    vuln = imported.vulnerabilities[0] if hasattr(imported, "vulnerabilities") else None
    if vuln is None:
        from sqlalchemy import select

        from clearinghouse.pipeline.models import Vulnerability

        with runtime.db.session() as session:
            vuln = session.scalars(select(Vulnerability.public_id)).one()
    return {"vuln": vuln}


def test_open_case_suggests_vendor_takes_finders_and_dates_the_embargo(
    runtime: Runtime, world: dict[str, Any]
) -> None:
    with pytest.raises(ConflictError, match="not validated"):
        case_flow.open_case(runtime, viewer=LOCAL_ADMIN, vuln_ids=[world["vuln"]])
    case = case_flow.open_case(
        runtime, viewer=LOCAL_ADMIN, vuln_ids=[world["vuln"]], allow_unvalidated=True
    )
    assert case["id"] == "CASE-2026-0001"
    roles = {p["organization"]: p["role"] for p in case["participants"]}
    assert roles == {"Tiff Project": "vendor", "Lab Alpha": "reporter"}
    vendor = next(p for p in case["participants"] if p["role"] == "vendor")
    assert vendor["suggested_by"] == "pkg:pypi/tiffkit"
    # The lab's own 45-day policy is earlier than the 90-day default: it binds.
    embargo = case["embargo"]
    assert embargo["state"] == "proposed"
    assert embargo["until"] == (START + dt.timedelta(days=45)).isoformat()
    assert embargo["until_display"].endswith("UTC")
    assert "Lab Alpha" in embargo["reason"]
    assert [s["status"] for s in case["statuses"]] == ["unknown"]
    with pytest.raises(ConflictError, match="already in an open case"):
        case_flow.open_case(
            runtime, viewer=LOCAL_ADMIN, vuln_ids=[world["vuln"]], allow_unvalidated=True
        )


def test_outsiders_get_404_and_participants_only_their_view(
    runtime: Runtime, world: dict[str, Any]
) -> None:
    case = case_flow.open_case(
        runtime, viewer=LOCAL_ADMIN, vuln_ids=[world["vuln"]], allow_unvalidated=True
    )
    bank = member(runtime, "First Bank", Role.ANALYST)
    with pytest.raises(NotFoundError):
        case_flow.show_case(runtime, viewer=bank, case_id=case["id"])
    assert case_flow.list_cases(runtime, viewer=bank) == []
    vendor = member(runtime, "Tiff Project")
    case_flow.set_status(
        runtime,
        viewer=vendor,
        case_id=case["id"],
        vuln_id=world["vuln"],
        status="affected",
        statement="All releases before 2.4.0.",
    )
    lab = member(runtime, "Lab Alpha")
    # Not approved yet: the reporter does not see the vendor's statement.
    assert case_flow.show_case(runtime, viewer=lab, case_id=case["id"])["statuses"] == []
    own = case_flow.show_case(runtime, viewer=vendor, case_id=case["id"])["statuses"]
    assert own[0]["status"] == "affected"
    assert own[0]["approved"] is False
    case_flow.approve_status(
        runtime,
        viewer=LOCAL_ADMIN,
        case_id=case["id"],
        vuln_id=world["vuln"],
        vendor="Tiff Project",
    )
    seen = case_flow.show_case(runtime, viewer=lab, case_id=case["id"])["statuses"]
    assert [(s["vendor"], s["status"]) for s in seen] == [("Tiff Project", "affected")]
    with pytest.raises(PermissionDeniedError):
        case_flow.set_status(
            runtime,
            viewer=lab,
            case_id=case["id"],
            vuln_id=world["vuln"],
            status="fixed",
            fixed_version="9",
        )
    with pytest.raises(PermissionDeniedError):
        case_flow.set_status(
            runtime, viewer=vendor, case_id=case["id"], vuln_id=world["vuln"], status="no_response"
        )


def test_messages_private_and_tlp(runtime: Runtime, world: dict[str, Any]) -> None:
    case = case_flow.open_case(
        runtime, viewer=LOCAL_ADMIN, vuln_ids=[world["vuln"]], allow_unvalidated=True
    )
    vendor = member(runtime, "Tiff Project")
    lab = member(runtime, "Lab Alpha")
    case_flow.post_message(runtime, viewer=vendor, case_id=case["id"], body="We are on it.")
    case_flow.post_message(
        runtime,
        viewer=vendor,
        case_id=case["id"],
        body="Fix branch is fix-strip",
        thread="pkg:pypi/tiffkit",
        to="Lab Alpha",
        tlp="RED",
    )
    case_flow.post_message(
        runtime,
        viewer=LOCAL_ADMIN,
        case_id=case["id"],
        body="Vendor only",
        to="Tiff Project",
    )
    with pytest.raises(ConflictError, match="embargo"):
        case_flow.post_message(runtime, viewer=lab, case_id=case["id"], body="x", tlp="CLEAR")
    lab_view = case_flow.list_messages(runtime, viewer=lab, case_id=case["id"])["threads"]
    assert [m["body"] for m in lab_view["case"]] == ["We are on it."]
    assert [m["tlp"] for m in lab_view["pkg:pypi/tiffkit"]] == ["RED"]
    vendor_view = case_flow.list_messages(runtime, viewer=vendor, case_id=case["id"])["threads"]
    assert [m["body"] for m in vendor_view["case"]] == ["We are on it.", "Vendor only"]


def _published_world(runtime: Runtime, world: dict[str, Any]) -> dict[str, Any]:
    case = case_flow.open_case(
        runtime, viewer=LOCAL_ADMIN, vuln_ids=[world["vuln"]], allow_unvalidated=True
    )
    case_flow.describe_vulnerability(
        runtime,
        viewer=LOCAL_ADMIN,
        case_id=case["id"],
        vuln_id=world["vuln"],
        cvss_v3="CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
        cve="CVE-2026-40001",
        description="A crafted TIFF strip overflows a heap buffer in tiffkit before 2.4.0.",
    )
    case_flow.set_status(
        runtime,
        viewer=member(runtime, "Tiff Project"),
        case_id=case["id"],
        vuln_id=world["vuln"],
        status="fixed",
        product="pkg:pypi/tiffkit",
        fixed_version="2.4.0",
        statement="Fixed in 2.4.0.",
    )
    case_flow.approve_status(
        runtime,
        viewer=LOCAL_ADMIN,
        case_id=case["id"],
        vuln_id=world["vuln"],
        vendor="Tiff Project",
    )
    return case


def test_every_public_path_waits_for_the_lift(runtime: Runtime, world: dict[str, Any]) -> None:
    case = _published_world(runtime, world)
    for viewer in (LOCAL_ADMIN, member(runtime, "CISA Desk", Role.ANALYST)):
        with pytest.raises(ConflictError, match="under embargo"):
            publish_flow.publish(runtime, viewer=viewer, case_id=case["id"])
    for name in ("Tiff Project", "Lab Alpha", "Valley Hospital"):
        with pytest.raises((PermissionDeniedError, NotFoundError)):
            publish_flow.publish(
                runtime, viewer=member(runtime, name, Role.ADMIN), case_id=case["id"]
            )
    with pytest.raises(NotFoundError):
        publish_flow.advisory_documents(runtime, case_id=case["id"])
    assert publish_flow.list_notifications(runtime, viewer=LOCAL_ADMIN) == []
    # Lifting early is a break, which needs a reason; the vendor cannot lift at all.
    with pytest.raises(ConflictError, match="break"):
        case_flow.embargo_action(runtime, viewer=LOCAL_ADMIN, case_id=case["id"], action="lift")
    with pytest.raises(PermissionDeniedError):
        case_flow.embargo_action(
            runtime,
            viewer=member(runtime, "Tiff Project"),
            case_id=case["id"],
            action="break",
            reason="we want to",
        )
    # Pre-notification under embargo: only the exposed hospital, only AMBER+STRICT.
    pre = publish_flow.prenotify(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])
    assert pre["notified"] == ["Valley Hospital"]
    notes = publish_flow.list_notifications(runtime, viewer=LOCAL_ADMIN)
    assert [(n["kind"], n["tlp"]) for n in notes] == [("prenotify", "AMBER+STRICT")]
    assert publish_flow.provider_tree(runtime)[".well-known/csaf/provider-metadata.json"]


def test_publish_after_the_lift_signs_and_notifies_exactly_the_exposed(
    runtime: Runtime, world: dict[str, Any]
) -> None:
    assert isinstance(runtime.clock, FixedClock)
    case = _published_world(runtime, world)
    runtime.clock.advance(dt.timedelta(days=46))
    ticked = scheduler.tick(runtime)
    assert ticked["deadlines"]["lifted"] == [case["id"]]
    result = publish_flow.publish(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])
    assert result["version"] == 1
    kinds = {d["kind"] for d in result["documents"]}
    assert {"csaf", "csaf_vex", "osv", "cve", "md", "html"} <= kinds
    assert [n["organization"] for n in result["notified"]] == ["Valley Hospital"]
    docs = {d["kind"]: d for d in publish_flow.advisory_documents(runtime, case_id=case["id"])}
    csaf = orjson.loads(docs["csaf"]["body"])
    assert validate_csaf(csaf) == []
    assert csaf["document"]["tracking"]["id"] == case["id"]
    assert "CVE-2026-40001" in docs["cve"]["body"]
    # Delivered once through the outbox, with the hospital's own deadline.
    channel = RecordingChannel(name="email")
    first = publish_flow.deliver_due(runtime, channels={"email": channel})
    again = publish_flow.deliver_due(runtime, channels={"email": channel})
    assert first["sent"] == 1
    assert again["sent"] == 0
    [message] = channel.delivered
    assert message.recipient == "it@valle.example"
    assert message.payload["deadline"]
    # A revision is version 2 with history; the operator answers and the rates show it.
    second = publish_flow.publish(
        runtime, viewer=LOCAL_ADMIN, case_id=case["id"], summary="Credits."
    )
    assert second["version"] == 2
    csaf2 = orjson.loads(
        next(
            d
            for d in publish_flow.advisory_documents(runtime, case_id=case["id"])
            if d["kind"] == "csaf"
        )["body"]
    )
    assert [r["number"] for r in csaf2["document"]["tracking"]["revision_history"]] == ["1", "2"]
    hospital = member(runtime, "Valley Hospital")
    [note, *_] = publish_flow.list_notifications(runtime, viewer=hospital)
    publish_flow.respond(
        runtime, viewer=hospital, notification_id=note["id"], response="remediated"
    )
    rates = publish_flow.response_rates(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])
    assert rates["operators_notified"] == 1
    assert rates["responses"]["remediated"] == 1
    with pytest.raises(NotFoundError):
        publish_flow.respond(
            runtime,
            viewer=member(runtime, "First Bank"),
            notification_id=note["id"],
            response="remediated",
        )


def test_break_with_reason_opens_publication(runtime: Runtime, world: dict[str, Any]) -> None:
    case = _published_world(runtime, world)
    with pytest.raises(Exception, match="reason"):
        case_flow.embargo_action(runtime, viewer=LOCAL_ADMIN, case_id=case["id"], action="break")
    broken = case_flow.embargo_action(
        runtime,
        viewer=LOCAL_ADMIN,
        case_id=case["id"],
        action="break",
        reason="Exploitation seen in the wild",
    )
    assert broken["embargo"]["state"] == "broken"
    assert publish_flow.publish(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])["version"] == 1


def test_extension_past_the_finders_date_needs_their_agreement(
    runtime: Runtime, world: dict[str, Any]
) -> None:
    case = _published_world(runtime, world)
    later = START + dt.timedelta(days=80)
    with pytest.raises(ConflictError, match="Lab Alpha"):
        case_flow.embargo_action(
            runtime,
            viewer=LOCAL_ADMIN,
            case_id=case["id"],
            action="extend",
            until=later,
            reason="vendor needs a release cycle",
        )
    case_flow.embargo_action(
        runtime,
        viewer=member(runtime, "Lab Alpha"),
        case_id=case["id"],
        action="accept",
        until=later,
    )
    extended = case_flow.embargo_action(
        runtime,
        viewer=LOCAL_ADMIN,
        case_id=case["id"],
        action="extend",
        until=later,
        reason="vendor needs a release cycle",
    )
    assert extended["embargo"]["state"] == "extended"
    assert extended["embargo"]["until"] == later.isoformat()


def test_silent_vendor_is_reminded_then_escalated_once(
    runtime: Runtime, world: dict[str, Any]
) -> None:
    assert isinstance(runtime.clock, FixedClock)
    case = case_flow.open_case(
        runtime, viewer=LOCAL_ADMIN, vuln_ids=[world["vuln"]], allow_unvalidated=True
    )
    case_flow.add_participant(
        runtime,
        viewer=LOCAL_ADMIN,
        case_id=case["id"],
        organization="CISA Desk",
        role="coordinator",
    )
    runtime.clock.advance(dt.timedelta(days=8))
    first = case_flow.run_deadlines(runtime)
    assert first["reminded"] == [f"{case['id']}:Tiff Project"]
    assert case_flow.run_deadlines(runtime)["reminded"] == []
    runtime.clock.advance(dt.timedelta(days=7))
    second = case_flow.run_deadlines(runtime)
    assert second["escalated"] == [f"{case['id']}:Tiff Project"]
    shown = case_flow.show_case(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])
    assert [s["status"] for s in shown["statuses"]] == ["no_response"]
    kinds = sorted(n["kind"] for n in publish_flow.list_notifications(runtime, viewer=LOCAL_ADMIN))
    assert kinds == ["escalation", "reminder"]


def test_early_lift_needs_every_vendor_and_finder(runtime: Runtime, world: dict[str, Any]) -> None:
    case = _published_world(runtime, world)
    now = runtime.clock.now()
    case_flow.embargo_action(
        runtime,
        viewer=member(runtime, "Tiff Project"),
        case_id=case["id"],
        action="accept",
        until=now,
    )
    with pytest.raises(ConflictError, match="accept an earlier date"):
        case_flow.embargo_action(runtime, viewer=LOCAL_ADMIN, case_id=case["id"], action="lift")
    case_flow.embargo_action(
        runtime,
        viewer=member(runtime, "Lab Alpha"),
        case_id=case["id"],
        action="accept",
        until=now,
    )
    lifted = case_flow.embargo_action(
        runtime, viewer=LOCAL_ADMIN, case_id=case["id"], action="lift"
    )
    assert lifted["embargo"]["state"] == "lifted"


@pytest.mark.corpus
def test_published_osv_and_cve_records_pass_the_shared_schemas(
    runtime: Runtime, world: dict[str, Any], corpus: Path
) -> None:
    import jsonschema_rs

    case = _published_world(runtime, world)
    case_flow.embargo_action(
        runtime, viewer=LOCAL_ADMIN, case_id=case["id"], action="break", reason="test"
    )
    publish_flow.publish(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])
    docs = publish_flow.advisory_documents(runtime, case_id=case["id"])
    osv = jsonschema_rs.validator_for(
        orjson.loads((corpus / "osv/schema/schema.json").read_bytes())
    )
    cve = jsonschema_rs.validator_for(
        orjson.loads((corpus / "cve/schema/cvelib/CVE_JSON_bundled_5.1.1.json").read_bytes())
    )
    kinds = [d["kind"] for d in docs]
    assert kinds.count("osv") == 1
    assert kinds.count("cve") == 1
    for doc in docs:
        if doc["kind"] == "osv":
            errors = [e.message for e in osv.iter_errors(orjson.loads(doc["body"]))]
            assert errors == [], errors
        if doc["kind"] == "cve":
            errors = [e.message for e in cve.iter_errors(orjson.loads(doc["body"]))]
            assert errors == [], errors


def test_a_security_txt_fills_the_vendor_contact(runtime: Runtime, world: dict[str, Any]) -> None:
    text = (
        b"Contact: mailto:psirt@tiff.example\n"
        b"Contact: https://tiff.example/security\n"
        b"Encryption: https://tiff.example/pgp.asc\n"
        b"Policy: https://tiff.example/disclosure\n"
        b"Expires: 2027-06-30T00:00:00Z\n"
    )
    entry = case_flow.set_directory(
        runtime, viewer=LOCAL_ADMIN, organization="Tiff Project", security_txt=text
    )
    assert entry["contacts"] == ["mailto:psirt@tiff.example", "https://tiff.example/security"]
    assert entry["encryption"] == ["https://tiff.example/pgp.asc"]
    assert entry["policy"] == "https://tiff.example/disclosure"
    assert entry["namespaces"] == ["pkg:pypi/tiffkit"]
    with pytest.raises(InputError, match="Contact"):
        case_flow.set_directory(
            runtime,
            viewer=LOCAL_ADMIN,
            organization="Tiff Project",
            security_txt=b"Expires: 2027-06-30T00:00:00Z\n",
        )
    with pytest.raises(PermissionDeniedError):
        case_flow.set_directory(
            runtime,
            viewer=member(runtime, "First Bank"),
            organization="Tiff Project",
            contacts=["mailto:evil@bank.example"],
        )


def test_no_clear_notification_under_embargo(runtime: Runtime, world: dict[str, Any]) -> None:
    """The notification path itself refuses TLP:CLEAR before the lift, whoever calls it."""
    from clearinghouse.cases import service as cases_service

    case = _published_world(runtime, world)
    with runtime.db.session() as session:
        row = cases_service.get_case_or_raise(session, public_id=case["id"])
        draft = publish_flow.Draft(1, "Public advisory", "body", {"type": "advisory.published"})
        with pytest.raises(ConflictError, match="under embargo"):
            publish_flow.queue_notifications(
                session, runtime, case=row, kind="advisory", tlp="CLEAR", drafts=[draft]
            )
        amber = publish_flow.queue_notifications(
            session, runtime, case=row, kind="prenotify", tlp="AMBER+STRICT", drafts=[draft]
        )
        assert len(amber) == 1


def test_publication_adds_the_osv_record_to_the_feed_and_not_before(
    runtime: Runtime, world: dict[str, Any]
) -> None:
    case = _published_world(runtime, world)

    def feed_hits(org: str) -> list[str]:
        found = inventory_flow.matches(runtime, organization=org)["matches"]
        return [m["vulnerability"] for m in found if m["vulnerability"].startswith("x_CH-")]

    assert feed_hits("Valley Hospital") == []
    case_flow.embargo_action(
        runtime, viewer=LOCAL_ADMIN, case_id=case["id"], action="break", reason="leaked"
    )
    publish_flow.publish(runtime, viewer=LOCAL_ADMIN, case_id=case["id"])
    assert feed_hits("Valley Hospital") == [f"x_{world['vuln']}"]
    assert feed_hits("First Bank") == []
