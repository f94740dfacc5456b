"""What an SBOM reader produces: one inventory of normalized components, whatever the format.

CycloneDX and SPDX describe the same thing (the packages a product contains) in different
shapes; the readers reduce both to these records so that ``inventory`` matches vulnerabilities
against one model. Only what matching and display need is kept; the raw document is stored
elsewhere (content-addressed) and ``Component.pointer`` leads back into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SbomFormat = Literal["cyclonedx", "spdx"]
SbomEncoding = Literal["json", "xml", "tag-value"]


@dataclass(frozen=True, slots=True)
class Component:
    """One package of the inventory.

    ``purl`` is canonical (see :mod:`.purls`), so equal packages compare equal across documents;
    ``ecosystem`` is the OSV ecosystem name derived from it (None when OSV has no single one).
    ``name`` is the document's name, with a CycloneDX ``group`` prefixed purl-style
    (``org.apache.logging.log4j/log4j-core``, ``@angular/core``) so that it stays unique.
    ``ref`` is the document's own id (CycloneDX ``bom-ref``, SPDX ``SPDXID``); ``pointer`` is
    where the component sits in the document (a JSON pointer, or an element path for XML).
    """

    name: str
    version: str | None = None
    purl: str | None = None
    ecosystem: str | None = None
    cpes: tuple[str, ...] = ()
    ref: str | None = None
    supplier: str | None = None
    pointer: str = ""


@dataclass(frozen=True, slots=True)
class Inventory:
    """A whole SBOM, read completely or not at all.

    ``components`` are in document order with nested CycloneDX components flattened and
    duplicates (same purl, or same name and version when there is no purl) removed. ``warnings``
    say what was kept but degraded, each naming its pointer (an invalid purl dropped, say).
    """

    format: SbomFormat
    spec_version: str
    encoding: SbomEncoding
    product_name: str | None
    product_version: str | None
    serial: str | None
    components: tuple[Component, ...]
    warnings: tuple[str, ...] = ()
