"""Scan scope in canonical form: network ranges, hostnames and code targets, with range arithmetic.

What it does: parses what an operator claims or a scanner targets into one canonical spelling
(CIDR text plus inclusive integer bounds, IDNA hostnames, version-less purls, normalized https
repository URLs); refuses claims nobody can own (special-purpose and over-broad ranges); finds
overlaps between a new claim and other owners' claims with a sort-and-sweep; and computes which
parts of a range a set of ranges leaves uncovered, as CIDRs, so a refusal can name exactly the
addresses at fault.

What it does not do: store claims, prove ownership (see ``challenge``), resolve hostnames, or
decide campaigns (see ``decision``). Pure functions of their arguments.
"""

from __future__ import annotations

import heapq
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from clearinghouse.core.errors import InputError
from clearinghouse.formats.sbom.purls import normalize_purl

_BITS = {4: 32, 6: 128}
_MAX_ENTRY_CHARS = 300  # a CIDR or a hostname is short; anything longer is garbage
_MAX_HOSTNAME_CHARS = 253  # RFC 1035: 255 octets on the wire, 253 characters in dotted text
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True, slots=True, order=True)
class NetworkRange:
    """One CIDR block: inclusive integer bounds for arithmetic, canonical text for people.

    Ordering is by (version, first, last), which is what the sweeps below rely on.
    """

    version: int
    first: int
    last: int
    text: str

    @property
    def prefixlen(self) -> int:
        return _BITS[self.version] - (self.last - self.first + 1).bit_length() + 1

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def overlaps(self, other: NetworkRange) -> bool:
        return (
            self.version == other.version and self.first <= other.last and other.first <= self.last
        )

    def contains(self, other: NetworkRange) -> bool:
        return (
            self.version == other.version and self.first <= other.first and other.last <= self.last
        )

    def __str__(self) -> str:
        return self.text


def _preview(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:80] + "…")


def _from_network(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> NetworkRange:
    return NetworkRange(
        version=network.version,
        first=int(network.network_address),
        last=int(network.broadcast_address),
        text=str(network),
    )


def parse_network(text: str) -> NetworkRange:
    """``"203.0.113.0/24"`` or a single address (taken as /32 or /128) -> :class:`NetworkRange`.

    Host bits set (``"203.0.113.5/24"``) are refused rather than silently masked: the operator
    may have meant the /32 or the /24, and a scope is too consequential to guess.
    """
    entry = text.strip()
    if not entry or len(entry) > _MAX_ENTRY_CHARS:
        raise InputError(f"network range {_preview(text)} is empty or too long")
    try:
        if "/" in entry:
            network = ipaddress.ip_network(entry, strict=True)
        else:
            address = ipaddress.ip_address(entry)
            network = ipaddress.ip_network(f"{address}/{_BITS[address.version]}")
    except ValueError as error:
        raise InputError(f"network range {_preview(text)} is invalid: {error}") from None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.scope_id:
        raise InputError(f"network range {_preview(text)} must not carry a zone index")
    return _from_network(network)


def from_bounds(version: int, first: int, last: int) -> list[NetworkRange]:
    """The fewest CIDRs that exactly cover the inclusive address interval ``first..last``."""
    if version not in _BITS or not 0 <= first <= last < 2 ** _BITS[version]:
        raise InputError(f"bad address interval v{version} {first}..{last}")
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return [
        _from_network(network)
        for network in ipaddress.summarize_address_range(make(first), make(last))
    ]


def parse_hostname(text: str) -> str:
    """A hostname in canonical form: lower-case A-labels, no trailing dot.

    A leading ``*.`` (and only that) is kept and means "every subdomain of the rest"; the rest
    must still have two labels, so nobody claims ``*.com``. IP literals are refused here (they
    are network scope), as is any name whose last label is numeric, because resolvers and
    scanners would read ``1.2.3.4``-like names as addresses.
    """
    entry = text.strip()
    if not entry or len(entry) > _MAX_ENTRY_CHARS:
        raise InputError(f"hostname {_preview(text)} is empty or too long")
    wildcard = entry.startswith("*.")
    name = entry[2:] if wildcard else entry
    name = name.removesuffix(".")
    if "*" in name:
        raise InputError(f"hostname {_preview(text)}: a wildcard is only allowed as a leading '*.'")
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise InputError(f"hostname {_preview(text)} is an IP address; claim it as a network range")
    try:
        # uts46 maps case and compatibility characters first (as browsers do), so the A-label
        # we keep is the one every other spelling of the name converges to.
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise InputError(f"hostname {_preview(text)} is not a valid DNS name: {error}") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > _MAX_HOSTNAME_CHARS:
        raise InputError(f"hostname {_preview(text)} is longer than {_MAX_HOSTNAME_CHARS} chars")
    bad = [label for label in labels if not _LABEL.fullmatch(label)]
    if bad:
        raise InputError(
            f"hostname {_preview(text)} has an invalid label {bad[0]!r} "
            "(letters, digits and inner hyphens only, 1-63 characters)"
        )
    if len(labels) < 2:
        raise InputError(f"hostname {_preview(text)} must have at least two labels")
    if labels[-1].isdigit():
        raise InputError(f"hostname {_preview(text)} ends in a numeric label, like an address")
    return f"*.{ascii_name}" if wildcard else ascii_name


def hostname_matches(pattern: str, hostname: str) -> bool:
    """Whether canonical ``pattern`` (a name or ``*.name``) includes canonical ``hostname``.

    ``*.example.com`` includes ``a.example.com`` and ``*.a.example.com`` but not
    ``example.com`` itself; an exact name includes only itself.
    """
    if not pattern.startswith("*."):
        return pattern == hostname
    suffix = pattern[1:]  # ".example.com"
    name = hostname[2:] if hostname.startswith("*.") else hostname
    return name.endswith(suffix) or (hostname.startswith("*.") and name == pattern[2:])


# --- claims ----------------------------------------------------------------------------------

_DOCUMENTATION = "documentation"
# Special-purpose registries (IANA, RFC 6890 and successors). Nobody can own these on the
# public internet, so a claim touching them is a mistake or an attempt to aim scanners at
# someone's internal network.
_SPECIAL: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "'this network' (RFC 791)"),
    ("10.0.0.0/8", "private address space (RFC 1918)"),
    ("100.64.0.0/10", "shared carrier-grade NAT space (RFC 6598)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private address space (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
    ("192.0.2.0/24", _DOCUMENTATION),
    ("192.88.99.0/24", "6to4 relay anycast (RFC 7526)"),
    ("192.168.0.0/16", "private address space (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", _DOCUMENTATION),
    ("203.0.113.0/24", _DOCUMENTATION),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (including the limited broadcast address)"),
    ("::/128", "the unspecified address"),
    ("::1/128", "loopback"),
    ("::ffff:0:0/96", "IPv4-mapped addresses"),
    ("64:ff9b::/96", "NAT64 translation (RFC 6052)"),
    ("64:ff9b:1::/48", "local-use NAT64 translation (RFC 8215)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("2001::/32", "Teredo (RFC 4380)"),
    ("2001:2::/48", "benchmarking (RFC 5180)"),
    ("2001:10::/28", "ORCHID (RFC 4843)"),
    ("2001:20::/28", "ORCHIDv2 (RFC 7343)"),
    ("2001:db8::/32", _DOCUMENTATION),
    ("2002::/16", "6to4 (RFC 3056)"),
    ("3fff::/20", _DOCUMENTATION),
    ("fc00::/7", "unique local addresses (RFC 4193)"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
)
_SPECIAL_RANGES = tuple((parse_network(cidr), why) for cidr, why in _SPECIAL)
_GLOBAL_UNICAST_V6 = parse_network("2000::/3")


def check_claim(
    claim: NetworkRange,
    *,
    allow_documentation: bool = True,
    min_prefix_v4: int = 16,
    min_prefix_v6: int = 32,
) -> None:
    """Refuse a range nobody may claim; return None when the claim is acceptable.

    Refused: special-purpose space (private, loopback, link-local, multicast, reserved,
    ``0.0.0.0/8``, CGNAT ``100.64.0.0/10``, benchmarking, IPv6 outside ``2000::/3``, ...), and
    claims broader than ``/min_prefix_v4`` (IPv4) or ``/min_prefix_v6`` (IPv6), which no single
    operator plausibly holds and which would let one claim shadow thousands of others.

    Deliberate, configurable exception: the documentation ranges (192.0.2.0/24,
    198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20) are allowed by default, because
    tests, the demo and training deployments use them and they never route on the internet.
    A production deployment that wants them refused passes ``allow_documentation=False``.
    """
    for special, why in _SPECIAL_RANGES:
        if not claim.overlaps(special) or (why == _DOCUMENTATION and allow_documentation):
            continue
        relation = "lies in" if special.contains(claim) else "overlaps"
        raise InputError(f"cannot claim {claim.text}: it {relation} {special.text}, {why}")
    if claim.version == 6 and not _GLOBAL_UNICAST_V6.contains(claim):
        raise InputError(f"cannot claim {claim.text}: it is outside global unicast 2000::/3")
    limit = min_prefix_v4 if claim.version == 4 else min_prefix_v6
    if claim.prefixlen < limit:
        raise InputError(
            f"cannot claim {claim.text}: broader than /{limit}; claim the blocks you operate"
        )


def find_overlaps(
    new: Sequence[NetworkRange], existing: Sequence[tuple[int, NetworkRange]]
) -> list[tuple[NetworkRange, int, NetworkRange]]:
    """Every (new range, owner id, existing range) pair that shares at least one address.

    Sort-and-sweep: both lists sorted by first address; a min-heap of each side's open ranges
    keyed by last address is pruned as the sweep advances, so the cost is O((n + m) log(n + m)
    + k) for k reported pairs instead of n * m comparisons.
    """
    events: list[tuple[int, int, int, int]] = []  # (version, first, side, index)
    events.extend((r.version, r.first, 0, i) for i, r in enumerate(new))
    events.extend((r.version, r.first, 1, i) for i, (_, r) in enumerate(existing))
    events.sort()
    open_sides: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])  # (last, index)
    version = 0
    found: list[tuple[NetworkRange, int, NetworkRange]] = []
    for event_version, first, side, index in events:
        if event_version != version:  # ranges of different versions never overlap
            version = event_version
            open_sides = ([], [])
        other = open_sides[1 - side]
        while other and other[0][0] < first:
            heapq.heappop(other)
        # Everything still open on the other side started at or before `first` and ends at or
        # after it, hence overlaps the range starting here.
        for _, other_index in other:
            new_index, existing_index = (index, other_index) if side == 0 else (other_index, index)
            owner, claimed = existing[existing_index]
            found.append((new[new_index], owner, claimed))
        mine = new[index] if side == 0 else existing[index][1]
        heapq.heappush(open_sides[side], (mine.last, index))
    found.sort(key=lambda item: (item[0], item[1], item[2]))
    return found


def _merged(ranges: Iterable[NetworkRange], version: int) -> list[tuple[int, int]]:
    """Inclusive bounds of the union of ``ranges`` of one IP version, sorted and disjoint."""
    bounds = sorted((r.first, r.last) for r in ranges if r.version == version)
    merged: list[tuple[int, int]] = []
    for first, last in bounds:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def uncovered(outer: Sequence[NetworkRange], inner: NetworkRange) -> list[NetworkRange]:
    """The parts of ``inner`` outside the union of ``outer``, as the fewest CIDRs, in order."""
    gaps: list[NetworkRange] = []
    cursor = inner.first
    for first, last in _merged(outer, inner.version):
        if last < cursor:
            continue
        if first > inner.last:
            break
        if first > cursor:
            gaps.extend(from_bounds(inner.version, cursor, first - 1))
        cursor = last + 1
        if cursor > inner.last:
            return gaps
    gaps.extend(from_bounds(inner.version, cursor, inner.last))
    return gaps


def covers(outer: Sequence[NetworkRange], inner: NetworkRange) -> bool:
    """Whether every address of ``inner`` lies inside the union of ``outer``."""
    return not uncovered(outer, inner)


def subtract(ranges: Sequence[NetworkRange], minus: Sequence[NetworkRange]) -> list[NetworkRange]:
    """The addresses of ``ranges`` outside ``minus``, as the fewest CIDRs in address order."""
    return union([piece for r in ranges for piece in uncovered(minus, r)])


def union(ranges: Sequence[NetworkRange]) -> list[NetworkRange]:
    """The union of ``ranges`` as the fewest CIDRs, IPv4 first, in address order."""
    return [
        cidr
        for version in (4, 6)
        for first, last in _merged(ranges, version)
        for cidr in from_bounds(version, first, last)
    ]


# --- code scope ------------------------------------------------------------------------------


def parse_code_target(text: str) -> str:
    """A package URL without version, or a normalized https git repository URL.

    ``"pkg:PyPI/Django@4.2"`` -> ``"pkg:pypi/django"``: a scope names a package across all its
    versions, so the version is dropped (qualifiers such as ``repository_url`` stay: they tell
    packages of the same name apart). ``"https://user:pw@GitHub.com/Org/Repo.git/?x=1"`` ->
    ``"https://github.com/Org/Repo"``: credentials, query and fragment are dropped (a secret
    must not end up in stored scope), the host is lower-cased and the path keeps its case
    (some forges are case-sensitive).
    """
    entry = text.strip()
    if not entry or len(entry) > 2_000:
        raise InputError(f"code target {_preview(text)} is empty or too long")
    if entry.lower().startswith("pkg:"):
        canonical = normalize_purl(entry)
        # The canonical form percent-encodes every "@" inside a component, so the last bare "@"
        # before the qualifiers and subpath is the version separator.
        cut = min(i for i in (canonical.find("?"), canonical.find("#"), len(canonical)) if i >= 0)
        head, tail = canonical[:cut], canonical[cut:]
        return head.rpartition("@")[0] + tail if "@" in head else canonical
    return _parse_repository(entry, text)


def _parse_repository(entry: str, text: str) -> str:
    # Refusals echo the entry, but never a password someone pasted along with it.
    shown = _preview(re.sub(r"//[^/@]*@", "//***@", text))
    try:
        parts = urlsplit(entry)
    except ValueError as error:  # "Invalid IPv6 URL": an unbalanced '[' in the host
        raise InputError(f"code target {shown} is not a URL: {error}") from None
    if parts.scheme.lower() != "https":
        raise InputError(
            f"code target {shown} is neither a package URL (pkg:...) nor an https repository URL"
        )
    try:
        host = parse_hostname(parts.hostname or "")
        port = parts.port
    except (InputError, ValueError) as error:
        raise InputError(f"code target {shown} has a bad host: {error}") from None
    if host.startswith("*."):
        raise InputError(f"code target {shown}: a repository host cannot be a wildcard")
    path = parts.path.rstrip("/").removesuffix(".git").rstrip("/")
    segments = path.split("/")[1:]
    if not segments or any(segment in ("", ".", "..") for segment in segments):
        raise InputError(f"code target {shown} does not name a repository path")
    netloc = host if port in (None, 443) else f"{host}:{port}"
    return f"https://{netloc}{path}"
