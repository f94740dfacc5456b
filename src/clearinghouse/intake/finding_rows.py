"""Pure mapping of a frozen ``FindingRecord`` to the column values of a ``findings`` row."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from clearinghouse.formats.records import FindingRecord


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


FINDING_COLUMNS = (
    "submission_id",
    "organization_id",
    "seq",
    "vulnerability_id",
    "tlp",
    "pointer",
    "producer",
    "producer_version",
    "rule_id",
    "title",
    "description",
    "cwes",
    "severity",
    "level",
    "security_severity",
    "path",
    "function",
    "start_line",
    "end_line",
    "target",
    "version",
    "aliases",
    "fingerprints",
    "identity",
    "suppressed",
    "details",
    "created_at",
)


def finding_row(
    record: FindingRecord,
    *,
    submission_id: int,
    organization_id: int,
    seq: int,
    vulnerability_id: int,
    tlp: str,
    target: str | None,
    identity: str,
    created_at: object,
) -> tuple[Any, ...]:
    """Column values in ``FINDING_COLUMNS`` order; ``created_at`` already bound for the driver."""
    location = record.location
    details: dict[str, Any] = {}
    if location is not None and location.snippet:
        details["snippet"] = location.snippet
    if location is not None and location.start_column is not None:
        details["start_column"] = location.start_column
    if record.proof is not None:
        details["proof"] = dataclasses.asdict(record.proof)
    if record.provenance is not None:
        details["provenance"] = dataclasses.asdict(record.provenance)
    if record.affected:
        details["affected"] = [dataclasses.asdict(item) for item in record.affected]
    if record.suggested_patch:
        details["suggested_patch"] = record.suggested_patch
    if record.partial_fingerprints:
        details["partial_fingerprints"] = [list(pair) for pair in record.partial_fingerprints]
    if record.code_flow_count:
        details["code_flows"] = record.code_flow_count
    if record.extra:
        details["extra"] = record.extra
    return (
        submission_id,
        organization_id,
        seq,
        vulnerability_id,
        tlp,
        record.pointer,
        record.producer,
        record.producer_version,
        record.rule_id,
        record.title,
        record.description,
        _dumps(list(record.cwes)),
        record.severity.value if record.severity else None,
        record.level,
        record.security_severity,
        location.path if location else None,
        location.function if location else None,
        location.start_line if location else None,
        location.end_line if location else None,
        record.target or target,
        record.version,
        _dumps(list(record.aliases)),
        _dumps([list(pair) for pair in record.fingerprints]),
        identity,
        record.suppressed,
        _dumps(details) if details else "{}",
        created_at,
    )
