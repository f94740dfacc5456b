"""Version ordering and name normalization without the corpus: errors, names, spot checks, and
a property test that keys of any shape within an ecosystem sort without ``TypeError``."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.core.errors import InputError
from clearinghouse.inventory.versions import (
    SUPPORTED,
    InvalidVersionError,
    UnknownEcosystemError,
    VersionKey,
    canonical_ecosystem,
    compare,
    normalize_name,
    version_key,
)
from clearinghouse.inventory.versions.alpine import is_well_formed

REQUIRED = {
    "PyPI",
    "Go",
    "npm",
    "crates.io",
    "Maven",
    "RubyGems",
    "NuGet",
    "Packagist",
    "Debian",
    "Alpine",
    "SEMVER",
}


def test_the_required_ecosystems_are_supported() -> None:
    assert REQUIRED <= SUPPORTED
    assert {"Hackage", "Pub", "CRAN", "Red Hat"} <= SUPPORTED


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Debian:11", "Debian"),
        ("Alpine:v3.16", "Alpine"),
        ("Red Hat:rhel_aus:8.4::appstream", "Red Hat"),
        ("pypi", "PyPI"),
        ("CRATES.IO", "crates.io"),
        ("semver", "SEMVER"),
        ("Go", "Go"),
    ],
)
def test_canonical_ecosystem(name: str, canonical: str) -> None:
    assert canonical_ecosystem(name) == canonical
    assert version_key(name, "1.0") == version_key(canonical, "1.0")


@pytest.mark.parametrize("name", ["Ubuntu:22.04:LTS", "Hex", "", "PyPI2", "Linux"])
def test_an_unknown_ecosystem_is_refused_by_name(name: str) -> None:
    with pytest.raises(UnknownEcosystemError) as raised:
        canonical_ecosystem(name)
    assert repr(name) in str(raised.value)
    assert raised.value.ecosystem == name
    assert isinstance(raised.value, InputError)
    assert raised.value.type_slug == "unknown-ecosystem"
    with pytest.raises(UnknownEcosystemError, match="unsupported ecosystem"):
        version_key(name, "1.0")
    with pytest.raises(UnknownEcosystemError):
        compare(name, "1.0", "2.0")
    with pytest.raises(UnknownEcosystemError):
        normalize_name(name, "pkg")


@pytest.mark.parametrize(
    ("ecosystem", "version"),
    [
        ("Debian", "1.2.3-not-a-debian:version!@#$"),  # the epoch is not a number
        ("Debian", ":1.0"),
        ("CRAN", "1.0-beta"),
        ("CRAN", "1..2"),
        ("Hackage", "1.0-beta"),
    ],
)
def test_an_unparsable_version_is_refused_by_name(ecosystem: str, version: str) -> None:
    with pytest.raises(InvalidVersionError) as raised:
        version_key(ecosystem, version)
    assert isinstance(raised.value, InputError)
    assert raised.value.type_slug == "invalid-version"
    assert raised.value.ecosystem == ecosystem
    assert raised.value.version == version
    assert ecosystem in str(raised.value)
    assert repr(version) in str(raised.value)


@pytest.mark.parametrize("ecosystem", sorted(SUPPORTED))
@pytest.mark.parametrize("version", ["", " ", "\t\n"])
def test_an_empty_version_is_refused_everywhere(ecosystem: str, version: str) -> None:
    with pytest.raises(InvalidVersionError, match="empty"):
        version_key(ecosystem, version)


@pytest.mark.parametrize(
    ("ecosystem", "name", "normalized"),
    [
        ("PyPI", "Foo.Bar__baz", "foo-bar-baz"),
        ("PyPI", "zope.interface", "zope-interface"),
        ("PyPI", "Django", "django"),
        ("pypi", "typing_extensions", "typing-extensions"),
        ("NuGet", "Newtonsoft.Json", "newtonsoft.json"),
        ("Packagist", "Symfony/Console", "symfony/console"),
        ("Maven", "org.Apache.Commons:Commons-Text", "org.Apache.Commons:Commons-Text"),
        ("Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml"),
        ("crates.io", "serde_json", "serde_json"),
        ("crates.io", "Inflector", "Inflector"),
        ("npm", "@Angular/Core", "@Angular/Core"),
        ("RubyGems", "RedCloth", "RedCloth"),
        ("Debian", "linux-signed-amd64", "linux-signed-amd64"),
        ("Alpine:v3.18", "py3-Pillow", "py3-Pillow"),
    ],
)
def test_normalize_name(ecosystem: str, name: str, normalized: str) -> None:
    assert normalize_name(ecosystem, name) == normalized


@pytest.mark.parametrize(
    ("ecosystem", "ascending"),
    [
        ("SEMVER", ["0.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-beta.11", "1"]),
        ("Go", ["v1.2.3-pre", "v1.2.3", "1.2.4", "v1.10.0"]),
        ("PyPI", ["0.9-doduo", "1.0.dev0", "1.0a0", "1.0rc1", "1.0", "1.0+local", "1.0.post1"]),
        ("PyPI", ["1!0.1", "1!1.0"]),
        ("Maven", ["1.0-alpha-1", "1.0-beta-1", "1.0-SNAPSHOT", "1.0", "1.0-sp", "1.0-1"]),
        ("Debian", ["1.0~rc1", "1.0", "1.0-1", "1.0+deb9u1", "1:0.1"]),
        ("Alpine", ["1.2_alpha1", "1.2_rc1", "1.2", "1.2-r1", "1.2_p1", "1.2a", "1.10"]),
        ("RubyGems", ["1.2.4.beta", "1.2.4", "1.2.4.1", "1.3"]),
        ("NuGet", ["1.0.0-alpha", "1.0.0-Beta", "1.0.0", "1.0.0.1", "1.0.1"]),
        ("Packagist", ["1.0-dev", "1.0a1", "1.0b1", "1.0RC1", "1.0", "1.0pl1"]),
        ("Red Hat", ["1.0~rc1", "1.0", "1.0^git1", "1.0a", "1.0.1", "1:0.1"]),
        ("CRAN", ["0.1-2", "0.1.3", "0.1.3.0", "1.0"]),
        ("Hackage", ["0.1", "1.0", "1.0.0", "1.1"]),
        ("Pub", ["1.0.0-pre", "1.0.0", "1.0.0+build1", "1.0.0+build2"]),
    ],
)
def test_spot_orderings(ecosystem: str, ascending: list[str]) -> None:
    keys = [version_key(ecosystem, version) for version in ascending]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    for lower, higher in itertools.pairwise(ascending):
        assert compare(ecosystem, lower, higher) == -1
        assert compare(ecosystem, higher, lower) == 1


@pytest.mark.parametrize(
    ("ecosystem", "a", "b"),
    [
        ("npm", "1.2", "1.2.0"),
        ("Go", "v1.2.3", "1.2.3+build"),
        ("PyPI", "1.0", "1.0.0"),
        ("PyPI", "1.0-1", "1.0.post1"),
        ("Maven", "1", "1.0.0-ga"),
        ("Maven", "1cr", "1-RC"),
        ("NuGet", "1.0.0-BETA+AA", "1.0.0-beta"),
        ("Debian", "0:1.0", "1.0-0"),
        ("Alpine", "1-r1", "1-r01"),
        ("RubyGems", "1.0.a2", "1.0.a.2"),
        ("Packagist", "v1.0.0", "1.0.0"),
    ],
)
def test_spot_equalities(ecosystem: str, a: str, b: str) -> None:
    assert version_key(ecosystem, a) == version_key(ecosystem, b)
    assert hash(version_key(ecosystem, a)) == hash(version_key(ecosystem, b))
    assert compare(ecosystem, a, b) == 0


def test_maven_cycles_get_one_total_order() -> None:
    """Maven's pairwise order (osv.dev's and Maven's own) is cyclic for these three:
    ``1.0.alpha > 1-ga.5`` (``.0`` beats ``-``), yet ``1-ga.5 > 1 > 1.0.alpha``. The key keeps
    both comparisons with the shared prefix ``1`` and gives up the third."""
    assert compare("Maven", "1.0.alpha", "1") == -1
    assert compare("Maven", "1", "1-ga.5") == -1
    assert compare("Maven", "1.0.alpha", "1-ga.5") == -1


def test_keys_are_cached() -> None:
    assert version_key("PyPI", "2.31.0") is version_key("PyPI", "2.31.0")


def test_alpine_well_formedness_is_separate_from_ordering() -> None:
    assert is_well_formed("1.2.3_p1-r0")
    assert is_well_formed("6.6.2p1")
    assert not is_well_formed("1.18.-r2")
    assert version_key("Alpine", "1.18.-r2") > version_key("Alpine", "1.18")


# --- every key of an ecosystem sorts with every other ---------------------------------------

_PIECES = [
    *"0123456789",
    *".-_+~:^!#*",
    "v",
    "V",
    "a",
    "b",
    "c",
    "z",
    "rc",
    "RC",
    "alpha",
    "beta",
    "pre",
    "dev",
    "post",
    "r",
    "p",
    "sp",
    "ga",
    "final",
    "SNAPSHOT",
    "cvs",
    "_p",
    "_rc",
    "-r",
    "00",
    "99999999999999999999",
    "é",
    "\u0130",
    " ",
]
_VERSIONS = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=10).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(_VERSIONS, min_size=2, max_size=40))
@pytest.mark.parametrize("ecosystem", sorted(SUPPORTED))
def test_keys_of_any_shape_sort_and_agree_with_compare(ecosystem: str, versions: list[str]) -> None:
    keyed: dict[str, VersionKey] = {}
    for version in versions:
        try:
            keyed[version] = version_key(ecosystem, version)
        except InvalidVersionError:
            continue
    keys = list(keyed.values())
    ordered = sorted(keyed, key=keyed.__getitem__)  # raises TypeError on incomparable keys
    assert len(ordered) == len(keys)
    for key in keys:
        hash(key)
    for lower, higher in itertools.pairwise(ordered):
        assert compare(ecosystem, lower, higher) in (-1, 0)
        assert compare(ecosystem, higher, lower) == -compare(ecosystem, lower, higher)
