"""CSAF 2.0 mandatory tests tied to the document category (profile): 6.1.26 prohibited document
category name and the profile tests 6.1.27.1-6.1.27.11.

Each profile test applies only to the categories the spec names for it and is silently skipped
for every other category. "Exists" means the key is present, whatever its value (an empty or
mistyped value is the schema's finding). Never raises on a schema-invalid document.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from clearinghouse.formats.csaf_validation.model import CsafProblem
from clearinghouse.formats.csaf_validation.tree import (
    as_mapping,
    as_str,
    child,
    document_section,
    items,
    product_groups,
    referenced_products,
    strings,
    vulnerabilities,
)

BASE = "csaf_base"
INCIDENT = "csaf_security_incident_response"
INFORMATIONAL = "csaf_informational_advisory"
ADVISORY = "csaf_security_advisory"
VEX = "csaf_vex"
PROFILE_CATEGORIES = (BASE, INCIDENT, INFORMATIONAL, ADVISORY, VEX)
# 6.1.26 compares after dropping case, dashes, whitespace and underscores; "dash" and
# "underscore" include their Unicode variants (en dash, fullwidth low line, minus sign ...), as
# CSAF 2.1 spells out.
_EXTRA_SEPARATORS = frozenset("\u2212\u0332")


def _squeezed(text: str) -> str:
    return "".join(
        char
        for char in text.lower()
        if not (
            char.isspace()
            or unicodedata.category(char) in ("Pd", "Pc")
            or char in _EXTRA_SEPARATORS
        )
    )


# Names and values of the profiles other than "CSAF Base".
_PROHIBITED = frozenset(
    _squeezed(text)
    for value in (INCIDENT, INFORMATIONAL, ADVISORY, VEX)
    for text in (value, value.removeprefix("csaf_"))
)
_NOTE_CATEGORIES = frozenset({"description", "details", "general", "summary"})
_VEX_STATUSES = ("fixed", "known_affected", "known_not_affected", "under_investigation")


def _category(doc: Mapping[str, Any]) -> str | None:
    return as_str(document_section(doc).get("category"))


def prohibited_category_name(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.26: a CSAF Base document's category does not pose as another profile, and does not
    claim the reserved ``csaf_`` prefix."""
    category = _category(doc)
    if category is None or category in PROFILE_CATEGORIES:
        return
    if _squeezed(category) in _PROHIBITED:
        yield CsafProblem(
            "6.1.26",
            "/document/category",
            f"The category {category!r} is the name of a CSAF profile; use that profile's exact "
            "value or another name.",
        )
    elif category.lower().startswith("csaf_"):
        yield CsafProblem(
            "6.1.26",
            "/document/category",
            f"The category {category!r} uses the prefix 'csaf_', which is reserved for CSAF "
            "profiles.",
        )


def document_notes(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.1: informational advisories and incident reports carry a describing note."""
    if _category(doc) not in (INFORMATIONAL, INCIDENT):
        return
    notes = items(document_section(doc), "notes", "/document")
    if not any(as_str(note.get("category")) in _NOTE_CATEGORIES for _, note in notes):
        yield CsafProblem(
            "6.1.27.1",
            "/document/notes",
            f"A {_category(doc)} document needs a document note of category description, "
            "details, general or summary.",
        )


def document_references(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.2: informational advisories and incident reports link an external source."""
    if _category(doc) not in (INFORMATIONAL, INCIDENT):
        return
    references = items(document_section(doc), "references", "/document")
    # A reference without a category is external: that is the schema's stated default.
    if not any(ref.get("category", "external") == "external" for _, ref in references):
        yield CsafProblem(
            "6.1.27.2",
            "/document/references",
            f"A {_category(doc)} document needs a document reference of category external.",
        )


def informational_without_vulnerabilities(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.3: an informational advisory has no ``/vulnerabilities``."""
    if _category(doc) == INFORMATIONAL and "vulnerabilities" in doc:
        yield CsafProblem(
            "6.1.27.3",
            "/vulnerabilities",
            "An informational advisory must not list vulnerabilities (consider csaf_base or "
            "csaf_security_advisory).",
        )


def product_tree_present(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.4: security advisories and VEX documents have a ``/product_tree``."""
    if _category(doc) in (ADVISORY, VEX) and "product_tree" not in doc:
        yield CsafProblem(
            "6.1.27.4", "/product_tree", f"A {_category(doc)} document needs a product tree."
        )


def vulnerability_notes(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.5: in security advisories and VEX documents every vulnerability has notes."""
    if _category(doc) not in (ADVISORY, VEX):
        return
    for pointer, vulnerability in vulnerabilities(doc):
        if "notes" not in vulnerability:
            yield CsafProblem(
                "6.1.27.5",
                child(pointer, "notes"),
                f"Every vulnerability of a {_category(doc)} document needs notes.",
            )


def product_status_present(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.6: in security advisories every vulnerability has a product status."""
    if _category(doc) != ADVISORY:
        return
    for pointer, vulnerability in vulnerabilities(doc):
        if "product_status" not in vulnerability:
            yield CsafProblem(
                "6.1.27.6",
                child(pointer, "product_status"),
                "Every vulnerability of a security advisory needs a product status.",
            )


def vex_product_status(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.7: in VEX documents every vulnerability states fixed, known_affected,
    known_not_affected or under_investigation products."""
    if _category(doc) != VEX:
        return
    for pointer, vulnerability in vulnerabilities(doc):
        status = as_mapping(vulnerability.get("product_status"))
        if not any(key in status for key in _VEX_STATUSES):
            yield CsafProblem(
                "6.1.27.7",
                child(pointer, "product_status"),
                "A VEX vulnerability needs at least one of fixed, known_affected, "
                "known_not_affected or under_investigation in its product status.",
            )


def vex_vulnerability_id(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.8: in VEX documents every vulnerability has a ``cve`` or ``ids``."""
    if _category(doc) != VEX:
        return
    for pointer, vulnerability in vulnerabilities(doc):
        if "cve" not in vulnerability and "ids" not in vulnerability:
            yield CsafProblem(
                "6.1.27.8",
                pointer,
                "A VEX vulnerability needs a cve or ids to say which vulnerability it is.",
            )


def impact_statement(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.9: in VEX documents every known_not_affected product has an impact statement:
    a flag, or a threat of category ``impact``, naming it directly or through a group."""
    if _category(doc) != VEX:
        return
    groups = product_groups(doc)
    for pointer, vulnerability in vulnerabilities(doc):
        covered: set[str] = set()
        for _, flag in items(vulnerability, "flags", pointer):
            covered |= referenced_products(flag, groups)
        for _, threat in items(vulnerability, "threats", pointer):
            if threat.get("category") == "impact":
                covered |= referenced_products(threat, groups)
        status = as_mapping(vulnerability.get("product_status"))
        for id_pointer, product_id in strings(
            status, "known_not_affected", child(pointer, "product_status")
        ):
            if product_id not in covered:
                yield CsafProblem(
                    "6.1.27.9",
                    id_pointer,
                    f"Product {product_id!r} is known_not_affected but has no impact statement "
                    "(a flag or an impact threat).",
                )


def action_statement(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.10: in VEX documents every known_affected product has an action statement: a
    remediation naming it directly or through a group."""
    if _category(doc) != VEX:
        return
    groups = product_groups(doc)
    for pointer, vulnerability in vulnerabilities(doc):
        covered: set[str] = set()
        for _, remediation in items(vulnerability, "remediations", pointer):
            covered |= referenced_products(remediation, groups)
        status = as_mapping(vulnerability.get("product_status"))
        for id_pointer, product_id in strings(
            status, "known_affected", child(pointer, "product_status")
        ):
            if product_id not in covered:
                yield CsafProblem(
                    "6.1.27.10",
                    id_pointer,
                    f"Product {product_id!r} is known_affected but has no action statement "
                    "(a remediation).",
                )


def vulnerabilities_present(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.27.11: security advisories and VEX documents have ``/vulnerabilities``."""
    if _category(doc) in (ADVISORY, VEX) and "vulnerabilities" not in doc:
        yield CsafProblem(
            "6.1.27.11",
            "/vulnerabilities",
            f"A {_category(doc)} document needs vulnerabilities.",
        )
