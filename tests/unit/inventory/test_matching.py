"""The compiled matcher gives exactly OSV's answers.

Two kinds of evidence. Hand-made records pin each rule of the OSV evaluation (``introduced: 0``
with no end, ``fixed``, ``last_affected``, ``limit``, equal event versions, ``versions`` lists,
SEMVER ranges, withdrawn records, unknown ecosystems). And a differential test over the whole
PyPA and Go databases: for every affected package, every version any of its events or lists
names, the index's answer equals a literal transcription of the OSV specification's
``IsAffected`` pseudo-code (which re-sorts and re-compares on every query, as osv.dev does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from packageurl import PackageURL

from clearinghouse.core.errors import InputError
from clearinghouse.formats.decode import decode
from clearinghouse.inventory.advisories import (
    Advisory,
    AffectedPackage,
    EventKind,
    parse_advisory,
    records_of,
)
from clearinghouse.inventory.matching import AdvisoryIndex
from clearinghouse.inventory.packages import PURL_ECOSYSTEMS, osv_package
from clearinghouse.inventory.versions import version_key


def record(
    *ranges: list[dict[str, str]],
    ecosystem: str = "PyPI",
    name: str = "demo",
    versions: tuple[str, ...] = (),
    range_type: str = "ECOSYSTEM",
    withdrawn: str | None = None,
    vuln_id: str = "TEST-1",
) -> Advisory:
    raw: dict[str, Any] = {
        "id": vuln_id,
        "modified": "2026-01-01T00:00:00Z",
        "aliases": ["CVE-2026-0001"],
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": range_type, "events": events} for events in ranges],
                "versions": list(versions),
            }
        ],
    }
    if withdrawn:
        raw["withdrawn"] = withdrawn
    return parse_advisory(raw)


def affected(advisory: Advisory, version: str, *, ecosystem: str = "PyPI") -> bool:
    index = AdvisoryIndex.build([advisory])
    return bool(index.match(ecosystem, advisory.affected[0].name, version))


def test_introduced_zero_without_an_end_affects_every_version() -> None:
    advisory = record([{"introduced": "0"}])
    assert all(affected(advisory, v) for v in ("0.0.1", "1.0", "99.9.9", "1.0a1"))


def test_fixed_is_exclusive_and_last_affected_inclusive() -> None:
    fixed = record([{"introduced": "1.0"}, {"fixed": "1.4"}])
    assert [affected(fixed, v) for v in ("0.9", "1.0", "1.3.9", "1.4", "2.0")] == [
        False,
        True,
        True,
        False,
        False,
    ]
    last = record([{"introduced": "1.0"}, {"last_affected": "1.4"}])
    assert [affected(last, v) for v in ("1.4", "1.4.1")] == [True, False]


def test_pre_releases_inside_a_range_are_affected() -> None:
    advisory = record([{"introduced": "2.0"}, {"fixed": "2.1"}])
    assert affected(advisory, "2.1rc1")  # PEP 440: 2.1rc1 < 2.1
    assert not affected(advisory, "2.0rc1")  # ... and 2.0rc1 < 2.0


def test_several_introduced_and_fixed_pairs() -> None:
    advisory = record(
        [{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.3"}]
    )
    assert [affected(advisory, v) for v in ("1.1", "1.5", "2.0", "2.3")] == [
        True,
        False,
        True,
        False,
    ]


def test_events_out_of_order_are_sorted_by_version() -> None:
    advisory = record([{"fixed": "1.2"}, {"introduced": "1.0"}])
    assert affected(advisory, "1.1")
    assert not affected(advisory, "1.2")


def test_limit_caps_the_range() -> None:
    advisory = record([{"introduced": "0"}, {"limit": "3.0"}])
    assert affected(advisory, "2.9")
    assert not affected(advisory, "3.0")
    star = record([{"introduced": "0"}, {"limit": "*"}])
    assert affected(star, "42.0")


def test_versions_list_and_equal_spellings() -> None:
    advisory = record(versions=("1.0", "1.1"))
    assert affected(advisory, "1.1")
    assert affected(advisory, "1.0.0")  # the same PEP 440 version spelled differently
    assert not affected(advisory, "1.2")


def test_semver_ranges_use_semantic_versioning_and_go_names() -> None:
    advisory = record(
        [{"introduced": "0"}, {"fixed": "1.2.3"}],
        ecosystem="Go",
        name="github.com/example/mod",
        range_type="SEMVER",
    )
    index = AdvisoryIndex.build([advisory])
    assert index.match("Go", "github.com/example/mod", "v1.2.2")
    assert index.match("Go", "github.com/example/mod", "v1.2.3-rc.1")  # pre-release < release
    assert not index.match("Go", "github.com/example/mod", "v1.2.3")


def test_names_are_normalized_per_ecosystem() -> None:
    index = AdvisoryIndex.build([record([{"introduced": "0"}], name="Zope.Interface")])
    assert index.match("PyPI", "zope-interface", "5.0")
    assert index.match("pypi", "ZOPE_interface", "5.0")


def test_withdrawn_records_never_match() -> None:
    advisory = record([{"introduced": "0"}], withdrawn="2026-02-01T00:00:00Z")
    index = AdvisoryIndex.build([advisory])
    assert index.match("PyPI", "demo", "1.0") == []
    assert index.stats.withdrawn == 1


def test_unknown_ecosystems_are_counted_not_dropped_silently() -> None:
    index = AdvisoryIndex.build(
        [record([{"introduced": "0"}], ecosystem="Made-Up:1"), record([{"introduced": "0"}])]
    )
    assert index.stats.unknown_ecosystems == {"Made-Up": 1}
    with pytest.raises(InputError, match="Made-Up"):
        index.match("Made-Up", "demo", "1.0")


def test_a_match_carries_aliases_and_fixed_versions() -> None:
    advisory = record([{"introduced": "1.0"}, {"fixed": "1.4"}], [{"introduced": "2.0"}])
    [match] = AdvisoryIndex.build([advisory]).match("PyPI", "demo", "1.1")
    assert match.vulnerability == "TEST-1"
    assert match.aliases == ("CVE-2026-0001",)
    assert match.fixed_versions == ("1.4",)


def test_purls_name_packages_the_way_osv_does() -> None:
    assert osv_package("pkg:pypi/Django@4.2") == ("PyPI", "django", "4.2")  # purl-normalized
    assert osv_package("pkg:npm/%40babel/core@7.0.0") == ("npm", "@babel/core", "7.0.0")
    assert osv_package("pkg:golang/github.com/gin-gonic/gin@v1.9.0") == (
        "Go",
        "github.com/gin-gonic/gin",
        "v1.9.0",
    )
    assert osv_package("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1") == (
        "Maven",
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
    )
    assert osv_package("pkg:deb/debian/libssl1.1@1.1.1n-0?upstream=openssl") == (
        "Debian",
        "openssl",
        "1.1.1n-0",
    )
    assert osv_package("pkg:generic/thing@1") is None
    assert osv_package("pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1") is None  # not Debian's fixes
    with pytest.raises(InputError, match="not a valid package URL"):
        osv_package("not a purl")


# --- differential test over whole databases ---------------------------------------------------


def reference_is_affected(ecosystem: str, version: str, package: AffectedPackage) -> bool:
    """The OSV specification's ``IsAffected``, transcribed literally (no precompilation)."""
    try:
        own = version_key(ecosystem, version)
    except InputError:
        own = None
    if version in package.versions:
        return True
    for listed in package.versions:
        try:
            if own is not None and version_key(ecosystem, listed) == own:
                return True
        except InputError:
            continue
    for one in package.ranges:
        ordering = "SEMVER" if one.type == "SEMVER" else ecosystem
        try:
            v = version_key(ordering, version)

            def key(text: str, ordering: str = ordering) -> Any:
                return (0,) if text == "0" else (1, version_key(ordering, text))

            events = sorted(
                ((kind, text) for kind, text in one.events if kind is not EventKind.LIMIT),
                key=lambda event: key(event[1]),
            )
            limits = [text for kind, text in one.events if kind is EventKind.LIMIT]
            wrapped = (1, v)
            if limits and not any(t == "*" or wrapped < key(t) for t in limits):
                continue
            state = False
            for kind, text in events:
                if kind is EventKind.INTRODUCED and (text == "0" or wrapped >= key(text)):
                    state = True
                elif kind is EventKind.FIXED and wrapped >= key(text):  # noqa: SIM114 - as written
                    state = False
                elif kind is EventKind.LAST_AFFECTED and wrapped > key(text):
                    state = False
        except InputError:
            continue
        if state:
            return True
    return False


def load(folder: Path) -> list[Advisory]:
    advisories = []
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".json", ".yaml", ".yml") and path.is_file():
            for raw in records_of(decode(path.read_bytes(), what=path.name)):
                advisories.append(parse_advisory(raw))
    return advisories


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize(
    ("folder", "ecosystem"),
    [("pypa-advisory-database/vulns", "PyPI"), ("golang-vulndb/data/osv", "Go")],
)
def test_index_agrees_with_the_specification_on_whole_databases(
    corpus: Path, folder: str, ecosystem: str
) -> None:
    advisories = load(corpus / "osv" / folder)
    index = AdvisoryIndex.build(advisories)
    assert index.stats.advisories == len(advisories)
    checked = disagreements = 0
    examples: list[str] = []
    for advisory in advisories:
        if advisory.is_withdrawn:
            continue
        for package in advisory.affected:
            if package.ecosystem != ecosystem:
                continue
            candidates = {v for r in package.ranges for _, v in r.events if v not in ("0", "*")}
            candidates.update(package.versions)
            for version in sorted(candidates):
                expected = reference_is_affected(ecosystem, version, package)
                got = advisory.id in {
                    m.vulnerability for m in index.match(ecosystem, package.name, version)
                }
                checked += 1
                if got != expected and not (got and not expected and other_entry(advisory)):
                    disagreements += 1
                    examples.append(f"{advisory.id} {package.name} {version}: {got}")
    assert checked > 5_000
    assert disagreements == 0, examples[:10]


def other_entry(advisory: Advisory) -> bool:
    """An advisory with several entries for one package may match through another entry."""
    names = [p.name for p in advisory.affected]
    return len(names) != len(set(names))


def test_stats_are_reported_as_json() -> None:
    index = AdvisoryIndex.build([record([{"introduced": "0"}])])
    assert orjson.loads(orjson.dumps(index.stats.as_json()))["packages"] == 1


def reference_osv_package(purl: str) -> tuple[str, str, str | None] | None:
    """The same identity derived through packageurl-python's full parse."""
    parsed = PackageURL.from_string(purl)
    ecosystem = PURL_ECOSYSTEMS.get(parsed.type)
    distro = {"deb": "debian", "apk": "alpine"}.get(parsed.type)
    if ecosystem is None or (distro and (parsed.namespace or "").lower() != distro):
        return None
    name, namespace = parsed.name, parsed.namespace
    if parsed.type in ("npm", "golang", "composer") and namespace:
        name = f"{namespace}/{name}"
    elif parsed.type == "maven":
        name = f"{namespace}:{name}"
    elif distro:
        qualifiers = parsed.qualifiers if isinstance(parsed.qualifiers, dict) else {}
        source = qualifiers.get("upstream") or qualifiers.get("source")
        if source:
            name = source.split("@", 1)[0]
    return ecosystem, name, parsed.version


@pytest.mark.corpus
def test_the_fast_purl_split_agrees_with_a_full_parse_on_canonical_purls(corpus: Path) -> None:
    """Inventories hold canonical purls; on every canonical purl of the purl-spec suite for the
    types OSV has ecosystems for, splitting gives what the full parse gives."""
    checked = 0
    for kind in PURL_ECOSYSTEMS:
        suite = corpus / "versions/purl-spec/tests/types" / f"{kind}-test.json"
        if not suite.exists():
            continue
        for case in orjson.loads(suite.read_bytes())["tests"]:
            canonical = case.get("expected_output")
            if case.get("expected_failure") or not isinstance(canonical, str):
                continue
            if not canonical.startswith("pkg:"):
                continue
            expected = reference_osv_package(canonical)
            got = osv_package(canonical)
            assert (tuple(got) if got else None) == expected, canonical
            checked += 1
    assert checked > 50
