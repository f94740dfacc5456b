"""The result type of CSAF 2.0 validation: one :class:`CsafProblem` per violation found.

It carries no severity: every mandatory-test failure (and every schema violation) makes a CSAF
document invalid, so callers only need to know which test failed, where, and why.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = "schema"
"""The ``test_id`` of a JSON-schema violation (as opposed to a section 6.1 test)."""


@dataclass(frozen=True, slots=True)
class CsafProblem:
    """One violation: the test that failed, where in the document, and a sentence saying why."""

    test_id: str
    """The CSAF 2.0 test number such as ``"6.1.8"`` or ``"6.1.27.9"``, or ``"schema"``."""
    pointer: str
    """RFC 6901 JSON pointer to the offending value, e.g. ``/vulnerabilities/0/scores/1``."""
    message: str
    """One clear sentence for the submitter."""
