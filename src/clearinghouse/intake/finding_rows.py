"""Pure mapping of a frozen ``FindingRecord`` to the column values of a ``findings`` row."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson

from clearinghouse.formats.records import FindingRecord


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def finding_row(
    record: FindingRecord,
    *,
    submission_id: int,
    organization_id: int,
    seq: int,
    vulnerability_id: int,
    tlp: str,
    target: str | None,
    identity: dict[str, list[str]],
    created_at: dt.datetime,
) -> dict[str, Any]:
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
    return {
        "submission_id": submission_id,
        "organization_id": organization_id,
        "seq": seq,
        "vulnerability_id": vulnerability_id,
        "tlp": tlp,
        "pointer": record.pointer,
        "producer": record.producer,
        "producer_version": record.producer_version,
        "rule_id": record.rule_id,
        "title": record.title,
        "description": record.description,
        "cwes": _dumps(list(record.cwes)),
        "severity": record.severity.value if record.severity else None,
        "level": record.level,
        "security_severity": record.security_severity,
        "path": location.path if location else None,
        "function": location.function if location else None,
        "start_line": location.start_line if location else None,
        "end_line": location.end_line if location else None,
        "target": record.target or target,
        "version": record.version,
        "aliases": _dumps(list(record.aliases)),
        "fingerprints": _dumps([list(pair) for pair in record.fingerprints]),
        "identity": _dumps(identity),
        "suppressed": record.suppressed,
        "details": _dumps(details),
        "created_at": created_at,
    }
