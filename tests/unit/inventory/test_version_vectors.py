"""Version ordering against the public vectors in the corpus (``versions/``, see its PROVENANCE).

* osv-scalibr's ``semantic/testdata/<ecosystem>-versions*.txt``: the vectors osv.dev's own
  comparisons are tested with, one ``a <op> b`` per line, read as osv-scalibr reads them
  (blank lines and lines starting ``# `` or ``// `` skipped). Each is checked both ways.
* osv.dev's Packagist cases and its Alpine converter's valid/invalid version lists.
* vers-spec's Maven, NuGet and Alpine comparison tests (``comparison``: the input sorted is the
  expected output; ``equality``: whether two versions are equal).

:data:`UNSUPPORTED` lists the few vectors this ordering deliberately does not reproduce, each
with its reason; the tests check that each still fails, so the list cannot silently go stale.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

import pytest

from clearinghouse.inventory.versions import compare, version_key
from clearinghouse.inventory.versions.alpine import is_well_formed

pytestmark = pytest.mark.corpus

SCALIBR: Final = "osv-scalibr/semantic/testdata"
OSV_DEV_PACKAGIST: Final = "osv.dev/osv/ecosystems/testdata/packagist_test_cases.txt"
OSV_DEV_ALPINE: Final = "osv.dev/vulnfeeds/cmd/converters/alpine/fixtures"

# osv-scalibr's own table (semantic/compare_test.go), for the ecosystems supported here.
SCALIBR_FILES: Final = [
    ("npm", "semver-versions.txt"),
    ("crates.io", "semver-versions.txt"),
    ("Go", "semver-versions.txt"),
    ("SEMVER", "semver-versions.txt"),
    ("RubyGems", "rubygems-versions.txt"),
    ("RubyGems", "rubygems-versions-generated.txt"),
    ("NuGet", "nuget-versions.txt"),
    ("Packagist", "packagist-versions.txt"),
    ("Packagist", "packagist-versions-generated.txt"),
    ("Maven", "maven-versions.txt"),
    ("Maven", "maven-versions-generated.txt"),
    ("PyPI", "pypi-versions.txt"),
    ("PyPI", "pypi-versions-generated.txt"),
    ("Debian", "debian-versions.txt"),
    ("Debian", "debian-versions-generated.txt"),
    ("CRAN", "cran-versions.txt"),
    ("CRAN", "cran-versions-generated.txt"),
    ("Alpine", "alpine-versions.txt"),
    ("Alpine", "alpine-versions-generated.txt"),
    ("Red Hat", "redhat-versions.txt"),
    ("Hackage", "hackage-versions.txt"),
    ("Pub", "pub-versions.txt"),
]


class Unsupported(NamedTuple):
    ecosystem: str
    file: str  # relative to the corpus's versions/ folder
    line: int
    text: str
    reason: str
    prefix: str = ""  # for a Maven cycle: the shared prefix the key orders both against


_CYCLE = (
    "osv.dev's pairwise Maven order is cyclic here (Maven's ComparableVersion too): the first "
    "version is above the common prefix ({prefix}) and the second below it, yet the first "
    "is below the second; a sort key must drop one of the three, and keeps the two "
    "comparisons with the prefix"
)
UNSUPPORTED: Final = [
    Unsupported(
        "Alpine",
        f"{SCALIBR}/alpine-versions.txt",
        47,
        "1-ruff2 = 1--ruff1",
        "osv.dev calls a version with junk after -rN equal to every invalid version with the "
        "same parsed parts, while ordering invalid versions among themselves as strings: not "
        "transitive; the key orders the invalid version after the valid one",
    ),
    Unsupported(
        "Packagist",
        f"{SCALIBR}/packagist-versions.txt",
        96,
        "1.2.3.# = 1.2.3.1",
        "'#' ties with every number inside a version but not at its end: the same file also "
        "wants 1.2.3.# = 1.2.3, and 1.2.3 < 1.2.3.1; no total order has both",
    ),
    Unsupported(
        "Packagist",
        OSV_DEV_PACKAGIST,
        90,
        "1.2.3.# = 1.2.3.1",
        "the same vector as osv-scalibr's packagist-versions.txt line 96",
    ),
    Unsupported(
        "Maven",
        f"{SCALIBR}/maven-versions-generated.txt",
        2786,
        "1.0.0-gradle-rework-beta3 < 1.0.0.RC7-3",
        _CYCLE.format(prefix="1"),
        prefix="1",
    ),
    Unsupported(
        "Maven",
        f"{SCALIBR}/maven-versions-generated.txt",
        5776,
        "2.9.0-1 < 2.9.0.RC1",
        _CYCLE.format(prefix="2.9"),
        prefix="2.9",
    ),
    Unsupported(
        "Maven",
        f"{SCALIBR}/maven-versions-generated.txt",
        12642,
        "1.1.0-01-glassfish < 1.1.0.Beta1",
        _CYCLE.format(prefix="1.1"),
        prefix="1.1",
    ),
]

_SIGN: Final = {"<": -1, "=": 0, ">": 1}


class Vector(NamedTuple):
    line: int
    a: str
    op: str
    b: str


def read_vectors(path: Path) -> Iterator[Vector]:
    """``a <op> b`` lines, skipping what osv-scalibr's and osv.dev's readers skip."""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith(("# ", "// ")) or raw == "//":
            continue
        pieces = raw.split(" ")
        assert len(pieces) == 3, f"{path.name}:{number}: {raw!r}"
        a, op, b = pieces
        assert op in _SIGN, f"{path.name}:{number}: {raw!r}"
        yield Vector(number, a, op, b)


def holds(ecosystem: str, vector: Vector) -> bool:
    """The vector holds in both directions (and, for ``=``, the keys are one key)."""
    expected = _SIGN[vector.op]
    if compare(ecosystem, vector.a, vector.b) != expected:
        return False
    if compare(ecosystem, vector.b, vector.a) != -expected:
        return False
    if expected == 0:
        return hash(version_key(ecosystem, vector.a)) == hash(version_key(ecosystem, vector.b))
    return True


def failures(ecosystem: str, base: Path, relative: str) -> tuple[int, set[tuple[int, str]]]:
    vectors = list(read_vectors(base / relative))
    failed = {
        (vector.line, f"{vector.a} {vector.op} {vector.b}")
        for vector in vectors
        if not holds(ecosystem, vector)
    }
    return len(vectors), failed


def unsupported_in(ecosystem: str, relative: str) -> set[tuple[int, str]]:
    return {
        (entry.line, entry.text)
        for entry in UNSUPPORTED
        if entry.file == relative and entry.ecosystem == ecosystem
    }


@pytest.fixture(scope="module")
def versions(corpus: Path) -> Path:
    folder = corpus / "versions"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    return folder


@pytest.mark.parametrize(("ecosystem", "name"), SCALIBR_FILES)
def test_osv_scalibr_vectors(versions: Path, ecosystem: str, name: str) -> None:
    relative = f"{SCALIBR}/{name}"
    count, failed = failures(ecosystem, versions, relative)
    assert count > 0
    assert failed == unsupported_in(ecosystem, relative)


def test_osv_dev_packagist_cases(versions: Path) -> None:
    count, failed = failures("Packagist", versions, OSV_DEV_PACKAGIST)
    assert count > 80
    assert failed == unsupported_in("Packagist", OSV_DEV_PACKAGIST)


@pytest.mark.parametrize(("name", "well_formed"), [("valid", True), ("invalid", False)])
def test_osv_dev_alpine_version_lists(versions: Path, name: str, well_formed: bool) -> None:
    """Well-formedness follows osv.dev's importer; ordering accepts both, as its matcher does."""
    path = versions / OSV_DEV_ALPINE / f"{name}_versions.txt"
    listed = [
        line for line in path.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"
    ]
    assert len(listed) > 10
    assert [version for version in listed if is_well_formed(version) != well_formed] == []
    keys = sorted(version_key("Alpine", version) for version in listed)
    assert len(keys) == len(listed)


def _vers_tests(versions: Path, scheme: str) -> list[dict[str, Any]]:
    path = versions / "vers-spec" / "tests" / f"{scheme}_version_cmp_test.json"
    tests: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["tests"]
    return tests


@pytest.mark.parametrize(
    ("ecosystem", "scheme"), [("Maven", "maven"), ("NuGet", "nuget"), ("Alpine", "alpine")]
)
def test_vers_spec_comparisons(versions: Path, ecosystem: str, scheme: str) -> None:
    tests = _vers_tests(versions, scheme)
    assert {test["test_type"] for test in tests} == {"comparison", "equality"}
    failed = []
    for position, test in enumerate(tests):
        given = [version_key(ecosystem, version) for version in test["input"]["versions"]]
        if test["test_type"] == "equality":
            first, second = given
            ok = (first == second) is test["expected_output"]
        else:
            expected = [version_key(ecosystem, version) for version in test["expected_output"]]
            ascending = all(low < high for low, high in itertools.pairwise(expected))
            ok = ascending and sorted(given) == expected
        if not ok:
            failed.append((position, test["input"]["versions"], test["expected_output"]))
    assert failed == []


@pytest.mark.parametrize("entry", UNSUPPORTED, ids=lambda entry: f"{entry.file}:{entry.line}")
def test_unsupported_vectors_are_still_there_and_still_fail(
    versions: Path, entry: Unsupported
) -> None:
    lines = (versions / entry.file).read_text(encoding="utf-8").splitlines()
    assert lines[entry.line - 1] == entry.text
    assert entry.reason
    a, op, b = entry.text.split(" ")
    assert not holds(entry.ecosystem, Vector(entry.line, a, op, b))


@pytest.mark.parametrize(
    "entry", [entry for entry in UNSUPPORTED if entry.prefix], ids=lambda entry: entry.text
)
def test_maven_cycles_keep_both_comparisons_with_the_prefix(entry: Unsupported) -> None:
    above, _, below = entry.text.split(" ")
    assert compare(entry.ecosystem, above, entry.prefix) == 1
    assert compare(entry.ecosystem, below, entry.prefix) == -1
