"""Identity keys: what merges, what does not, and that free text never counts."""

from __future__ import annotations

import re
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearinghouse.dedup.fingerprint import (
    IdentityKeys,
    canonical_alias,
    canonical_path,
    canonical_producer,
    canonical_purl,
    canonical_target,
    identity_keys,
    key,
    normalise_snippet,
)
from clearinghouse.formats.records import FindingRecord, Location

REPO = "https://github.com/example/project"
KEY_SHAPE = re.compile(r"^(fp|alias|rule|loc-line|loc-snippet):[0-9a-f]{32}$")


T = TypeVar("T")


def replace(value: T, **changes: object) -> T:
    """Records are NamedTuples: ``_replace`` is their ``dataclasses.replace``."""
    return value._replace(**changes)  # type: ignore[attr-defined,no-any-return]


def record(**changes: object) -> FindingRecord:
    base = FindingRecord(
        format="sarif",
        pointer="/runs/0/results/0",
        producer="CodeQL",
        title="Out-of-bounds write",
        rule_id="cpp/overflow-destination",
        description="memcpy writes past the end of buf",
        cwes=(787,),
        location=Location(
            path="src/parse.c",
            start_line=120,
            function="parse_header",
            snippet="    memcpy(buf, src, len);\n",
        ),
        fingerprints=(("primaryLocationLineHash", "8f1e2a3b4c5d6e7f:1"),),
    )
    return replace(base, **changes)


# ---- canonical forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cve-2021-44228", "CVE-2021-44228"),
        (" CVE-2021-44228 ", "CVE-2021-44228"),
        ("GHSA-JFH8-C2JP-5V3Q", "GHSA-jfh8-c2jp-5v3q"),
        ("ghsa-jfh8-c2jp-5v3q", "GHSA-jfh8-c2jp-5v3q"),
        ("pysec-2021-123", "PYSEC-2021-123"),
        ("go-2022-0001", "GO-2022-0001"),
        ("RUSTSEC-2021-0001", "RUSTSEC-2021-0001"),
        ("noprefix", "noprefix"),
    ],
)
def test_canonical_alias(text: str, expected: str) -> None:
    assert canonical_alias(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("src/a.c", "src/a.c"),
        ("./src/a.c", "src/a.c"),
        ("/src//a.c", "src/a.c"),
        ("src\\win\\a.c", "src/win/a.c"),
        ("src/./a.c", "src/a.c"),
        ("file:///src/a.c", "src/a.c"),
        ("Src/A.c", "Src/A.c"),  # case preserved
        ("../up/a.c", "../up/a.c"),
    ],
)
def test_canonical_path(text: str, expected: str) -> None:
    assert canonical_path(text) == expected


@pytest.mark.parametrize(
    "spelling",
    [
        "https://github.com/Example/Project",
        "https://github.com/example/project.git",
        "https://GitHub.com/example/project/",
        "git+https://github.com/example/project.git",
        "git@github.com:example/project.git",
        "ssh://git@github.com/example/project.git",
        "http://github.com/example/project#main",
        "github.com/example/project",
    ],
)
def test_repository_spellings_share_one_target(spelling: str) -> None:
    assert canonical_target(spelling) == "github.com/example/project"


def test_path_case_kept_on_hosts_that_are_case_sensitive() -> None:
    assert canonical_target("https://git.Example.org/Team/Repo.git") == "git.example.org/Team/Repo"
    assert canonical_target("https://git.example.org:8443/a/b") == "git.example.org:8443/a/b"
    assert canonical_target("libfoo") == "libfoo"


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        ("pkg:pypi/Django_Rest@4.2.1", "pkg:pypi/django-rest"),
        ("pkg:npm/%40angular/core@16.0.0", "pkg:npm/%40angular/core"),
        ("pkg:npm/@angular/core@16.0.0", "pkg:npm/@angular/core"),
        ("pkg:maven/org.Apache/Commons@1.0?type=jar", "pkg:maven/org.Apache/Commons"),
        ("pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie", "pkg:deb/debian/curl"),
        (
            "pkg:golang/google.golang.org/genproto@abc#googleapis/api/annotations/",
            "pkg:golang/google.golang.org/genproto#googleapis/api/annotations",
        ),
        ("PKG:GitHub/Package-URL/purl-spec@244fd47", "pkg:github/package-url/purl-spec"),
    ],
)
def test_canonical_purl_drops_version_and_qualifiers(purl: str, expected: str) -> None:
    assert canonical_purl(purl) == expected
    assert canonical_target(purl) == expected


def test_producer_case_and_spacing_do_not_matter() -> None:
    assert canonical_producer("  Code QL ") == canonical_producer("code  ql")


def test_snippet_normalisation_ignores_indentation_and_blank_lines() -> None:
    assert normalise_snippet("  if (x)  {\n\n\t\treturn   y;\n  }\n") == "if (x) { return y; }"
    assert normalise_snippet(" \n\t\n") == ""


# ---- the keys ----------------------------------------------------------------------------


def test_keys_have_their_kind_and_32_hex_digits() -> None:
    keys = identity_keys(record(aliases=("CVE-2024-1",)), target=REPO)
    assert all(KEY_SHAPE.match(k) for k in keys.exact + keys.locations)
    assert isinstance(keys, IdentityKeys)
    assert [k.split(":")[0] for k in keys.exact] == ["alias", "fp"]
    assert sorted(k.split(":")[0] for k in keys.locations) == ["loc-line", "loc-snippet"]


def test_fields_are_encoded_unambiguously() -> None:
    assert key("fp", "ab", "c") != key("fp", "a", "bc")
    assert key("fp", "a|b", "c") != key("fp", "a", "b|c")
    assert key("loc-line", "t", "p", 1) != key("loc-line", "t", "p", "1")


def test_same_fingerprint_same_producer_any_case_is_one_key() -> None:
    a = identity_keys(record(producer="CodeQL"), target=REPO)
    b = identity_keys(record(producer="codeql "), target=REPO + ".git")
    assert a.exact == b.exact


def test_same_fingerprint_from_another_producer_is_another_key() -> None:
    a = identity_keys(record(producer="CodeQL"), target=REPO)
    b = identity_keys(record(producer="Semgrep"), target=REPO)
    assert set(a.exact).isdisjoint(b.exact)


def test_same_fingerprint_on_another_target_is_another_key() -> None:
    a = identity_keys(record(), target=REPO)
    b = identity_keys(record(), target="https://github.com/other/project")
    assert set(a.exact).isdisjoint(b.exact)
    assert set(a.locations).isdisjoint(b.locations)


def test_alias_keys_ignore_spelling_and_producer() -> None:
    a = identity_keys(
        record(producer="osv", fingerprints=(), aliases=("ghsa-aaaa-bbbb-cccc",)), target=None
    )
    b = identity_keys(
        record(producer="github", fingerprints=(), aliases=("GHSA-AAAA-BBBB-CCCC",)),
        target="pkg:pypi/x@1",
    )
    aliases_a = [k for k in a.exact if k.startswith("alias:")]
    assert aliases_a
    assert aliases_a == [k for k in b.exact if k.startswith("alias:")]


def test_location_keys_need_a_path() -> None:
    keys = identity_keys(record(location=Location(start_line=3, snippet="x = 1")), target=REPO)
    assert keys.locations == ()
    assert identity_keys(record(location=None), target=REPO).locations == ()


def test_snippet_key_survives_line_shift_and_reindent() -> None:
    before = identity_keys(record(), target=REPO)
    after = identity_keys(
        record(
            location=Location(
                path="./src/parse.c",
                start_line=131,
                function="parse_header",
                snippet="\n\tmemcpy(buf,  src, len);",
            )
        ),
        target=REPO,
    )
    shared = set(before.locations) & set(after.locations)
    assert len(shared) == 1
    assert next(iter(shared)).startswith("loc-snippet:")


def test_snippet_key_depends_on_function_and_line_key_on_line() -> None:
    base = identity_keys(record(), target=REPO)
    other_function = identity_keys(
        record(
            location=Location(
                path="src/parse.c",
                start_line=120,
                function="parse_body",
                snippet="memcpy(buf, src, len);",
            )
        ),
        target=REPO,
    )
    shared = set(base.locations) & set(other_function.locations)
    assert len(shared) == 1
    assert next(iter(shared)).startswith("loc-line:")


def test_rule_fallback_only_without_any_other_identity() -> None:
    bare = record(fingerprints=(), aliases=(), location=None)
    keys = identity_keys(bare, target=REPO)
    assert [k.split(":")[0] for k in keys.exact] == ["rule"]
    assert keys.exact == identity_keys(replace(bare, producer=" codeql"), target=REPO).exact
    assert identity_keys(replace(bare, rule_id=None), target=REPO).exact == ()
    # a located finding identifies itself by its rule at that location instead
    located = replace(bare, location=Location(path="a.c", start_line=1))
    assert [k.split(":")[0] for k in identity_keys(located, target=REPO).exact] == ["rule-line"]
    with_alias = replace(bare, aliases=("CVE-2024-1",))
    assert [k.split(":")[0] for k in identity_keys(with_alias, target=REPO).exact] == ["alias"]


def test_cwes_are_normalised() -> None:
    assert identity_keys(record(cwes=(787, 119, 787)), target=REPO).cwes == (119, 787)
    assert identity_keys(record(cwes=(0,)), target=REPO).cwes == ()


@given(title=st.text(), description=st.text(), level=st.sampled_from([None, "error", "note"]))
def test_free_text_never_changes_a_key(title: str, description: str, level: str | None) -> None:
    base = identity_keys(record(aliases=("CVE-2024-1",)), target=REPO)
    noisy = identity_keys(
        record(aliases=("CVE-2024-1",), title=title, description=description, level=level),
        target=REPO,
    )
    assert noisy == base


@given(st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=4))
def test_keys_are_sorted_and_unique(fingerprints: list[tuple[str, str]]) -> None:
    keys = identity_keys(record(fingerprints=tuple(fingerprints)), target=REPO)
    assert list(keys.exact) == sorted(set(keys.exact))
    assert len([k for k in keys.exact if k.startswith("fp:")]) == len(set(fingerprints))


def _kinds(keys: tuple[str, ...]) -> dict[str, str]:
    return {k.split(":")[0]: k for k in keys}


def test_same_rule_at_same_place_is_one_issue_across_runs() -> None:
    """Repeated CI scans: no fingerprint, no CWE, same rule and place -> a shared exact key."""
    run1 = record(fingerprints=(), cwes=())
    run2 = replace(run1, title="reworded message", pointer="/runs/1/results/0")
    assert (
        _kinds(identity_keys(run1, target=REPO).exact)["rule-line"]
        == _kinds(identity_keys(run2, target=REPO).exact)["rule-line"]
    )


def test_rule_snippet_key_survives_a_line_shift() -> None:
    before = record(fingerprints=())
    assert before.location is not None
    shifted = replace(before, location=replace(before.location, start_line=133))
    a = _kinds(identity_keys(before, target=REPO).exact)
    b = _kinds(identity_keys(shifted, target=REPO).exact)
    assert a["rule-line"] != b["rule-line"]
    assert a["rule-snippet"] == b["rule-snippet"]


def test_other_rule_or_own_fingerprint_gives_no_rule_location_key() -> None:
    one = identity_keys(record(fingerprints=()), target=REPO).exact
    other = identity_keys(record(fingerprints=(), rule_id="cpp/other"), target=REPO).exact
    assert not set(one) & set(other)
    trusted = identity_keys(record(fingerprints=(("matchId/v1", "abc"),)), target=REPO).exact
    assert [k.split(":")[0] for k in trusted] == ["fp"]
