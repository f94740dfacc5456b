"""CycloneDX SBOMs (JSON 1.2-1.7, XML 1.0-1.7) -> :class:`Inventory`.

Every document is validated against the official schema of the version it declares, as shipped
by ``cyclonedx-python-lib`` (``cyclonedx/schema/_res``, its offline copies of the specification's
schema folder), before anything is read from it. Two notes on those copies: the library removed
the ``$schema`` enum and made the top-level ``version`` optional (its README lists the edits),
and they are the maintained, versioned source we can pin, which a vendored copy would not be.

JSON is validated with jsonschema-rs *with* format checks: the specification's own test suite
needs them, because ``invalid-metadata-timestamp`` is invalid only by ``format: date-time``, and
the JSF ``algorithm`` field is ``oneOf`` an enum and a ``format: uri`` string, so "ES256" is
valid only when "uri" is checked (else it matches both branches and ``oneOf`` fails).

XML is parsed by :mod:`.safexml` (no entities, DTDs, network or file reads; any DOCTYPE refused)
and validated with lxml against the version's XSD from the same package.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import orjson
from lxml import etree

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.decode import decode_json
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.sbom.collect import (
    DEFAULT_SBOM_LIMITS,
    ComponentCollector,
    check_size,
    sbom_limits,
)
from clearinghouse.formats.sbom.records import Inventory
from clearinghouse.formats.sbom.safexml import parse_xml
from clearinghouse.formats.schema import first_violation

_DOCUMENT = "CycloneDX document"
JSON_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
XML_VERSIONS = ("1.0", "1.1", *JSON_VERSIONS)
XML_NAMESPACE = re.compile(r"^\{http://cyclonedx\.org/schema/bom/(\d+\.\d+)\}bom$")
_SCHEMA_PACKAGE = "cyclonedx"
_SCHEMA_DIR = ("schema", "_res")
# The bom schemas $ref these by relative name; their $ids live under this base.
_SCHEMA_BASE = "http://cyclonedx.org/schema/"
_REFERENCED = (
    "spdx.SNAPSHOT.schema.json",
    "jsf-0.82.SNAPSHOT.schema.json",
    "cryptography-defs.SNAPSHOT.schema.json",
)


def read_cyclonedx(data: bytes, *, limits: ReadLimits = DEFAULT_SBOM_LIMITS) -> Inventory:
    """Validate and read a CycloneDX BOM, JSON or XML (told apart by the first byte)."""
    sbom = sbom_limits(limits)
    check_size(data, sbom, _DOCUMENT)
    if _first_byte(data) == b"<":
        return _read_xml(data, ComponentCollector(sbom, _DOCUMENT))
    return _read_json(data, ComponentCollector(sbom, _DOCUMENT))


def _first_byte(data: bytes) -> bytes:
    return data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


# --- JSON ----------------------------------------------------------------------------------


def _schema_bytes(name: str) -> bytes:
    return importlib.resources.files(_SCHEMA_PACKAGE).joinpath(*_SCHEMA_DIR, name).read_bytes()


@functools.cache
def _json_validator(version: str) -> Any:
    """Compile once per version; the referenced side schemas resolve from the same package."""
    schema = orjson.loads(_schema_bytes(f"bom-{version}.SNAPSHOT.schema.json"))
    registry = jsonschema_rs.Registry(
        [(_SCHEMA_BASE + name, orjson.loads(_schema_bytes(name))) for name in _REFERENCED]
    )
    return jsonschema_rs.validator_for(schema, registry=registry, validate_formats=True)


def _read_json(data: bytes, out: ComponentCollector) -> Inventory:
    doc = decode_json(data, what=_DOCUMENT)
    if not isinstance(doc, dict):
        raise SchemaError("", "a CycloneDX BOM (a JSON object)", document=_DOCUMENT)
    if doc.get("bomFormat") != "CycloneDX":
        raise SchemaError("/bomFormat", '"CycloneDX"', document=_DOCUMENT)
    version = doc.get("specVersion")
    if version not in JSON_VERSIONS:
        raise SchemaError(
            "/specVersion",
            f"one of the supported versions {', '.join(JSON_VERSIONS)} (got {str(version)[:60]!r})",
            document=_DOCUMENT,
        )
    violation = first_violation(_json_validator(version), doc)
    if violation is not None:
        raise SchemaError(*violation, document=_DOCUMENT)

    metadata = doc.get("metadata") or {}
    product = metadata.get("component") or {}
    for pointer, item in _walk_json(product.get("components"), "/metadata/component/components"):
        _add_json(out, pointer, item)
    for pointer, item in _walk_json(doc.get("components"), "/components"):
        _add_json(out, pointer, item)
    return Inventory(
        format="cyclonedx",
        spec_version=version,
        encoding="json",
        product_name=out.bounded(
            _qualified(product.get("group"), product.get("name")), "/metadata/component/name"
        ),
        product_version=out.bounded(product.get("version"), "/metadata/component/version"),
        serial=out.bounded(doc.get("serialNumber"), "/serialNumber"),
        components=out.components,
        warnings=out.warnings,
    )


def _walk_json(items: Any, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Components depth-first in document order, nested ones right after their parent."""
    stack = [(f"{prefix}/{i}", item) for i, item in enumerate(items or ())]
    stack.reverse()
    while stack:
        pointer, item = stack.pop()
        yield pointer, item
        children = [
            (f"{pointer}/components/{i}", c) for i, c in enumerate(item.get("components") or ())
        ]
        stack.extend(reversed(children))


def _add_json(out: ComponentCollector, pointer: str, item: dict[str, Any]) -> None:
    supplier = item.get("supplier") or {}
    out.add(
        pointer,
        name=_qualified(item.get("group"), item.get("name")) or "",
        version=item.get("version"),
        purls=[(f"{pointer}/purl", item["purl"])] if item.get("purl") else [],
        cpes=[(f"{pointer}/cpe", item["cpe"])] if item.get("cpe") else [],
        ref=item.get("bom-ref"),
        supplier=supplier.get("name"),
    )


def _qualified(group: str | None, name: str | None) -> str | None:
    if name is None:
        return None
    return f"{group}/{name}" if group else name


def _short(message: str, limit: int = 300) -> str:
    """Validator messages quote the offending value, which may be huge."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


# --- XML -----------------------------------------------------------------------------------


@functools.cache
def _xml_schema(version: str) -> Any:
    """The XSD of one version, compiled once.

    It imports ``spdx.SNAPSHOT.xsd`` by relative path, so it is parsed from its file in the
    package directory (trusted input) rather than from bytes.
    """
    resource = importlib.resources.files(_SCHEMA_PACKAGE).joinpath(
        *_SCHEMA_DIR, f"bom-{version}.SNAPSHOT.xsd"
    )
    with importlib.resources.as_file(resource) as path:
        return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(no_network=True)))


def _read_xml(data: bytes, out: ComponentCollector) -> Inventory:
    tree = parse_xml(data, _DOCUMENT)
    root = tree.getroot()
    match = XML_NAMESPACE.match(root.tag) if isinstance(root.tag, str) else None
    if match is None or match.group(1) not in XML_VERSIONS:
        raise SchemaError(
            "/" + _local(root.tag),
            "a <bom> element in a CycloneDX namespace http://cyclonedx.org/schema/bom/1.x for "
            f"one of the supported versions {', '.join(XML_VERSIONS)} (got {str(root.tag)[:80]!r})",
            document=_DOCUMENT,
        )
    version = match.group(1)
    schema = _xml_schema(version)
    if not schema.validate(tree):
        error = schema.error_log[0]
        found = tree.xpath(error.path) if error.path else []
        where = _element_path(found[0]) if found else "/bom"
        raise SchemaError(where, _short(f"{error.message} (line {error.line})"), document=_DOCUMENT)

    ns = "{" + root.tag[1:].split("}", 1)[0] + "}"
    product = _child(_child(root, ns + "metadata"), ns + "component")
    if product is not None:
        nested = _child(product, ns + "components")
        for pointer, element in _walk_xml(nested, "/bom/metadata/component/components", ns):
            _add_xml(out, pointer, element, ns)
    for pointer, element in _walk_xml(_child(root, ns + "components"), "/bom/components", ns):
        _add_xml(out, pointer, element, ns)
    return Inventory(
        format="cyclonedx",
        spec_version=version,
        encoding="xml",
        product_name=out.bounded(
            _qualified(_text(product, ns + "group"), _text(product, ns + "name")),
            "/bom/metadata/component/name",
        ),
        product_version=out.bounded(
            _text(product, ns + "version"), "/bom/metadata/component/version"
        ),
        serial=out.bounded(root.get("serialNumber"), "/bom/@serialNumber"),
        components=out.components,
        warnings=out.warnings,
    )


def _child(element: Any, tag: str) -> Any:
    return None if element is None else element.find(tag)


def _text(element: Any, tag: str) -> str | None:
    child = _child(element, tag)
    if child is None or child.text is None:
        return None
    return str(child.text).strip() or None


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _element_path(element: Any) -> str:
    """``/bom/components/component[3]/purl``: an XPath with local names, 1-based indexes."""
    parts: list[str] = []
    while element is not None:
        name = _local(element.tag)
        parent = element.getparent()
        if parent is not None:
            same = [e for e in parent if e.tag == element.tag]
            if len(same) > 1:
                name += f"[{same.index(element) + 1}]"
        parts.append(name)
        element = parent
    return "/" + "/".join(reversed(parts))


def _walk_xml(container: Any, prefix: str, ns: str) -> Iterator[tuple[str, Any]]:
    """``<component>`` elements depth-first in document order, nested ones after their parent,
    each with its path (``/bom/components/component[3]``, 1-based like XPath).

    Recursion is bounded: libxml2 refuses nesting deeper than 256 levels without huge_tree.
    """
    if container is None:
        return
    for index, element in enumerate(container.iterchildren(ns + "component"), start=1):
        pointer = f"{prefix}/component[{index}]"
        yield pointer, element
        yield from _walk_xml(_child(element, ns + "components"), pointer + "/components", ns)


_XML_FIELDS = frozenset({"group", "name", "version", "purl", "cpe"})


def _add_xml(out: ComponentCollector, pointer: str, element: Any, ns: str) -> None:
    # One pass over the children: find() per field is the slow part on 100k-component BOMs.
    fields: dict[str, str] = {}
    supplier: str | None = None
    for child in element:
        if not isinstance(child.tag, str) or not child.tag.startswith(ns):
            continue
        local = child.tag[len(ns) :]
        if local in _XML_FIELDS and local not in fields and child.text and child.text.strip():
            fields[local] = child.text.strip()
        elif local == "supplier":
            supplier = _text(child, ns + "name")
    purl = fields.get("purl")
    cpe = fields.get("cpe")
    out.add(
        pointer,
        name=_qualified(fields.get("group"), fields.get("name")) or "",
        version=fields.get("version"),
        purls=[(f"{pointer}/purl", purl)] if purl else [],
        cpes=[(f"{pointer}/cpe", cpe)] if cpe else [],
        ref=element.get("bom-ref"),
        supplier=supplier,
    )
