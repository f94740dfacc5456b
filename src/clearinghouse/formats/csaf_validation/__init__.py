"""CSAF 2.0 validation beyond reading: the JSON schema and all mandatory tests (section 6.1).

``validate_csaf`` = schema violations + ``check_mandatory``; every finding is a
:class:`CsafProblem` (test id, JSON pointer, message). Pure functions over a decoded document;
the CSAF reader (``formats.csaf``) stays schema-only and does not call this package.
"""

from clearinghouse.formats.csaf_validation.mandatory import (
    MANDATORY_TESTS,
    check_mandatory,
    mandatory_test_ids,
    schema_problems,
    validate_csaf,
)
from clearinghouse.formats.csaf_validation.model import SCHEMA, CsafProblem

__all__ = [
    "MANDATORY_TESTS",
    "SCHEMA",
    "CsafProblem",
    "check_mandatory",
    "mandatory_test_ids",
    "schema_problems",
    "validate_csaf",
]
