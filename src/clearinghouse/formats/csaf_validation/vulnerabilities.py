"""CSAF 2.0 mandatory tests about vulnerability items that are not about scores or products.

6.1.23 multiple use of same CVE, 6.1.24 multiple definition in involvements, 6.1.29 remediation
without product reference, 6.1.32 flag without product reference, 6.1.33 multiple flags with VEX
justification codes per product.

It does not check that product or group ids exist (6.1.1, 6.1.4 do). Never raises on a
schema-invalid document.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from clearinghouse.formats.csaf_validation.model import CsafProblem
from clearinghouse.formats.csaf_validation.tracking import parse_instant
from clearinghouse.formats.csaf_validation.tree import (
    as_str,
    child,
    items,
    product_groups,
    referenced_products,
    vulnerabilities,
)

# CSAF 2.0 section 3.2.3.5; every flag label CSAF 2.0 defines is one of them.
VEX_JUSTIFICATIONS = frozenset(
    {
        "component_not_present",
        "inline_mitigations_already_exist",
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "vulnerable_code_not_in_execute_path",
        "vulnerable_code_not_present",
    }
)


def multiple_use_of_cve(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.23: a CVE id names at most one vulnerability item."""
    first: dict[str, str] = {}
    for pointer, vulnerability in vulnerabilities(doc):
        cve = as_str(vulnerability.get("cve"))
        if cve is None:
            continue
        earlier = first.setdefault(cve.upper(), pointer)
        if earlier != pointer:
            yield CsafProblem(
                "6.1.23",
                child(pointer, "cve"),
                f"{cve} is already the subject of the vulnerability at {earlier}.",
            )


def multiple_involvements(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.24: within one vulnerability a party has at most one involvement per date."""
    for pointer, vulnerability in vulnerabilities(doc):
        first: dict[tuple[str, Any], str] = {}
        for item_pointer, involvement in items(vulnerability, "involvements", pointer):
            party = as_str(involvement.get("party"))
            if party is None:
                continue
            date = involvement.get("date")
            # The same instant written with another offset or precision is the same date.
            when = parse_instant(date) or (date if isinstance(date, str) else None)
            earlier = first.setdefault((party, when), item_pointer)
            if earlier != item_pointer:
                yield CsafProblem(
                    "6.1.24",
                    item_pointer,
                    f"The party {party!r} already has an involvement for this date at {earlier}.",
                )


def _without_products(
    doc: Mapping[str, Any], collection: str, test_id: str, noun: str
) -> Iterator[CsafProblem]:
    for pointer, vulnerability in vulnerabilities(doc):
        for item_pointer, item in items(vulnerability, collection, pointer):
            if "product_ids" not in item and "group_ids" not in item:
                yield CsafProblem(
                    test_id,
                    item_pointer,
                    f"The {noun} names no products: it needs product_ids or group_ids.",
                )


def remediation_without_products(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.29: every remediation says which products it applies to."""
    return _without_products(doc, "remediations", "6.1.29", "remediation")


def flag_without_products(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.32: every flag says which products it applies to."""
    return _without_products(doc, "flags", "6.1.32", "flag")


def multiple_vex_flags(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.33: within one vulnerability a product carries at most one VEX justification flag,
    counting the products a flag names through its product groups."""
    groups = product_groups(doc)
    for pointer, vulnerability in vulnerabilities(doc):
        first: dict[str, str] = {}
        for flag_pointer, flag in items(vulnerability, "flags", pointer):
            if as_str(flag.get("label")) not in VEX_JUSTIFICATIONS:
                continue
            for product_id in sorted(referenced_products(flag, groups)):
                earlier = first.setdefault(product_id, flag_pointer)
                if earlier != flag_pointer:
                    yield CsafProblem(
                        "6.1.33",
                        flag_pointer,
                        f"Product {product_id!r} already has a VEX justification flag at "
                        f"{earlier}.",
                    )
