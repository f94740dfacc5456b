"""CSAF 2.0 documents (advisories, VEX, informational) -> one :class:`FindingRecord` per
``vulnerabilities`` entry.

Validates against the CSAF 2.0 JSON schema that the ``csaf`` package ships, with the FIRST CVSS
v2.0/v3.0/v3.1 schemas it references registered under the URLs the CSAF schema ``$ref``s, so
nothing is fetched. Affected products are the ``known_affected``, ``first_affected`` and
``last_affected`` product ids resolved through the product tree (branches at any depth,
``full_product_names`` and relationships) to a name and a purl.

It does not run the OASIS mandatory/optional tests (6.1.x, 6.2.x: unique product ids, CVSS
vector/score consistency …), which go beyond the schema; it does not read CSAF 2.1. The
document-level TLP label is carried on the summary and on every record (TLP 1.0 ``WHITE`` is read
as TLP 2.0 ``CLEAR``); enforcing it is ``access``'s work. No I/O beyond the packaged schemas.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from clearinghouse.core.errors import InputError, SchemaError
from clearinghouse.core.tlp import Tlp
from clearinghouse.formats.limits import DEFAULT_LIMITS, ReadLimits
from clearinghouse.formats.osv import cwe_number, normalize_alias
from clearinghouse.formats.records import AffectedPackage, DocumentSummary, FindingRecord, Severity
from clearinghouse.formats.schema import SchemaValidator, load_packaged_json

_DOCUMENT = "CSAF document"
_PACKAGE = "csaf"
_SCHEMA_DIR = "csaf/v20/schema"
# The CSAF schema $refs these URLs; the FIRST files' own $id carry a "?date" suffix instead.
_CVSS_SCHEMAS = {
    "https://www.first.org/cvss/cvss-v2.0.json": "cvss-v2.0.json",
    "https://www.first.org/cvss/cvss-v3.0.json": "cvss-v3.0.json",
    "https://www.first.org/cvss/cvss-v3.1.json": "cvss-v3.1.json",
}
_AFFECTED_STATUSES = ("known_affected", "first_affected", "last_affected")
_NOTE_ORDER = ("description", "summary")
# Identifier schemes recognisable as vulnerability ids in ``ids[].text``; a vendor's bug-tracker
# number ("Red Hat Bugzilla ID" 2268273) is not one.
_VULN_ID = re.compile(
    r"^(CVE|GHSA|PYSEC|GO|RUSTSEC|OSV|GSD|MAL|HSEC|JLSEC|BIT|CGA|USN|DSA|DLA)-[0-9A-Za-z][-0-9A-Za-z.:]*$",
    re.IGNORECASE,
)
_SEVERITIES = {s.value: s for s in Severity}


def _bounded(text: str, pointer: str, limit: int) -> str:
    """Refuse rather than truncate a stored field: a cut description would mislead."""
    if len(text) > limit:
        raise SchemaError(
            pointer, f"a string of at most {limit} characters (got {len(text)})", document=_DOCUMENT
        )
    return text


def _title(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@functools.cache
def _validator() -> SchemaValidator:
    schema = load_packaged_json(_PACKAGE, f"{_SCHEMA_DIR}/csaf.json")
    resources = {
        url: load_packaged_json(_PACKAGE, f"{_SCHEMA_DIR}/referenced/{file}")
        for url, file in _CVSS_SCHEMAS.items()
    }
    return SchemaValidator(schema, document=_DOCUMENT, resources_by_uri=resources)


class CsafReader:
    """The CSAF 2.0 codec; stateless, so one module-level instance serves every caller."""

    name = "csaf"

    def sniff(self, doc: Any) -> bool:
        document = doc.get("document") if isinstance(doc, dict) else None
        return isinstance(document, dict) and "csaf_version" in document

    def validate(self, doc: Any) -> None:
        document = doc.get("document") if isinstance(doc, dict) else None
        version = document.get("csaf_version") if isinstance(document, dict) else None
        if version is not None and version != "2.0":
            # The schema would say the same, but perhaps only after a dozen other complaints
            # that all stem from the older structure.
            raise SchemaError(
                "/document/csaf_version",
                f"CSAF version 2.0 (this document says {str(version)[:40]!r}; "
                "CSAF 1.x/CVRF and 2.1 are not read)",
                document=_DOCUMENT,
            )
        _validator().check(doc)

    def summarize(self, doc: Any) -> DocumentSummary:
        document = doc.get("document") or {}
        return DocumentSummary(
            format=self.name,
            producer=_producer(document),
            finding_count=len(doc.get("vulnerabilities") or ()),
            tlp=_tlp(document),
        )

    def read(self, doc: Any, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[FindingRecord]:
        vulnerabilities = doc.get("vulnerabilities") or []
        if len(vulnerabilities) > limits.max_findings:
            raise SchemaError(
                "/vulnerabilities", f"at most {limits.max_findings} entries", document=_DOCUMENT
            )
        document: dict[str, Any] = doc["document"]
        products = _product_index(doc.get("product_tree") or {})
        context = _Context(
            producer=_producer(document) or "csaf",
            tlp=_tlp(document),
            title=str(document.get("title", "")),
            tracking_id=str((document.get("tracking") or {}).get("id", "")),
            products=products,
            limits=limits,
        )
        return iter([_finding(i, v, context) for i, v in enumerate(vulnerabilities)])


def _producer(document: dict[str, Any]) -> str | None:
    publisher = document.get("publisher") or {}
    value = publisher.get("namespace") or publisher.get("name")
    return str(value) if value else None


def _tlp(document: dict[str, Any]) -> str | None:
    label = ((document.get("distribution") or {}).get("tlp") or {}).get("label")
    if not isinstance(label, str):
        return None
    try:
        return Tlp.parse(label).value
    except InputError:
        return None  # the schema admits only the four TLP 1.0 labels; this cannot happen


@dataclass(frozen=True, slots=True)
class _Context:
    """What every vulnerability of one document shares."""

    producer: str
    tlp: str | None
    title: str
    tracking_id: str
    products: dict[str, tuple[str, str | None]]
    limits: ReadLimits


def _product_index(tree: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """product_id -> (name, purl) over the whole product tree.

    A relationship names a combined product ("git-lfs as a component of RHEL AppStream 8.6");
    it usually carries no helper of its own, so it borrows the component's purl.
    """
    index: dict[str, tuple[str, str | None]] = {}

    def add(full: Any) -> None:
        if isinstance(full, dict) and isinstance(full.get("product_id"), str):
            helper = full.get("product_identification_helper") or {}
            purl = helper.get("purl") if isinstance(helper.get("purl"), str) else None
            index[full["product_id"]] = (str(full.get("name", "")), purl)

    # Iterative walk: branch nesting is attacker-controlled, recursion depth should not be.
    stack: list[Any] = list(tree.get("branches") or ())
    while stack:
        branch = stack.pop()
        if isinstance(branch, dict):
            add(branch.get("product"))
            stack.extend(branch.get("branches") or ())
    for full in tree.get("full_product_names") or ():
        add(full)
    for relationship in tree.get("relationships") or ():
        full = relationship.get("full_product_name") or {}
        add(full)
        product_id = full.get("product_id")
        component = index.get(str(relationship.get("product_reference", "")))
        if isinstance(product_id, str) and product_id in index and component:
            name, purl = index[product_id]
            index[product_id] = (name, purl or component[1])
    return index


def _finding(i: int, vuln: dict[str, Any], ctx: _Context) -> FindingRecord:
    pointer = f"/vulnerabilities/{i}"
    cap = ctx.limits.max_string_chars

    aliases: set[str] = set()
    if isinstance(vuln.get("cve"), str):
        aliases.add(normalize_alias(vuln["cve"]))
    for entry in vuln.get("ids") or ():
        text = str(entry.get("text", "")).strip()
        if _VULN_ID.match(text):
            aliases.add(_bounded(normalize_alias(text), f"{pointer}/ids", cap))

    description, note_index = _description(vuln.get("notes") or [])
    if note_index is not None:
        _bounded(description, f"{pointer}/notes/{note_index}/text", cap)
    title = _title(
        vuln.get("title") or ctx.title or next(iter(sorted(aliases)), "") or "CSAF vulnerability",
        ctx.limits.max_title_chars,
    )

    cwe = vuln.get("cwe") or {}
    number = cwe_number(cwe["id"]) if isinstance(cwe.get("id"), str) else None
    severity, score = _severity(vuln.get("scores") or ())

    status = vuln.get("product_status") or {}
    affected: list[AffectedPackage] = []
    seen: set[tuple[str, str | None]] = set()
    for key in _AFFECTED_STATUSES:
        for product_id in status.get(key) or ():
            name, purl = ctx.products.get(product_id, (product_id, None))
            if (name, purl) in seen:
                continue
            seen.add((name, purl))
            affected.append(
                AffectedPackage(
                    name=_bounded(name, f"{pointer}/product_status/{key}", cap) or None,
                    purl=_bounded(purl, f"{pointer}/product_status/{key}", cap) if purl else None,
                )
            )

    extra: dict[str, str] = {}
    if ctx.tracking_id:
        extra["tracking_id"] = _bounded(ctx.tracking_id, "/document/tracking/id", cap)
    fixed = sorted(
        {
            purl
            for pid in status.get("fixed") or ()
            if (purl := ctx.products.get(pid, ("", None))[1])
        }
    )
    if fixed:
        extra["fixed_purls"] = _bounded(
            orjson.dumps(fixed).decode(), f"{pointer}/product_status/fixed", cap
        )

    return FindingRecord(
        format="csaf",
        pointer=pointer,
        producer=ctx.producer,
        title=title,
        description=description,
        cwes=(number,) if number is not None else (),
        severity=severity,
        security_severity=score,
        aliases=tuple(sorted(aliases)),
        target=next((a.purl for a in affected if a.purl), None),
        affected=tuple(affected),
        tlp=ctx.tlp,
        extra=extra,
    )


def _description(notes: list[dict[str, Any]]) -> tuple[str, int | None]:
    """The note that describes the vulnerability: ``description``, else ``summary``, else any."""
    for category in _NOTE_ORDER:
        for index, note in enumerate(notes):
            if note.get("category") == category and isinstance(note.get("text"), str):
                return note["text"], index
    for index, note in enumerate(notes):
        if isinstance(note.get("text"), str):
            return note["text"], index
    return "", None


def _severity(scores: Any) -> tuple[Severity | None, float | None]:
    """CVSS v3 ``baseSeverity`` first; a v2-only score is banded as NVD does."""
    for score in scores:
        cvss = score.get("cvss_v3")
        if isinstance(cvss, dict) and isinstance(cvss.get("baseSeverity"), str):
            base = cvss.get("baseScore")
            return (
                _SEVERITIES.get(cvss["baseSeverity"].lower()),
                float(base) if isinstance(base, int | float) else None,
            )
    for score in scores:
        cvss = score.get("cvss_v2")
        if isinstance(cvss, dict) and isinstance(cvss.get("baseScore"), int | float):
            base = float(cvss["baseScore"])
            band = Severity.LOW if base < 4 else Severity.MEDIUM if base < 7 else Severity.HIGH
            return band, base
    return None, None


READER = CsafReader()
