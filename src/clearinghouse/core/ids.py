"""User-facing identifiers: ``CH-YYYY-NNNNN`` for vulnerabilities.

Allocation (the counter) is a database concern; this module only formats and parses.
"""

from __future__ import annotations

import re
from typing import NewType

from clearinghouse.core.errors import InputError

VulnId = NewType("VulnId", str)

_VULN_RE = re.compile(r"^CH-(\d{4})-(\d{5,})$")


def format_vuln_id(year: int, number: int) -> VulnId:
    """At least five digits; more when a year passes 99,999 (as CVE ids do)."""
    return VulnId(f"CH-{year:04d}-{number:05d}")


def parse_vuln_id(text: str) -> tuple[int, int]:
    match = _VULN_RE.match(text.strip().upper())
    if match is None:
        raise InputError(f"vulnerability id: {text!r} is not of the form CH-YYYY-NNNNN")
    return int(match.group(1)), int(match.group(2))
