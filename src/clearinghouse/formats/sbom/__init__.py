"""SBOM readers: CycloneDX and SPDX documents -> one normalized :class:`Inventory`."""

from clearinghouse.formats.sbom.collect import DEFAULT_SBOM_LIMITS, SbomLimits
from clearinghouse.formats.sbom.cyclonedx import read_cyclonedx
from clearinghouse.formats.sbom.detect import SbomKind, detect_sbom, read_sbom
from clearinghouse.formats.sbom.purls import (
    canonical_purl,
    ecosystem_of,
    normalize_purl,
    parse_purl,
)
from clearinghouse.formats.sbom.records import Component, Inventory
from clearinghouse.formats.sbom.spdx import read_spdx

__all__ = [
    "DEFAULT_SBOM_LIMITS",
    "Component",
    "Inventory",
    "SbomKind",
    "SbomLimits",
    "canonical_purl",
    "detect_sbom",
    "ecosystem_of",
    "normalize_purl",
    "parse_purl",
    "read_cyclonedx",
    "read_sbom",
    "read_spdx",
]
