"""Package URLs -> the (OSV ecosystem, package name, version) that advisories are keyed by.

Each purl type spells the package's identity its own way; OSV names packages as the ecosystem's
registry does: npm ``@scope/name``, Go the module path, Maven ``group:artifact``, Packagist
``vendor/package``. Debian and Alpine advisories name *source* packages; a purl of a binary
package that carries its source in the ``upstream``/``source`` qualifier is matched by that, else
by its own name (the two coincide for most packages). Types OSV has no ecosystem for give
``None``: such a component is reported as not matchable, not silently passed over.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from packageurl import PackageURL

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


def osv_package(purl: str) -> OsvPackage | None:
    """The OSV identity of ``purl``; ``None`` for a type OSV has no ecosystem for."""
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError as error:
        raise InputError(f"purl {purl!r} is not a valid package URL: {error}") from None
    ecosystem = PURL_ECOSYSTEMS.get(parsed.type)
    if ecosystem is None or (
        parsed.type in _DISTRIBUTIONS and parsed.namespace != _DISTRIBUTIONS[parsed.type]
    ):
        # Ubuntu's or Wolfi's packages are not Debian's or Alpine's: their fixes differ.
        return None
    name = parsed.name
    namespace = parsed.namespace
    if parsed.type in _JOINED_WITH_SLASH and namespace:
        name = f"{namespace}/{name}"
    elif parsed.type == "maven":
        if not namespace:
            raise InputError(f"purl {purl!r}: a Maven purl needs its group as the namespace")
        name = f"{namespace}:{name}"
    elif parsed.type in ("deb", "apk"):
        qualifiers = parsed.qualifiers if isinstance(parsed.qualifiers, dict) else {}
        source = qualifiers.get("upstream") or qualifiers.get("source")
        if source:
            name = source.split("@", 1)[0]
    return OsvPackage(ecosystem=ecosystem, name=name, version=parsed.version)
