"""Forgiving views of a CSAF 2.0 document for the mandatory tests: typed accessors and walks.

Every function here accepts whatever JSON the submitter sent: a missing key, a string where an
object belongs or a list where a string belongs yields "nothing here" instead of an exception, so
each test can be written for the well-formed case and still never raise on a schema-invalid
document. Walks over nested branches are iterative, because the nesting depth is chosen by the
submitter. Pointers are RFC 6901 strings built with :func:`child`.

It does not validate anything itself and keeps no state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from clearinghouse.formats.schema import json_pointer

_EMPTY: Mapping[str, Any] = {}


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else _EMPTY


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def child(pointer: str, *parts: str | int) -> str:
    """``pointer`` extended by ``parts``, each escaped as RFC 6901 requires."""
    return pointer + json_pointer(parts)


def strings(container: Mapping[str, Any], key: str, pointer: str) -> Iterator[tuple[str, str]]:
    """``(pointer, text)`` for every string item of the array ``container[key]``."""
    base = child(pointer, key)  # once per array: large documents have long ones
    for index, item in enumerate(as_list(container.get(key))):
        if isinstance(item, str):
            yield f"{base}/{index}", item


def document_section(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_mapping(doc.get("document"))


def tracking(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_mapping(document_section(doc).get("tracking"))


def product_tree(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return as_mapping(doc.get("product_tree"))


def vulnerabilities(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(pointer, vulnerability)`` for every object in ``/vulnerabilities``."""
    for index, vulnerability in enumerate(as_list(doc.get("vulnerabilities"))):
        if isinstance(vulnerability, Mapping):
            yield f"/vulnerabilities/{index}", vulnerability


def items(
    container: Mapping[str, Any], key: str, pointer: str
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(pointer, object)`` for every object in the array ``container[key]``."""
    base = child(pointer, key)
    for index, item in enumerate(as_list(container.get(key))):
        if isinstance(item, Mapping):
            yield f"{base}/{index}", item


def branches(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(pointer, branch)`` for every branch of the product tree, at any depth, in order."""
    stack = list(reversed(list(items(product_tree(doc), "branches", "/product_tree"))))
    while stack:
        pointer, branch = stack.pop()
        yield pointer, branch
        stack.extend(reversed(list(items(branch, "branches", pointer))))


def full_product_names(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(pointer, full_product_name)`` for every Full Product Name, wherever the schema allows one.

    That is ``branches[](/branches[])*/product``, ``full_product_names[]`` and
    ``relationships[]/full_product_name``, in this order.
    """
    for pointer, branch in branches(doc):
        product = branch.get("product")
        if isinstance(product, Mapping):
            yield child(pointer, "product"), product
    tree = product_tree(doc)
    yield from items(tree, "full_product_names", "/product_tree")
    for pointer, relationship in items(tree, "relationships", "/product_tree"):
        full = relationship.get("full_product_name")
        if isinstance(full, Mapping):
            yield child(pointer, "full_product_name"), full


def defined_product_ids(doc: Mapping[str, Any]) -> set[str]:
    """Every ``product_id`` that a Full Product Name defines."""
    return {
        product_id
        for _, full in full_product_names(doc)
        if isinstance(product_id := full.get("product_id"), str)
    }


def product_groups(doc: Mapping[str, Any]) -> dict[str, set[str]]:
    """``group_id`` -> its product ids (a group defined twice contributes both member lists)."""
    groups: dict[str, set[str]] = {}
    for pointer, group in items(product_tree(doc), "product_groups", "/product_tree"):
        group_id = group.get("group_id")
        if isinstance(group_id, str):
            members = groups.setdefault(group_id, set())
            members.update(text for _, text in strings(group, "product_ids", pointer))
    return groups


def referenced_products(item: Mapping[str, Any], groups: Mapping[str, set[str]]) -> set[str]:
    """The products an item (flag, threat, remediation) names directly or through its groups."""
    products = {text for _, text in strings(item, "product_ids", "")}
    for _, group_id in strings(item, "group_ids", ""):
        products.update(groups.get(group_id, ()))
    return products
