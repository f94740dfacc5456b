"""Pure mapping of a frozen ``FindingRecord`` to the column values of a ``findings`` row."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import orjson

from clearinghouse.formats.records import FindingRecord


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# A ``findings`` row is one occurrence; a ``finding_contents`` row what it says, computed once
# per distinct finding (its ``signature``) and stored once per distinct digest.
FINDING_COLUMNS = (
    "submission_id",
    "organization_id",
    "seq",
    "vulnerability_id",
    "tlp",
    "pointer",
    "content_digest",
    "created_at",
)
CONTENT_COLUMNS = (
    "digest",
    "identity",
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
    "suppressed",
    "details",
)


def content_columns(record: FindingRecord, *, target: str | None, identity: str) -> tuple[Any, ...]:
    """``CONTENT_COLUMNS`` values, the digest first: what a finding says, wherever it stands."""
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
        details["extra"] = dict(record.extra)
    values = (
        identity,
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
        record.suppressed,
        _dumps(details) if details else "{}",
    )
    return (hashlib.sha256(orjson.dumps(values)).hexdigest(), *values)
