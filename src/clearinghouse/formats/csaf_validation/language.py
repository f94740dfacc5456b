"""CSAF 2.0 mandatory tests about document languages: 6.1.12 language, 6.1.15 translator and
6.1.28 translation.

6.1.12 parses each tag by the RFC 5646 grammar (language, extlang, script, region, variants,
extensions, private use, grandfathered tags) and looks every subtag up in the IANA Language
Subtag Registry, read from the copy the ``csaf`` package ships (``bcp47/registry.json``) so that
nothing is fetched. Private-use ranges (qaa-qtz, qaaa-qabx, qm-qz, xa-xz) count as existing;
deprecated subtags are still valid (the spec allows, not requires, replacing them). It does not
check extension contents (Unicode ``-u-`` keys and the like) or canonical casing. Never raises
on a schema-invalid document.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from clearinghouse.formats.csaf_validation.model import CsafProblem
from clearinghouse.formats.csaf_validation.tree import as_mapping, as_str, document_section
from clearinghouse.formats.schema import load_packaged_json

_ALPHANUM = re.compile(r"^[a-z0-9]{1,8}$")
_ALPHA = re.compile(r"^[a-z]+$")
_DIGITS = re.compile(r"^[0-9]+$")
_VARIANT = re.compile(r"^([a-z0-9]{5,8}|[0-9][a-z0-9]{3})$")


@functools.cache
def _registry() -> Mapping[str, Any]:
    return as_mapping(load_packaged_json("csaf", "bcp47/registry.json"))


def _registered(kind: str, subtag: str) -> bool:
    registry = _registry()
    if subtag in as_mapping(registry.get(kind)):
        return True
    ranges = as_mapping(registry.get("ranges")).get(kind) or ()
    return any(len(low) == len(subtag) and low <= subtag <= high for low, high in ranges)


def language_tag_problem(tag: str) -> str | None:
    """Why ``tag`` is not a valid, registered BCP 47 language tag; None if it is one."""
    lowered = tag.lower()
    if lowered in as_mapping(_registry().get("grandfathered")):
        return None
    subtags = lowered.split("-")
    if not all(_ALPHANUM.match(subtag) for subtag in subtags):
        return "it is not a sequence of 1-8 letter or digit subtags separated by hyphens"
    if subtags[0] == "x":
        return None if len(subtags) > 1 else "a private-use tag needs at least one subtag"
    language, rest = subtags[0], subtags[1:]
    if not _ALPHA.match(language) or len(language) == 4:
        return f"{language!r} is not a language subtag"
    if not _registered("language", language):
        return f"{language!r} is not a registered language subtag"
    position = 0
    if len(language) <= 3:
        while position < len(rest) and len(rest[position]) == 3 and _ALPHA.match(rest[position]):
            extlang = rest[position]
            entry = as_mapping(as_mapping(_registry().get("extlang")).get(extlang))
            if position > 0 or not entry:
                return f"{extlang!r} is not a registered extended language subtag here"
            if language not in (entry.get("prefix") or ()):
                return f"the extended language subtag {extlang!r} does not belong to {language!r}"
            position += 1
    if position < len(rest) and len(rest[position]) == 4 and _ALPHA.match(rest[position]):
        if not _registered("script", rest[position]):
            return f"{rest[position]!r} is not a registered script subtag"
        position += 1
    if position < len(rest) and (
        (len(rest[position]) == 2 and _ALPHA.match(rest[position]))
        or (len(rest[position]) == 3 and _DIGITS.match(rest[position]))
    ):
        if not _registered("region", rest[position]):
            return f"{rest[position]!r} is not a registered region subtag"
        position += 1
    variants: set[str] = set()
    while position < len(rest) and _VARIANT.match(rest[position]):
        variant = rest[position]
        if not _registered("variant", variant):
            return f"{variant!r} is not a registered variant subtag"
        if variant in variants:
            return f"the variant {variant!r} appears twice"
        variants.add(variant)
        position += 1
    return _extensions(rest[position:])


def _extensions(subtags: list[str]) -> str | None:
    """Check ``*("-" extension) ["-" privateuse]``, the tail of a language tag."""
    singletons: set[str] = set()
    position = 0
    while position < len(subtags):
        singleton = subtags[position]
        if len(singleton) != 1:
            return f"{singleton!r} is out of place"
        body = subtags[position + 1 :]
        if singleton == "x":
            return None if body else "a private-use part needs at least one subtag"
        if singleton in singletons:
            return f"the extension {singleton!r} appears twice"
        singletons.add(singleton)
        length = 0
        while length < len(body) and 2 <= len(body[length]) <= 8:
            length += 1
        if length == 0:
            return f"the extension {singleton!r} needs at least one subtag of 2-8 characters"
        position += 1 + length
    return None


def invalid_language(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.12: ``/document/lang`` and ``/document/source_lang`` are valid, existing languages."""
    document = document_section(doc)
    for key in ("lang", "source_lang"):
        tag = as_str(document.get(key))
        if tag is None:
            continue
        reason = language_tag_problem(tag)
        if reason is not None:
            yield CsafProblem(
                "6.1.12",
                f"/document/{key}",
                f"{tag!r} is not a valid BCP 47 language tag: {reason}.",
            )


def translator_without_source_language(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.15: a document published by a translator names its source language."""
    document = document_section(doc)
    publisher = as_mapping(document.get("publisher"))
    if publisher.get("category") == "translator" and not as_str(document.get("source_lang")):
        yield CsafProblem(
            "6.1.15",
            "/document/source_lang",
            "The publisher is a translator, so the source language (source_lang) must be given.",
        )


def same_source_language(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.28: a translation's language differs from its source language."""
    document = document_section(doc)
    lang, source = as_str(document.get("lang")), as_str(document.get("source_lang"))
    # Language tags are case-insensitive: "en-US" and "en-us" are the same language.
    if lang is not None and source is not None and lang.lower() == source.lower():
        yield CsafProblem(
            "6.1.28",
            "/document/source_lang",
            f"The document language and the source language are both {lang!r}.",
        )
