"""Pure mapping of a frozen ``FindingRecord`` to the column values of a ``findings`` row."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import orjson

from clearinghouse.formats.records import FindingRecord

_T = TypeVar("_T")
# How a NUL can be written in an uploaded document: raw, or escaped in JSON or YAML.
_NUL_SPELLINGS = (b"\x00", b"\\u0000", b"\\0", b"\\x00", b"\\U00000000")


def may_hold_nul(document: bytes) -> bool:
    """Whether a document might decode to a string holding NUL (a fast scan, no false "no")."""
    return any(spelling in document for spelling in _NUL_SPELLINGS)


def without_nul(value: _T) -> _T:
    """``value`` (a record, or anything inside one) with each NUL in a string replaced by
    U+FFFD. PostgreSQL cannot store NUL in text, SQLite can: found by fuzzing, an upload whose
    finding named one was a 500 on PostgreSQL alone. Scanner output does carry binary bytes in
    messages, so the character is replaced, not the document refused (the raw document, kept
    as a blob, still has it)."""
    result: Any = value
    if isinstance(value, str) and type(value) is str:  # not a StrEnum member (Severity)
        result = value.replace("\x00", "\ufffd")
    elif isinstance(value, tuple):
        items = [without_nul(item) for item in value]
        result = type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: without_nul(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        }
        result = dataclasses.replace(value, **changes)
    elif isinstance(value, Mapping):
        result = MappingProxyType({without_nul(k): without_nul(v) for k, v in value.items()})
    return result  # type: ignore[no-any-return]


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
