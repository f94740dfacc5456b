"""Analyst merge and split, and the engine's promise never to undo a split."""

from __future__ import annotations

import pytest

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import ConflictError, InputError, NotFoundError
from clearinghouse.pipeline import read_flow, triage_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory
from tests.integration.helpers import demo_asset, import_bytes


def _vulns(runtime: Runtime) -> dict[str, dict[str, object]]:
    items = read_flow.list_vulns(
        runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, search=None, limit=100, offset=0
    )
    return {str(v["title"]): v for v in items}


@pytest.fixture
def world(runtime: Runtime, make_org: OrgFactory) -> Runtime:
    make_org("Lab A")
    make_org("Lab B")
    import_bytes(runtime, "Lab A", demo_asset("lab-alpha.sarif"))
    import_bytes(runtime, "Lab B", demo_asset("lab-beta.sarif"))
    return runtime


def test_merge_moves_findings_and_old_id_resolves(world: Runtime) -> None:
    vulns = _vulns(world)
    null_deref = str(vulns["Possible NULL dereference of tag entry"]["id"])
    oob_read = str(vulns["Tag value read past the end of the tag table"]["id"])
    triage_flow.merge(
        world.db, viewer=LOCAL_ADMIN, into=null_deref, other=oob_read, clock=world.clock
    )
    after = _vulns(world)
    assert len(after) == len(vulns) - 1
    shown = read_flow.show_vuln(world.db, viewer=LOCAL_ADMIN, clock=world.clock, public_id=oob_read)
    assert shown["id"] == null_deref
    assert shown["resolved_from"] == oob_read
    assert shown["finders"] == ["Lab A", "Lab B"]
    with world.db.session() as session:
        actions = [event.action for event in audit_service.recent(session, limit=10)]
    assert "vulnerability.merge" in actions
    with pytest.raises(ConflictError):
        triage_flow.merge(
            world.db, viewer=LOCAL_ADMIN, into=oob_read, other=null_deref, clock=world.clock
        )
    with pytest.raises(InputError):
        triage_flow.merge(
            world.db, viewer=LOCAL_ADMIN, into=null_deref, other=null_deref, clock=world.clock
        )


def test_split_is_never_remerged(world: Runtime, make_org: OrgFactory) -> None:
    vulns = _vulns(world)
    overflow = str(vulns["Heap buffer overflow (write) in strip decoder"]["id"])
    shown = read_flow.show_vuln(world.db, viewer=LOCAL_ADMIN, clock=world.clock, public_id=overflow)
    beta = [f["id"] for f in shown["findings_detail"] if f["organization"] == "Lab B"]
    result = triage_flow.split(
        world.db, viewer=LOCAL_ADMIN, public_id=overflow, finding_ids=beta, clock=world.clock
    )
    new_id = str(result["new"])
    # A third party reports the very same line again: it matches both sides, but the engine
    # keeps the analyst's split and offers the pair as a suggestion instead.
    make_org("Lab C")
    again = import_bytes(world, "Lab C", demo_asset("lab-beta.sarif"))
    assert again.new_vulnerabilities == 0
    after = _vulns(world)
    ids = {str(v["id"]) for v in after.values()}
    assert {overflow, new_id} <= ids
    old = read_flow.show_vuln(world.db, viewer=LOCAL_ADMIN, clock=world.clock, public_id=overflow)
    new = read_flow.show_vuln(world.db, viewer=LOCAL_ADMIN, clock=world.clock, public_id=new_id)
    assert {f["organization"] for f in old["findings_detail"]} == {"Lab A", "Lab C"}
    assert {f["organization"] for f in new["findings_detail"]} == {"Lab B"}
    assert any(s["id"] == new_id for s in old["suggested_duplicates"])


def test_split_refuses_bad_requests(world: Runtime) -> None:
    vulns = _vulns(world)
    overflow = str(vulns["Heap buffer overflow (write) in strip decoder"]["id"])
    shown = read_flow.show_vuln(world.db, viewer=LOCAL_ADMIN, clock=world.clock, public_id=overflow)
    every = [f["id"] for f in shown["findings_detail"]]
    with pytest.raises(InputError):
        triage_flow.split(
            world.db, viewer=LOCAL_ADMIN, public_id=overflow, finding_ids=every, clock=world.clock
        )
    with pytest.raises(NotFoundError):
        triage_flow.split(
            world.db,
            viewer=LOCAL_ADMIN,
            public_id=overflow,
            finding_ids=[999_999],
            clock=world.clock,
        )
