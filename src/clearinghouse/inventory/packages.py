"""Package URLs -> the (OSV ecosystem, package name, version) that advisories are keyed by.

Each purl type spells the package's identity its own way; OSV names packages as the ecosystem's
registry does: npm ``@scope/name``, Go the module path, Maven ``group:artifact``, Packagist
``vendor/package``. Debian and Alpine advisories name *source* packages; a purl of a binary
package that carries its source in the ``upstream``/``source`` qualifier is matched by that, else
by its own name (the two coincide for most packages). Types OSV has no ecosystem for give
``None``: such a component is reported as not matchable, not silently passed over.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple
from urllib.parse import unquote

from clearinghouse.core.errors import InputError

PURL_ECOSYSTEMS: Final = {
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "cargo": "crates.io",
    "maven": "Maven",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
    "deb": "Debian",
    "apk": "Alpine",
}
_JOINED_WITH_SLASH: Final = frozenset({"npm", "golang", "composer"})
_DISTRIBUTIONS: Final = {"deb": "debian", "apk": "alpine"}


class OsvPackage(NamedTuple):
    ecosystem: str
    name: str
    version: str | None


def _decoded(text: str) -> str:
    return unquote(text) if "%" in text else text


def osv_package(purl: str) -> OsvPackage | None:
    """The OSV identity of ``purl``; ``None`` for a type OSV has no ecosystem for.

    Purls from inventories are already canonical (``formats.sbom`` normalizes them with
    packageurl-python), so this only splits one: type, namespace and name segments, version,
    qualifiers, each percent-decoded (matching asks this for every component, and a full parse
    costs more than the match itself). Anything that does not split is refused.
    """
    if not purl.startswith("pkg:"):
        raise InputError(f"purl {purl!r} is not a valid package URL: it must start with pkg:")
    rest, _, _subpath = purl[4:].lstrip("/").partition("#")
    rest, _, query = rest.partition("?")
    kind, _, path = rest.partition("/")
    kind = kind.lower()
    segments = [segment for segment in path.split("/") if segment]
    if not kind or not segments:
        raise InputError(f"purl {purl!r} is not a valid package URL: no type or name")
    last, at, raw_version = segments[-1].partition("@")
    name = _decoded(last)
    version = _decoded(raw_version) if at else None
    namespace = "/".join(_decoded(segment) for segment in segments[:-1]) or None
    if not name:
        raise InputError(f"purl {purl!r} is not a valid package URL: empty name")
    ecosystem = PURL_ECOSYSTEMS.get(kind)
    if ecosystem is None or (
        kind in _DISTRIBUTIONS and (namespace or "").lower() != _DISTRIBUTIONS[kind]
    ):
        # Ubuntu's or Wolfi's packages are not Debian's or Alpine's: their fixes differ.
        return None
    if kind == "pypi":
        name = name.lower().replace("_", "-")  # the purl specification's pypi rule
    if kind in _JOINED_WITH_SLASH and namespace:
        name = f"{namespace}/{name}"
    elif kind == "maven":
        if not namespace:
            raise InputError(f"purl {purl!r}: a Maven purl needs its group as the namespace")
        name = f"{namespace}:{name}"
    elif kind in _DISTRIBUTIONS and query:
        qualifiers = {
            key.lower(): unquote(value)
            for key, _, value in (pair.partition("=") for pair in query.split("&"))
        }
        source = qualifiers.get("upstream") or qualifiers.get("source")
        if source:
            name = source.split("@", 1)[0]
    return OsvPackage(ecosystem=ecosystem, name=name, version=version)


_ECOSYSTEM_TYPES: Final = {
    ecosystem: purl_type
    for purl_type, ecosystem in PURL_ECOSYSTEMS.items()
    if purl_type not in _DISTRIBUTIONS
}


def package_purl(ecosystem: str, name: str) -> str | None:
    """The version-less package URL of an OSV (ecosystem, name), for finding its vendor;
    None for distributions (their purls need qualifiers) and unknown ecosystems."""
    purl_type = _ECOSYSTEM_TYPES.get(ecosystem.split(":", 1)[0])
    if purl_type is None or not name:
        return None
    if purl_type == "pypi":
        name = re.sub(r"[-_.]+", "-", name).lower()
    if purl_type == "maven" and ":" in name:
        name = name.replace(":", "/", 1)
    return f"pkg:{purl_type}/{name}"
