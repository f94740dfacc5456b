"""Which SBOM format a byte string is, so one upload endpoint can take any of them."""

from __future__ import annotations

from typing import Any, Literal

from clearinghouse.core.errors import UnknownFormatError
from clearinghouse.formats.decode import decode_json
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.sbom.collect import DEFAULT_SBOM_LIMITS, check_size, sbom_limits
from clearinghouse.formats.sbom.cyclonedx import XML_NAMESPACE, read_cyclonedx
from clearinghouse.formats.sbom.records import Inventory
from clearinghouse.formats.sbom.safexml import root_tag
from clearinghouse.formats.sbom.spdx import read_spdx

SbomKind = Literal["cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tag-value"]
_BOM = b"\xef\xbb\xbf"
_HEAD = 65_536


def detect_sbom(data: bytes) -> SbomKind:
    """Tell the format from content alone (file names and media types lie).

    Raises ``UnknownFormatError`` for anything else, naming what was seen; JSON or XML that
    does not parse raises ``DecodeError`` instead, since its problem is syntax, not format.
    """
    head = data[:_HEAD].lstrip(_BOM + b" \t\r\n")
    if head[:1] == b"{":
        return _detect_json(decode_json(data, what="SBOM"))
    if head[:1] == b"<":
        return _detect_xml(data)
    if _is_tag_value(head):
        return "spdx-tag-value"
    raise UnknownFormatError(
        "not an SBOM: expected CycloneDX (JSON or XML) or SPDX 2.x (JSON or tag-value)"
    )


def read_sbom(data: bytes, *, limits: ReadLimits = DEFAULT_SBOM_LIMITS) -> Inventory:
    """Detect and read any supported SBOM."""
    check_size(data, sbom_limits(limits), "SBOM")
    kind = detect_sbom(data)
    if kind.startswith("cyclonedx"):
        return read_cyclonedx(data, limits=limits)
    return read_spdx(data, limits=limits)


def _detect_json(doc: Any) -> SbomKind:
    if isinstance(doc, dict):
        if doc.get("bomFormat") == "CycloneDX":
            return "cyclonedx-json"
        if isinstance(doc.get("spdxVersion"), str):
            return "spdx-json"
        if "spdx.org/rdf/3" in str(doc.get("@context", "")):
            raise UnknownFormatError("SPDX 3 (JSON-LD) is not supported; SPDX 2.2 and 2.3 are")
    raise UnknownFormatError(
        "JSON that is neither CycloneDX (no bomFormat 'CycloneDX') nor SPDX (no spdxVersion)"
    )


def _detect_xml(data: bytes) -> SbomKind:
    tag = root_tag(data)
    if tag is not None and XML_NAMESPACE.match(tag):
        return "cyclonedx-xml"
    shown = repr(tag if tag is None else tag[:80])  # a root tag is as long as the sender likes
    raise UnknownFormatError(f"XML with root {shown} is not CycloneDX (SPDX XML is not supported)")


def _is_tag_value(head: bytes) -> bool:
    """SPDX tag-value opens with ``SPDXVersion:`` after any blank or ``#`` comment lines."""
    for line in head.decode("utf-8", errors="replace").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.startswith("SPDXVersion:")
    return False
