"""Import one submitted document end to end: store, decode, detect, validate, read, cluster.

The raw bytes are stored content-addressed before anything else (so they are never lost and
re-imports are recognised by digest); everything that touches the database then happens in one
transaction, so a bad document or a failure half-way leaves the database exactly as it was.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from clearinghouse.access import service as access_service
from clearinghouse.access.visibility import Viewer
from clearinghouse.audit import service as audit_service
from clearinghouse.core.clock import Clock
from clearinghouse.core.errors import InputError
from clearinghouse.core.tlp import Tlp
from clearinghouse.dedup import service as dedup_service
from clearinghouse.formats import registry, sarif
from clearinghouse.formats.decode import decode
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.records import FindingRecord
from clearinghouse.infra.blobs import BlobStore
from clearinghouse.infra.db import Database
from clearinghouse.intake import finding_rows
from clearinghouse.intake import service as intake_service
from clearinghouse.intake.models import Submission
from clearinghouse.vulns import service as vulns_service

DEFAULT_TLP = Tlp.AMBER  # unpatched flaws are restricted unless the submitter says otherwise
MAX_TARGET_CHARS = 2_000


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while an import allocates millions of acyclic objects.

    Reference counting still frees everything; the collector would only re-scan the young
    objects again and again (measured: a third of the time of a large import). It is restored
    afterwards whatever happens.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    submission: int
    format: str
    findings: int
    new_vulnerabilities: int
    duplicates: int
    already_imported: bool
    tlp: str
    already_known: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "submission": self.submission,
            "format": self.format,
            "findings": self.findings,
            "new_vulnerabilities": self.new_vulnerabilities,
            "duplicates": self.duplicates,
            "already_imported": self.already_imported,
            "tlp": self.tlp,
            "already_known": list(self.already_known),
        }


@dataclass(frozen=True, slots=True)
class ImportRequest:
    organization: str
    chunks: Iterable[bytes]
    format: str = "auto"
    target: str | None = None
    tlp: Tlp | None = None
    share_with: Sequence[str] = ()


def _already_imported(existing: Submission) -> ImportOutcome:
    return ImportOutcome(
        submission=existing.id,
        format=existing.format,
        findings=existing.finding_count,
        new_vulnerabilities=existing.new_vulnerabilities,
        duplicates=existing.duplicates,
        already_imported=True,
        tlp=existing.tlp,
    )


def import_submission(
    db: Database,
    blobs: BlobStore,
    request: ImportRequest,
    *,
    viewer: Viewer,
    clock: Clock,
    max_bytes: int,
    limits: ReadLimits,
    batch_size: int,
) -> ImportOutcome:
    if request.target is not None and len(request.target) > MAX_TARGET_CHARS:
        raise InputError(f"target: longer than {MAX_TARGET_CHARS} characters")
    reader_hint = registry.parse_format(request.format)
    stored = blobs.put_stream(request.chunks, max_bytes=max_bytes)
    with _collector_paused(), db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=request.organization)
        existing = intake_service.get_by_digest(
            session, organization_id=org.id, sha256=stored.sha256
        )
        if existing is not None:
            return _already_imported(existing)
        data = blobs.get(stored.sha256)
        lazy = sarif.LazyLog.open(data) if reader_hint in (None, "sarif") else None
        if lazy is not None:
            reader_name, producer, document_tlp = "sarif", None, None
            records: Iterable[FindingRecord] = lazy.read(limits=limits)
        else:
            doc = decode(data, what="upload")
            reader = registry.detect(doc, hint=reader_hint)
            reader.validate(doc)
            summary = reader.summarize(doc)
            if summary.finding_count > limits.max_findings:
                raise InputError(
                    f"document: {summary.finding_count} findings exceed the limit of "
                    f"{limits.max_findings}"
                )
            reader_name, producer, document_tlp = reader.name, summary.producer, summary.tlp
            records = reader.read(doc, limits=limits)
        if finding_rows.may_hold_nul(data):
            records = (finding_rows.without_nul(record) for record in records)
            producer = finding_rows.without_nul(producer)
        del data
        tlp = request.tlp or (Tlp.parse(document_tlp) if document_tlp else DEFAULT_TLP)
        recipients = [
            access_service.get_org_by_name_or_raise(session, name=name)
            for name in request.share_with
        ]
        try:
            with session.begin_nested():
                submission = intake_service.create_submission(
                    session,
                    org=org,
                    sha256=stored.sha256,
                    size=stored.size,
                    format=reader_name,
                    producer=producer,
                    tlp=tlp.value,
                    target=request.target,
                    submitted_by=viewer.label,
                    clock=clock,
                )
        except IntegrityError:
            # The same bytes sent again while the first import ran (a client retrying after a
            # timeout): on PostgreSQL both pass the check above, and the unique (organization,
            # digest) row of the one that committed first makes this one a re-submission.
            existing = intake_service.get_by_digest(
                session, organization_id=org.id, sha256=stored.sha256
            )
            if existing is None:
                raise
            return _already_imported(existing)
        for recipient in recipients:
            access_service.grant(
                session,
                resource_kind=intake_service.RESOURCE_KIND,
                resource_id=submission.id,
                org=recipient,
                clock=clock,
            )
        result = dedup_service.ingest(
            session,
            submission=submission,
            records=records,
            target=request.target,
            clock=clock,
            batch_size=batch_size,
        )
        if lazy is not None:
            submission.producer = (
                finding_rows.without_nul(lazy.producer[:500]) if lazy.producer else None
            )
        submission.finding_count = result.findings
        submission.new_vulnerabilities = result.new_vulnerabilities
        submission.duplicates = result.duplicates
        known = vulns_service.public_ids(session, ids=sorted(result.known))
        audit_service.append(
            session,
            clock=clock,
            viewer=viewer,
            action="submission.import",
            object_type="submission",
            object_id=submission.id,
            tlp=tlp.value,
            detail={
                "sha256": stored.sha256,
                "format": reader_name,
                "findings": result.findings,
                "new_vulnerabilities": result.new_vulnerabilities,
                "shared_with": [r.name for r in recipients],
            },
        )
        return ImportOutcome(
            submission=submission.id,
            format=reader_name,
            findings=result.findings,
            new_vulnerabilities=result.new_vulnerabilities,
            duplicates=result.duplicates,
            already_imported=False,
            tlp=tlp.value,
            already_known=tuple(known[i] for i in sorted(known)),
        )
