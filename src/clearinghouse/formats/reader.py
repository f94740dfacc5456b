"""The protocol every format reader implements, and the registry that picks one.

A reader is a module-level object; the registry lists them explicitly (no folder scans, no
plugin discovery), in the order in which ``sniff`` is tried.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.records import DocumentSummary, FindingRecord


class Reader(Protocol):
    """A pure codec from a decoded document to finding records.

    ``validate`` raises :class:`clearinghouse.core.errors.SchemaError` naming the JSON pointer
    of the first problem; ``read`` may assume ``validate`` passed, but still raises
    ``SchemaError`` for limits (an over-long field) since nothing may be half-read.
    """

    name: str  # "sarif" | "osv" | "cve5" | "csaf" | "native"

    def sniff(self, doc: Any) -> bool:
        """Cheap structural guess: does this decoded document look like my format?"""
        ...

    def validate(self, doc: Any) -> None: ...

    def summarize(self, doc: Any) -> DocumentSummary: ...

    def read(self, doc: Any, *, limits: ReadLimits) -> Iterator[FindingRecord]: ...
