"""OSV records -> the parts that decide who is affected (pure).

Only what matching needs is kept: the id, aliases, the modified and withdrawn times, and for
each affected package its ecosystem, name, ``versions`` list and ECOSYSTEM/SEMVER ranges (GIT
ranges name commits, which an inventory of released packages never has, so they are counted,
not kept). A record that does not have the shape the OSV schema gives these fields is refused
with the JSON pointer of the first bad field; everything else in a record is ignored here (the
intake reader in ``formats.osv`` keeps the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from clearinghouse.core.errors import SchemaError


class EventKind(StrEnum):
    INTRODUCED = "introduced"
    FIXED = "fixed"
    LAST_AFFECTED = "last_affected"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class Range:
    """One ECOSYSTEM or SEMVER range: its events in document order."""

    type: str
    events: tuple[tuple[EventKind, str], ...]


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    ecosystem: str  # as written (``Debian:11``); canonicalized by the index
    name: str
    purl: str | None
    versions: tuple[str, ...]
    ranges: tuple[Range, ...]
    git_ranges: int  # GIT ranges seen and skipped

    @property
    def fixed_versions(self) -> tuple[str, ...]:
        """Every ``fixed`` version named by this package's ranges, in order, once each."""
        seen: dict[str, None] = {}
        for one in self.ranges:
            for kind, version in one.events:
                if kind is EventKind.FIXED:
                    seen.setdefault(version, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    modified: str | None
    withdrawn: str | None
    summary: str
    affected: tuple[AffectedPackage, ...]
    severity: tuple[str, ...]  # CVSS vectors from ``severity[].score``

    @property
    def is_withdrawn(self) -> bool:
        return bool(self.withdrawn)


def _fail(pointer: str, expected: str) -> SchemaError:
    return SchemaError(pointer, expected, document="OSV record")


def _str(value: object, pointer: str) -> str:
    if not isinstance(value, str):
        raise _fail(pointer, "a string")
    return value


def _list(value: object, pointer: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(pointer, "an array")
    return value


def _dict(value: object, pointer: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _fail(pointer, "an object")
    return value


def _range(raw: object, pointer: str) -> Range:
    table = _dict(raw, pointer)
    kind = _str(table.get("type"), f"{pointer}/type")
    events: list[tuple[EventKind, str]] = []
    for i, event in enumerate(_list(table.get("events"), f"{pointer}/events")):
        at = f"{pointer}/events/{i}"
        entry = _dict(event, at)
        found = [(EventKind(k), entry[k]) for k in entry if k in EventKind.__members__.values()]
        if len(found) != 1:
            raise _fail(at, "exactly one of introduced, fixed, last_affected, limit")
        event_kind, version = found[0]
        events.append((event_kind, _str(version, f"{at}/{event_kind.value}")))
    return Range(type=kind, events=tuple(events))


def _affected(raw: object, pointer: str) -> AffectedPackage | None:
    table = _dict(raw, pointer)
    package = table.get("package")
    if package is None:  # an affected entry for a git repository only
        return None
    package = _dict(package, f"{pointer}/package")
    ranges: list[Range] = []
    git = 0
    for i, item in enumerate(_list(table.get("ranges"), f"{pointer}/ranges")):
        parsed = _range(item, f"{pointer}/ranges/{i}")
        if parsed.type == "GIT":
            git += 1
        elif parsed.type in ("ECOSYSTEM", "SEMVER"):
            ranges.append(parsed)
        else:
            raise _fail(f"{pointer}/ranges/{i}/type", "one of ECOSYSTEM, SEMVER, GIT")
    versions = tuple(
        _str(v, f"{pointer}/versions/{i}")
        for i, v in enumerate(_list(table.get("versions"), f"{pointer}/versions"))
    )
    purl = package.get("purl")
    return AffectedPackage(
        ecosystem=_str(package.get("ecosystem"), f"{pointer}/package/ecosystem"),
        name=_str(package.get("name"), f"{pointer}/package/name"),
        purl=_str(purl, f"{pointer}/package/purl") if purl is not None else None,
        versions=versions,
        ranges=tuple(ranges),
        git_ranges=git,
    )


def parse_advisory(raw: object) -> Advisory:
    """The matching-relevant view of one OSV record (a decoded JSON/YAML object)."""
    record = _dict(raw, "")
    affected = []
    for i, item in enumerate(_list(record.get("affected"), "/affected")):
        parsed = _affected(item, f"/affected/{i}")
        if parsed is not None:
            affected.append(parsed)
    vectors = []
    for i, item in enumerate(_list(record.get("severity"), "/severity")):
        entry = _dict(item, f"/severity/{i}")
        if isinstance(entry.get("score"), str) and str(entry.get("type", "")).startswith("CVSS"):
            vectors.append(entry["score"])
    withdrawn = record.get("withdrawn")
    modified = record.get("modified")
    summary = record.get("summary") or record.get("details") or ""
    return Advisory(
        id=_str(record.get("id"), "/id"),
        aliases=tuple(
            _str(a, f"/aliases/{i}") for i, a in enumerate(_list(record.get("aliases"), "/aliases"))
        ),
        modified=_str(modified, "/modified") if modified is not None else None,
        withdrawn=_str(withdrawn, "/withdrawn") if withdrawn is not None else None,
        summary=_str(summary, "/summary").split("\n", 1)[0][:300],
        affected=tuple(affected),
        severity=tuple(vectors),
    )


def records_of(document: object) -> Iterable[object]:
    """The records of a decoded OSV document: one record, a list, or ``{"vulns": [...]}``."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("vulns"), list):
        return list(document["vulns"])
    return [document]
