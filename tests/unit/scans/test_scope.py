"""Scan scope: canonical ranges, hostnames and code targets, claim checks, overlaps, coverage."""

from __future__ import annotations

import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.core.errors import InputError
from clearinghouse.scans.scope import (
    NetworkRange,
    check_claim,
    covers,
    find_overlaps,
    from_bounds,
    hostname_matches,
    parse_code_target,
    parse_hostname,
    parse_network,
    subtract,
    uncovered,
    union,
)


def _texts(ranges: list[NetworkRange]) -> list[str]:
    return [r.text for r in ranges]


# --- parse_network -----------------------------------------------------------------------------


def test_cidr_is_parsed_to_inclusive_integer_bounds() -> None:
    r = parse_network(" 203.0.113.0/24 ")
    assert (r.version, r.text, r.prefixlen) == (4, "203.0.113.0/24", 24)
    assert r.first == int(ipaddress.IPv4Address("203.0.113.0"))
    assert r.last == int(ipaddress.IPv4Address("203.0.113.255"))


def test_single_addresses_become_host_routes() -> None:
    assert parse_network("198.51.100.7").text == "198.51.100.7/32"
    six = parse_network("2001:DB8:0:0::1")
    assert (six.version, six.text, six.prefixlen) == (6, "2001:db8::1/128", 128)
    assert six.first == six.last == int(ipaddress.IPv6Address("2001:db8::1"))


def test_ipv6_is_canonicalised() -> None:
    assert parse_network("2001:0DB8:0000::/48").text == "2001:db8::/48"


def test_host_bits_are_refused_naming_the_entry() -> None:
    with pytest.raises(InputError, match=r"'203\.0\.113\.5/24'.*host bits"):
        parse_network("203.0.113.5/24")


@pytest.mark.parametrize("text", ["", "example.com", "203.0.113.0/33", "1.2.3", "fe80::1%eth0/128"])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="network range"):
        parse_network(text)


def test_from_bounds_gives_the_fewest_cidrs() -> None:
    first, last = parse_network("198.51.100.1").first, parse_network("198.51.100.6").first
    assert _texts(from_bounds(4, first, last)) == [
        "198.51.100.1/32",
        "198.51.100.2/31",
        "198.51.100.4/31",
        "198.51.100.6/32",
    ]


# --- hostnames ---------------------------------------------------------------------------------


def test_hostname_is_lower_cased_and_idna_encoded() -> None:
    assert parse_hostname("WWW.Example.COM.") == "www.example.com"
    assert parse_hostname("bücher.example") == "xn--bcher-kva.example"


def test_leading_wildcard_means_subdomains() -> None:
    assert parse_hostname("*.Example.com") == "*.example.com"
    assert hostname_matches("*.example.com", "a.b.example.com")
    assert hostname_matches("*.example.com", "*.a.example.com")
    assert hostname_matches("*.example.com", "*.example.com")
    assert not hostname_matches("*.example.com", "example.com")
    assert not hostname_matches("*.example.com", "badexample.com")
    assert not hostname_matches("a.example.com", "*.a.example.com")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a.*.example.com", "wildcard"),
        ("*example.com", "wildcard"),
        ("203.0.113.9", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("localhost", "two labels"),
        ("*.com", "two labels"),
        ("under_score.example.com", "example.com"),
        ("-lead.example.com", "example.com"),
        ("host.123", "numeric"),
        ("a" * 64 + ".example.com", "example.com"),
    ],
)
def test_bad_hostnames_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        parse_hostname(text)


# --- check_claim -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        ("10.1.0.0/16", "10.0.0.0/8, private"),
        ("172.16.5.0/24", "private"),
        ("192.168.1.0/24", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.0.0/24", "link-local"),
        ("224.0.0.0/24", "multicast"),
        ("240.0.0.0/24", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.1.2.0/24", r"'this network'"),
        ("100.64.0.0/16", "carrier-grade NAT"),
        ("198.18.0.0/24", "benchmarking"),
        ("fc00::/48", "unique local"),
        ("fe80::/64", "link-local"),
        ("ff02::/64", "multicast"),
        ("::1", "loopback"),
        ("4000::/32", "outside global unicast"),
    ],
)
def test_special_ranges_cannot_be_claimed(cidr: str, reason: str) -> None:
    claim = parse_network(cidr)
    with pytest.raises(InputError, match=rf"cannot claim {claim.text}: .*{reason}"):
        check_claim(claim)


def test_a_claim_containing_special_space_names_it() -> None:
    with pytest.raises(InputError, match=r"overlaps 192\.0\.0\.0/24, IETF protocol"):
        check_claim(parse_network("192.0.0.0/16"))


@pytest.mark.parametrize(
    "cidr", ["192.0.2.0/24", "198.51.100.0/25", "203.0.113.7", "2001:db8::/32", "3fff::/32"]
)
def test_documentation_ranges_are_allowed_by_default_and_refusable(cidr: str) -> None:
    check_claim(parse_network(cidr))
    with pytest.raises(InputError, match="documentation"):
        check_claim(parse_network(cidr), allow_documentation=False)


def test_public_ranges_are_accepted() -> None:
    check_claim(parse_network("8.8.0.0/16"))
    check_claim(parse_network("2a00:1450::/32"))


def test_over_broad_claims_are_refused_with_configurable_limits() -> None:
    with pytest.raises(InputError, match=r"cannot claim 8\.0\.0\.0/15: broader than /16"):
        check_claim(parse_network("8.0.0.0/15"))
    with pytest.raises(InputError, match=r"2a00::/31: broader than /32"):
        check_claim(parse_network("2a00::/31"))
    check_claim(parse_network("8.0.0.0/15"), min_prefix_v4=8)
    with pytest.raises(InputError, match="broader than /24"):
        check_claim(parse_network("8.8.8.0/23"), min_prefix_v4=24)


# --- overlaps and coverage ---------------------------------------------------------------------


def test_find_overlaps_reports_every_pair_with_its_owner() -> None:
    new = [parse_network("203.0.113.0/24"), parse_network("198.51.100.128/25")]
    existing = [
        (1, parse_network("203.0.113.64/26")),
        (2, parse_network("198.51.100.0/24")),
        (3, parse_network("198.51.100.0/25")),  # below the new /25: no overlap
        (4, parse_network("203.0.113.255")),
        (5, parse_network("2001:db8::/32")),
    ]
    found = [(n.text, owner, e.text) for n, owner, e in find_overlaps(new, existing)]
    assert found == [
        ("198.51.100.128/25", 2, "198.51.100.0/24"),
        ("203.0.113.0/24", 1, "203.0.113.64/26"),
        ("203.0.113.0/24", 4, "203.0.113.255/32"),
    ]


def test_find_overlaps_does_not_mix_ip_versions() -> None:
    v4 = parse_network("0.0.0.0/0")
    v6 = parse_network("::/0")
    assert find_overlaps([v4], [(1, v6)]) == []
    assert find_overlaps([v6], [(1, v6)]) == [(v6, 1, v6)]


_SMALL_RANGES = st.builds(
    lambda base, prefix: from_bounds(
        4,
        (base >> (32 - prefix)) << (32 - prefix),
        ((base >> (32 - prefix)) << (32 - prefix)) + 2 ** (32 - prefix) - 1,
    )[0],
    st.integers(min_value=0xCB007100, max_value=0xCB0071FF),  # 203.0.113.0/24
    st.integers(min_value=24, max_value=32),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_SMALL_RANGES, max_size=12), st.lists(_SMALL_RANGES, max_size=12))
def test_find_overlaps_matches_all_pairs(new: list[NetworkRange], old: list[NetworkRange]) -> None:
    existing = [(i, r) for i, r in enumerate(old)]
    expected = sorted((n, i, e) for n in new for i, e in existing if n.overlaps(e))
    assert sorted(find_overlaps(new, existing)) == expected


def test_find_overlaps_scales_past_quadratic() -> None:
    # 20,000 x 20,000 disjoint /32s: an all-pairs loop would make 4e8 comparisons.
    rng = random.Random(7)
    base = parse_network("8.0.0.0/8").first
    offsets = rng.sample(range(2**24), 40_000)
    new = [from_bounds(4, base + o, base + o)[0] for o in offsets[:20_000]]
    existing = [(1, from_bounds(4, base + o, base + o)[0]) for o in offsets[20_000:]]
    existing.append((2, new[0]))
    assert find_overlaps(new, existing) == [(new[0], 2, new[0])]


def test_uncovered_names_the_missing_cidrs() -> None:
    outer = [parse_network("203.0.113.0/26"), parse_network("203.0.113.128/27")]
    assert _texts(uncovered(outer, parse_network("203.0.113.0/24"))) == [
        "203.0.113.64/26",
        "203.0.113.160/27",
        "203.0.113.192/26",
    ]
    assert not covers(outer, parse_network("203.0.113.0/24"))
    assert covers(outer, parse_network("203.0.113.128/28"))
    assert covers([*outer, parse_network("203.0.113.64/26")], parse_network("203.0.113.0/25"))


def test_coverage_ignores_the_other_ip_version() -> None:
    inner = parse_network("2001:db8::/64")
    assert not covers([parse_network("0.0.0.0/0")], inner)
    assert _texts(uncovered([parse_network("0.0.0.0/0")], inner)) == ["2001:db8::/64"]


def test_subtract_and_union_merge_into_fewest_cidrs() -> None:
    halves = [parse_network("198.51.100.0/25"), parse_network("198.51.100.128/25")]
    assert _texts(union(halves)) == ["198.51.100.0/24"]
    assert _texts(subtract(halves, [parse_network("198.51.100.0/26")])) == [
        "198.51.100.64/26",
        "198.51.100.128/25",
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(_SMALL_RANGES, max_size=8), _SMALL_RANGES)
def test_uncovered_is_exactly_the_addresses_outside(
    outer: list[NetworkRange], inner: NetworkRange
) -> None:
    gaps = uncovered(outer, inner)
    for address in range(inner.first, inner.last + 1):
        inside = any(o.first <= address <= o.last for o in outer)
        in_gap = any(g.first <= address <= g.last for g in gaps)
        assert inside != in_gap
    assert all(inner.contains(g) for g in gaps)
    assert covers(outer, inner) == (not gaps)


# --- code targets ------------------------------------------------------------------------------


def test_purl_targets_are_normalised_and_version_less() -> None:
    assert parse_code_target("pkg:PyPI/Django_Package@4.2.1") == "pkg:pypi/django-package"
    # npm names keep their case (the purl spec says so); "@" of the scope is not a version.
    assert parse_code_target("pkg:npm/@Scope/Left-Pad@1.0.0") == "pkg:npm/%40Scope/Left-Pad"
    assert parse_code_target("pkg:golang/github.com/a/b@v1.2.3#cmd/x") == (
        "pkg:golang/github.com/a/b#cmd/x"
    )
    assert (
        parse_code_target("pkg:maven/org.apache/commons-text@1.9?type=jar")
        == "pkg:maven/org.apache/commons-text?type=jar"
    )


def test_repository_urls_are_normalised() -> None:
    assert (
        parse_code_target("https://user:secret@GitHub.COM/Org/Repo.git/?tab=x#readme")
        == "https://github.com/Org/Repo"
    )
    assert parse_code_target("https://git.example.org:443/a/b/") == "https://git.example.org/a/b"
    assert (
        parse_code_target("https://git.example.org:8443/a/b") == "https://git.example.org:8443/a/b"
    )


@pytest.mark.parametrize(
    "text",
    [
        "http://github.com/org/repo",
        "git@github.com:org/repo.git",
        "https://github.com/",
        "https://github.com/org/../repo",
        "https://203.0.113.5/org/repo",
        "pkg:pypi/",
        "ftp://example.com/x",
        "not a target",
    ],
)
def test_other_code_targets_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_code_target(text)


@pytest.mark.parametrize(
    "text",
    [
        "https://user:hunter2@/org/repo",
        "https://user:hunter2@github.com/",
        "http://u:hunter2@x.org/a",
    ],
)
def test_credentials_are_not_echoed_in_refusals(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_code_target(text)
    assert "hunter2" not in str(caught.value)
    assert "***@" in str(caught.value)
