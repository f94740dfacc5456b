"""What every VEX reader produces: statements in one vocabulary, whatever the source format.

OpenVEX, CycloneDX and CSAF say the same thing (this vulnerability does or does not affect these
products, and why) in three shapes and three vocabularies. The readers reduce all three to these
records, using OpenVEX's status and justification labels (which are the CISA "Minimum
Requirements for VEX" labels), so that matching SBOM findings against VEX needs one model. What
normalization would lose (a CycloneDX ``protected_at_perimeter`` becomes the coarser
``vulnerable_code_cannot_be_controlled_by_adversary``) stays readable in ``detail``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

VexFormat = Literal["cyclonedx-vex", "openvex", "csaf-vex"]
VexStatus = Literal["not_affected", "affected", "fixed", "under_investigation"]

STATUSES: tuple[VexStatus, ...] = ("not_affected", "affected", "fixed", "under_investigation")
JUSTIFICATIONS: tuple[str, ...] = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)


@dataclass(frozen=True, slots=True)
class VexStatement:
    """One assertion: ``vulnerability`` has ``status`` in each of ``products``.

    ``products`` are canonical purls where the document gives a purl (so they compare equal to
    SBOM components), else the identifier as written: a CPE, a CycloneDX BOM-Link or
    ``bom-ref``, a CSAF product id without identification helper. An empty ``products`` means
    the document names no product (a CycloneDX vulnerability without ``affects``); it must
    never be read as "every product".

    Two fields narrow the products and must not be dropped by a consumer, or a ``not_affected``
    would cover more than its author said:

    * ``subcomponents``: the components inside the products where the vulnerability lives
      (OpenVEX ``subcomponents``, the component side of a CSAF relationship), same spelling as
      ``products``; empty means the products as a whole.
    * ``versions``: the product versions the statement is limited to, as the source wrote them,
      each an exact version (``"2.4"``) or a vers range (``"vers:generic/>=2.9|<=4.1"``), from
      CycloneDX ``affects[].versions``; empty means the products as identified.

    ``timestamp`` is the statement's own time, else its document's (OpenVEX inheritance).
    ``detail`` keeps the source's own terms (``analysis.state: false_positive; ...``) or notes.
    """

    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[str, ...]
    status: VexStatus
    justification: str | None = None
    impact_statement: str | None = None
    action_statement: str | None = None
    timestamp: str | None = None
    detail: str | None = None
    subcomponents: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VexDocument:
    """A whole VEX document, read completely or not at all."""

    format: VexFormat
    author: str | None
    timestamp: str | None
    statements: tuple[VexStatement, ...]
