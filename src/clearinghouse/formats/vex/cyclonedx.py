"""CycloneDX VEX (JSON 1.4-1.7 with ``vulnerabilities[].analysis``) -> :class:`VexDocument`.

Validated against the official schema of the declared version exactly as the SBOM reader does
(the same compiled validator from ``formats.sbom.cyclonedx``, formats checked). 1.7 is accepted
beside 1.4-1.6 because its vulnerability and analysis objects are unchanged and current scanners
emit it. Every vulnerability must carry an ``analysis.state``: a BOM whose vulnerabilities have
none is a vulnerability report (scanner output), not VEX, and is refused as such.

States and justifications map onto OpenVEX's labels; the mapping is lossy where CycloneDX is
finer (three "protected_*" and three "requires_*" reasons share two OpenVEX labels), so the
original terms stay in ``detail``. ``false_positive`` becomes ``not_affected`` without a
justification unless the analysis gives one.

``affects[].ref`` resolves to the referenced component's canonical purl (else its CPE, else the
``bom-ref`` as written): a ``bom-ref`` of a component or service anywhere in this BOM, a purl, or
a BOM-Link into another BOM (kept as written, unless its fragment is itself a purl, as when a
producer uses purls as ``bom-ref``). Anything else is refused: a statement about an unknown
product could not be applied and must not be silently dropped. ``affects[].versions`` narrow a
statement to versions and are kept (see :class:`VexStatement`); a version whose own status
contradicts the analysis (``affected`` under ``not_affected``) is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from clearinghouse.core.errors import InputError, SchemaError, UnknownFormatError
from clearinghouse.formats.decode import decode_json
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.sbom.cyclonedx import JSON_VERSIONS
from clearinghouse.formats.sbom.cyclonedx import _json_validator as cyclonedx_json_validator
from clearinghouse.formats.sbom.purls import normalize_purl
from clearinghouse.formats.schema import first_violation
from clearinghouse.formats.vex.common import (
    DEFAULT_VEX_LIMITS,
    Fields,
    VexLimits,
    check_size,
    details,
    grouped,
    unique,
    vex_limits,
)
from clearinghouse.formats.vex.records import VexDocument, VexStatement, VexStatus

DOCUMENT = "CycloneDX VEX document"
VEX_VERSIONS = tuple(v for v in JSON_VERSIONS if tuple(map(int, v.split("."))) >= (1, 4))

_STATE: dict[str, VexStatus] = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "exploitable": "affected",
    "in_triage": "under_investigation",
}
# CycloneDX impactAnalysisJustification -> the CISA/OpenVEX label that says the same or less.
_JUSTIFICATION = {
    "code_not_present": "vulnerable_code_not_present",
    "code_not_reachable": "vulnerable_code_not_in_execute_path",
    "requires_configuration": "vulnerable_code_cannot_be_controlled_by_adversary",
    "requires_dependency": "vulnerable_code_cannot_be_controlled_by_adversary",
    "requires_environment": "vulnerable_code_cannot_be_controlled_by_adversary",
    "protected_at_perimeter": "vulnerable_code_cannot_be_controlled_by_adversary",
    "protected_by_compiler": "inline_mitigations_already_exist",
    "protected_at_runtime": "inline_mitigations_already_exist",
    "protected_by_mitigating_control": "inline_mitigations_already_exist",
}
# A version status that says the opposite of the analysis state.
_CONTRADICTS: dict[VexStatus, str] = {
    "not_affected": "affected",
    "fixed": "affected",
    "affected": "unaffected",
}
_BOM_LINK = re.compile(
    r"^urn:cdx:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"/[1-9][0-9]*(?:#(?P<ref>.+))?$"
)


def read_cyclonedx_vex(data: bytes, *, limits: ReadLimits = DEFAULT_VEX_LIMITS) -> VexDocument:
    """Read a CycloneDX JSON BOM's VEX statements completely, or refuse it."""
    vex = vex_limits(limits)
    check_size(data, vex, DOCUMENT)
    return cyclonedx_vex_document(decode_json(data, what=DOCUMENT), vex)


def has_analysis(doc: dict[str, Any]) -> bool:
    """Whether any vulnerability carries an analysis state (VEX, not a scanner's report)."""
    vulnerabilities = doc.get("vulnerabilities")
    return isinstance(vulnerabilities, list) and any(
        isinstance(v, dict) and isinstance(v.get("analysis"), dict) and "state" in v["analysis"]
        for v in vulnerabilities
    )


def cyclonedx_vex_document(doc: Any, limits: VexLimits) -> VexDocument:
    """The decoded form; ``read_vex`` decodes once for detection and reading."""
    fields = Fields(DOCUMENT, limits)
    root = fields.obj(doc, "")
    if root.get("bomFormat") != "CycloneDX":
        raise fields.fail("/bomFormat", '"CycloneDX"')
    if not root.get("vulnerabilities"):
        raise UnknownFormatError(
            "a CycloneDX BOM without vulnerabilities is an SBOM, not VEX: expected "
            "vulnerabilities[] with analysis.state"
        )
    if not has_analysis(root):
        raise UnknownFormatError(
            "a CycloneDX BOM whose vulnerabilities have no analysis.state is a vulnerability "
            "report (scanner output), not VEX"
        )
    version = root.get("specVersion")
    if version not in VEX_VERSIONS:
        raise fields.fail(
            "/specVersion",
            f"one of {', '.join(VEX_VERSIONS)} (vulnerabilities arrived in 1.4; "
            f"got {str(version)[:60]!r})",
        )
    violation = first_violation(cyclonedx_json_validator(version), root)
    if violation is not None:
        raise SchemaError(*violation, document=DOCUMENT)

    metadata = root.get("metadata") or {}
    timestamp = fields.timestamp(metadata, "timestamp", "/metadata")
    elements = _elements(root)
    statements: list[VexStatement] = []
    for index, raw in enumerate(root["vulnerabilities"]):
        pointer = f"/vulnerabilities/{index}"
        statements.extend(_statements(fields, raw, pointer, elements, timestamp))
    return VexDocument(
        format="cyclonedx-vex",
        author=_author(fields, metadata),
        timestamp=timestamp,
        statements=tuple(statements),
    )


def _author(fields: Fields, metadata: dict[str, Any]) -> str | None:
    """The BOM's authors, else its supplier or manufacturer (tools are not authors)."""
    names = [
        name.strip()
        for author in metadata.get("authors") or ()
        if isinstance(author, dict) and isinstance(name := author.get("name"), str)
        if name.strip()
    ]
    if names:
        return fields.bounded(", ".join(unique(names)), "/metadata/authors")
    for key in ("supplier", "manufacturer", "manufacture"):  # "manufacture": the pre-1.6 field
        organization = metadata.get(key)
        if isinstance(organization, dict):
            name = fields.text(organization, "name", f"/metadata/{key}")
            if name is not None:
                return name
    return None


@dataclass(frozen=True, slots=True)
class _Element:
    """A component or service that a ``bom-ref`` can name."""

    pointer: str
    purl: str | None
    cpe: str | None


def _elements(root: dict[str, Any]) -> dict[str, _Element]:
    """bom-ref -> element over the metadata component, components and services at any depth.

    Iterative: nesting is attacker-controlled. The schema has checked every type already.
    """
    index: dict[str, _Element] = {}
    stack: list[tuple[str, Any]] = [
        ("/metadata/component", (root.get("metadata") or {}).get("component"))
    ]
    for key in ("components", "services"):
        stack.extend((f"/{key}/{i}", item) for i, item in enumerate(root.get(key) or ()))
    while stack:
        pointer, item = stack.pop()
        if not isinstance(item, dict):
            continue
        ref = item.get("bom-ref")
        if isinstance(ref, str):
            index.setdefault(ref, _Element(pointer, item.get("purl"), item.get("cpe")))
        for key in ("components", "services"):
            stack.extend(
                (f"{pointer}/{key}/{i}", child) for i, child in enumerate(item.get(key) or ())
            )
    return index


def _statements(
    fields: Fields,
    raw: dict[str, Any],
    pointer: str,
    elements: dict[str, _Element],
    inherited: str | None,
) -> list[VexStatement]:
    """One vulnerability; several records when its affects name different versions."""
    vulnerability = fields.text(raw, "id", pointer)
    if vulnerability is None:
        raise fields.fail(f"{pointer}/id", "the vulnerability's id (a VEX statement names it)")
    vulnerability = fields.vulnerability_id(vulnerability, f"{pointer}/id")
    aliases = {
        fields.vulnerability_id(ref["id"], f"{pointer}/references/{i}/id")
        for i, ref in enumerate(raw.get("references") or ())
        if isinstance(ref.get("id"), str) and ref["id"].strip()
    }
    aliases.discard(vulnerability)

    analysis = raw.get("analysis")
    state = analysis.get("state") if isinstance(analysis, dict) else None
    status = _STATE.get(state) if isinstance(state, str) else None
    if status is None or not isinstance(analysis, dict) or not isinstance(state, str):
        raise fields.fail(
            f"{pointer}/analysis/state",
            "an analysis state (every vulnerability of a VEX says how it affects its products)",
        )
    where = f"{pointer}/analysis"
    original = fields.text(analysis, "justification", where)
    responses = ", ".join(r for r in analysis.get("response") or () if isinstance(r, str))
    detail = details(
        ("analysis.state", state),
        ("analysis.justification", original),
        ("analysis.response", responses),
    )
    actions = [
        text
        for key in ("recommendation", "workaround")
        if (text := fields.text(raw, key, pointer)) is not None
    ]
    timestamp = (
        fields.timestamp(analysis, "lastUpdated", where)
        or fields.timestamp(analysis, "firstIssued", where)
        or inherited
    )

    pairs: list[tuple[tuple[str, ...], str]] = []
    for index, affect in enumerate(raw.get("affects") or ()):
        at = f"{pointer}/affects/{index}"
        product = _resolve(fields, fields.required_text(affect, "ref", at), f"{at}/ref", elements)
        versions = _versions(fields, affect.get("versions"), f"{at}/versions", status, state)
        pairs.append((versions, product))
    groups = grouped(pairs) if pairs else {(): ()}

    records = []
    for versions, products in groups.items():
        fields.count(len(products), pointer)
        records.append(
            VexStatement(
                vulnerability=vulnerability,
                aliases=tuple(sorted(aliases)),
                products=products,
                status=status,
                justification=_JUSTIFICATION.get(original or "")
                if status == "not_affected"
                else None,
                impact_statement=fields.text(analysis, "detail", where),
                action_statement=fields.bounded("\n\n".join(actions), pointer) or None,
                timestamp=timestamp,
                detail=detail,
                versions=versions,
            )
        )
    return records


def _resolve(fields: Fields, ref: str, pointer: str, elements: dict[str, _Element]) -> str:
    element = elements.get(ref)
    if element is not None:
        if element.purl:
            return fields.purl(element.purl, f"{element.pointer}/purl")
        if element.cpe and element.cpe.strip():
            return fields.bounded(element.cpe.strip(), f"{element.pointer}/cpe")
        return ref
    if ref.startswith("urn:cdx:"):
        link = _BOM_LINK.match(ref)
        if link is None:
            raise fields.fail(pointer, "a BOM-Link urn:cdx:<serial number>/<version>[#<bom-ref>]")
        fragment = unquote(link.group("ref") or "")
        if fragment[:4].lower() == "pkg:":
            try:
                return normalize_purl(fragment)
            except InputError:
                pass  # a bom-ref that merely looks like a purl: the link is the identifier
        return ref
    if ref[:4].lower() == "pkg:":
        return fields.purl(ref, pointer)
    raise fields.fail(
        pointer,
        "the bom-ref of a component or service in this BOM, a BOM-Link (urn:cdx:...) or a purl "
        f"(nothing here has bom-ref {ref[:80]!r})",
    )


def _versions(
    fields: Fields, raw: Any, pointer: str, status: VexStatus, state: str
) -> tuple[str, ...]:
    """Each version or vers range as written, refusing one whose status contradicts the state."""
    found: list[str] = []
    for index, item in enumerate(fields.array(raw, pointer)):
        at = f"{pointer}/{index}"
        entry = fields.obj(item, at)
        own = entry.get("status")
        if own is not None and own == _CONTRADICTS.get(status):
            raise fields.fail(
                f"{at}/status",
                f"a version status that agrees with analysis.state {state!r} (got {own!r}; "
                "state the other versions in a separate vulnerability entry)",
            )
        value = fields.text(entry, "version", at) or fields.text(entry, "range", at)
        if value is None:
            raise fields.fail(at, "a version or a range")
        found.append(value)
    return unique(found)
