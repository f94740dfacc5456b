"""Clearinghouse's own CSAF 2.0 validator: the JSON schema plus every mandatory test of CSAF 2.0
section 6.1 (6.1.1-6.1.33, including the profile tests 6.1.27.1-6.1.27.11).

:func:`check_mandatory` runs the section 6.1 tests, :func:`validate_csaf` adds the JSON-schema
violations (``test_id`` ``"schema"``), each as a :class:`CsafProblem` with a JSON pointer. Both
are pure: they take a decoded document, never raise on a malformed one (each test skips what is
absent or mistyped; the schema reports that), and read nothing but data files shipped in
installed packages (the CSAF and FIRST CVSS schemas and the IANA language subtag registry from
``csaf``, the CWE catalogue from ``cwe2``).

It does not run the optional (6.2) or informative (6.3) tests, does not check the file name or
signatures of a distributed document, and does not read CSAF 2.1. Schema violations are capped
at :data:`MAX_SCHEMA_PROBLEMS` so that a hostile document cannot make the report unbounded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema_rs

from clearinghouse.formats.csaf_validation import language, products, profiles, scores, tracking
from clearinghouse.formats.csaf_validation import vulnerabilities as vulns
from clearinghouse.formats.csaf_validation.model import SCHEMA, CsafProblem
from clearinghouse.formats.schema import json_pointer, load_packaged_json

Check = Callable[[Mapping[str, Any]], Iterator[CsafProblem]]

MAX_SCHEMA_PROBLEMS = 100
_SCHEMA_DIR = "csaf/v20/schema"
# The CSAF schema $refs these URLs; the FIRST files' own $id carry a "?date" suffix instead.
_CVSS_SCHEMAS = {
    "https://www.first.org/cvss/cvss-v2.0.json": "cvss-v2.0.json",
    "https://www.first.org/cvss/cvss-v3.0.json": "cvss-v3.0.json",
    "https://www.first.org/cvss/cvss-v3.1.json": "cvss-v3.1.json",
}

MANDATORY_TESTS: tuple[tuple[str, Check], ...] = (
    ("6.1.1", products.missing_product_definition),
    ("6.1.2", products.multiple_product_definition),
    ("6.1.3", products.circular_product_definition),
    ("6.1.4", products.missing_group_definition),
    ("6.1.5", products.multiple_group_definition),
    ("6.1.6", products.contradicting_product_status),
    ("6.1.7", scores.multiple_scores_per_product),
    ("6.1.8", scores.invalid_cvss),
    ("6.1.9", scores.invalid_cvss_computation),
    ("6.1.10", scores.inconsistent_cvss),
    ("6.1.11", scores.invalid_cwe),
    ("6.1.12", language.invalid_language),
    ("6.1.13", products.invalid_purl),
    ("6.1.14", tracking.sorted_revision_history),
    ("6.1.15", language.translator_without_source_language),
    ("6.1.16", tracking.latest_document_version),
    ("6.1.17", tracking.document_status_draft),
    ("6.1.18", tracking.released_revision_history),
    ("6.1.19", tracking.prerelease_revision),
    ("6.1.20", tracking.non_draft_document_version),
    ("6.1.21", tracking.missing_revision),
    ("6.1.22", tracking.duplicate_revision),
    ("6.1.23", vulns.multiple_use_of_cve),
    ("6.1.24", vulns.multiple_involvements),
    ("6.1.25", products.multiple_hash_algorithm),
    ("6.1.26", profiles.prohibited_category_name),
    ("6.1.27.1", profiles.document_notes),
    ("6.1.27.2", profiles.document_references),
    ("6.1.27.3", profiles.informational_without_vulnerabilities),
    ("6.1.27.4", profiles.product_tree_present),
    ("6.1.27.5", profiles.vulnerability_notes),
    ("6.1.27.6", profiles.product_status_present),
    ("6.1.27.7", profiles.vex_product_status),
    ("6.1.27.8", profiles.vex_vulnerability_id),
    ("6.1.27.9", profiles.impact_statement),
    ("6.1.27.10", profiles.action_statement),
    ("6.1.27.11", profiles.vulnerabilities_present),
    ("6.1.28", language.same_source_language),
    ("6.1.29", vulns.remediation_without_products),
    ("6.1.30", tracking.mixed_versioning),
    ("6.1.31", products.version_range_in_product_version),
    ("6.1.32", vulns.flag_without_products),
    ("6.1.33", vulns.multiple_vex_flags),
)
"""Every section 6.1 test in spec order: ``(test id, check)``."""


def mandatory_test_ids() -> tuple[str, ...]:
    """The ids of the mandatory tests implemented, in spec order."""
    return tuple(test_id for test_id, _ in MANDATORY_TESTS)


def check_mandatory(document: Mapping[str, Any]) -> list[CsafProblem]:
    """Every section 6.1 failure of ``document``, in spec order; no schema validation."""
    # Callers may hand over any decoded JSON; a non-object has nothing to test (the schema
    # reports its shape).
    candidate: Any = document
    if not isinstance(candidate, Mapping):
        return []
    return [problem for _, check in MANDATORY_TESTS for problem in check(document)]


@functools.cache
def _schema_validator() -> Any:
    schema = load_packaged_json("csaf", f"{_SCHEMA_DIR}/csaf.json")
    registry = jsonschema_rs.Registry(
        [
            (url, load_packaged_json("csaf", f"{_SCHEMA_DIR}/referenced/{file}"))
            for url, file in _CVSS_SCHEMAS.items()
        ]
    )
    # "format" is an annotation in draft 2020-12 unless a validator opts in, and the CSAF
    # reader (formats/csaf.py) does not assert it either: both must agree on what is valid.
    return jsonschema_rs.validator_for(schema, registry=registry, validate_formats=False)


def schema_problems(document: Any) -> list[CsafProblem]:
    """The CSAF 2.0 JSON-schema violations of ``document`` (at most MAX_SCHEMA_PROBLEMS)."""
    validator = _schema_validator()
    if validator.is_valid(document):
        return []
    found: list[CsafProblem] = []
    for error in validator.iter_errors(document):
        if len(found) == MAX_SCHEMA_PROBLEMS:
            break
        found.append(CsafProblem(SCHEMA, json_pointer(error.instance_path), _short(error.message)))
    return found


def validate_csaf(document: Mapping[str, Any]) -> list[CsafProblem]:
    """Schema violations first, then every section 6.1 failure."""
    return schema_problems(document) + check_mandatory(document)


def _short(message: str, limit: int = 300) -> str:
    """Validator messages quote the offending value, which may be huge."""
    return message if len(message) <= limit else message[: limit - 1] + "…"
