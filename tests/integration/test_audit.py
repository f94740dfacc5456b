"""The audit chain detects edited, deleted and reordered events."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Connection, text

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.audit import service as audit_service
from clearinghouse.audit.chain import Verdict
from clearinghouse.core.tlp import Tlp
from clearinghouse.pipeline import read_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory
from tests.integration.helpers import demo_asset, import_bytes


@pytest.fixture
def audited(runtime: Runtime, make_org: OrgFactory) -> Runtime:
    make_org("Lab A")
    make_org("Lab B")
    import_bytes(runtime, "Lab A", demo_asset("lab-alpha.sarif"), tlp=Tlp.AMBER)
    import_bytes(runtime, "Lab B", demo_asset("lab-beta.sarif"), tlp=Tlp.CLEAR)
    for _ in range(3):  # restricted reads are audited too
        read_flow.list_vulns(
            runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, search=None, limit=10, offset=0
        )
    return runtime


def _verify(runtime: Runtime) -> Verdict:
    with runtime.db.session() as session:
        return audit_service.verify_chain(session)


def test_untouched_chain_verifies(audited: Runtime) -> None:
    verdict = _verify(audited)
    assert verdict.ok
    assert verdict.events == 5  # two imports + three restricted list reads


def test_writes_and_restricted_reads_are_recorded(audited: Runtime) -> None:
    with audited.db.session() as session:
        actions = [event.action for event in reversed(audit_service.recent(session))]
    assert actions == ["submission.import", "submission.import", "read", "read", "read"]


def _edit(c: Connection) -> None:
    c.execute(text("UPDATE audit_events SET detail = '{\"findings\": 0}' WHERE seq = 2"))


def _edit_actor(c: Connection) -> None:
    c.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3"))


def _delete_middle(c: Connection) -> None:
    c.execute(text("DELETE FROM audit_events WHERE seq = 3"))


def _delete_last(c: Connection) -> None:
    c.execute(text("DELETE FROM audit_events WHERE seq = 5"))


def _reorder(c: Connection) -> None:
    c.execute(text("UPDATE audit_events SET seq = 100 WHERE seq = 2"))
    c.execute(text("UPDATE audit_events SET seq = 2 WHERE seq = 3"))
    c.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 100"))


def _rehash_edit(c: Connection) -> None:
    """Edit an event and recompute its own hash: the next event's link still breaks."""
    from sqlalchemy.orm import Session

    from clearinghouse.audit.chain import event_hash
    from clearinghouse.audit.models import AuditEvent

    with Session(bind=c) as session:
        event = session.get(AuditEvent, 2)
        assert event is not None
        event.tlp = "RED"
        event.hash = event_hash(audit_service.fields_of(event))
        session.commit()  # joins the outer transaction, which commits it


@pytest.mark.parametrize(
    ("tamper", "first_bad"),
    [
        pytest.param(_edit, 2, id="edit-detail"),
        pytest.param(_edit_actor, 3, id="edit-actor"),
        pytest.param(_delete_middle, 4, id="delete-middle"),
        pytest.param(_delete_last, 5, id="delete-newest"),
        pytest.param(_reorder, 2, id="reorder"),
        pytest.param(_rehash_edit, 3, id="edit-and-rehash"),
    ],
)
def test_tampering_is_detected(
    audited: Runtime, tamper: Callable[[Connection], None], first_bad: int
) -> None:
    with audited.db.engine.begin() as connection:
        tamper(connection)
    verdict = _verify(audited)
    assert not verdict.ok
    assert verdict.first_bad_seq == first_bad
    assert verdict.reason
