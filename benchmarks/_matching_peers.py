"""The peers of ``matching.py``, run by another interpreter: ``peers.py PEER WORKDIR [REPEAT]``.

``matching.py`` copies this file into a temporary WORKDIR next to ``records.json`` (the decoded
OSV records, exactly what our matcher indexed) and ``purls.json`` (the SBOM), and runs it once
per peer with the peers' virtualenv (``--peers-python``). Each run loads the peer's database
once, times its match step REPEAT times (best kept) and writes ``WORKDIR/PEER.json``: its
version, the seconds spent loading (not part of the comparison) and matching, its
``[purl, id]`` hits and the reasons it gave for records or versions it could not use. The
peers never share a process: vdb reads its database location from the environment when it is
imported and safety's ``fetch_database`` is patched (see :func:`load_safety`), so each peer gets
a fresh interpreter.

It is a separate file, not a string inside ``matching.py``, so that ruff and mypy check it; it
imports nothing from this repository and the peer libraries only through ``importlib`` (they are
not installed in the project's virtualenv).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

JsonObject = dict[str, Any]
Hit = tuple[str, str]
Matcher = Callable[[list[str]], list[Hit]]  # the timed step: purls -> (purl, id) hits

# OSV ecosystem (lower case) -> purl type, as VulnerableCode's osv_v2.PURL_TYPE_BY_OSV_ECOSYSTEM.
PURL_TYPE_BY_OSV_ECOSYSTEM = {"pypi": "pypi", "go": "golang"}
GHSA_PREFIX = "GHSA-"


class PeerError(Exception):
    """The peer cannot run here; the message is printed as its one-line reason."""


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise PeerError(f"cannot import {name} ({exc})") from None


def _version(distribution: str) -> str:
    try:
        return f"{distribution} {importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        raise PeerError(f"{distribution} is not installed in {sys.executable}") from None


def _purl_key(purl_class: Any, parsed: Any) -> str:
    """A purl without version, qualifiers and subpath, as packageurl-python normalizes it."""
    key: str = purl_class(
        type=parsed.type, namespace=parsed.namespace, name=parsed.name
    ).to_string()
    return key


# --------------------------------------------------------------------------------------------
# univers, as VulnerableCode's OSV pipeline uses it.


def _univers_ranges(records: list[JsonObject], result: JsonObject) -> dict[str, list[Any]]:
    """Per version-less purl, ``(advisory id, VersionRange)`` pairs, built as VulnerableCode does.

    This follows ``vulnerabilities/pipes/osv_v2.py`` (``parse_advisory_data_v3``) of
    aboutcode-org/vulnerablecode at adc81cba42f3: the package purl is the record's ``purl`` or
    is made from ecosystem and name; each ECOSYSTEM/SEMVER event becomes a constraint
    (``introduced`` >=, except ``"0"`` which is dropped; ``fixed`` <; ``last_affected`` <=;
    anything else, such as ``limit``, is ignored), the constraints of all of a package's ranges
    are simplified and validated into one range; the ``versions`` list, when present, becomes an
    ``=`` range that takes precedence over it. Withdrawn records are not skipped (that pipeline
    does not look at ``withdrawn``). VulnerableCode stores the range as a ``vers`` string and
    its ``unfurl_version_range`` improver reads it back with ``VersionRange.from_string`` before
    testing ``version in range``, so the same round trip is done here (it also turns SEMVER
    constraints into the package's own version class, which ``in`` requires).
    """
    packageurl = _module("packageurl")
    version_range = _module("univers.version_range")
    version_constraint = _module("univers.version_constraint")
    versions = _module("univers.versions")
    constraint_class = version_constraint.VersionConstraint
    unusable: dict[str, str] = result["unusable"]
    skipped = {"event": 0, "listed": 0}
    index: dict[str, list[Any]] = {}
    for record in records:
        raw_id = str(record.get("id"))
        for affected in record.get("affected") or []:
            package = affected.get("package") or {}
            purl = None
            if package.get("purl"):
                try:
                    fields = packageurl.PackageURL.from_string(package["purl"]).to_dict()
                except ValueError:
                    fields = None
                if fields is not None:
                    fields["version"] = None
                    purl = packageurl.PackageURL(**fields)
            else:
                purl_type = PURL_TYPE_BY_OSV_ECOSYSTEM.get(str(package.get("ecosystem")).lower())
                if purl_type and package.get("name"):
                    purl = packageurl.PackageURL(type=purl_type, name=package["name"])
            if purl is None:
                continue
            purl = packageurl.PackageURL.from_string(str(purl))
            range_class = version_range.RANGE_CLASS_BY_SCHEMES.get(purl.type)
            if range_class is None:
                continue
            constraints = []
            for one in affected.get("ranges") or []:
                kind = one.get("type")
                if kind not in ("ECOSYSTEM", "SEMVER"):
                    continue
                version_class = (
                    range_class.version_class if kind == "ECOSYSTEM" else versions.SemverVersion
                )
                for event in one.get("events") or []:
                    for event_type, value in event.items():
                        try:
                            parsed = version_class(value)
                        except versions.InvalidVersion:
                            skipped["event"] += 1  # VulnerableCode logs it and goes on
                            continue
                        if event_type == "introduced" and value != "0":
                            constraints.append(constraint_class(comparator=">=", version=parsed))
                        elif event_type == "fixed":
                            constraints.append(constraint_class(comparator="<", version=parsed))
                        elif event_type == "last_affected":
                            constraints.append(constraint_class(comparator="<=", version=parsed))
            from_events = None
            rejected = None
            if constraints:
                try:
                    simplified = constraint_class.simplify(constraints)
                    version_constraint.validate_comparators(simplified)
                    from_events = range_class(constraints=simplified)
                except Exception as exc:
                    rejected = f"ranges rejected by univers: {str(exc)[:160]}"
            explicit = []
            for value in affected.get("versions") or []:
                try:
                    explicit.append(
                        constraint_class(comparator="=", version=range_class.version_class(value))
                    )
                except Exception:
                    skipped["listed"] += 1  # VulnerableCode logs it and goes on
            final = range_class(constraints=explicit) if explicit else from_events
            if final is None:
                if rejected:
                    unusable[raw_id] = rejected
                continue
            try:
                stored = version_range.VersionRange.from_string(str(final))
            except Exception as exc:
                unusable[raw_id] = f"vers string does not read back: {str(exc)[:160]}"
                continue
            index.setdefault(_purl_key(packageurl.PackageURL, purl), []).append((raw_id, stored))
    result["notes"].append(
        f"{skipped['event']} event versions and {skipped['listed']} listed versions univers "
        "cannot parse were left out, as VulnerableCode does"
    )
    return index


def load_univers(records: list[JsonObject], work: Path, result: JsonObject) -> Matcher:
    """univers ranges from the OSV events (VulnerableCode's conversion), then ``version in``."""
    del work
    result["version"] = _version("univers")
    packageurl = _module("packageurl")
    index = _univers_ranges(records, result)
    result["notes"].append(
        f"{sum(len(v) for v in index.values())} (package, advisory) ranges over {len(index)} "
        "packages; a record's `versions` list replaces its ranges when present"
    )
    unparsed: dict[str, str] = result["unparsed"]

    def match(purls: list[str]) -> list[Hit]:
        errors = 0
        hits: list[Hit] = []
        for purl in purls:
            parsed = packageurl.PackageURL.from_string(purl)
            entries = index.get(_purl_key(packageurl.PackageURL, parsed))
            if not entries or parsed.version is None:
                continue
            objects: dict[Any, Any] = {}
            for raw_id, affected_range in entries:
                version_class = affected_range.version_class
                if version_class not in objects:
                    try:
                        objects[version_class] = version_class(parsed.version)
                    except Exception as exc:
                        objects[version_class] = None
                        unparsed.setdefault(purl, f"{version_class.__name__}: {str(exc)[:120]}")
                version = objects[version_class]
                if version is None:
                    continue
                try:
                    if version in affected_range:
                        hits.append((purl, raw_id))
                except Exception:  # VulnerableCode logs the error and moves on
                    errors += 1
        result["queried"] = len(purls)
        result["errors"] = errors
        return hits

    return match


# --------------------------------------------------------------------------------------------
# safety, with a local database in its own format.


def _safety_specs(affected: JsonObject, specifier_set: Any, invalid: Any) -> list[str]:
    """Specifier strings (ORed, each one ANDed) for one affected PyPI package of a record.

    Each ECOSYSTEM range becomes one ``>=introduced,<fixed`` (``<=last_affected``) string per
    interval, in event order, with no lower bound for ``introduced: "0"`` and ``>=introduced``
    (``>=0``) for an interval that is never closed; ``limit`` is ignored. Listed ``versions``
    that none of those strings contain (packaging's rules, pre-releases allowed) are added as
    ``==version``, so a version affected only through a GIT range is not lost. A string that
    packaging refuses (a non-PEP 440 version) is dropped.
    """
    specs: list[str] = []
    for one in affected.get("ranges") or []:
        if one.get("type") != "ECOSYSTEM":
            continue
        lower: str | None = None
        is_open = False
        for event in one.get("events") or []:
            for kind, value in event.items():
                if kind == "introduced":
                    lower = None if value == "0" else f">={value}"
                    is_open = True
                elif kind in ("fixed", "last_affected") and is_open:
                    upper = f"<{value}" if kind == "fixed" else f"<={value}"
                    specs.append(f"{lower},{upper}" if lower else upper)
                    lower, is_open = None, False
        if is_open:
            specs.append(lower or ">=0")
    valid: list[str] = []
    for spec in specs:
        try:
            specifier_set(spec)
        except invalid:
            continue
        if spec not in valid:
            valid.append(spec)
    sets = [specifier_set(spec) for spec in valid]
    for value in affected.get("versions") or []:
        try:
            if any(s.contains(value, prereleases=True) for s in sets):
                continue
            specifier_set(f"=={value}")
        except Exception:
            continue
        valid.append(f"=={value}")
    return valid


def _write_safety_database(records: list[JsonObject], directory: Path, result: JsonObject) -> None:
    """``insecure.json`` and ``insecure_full.json`` (schema 2.0.0) from the PyPA records."""
    specifiers = _module("packaging.specifiers")
    utils = _module("packaging.utils")
    constants = _module("safety.constants")
    short: dict[str, list[str]] = {}
    full: dict[str, list[JsonObject]] = {}
    dropped = 0
    for record in records:
        if record.get("withdrawn"):
            continue
        raw_id = str(record.get("id"))
        for affected in record.get("affected") or []:
            package = affected.get("package") or {}
            if package.get("ecosystem") != "PyPI" or not package.get("name"):
                continue
            name = utils.canonicalize_name(package["name"])
            specs = _safety_specs(affected, specifiers.SpecifierSet, specifiers.InvalidSpecifier)
            if not specs:
                dropped += 1
                result["unusable"].setdefault(raw_id, "no specifier packaging accepts")
                continue
            known = short.setdefault(name, [])
            known.extend(spec for spec in specs if spec not in known)
            full.setdefault(name, []).append(
                {
                    "specs": specs,
                    "ids": [{"type": "pyup", "id": raw_id}],
                    "advisory": str(record.get("summary") or record.get("details") or "")[:200],
                    "transitive": False,
                }
            )
    meta = {
        "schema_version": constants.JSON_SCHEMA_VERSION,
        "base_domain": "https://example.invalid",
        "timestamp": 0,
    }
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, body in (("insecure.json", short), ("insecure_full.json", full)):
        (directory / file_name).write_text(
            json.dumps({"meta": meta, "vulnerable_packages": body}), encoding="utf-8"
        )
    result["notes"].append(
        f"local database: {len(short)} packages, {sum(len(v) for v in full.values())} entries; "
        f"{dropped} affected packages had no specifier packaging accepts"
    )


def load_safety(records: list[JsonObject], work: Path, result: JsonObject) -> Matcher:
    """``safety.safety.check`` on the PyPI purls, against a local ``--db`` directory.

    The database is written and read once before the timing: ``check`` calls
    ``fetch_database`` (which would re-read the JSON files from disk) on every call, so it is
    wrapped to return the already-read dictionaries. The ``auth`` argument is a stand-in with
    no credentials, which is what makes ``fetch_database`` read the local mirror. The timed step
    turns each purl into safety's ``Package`` with a pinned ``SafetyRequirement`` (``name==v``)
    and runs ``check`` over them in chunks; a version that pip's requirement syntax refuses
    cannot be given to safety at all and is reported as unparsed.
    """
    result["version"] = _version("safety")
    packageurl = _module("packageurl")
    safety_module = _module("safety.safety")
    models = _module("safety.models")
    utils = _module("packaging.utils")
    directory = work / "safety-db"
    _write_safety_database(records, directory, result)
    auth = SimpleNamespace(
        platform=SimpleNamespace(
            api_key=None,
            get_authentication_type=lambda: None,
            is_using_auth_credentials=lambda: False,
        )
    )
    original = safety_module.fetch_database
    loaded = {
        False: original(auth=auth, db=str(directory), cached=0, telemetry=False),
        True: original(auth=auth, full=True, db=str(directory), cached=0, telemetry=False),
    }

    def preloaded(*_args: Any, full: bool = False, **_kwargs: Any) -> Any:
        return loaded[full]

    safety_module.fetch_database = preloaded
    unparsed: dict[str, str] = result["unparsed"]

    def match(purls: list[str]) -> list[Hit]:
        pypi = [purl for purl in purls if purl.startswith("pkg:pypi/")]
        hits: list[Hit] = []
        by_requirement: dict[tuple[str, str], list[str]] = {}
        packages = []
        for purl in pypi:
            parsed = packageurl.PackageURL.from_string(purl)
            if parsed.version is None:
                continue
            try:
                requirement = models.SafetyRequirement(f"{parsed.name}=={parsed.version}")
            except Exception as exc:
                unparsed[purl] = f"not a pinned requirement safety accepts: {str(exc)[:120]}"
                continue
            key = (utils.canonicalize_name(parsed.name), parsed.version)
            by_requirement.setdefault(key, []).append(purl)
            packages.append(
                models.Package(name=parsed.name, version=parsed.version, requirements=[requirement])
            )
        chunk = 500  # check() chains every package's requirements; keep the chain shallow
        for first in range(0, len(packages), chunk):
            vulnerabilities, _ = safety_module.check(
                auth=auth,
                packages=packages[first : first + chunk],
                db_mirror=str(directory),
                cached=0,
                ignore_vulns={},
                ignore_severity_rules={},
                telemetry=False,
            )
            for vulnerability in vulnerabilities:
                key = (
                    utils.canonicalize_name(vulnerability.package_name),
                    vulnerability.analyzed_version,
                )
                hits.extend(
                    (purl, vulnerability.vulnerability_id) for purl in by_requirement.get(key, ())
                )
        result["queried"] = len(pypi)
        return hits

    return match


# --------------------------------------------------------------------------------------------
# AppThreat vulnerability-db.


def load_vdb(
    records: list[JsonObject], work: Path, result: JsonObject, *, hide_ghsa_aliases: bool
) -> Matcher:
    """Load the records with vdb's own OSV converter, then its bulk purl search.

    Loading mirrors ``OSVSource.fetch`` for the "python" and "go" feeds, minus the download:
    the feed's year floor (none for application ecosystems), ``convert`` per record (which
    skips withdrawn records, and PYSEC/GO records that have a GHSA alias, because vdb expects
    the GHSA feed to carry those), ``store`` in batches of ``VDB_OSV_STORE_BATCH_SIZE``. With
    ``hide_ghsa_aliases`` the GHSA aliases are removed from each record first, so that the
    records vdb would otherwise leave to the GHSA feed are loaded too. Search is
    ``search.search_packages([{"purl": ...}, ...])`` over all purls at once. vdb files its rows
    under a CVE alias when the record has one, so hits carry that id; ``matching.py`` maps it
    back to the record.
    """
    result["version"] = _version("appthreat-vulnerability-db")
    home = work / ("vdb-all" if hide_ghsa_aliases else "vdb")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["VDB_HOME"] = str(home)
    os.environ["VDB_SHARDS_DIR"] = str(home / "shards")
    os.environ["VDB_QUIET"] = "true"
    config = _module("vdb.lib.config")
    osv = _module("vdb.lib.osv")
    search = _module("vdb.lib.search")
    source = osv.OSVSource()
    not_loaded: dict[str, str] = result["not_loaded"]
    stored = 0
    batch: list[Any] = []
    batch_size = osv._osv_store_batch_size()
    for feed in ("python", "go"):
        start_year = config.osv_feed_start_year(feed)
        source._start_year = start_year
        prefix = "PYSEC-" if feed == "python" else "GO-"
        for record in records:
            raw_id = str(record.get("id"))
            if not raw_id.startswith(prefix):
                continue
            if hide_ghsa_aliases:
                record = dict(record)
                record["aliases"] = [
                    a for a in record.get("aliases") or [] if not str(a).startswith(GHSA_PREFIX)
                ]
            if osv.is_before_start_year(record, start_year):
                not_loaded[raw_id] = "before the feed's start year"
                continue
            try:
                rows = source.convert(record)
            except Exception as exc:
                not_loaded[raw_id] = f"convert raised {type(exc).__name__}"
                continue
            if not rows:
                not_loaded[raw_id] = _why_vdb_skips(record)
                continue
            stored += 1
            batch.extend(rows)
            if len(batch) >= batch_size:
                source.store(batch)
                batch.clear()
        if batch:
            source.store(batch)
            batch.clear()
    result["notes"].append(f"{stored} records loaded, {len(not_loaded)} skipped by vdb's converter")

    def match(purls: list[str]) -> list[Hit]:
        hits: list[Hit] = []
        for component in search.search_packages([{"purl": purl} for purl in purls]):
            purl = component["locator"]["purl"]
            seen = {row["cve_id"] for row in component.get("results") or () if row.get("cve_id")}
            hits.extend((purl, cve_id) for cve_id in sorted(seen))
        result["queried"] = len(purls)
        return hits

    return match


def _why_vdb_skips(record: JsonObject) -> str:
    """The reason ``OSVSource.to_vuln`` returned no rows, for the records of these two feeds."""
    if record.get("withdrawn"):
        return "withdrawn"
    raw_id = str(record.get("id"))
    if raw_id.startswith(("PYSEC", "GO-")) and any(
        str(alias).startswith(GHSA_PREFIX) for alias in record.get("aliases") or []
    ):
        return "has a GHSA alias (vdb leaves it to the GHSA feed)"
    text = f"{record.get('summary', '')}{record.get('details', '')}"
    if "** DISPUTED **" in text or "** REJECT **" in text:
        return "marked DISPUTED or REJECT"
    return "no affected package rows"


# --------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    """``PEER WORKDIR [REPEAT]``: load once, time the match step REPEAT times, keep the best."""
    name, work = argv[0], Path(argv[1])
    repeat = int(argv[2]) if len(argv) > 2 else 1
    result: JsonObject = {
        "peer": name,
        "status": "ok",
        "version": None,
        "load_s": None,
        "match_s": None,
        "match_runs_s": [],
        "queried": 0,
        "hits": [],
        "not_loaded": {},
        "unusable": {},
        "unparsed": {},
        "notes": [],
    }
    loaders: dict[str, Callable[[list[JsonObject], Path, JsonObject], Matcher]] = {
        "univers": load_univers,
        "safety": load_safety,
        "vdb": lambda r, w, o: load_vdb(r, w, o, hide_ghsa_aliases=False),
        "vdb-all": lambda r, w, o: load_vdb(r, w, o, hide_ghsa_aliases=True),
    }
    try:
        records = json.loads((work / "records.json").read_text(encoding="utf-8"))
        purls = json.loads((work / "purls.json").read_text(encoding="utf-8"))
        started = time.perf_counter()
        match = loaders[name](records, work, result)
        result["load_s"] = time.perf_counter() - started
        hits: list[Hit] = []
        for _ in range(repeat):
            started = time.perf_counter()
            hits = match(purls)
            result["match_runs_s"].append(time.perf_counter() - started)
        result["match_s"] = min(result["match_runs_s"])
        result["hits"] = sorted(set(hits))
        if result.get("errors"):
            result["notes"].append(
                f"{result['errors']} `version in range` checks raised (counted as no match)"
            )
    except PeerError as exc:
        result.update(status="error", error=str(exc))
    except Exception as exc:
        result.update(
            status="error",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=6),
        )
    (work / f"{name}.json").write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
