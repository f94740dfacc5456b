"""CSAF 2.0 mandatory tests about ``/document/tracking``: versions and the revision history.

6.1.14 sorted revision history, 6.1.16 latest document version, 6.1.17 document status draft,
6.1.18 released revision history, 6.1.19 revision history entries for pre-release versions,
6.1.20 non-draft document version, 6.1.21 missing item in revision history, 6.1.22 multiple
definition in revision history, 6.1.30 mixed integer and semantic versioning.

Versions (``version_t``) are integer ("3") or semantic ("1.4.0-rc.1+build") versions, compared
by semantic-versioning precedence with an integer N ranking as N.0.0. Revision dates are RFC 3339
timestamps compared as instants to any number of fractional digits (the OASIS suite tells
".00010Z" from ".000Z"); where the spec sorts "by date", equal instants are ordered by version.
A revision whose date or number does not parse is left out of the ordering tests (the schema
reports it). Nothing here raises on a schema-invalid document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from clearinghouse.formats.csaf_validation.model import CsafProblem
from clearinghouse.formats.csaf_validation.tree import as_str, child, items, tracking

_TRACKING = "/document/tracking"
_HISTORY = f"{_TRACKING}/revision_history"
_INTEGER = re.compile(r"^(0|[1-9][0-9]*)$")
_IDENTIFIER = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = re.compile(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    rf"(?:-({_IDENTIFIER}(?:\.{_IDENTIFIER})*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_TIMESTAMP = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_RELEASED = ("final", "interim")


@dataclass(frozen=True, slots=True)
class Version:
    """A parsed ``version_t``: integer versioning is ``integer=True`` with only ``major`` set."""

    integer: bool
    major: int
    minor: int = 0
    patch: int = 0
    prerelease: tuple[str, ...] = ()

    @property
    def precedence(self) -> tuple[Any, ...]:
        """Semantic-versioning precedence (build metadata plays no part, it is not kept)."""
        # A release ranks above its pre-releases; numeric identifiers rank below alphanumeric
        # ones and compare as numbers; a longer list of equal leading identifiers ranks higher.
        if not self.prerelease:
            return (self.major, self.minor, self.patch, (1,))
        # Numeric identifiers have no leading zeros, so (length, digits) orders them as numbers
        # without converting arbitrarily long ones.
        identifiers = tuple(
            (0, len(part), part) if part.isdigit() else (1, 0, part) for part in self.prerelease
        )
        return (self.major, self.minor, self.patch, (0, identifiers))

    def without_prerelease(self) -> Version:
        return Version(self.integer, self.major, self.minor, self.patch)


def parse_version(text: Any) -> Version | None:
    """The ``version_t`` in ``text``, or None when it is neither integer nor semantic."""
    if not isinstance(text, str):
        return None
    try:
        if _INTEGER.match(text):
            return Version(integer=True, major=int(text))
        match = _SEMVER.match(text)
        if match is None:
            return None
        major, minor, patch, prerelease, _build = match.groups()
        return Version(
            integer=False,
            major=int(major),
            minor=int(minor),
            patch=int(patch),
            prerelease=tuple(prerelease.split(".")) if prerelease else (),
        )
    except ValueError:
        return None  # a number beyond Python's int-from-string limit (thousands of digits)


def parse_instant(text: Any) -> tuple[datetime, Decimal] | None:
    """An RFC 3339 timestamp as (UTC instant to the second, fraction of a second), or None."""
    match = _TIMESTAMP.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if int(second) > 60:
        return None
    try:
        # A leap second (":60") counts as ":59" plus one, so that it still sorts after ":59".
        instant = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            min(int(second), 59),
            tzinfo=UTC,
        )
        if zone not in ("Z", "z"):
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            instant = instant - offset if zone[0] == "+" else instant + offset
    except (ValueError, OverflowError):
        return None
    leap = Decimal(1) if int(second) == 60 else Decimal(0)
    return instant, leap + (Decimal(f"0{fraction}") if fraction else Decimal(0))


@dataclass(frozen=True, slots=True)
class _Revision:
    pointer: str
    number: str
    date: str
    version: Version
    instant: tuple[datetime, Decimal]


def _revisions(doc: Mapping[str, Any]) -> list[_Revision]:
    """The revision history items with a parsable number and date."""
    revisions = []
    for pointer, item in items(tracking(doc), "revision_history", _TRACKING):
        version, instant = parse_version(item.get("number")), parse_instant(item.get("date"))
        if version is not None and instant is not None:
            revisions.append(
                _Revision(pointer, str(item["number"]), str(item["date"]), version, instant)
            )
    return revisions


def _by_date(doc: Mapping[str, Any]) -> list[_Revision]:
    """The revision history sorted ascending by date, equal dates ascending by number."""
    return sorted(_revisions(doc), key=lambda r: (r.instant, r.version.precedence))


def _status(doc: Mapping[str, Any]) -> str | None:
    return as_str(tracking(doc).get("status"))


def sorted_revision_history(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.14: sorted by date, the revision numbers ascend."""
    highest: _Revision | None = None
    for revision in _by_date(doc):
        if highest is not None and revision.version.precedence < highest.version.precedence:
            yield CsafProblem(
                "6.1.14",
                _HISTORY,
                f"Revision {revision.number} ({revision.date}) is dated after revision "
                f"{highest.number} ({highest.date}) but has a lower number.",
            )
            return
        highest = revision


def latest_document_version(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.16: the document version is the number of the latest revision.

    Build metadata is ignored (it is not kept by :func:`parse_version`), and so is a
    pre-release part when the document is a draft.
    """
    history = _by_date(doc)
    version = parse_version(tracking(doc).get("version"))
    if not history or version is None:
        return
    latest = history[-1]
    expected, actual = latest.version, version
    if _status(doc) == "draft":
        expected, actual = expected.without_prerelease(), actual.without_prerelease()
    if expected != actual:
        yield CsafProblem(
            "6.1.16",
            f"{_TRACKING}/version",
            f"The document version {tracking(doc)['version']} is not the number of the latest "
            f"revision, {latest.number} ({latest.date}).",
        )


def _is_prerelease_or_zero(version: Version) -> bool:
    return version.major == 0 or bool(version.prerelease)


def document_status_draft(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.17: version 0, 0.y.z or a pre-release means status ``draft``."""
    version = parse_version(tracking(doc).get("version"))
    status = _status(doc)
    if (
        version is not None
        and status is not None
        and status != "draft"
        and _is_prerelease_or_zero(version)
    ):
        yield CsafProblem(
            "6.1.17",
            f"{_TRACKING}/status",
            f"The document version {tracking(doc)['version']} is a draft version but the "
            f"status is {status!r}.",
        )


def released_revision_history(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.18: a final or interim document has no revision numbered 0 or 0.y.z."""
    status = _status(doc)
    if status not in _RELEASED:
        return
    for revision in _revisions_any_date(doc):
        if revision[1].major == 0:
            yield CsafProblem(
                "6.1.18",
                child(revision[0], "number"),
                f"The document status is {status!r} but the revision history has the draft "
                f"number {revision[2]}.",
            )


def _revisions_any_date(doc: Mapping[str, Any]) -> Iterator[tuple[str, Version, str]]:
    """``(pointer, version, number)`` of every revision with a parsable number."""
    for pointer, item in items(tracking(doc), "revision_history", _TRACKING):
        version = parse_version(item.get("number"))
        if version is not None:
            yield pointer, version, str(item["number"])


def prerelease_revision(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.19: no revision number has a pre-release part."""
    for pointer, version, number in _revisions_any_date(doc):
        if version.prerelease:
            yield CsafProblem(
                "6.1.19",
                child(pointer, "number"),
                f"The revision number {number} is a pre-release; the revision history records "
                "only released versions.",
            )


def non_draft_document_version(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.20: a final or interim document's version has no pre-release part."""
    version = parse_version(tracking(doc).get("version"))
    status = _status(doc)
    if version is not None and version.prerelease and status in _RELEASED:
        yield CsafProblem(
            "6.1.20",
            f"{_TRACKING}/version",
            f"The document status is {status!r} but the version {tracking(doc)['version']} has "
            "a pre-release part.",
        )


def missing_revision(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.21: sorted by date, the (major) version numbers start at 0 or 1 and skip none."""
    history = _by_date(doc)
    if not history:
        return
    first = history[0]
    if first.version.major not in (0, 1):
        yield CsafProblem(
            "6.1.21",
            _HISTORY,
            f"The earliest revision is {first.number} ({first.date}); the history must start "
            "at version 0 or 1.",
        )
        return
    highest = first.version.major
    for revision in history[1:]:
        if revision.version.major > highest + 1:
            missing = highest + 1
            yield CsafProblem(
                "6.1.21",
                _HISTORY,
                f"Version {missing} is missing from the revision history (the next revision "
                f"after {missing - 1} is {revision.number}).",
            )
            return
        highest = max(highest, revision.version.major)


def duplicate_revision(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.22: no two revisions carry the same number."""
    first: dict[str, str] = {}
    for pointer, item in items(tracking(doc), "revision_history", _TRACKING):
        number = as_str(item.get("number"))
        if number is None:
            continue
        earlier = first.setdefault(number, pointer)
        if earlier != pointer:
            yield CsafProblem(
                "6.1.22",
                child(pointer, "number"),
                f"The revision number {number} is already used at {earlier}.",
            )


def mixed_versioning(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.30: revision numbers and the document version use one versioning scheme."""
    values = [
        (f"{pointer}/number", version, number)
        for pointer, version, number in _revisions_any_date(doc)
    ]
    version = parse_version(tracking(doc).get("version"))
    if version is not None:
        values.append((f"{_TRACKING}/version", version, str(tracking(doc)["version"])))
    if not values:
        return
    scheme = values[0][1].integer
    for pointer, value, text in values[1:]:
        if value.integer != scheme:
            yield CsafProblem(
                "6.1.30",
                pointer,
                f"{text} uses {'integer' if value.integer else 'semantic'} versioning while "
                f"{values[0][2]} uses {'integer' if scheme else 'semantic'} versioning.",
            )
