"""A submission as the CLI and the API take it: import the document, then validate its proofs.

The import is one transaction (``intake_flow``); queueing the automatic validations comes
after it commits, one run per proof-carrying finding, so a finding is never left without its
import because a run could not be queued, and the answer says what was queued and what not.
"""

from __future__ import annotations

from typing import Any

from clearinghouse.access.visibility import Viewer
from clearinghouse.pipeline import intake_flow, validation_flow
from clearinghouse.pipeline.runtime import Runtime


def submit(
    rt: Runtime, request: intake_flow.ImportRequest, *, viewer: Viewer
) -> tuple[intake_flow.ImportOutcome, dict[str, Any]]:
    """Import ``request`` and queue its findings' proofs: (outcome, the answer document)."""
    outcome = intake_flow.import_submission(
        rt.db,
        rt.blobs,
        request,
        viewer=viewer,
        clock=rt.clock,
        max_bytes=rt.settings.max_upload_bytes,
        limits=rt.limits,
        batch_size=rt.settings.import_batch_size,
    )
    doc: dict[str, Any] = outcome.as_json()
    if outcome.already_imported:
        doc["validations"] = {"queued": [], "skipped": []}
    else:
        doc["validations"] = validation_flow.queue_imported(
            rt, viewer=viewer, submission_id=outcome.submission, format=outcome.format
        )
    return outcome, doc
