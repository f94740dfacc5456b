"""A client that retries a submission while its first attempt is still being imported (its
answer timed out, or a proxy retried it) gets "already imported" with the first one's id: one
submission, never a second row and never a server error from the unique (organization,
digest) constraint. On PostgreSQL both attempts can pass the "already imported?" check before
either commits; on SQLite the write lock serialises them.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import func, select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import Role
from clearinghouse.intake.models import Submission
from clearinghouse.pipeline import intake_flow
from clearinghouse.pipeline.runtime import Runtime


def _sarif(results: int) -> bytes:
    """A log big enough that its import holds its transaction open for a while."""
    return json.dumps(
        {
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {"driver": {"name": "racer"}},
                    "results": [
                        {
                            "ruleId": f"R{n % 7}",
                            "message": {"text": f"finding {n}"},
                            "locations": [
                                {
                                    "physicalLocation": {
                                        "artifactLocation": {"uri": f"src/f{n}.c"},
                                        "region": {"startLine": n + 1},
                                    }
                                }
                            ],
                        }
                        for n in range(results)
                    ],
                }
            ],
        }
    ).encode()


def test_the_same_document_sent_twice_at_once_is_stored_once(
    runtime: Runtime, make_org: Any
) -> None:
    make_org("Racing Lab")
    with runtime.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name="Racing Lab")
        viewer = access_service.viewer_for_org(org, role=Role.SUBMITTER)
    body = _sarif(1500)
    start = threading.Barrier(2)
    outcomes: list[intake_flow.ImportOutcome] = []
    errors: list[BaseException] = []

    def send() -> None:
        start.wait()
        try:
            outcomes.append(
                intake_flow.import_submission(
                    runtime.db,
                    runtime.blobs,
                    intake_flow.ImportRequest(organization="Racing Lab", chunks=[body]),
                    viewer=viewer,
                    clock=runtime.clock,
                    max_bytes=runtime.settings.max_upload_bytes,
                    limits=runtime.limits,
                    batch_size=runtime.settings.import_batch_size,
                )
            )
        except BaseException as error:  # reported below, with its type
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(outcomes) == 2
    assert sorted(o.already_imported for o in outcomes) == [False, True]
    assert outcomes[0].submission == outcomes[1].submission
    assert {o.findings for o in outcomes} == {1500}
    with runtime.db.session() as session:
        assert session.scalar(select(func.count(Submission.id))) == 1
