"""What the three VEX readers share: limits, typed field access with pointers, identifiers.

Every value is read from untrusted JSON through :class:`Fields`, so a wrong type or an oversized
string is refused as a ``SchemaError`` naming its JSON pointer instead of surfacing later as a
``KeyError``; statements are counted as they are made, so a hostile document costs bounded memory.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from clearinghouse.core.errors import InputError, SchemaError, TooLargeError
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.osv import normalize_alias
from clearinghouse.formats.sbom.purls import normalize_purl

K = TypeVar("K")

# RFC 3339 date-time (the "T" may be a space, as RFC 3339 allows); fromisoformat then checks
# the ranges (month 13, February 30).
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$"
)
# Identifier schemes that name a vulnerability, for telling aliases from bug-tracker numbers.
VULNERABILITY_ID = re.compile(
    r"^(CVE|GHSA|PYSEC|GO|RUSTSEC|OSV|GSD|MAL|HSEC|JLSEC|BIT|CGA|USN|DSA|DLA|RHSA|ALSA|ELSA"
    r"|SNYK|OSEC)-[0-9A-Za-z][-0-9A-Za-z.:_]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class VexLimits(ReadLimits):
    """``ReadLimits`` plus the bounds a VEX document needs.

    Vendor VEX files (one per product line, statements for years of CVEs) reach tens of MB and
    hundreds of thousands of product references; the defaults allow that and exist so that a
    hostile upload, such as a CSAF product group referenced by every vulnerability, costs
    bounded memory.
    """

    max_vex_bytes: int = 64 * 1_048_576
    max_statements: int = 1_000_000
    max_products: int = 5_000_000  # product references summed over all statements


DEFAULT_VEX_LIMITS = VexLimits()


def vex_limits(limits: ReadLimits) -> VexLimits:
    """Accept plain ``ReadLimits`` (as other readers take) and add the VEX defaults."""
    if isinstance(limits, VexLimits):
        return limits
    return VexLimits(**dataclasses.asdict(limits))


def check_size(data: bytes, limits: VexLimits, document: str) -> None:
    """Refuse before decoding: decoding is where an oversized upload would cost memory."""
    if len(data) > limits.max_vex_bytes:
        raise TooLargeError(f"{document} is {len(data)} bytes; the limit is {limits.max_vex_bytes}")


class Fields:
    """Typed reads from one decoded document; every refusal names the offending pointer."""

    def __init__(self, document: str, limits: VexLimits) -> None:
        self.document = document
        self.limits = limits
        self._statements = 0
        self._products = 0

    def fail(self, pointer: str, expected: str) -> SchemaError:
        return SchemaError(pointer, expected, document=self.document)

    def obj(self, value: Any, pointer: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(pointer, "an object")
        return value

    def array(self, value: Any, pointer: str) -> list[Any]:
        """A JSON array; an absent (``None``) one reads as empty."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(pointer, "an array")
        return value

    def bounded(self, text: str, pointer: str) -> str:
        """Refuse rather than truncate: a cut impact statement would say something else."""
        limit = self.limits.max_string_chars
        if len(text) > limit:
            raise self.fail(pointer, f"a string of at most {limit} characters (got {len(text)})")
        return text

    def text(self, parent: dict[str, Any], key: str, pointer: str) -> str | None:
        """An optional string member; blank reads as absent."""
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{pointer}/{key}", "a string")
        return self.bounded(value, f"{pointer}/{key}").strip() or None

    def required_text(self, parent: dict[str, Any], key: str, pointer: str) -> str:
        found = self.text(parent, key, pointer)
        if found is None:
            raise self.fail(f"{pointer}/{key}", "a non-empty string (required)")
        return found

    def timestamp(self, parent: dict[str, Any], key: str, pointer: str) -> str | None:
        """An RFC 3339 date-time, kept as written once checked (ordering statements needs it)."""
        found = self.text(parent, key, pointer)
        if found is None:
            return None
        if _DATE_TIME.match(found):
            try:
                datetime.fromisoformat(found.upper())
            except ValueError:
                pass
            else:
                return found
        raise self.fail(f"{pointer}/{key}", f"an RFC 3339 date-time (got {found[:60]!r})")

    def vulnerability_id(self, text: str, pointer: str) -> str:
        return normalize_alias(self.bounded(text, pointer))

    def product(self, text: str, pointer: str) -> str:
        """A product identifier: a canonical purl when it is one, else as written."""
        text = self.bounded(text, pointer).strip()
        if not text:
            raise self.fail(pointer, "a non-empty product identifier")
        if text[:4].lower() == "pkg:":
            return self.purl(text, pointer)
        return text

    def purl(self, text: str, pointer: str) -> str:
        try:
            return normalize_purl(text)
        except InputError as error:
            raise self.fail(pointer, f"a valid purl ({error.detail})") from None

    def count(self, products: int, pointer: str) -> None:
        """Charge one statement with ``products`` product references against the limits."""
        self._statements += 1
        if self._statements > self.limits.max_statements:
            raise TooLargeError(
                f"{self.document} at {pointer}: more than {self.limits.max_statements} "
                "statements (the configured limit)"
            )
        self.charge(products, pointer)

    def charge(self, products: int, pointer: str) -> None:
        """Charge product references (also those a CSAF product group expands to)."""
        self._products += products
        if self._products > self.limits.max_products:
            raise TooLargeError(
                f"{self.document} at {pointer}: more than {self.limits.max_products} "
                "product references (the configured limit)"
            )


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """In first-seen order, each once."""
    return tuple(dict.fromkeys(items))


def grouped(pairs: Iterable[tuple[K, str]]) -> dict[K, tuple[str, ...]]:
    """Products sharing a key, in first-seen order: one statement per key, not per product."""
    groups: dict[K, dict[str, None]] = {}
    for key, product in pairs:
        groups.setdefault(key, {})[product] = None
    return {key: tuple(products) for key, products in groups.items()}


def details(*pairs: tuple[str, str | None]) -> str | None:
    """``"analysis.state: false_positive; analysis.justification: ..."`` from the set pairs."""
    parts = [f"{name}: {value}" for name, value in pairs if value]
    return "; ".join(parts) or None
