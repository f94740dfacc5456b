"""Limits every reader enforces on untrusted documents.

These are defaults; the intake layer passes the configured values in. Sizes are in characters.
Nesting is bounded where documents are decoded (``formats.decode``: orjson refuses JSON past
1,024 levels, and YAML recursion is caught), not here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReadLimits:
    max_string_chars: int = 1_048_576  # one field we store (a description, a snippet)
    max_proof_chars: int = 16 * 1_048_576  # a proof-of-vulnerability input, base64 or text
    max_title_chars: int = 4_096
    max_findings: int = 5_000_000


DEFAULT_LIMITS = ReadLimits()
