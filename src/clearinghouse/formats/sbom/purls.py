"""Package URLs in one canonical spelling, so the same package compares equal across documents.

Parsing is packageurl-python's (which already applies most per-type case and name rules); this
module adds what the current purl specification (ECMA-427 and the purl-spec type definitions)
requires beyond it:

* qualifier values are serialized with ``/`` percent-encoded (``repository_url=https:%2F%2F…``);
  packageurl-python 0.17 leaves ``/`` bare, which the current test suite calls non-canonical;
* npm names keep their case (packageurl-python lower-cases them; the npm definition does not);
* the case rules of types packageurl-python does not know (``brew``, ``chrome-extension``,
  ``vscode-extension``, ``deb``, ``rpm`` namespaces, …) and lower-cased versions where a type
  declares them case-insensitive;
* the namespace requirement (required or prohibited) and required qualifiers of each type, and
  the few per-type character rules the definitions state (chrome-extension ids, cpan names).

The table below carries facts from the purl-spec type definitions; a type missing from it gets
only the generic rules.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from packageurl import PackageURL

from clearinghouse.core.errors import InputError

_MAX_PURL_CHARS = 4_096  # real purls are short; a longer one is garbage or an attack


@dataclass(frozen=True, slots=True)
class _TypeRule:
    namespace: str = "optional"  # "required" | "optional" | "prohibited"
    namespace_lower: bool = False
    name_lower: bool = False
    version_lower: bool = False
    required_qualifiers: tuple[str, ...] = ()


_R = _TypeRule
# From the purl-spec type definitions (namespace requirement, case sensitivity, qualifiers).
_RULES: dict[str, _TypeRule] = {
    "alpm": _R("required", namespace_lower=True, name_lower=True),
    "apk": _R("required", namespace_lower=True, name_lower=True),
    "bazel": _R("prohibited"),
    "bitbucket": _R("required", namespace_lower=True, name_lower=True),
    "bitnami": _R("prohibited", name_lower=True),
    "brew": _R("optional", namespace_lower=True, name_lower=True),
    "cargo": _R("prohibited"),
    "chrome-extension": _R("prohibited", name_lower=True),
    "cocoapods": _R("prohibited"),
    "composer": _R("required", namespace_lower=True, name_lower=True),
    "conda": _R("prohibited"),
    "cran": _R("prohibited"),
    "deb": _R("required", namespace_lower=True, name_lower=True),
    "gem": _R("prohibited"),
    "git": _R("required"),
    "github": _R("required", namespace_lower=True, name_lower=True),
    "golang": _R("required"),
    "hackage": _R("prohibited"),
    "hex": _R("optional", namespace_lower=True, name_lower=True),
    "huggingface": _R("required", version_lower=True),
    "julia": _R("prohibited", required_qualifiers=("uuid",)),
    "luarocks": _R("optional", namespace_lower=True, name_lower=True),
    "maven": _R("required"),
    "mlflow": _R("prohibited"),
    "nuget": _R("prohibited"),
    "oci": _R("prohibited", name_lower=True, version_lower=True),
    "opam": _R("prohibited"),
    "otp": _R("prohibited", name_lower=True),
    "pub": _R("prohibited", name_lower=True),
    "pypi": _R("prohibited", name_lower=True, version_lower=True),
    "qpkg": _R("required", namespace_lower=True),
    "rpm": _R("required", namespace_lower=True),
    "swid": _R("optional", required_qualifiers=("tag_id",)),
    "swift": _R("required"),
    "vcpkg": _R("prohibited"),
    "vscode-extension": _R("required", namespace_lower=True, name_lower=True, version_lower=True),
    "yocto": _R("optional", namespace_lower=True),
}
_GENERIC = _TypeRule()

_TYPE = re.compile(r"[a-z][a-z0-9.+-]*")
# "…/@1.0": a slash right before the version leaves the name empty (packageurl strips it).
_EMPTY_NAME = re.compile(r"/@[^/@]*$")
_CHROME_ID = re.compile(r"[a-p]{32}")
_CHROME_VERSION = re.compile(r"\d+(\.\d+){0,3}")

# OSV ecosystem names by purl type; deb and apk depend on the distribution (the namespace).
_ECOSYSTEMS = {
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "cargo": "crates.io",
    "maven": "Maven",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
}
_DISTRO_ECOSYSTEMS = {
    ("deb", "debian"): "Debian",
    ("deb", "ubuntu"): "Ubuntu",
    ("apk", "alpine"): "Alpine",
    ("apk", "wolfi"): "Wolfi",
    ("apk", "chainguard"): "Chainguard",
}


def parse_purl(text: str) -> PackageURL:
    """Parse, normalize and check a purl; raise :class:`InputError` naming it if invalid."""
    if len(text) > _MAX_PURL_CHARS:
        raise InputError(f"purl {_shown(text)}: longer than {_MAX_PURL_CHARS} characters")
    if _EMPTY_NAME.search(text.split("?", 1)[0].split("#", 1)[0]):
        raise InputError(f"purl {_shown(text)} is invalid: the name is empty")
    try:
        parsed = PackageURL.from_string(text.strip())  # normalizes per packageurl's rules
        if parsed.type == "npm":
            # packageurl lower-cases npm names, but the npm definition declares them
            # case-sensitive (pre-2015 packages such as "JSONStream" keep capitals).
            raw = PackageURL.from_string(text.strip(), normalize_purl=False)
            parsed = parsed._replace(name=unquote(raw.name).strip().strip("/"))
    except ValueError as exc:
        raise InputError(f"purl {_shown(text)} is invalid: {_cut(str(exc))}") from None
    return _normalized(parsed, text)


def canonical_purl(purl: PackageURL) -> str:
    """The canonical string of a purl built from parts (normalized and checked first).

    packageurl's constructor has already folded the case of an npm name by then; text through
    :func:`parse_purl` keeps it.
    """
    text = _serialize(purl)
    try:
        rebuilt = PackageURL(*purl[:6])  # apply packageurl's normalization to the parts
    except ValueError as exc:
        raise InputError(f"purl {_shown(text)} is invalid: {_cut(str(exc))}") from None
    return _serialize(_normalized(rebuilt, text))


def normalize_purl(text: str) -> str:
    """``"pkg:PYPI/Django_Package@1.0"`` -> ``"pkg:pypi/django-package@1.0"``."""
    return canonical_and_ecosystem(text)[0]


@functools.lru_cache(maxsize=65_536)
def canonical_and_ecosystem(text: str) -> tuple[str, str | None]:
    """Both at once, memoized: an SBOM repeats the same purls across layers and lockfiles."""
    parsed = parse_purl(text)
    return _serialize(parsed), ecosystem_of(parsed)


def ecosystem_of(purl: PackageURL) -> str | None:
    """The OSV ecosystem name for a purl, or None when OSV has no single one for its type.

    Debian-format packages map by distribution (``deb/ubuntu`` is ``Ubuntu``, not ``Debian``):
    matching an Ubuntu package against Debian advisories would report the wrong fixes.
    """
    found = _ECOSYSTEMS.get(purl.type)
    if found is None and purl.namespace:
        found = _DISTRO_ECOSYSTEMS.get((purl.type, purl.namespace.lower()))
    return found


def _normalized(purl: PackageURL, text: str) -> PackageURL:
    rule = _RULES.get(purl.type, _GENERIC)
    namespace = purl.namespace or None
    name = purl.name
    version = purl.version or None
    if namespace and rule.namespace_lower:
        namespace = namespace.lower()
    if rule.name_lower:
        name = name.lower()
    if version and rule.version_lower:
        version = version.lower()
    qualifiers = dict(purl.qualifiers) if isinstance(purl.qualifiers, dict) else {}

    def bad(reason: str) -> InputError:
        return InputError(f"purl {_shown(text)} is invalid: {_cut(reason)}")

    if not _TYPE.fullmatch(purl.type or ""):
        raise bad("the type is letters, digits, '.', '+' and '-', not starting with a digit")
    if not name:
        raise bad("the name is empty")
    if rule.namespace == "required" and not namespace:
        raise bad(f"type {purl.type!r} requires a namespace")
    if rule.namespace == "prohibited" and namespace:
        raise bad(f"type {purl.type!r} has no namespace (got {namespace!r})")
    for key in rule.required_qualifiers:
        if not qualifiers.get(key):
            raise bad(f"type {purl.type!r} requires the qualifier {key!r}")
    if purl.type == "chrome-extension":
        if not _CHROME_ID.fullmatch(name):
            raise bad("a chrome-extension name is a 32-letter id in a-p")
        if version and not _CHROME_VERSION.fullmatch(version):
            raise bad("a chrome-extension version is 1 to 4 dot-separated numbers")
    if purl.type == "cpan" and "::" in name:
        raise bad("a cpan name is a distribution name, never a module name with '::'")
    # The parts are normalized already (by packageurl, then above): build without redoing it.
    return PackageURL(
        type=purl.type,
        namespace=namespace,
        name=name,
        version=version,
        qualifiers=qualifiers,
        subpath=purl.subpath or None,
        normalize_purl=False,
    )


def _shown(text: str) -> str:
    """A purl (or a message quoting one) as an error message shows it: a 4,096-character
    purl of control characters would otherwise fill 16 kB of a problem detail."""
    return repr(text) if len(text) <= 120 else repr(text[:120]) + "…"


def _cut(text: str) -> str:
    return text if len(text) <= 300 else text[:299] + "…"


def _encode(text: str) -> str:
    """Percent-encode all but RFC 3986 unreserved characters and ``:`` (as the spec says)."""
    return quote(text, safe=":")


def _serialize(purl: PackageURL) -> str:
    parts = ["pkg:", purl.type, "/"]
    if purl.namespace:
        segments = [s for s in purl.namespace.split("/") if s]
        parts.append("/".join(_encode(s) for s in segments) + "/")
    # A git name is a repository path and keeps its slashes (purl-spec git definition).
    parts.append(quote(purl.name, safe=":/") if purl.type == "git" else _encode(purl.name))
    if purl.version:
        parts.append("@" + _encode(purl.version))
    qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    pairs = sorted((k.lower(), v) for k, v in qualifiers.items() if v)
    if pairs:
        parts.append("?" + "&".join(f"{k}={_encode(v)}" for k, v in pairs))
    if purl.subpath:
        segments = [s for s in purl.subpath.split("/") if s and s not in (".", "..")]
        if segments:
            parts.append("#" + "/".join(_encode(s) for s in segments))
    return "".join(parts)
