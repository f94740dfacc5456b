"""SPDX 2.2/2.3 SBOMs (JSON and tag-value) -> :class:`Inventory`, via the maintained spdx-tools.

spdx-tools parses both encodings into one model and validates it against the specification's
rules (mandatory fields, SPDXID syntax, references that resolve, external-reference locators,
license expressions), so the reader trusts its verdict with two relaxations, reported as
warnings instead of refusals:

* the rule that a document with several packages must say which one it DESCRIBES: it decides
  only which package is "the product", and several real generators omit it;
* license identifiers missing from spdx-tools' bundled license list: the SPDX list grows every
  quarter, so refusing would make the verdict depend on the library's release date, and
  licenses play no part in vulnerability matching. (spdx-tools reports an undeclared
  ``LicenseRef-`` with the same message, so that is a warning too.)

spdx-tools is not hardened against wrongly-typed JSON (a string where a package object belongs
raises ``AttributeError``), so anything it raises while parsing becomes a ``SchemaError``; for
JSON the failing package, file or snippet is then located by re-parsing them one by one, so the
error names its pointer. Tag-value errors name the field and, where ply reports it, the line;
pointers into a tag-value document are those the JSON form would have (``/packages/3`` is the
fourth package), since tag-value has no paths of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from spdx_tools.spdx.model.actor import Actor
from spdx_tools.spdx.model.relationship import RelationshipType
from spdx_tools.spdx.parser.error import SPDXParsingError
from spdx_tools.spdx.parser.jsonlikedict.file_parser import FileParser
from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
from spdx_tools.spdx.parser.jsonlikedict.package_parser import PackageParser
from spdx_tools.spdx.parser.jsonlikedict.snippet_parser import SnippetParser
from spdx_tools.spdx.parser.tagvalue.parser import Parser
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from clearinghouse.core.errors import DecodeError, SchemaError
from clearinghouse.formats.decode import decode_json
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.sbom.collect import (
    DEFAULT_SBOM_LIMITS,
    ComponentCollector,
    check_size,
    sbom_limits,
)
from clearinghouse.formats.sbom.records import Inventory, SbomEncoding

_DOCUMENT = "SPDX document"
VERSIONS = ("SPDX-2.2", "SPDX-2.3")
_BOM = b"\xef\xbb\xbf"
_CPE_TYPES = ("cpe22Type", "cpe23Type")
_TOLERATED = (
    re.compile(r"^there must be at least one relationship .*DESCRIBES"),
    re.compile(r"^Unrecognized license reference: "),
)
# spdx-tools wraps beartype's type errors; these pull out the field name for a readable message.
_TYPE_HINT = re.compile(r"SetterError (\w+): .*? parameter (\w+)=(.{0,80}?) violates type hint")
# "\b" and the bound keep the search linear: "(\w+)\." alone backtracks quadratically over a
# long run of letters (a 70 kB relationshipType took over ten seconds).
_MISSING = re.compile(
    r"\b(\w{1,200})\.__init__\(\) missing \d+ required positional arguments?: (.+)$"
)
_LINE = re.compile(r"Line: (\d+)")
_MESSAGE_HEAD = 2_000


def read_spdx(data: bytes, *, limits: ReadLimits = DEFAULT_SBOM_LIMITS) -> Inventory:
    """Validate and read an SPDX 2.2/2.3 document, JSON or tag-value (told apart by content)."""
    sbom = sbom_limits(limits)
    check_size(data, sbom, _DOCUMENT)
    out = ComponentCollector(sbom, _DOCUMENT)
    if data.lstrip(_BOM + b" \t\r\n")[:1] == b"{":
        return _inventory(_parse_json(data), "json", out)
    return _inventory(_parse_tag_value(data), "tag-value", out)


def _parse_json(data: bytes) -> Any:
    doc = decode_json(data, what=_DOCUMENT)
    if not isinstance(doc, dict):
        raise SchemaError("", "an SPDX document (a JSON object)", document=_DOCUMENT)
    version = doc.get("spdxVersion")
    if version not in VERSIONS:
        raise SchemaError(
            "/spdxVersion",
            f"one of the supported versions {', '.join(VERSIONS)} (got {str(version)[:60]!r})",
            document=_DOCUMENT,
        )
    _check_shape(doc)
    try:
        return JsonLikeDictParser().parse(doc)  # type: ignore[no-untyped-call]
    except Exception as exc:  # spdx-tools raises anything on odd input
        pointer, message = _locate_json_error(doc, exc)
        raise SchemaError(pointer, message, document=_DOCUMENT) from None


# The lists spdx-tools iterates without checking their type (wrong ones would crash it), and
# the members of their elements that it iterates as lists: a string there is iterated character
# by character, one parse error (tens of microseconds) per character, so a megabyte string cost
# half a minute before this check. Objects inside must be objects, strings strings.
_MEMBER_LISTS: dict[str, tuple[tuple[str, type], ...]] = {
    "packages": (
        ("externalRefs", dict),
        ("checksums", dict),
        ("annotations", dict),
        ("attributionTexts", str),
        ("licenseInfoFromFiles", str),
        ("hasFiles", str),
    ),
    "files": (
        ("checksums", dict),
        ("annotations", dict),
        ("attributionTexts", str),
        ("fileContributors", str),
        ("fileTypes", str),
        ("licenseInfoInFiles", str),
    ),
    "snippets": (
        ("ranges", dict),
        ("annotations", dict),
        ("attributionTexts", str),
        ("licenseInfoInSnippets", str),
    ),
    "hasExtractedLicensingInfos": (("seeAlsos", str),),
    "annotations": (),
    "relationships": (),
    "externalDocumentRefs": (),
}


def _check_list(value: Any, pointer: str, item_type: type) -> None:
    one = "an object" if item_type is dict else "a string"
    if not isinstance(value, list):
        raise SchemaError(pointer, f"an array of {one.split()[-1]}s", document=_DOCUMENT)
    for index, item in enumerate(value):
        if not isinstance(item, item_type):
            raise SchemaError(f"{pointer}/{index}", one, document=_DOCUMENT)


def _check_shape(doc: dict[str, Any]) -> None:
    """Name the pointer of a wrongly-shaped list before spdx-tools trips over it."""
    info = doc.get("creationInfo")
    if not isinstance(info, dict):
        raise SchemaError("/creationInfo", "an object", document=_DOCUMENT)
    if info.get("creators") is not None:
        _check_list(info["creators"], "/creationInfo/creators", str)
    if doc.get("documentDescribes") is not None:
        _check_list(doc["documentDescribes"], "/documentDescribes", str)
    for key, members in _MEMBER_LISTS.items():
        items = doc.get(key)
        if items is None:
            continue
        _check_list(items, f"/{key}", dict)
        for index, item in enumerate(items):
            for member, item_type in members:
                if item.get(member) is not None:
                    _check_list(item[member], f"/{key}/{index}/{member}", item_type)


def _element_parsers() -> list[tuple[str, Callable[[Any], Any]]]:
    return [
        ("packages", PackageParser().parse_package),  # type: ignore[no-untyped-call]
        ("files", FileParser().parse_file),  # type: ignore[no-untyped-call]
        ("snippets", SnippetParser().parse_snippet),  # type: ignore[no-untyped-call]
    ]


def _locate_json_error(doc: dict[str, Any], exc: Exception) -> tuple[str, str]:
    """Re-parse elements one at a time to find which one spdx-tools refused (error path only)."""
    for key, parse in _element_parsers():
        for index, item in enumerate(doc.get(key) or ()):
            try:
                parse(item)
            except Exception as element_error:  # as above
                return f"/{key}/{index}", _message(element_error)
    return "", _message(exc)


def _message(exc: Exception) -> str:
    """spdx-tools' messages, with beartype's type-hint prose reduced to the field at fault."""
    raw = list(exc.messages) if isinstance(exc, SPDXParsingError) else [repr(exc)]
    tidy: list[str] = []
    # Messages quote the offending value whole; only their head is ever shown.
    for text in (str(m)[:_MESSAGE_HEAD] for m in raw):
        if hint := _TYPE_HINT.search(text):
            element, field, value = hint.groups()
            tidy.append(f"{element}.{field} is missing or of the wrong type (got {value})")
        elif missing := _MISSING.search(text):
            tidy.append(f"{missing.group(1)}: required {missing.group(2)} is missing")
        else:
            tidy.append(text)
    unique = list(dict.fromkeys(tidy))
    more = f" (and {len(unique) - 3} more)" if len(unique) > 3 else ""
    return _short("; ".join(unique[:3]) + more)


def _short(message: str, limit: int = 500) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


class _Silent:
    """A ply logger that drops everything: grammar chatter is not the caller's business."""

    def _drop(self, *args: object, **kwargs: object) -> None:
        return None

    debug = info = warning = error = critical = _drop


# ply would otherwise write parser tables into site-packages and print to stderr.
_PLY_OPTIONS: dict[str, Any] = {"write_tables": False, "debug": False, "errorlog": _Silent()}


def _parse_tag_value(data: bytes) -> Any:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"{_DOCUMENT} is not UTF-8: {exc}") from None
    try:
        document = Parser(**_PLY_OPTIONS).parse(text)  # type: ignore[no-untyped-call]
    except Exception as exc:  # spdx-tools raises anything on odd input
        message = _message(exc)
        line = _LINE.search(message)
        raise SchemaError(
            f"line {line.group(1)}" if line else "", message, document=_DOCUMENT
        ) from None
    version = document.creation_info.spdx_version
    if version not in VERSIONS:
        raise SchemaError(
            "/spdxVersion",
            f"one of the supported versions {', '.join(VERSIONS)} (got {str(version)[:60]!r})",
            document=_DOCUMENT,
        )
    return document


def _pointers(document: Any) -> dict[str, str]:
    """SPDXID -> pointer of the element, for naming where a validation message applies."""
    where = {document.creation_info.spdx_id: ""}
    for key, elements in (
        ("packages", document.packages),
        ("files", document.files),
        ("snippets", document.snippets),
    ):
        for index, element in enumerate(elements):
            where.setdefault(element.spdx_id, f"/{key}/{index}")
    return where


def _inventory(document: Any, encoding: SbomEncoding, out: ComponentCollector) -> Inventory:
    where = _pointers(document)
    for problem in validate_full_spdx_document(document):
        text = problem.validation_message
        context = problem.context
        pointer = where.get(context.spdx_id or "", where.get(context.parent_id or "", ""))
        if any(rule.search(text) for rule in _TOLERATED):
            out.warn(f"{pointer or '/'}: {text}")
            continue
        subject = f" ({context.spdx_id or context.parent_id})" if pointer else ""
        raise SchemaError(pointer, _short(text + subject), document=_DOCUMENT)

    for index, package in enumerate(document.packages):
        pointer = f"/packages/{index}"
        purls: list[tuple[str, str]] = []
        cpes: list[tuple[str, str]] = []
        for ref_index, ref in enumerate(package.external_references):
            ref_pointer = f"{pointer}/externalRefs/{ref_index}/referenceLocator"
            if ref.reference_type == "purl":
                purls.append((ref_pointer, ref.locator))
            elif ref.reference_type in _CPE_TYPES:
                cpes.append((ref_pointer, ref.locator))
        supplier = package.supplier
        out.add(
            pointer,
            name=package.name,
            version=package.version,
            purls=purls,
            cpes=cpes,
            ref=package.spdx_id,
            supplier=supplier.name if isinstance(supplier, Actor) else None,
        )

    info = document.creation_info
    packages_by_id = {package.spdx_id: package for package in document.packages}
    described: list[Any] = []
    for relationship in document.relationships:
        # Either end may be NONE or NOASSERTION (unhashable model objects), not an id.
        subject, target = relationship.spdx_element_id, relationship.related_spdx_element_id
        if not (isinstance(subject, str) and isinstance(target, str)):
            continue
        kind = relationship.relationship_type
        if kind == RelationshipType.DESCRIBES and subject == info.spdx_id:
            described.append(packages_by_id.get(target))
        elif kind == RelationshipType.DESCRIBED_BY and target == info.spdx_id:
            described.append(packages_by_id.get(subject))
    described = [package for package in described if package is not None]
    product = described[0] if len({p.spdx_id for p in described}) == 1 else None
    return Inventory(
        format="spdx",
        spec_version=info.spdx_version.removeprefix("SPDX-"),
        encoding=encoding,
        product_name=out.bounded(product.name if product else info.name, "/name"),
        product_version=out.bounded(product.version if product else None, "/version"),
        serial=out.bounded(info.document_namespace, "/documentNamespace"),
        components=out.components,
        warnings=out.warnings,
    )
