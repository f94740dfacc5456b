"""What an advisory says, as frozen values: the one input of every document composer.

A case at publication is turned into an ``AdvisoryContent`` by the pipeline; the composers
(CSAF, OSV, CVE JSON 5, the human page) only translate it. Nothing here reads the database or
the clock, so a document is a pure function of its content and the same content always gives the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


class ProductStatus(enum.StrEnum):
    """A vendor's status of one product for one vulnerability, as published."""

    AFFECTED = "affected"
    NOT_AFFECTED = "not_affected"
    FIXED = "fixed"
    UNDER_INVESTIGATION = "under_investigation"


@dataclass(frozen=True, slots=True)
class Publisher:
    name: str
    namespace: str  # an https URL naming the publisher, e.g. https://clearinghouse.example
    contact: str  # e-mail address or URL
    issuing_authority: str = ""


@dataclass(frozen=True, slots=True)
class Revision:
    number: str  # integer versioning: "1", "2", ...
    date: dt.datetime  # timezone-aware UTC
    summary: str


@dataclass(frozen=True, slots=True)
class Credit:
    name: str  # the finder organization's display name
    contact: str = ""


@dataclass(frozen=True, slots=True)
class AffectedProduct:
    """One product of one vendor, with the versions a vulnerability touches.

    ``introduced``/``fixed``/``last_affected`` are versions in the product's own ecosystem;
    ``introduced`` of ``"0"`` means every version before the fix.
    """

    vendor: str
    product: str
    purl: str | None  # package URL without a version, e.g. pkg:pypi/rle-decoder
    ecosystem: str | None  # OSV ecosystem name, e.g. "PyPI"; None when not a package
    status: ProductStatus
    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    statement: str | None = None  # the vendor's approved statement
    remediation: str | None = None  # e.g. "Upgrade to 1.4.2"


@dataclass(frozen=True, slots=True)
class AdvisoryVulnerability:
    id: str  # CH-YYYY-NNNNN
    title: str
    description: str
    aliases: tuple[str, ...] = ()  # CVE-..., GHSA-..., in the order given
    cwe: int | None = None
    cvss_v3: str | None = None  # a CVSS:3.x vector
    cvss_v4: str | None = None  # a CVSS:4.0 vector (OSV and CVE only; CSAF 2.0 has no v4)
    exploited: bool = False  # known exploited in the wild (KEV) or reproduced exploit
    discovered: dt.datetime | None = None
    credits: tuple[Credit, ...] = ()  # finders in credit order
    products: tuple[AffectedProduct, ...] = ()
    references: tuple[str, ...] = ()  # https URLs


@dataclass(frozen=True, slots=True)
class AdvisoryContent:
    """Everything needed to compose every document of one advisory revision."""

    tracking_id: str  # CASE-YYYY-NNNN
    title: str
    summary: str
    publisher: Publisher
    initial_release: dt.datetime
    current_release: dt.datetime
    revisions: tuple[Revision, ...]  # oldest first; the last is the current version
    vulnerabilities: tuple[AdvisoryVulnerability, ...]
    tlp: str = "CLEAR"  # TLP 2.0 label of the documents
    language: str = "en"
    references: tuple[str, ...] = field(default=())

    @property
    def version(self) -> str:
        return self.revisions[-1].number
