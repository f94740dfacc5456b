"""Benchmark: matching an SBOM against OSV advisories, our index against three named peers.

Why: every inventory import asks "which advisories affect these components?" for thousands of
package URLs. The issue sets the bar: the index for the PyPA and Go databases built in under
2 s, and matching that scales linearly (a 10x larger SBOM in at most 10x the time). It also
asks how our answers compare with tools people already use, hit by hit, so that every
difference is either a bug to fix or a rule we can explain.

The databases (read-only, never copied): ``osv/pypa-advisory-database/vulns/**/*.yaml`` (PyPA,
2,661 records) and ``osv/golang-vulndb/data/osv/*.json`` (Go, 4,291 records) under
``$CLEARINGHOUSE_CORPUS``, else ``../shared/data`` beside the checkout; see its
``osv/PROVENANCE.md``. The script exits with a message when they are absent.

The SBOM (``--size``, default 16,000 purls; ``--quick`` 1,000), built deterministically from
what is on disk, with no network:

* PyPI and Go, half each of what is left after the three groups below: every package named
  by a PyPA or Go record, at the versions its records name (``introduced``, ``fixed`` and
  ``last_affected`` events and ``versions`` entries) and at versions just around them. For
  each plain ``X.Y.Z`` event version and each package's newest listed version the neighbours
  are ``X.Y.Z-1`` (when Z > 0), ``X.Y.Z+1``, ``X.Y+1.0``, a pre-release of ``X.Y.Z``
  (``X.Y.Zrc1`` on PyPI, ``X.Y.Z-rc.1`` on Go) and, on PyPI, ``X.Y.Z.post1``. Event versions
  come first, then the rest, each group ordered by the SHA-256 of the purl (a fixed, even
  spread over packages), and the first N are taken. Go modules are written
  ``pkg:golang/<module path>@v<version>`` as Go tooling spells versions; the ``stdlib`` and
  ``toolchain`` pseudo-modules without the ``v``.
* The PyPI distributions installed in the running interpreter (``importlib.metadata``), at
  their installed versions (at most 10% of the SBOM).
* npm and Maven components absent from both databases, 6.25% each: ``pkg:npm/<w1>-<w2>@...``
  and ``pkg:maven/org.<w1>/<w2>-core@...`` for the ordered pairs of a fixed word list.

The 10x SBOM is built the same way with ten times the quotas: every distinct candidate there
is, then the SBOM's own purls repeated up to the size (the output says how many are distinct).
Our matcher is also timed on the base SBOM repeated ten times.

What is timed, on the same purls in one run:

* ours: reading the files and decoding them (``formats.decode``) are timed apart from the
  index build proper (``parse_advisory`` over the decoded records, then
  ``AdvisoryIndex.build``). Matching is ``osv_package(purl)`` then ``index.match`` for every
  purl, consumed one purl at a time as a streaming import would (counted, not kept: keeping
  1.5 million result objects alive costs the garbage collector more than linearly, which
  would measure the harness, not the matcher), with the version-key caches emptied before
  each run; the (purl, id) pairs for the comparison come from a separate, untimed pass.
* the peers, each in its own process run with ``--peers-python`` (a separate virtualenv, see
  below) on a script copied to a temporary directory (``_matching_peers.py``), exchanging the
  decoded records, the purls and the hits as JSON. Each builds its database outside the
  timing and times its match step alone, from the purl strings to its list of hits:

  - ``univers``: univers used as VulnerableCode uses it. Its OSV pipeline
    (``vulnerabilities/pipes/osv_v2.py``) turns each affected package into one
    ``VersionRange`` (the ``versions`` list when present, else the events as constraints);
    its ``unfurl_version_range`` improver reads the stored ``vers`` string back and tests
    ``version in range``.
  - ``safety``: ``safety.safety.check`` against a local database directory (``db_mirror``) in
    safety's format (``insecure.json``/``insecure_full.json``, PEP 440 specifier strings)
    written from the PyPA records; PyPI purls only.
  - ``vdb``: AppThreat's vulnerability-db, the records loaded with its own OSV converter into
    its SQLite storage, then its bulk purl search. vdb drops PYSEC and GO records that have a
    GHSA alias (it expects the GHSA feed to carry them), so ``vdb-all`` loads the same records
    with their GHSA aliases hidden from it, to compare the matching itself.

  Every match step, ours and the peers', is timed ``--repeat`` times (default 3) and the best
  run is kept; the peers keep their warm caches between runs, ours are emptied. Then, for
  each peer: its hits, our hits it missed and its extra hits, grouped by cause (worked out
  from the records by ``Explainer``) with examples, and peer match time / our match time on
  the same purls.

The peers' virtualenv, kept out of the project's (their pins conflict with ours)::

    python3.11 -m venv /tmp/bench-peers-venv
    /tmp/bench-peers-venv/bin/pip install univers==32.0.1 safety==3.8.1 \\
        appthreat-vulnerability-db==7.0.3

A peer that cannot run is reported on one line with the reason and the others still run; the
script then exits 1, as ``intake_sarif.py`` does. A slow result is never an error: the ratios
are printed with PASS or MISS against the targets and the exit status stays 0. This is a
benchmark, not a timed test: nothing here asserts.

Run: ``.venv/bin/python benchmarks/matching.py [--quick] [--peers-python PATH]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson
from packageurl import PackageURL
from packaging.version import InvalidVersion, Version

from clearinghouse.core.errors import InputError
from clearinghouse.formats.decode import decode
from clearinghouse.inventory.advisories import (
    Advisory,
    AffectedPackage,
    EventKind,
    Range,
    parse_advisory,
    records_of,
)
from clearinghouse.inventory.matching import AdvisoryIndex
from clearinghouse.inventory.packages import osv_package
from clearinghouse.inventory.versions import canonical_ecosystem, compare, normalize_name
from clearinghouse.inventory.versions.pypi import pypi_key
from clearinghouse.inventory.versions.semver import semver_key

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
PEERS_SCRIPT: Final = Path(__file__).resolve().with_name("_matching_peers.py")
DATABASES: Final = (
    ("PyPA", "osv/pypa-advisory-database/vulns", "*.yaml"),
    ("Go", "osv/golang-vulndb/data/osv", "*.json"),
)
QUICK_SIZE: Final = 1_000
DEFAULT_SIZE: Final = 16_000
LARGE_FACTOR: Final = 10
ABSENT_SHARE: Final = 0.0625  # of the SBOM, for npm and for Maven each
INSTALLED_MAX_SHARE: Final = 0.10
TARGET_BUILD_S: Final = 2.0
TARGET_LARGE_RATIO: Final = 10.0
PEERS: Final = ("univers", "safety", "vdb", "vdb-all")
DEFAULT_PEERS_PYTHON: Final = "/tmp/bench-peers-venv/bin/python"
PEER_PINS: Final = "univers==32.0.1 safety==3.8.1 appthreat-vulnerability-db==7.0.3"
DEFAULT_PEER_TIMEOUT_S: Final = 1_800
EXAMPLES: Final = 5
GO_PSEUDO_MODULES: Final = frozenset({"stdlib", "toolchain"})
_PLAIN_SEMVER = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
# What python-semver's Version.parse(optional_minor_and_patch=True) reads (vdb orders with it).
_SEMVER_NUMBER = r"(?:0|[1-9]\d*)"
_SEMVER_READABLE = re.compile(
    rf"v?{_SEMVER_NUMBER}(?:\.{_SEMVER_NUMBER}){{0,2}}"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)

# Nouns for the npm and Maven components that no advisory names (fixed, so the SBOM is too).
WORDS: Final = (
    "amber", "anchor", "arrow", "aspen", "badge", "basil", "beacon", "birch", "blossom",
    "bramble", "breeze", "canyon", "cedar", "cinder", "clover", "cobalt", "comet", "coral",
    "cotton", "crystal", "dune", "ember", "fable", "falcon", "fern", "fjord", "flint", "garnet",
    "glacier", "harbor", "hazel", "heron", "indigo", "island", "jasper", "juniper", "kestrel",
    "lagoon", "lantern", "larch", "lotus", "maple", "meadow", "meteor", "mosaic", "nectar",
    "nimbus", "oasis", "orchid", "pebble", "pepper", "prairie", "quartz", "quill", "raven",
    "reef", "saffron", "sequoia", "sparrow", "summit", "thistle", "tundra", "walnut", "willow",
)  # fmt: skip

JsonObject = dict[str, Any]
Hit = tuple[str, str]  # (purl, advisory id)


# --------------------------------------------------------------------------------------------
# The databases and our index.


def corpus_dir() -> Path | None:
    """``$CLEARINGHOUSE_CORPUS``, else ``../shared/data`` beside the checkout, if present."""
    configured = os.environ.get("CLEARINGHOUSE_CORPUS")
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"
    return candidate.resolve() if candidate.is_dir() else None


@dataclass(slots=True)
class Loaded:
    """The decoded records of both databases, with what reading and decoding them cost."""

    records: list[object]
    files: dict[str, int]
    read_s: float
    decode_s: float


def load_records(corpus: Path) -> Loaded:
    paths: list[tuple[str, Path]] = []
    files: dict[str, int] = {}
    for name, folder, pattern in DATABASES:
        found = sorted((corpus / folder).rglob(pattern))
        if not found:
            raise FileNotFoundError(f"no {pattern} files under {corpus / folder}")
        files[name] = len(found)
        paths += [(name, path) for path in found]
    started = time.perf_counter()
    blobs = [(path, path.read_bytes()) for _, path in paths]
    read_s = time.perf_counter() - started
    records: list[object] = []
    started = time.perf_counter()
    for path, data in blobs:
        records.extend(records_of(decode(data, what=path.name)))
    decode_s = time.perf_counter() - started
    return Loaded(records=records, files=files, read_s=read_s, decode_s=decode_s)


@dataclass(slots=True)
class Built:
    index: AdvisoryIndex
    advisories: list[Advisory]
    parse_s: float
    index_s: float

    @property
    def build_s(self) -> float:
        return self.parse_s + self.index_s


def build_index(records: Sequence[object]) -> Built:
    """Parse the decoded records and index them; the two steps are timed apart."""
    started = time.perf_counter()
    advisories = [parse_advisory(record) for record in records]
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    index = AdvisoryIndex.build(advisories)
    index_s = time.perf_counter() - started
    return Built(index=index, advisories=advisories, parse_s=parse_s, index_s=index_s)


def _cold_caches() -> None:
    """Empty the version-key caches, so that a timed match parses every version it meets."""
    pypi_key.cache_clear()
    semver_key.cache_clear()


def _osv_query(purl: str) -> tuple[str, str, str] | None:
    package = osv_package(purl)
    if package is None or package.version is None:
        return None
    return package.ecosystem, package.name, package.version


def match_ours(index: AdvisoryIndex, purls: Sequence[str]) -> tuple[float, int]:
    """Seconds to match every purl, and the hits: as a streaming import consumes them.

    Each purl's matches are counted and dropped before the next purl, so the time is the
    matcher's, not that of keeping a million result objects alive (which costs the garbage
    collector more than linearly). A purl OSV has no ecosystem for matches nothing.
    """
    _cold_caches()
    hits = 0
    started = time.perf_counter()
    for purl in purls:
        query = _osv_query(purl)
        if query is None:
            continue
        try:
            hits += len(index.match(*query))
        except InputError:
            continue
    return time.perf_counter() - started, hits


def hits_of(index: AdvisoryIndex, purls: Iterable[str]) -> set[Hit]:
    """The (purl, advisory id) pairs, for the comparison with the peers (not timed)."""
    pairs: set[Hit] = set()
    for purl in purls:
        query = _osv_query(purl)
        if query is None:
            continue
        with contextlib.suppress(InputError):
            pairs.update((purl, match.vulnerability) for match in index.match(*query))
    return pairs


def best_match(index: AdvisoryIndex, purls: Sequence[str], repeat: int) -> tuple[float, int]:
    runs = [match_ours(index, purls) for _ in range(repeat)]
    return min(runs)


# --------------------------------------------------------------------------------------------
# The SBOM.


def _purl(ecosystem: str, name: str, version: str) -> str:
    if ecosystem == "PyPI":
        return str(PackageURL(type="pypi", name=name, version=version).to_string())
    if ecosystem == "Go":
        spelled = version if name in GO_PSEUDO_MODULES else f"v{version.removeprefix('v')}"
        namespace, _, last = name.rpartition("/")
        return str(
            PackageURL(
                type="golang", namespace=namespace or None, name=last, version=spelled
            ).to_string()
        )
    raise ValueError(ecosystem)


def _neighbours(ecosystem: str, version: str) -> list[str]:
    """Versions just around a plain release: patch -1 and +1, next minor, a pre- and post-."""
    if ecosystem == "PyPI":
        try:
            parsed = Version(version)
        except InvalidVersion:
            return []
        if parsed.pre or parsed.post is not None or parsed.dev is not None or parsed.local:
            return []
        if parsed.epoch:
            return []
        major, minor, patch = (*parsed.release, 0, 0)[:3]
        pre, post = f"{version}rc1", f"{version}.post1"
    else:
        found = _PLAIN_SEMVER.fullmatch(version)
        if found is None:
            return []
        major, minor, patch = (int(part) for part in found.groups())
        pre, post = f"{major}.{minor}.{patch}-rc.1", None
    near = [f"{major}.{minor}.{patch - 1}"] if patch > 0 else []
    near += [f"{major}.{minor}.{patch + 1}", f"{major}.{minor + 1}.0", pre]
    return near + ([post] if post else [])


def _spread(purl: str) -> str:
    return hashlib.sha256(purl.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Candidates:
    """Per ecosystem, the purls named by events, then every other candidate, each spread."""

    events: dict[str, list[str]]
    others: dict[str, list[str]]


def sbom_candidates(advisories: Iterable[Advisory]) -> Candidates:
    events: dict[str, dict[str, set[str]]] = {"PyPI": defaultdict(set), "Go": defaultdict(set)}
    listed: dict[str, dict[str, set[str]]] = {"PyPI": defaultdict(set), "Go": defaultdict(set)}
    newest: dict[str, dict[str, set[str]]] = {"PyPI": defaultdict(set), "Go": defaultdict(set)}
    for advisory in advisories:
        for package in advisory.affected:
            if package.ecosystem not in events:
                continue
            for one in package.ranges:
                for kind, version in one.events:
                    if kind is not EventKind.LIMIT and version != "0":
                        events[package.ecosystem][package.name].add(version)
            listed[package.ecosystem][package.name].update(package.versions)
            if package.versions:  # osv.dev lists them oldest first
                newest[package.ecosystem][package.name].add(package.versions[-1])
    first: dict[str, list[str]] = {}
    rest: dict[str, list[str]] = {}
    for ecosystem in events:
        named: set[str] = set()
        around: set[str] = set()
        for name in sorted(set(events[ecosystem]) | set(listed[ecosystem])):
            for version in events[ecosystem][name]:
                named.add(_purl(ecosystem, name, version))
            seeds = events[ecosystem][name] | newest[ecosystem][name]
            near = {n for seed in seeds for n in _neighbours(ecosystem, seed)}
            for version in listed[ecosystem][name] | near:
                around.add(_purl(ecosystem, name, version))
        first[ecosystem] = sorted(named, key=_spread)
        rest[ecosystem] = sorted(around - named, key=_spread)
    return Candidates(events=first, others=rest)


def installed_purls() -> list[str]:
    """The distributions installed in this interpreter, at their installed versions."""
    seen: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name and distribution.version:
            key = normalize_name("PyPI", name)
            seen.setdefault(key, _purl("PyPI", name, distribution.version))
    return [seen[key] for key in sorted(seen)]


def absent_purls(kind: str, count: int) -> list[str]:
    """``count`` npm or Maven purls made from the word list; no advisory here names them."""
    pairs = [(a, b) for a in WORDS for b in WORDS if a != b]
    purls = []
    for i in range(count):
        left, right = pairs[i % len(pairs)]
        version = f"{1 + i // len(pairs)}.{i % 10}.{i % 3}"
        if kind == "npm":
            purls.append(f"pkg:npm/{left}-{right}@{version}")
        else:
            purls.append(f"pkg:maven/org.{left}/{right}-core@{version}")
    return purls


@dataclass(frozen=True, slots=True)
class Sbom:
    purls: list[str]
    parts: dict[str, int]

    @property
    def distinct(self) -> int:
        return len(set(self.purls))


def build_sbom(candidates: Candidates, installed: Sequence[str], size: int) -> Sbom:
    """``size`` purls in the module docstring's proportions, padded by repetition if short."""
    absent = round(size * ABSENT_SHARE)
    local = list(installed[: int(size * INSTALLED_MAX_SHARE)])
    left = size - 2 * absent - len(local)
    taken = set(local)
    parts: dict[str, int] = {}
    purls: list[str] = []
    for ecosystem, quota in (("PyPI", left // 2), ("Go", left - left // 2)):
        pool = [p for p in candidates.events[ecosystem] if p not in taken]
        pool += [p for p in candidates.others[ecosystem] if p not in taken]
        chosen = pool[:quota]
        named = len(set(chosen) & set(candidates.events[ecosystem]))
        parts[f"{ecosystem} at event versions"] = named
        parts[f"{ecosystem} at listed or nearby versions"] = len(chosen) - named
        purls += chosen
    parts["PyPI installed here"] = len(local)
    npm, maven = absent_purls("npm", absent), absent_purls("maven", absent)
    parts["npm (absent)"], parts["Maven (absent)"] = len(npm), len(maven)
    purls += local + npm + maven
    base = list(purls)
    while len(purls) < size:
        purls += base[: size - len(purls)]
    if len(purls) > len(base):
        parts["repeats"] = len(purls) - len(base)
    return Sbom(purls=purls, parts=parts)


# --------------------------------------------------------------------------------------------
# The peers.


@dataclass(slots=True)
class PeerRun:
    peer: str
    status: str = "ok"
    error: str | None = None
    version: str | None = None
    load_s: float | None = None
    match_s: float | None = None
    queried: int = 0
    hits: set[Hit] = field(default_factory=set)
    not_loaded: dict[str, str] = field(default_factory=dict)
    unusable: dict[str, str] = field(default_factory=dict)
    unparsed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def run_peer(peer: str, python: str, work: Path, timeout_s: float, repeat: int) -> PeerRun:
    """Run one peer in its own process; any failure becomes a one-line reason."""
    if not Path(python).exists():
        return PeerRun(
            peer,
            status="error",
            error=f"{python} does not exist; create the peers' virtualenv "
            f"(python3.11 -m venv /tmp/bench-peers-venv && "
            f"/tmp/bench-peers-venv/bin/pip install {PEER_PINS}) or pass --peers-python",
        )
    out = work / f"{peer}.json"
    out.unlink(missing_ok=True)
    try:
        done = subprocess.run(
            [python, str(work / "peers.py"), peer, str(work), str(repeat)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=work,
        )
    except subprocess.TimeoutExpired:
        return PeerRun(peer, status="error", error=f"did not finish within {timeout_s:.0f} s")
    if not out.exists():
        return PeerRun(
            peer,
            status="error",
            error=f"exited {done.returncode} without a result: {_one_line(done.stderr)}",
        )
    report = json.loads(out.read_text(encoding="utf-8"))
    if report["status"] != "ok":
        return PeerRun(peer, status="error", error=report.get("error") or "failed")
    return PeerRun(
        peer=peer,
        version=report["version"],
        load_s=report["load_s"],
        match_s=report["match_s"],
        queried=report["queried"],
        hits={(purl, vid) for purl, vid in report["hits"]},
        not_loaded=report["not_loaded"],
        unusable=report["unusable"],
        unparsed=report["unparsed"],
        notes=report["notes"],
    )


def prepare_peers(work: Path, records: Sequence[object], purls: Sequence[str]) -> None:
    """The peers' script and the JSON they read: the same records and purls as ours."""
    shutil.copyfile(PEERS_SCRIPT, work / "peers.py")
    (work / "records.json").write_bytes(orjson.dumps(list(records)))
    (work / "purls.json").write_bytes(orjson.dumps(list(purls)))


# --------------------------------------------------------------------------------------------
# Comparing hits, and saying why they differ.


def _package_key(purl: str) -> tuple[str, str, str] | None:
    package = osv_package(purl)
    if package is None or package.version is None:
        return None
    try:
        ecosystem = canonical_ecosystem(package.ecosystem)
    except InputError:
        return None
    return ecosystem, normalize_name(ecosystem, package.name), package.version


@dataclass(frozen=True, slots=True)
class Facts:
    """How our index reaches one (purl, advisory) pair, and where the version sits."""

    listed: bool  # the version is in a ``versions`` list
    ranged: bool  # some ECOSYSTEM/SEMVER range includes it
    open_ended: bool  # some range whose last event is ``introduced`` includes it
    only_zero: bool  # some range that is ``introduced: "0"`` alone includes it
    has_list: bool  # the package has a ``versions`` list
    below_semver_listed: bool  # older than every listed version that reads as SemVer
    above_semver_listed: bool  # newer than every listed version that reads as SemVer
    within_listed: bool  # between the oldest and the newest listed version
    below_introduced: bool  # older than every range's first non-zero ``introduced``
    fixed_and_introduced: bool  # equal to one interval's ``fixed`` and another's ``introduced``
    zero_beside_fixes: bool  # reached by an ``introduced: "0"``-only range beside fixed ones
    from_pre_release: bool  # in an interval whose ``introduced`` is a pre-release
    as_written: bool  # in an (introduced, next fixed/last_affected) pair in document order
    shape: str  # release, pre-release, post-release, not PEP 440, ...


class Explainer:
    """Why one (purl, advisory) pair is ours only or the peer's only, from the records alone.

    It asks our own index the questions, on one advisory at a time with parts of it removed:
    does it match through the ``versions`` list alone, through the ranges alone, through an
    open-ended range alone? Those answers, where the version sits against the listed versions
    and the ``introduced`` events (in our ordering), its shape, and what the peer reported
    about records and versions it could not use, name the cause. The rules that name a peer
    encode what that peer's code does (see ``_matching_peers.py``).
    """

    def __init__(self, advisories: Sequence[Advisory]) -> None:
        self.by_id = {advisory.id: advisory for advisory in advisories}
        self.by_package: dict[tuple[str, str], list[Advisory]] = defaultdict(list)
        self.by_folded: dict[tuple[str, str], list[Advisory]] = defaultdict(list)
        for advisory in advisories:
            for package in advisory.affected:
                try:
                    ecosystem = canonical_ecosystem(package.ecosystem)
                except InputError:
                    continue
                key = (ecosystem, normalize_name(ecosystem, package.name))
                for table, at in ((self.by_package, key), (self.by_folded, _folded(key))):
                    if advisory not in table[at]:
                        table[at].append(advisory)
        self._variants: dict[tuple[str, str], AdvisoryIndex] = {}

    def map_ids(self, hits: Iterable[Hit], ours: set[Hit]) -> set[Hit]:
        """Peer ids -> record ids: vdb files a record's rows under its CVE alias when it has one.

        The records looked at are those of the purl's package, or failing that those of a
        package whose name differs only in case (vdb folds case; Go module paths do not).
        """
        mapped: set[Hit] = set()
        for purl, raw in hits:
            key = _package_key(purl)
            owners: list[str] = []
            if key is not None:
                for table, at in ((self.by_package, key[:2]), (self.by_folded, _folded(key))):
                    owners = [
                        advisory.id
                        for advisory in table.get(at, [])
                        if raw == advisory.id or raw in advisory.aliases
                    ]
                    if owners:
                        break
            if not owners:
                mapped.add((purl, raw))
                continue
            agreeing = [owner for owner in owners if (purl, owner) in ours]
            mapped.update((purl, owner) for owner in agreeing or owners)
        return mapped

    def _variant(self, advisory: Advisory, part: str) -> AdvisoryIndex:
        """The advisory indexed with only its listed versions, its ranges, or open ranges."""
        if (advisory.id, part) not in self._variants:

            def keep(package: AffectedPackage) -> AffectedPackage:
                if part == "listed":
                    return dataclasses.replace(package, ranges=())
                ranges = package.ranges
                if part == "open":
                    ranges = tuple(one for one in ranges if _open_ended(one))
                elif part == "zero":
                    ranges = tuple(one for one in ranges if _only_zero(one))
                return dataclasses.replace(package, versions=(), ranges=ranges)

            changed = dataclasses.replace(
                advisory, withdrawn=None, affected=tuple(keep(p) for p in advisory.affected)
            )
            self._variants[(advisory.id, part)] = AdvisoryIndex.build([changed])
        return self._variants[(advisory.id, part)]

    def facts(self, advisory: Advisory, key: tuple[str, str, str], purl: str) -> Facts:
        ecosystem, _, version = key

        def hits(part: str) -> bool:
            return bool(self._variant(advisory, part).match(*key))

        packages = _packages_for(advisory, key)
        listed = [v for package in packages for v in package.versions]
        firsts = [
            one.events[0][1]
            for package in packages
            for one in package.ranges
            if one.events and one.events[0][0] is EventKind.INTRODUCED
        ]
        older = [_older(ecosystem, version, other) for other in listed]
        newer = [_older(ecosystem, other, version) for other in listed]
        semver = [other for other in listed if _SEMVER_READABLE.fullmatch(other)]
        events = [event for package in packages for one in package.ranges for event in one.events]
        equal = {kind for kind, value in events if _same(ecosystem, version, value)}
        intervals = [
            pair
            for package in packages
            for one in package.ranges
            for pair in zip(one.events, [*one.events[1:], (EventKind.LIMIT, "*")], strict=True)
        ]
        return Facts(
            listed=hits("listed"),
            ranged=hits("ranges"),
            open_ended=hits("open"),
            only_zero=hits("zero"),
            has_list=bool(listed),
            below_semver_listed=bool(semver)
            and all(_older(ecosystem, version, other) for other in semver),
            above_semver_listed=bool(semver)
            and all(_older(ecosystem, other, version) for other in semver),
            within_listed=bool(listed) and any(older) and any(newer),
            below_introduced=bool(firsts)
            and "0" not in firsts
            and all(_older(ecosystem, version, first) for first in firsts),
            fixed_and_introduced={EventKind.FIXED, EventKind.INTRODUCED} <= equal,
            zero_beside_fixes=hits("zero") and any(kind is EventKind.FIXED for kind, _ in events),
            from_pre_release=any(
                start[0] is EventKind.INTRODUCED
                and _is_pre_release(ecosystem, start[1])
                and not _older(ecosystem, version, start[1])
                and (end[0] is not EventKind.FIXED or _older(ecosystem, version, end[1]))
                for start, end in intervals
            ),
            as_written=any(
                _written_interval_holds(ecosystem, version, start, end) for start, end in intervals
            ),
            shape=_version_shape(purl),
        )

    def missed(self, peer: PeerRun, purl: str, advisory_id: str) -> str:
        """Why the peer does not report a pair that we do."""
        if advisory_id in peer.not_loaded:
            return f"record not loaded by the peer: {peer.not_loaded[advisory_id]}"
        if advisory_id in peer.unusable:
            return f"record unusable by the peer: {_reason_kind(peer.unusable[advisory_id])}"
        if purl in peer.unparsed:
            return f"version the peer cannot parse ({_version_shape(purl)})"
        key = _package_key(purl)
        advisory = self.by_id.get(advisory_id)
        if key is None or advisory is None:
            return "other"
        spelled = _spelling_mismatch(advisory, purl)
        if spelled and peer.peer != "safety":
            return f"package name spelled differently ({spelled})"
        facts = self.facts(advisory, key, purl)
        if peer.peer == "univers":
            if facts.ranged and not facts.listed and facts.has_list:
                return "in a range but not in the `versions` list, which replaces the ranges"
            if facts.only_zero and not facts.has_list:
                return (
                    'open-ended range `introduced: "0"` alone: VulnerableCode makes no constraint'
                )
        if peer.peer == "safety" and facts.shape == "pre-release":
            return "pre-release version: PEP 440 specifiers exclude pre-releases"
        if peer.peer.startswith("vdb"):
            if facts.below_semver_listed and facts.ranged:
                return (
                    "older than every listed version that reads as SemVer: vdb floors the "
                    "range at the oldest of those"
                )
            if facts.fixed_and_introduced:
                return "one range's `fixed` and another's `introduced`: vdb's guard keeps the fix"
            if facts.zero_beside_fixes:
                return 'an `introduced: "0"`-only range beside fixed ones: vdb drops it as a stub'
            if facts.from_pre_release:
                return "interval opened by a pre-release `introduced`: vdb drops that bound"
            if facts.open_ended and facts.above_semver_listed:
                return (
                    "open-ended range, newer than every listed version that reads as SemVer: "
                    "vdb caps the range at the newest of those"
                )
            if facts.open_ended and not facts.has_list:
                return "a trailing `introduced` with no fix after it: vdb stores no row for it"
        if facts.listed and not facts.ranged:
            return "listed in `versions` but outside every ECOSYSTEM/SEMVER range"
        if facts.open_ended:
            return "open-ended range (introduced only, no fix)"
        if facts.shape != "release":
            return f"{facts.shape} version"
        return "other"

    def extra(self, peer: PeerRun, purl: str, advisory_id: str) -> str:
        """Why the peer reports a pair that we do not."""
        advisory = self.by_id.get(advisory_id)
        key = _package_key(purl)
        if advisory is None or key is None:
            return "id that no record of this package has"
        if advisory.is_withdrawn:
            facts = self.facts(advisory, key, purl)
            if facts.listed or facts.ranged:
                return "withdrawn record (the version is otherwise affected)"
            return "withdrawn record"
        if not _packages_for(advisory, key):
            if _folded(key) in {_folded(other) for other in self._keys_of(advisory)}:
                return "package name matched without regard to case (Go paths are case-sensitive)"
            return "record names another package"
        facts = self.facts(advisory, key, purl)
        if facts.as_written and not facts.ranged:
            return (
                "events out of order: inside an (introduced, fixed) pair as written, but in "
                "OSV's sorted walk an equal-version `fixed` comes last and wins"
            )
        if facts.within_listed and not facts.listed:
            return "between the oldest and newest listed versions, but not listed nor in a range"
        if facts.below_introduced:
            return "older than every range's `introduced`: a lower bound was dropped"
        return f"{facts.shape} version, outside the record's ranges and list"

    def _keys_of(self, advisory: Advisory) -> list[tuple[str, str, str]]:
        keys = []
        for package in advisory.affected:
            try:
                ecosystem = canonical_ecosystem(package.ecosystem)
            except InputError:
                continue
            keys.append((ecosystem, normalize_name(ecosystem, package.name), ""))
        return keys


def _folded(key: tuple[str, ...]) -> tuple[str, str]:
    return key[0], key[1].casefold()


def _older(ecosystem: str, a: str, b: str) -> bool:
    """``a`` sorts before ``b`` in ``ecosystem`` (False when either cannot be placed)."""
    try:
        return compare(ecosystem, a, b) < 0
    except InputError:
        return False


def _written_interval_holds(
    ecosystem: str, version: str, start: tuple[EventKind, str], end: tuple[EventKind, str]
) -> bool:
    """``version`` is inside ``[start, end)`` read as written (``end``: the next event)."""
    if start[0] is not EventKind.INTRODUCED:
        return False
    if start[1] != "0" and _older(ecosystem, version, start[1]):
        return False
    kind, bound = end
    if kind is EventKind.FIXED:
        return _older(ecosystem, version, bound)
    if kind is EventKind.LAST_AFFECTED:
        return not _older(ecosystem, bound, version)
    return kind is EventKind.INTRODUCED or bound == "*"


def _same(ecosystem: str, a: str, b: str) -> bool:
    try:
        return compare(ecosystem, a, b) == 0
    except InputError:
        return False


def _is_pre_release(ecosystem: str, version: str) -> bool:
    if ecosystem == "PyPI":
        try:
            return Version(version).is_prerelease
        except InvalidVersion:
            return False
    return "-" in version.split("+", 1)[0]


def _only_zero(one: Range) -> bool:
    return [(kind, value) for kind, value in one.events] == [(EventKind.INTRODUCED, "0")]


def _packages_for(advisory: Advisory, key: tuple[str, str, str]) -> list[AffectedPackage]:
    found = []
    for package in advisory.affected:
        try:
            ecosystem = canonical_ecosystem(package.ecosystem)
        except InputError:
            continue
        if (ecosystem, normalize_name(ecosystem, package.name)) == key[:2]:
            found.append(package)
    return found


def _open_ended(one: Range) -> bool:
    """A range whose last event is an ``introduced``: nothing after it was ever fixed."""
    return bool(one.events) and one.events[-1][0] is EventKind.INTRODUCED


def _reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


def _version_shape(purl: str) -> str:
    package = osv_package(purl)
    version = (package.version if package else None) or ""
    if purl.startswith("pkg:pypi/"):
        try:
            parsed = Version(version)
        except InvalidVersion:
            return "not PEP 440"
        if parsed.is_prerelease:
            return "pre-release"
        if parsed.is_postrelease:
            return "post-release"
        return "release"
    core = version.removeprefix("v")
    if "+" in core:
        return "build-metadata"
    if "-" in core:
        return "pre-release"
    return "release" if _PLAIN_SEMVER.fullmatch(core) else "non-semver"


def _spelling_mismatch(advisory: Advisory, purl: str) -> str | None:
    """``record-name vs purl-name`` when equal for OSV (PEP 503) but not as purl names.

    The record's side is its ``purl`` when it has one (what VulnerableCode keys on), else
    its ``name``, both as packageurl-python normalizes a PyPI name (lower case, ``_`` -> ``-``,
    dots kept).
    """
    parsed = PackageURL.from_string(purl)
    if parsed.type != "pypi":
        return None
    for package in advisory.affected:
        if package.ecosystem != "PyPI":
            continue
        theirs = (
            PackageURL.from_string(package.purl).name
            if package.purl
            else PackageURL(type="pypi", name=package.name).name
        )
        if normalize_name("PyPI", theirs) == normalize_name("PyPI", parsed.name) and (
            theirs != parsed.name
        ):
            return f"record {theirs} vs purl {parsed.name}"
    return None


@dataclass(slots=True)
class Difference:
    peer: PeerRun
    ours_in_scope: int
    ours_s: float
    missed: dict[str, list[Hit]]
    extra: dict[str, list[Hit]]

    @property
    def missed_count(self) -> int:
        return sum(len(v) for v in self.missed.values())

    @property
    def extra_count(self) -> int:
        return sum(len(v) for v in self.extra.values())


def diff_hits(
    peer: PeerRun,
    ours: set[Hit],
    ours_s: float,
    scope: set[str],
    explainer: Explainer,
) -> Difference:
    in_scope = {hit for hit in ours if hit[0] in scope}
    missed: dict[str, list[Hit]] = defaultdict(list)
    extra: dict[str, list[Hit]] = defaultdict(list)
    for hit in sorted(in_scope - peer.hits):
        missed[explainer.missed(peer, *hit)].append(hit)
    for hit in sorted(peer.hits - in_scope):
        extra[explainer.extra(peer, *hit)].append(hit)
    return Difference(peer, len(in_scope), ours_s, dict(missed), dict(extra))


# --------------------------------------------------------------------------------------------
# Output.


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _verdict(value: float | None, at_most: float) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value <= at_most else "MISS"


def _examples(groups: dict[str, list[Hit]]) -> list[Hit]:
    """Up to EXAMPLES pairs, taken round-robin over the causes (largest first)."""
    ordered = sorted(groups.values(), key=len, reverse=True)
    picked: list[Hit] = []
    depth = 0
    while len(picked) < EXAMPLES and any(depth < len(group) for group in ordered):
        picked += [group[depth] for group in ordered if depth < len(group)]
        depth += 1
    return picked[:EXAMPLES]


def render_differences(difference: Difference, explainer: Explainer) -> list[str]:
    peer = difference.peer
    lines = [
        f"{peer.peer} ({peer.version}): {len(peer.hits):,} hits on {peer.queried:,} purls; "
        f"ours on the same purls: {difference.ours_in_scope:,}; "
        f"missed {difference.missed_count:,}, extra {difference.extra_count:,}",
    ]
    lines += [f"  note: {note}" for note in peer.notes]
    if peer.unparsed:
        lines.append(f"  note: {len(peer.unparsed):,} purls with a version it could not parse")
    for title, groups, count in (
        ("missed (ours only)", difference.missed, difference.missed_count),
        ("extra (peer only)", difference.extra, difference.extra_count),
    ):
        if not count:
            lines.append(f"  {title}: none")
            continue
        lines.append(f"  {title}, by cause:")
        for cause, hits in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
            purl, advisory_id = hits[0]
            lines.append(f"    {len(hits):>7,}  {cause}  (e.g. {purl} {advisory_id})")
        lines.append("    examples:")
        for purl, advisory_id in _examples(groups):
            lines.append(f"      {purl}  {advisory_id}{_why(explainer, advisory_id, purl)}")
    return lines


def _why(explainer: Explainer, advisory_id: str, purl: str) -> str:
    """A compact view of the record's data for this package, for reading an example."""
    advisory = explainer.by_id.get(advisory_id)
    key = _package_key(purl)
    if advisory is None or key is None:
        return ""
    parts = []
    for package in _packages_for(advisory, key):
        for one in package.ranges:
            parts.append(
                f"{one.type} " + " ".join(f"{kind.value}={value}" for kind, value in one.events)
            )
        if package.versions:
            listed = package.versions
            shown = ", ".join(listed[:3]) + (f", ... {listed[-1]}" if len(listed) > 3 else "")
            parts.append(f"{len(listed)} listed: {shown}")
    withdrawn = " WITHDRAWN" if advisory.is_withdrawn else ""
    return f"  [{'; '.join(parts)}]{withdrawn}" if parts or withdrawn else ""


# --------------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time OSV matching of an SBOM: clearinghouse vs univers, safety and vdb."
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--size", type=int, default=DEFAULT_SIZE, help="purls in the SBOM")
    size.add_argument("--quick", action="store_true", help=f"smoke size: {QUICK_SIZE} purls")
    parser.add_argument(
        "--peers-python",
        default=DEFAULT_PEERS_PYTHON,
        help="interpreter of the virtualenv holding the peers (default: %(default)s)",
    )
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help=f"comma-separated subset of {','.join(PEERS)}; empty for none",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed match runs per contender; best is kept"
    )
    parser.add_argument(
        "--peer-timeout", type=float, default=DEFAULT_PEER_TIMEOUT_S, help="seconds per peer"
    )
    parser.add_argument("--keep", action="store_true", help="keep the peers' work directory")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(PEERS))
    if unknown:
        parser.error(f"unknown peers {unknown}; choose from {', '.join(PEERS)}")
    if args.repeat < 1 or args.size < 100:
        parser.error("--repeat must be positive and --size at least 100")
    args.peers = [name for name in PEERS if name in chosen]
    if args.quick:
        args.size = QUICK_SIZE
    return args


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    corpus = corpus_dir()
    if corpus is None or not all((corpus / folder).is_dir() for _, folder, _ in DATABASES):
        where = os.environ.get("CLEARINGHOUSE_CORPUS") or REPO_ROOT.parent / "shared" / "data"
        print(
            f"error: the OSV databases are not under {where} (need "
            + " and ".join(folder for _, folder, _ in DATABASES)
            + "); set CLEARINGHOUSE_CORPUS to the shared data folder",
            file=sys.stderr,
        )
        return 2
    _log("reading and decoding the databases...")
    loaded = load_records(corpus)
    built = build_index(loaded.records)
    candidates = sbom_candidates(built.advisories)
    installed = installed_purls()
    sbom = build_sbom(candidates, installed, args.size)
    large = build_sbom(candidates, installed, args.size * LARGE_FACTOR)
    repeated = sbom.purls * LARGE_FACTOR

    _log(f"matching {len(sbom.purls):,} purls with our index...")
    ours_s, ours_count = best_match(built.index, sbom.purls, args.repeat)
    ours = hits_of(built.index, sbom.purls)
    _log(f"matching {len(large.purls):,} and {len(repeated):,} purls (10x)...")
    large_s, large_hits = best_match(built.index, large.purls, args.repeat)
    repeated_s, repeated_hits = best_match(built.index, repeated, args.repeat)
    pypi_purls = [purl for purl in sbom.purls if purl.startswith("pkg:pypi/")]
    pypi_s, _ = best_match(built.index, pypi_purls, args.repeat)

    runs: list[PeerRun] = []
    if args.peers:
        work = Path(tempfile.mkdtemp(prefix="bench-matching-"))
        try:
            prepare_peers(work, loaded.records, sbom.purls)
            for peer in args.peers:
                _log(f"peer {peer}...")
                runs.append(run_peer(peer, args.peers_python, work, args.peer_timeout, args.repeat))
        finally:
            if args.keep:
                _log(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)

    explainer = Explainer(built.advisories)
    stats = built.index.stats
    lines = [
        f"OSV databases under {corpus / 'osv'}: "
        + ", ".join(f"{name} {count:,} files" for name, count in loaded.files.items())
        + f" -> {stats.advisories:,} records ({stats.withdrawn} withdrawn), "
        f"{built.index.packages():,} packages, {stats.ranges:,} ranges "
        f"({stats.git_ranges:,} GIT ranges skipped, {stats.unparsed_ranges} unparsed)",
        f"SBOM: {len(sbom.purls):,} purls ({sbom.distinct:,} distinct): "
        + ", ".join(f"{name} {count:,}" for name, count in sbom.parts.items()),
        f"machine: Python {platform.python_version()}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs",
        "",
        "ours (clearinghouse)                       seconds",
        f"  read {sum(loaded.files.values()):,} files                         {loaded.read_s:8.3f}",
        f"  decode (YAML + JSON)                     {loaded.decode_s:8.3f}",
        f"  build: parse_advisory                    {built.parse_s:8.3f}",
        f"  build: AdvisoryIndex.build               {built.index_s:8.3f}",
        f"  build total (decoded -> index)           {built.build_s:8.3f}   target < "
        f"{TARGET_BUILD_S:.0f} s: {'PASS' if built.build_s < TARGET_BUILD_S else 'MISS'}",
        f"  match {len(sbom.purls):,} purls                      {ours_s:8.3f}   "
        f"{len(sbom.purls) / ours_s:,.0f} purls/s, {ours_count:,} hits "
        f"(purl, advisory) on {len({p for p, _ in ours}):,} purls",
        f"  match the PyPI purls only ({len(pypi_purls):,})        {pypi_s:8.3f}",
    ]
    for label, seconds, purls, hits in (
        (
            f"10x SBOM ({len(large.purls):,} purls, {large.distinct:,} distinct)",
            large_s,
            large.purls,
            large_hits,
        ),
        (f"10x: the SBOM repeated ({len(repeated):,} purls)", repeated_s, repeated, repeated_hits),
    ):
        ratio = _ratio(seconds, ours_s)
        lines.append(
            f"  match {label}: {seconds:.3f} s, {hits:,} hits; time / base "
            f"{_fmt(ratio, '.2f')} (target <= {TARGET_LARGE_RATIO:.0f}): "
            f"{_verdict(ratio, TARGET_LARGE_RATIO)}; {len(purls) / seconds:,.0f} purls/s"
        )
    lines += [
        "",
        f"peers (each in its own process, {args.peers_python}; load untimed; match timed "
        f"from the purl strings, best of {args.repeat})",
        f"{'peer':<9} {'version':<35} {'load s':>8} {'match s':>9} {'purls':>7} "
        f"{'hits':>7} {'missed':>7} {'extra':>7} {'peer/ours time':>15}",
    ]
    differences: list[Difference] = []
    for run in runs:
        if run.status != "ok":
            lines.append(f"{run.peer:<9} NOT RUN: {run.error}")
            continue
        scope = set(pypi_purls) if run.peer == "safety" else set(sbom.purls)
        scoped_s = pypi_s if run.peer == "safety" else ours_s
        if run.peer.startswith("vdb"):
            run.hits = explainer.map_ids(run.hits, ours)
        difference = diff_hits(run, ours, scoped_s, scope, explainer)
        differences.append(difference)
        ratio = _ratio(run.match_s, scoped_s)
        lines.append(
            f"{run.peer:<9} {run.version or '-':<35} {_fmt(run.load_s, '8.3f')} "
            f"{_fmt(run.match_s, '9.3f')} {run.queried:>7,} {len(run.hits):>7,} "
            f"{difference.missed_count:>7,} {difference.extra_count:>7,} "
            f"{_fmt(ratio, '14.1f')}x"
        )
    lines.append(
        "missed: our (purl, advisory) pairs the peer does not report; extra: the peer's that we "
        "do not (vdb's CVE ids mapped back to the records). safety is compared on the PyPI "
        "purls only, and timed against ours on the same purls."
    )
    for difference in differences:
        lines += ["", *render_differences(difference, explainer)]
    print("\n".join(lines))
    return 1 if any(run.status != "ok" for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
