"""CVE JSON 5.x records -> one :class:`FindingRecord` per record.

Validates against the CVE Record Format 5.1.1 bundled schema that cvelib ships (it also accepts
``dataVersion`` 5.0 records, which the 5.1.1 schema allows). A bare CNA or ADP container (what a
CNA submits to the CVE Services API, without ``cveMetadata``) is not a record and is refused with
a reason. Reads the CNA container and the ADP containers (CISA-ADP's CVSS scores among them).

It does not interpret version ranges (``versions`` are kept verbatim as JSON), CPE
applicability, SSVC decision points or KEV entries; those stay in the raw document that
``pointer`` leads back into. No I/O beyond reading cvelib's packaged schema.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import orjson

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.limits import DEFAULT_LIMITS, ReadLimits
from clearinghouse.formats.osv import cwe_number, normalize_alias
from clearinghouse.formats.records import AffectedPackage, DocumentSummary, FindingRecord, Severity
from clearinghouse.formats.schema import SchemaValidator, load_packaged_json

_DOCUMENT = "CVE record"
_SCHEMA_PACKAGE = "cvelib"
_SCHEMA_PATH = "schemas/CVE_JSON_bundled_5.1.1.json"
# Newest CVSS first: a record scored in v4.0 and v3.1 is described by its v4.0 score.
_CVSS_KEYS = ("cvssV4_0", "cvssV3_1", "cvssV3_0")
_SEVERITIES = {s.value: s for s in Severity}


def _bounded(text: str, pointer: str, limit: int) -> str:
    """Refuse rather than truncate a stored field: a cut description would mislead."""
    if len(text) > limit:
        raise SchemaError(
            pointer, f"a string of at most {limit} characters (got {len(text)})", document=_DOCUMENT
        )
    return text


def _title(text: str, limit: int) -> str:
    """Titles are display text (often the first sentence of a description), so they are cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = load_packaged_json(_SCHEMA_PACKAGE, _SCHEMA_PATH)
    return schema


@functools.cache
def _validator() -> SchemaValidator:
    return SchemaValidator(_schema(), document=_DOCUMENT)


@functools.cache
def _state_validator(state: str) -> SchemaValidator | None:
    """The schema's ``oneOf`` branch for one state, to name the real problem on failure.

    The whole schema is a ``oneOf`` (Published | Rejected), so its own first error is the
    useless "not valid under any of the given schemas" at the root; the branch that matches the
    record's declared state points at the offending field instead.
    """
    schema = _schema()
    for branch in schema["oneOf"]:
        states = (
            branch.get("properties", {}).get("cveMetadata", {}).get("$ref", "").rsplit("/", 1)[-1]
        )
        wanted = "cveMetadataPublished" if state == "PUBLISHED" else "cveMetadataRejected"
        if states == wanted:
            single = {"$schema": schema["$schema"], "definitions": schema["definitions"], **branch}
            return SchemaValidator(single, document=_DOCUMENT)
    return None


class Cve5Reader:
    """The CVE JSON 5 codec; stateless, so one module-level instance serves every caller."""

    name = "cve5"

    def sniff(self, doc: Any) -> bool:
        return isinstance(doc, dict) and (
            doc.get("dataType") == "CVE_RECORD" or isinstance(doc.get("cveMetadata"), dict)
        )

    def validate(self, doc: Any) -> None:
        if isinstance(doc, dict) and "cveMetadata" not in doc and "providerMetadata" in doc:
            raise SchemaError(
                "",
                "a full CVE record (dataType, dataVersion, cveMetadata, containers); this is a "
                "bare CNA/ADP container, which the CVE Services API wraps into a record",
                document=_DOCUMENT,
            )
        validator = _validator()
        if validator.is_valid(doc):
            return
        metadata = doc.get("cveMetadata") if isinstance(doc, dict) else None
        state = metadata.get("state") if isinstance(metadata, dict) else None
        branch = _state_validator(state) if isinstance(state, str) else None
        if isinstance(doc, dict) and isinstance(doc.get("cveMetadata"), dict) and branch is None:
            raise SchemaError(
                "/cveMetadata/state", "one of PUBLISHED, REJECTED", document=_DOCUMENT
            )
        (branch or validator).check(doc)
        validator.check(doc)  # the branch passed but the whole did not: report the whole

    def summarize(self, doc: Any) -> DocumentSummary:
        metadata = doc.get("cveMetadata") or {}
        return DocumentSummary(
            format=self.name, producer=metadata.get("assignerShortName"), finding_count=1
        )

    def read(self, doc: Any, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[FindingRecord]:
        return iter([_finding(doc, limits)])


def _english(entries: list[dict[str, Any]] | None) -> tuple[int, str] | None:
    """The English entry (``lang`` ``en``, ``en-US`` …) with its index, else the first one."""
    if not entries:
        return None
    for index, entry in enumerate(entries):
        if str(entry.get("lang", "")).lower().startswith("en"):
            return index, str(entry.get("value", ""))
    return 0, str(entries[0].get("value", ""))


def _finding(doc: dict[str, Any], limits: ReadLimits) -> FindingRecord:
    cap = limits.max_string_chars
    metadata: dict[str, Any] = doc["cveMetadata"]
    cve_id = normalize_alias(metadata["cveId"])
    state = metadata.get("state")
    containers: dict[str, Any] = doc.get("containers") or {}
    cna: dict[str, Any] = containers.get("cna") or {}
    adps: list[dict[str, Any]] = containers.get("adp") or []
    producer = metadata.get("assignerShortName") or (cna.get("providerMetadata") or {}).get(
        "shortName", "cve"
    )
    extra: dict[str, str] = {}
    for key in ("datePublished", "dateUpdated", "dateRejected"):
        if isinstance(metadata.get(key), str):
            extra[key] = metadata[key]
    if doc.get("dataVersion"):
        extra["dataVersion"] = str(doc["dataVersion"])

    if state == "REJECTED":
        extra["state"] = "REJECTED"
        found = _english(cna.get("rejectedReasons"))
        reason = found[1] if found else ""
        pointer = f"/containers/cna/rejectedReasons/{found[0]}/value" if found else ""
        return FindingRecord(
            format="cve5",
            pointer="",
            producer=producer,
            title=_title(reason or f"{cve_id} (rejected)", limits.max_title_chars),
            description=_bounded(reason, pointer, cap),
            aliases=(cve_id,),
            extra=extra,
        )

    found = _english(cna.get("descriptions"))
    description = ""
    if found:
        description = _bounded(found[1], f"/containers/cna/descriptions/{found[0]}/value", cap)
    title = _title(cna.get("title") or description or cve_id, limits.max_title_chars)

    cwes: set[int] = set()
    for container in (cna, *adps):
        for problem in container.get("problemTypes") or ():
            for item in problem.get("descriptions") or ():
                cwe_id = item.get("cweId")
                if isinstance(cwe_id, str) and (number := cwe_number(cwe_id)) is not None:
                    cwes.add(number)

    severity, score = _severity(cna, adps)
    affected = tuple(
        _affected(f"/containers/cna/affected/{i}", item, cap)
        for i, item in enumerate(cna.get("affected") or ())
    )
    return FindingRecord(
        format="cve5",
        pointer="",
        producer=producer,
        title=title,
        description=description,
        cwes=tuple(sorted(cwes)),
        severity=severity,
        security_severity=score,
        aliases=(cve_id,),
        target=_target(cna.get("affected") or ()),
        affected=affected,
        extra=extra,
    )


def _severity(
    cna: dict[str, Any], adps: list[dict[str, Any]]
) -> tuple[Severity | None, float | None]:
    """The CNA's own score wins over an ADP's; within a container the newest CVSS version wins.

    CVSS v2.0 has no severity word, so its base score is banded as NVD does (0-3.9 low, 4-6.9
    medium, 7-10 high).
    """
    for container in (cna, *adps):
        metrics = container.get("metrics") or ()
        for key in _CVSS_KEYS:
            for metric in metrics:
                cvss = metric.get(key)
                if isinstance(cvss, dict) and isinstance(cvss.get("baseSeverity"), str):
                    score = cvss.get("baseScore")
                    return (
                        _SEVERITIES.get(cvss["baseSeverity"].lower()),
                        float(score) if isinstance(score, int | float) else None,
                    )
        for metric in metrics:
            cvss = metric.get("cvssV2_0")
            if isinstance(cvss, dict) and isinstance(cvss.get("baseScore"), int | float):
                score = float(cvss["baseScore"])
                band = (
                    Severity.LOW if score < 4 else Severity.MEDIUM if score < 7 else Severity.HIGH
                )
                return band, score
    return None, None


def _affected(pointer: str, item: dict[str, Any], cap: int) -> AffectedPackage:
    name = item.get("packageName") or item.get("product")
    ecosystem = item.get("collectionURL") or item.get("vendor")
    versions = item.get("versions")
    ranges_json = orjson.dumps(versions).decode() if versions else None
    if ranges_json is not None:
        _bounded(ranges_json, f"{pointer}/versions", cap)
    purl = item.get("packageURL")  # CVE 5.2 adds packageURL; 5.1.1 records never carry it
    return AffectedPackage(
        ecosystem=_bounded(ecosystem, f"{pointer}/vendor", cap) if ecosystem else None,
        name=_bounded(name, f"{pointer}/product", cap) if name else None,
        purl=_bounded(purl, f"{pointer}/packageURL", cap) if isinstance(purl, str) else None,
        ranges_json=ranges_json,
    )


def _target(affected: Any) -> str | None:
    """What a matcher should look for: a purl if given, else ``collection/package`` or
    ``vendor/product`` (the CVE program's own identification of a product)."""
    for item in affected:
        if isinstance(item.get("packageURL"), str):
            return str(item["packageURL"])
    for item in affected:
        collection, package = _known(item.get("collectionURL")), _known(item.get("packageName"))
        if collection and package:
            return f"{collection}/{package}"
        vendor, product = _known(item.get("vendor")), _known(item.get("product"))
        if vendor and product:
            return f"{vendor}/{product}"
    return None


def _known(value: Any) -> str | None:
    """MITRE-assigned records say ``n/a`` for an unknown vendor or product; that names nothing."""
    if isinstance(value, str) and value.strip() and value.strip().lower() != "n/a":
        return value
    return None


READER = Cve5Reader()
