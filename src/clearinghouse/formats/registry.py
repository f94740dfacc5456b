"""The list of format readers and the choice among them.

Readers are listed explicitly, in the order in which their ``sniff`` is tried: the formats with
the most distinctive top-level markers first. There is no discovery by folder scan.
"""

from __future__ import annotations

from typing import Any

from clearinghouse.core.errors import UnknownFormatError
from clearinghouse.formats import csaf, cve5, native, osv, sarif
from clearinghouse.formats.reader import Reader

READERS: tuple[Reader, ...] = (
    sarif.READER,
    csaf.READER,
    cve5.READER,
    native.READER,
    osv.READER,
)
_BY_NAME = {reader.name: reader for reader in READERS}
FORMAT_NAMES = ("auto", *_BY_NAME)


def parse_format(name: str) -> str | None:
    """``auto`` -> None; a known name -> itself; anything else -> a clear error."""
    value = name.strip().lower()
    if value == "auto":
        return None
    if value not in _BY_NAME:
        raise UnknownFormatError(f"format: {name[:40]!r} is not one of {'|'.join(FORMAT_NAMES)}")
    return value


def detect(doc: Any, *, hint: str | None) -> Reader:
    """The reader named by ``hint``, or the first whose ``sniff`` recognises ``doc``."""
    if hint is not None:
        return _BY_NAME[hint]
    for reader in READERS:
        if reader.sniff(doc):
            return reader
    raise UnknownFormatError(
        "document: not recognised as SARIF 2.1.0, OSV, CVE JSON 5, CSAF 2.0 or the native "
        "findings format (pass --format to name it)"
    )
