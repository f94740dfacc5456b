"""CSAF 2.0 documents of category ``csaf_vex`` -> :class:`VexDocument`.

Validation is the advisory reader's (``formats.csaf``: the CSAF 2.0 schema shipped by the ``csaf``
package, with the FIRST CVSS schemas registered locally), plus the mandatory tests of the VEX
profile that decide whether statements are usable (6.1.27.7-6.1.27.11: a VEX status for every
vulnerability, a CVE or id, an impact statement for every ``known_not_affected`` product and an
action statement for every ``known_affected`` one, at least one vulnerability), and that every
product and group id a statement uses is defined in the product tree. Other OASIS tests
(CVSS consistency, contradicting statuses ...) are not run.

Product status groups map to statuses: ``known_not_affected`` -> not_affected, ``known_affected``
(and ``first_affected``/``last_affected``) -> affected, ``fixed``/``first_fixed`` -> fixed,
``under_investigation``; ``recommended`` names a version to use, not a status, and is not read.
Per product, a ``flags[].label`` (already OpenVEX's vocabulary) is the justification, ``threats``
of category ``impact`` that name the product are the impact statement, and ``remediations`` that
name it are the action statement (``"vendor_fix: Update to 2.17.1"``). Products with equal
findings share one statement.

Product ids resolve through the tree to the helper's purl (canonical), else its CPE, else the id
as written. A relationship ("component X default_component_of product Y") becomes product Y with
subcomponent X, as OpenVEX would say it, unless the combined product has a helper of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clearinghouse.formats.csaf import READER as CSAF_READER
from clearinghouse.formats.decode import decode_json
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.vex.common import (
    DEFAULT_VEX_LIMITS,
    VULNERABILITY_ID,
    Fields,
    VexLimits,
    check_size,
    details,
    grouped,
    unique,
    vex_limits,
)
from clearinghouse.formats.vex.records import VexDocument, VexStatement, VexStatus

DOCUMENT = "CSAF VEX document"
CATEGORY = "csaf_vex"
_GROUPS: tuple[tuple[str, VexStatus], ...] = (
    ("known_not_affected", "not_affected"),
    ("known_affected", "affected"),
    ("first_affected", "affected"),
    ("last_affected", "affected"),
    ("fixed", "fixed"),
    ("first_fixed", "fixed"),
    ("under_investigation", "under_investigation"),
)
_PROFILE_GROUPS = ("fixed", "known_affected", "known_not_affected", "under_investigation")
# What the products of one statement share: status, justification, impact, action, detail,
# subcomponents.
_Key = tuple[VexStatus, str | None, str | None, str | None, str | None, tuple[str, ...]]


def read_csaf_vex(data: bytes, *, limits: ReadLimits = DEFAULT_VEX_LIMITS) -> VexDocument:
    """Read a CSAF 2.0 VEX document completely, or refuse it naming the first problem."""
    vex = vex_limits(limits)
    check_size(data, vex, DOCUMENT)
    return csaf_vex_document(decode_json(data, what=DOCUMENT), vex)


def csaf_category(doc: Any) -> str | None:
    """``document.category`` of something shaped like CSAF, else None."""
    document = doc.get("document") if isinstance(doc, dict) else None
    category = document.get("category") if isinstance(document, dict) else None
    return category if isinstance(category, str) else None


def csaf_vex_document(doc: Any, limits: VexLimits) -> VexDocument:
    """The decoded form; ``read_vex`` decodes once for detection and reading."""
    fields = Fields(DOCUMENT, limits)
    root = fields.obj(doc, "")
    category = csaf_category(root)
    if category is not None and category != CATEGORY:
        # Before the schema: an advisory is valid CSAF, just not a VEX document.
        raise fields.fail(
            "/document/category",
            f'"{CATEGORY}" (the CSAF VEX profile; got {category[:60]!r})',
        )
    CSAF_READER.validate(root)
    if category is None:  # pragma: no cover - the schema requires document.category
        raise fields.fail("/document/category", f'"{CATEGORY}"')

    document: dict[str, Any] = root["document"]
    vulnerabilities = root.get("vulnerabilities") or []
    if not vulnerabilities:
        raise fields.fail("/vulnerabilities", "at least one vulnerability (VEX profile, 6.1.27.11)")
    tree = _ProductTree(fields, root.get("product_tree") or {})
    timestamp = fields.timestamp(
        document.get("tracking") or {}, "current_release_date", "/document/tracking"
    )
    statements: list[VexStatement] = []
    for index, raw in enumerate(vulnerabilities):
        statements.extend(_statements(fields, raw, f"/vulnerabilities/{index}", tree, timestamp))
    return VexDocument(
        format="csaf-vex",
        author=fields.text(document.get("publisher") or {}, "name", "/document/publisher"),
        timestamp=timestamp,
        statements=tuple(statements),
    )


@dataclass(frozen=True, slots=True)
class _Full:
    """A product the tree defines, with where its helper sits (purls are normalized lazily)."""

    pointer: str
    purl: str | None
    cpe: str | None


class _ProductTree:
    """Product ids and group ids of one document, resolved on demand.

    Branches are walked iteratively (their nesting is attacker-controlled). Only referenced
    products are normalized, so an odd purl on an unmentioned product costs nothing.
    """

    def __init__(self, fields: Fields, tree: dict[str, Any]) -> None:
        self._fields = fields
        self._full: dict[str, _Full] = {}
        self._relationships: dict[str, tuple[str, str]] = {}
        self._groups: dict[str, tuple[str, ...]] = {}

        stack: list[tuple[str, Any]] = [
            (f"/product_tree/branches/{i}", b) for i, b in enumerate(tree.get("branches") or ())
        ]
        while stack:
            pointer, branch = stack.pop()
            if isinstance(branch.get("product"), dict):
                self._add(branch["product"], f"{pointer}/product")
            stack.extend(
                (f"{pointer}/branches/{i}", child)
                for i, child in enumerate(branch.get("branches") or ())
            )
        for i, full in enumerate(tree.get("full_product_names") or ()):
            self._add(full, f"/product_tree/full_product_names/{i}")
        for i, relationship in enumerate(tree.get("relationships") or ()):
            full = relationship["full_product_name"]
            if full.get("product_identification_helper"):
                self._add(full, f"/product_tree/relationships/{i}/full_product_name")
            else:
                self._relationships.setdefault(
                    full["product_id"],
                    (
                        relationship["product_reference"],
                        relationship["relates_to_product_reference"],
                    ),
                )
        for group in tree.get("product_groups") or ():
            self._groups.setdefault(group["group_id"], unique(group["product_ids"]))

    def _add(self, full: dict[str, Any], pointer: str) -> None:
        helper = full.get("product_identification_helper") or {}
        purl, cpe = helper.get("purl"), helper.get("cpe")
        self._full.setdefault(
            full["product_id"],
            _Full(
                f"{pointer}/product_identification_helper",
                purl if isinstance(purl, str) else None,
                cpe if isinstance(cpe, str) else None,
            ),
        )

    def resolve(self, product_id: str, pointer: str) -> tuple[str, tuple[str, ...]]:
        """(product, subcomponents) for a product id a statement names."""
        if product_id in self._full:
            return self._identifier(product_id), ()
        if product_id in self._relationships:
            component, product = self._relationships[product_id]
            return self._identifier(product), (self._identifier(component),)
        raise self._fields.fail(
            pointer, f"a product_id defined in /product_tree (got {product_id[:80]!r})"
        )

    def _identifier(self, product_id: str) -> str:
        full = self._full.get(product_id)
        if full is None:  # a relationship inside a relationship: its id is all there is
            return product_id
        if full.purl:
            return self._fields.purl(full.purl, f"{full.pointer}/purl")
        if full.cpe and full.cpe.strip():
            return full.cpe.strip()
        return product_id

    def members(self, item: dict[str, Any], pointer: str) -> tuple[str, ...]:
        """The product ids a flag, threat or remediation names, its groups expanded."""
        ids = list(item.get("product_ids") or ())
        for index, group_id in enumerate(item.get("group_ids") or ()):
            members = self._groups.get(group_id)
            if members is None:
                raise self._fields.fail(
                    f"{pointer}/group_ids/{index}",
                    f"a group_id defined in /product_tree/product_groups (got {group_id[:80]!r})",
                )
            self._fields.charge(len(members), pointer)
            ids.extend(members)
        return unique(ids)


def _statements(
    fields: Fields,
    raw: dict[str, Any],
    pointer: str,
    tree: _ProductTree,
    inherited: str | None,
) -> list[VexStatement]:
    """One vulnerability: a statement per status group and shared justification/notes."""
    ids = [
        (index, entry["text"].strip())
        for index, entry in enumerate(raw.get("ids") or ())
        if entry["text"].strip()
    ]
    if isinstance(raw.get("cve"), str):
        vulnerability = fields.vulnerability_id(raw["cve"], f"{pointer}/cve")
    elif ids:
        vulnerability = fields.vulnerability_id(ids[0][1], f"{pointer}/ids/{ids[0][0]}/text")
    else:
        raise fields.fail(
            pointer, "a cve or ids[] naming the vulnerability (VEX profile, 6.1.27.8)"
        )
    aliases = {
        fields.vulnerability_id(text, f"{pointer}/ids/{index}/text")
        for index, text in ids
        if VULNERABILITY_ID.match(text)
    }
    aliases.discard(vulnerability)

    status = raw.get("product_status") or {}
    if not any(status.get(key) for key in _PROFILE_GROUPS):
        raise fields.fail(
            f"{pointer}/product_status",
            f"at least one of {', '.join(_PROFILE_GROUPS)} (VEX profile, 6.1.27.7)",
        )

    labels: dict[str, str] = {}
    for index, flag in enumerate(raw.get("flags") or ()):
        for product_id in tree.members(flag, f"{pointer}/flags/{index}"):
            labels.setdefault(product_id, flag["label"])
    impacts: dict[str, list[str]] = {}
    for index, threat in enumerate(raw.get("threats") or ()):
        if threat.get("category") == "impact":
            at = f"{pointer}/threats/{index}"
            text = fields.required_text(threat, "details", at)
            for product_id in tree.members(threat, at):
                impacts.setdefault(product_id, []).append(text)
    actions: dict[str, list[str]] = {}
    for index, remediation in enumerate(raw.get("remediations") or ()):
        at = f"{pointer}/remediations/{index}"
        text = f"{remediation['category']}: {fields.required_text(remediation, 'details', at)}"
        for product_id in tree.members(remediation, at):
            actions.setdefault(product_id, []).append(text)

    pairs: list[tuple[_Key, str]] = []
    for key, vex_status in _GROUPS:
        for index, product_id in enumerate(status.get(key) or ()):
            at = f"{pointer}/product_status/{key}/{index}"
            product, subcomponents = tree.resolve(product_id, at)
            label = labels.get(product_id) if vex_status == "not_affected" else None
            impact = _joined(fields, impacts.get(product_id), at)
            action = _joined(fields, actions.get(product_id), at)
            if key == "known_not_affected" and label is None and impact is None:
                raise fields.fail(
                    at,
                    f"an impact statement for {product_id[:80]!r}: a flag or a threat of category "
                    "impact naming it (VEX profile, 6.1.27.9)",
                )
            if key == "known_affected" and action is None:
                raise fields.fail(
                    at,
                    f"an action statement for {product_id[:80]!r}: a remediation naming it "
                    "(VEX profile, 6.1.27.10)",
                )
            detail = details(("product_status", key), ("flags.label", label))
            pairs.append(((vex_status, label, impact, action, detail, subcomponents), product))

    records = []
    for (vex_status, label, impact, action, detail, subcomponents), products in grouped(
        pairs
    ).items():
        fields.count(len(products), pointer)
        records.append(
            VexStatement(
                vulnerability=vulnerability,
                aliases=tuple(sorted(aliases)),
                products=products,
                status=vex_status,
                justification=label,
                impact_statement=impact,
                action_statement=action,
                timestamp=inherited,
                detail=detail,
                subcomponents=subcomponents,
            )
        )
    return records


def _joined(fields: Fields, texts: list[str] | None, pointer: str) -> str | None:
    if not texts:
        return None
    return fields.bounded("\n\n".join(unique(texts)), pointer)
