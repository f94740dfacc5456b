"""Limits every reader enforces on untrusted documents.

These are defaults; the intake layer passes the configured values in. Sizes are in characters
for strings and in levels for nesting.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReadLimits:
    max_string_chars: int = 1_048_576  # one field we store (a description, a snippet, a proof)
    max_title_chars: int = 4_096
    max_depth: int = 256  # nesting of the decoded document
    max_findings: int = 5_000_000


DEFAULT_LIMITS = ReadLimits()
