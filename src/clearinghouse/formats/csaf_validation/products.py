"""CSAF 2.0 mandatory tests about the product tree and product references.

6.1.1 missing definition of product id, 6.1.2 multiple definition of product id, 6.1.3 circular
definition of product id, 6.1.4 missing definition of product group id, 6.1.5 multiple
definition of product group id, 6.1.6 contradicting product status, 6.1.13 PURL, 6.1.25 multiple
use of same hash algorithm, 6.1.31 version range in product version.

Each test is a generator of :class:`CsafProblem` over a decoded document and never raises on a
schema-invalid one (absent or mistyped parts are skipped: the schema reports those). It does not
check the shape of the product tree beyond what each test needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from packageurl import PackageURL

from clearinghouse.formats.csaf_validation.model import CsafProblem
from clearinghouse.formats.csaf_validation.tree import (
    as_mapping,
    as_str,
    branches,
    child,
    defined_product_ids,
    full_product_names,
    items,
    product_groups,
    product_tree,
    strings,
    vulnerabilities,
)

PRODUCT_STATUSES = (
    "first_affected",
    "first_fixed",
    "fixed",
    "known_affected",
    "known_not_affected",
    "last_affected",
    "recommended",
    "under_investigation",
)
# 6.1.6: the sets formed by these groups must be pairwise disjoint; ``recommended`` is in none.
_CONTRADICTION_GROUPS = {
    "first_affected": "affected",
    "known_affected": "affected",
    "last_affected": "affected",
    "known_not_affected": "not affected",
    "first_fixed": "fixed",
    "fixed": "fixed",
    "under_investigation": "under investigation",
}
# 6.1.31, in the reading CSAF 2.1 made explicit: operators anywhere, keywords as whole words
# (so "after-eight" is a version name, "4.2 and later" a range).
_RANGE_OPERATORS = ("<", ">")  # "<=" and ">=" contain these
_RANGE_WORDS = frozenset({"after", "all", "before", "earlier", "later", "prior", "versions"})


def _product_references(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(pointer, product_id)`` for every place that refers to a product defined elsewhere.

    The spec's list for 6.1.1 plus ``flags[]/product_ids[]``, which is of the same type
    (``products_t``) and which the spec's general sentence covers.
    """
    tree = product_tree(doc)
    for pointer, group in items(tree, "product_groups", "/product_tree"):
        yield from strings(group, "product_ids", pointer)
    for pointer, relationship in items(tree, "relationships", "/product_tree"):
        for key in ("product_reference", "relates_to_product_reference"):
            if isinstance(value := relationship.get(key), str):
                yield child(pointer, key), value
    for pointer, vulnerability in vulnerabilities(doc):
        status = as_mapping(vulnerability.get("product_status"))
        for key in PRODUCT_STATUSES:
            yield from strings(status, key, child(pointer, "product_status"))
        for collection, key in (
            ("remediations", "product_ids"),
            ("scores", "products"),
            ("threats", "product_ids"),
            ("flags", "product_ids"),
        ):
            for item_pointer, item in items(vulnerability, collection, pointer):
                yield from strings(item, key, item_pointer)


def missing_product_definition(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.1: every referenced product id is defined by a Full Product Name."""
    defined = defined_product_ids(doc)
    for pointer, product_id in _product_references(doc):
        if product_id not in defined:
            yield CsafProblem(
                "6.1.1",
                pointer,
                f"Product id {product_id!r} is not defined in the product tree.",
            )


def multiple_product_definition(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.2: no product id is defined by two Full Product Names."""
    first: dict[str, str] = {}
    for pointer, full in full_product_names(doc):
        product_id = as_str(full.get("product_id"))
        if product_id is None:
            continue
        if product_id in first:
            yield CsafProblem(
                "6.1.2",
                child(pointer, "product_id"),
                f"Product id {product_id!r} is already defined at {first[product_id]}.",
            )
        else:
            first[product_id] = child(pointer, "product_id")


def circular_product_definition(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.3: no product defined by a relationship ends up referring to itself.

    Relationship-defined products form a graph (product -> the two products it combines);
    peeling off products whose references all lead out of that graph leaves exactly those that
    sit on, or lead into, a circle.
    """
    edges: dict[str, set[str]] = {}
    definitions: list[tuple[str, str]] = []
    for pointer, relationship in items(product_tree(doc), "relationships", "/product_tree"):
        product_id = as_str(as_mapping(relationship.get("full_product_name")).get("product_id"))
        if product_id is None:
            continue
        definitions.append((child(pointer, "full_product_name", "product_id"), product_id))
        targets = edges.setdefault(product_id, set())
        for key in ("product_reference", "relates_to_product_reference"):
            if isinstance(target := relationship.get(key), str):
                targets.add(target)
    pending = {node: {t for t in targets if t in edges} for node, targets in edges.items()}
    referrers: dict[str, set[str]] = {}
    for node, targets in pending.items():
        for target in targets:
            referrers.setdefault(target, set()).add(node)
    resolved = [node for node, targets in pending.items() if not targets]
    while resolved:
        node = resolved.pop()
        for referrer in referrers.get(node, ()):
            remaining = pending[referrer]
            remaining.discard(node)
            if not remaining:
                resolved.append(referrer)
    circular = {node for node, targets in pending.items() if targets}
    for pointer, product_id in definitions:
        if product_id in circular:
            yield CsafProblem(
                "6.1.3",
                pointer,
                f"Product id {product_id!r} is defined through a chain of relationships that "
                "leads back to itself.",
            )


def missing_group_definition(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.4: every referenced product group id is defined in ``/product_tree/product_groups``."""
    defined = product_groups(doc)
    for pointer, vulnerability in vulnerabilities(doc):
        for collection in ("remediations", "threats", "flags"):
            for item_pointer, item in items(vulnerability, collection, pointer):
                for id_pointer, group_id in strings(item, "group_ids", item_pointer):
                    if group_id not in defined:
                        yield CsafProblem(
                            "6.1.4",
                            id_pointer,
                            f"Product group id {group_id!r} is not defined in the product tree.",
                        )


def multiple_group_definition(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.5: no product group id is defined twice."""
    first: dict[str, str] = {}
    for pointer, group in items(product_tree(doc), "product_groups", "/product_tree"):
        group_id = as_str(group.get("group_id"))
        if group_id is None:
            continue
        if group_id in first:
            yield CsafProblem(
                "6.1.5",
                child(pointer, "group_id"),
                f"Product group id {group_id!r} is already defined at {first[group_id]}.",
            )
        else:
            first[group_id] = child(pointer, "group_id")


def contradicting_product_status(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.6: within one vulnerability no product is in two contradicting status groups."""
    for pointer, vulnerability in vulnerabilities(doc):
        status_pointer = child(pointer, "product_status")
        status = as_mapping(vulnerability.get("product_status"))
        seen: dict[str, str] = {}
        reported: set[str] = set()
        for key, group in _CONTRADICTION_GROUPS.items():
            for id_pointer, product_id in strings(status, key, status_pointer):
                earlier = seen.setdefault(product_id, group)
                if earlier != group and product_id not in reported:
                    reported.add(product_id)
                    yield CsafProblem(
                        "6.1.6",
                        id_pointer,
                        f"Product {product_id!r} is both {earlier} and {group} in this "
                        "vulnerability.",
                    )


def invalid_purl(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.13: every ``product_identification_helper/purl`` parses as a package URL."""
    for pointer, full in full_product_names(doc):
        purl = as_str(as_mapping(full.get("product_identification_helper")).get("purl"))
        if purl is None:
            continue
        try:
            PackageURL.from_string(purl)
        except ValueError as error:
            yield CsafProblem(
                "6.1.13",
                child(pointer, "product_identification_helper", "purl"),
                f"The package URL is invalid: {_short(str(error))}",
            )


def multiple_hash_algorithm(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.25: one ``hashes[]`` item does not list the same algorithm twice."""
    for pointer, full in full_product_names(doc):
        helper_pointer = child(pointer, "product_identification_helper")
        helper = as_mapping(full.get("product_identification_helper"))
        for hash_pointer, item in items(helper, "hashes", helper_pointer):
            seen: set[str] = set()
            for file_hash_pointer, file_hash in items(item, "file_hashes", hash_pointer):
                algorithm = as_str(file_hash.get("algorithm"))
                if algorithm is None:
                    continue
                # "SHA256" and "sha256" name the same algorithm.
                if algorithm.lower() in seen:
                    yield CsafProblem(
                        "6.1.25",
                        child(file_hash_pointer, "algorithm"),
                        f"Hash algorithm {algorithm!r} is used more than once for this file.",
                    )
                seen.add(algorithm.lower())


def version_range_in_product_version(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.31: a ``product_version`` branch names one version, not a range."""
    for pointer, branch in branches(doc):
        name = as_str(branch.get("name"))
        if branch.get("category") != "product_version" or name is None:
            continue
        lowered = name.lower()
        if any(op in lowered for op in _RANGE_OPERATORS) or _RANGE_WORDS & set(lowered.split()):
            yield CsafProblem(
                "6.1.31",
                child(pointer, "name"),
                f"The product_version {name!r} looks like a version range; use the category "
                "product_version_range for ranges.",
            )


def _short(text: str, limit: int = 200) -> str:
    """Library messages may quote the whole offending value."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
