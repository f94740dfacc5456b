"""What both SBOM readers share: limits, and turning raw package fields into components.

Keeping this in one place makes CycloneDX and SPDX agree on everything after parsing: purl
normalization, the OSV ecosystem, de-duplication, bounded fields and the component count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from clearinghouse.core.errors import InputError, SchemaError, TooLargeError
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.sbom.purls import canonical_and_ecosystem
from clearinghouse.formats.sbom.records import Component


@dataclass(frozen=True, slots=True)
class SbomLimits(ReadLimits):
    """``ReadLimits`` plus the two bounds an SBOM needs.

    Container-image SBOMs run to tens of thousands of packages and tens of MB, so the defaults
    are generous; they exist so that a hostile upload costs bounded memory and time.
    """

    max_sbom_bytes: int = 128 * 1_048_576
    max_components: int = 250_000


DEFAULT_SBOM_LIMITS = SbomLimits()


def sbom_limits(limits: ReadLimits) -> SbomLimits:
    """Accept plain ``ReadLimits`` (as other readers take) and add the SBOM defaults."""
    if isinstance(limits, SbomLimits):
        return limits
    return SbomLimits(**dataclasses.asdict(limits))


def check_size(data: bytes, limits: SbomLimits, document: str) -> None:
    """Refuse before decoding: decoding is where an oversized upload would cost memory."""
    if len(data) > limits.max_sbom_bytes:
        raise TooLargeError(
            f"{document} is {len(data)} bytes; the limit is {limits.max_sbom_bytes}"
        )


class ComponentCollector:
    """Gathers components in order, normalizing and de-duplicating; never half-fills.

    Callers build a whole inventory from ``components``/``warnings`` only after every ``add``
    succeeded, so an error in the last package leaves no partial result behind.
    """

    def __init__(self, limits: SbomLimits, document: str) -> None:
        self._limits = limits
        self._document = document
        self._seen: set[tuple[str, str | None, str | None]] = set()
        self._components: list[Component] = []
        self._warnings: list[str] = []
        self._count = 0

    @property
    def components(self) -> tuple[Component, ...]:
        return tuple(self._components)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self._warnings)

    def warn(self, message: str) -> None:
        self._warnings.append(message)

    def bounded(self, value: str | None, pointer: str) -> str | None:
        """Refuse rather than truncate a stored field: a cut name would match the wrong thing."""
        if value is None:
            return None
        limit = self._limits.max_string_chars
        if len(value) > limit:
            raise SchemaError(
                pointer,
                f"a string of at most {limit} characters (got {len(value)})",
                document=self._document,
            )
        return value

    def add(
        self,
        pointer: str,
        *,
        name: str,
        version: str | None,
        purls: Iterable[tuple[str, str]] = (),
        cpes: Iterable[tuple[str, str]] = (),
        ref: str | None = None,
        supplier: str | None = None,
    ) -> None:
        """Add one package; ``purls`` and ``cpes`` are ``(pointer, text)`` pairs.

        The first valid purl wins; invalid ones are dropped with a warning naming their pointer,
        since one bad identifier should not cost the whole SBOM.
        """
        self._count += 1
        if self._count > self._limits.max_components:
            raise TooLargeError(
                f"{self._document} at {pointer}: more than {self._limits.max_components} "
                "components (the configured limit)"
            )
        purl: str | None = None
        ecosystem: str | None = None
        for purl_pointer, text in purls:
            self.bounded(text, purl_pointer)
            try:
                canonical, found = canonical_and_ecosystem(text)
            except InputError as error:
                self._warnings.append(f"{purl_pointer}: dropped an invalid purl: {error.detail}")
                continue
            if purl is None:
                purl, ecosystem = canonical, found
        cpe_values = tuple(
            dict.fromkeys(
                text.strip() for cpe_pointer, text in cpes if self.bounded(text, cpe_pointer)
            )
        )
        component = Component(
            name=self.bounded(name, f"{pointer}/name") or "",
            version=self.bounded(version, f"{pointer}/version") or None,
            purl=purl,
            ecosystem=ecosystem,
            cpes=tuple(c for c in cpe_values if c),
            ref=self.bounded(ref, pointer) or None,
            supplier=self.bounded(supplier, f"{pointer}/supplier") or None,
            pointer=pointer,
        )
        key = ("purl", purl, None) if purl else ("name", component.name, component.version)
        if key in self._seen:
            return
        self._seen.add(key)
        self._components.append(component)
