"""Which VEX format a byte string is, so one upload endpoint can take any of them.

Decided from content alone (file names and media types lie): OpenVEX by its JSON-LD
``@context``, CycloneDX by ``bomFormat`` *and* vulnerabilities carrying an analysis (an SBOM or a
scanner's vulnerability report is not VEX), CSAF by ``document.csaf_version`` *and* category
``csaf_vex`` (an advisory is not VEX either). Everything else is ``UnknownFormatError`` naming what
was expected; JSON that does not parse is ``DecodeError``, its problem being syntax.
"""

from __future__ import annotations

from typing import Any

from clearinghouse.core.errors import UnknownFormatError
from clearinghouse.formats.decode import decode_json
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.vex.common import DEFAULT_VEX_LIMITS, VexLimits, check_size, vex_limits
from clearinghouse.formats.vex.csaf import CATEGORY, csaf_category, csaf_vex_document
from clearinghouse.formats.vex.cyclonedx import cyclonedx_vex_document, has_analysis
from clearinghouse.formats.vex.openvex import CONTEXT_PREFIX, openvex_document
from clearinghouse.formats.vex.records import VexDocument, VexFormat

_DOCUMENT = "VEX document"
_BOM = b"\xef\xbb\xbf"
_EXPECTED = (
    "expected OpenVEX (@context https://openvex.dev/ns/v0.2.0), CycloneDX VEX (JSON with "
    "vulnerabilities[].analysis) or CSAF 2.0 VEX (document.category csaf_vex)"
)


def detect_vex(data: bytes, *, limits: ReadLimits = DEFAULT_VEX_LIMITS) -> VexFormat:
    """Tell the VEX format of ``data``; raise ``UnknownFormatError`` naming what was expected."""
    check_size(data, vex_limits(limits), _DOCUMENT)
    return _detect(_decode(data))


def read_vex(data: bytes, *, limits: ReadLimits = DEFAULT_VEX_LIMITS) -> VexDocument:
    """Detect and read any supported VEX document (decoding it once)."""
    vex: VexLimits = vex_limits(limits)
    check_size(data, vex, _DOCUMENT)
    doc = _decode(data)
    kind = _detect(doc)
    if kind == "openvex":
        return openvex_document(doc, vex)
    if kind == "cyclonedx-vex":
        return cyclonedx_vex_document(doc, vex)
    return csaf_vex_document(doc, vex)


def _decode(data: bytes) -> Any:
    head = data[:256].lstrip(_BOM + b" \t\r\n")[:1]
    if head == b"<":
        raise UnknownFormatError(f"XML is not read (CycloneDX XML VEX included): {_EXPECTED}")
    if head != b"{":
        raise UnknownFormatError(f"not a JSON object: {_EXPECTED}")
    return decode_json(data, what=_DOCUMENT)


def _detect(doc: Any) -> VexFormat:
    if not isinstance(doc, dict):
        raise UnknownFormatError(f"not a JSON object: {_EXPECTED}")
    context = doc.get("@context")
    if isinstance(context, str) and context.strip().startswith(CONTEXT_PREFIX):
        return "openvex"
    if doc.get("bomFormat") == "CycloneDX":
        if not doc.get("vulnerabilities"):
            raise UnknownFormatError(
                f"a CycloneDX SBOM without vulnerabilities is not VEX: {_EXPECTED}"
            )
        if not has_analysis(doc):
            raise UnknownFormatError(
                "a CycloneDX BOM whose vulnerabilities have no analysis.state is a vulnerability "
                f"report (scanner output), not VEX: {_EXPECTED}"
            )
        return "cyclonedx-vex"
    document = doc.get("document")
    if isinstance(document, dict) and "csaf_version" in document:
        category = csaf_category(doc)
        if category != CATEGORY:
            what = f"of category {category[:60]!r}" if category else "without document.category"
            raise UnknownFormatError(f"a CSAF document {what} is not VEX: {_EXPECTED}")
        return "csaf-vex"
    if isinstance(doc.get("spdxVersion"), str):
        raise UnknownFormatError(f"an SPDX SBOM is not VEX: {_EXPECTED}")
    raise UnknownFormatError(f"JSON in no VEX format: {_EXPECTED}")
