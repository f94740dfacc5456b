"""OSV 1.x records (JSON or YAML, decoded) -> one :class:`FindingRecord` per record.

Accepts one record, a list of records, or an osv.dev-style ``{"vulns": [...]}`` page. Records are
validated against Clearinghouse's own OSV schema (``schemas/osv.schema.json``), written from the
OSV specification because no maintained package ships the official one; a corpus test proves it
reaches the official schema's verdict on the PyPA, Go and RustSec databases.

It does not compare versions, expand ranges or decide whether a version is affected (that is
``vulns``/``inventory`` work with a version library): ranges are kept verbatim as JSON. It does
not compute a severity from CVSS vectors (``prioritization`` does); it only maps a database's own
word (GHSA-style ``database_specific.severity``). It performs no I/O beyond reading its packaged
schema.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import orjson

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.limits import DEFAULT_LIMITS, ReadLimits
from clearinghouse.formats.records import AffectedPackage, DocumentSummary, FindingRecord, Severity
from clearinghouse.formats.schema import SchemaValidator, load_packaged_json

_DOCUMENT = "OSV record"
_RECORD_HINTS = ("modified", "affected", "aliases", "schema_version")
_CWE = re.compile(r"^CWE-([1-9][0-9]*)$", re.IGNORECASE)
_GHSA = re.compile(r"^GHSA(-[0-9a-z]{4}){3}$", re.IGNORECASE)

# GHSA and OSV's severity words; "MODERATE" is GitHub's name for medium.
_WORDS = {
    "NONE": Severity.NONE,
    "LOW": Severity.LOW,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "HIGH": Severity.HIGH,
    "CRITICAL": Severity.CRITICAL,
}


def normalize_alias(alias: str) -> str:
    """One spelling per identifier, so the same vulnerability compares equal across sources.

    CVE ids are case-insensitive and conventionally upper-case; GHSA ids are conventionally
    ``GHSA-`` followed by lower-case segments. Other schemes are kept as written, since some
    (``openSUSE-SU-``) are mixed-case by definition.
    """
    text = alias.strip()
    upper = text.upper()
    if upper.startswith("CVE-"):
        return upper
    if _GHSA.match(text):
        return "GHSA" + text[4:].lower()
    return text


def cwe_number(text: str) -> int | None:
    """``"CWE-79"`` -> 79; anything else (``NVD-CWE-noinfo``, free text) -> None."""
    match = _CWE.match(text.strip())
    return int(match.group(1)) if match else None


def _bounded(text: str, pointer: str, limit: int) -> str:
    """Refuse rather than truncate a stored field: a cut description or proof would mislead."""
    if len(text) > limit:
        raise SchemaError(
            pointer, f"a string of at most {limit} characters (got {len(text)})", document=_DOCUMENT
        )
    return text


def _title(text: str, limit: int) -> str:
    """Titles are display text derived from the record, so they are cut, not refused."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _looks_like_record(value: Any) -> bool:
    return isinstance(value, dict) and "id" in value and any(k in value for k in _RECORD_HINTS)


@functools.cache
def _validator() -> SchemaValidator:
    schema = load_packaged_json("clearinghouse.formats", "schemas/osv.schema.json")
    return SchemaValidator(schema, document=_DOCUMENT)


def _records(doc: Any) -> list[tuple[str, Any]]:
    """The records of a document with the pointer prefix of each."""
    if isinstance(doc, list):
        return [(f"/{i}", item) for i, item in enumerate(doc)]
    if isinstance(doc, dict) and "id" not in doc and isinstance(doc.get("vulns"), list):
        return [(f"/vulns/{i}", item) for i, item in enumerate(doc["vulns"])]
    return [("", doc)]


class OsvReader:
    """The OSV codec; stateless, so one module-level instance serves every caller."""

    name = "osv"

    def sniff(self, doc: Any) -> bool:
        if isinstance(doc, dict):
            if "id" in doc:
                return _looks_like_record(doc)
            vulns = doc.get("vulns")
            return (
                isinstance(vulns, list)
                and set(doc) <= {"vulns", "next_page_token"}
                and (not vulns or _looks_like_record(vulns[0]))
            )
        return isinstance(doc, list) and bool(doc) and _looks_like_record(doc[0])

    def validate(self, doc: Any) -> None:
        if not isinstance(doc, dict | list):
            raise SchemaError("", "an OSV record, a list of records or {'vulns': [...]}")
        validator = _validator()
        for prefix, record in _records(doc):
            try:
                validator.check(record)
            except SchemaError as error:
                raise SchemaError(
                    prefix + error.pointer, error.expected, document=_DOCUMENT
                ) from None

    def summarize(self, doc: Any) -> DocumentSummary:
        records = _records(doc)
        producers = {_producer(r) for _, r in records if isinstance(r, dict)}
        return DocumentSummary(
            format=self.name,
            producer=producers.pop() if len(producers) == 1 else None,
            finding_count=len(records),
        )

    def read(self, doc: Any, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[FindingRecord]:
        records = _records(doc)
        if len(records) > limits.max_findings:
            raise SchemaError("", f"at most {limits.max_findings} records", document=_DOCUMENT)
        # Build everything first: a limit violation in record 900 must not leave 899 half-read.
        return iter([_finding(pointer, record, limits) for pointer, record in records])


def _producer(record: dict[str, Any]) -> str:
    """The home database, from the id prefix (``PYSEC-2021-76`` -> ``osv:PYSEC``)."""
    record_id = str(record.get("id", ""))
    return "osv:" + record_id.split("-", 1)[0]


def _finding(pointer: str, record: dict[str, Any], limits: ReadLimits) -> FindingRecord:
    record_id: str = record["id"]
    cap = limits.max_string_chars
    summary = record.get("summary") or ""
    details = record.get("details") or ""
    first_line = next((line for line in details.splitlines() if line.strip()), "")
    title = _title(summary or first_line or record_id, limits.max_title_chars)
    description = _bounded(details, f"{pointer}/details", cap)

    aliases = {normalize_alias(record_id)}
    aliases.update(normalize_alias(a) for a in record.get("aliases") or () if a.strip())
    for alias in aliases:
        _bounded(alias, f"{pointer}/aliases", cap)

    db_specific = record.get("database_specific") or {}
    cwes: set[int] = set()
    # database_specific is free-form in the OSV schema: every value in it may have any type.
    for text in _list(db_specific.get("cwe_ids")):
        if isinstance(text, str) and (number := cwe_number(text)) is not None:
            cwes.add(number)
    # GitHub's GHSA-to-OSV converter puts CWEs per affected package instead.
    for item in record.get("affected") or ():
        for cwe in _list((item.get("database_specific") or {}).get("cwes")):
            text = cwe.get("cweId") if isinstance(cwe, dict) else None
            if isinstance(text, str) and (number := cwe_number(text)) is not None:
                cwes.add(number)
    word = db_specific.get("severity")
    severity = _WORDS.get(word.strip().upper()) if isinstance(word, str) else None

    affected = tuple(
        _affected(f"{pointer}/affected/{i}", item, cap)
        for i, item in enumerate(record.get("affected") or ())
    )
    target = next((a.purl for a in affected if a.purl), None)
    if target is None:
        target = next((f"{a.ecosystem}:{a.name}" for a in affected if a.ecosystem and a.name), None)

    extra = {
        key: record[key]
        for key in ("modified", "published", "withdrawn")
        if isinstance(record.get(key), str)
    }
    return FindingRecord(
        format="osv",
        pointer=pointer,
        producer=_producer(record),
        title=title,
        description=description,
        cwes=tuple(sorted(cwes)),
        severity=severity,
        aliases=tuple(sorted(aliases)),
        target=target,
        affected=affected,
        extra=extra,
    )


def _affected(pointer: str, item: dict[str, Any], cap: int) -> AffectedPackage:
    package = item.get("package") or {}
    ranges = item.get("ranges")
    ranges_json = orjson.dumps(ranges).decode() if ranges else None
    return AffectedPackage(
        ecosystem=_optional(package.get("ecosystem"), f"{pointer}/package/ecosystem", cap),
        name=_optional(package.get("name"), f"{pointer}/package/name", cap),
        purl=_optional(package.get("purl"), f"{pointer}/package/purl", cap),
        ranges_json=_optional(ranges_json, f"{pointer}/ranges", cap),
        versions=tuple(
            _bounded(v, f"{pointer}/versions/{i}", cap)
            for i, v in enumerate(item.get("versions") or ())
        ),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _optional(value: str | None, pointer: str, cap: int) -> str | None:
    return _bounded(value, pointer, cap) if value else None


READER = OsvReader()
