"""Which VEX statement decides a match (pure).

A statement applies to a match (a component purl affected by an advisory) when it names the
advisory (its id or an alias, either way) and the component as one of its ``products``: the
component's purl, or the purl without version and qualifiers (``pkg:npm/ledger-core`` covers
every version). Nothing here may make a ``not_affected`` cover more than its author said, so:

- a statement with ``subcomponents`` ("product Y is not affected through its part X") is not
  applied: an inventory records its components, not which product each sits in, and applying
  it to X would hide X's match in every other product too;
- a statement limited to ``versions`` applies only to those exact versions; a vers range there
  is not evaluated, and such a statement is not applied.

Of the statements that apply, the newest (by its timestamp, then by import order) decides.

``not_affected`` and ``fixed`` suppress a match; ``affected`` and ``under_investigation``
annotate it. Suppressed matches stay available on request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from packageurl import PackageURL

SUPPRESSING: Final = frozenset({"not_affected", "fixed"})


@dataclass(frozen=True, slots=True)
class Statement:
    """A stored statement: who said it, in import order, and what."""

    order: int
    issuer: str
    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[str, ...]
    subcomponents: tuple[str, ...]
    versions: tuple[str, ...]
    status: str
    justification: str | None
    timestamp: str | None


def _versionless(purl: str) -> str | None:
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return None
    return PackageURL(type=parsed.type, namespace=parsed.namespace, name=parsed.name).to_string()


def _version(purl: str) -> str | None:
    try:
        return PackageURL.from_string(purl).version
    except ValueError:
        return None


def names_component(statement: Statement, purl: str) -> bool:
    if statement.subcomponents:
        return False
    named = statement.products
    if purl in named:
        hit = True
    else:
        bare = _versionless(purl)
        hit = bare is not None and bare in named
    if not hit:
        return False
    if statement.versions:
        return _version(purl) in statement.versions
    return True


def deciding(
    statements: Sequence[Statement], *, purl: str, identifiers: Iterable[str]
) -> Statement | None:
    """The statement that decides ``purl``'s match with an advisory known by ``identifiers``."""
    wanted = {i.upper() for i in identifiers}
    applicable = [
        s
        for s in statements
        if ({s.vulnerability.upper(), *(a.upper() for a in s.aliases)} & wanted)
        and names_component(s, purl)
    ]
    if not applicable:
        return None
    return max(applicable, key=lambda s: (s.timestamp or "", s.order))
