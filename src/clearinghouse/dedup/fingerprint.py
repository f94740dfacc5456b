"""Identity keys of a finding: what makes two findings the same vulnerability, as hashes.

A finding yields two kinds of key (see :class:`IdentityKeys`):

* **exact keys** always merge: the producer's own fingerprint (scoped to that producer and
  target, since a fingerprint is only stable inside the tool that made it), every vulnerability
  alias (CVE, GHSA, OSV, PYSEC … ids), and, for a finding that has none of those and no file,
  the rule that fired on the target;
* **location keys** merge only when the findings' CWEs are compatible (``dedup.cwe``): the
  canonical file and line, and the file, function and a line-shift-robust digest of the code
  snippet (in the spirit of GitHub's ``primaryLocationLineHash``).

Every key is ``"<kind>:" + sha256(JSON array of its fields)[:32]``: the JSON array encodes each
field with its own boundaries, so ``("ab", "c")`` and ``("a", "bc")`` never collide as bare
concatenation would. Free text (title, description, message) never enters a key: wording varies
between tools and runs, and a key that changes with wording splits what is one flaw.

This module only computes values. It does not look keys up, store them, or decide merges
(``dedup.clustering`` plans those, ``dedup.service`` applies them).
"""

from __future__ import annotations

import functools
import hashlib
import re
import urllib.parse
from dataclasses import dataclass

import orjson

from clearinghouse.dedup.cwe import normalise as normalise_cwes
from clearinghouse.formats.records import FindingRecord

KIND_FINGERPRINT = "fp"
KIND_PARTIAL = "pfp"
KIND_NEAR = "near"
KIND_RULE_LINE = "rule-line"
KIND_RULE_SNIPPET = "rule-snippet"
KIND_ALIAS = "alias"
KIND_RULE = "rule"
KIND_LINE = "loc-line"
KIND_SNIPPET = "loc-snippet"

_HASH_CHARS = 32  # 128 bits: collision-free for any realistic number of findings

# Hosts whose owner/repository names are case-insensitive, so "Org/Repo" and "org/repo" are one.
_CASE_INSENSITIVE_HOSTS = frozenset({"github.com", "gitlab.com", "bitbucket.org"})
# purl types whose spec says namespace and name are case-insensitive (lower-cased).
_CASE_INSENSITIVE_PURL_TYPES = frozenset(
    {"bitbucket", "github", "gitlab", "pypi", "composer", "hex", "deb", "apk", "alpm"}
)
_sha256 = hashlib.sha256
_dumps = orjson.dumps
_SCP_LIKE = re.compile(r"^[\w.~-]+@([\w.-]+):(?!//)(.*)$")


@dataclass(frozen=True, slots=True)
class IdentityKeys:
    """The keys of one finding, in the shape ``dedup.clustering.NewFinding`` takes.

    ``exact`` keys merge unconditionally; ``locations`` keys merge only when ``cwes`` are
    compatible with the other side's. Both are sorted and free of duplicates, so equal findings
    give equal values.
    """

    exact: tuple[str, ...]
    locations: tuple[str, ...]
    cwes: tuple[int, ...]


def key(kind: str, *parts: str | int) -> str:
    """``kind:`` + the first 32 hex digits of sha256 over the JSON array ``[kind, *parts]``."""
    return f"{kind}:{_sha256(_dumps([kind, *parts])).hexdigest()[:_HASH_CHARS]}"


def identity_keys(record: FindingRecord, *, target: str | None) -> IdentityKeys:
    """Every identity key of ``record`` found on ``target`` (a repository URL, purl or name).

    ``target`` is passed separately because the submission often knows it better than the
    record (a SARIF log rarely names its repository); ``None`` means unknown.

    Written for throughput (imports hash hundreds of thousands of results): the hashing is
    inlined and sets and sorts are skipped when there is nothing to de-duplicate.
    """
    target_key = canonical_target(target) if target else ""
    exact: list[str] = []
    location = record.location
    path = canonical_path(location.path) if location is not None and location.path else ""
    if record.fingerprints:
        # Scoped to rule and file, like partial fingerprints: real tools put a hash of the
        # line's text in ``fingerprints`` (flawfinder's contextHash), equal across files. A
        # renamed file therefore starts a new vulnerability rather than merging strangers.
        producer = canonical_producer(record.producer)
        rule = record.rule_id or ""
        for name, value in record.fingerprints:
            digest = _sha256(
                _dumps([KIND_FINGERPRINT, producer, target_key, rule, path, name, value])
            )
            exact.append(f"{KIND_FINGERPRINT}:{digest.hexdigest()[:_HASH_CHARS]}")
    if record.partial_fingerprints:
        # GitHub matches alerts on rule + path + partial fingerprint; alone a partial
        # fingerprint would merge every result whose line reads the same.
        producer = canonical_producer(record.producer)
        rule = record.rule_id or ""
        for name, value in record.partial_fingerprints:
            digest = _sha256(_dumps([KIND_PARTIAL, producer, target_key, rule, path, name, value]))
            exact.append(f"{KIND_PARTIAL}:{digest.hexdigest()[:_HASH_CHARS]}")
    for alias in record.aliases:
        canonical = canonical_alias(alias)
        if canonical:
            digest = _sha256(_dumps([KIND_ALIAS, canonical]))
            exact.append(f"{KIND_ALIAS}:{digest.hexdigest()[:_HASH_CHARS]}")

    locations: list[str] = []
    if location is not None and path:
        producer = canonical_producer(record.producer)
        # A tool's own full fingerprint is trusted over where it fired: two results it tells
        # apart on one line stay apart.
        rule = "" if record.fingerprints else (record.rule_id or "")
        line = location.start_line
        snippet = normalise_snippet(location.snippet) if location.snippet else ""
        function = location.function.strip() if location.function else ""
        if line is not None and line > 0:
            digest = _sha256(_dumps([KIND_LINE, target_key, path, line]))
            locations.append(f"{KIND_LINE}:{digest.hexdigest()[:_HASH_CHARS]}")
            if rule:
                # The same rule of the same tool at the same place is the same issue, whatever
                # the CWE (repeated CI scans, or a tool that names no CWE).
                digest = _sha256(_dumps([KIND_RULE_LINE, producer, target_key, rule, path, line]))
                exact.append(f"{KIND_RULE_LINE}:{digest.hexdigest()[:_HASH_CHARS]}")
        if snippet:
            digest = _sha256(_dumps([KIND_SNIPPET, target_key, path, function, snippet]))
            locations.append(f"{KIND_SNIPPET}:{digest.hexdigest()[:_HASH_CHARS]}")
            if rule:
                digest = _sha256(
                    _dumps([KIND_RULE_SNIPPET, producer, target_key, rule, path, function, snippet])
                )
                exact.append(f"{KIND_RULE_SNIPPET}:{digest.hexdigest()[:_HASH_CHARS]}")

    if not record.fingerprints and not record.aliases and not path and record.rule_id:
        # Without any other identity, "this rule fired on this target" is the issue: a
        # configuration or dependency finding reported on every run must not pile up.
        producer = canonical_producer(record.producer)
        exact.append(key(KIND_RULE, producer, target_key, record.rule_id))

    cwes = record.cwes
    if len(cwes) != 1 or cwes[0] <= 0:
        cwes = normalise_cwes(cwes)
    return IdentityKeys(
        tuple(sorted(set(exact))) if len(exact) > 1 else tuple(exact),
        tuple(sorted(locations)),
        cwes,
    )


def near_key(*, target: str | None, path: str | None) -> str | None:
    """The key of "a finding in this file of this target", for duplicate suggestions only.

    It is stored in the dedup index beside identity keys but never handed to the planner, so it
    can only ever suggest, never merge.
    """
    if not path:
        return None
    return key(KIND_NEAR, canonical_target(target) if target else "", canonical_path(path))


def canonical_alias(text: str) -> str:
    """One spelling per vulnerability id: ``CVE-…`` upper, ``GHSA-xxxx-…`` lower, others' prefix
    upper.

    CVE ids are case-insensitive and conventionally upper; GHSA ids are conventionally written
    with an upper prefix and lower-case segments (as OSV and GitHub publish them); for other
    schemes (PYSEC, GO, RUSTSEC, OSV …) only the prefix is known to be case-insensitive, so the
    rest is left alone.
    """
    text = text.strip()
    prefix, dash, rest = text.partition("-")
    if not dash:
        return text
    upper_prefix = prefix.upper()
    if upper_prefix == "CVE":
        return text.upper()
    if upper_prefix == "GHSA":
        return f"GHSA-{rest.lower()}"
    return f"{upper_prefix}-{rest}"


@functools.lru_cache(maxsize=4096)
def canonical_producer(producer: str) -> str:
    """Case-folded, whitespace-collapsed: "CodeQL " and "codeql" are one producer."""
    return " ".join(producer.split()).casefold()


@functools.lru_cache(maxsize=65536)
def canonical_path(path: str) -> str:
    """Forward slashes, no ``./`` segments, no leading or doubled ``/``; case kept.

    Case is kept because most repositories live on case-sensitive file systems, where
    ``Foo.c`` and ``foo.c`` are different files. ``..`` is kept as well: resolving it lexically
    would guess at symbolic links. Leading slashes are dropped because producers that report
    "repository-root" paths write them as ``/src/x.c`` as often as ``src/x.c``.
    """
    text = path.strip().replace("\\", "/")
    if text.startswith("file://"):
        text = text[len("file://") :]
    return "/".join(segment for segment in text.split("/") if segment not in ("", "."))


@functools.lru_cache(maxsize=4096)
def canonical_target(target: str) -> str:
    """One spelling per target, so findings on the same project share location keys.

    Repository URLs: the scheme, a ``git+`` prefix, user info, query, fragment, a trailing
    ``/`` and a ``.git`` suffix are dropped and the host lower-cased, so the HTTPS, SSH
    (``git@host:owner/repo.git``) and ``git+https`` forms of one repository are one target; on
    hosts whose names are case-insensitive (GitHub, GitLab, Bitbucket) the path is lower-cased
    too. Package URLs: see :func:`canonical_purl`. Anything else is only stripped.
    """
    text = target.strip()
    if not text:
        return ""
    if text[:4].lower() == "pkg:":
        return canonical_purl(text)
    text = text.removeprefix("git+")
    scp = _SCP_LIKE.match(text)
    if scp is not None:
        host, path = scp.group(1).lower(), scp.group(2)
    elif "://" in text:
        parts = urllib.parse.urlsplit(text)
        host, path = (parts.hostname or "").lower(), parts.path
        if parts.port is not None and parts.port not in (22, 80, 443, 9418):
            host = f"{host}:{parts.port}"
    else:
        host, _, path = text.partition("/")
        if "." not in host:  # a bare name, not "host/path": keep it as given
            return text.rstrip("/")
        host = host.lower()
    path = path.strip("/").removesuffix(".git").strip("/")
    if host in _CASE_INSENSITIVE_HOSTS:
        path = path.lower()
    return f"{host}/{path}" if path else host


def canonical_purl(purl: str) -> str:
    """``pkg:type/namespace/name[#subpath]``: version and qualifiers dropped on purpose.

    A finding in ``django@4.2.1`` and the same finding in ``django@4.2.2`` is one vulnerability
    that affects both versions; which versions are affected is recorded on the vulnerability,
    not in its identity. Qualifiers (``arch``, ``distro``, ``repository_url``) describe a build
    of the package, not the code. The subpath is kept: it names a different part of the code.
    The type is lower-cased everywhere, namespace and name where the purl spec says the type is
    case-insensitive (and PyPI's ``_`` becomes ``-`` as the spec requires).
    """
    rest = purl.strip()[4:].lstrip("/")
    rest, _, subpath = rest.partition("#")
    rest = rest.partition("?")[0]
    head, slash, last = rest.rpartition("/")
    name = last.partition("@")[0]
    purl_type, _, namespace = (head if slash else rest).partition("/")
    if not slash:  # "pkg:type" with no name at all: keep what there is
        name, namespace = "", ""
    purl_type = purl_type.lower()
    if purl_type in _CASE_INSENSITIVE_PURL_TYPES:
        namespace, name = namespace.lower(), name.lower()
    if purl_type == "pypi":
        name = name.replace("_", "-")
    path = "/".join(part for part in (purl_type, namespace, name) if part)
    subpath = subpath.strip("/")
    return f"pkg:{path}#{subpath}" if subpath else f"pkg:{path}"


def normalise_snippet(snippet: str) -> str:
    """The snippet's words separated by single spaces: lines stripped, whitespace collapsed,
    blank lines dropped, lines joined by one space.

    The result survives re-indentation, re-wrapped or added blank lines and the region moving
    up or down the file, which is what lets a line-less key recognise the same code after an
    edit above it. Joining lines with a space rather than a newline also survives a formatter
    re-flowing one statement over several lines.
    """
    return " ".join(snippet.split())
