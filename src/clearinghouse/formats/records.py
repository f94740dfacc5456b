"""Immutable records that every reader produces, whatever the source format.

A record keeps the finder's words and the tool's own identifiers as they were; it computes no
identity of its own (dedup keys belong to ``clearinghouse.dedup``). ``pointer`` says where in the
kept raw document the finding came from, so nothing a reader does not model is lost: the raw
bytes are stored content-addressed and the pointer leads back into them.

``FindingRecord`` and ``Location`` are NamedTuples rather than frozen dataclasses on purpose:
an import makes hundreds of thousands of them, a NamedTuple is four times cheaper to build, and
being a hashable tuple lets the intake memoize work for findings repeated across stacked scans
(see :meth:`FindingRecord.signature`). They are just as immutable.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple


class Severity(enum.StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Location(NamedTuple):
    """Where in the code a finding points.

    ``path`` is repository-relative with forward slashes when the producer made that knowable
    (SARIF ``uriBaseId``, native ``file``); otherwise whatever the producer gave, minus a
    ``file://`` scheme. ``snippet`` is the source text of the region if the producer shipped it.
    """

    path: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    start_column: int | None = None
    function: str | None = None
    snippet: str | None = None


@dataclass(frozen=True, slots=True)
class Proof:
    """A proof of vulnerability: the input and how to run it (native format only for now)."""

    input_b64: str | None = None
    input_text: str | None = None
    harness: str | None = None
    command: str | None = None
    sanitizer_output: str | None = None


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who or what made a finding: the tool, the model, and whether a human reviewed it."""

    tool: str | None = None
    tool_version: str | None = None
    model: str | None = None
    model_version: str | None = None
    human_reviewed: bool | None = None


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """A package a finding or advisory says is affected (OSV/CVE/CSAF); ranges kept verbatim."""

    ecosystem: str | None = None
    name: str | None = None
    purl: str | None = None
    ranges_json: str | None = None  # the source's own range structure, JSON-encoded
    versions: tuple[str, ...] = ()


_NO_EXTRA: Mapping[str, str] = MappingProxyType({})


class FindingRecord(NamedTuple):
    """One finding: a SARIF result, an OSV/CVE record, a CSAF vulnerability, a native report.

    ``producer`` names the tool or database that made it (SARIF ``tool.driver.name``, OSV id
    prefix database, CVE assigner short name, CSAF publisher namespace, native provenance tool).
    ``fingerprints`` are the producer's own stable identifiers as ``(name, value)`` pairs, sorted
    (SARIF ``fingerprints``, a native ``fingerprint``). ``partial_fingerprints`` are SARIF
    ``partialFingerprints``: they identify a result only together with its rule and file (CodeQL's
    ``primaryLocationLineHash`` is a hash of the line's text, equal for every ``except:``).
    ``aliases`` are vulnerability identifiers (CVE-, GHSA-, PYSEC-, GO-, RUSTSEC-, OSV ids …)
    including the record's own id, upper-cased where the scheme is case-insensitive, sorted.
    """

    format: str
    pointer: str
    producer: str
    title: str
    producer_version: str | None = None
    rule_id: str | None = None
    description: str = ""
    cwes: tuple[int, ...] = ()
    severity: Severity | None = None
    level: str | None = None
    security_severity: float | None = None
    location: Location | None = None
    fingerprints: tuple[tuple[str, str], ...] = ()
    partial_fingerprints: tuple[tuple[str, str], ...] = ()
    aliases: tuple[str, ...] = ()
    target: str | None = None
    version: str | None = None
    affected: tuple[AffectedPackage, ...] = ()
    proof: Proof | None = None
    suggested_patch: str | None = None
    provenance: Provenance | None = None
    code_flow_count: int = 0
    suppressed: bool = False
    tlp: str | None = None  # a label the document itself carries (CSAF distribution), if any
    extra: Mapping[str, str] = _NO_EXTRA  # kept last: see ``signature``

    def signature(self) -> Hashable:
        """Everything but ``pointer``: equal for the same finding repeated in a document."""
        return (self[0], *self[2:-1], tuple(self.extra.items()) if self.extra else ())


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    """What a reader learned about a whole document before yielding its findings."""

    format: str
    producer: str | None
    finding_count: int
    tlp: str | None = None
