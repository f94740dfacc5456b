"""CSAF 2.0 mandatory tests about vulnerability scores and weaknesses.

6.1.7 multiple scores with same version per product, 6.1.8 invalid CVSS (against the FIRST
CVSS v2.0/v3.0/v3.1 schemas the ``csaf`` package ships), 6.1.9 invalid CVSS computation (scores
and severities recomputed from ``vectorString`` with the ``cvss`` library), 6.1.10 inconsistent
CVSS (spelled-out properties against the vector), 6.1.11 CWE (id and name against the CWE
catalogue the ``cwe2`` package ships).

The CVSS tests read only ``cvss_v2``/``cvss_v3`` (CSAF 2.0 has no CVSS v4). 6.1.11 knows one
CWE release (the one ``cwe2`` ships, named in its messages): a name that only an older release
used fails. Never raises on a schema-invalid document; no I/O beyond the packaged data files.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema_rs
from cvss import CVSS2, CVSS3
from cvss.exceptions import CVSSError
from lxml import etree

from clearinghouse.formats.csaf_validation.model import CsafProblem
from clearinghouse.formats.csaf_validation.tree import (
    as_mapping,
    as_str,
    child,
    items,
    strings,
    vulnerabilities,
)
from clearinghouse.formats.schema import json_pointer, load_packaged_json

_CVSS_SCHEMA_DIR = "csaf/v20/schema/referenced"
_MAX_SCHEMA_ERRORS_PER_OBJECT = 10
_CWE_ID = re.compile(r"^CWE-([1-9][0-9]{0,5})$")
_CWE_FILE = re.compile(r"^cwec_v([0-9.]+)\.xml$")

# 6.1.10: property name -> (metric abbreviation in the vector, {property value: vector value}).
_V3_BASE = {
    "attackVector": (
        "AV",
        {"NETWORK": "N", "ADJACENT_NETWORK": "A", "LOCAL": "L", "PHYSICAL": "P"},
    ),
    "attackComplexity": ("AC", {"LOW": "L", "HIGH": "H"}),
    "privilegesRequired": ("PR", {"NONE": "N", "LOW": "L", "HIGH": "H"}),
    "userInteraction": ("UI", {"NONE": "N", "REQUIRED": "R"}),
    "scope": ("S", {"UNCHANGED": "U", "CHANGED": "C"}),
    "confidentialityImpact": ("C", {"NONE": "N", "LOW": "L", "HIGH": "H"}),
    "integrityImpact": ("I", {"NONE": "N", "LOW": "L", "HIGH": "H"}),
    "availabilityImpact": ("A", {"NONE": "N", "LOW": "L", "HIGH": "H"}),
}
_V3_OPTIONAL = {
    "exploitCodeMaturity": (
        "E",
        {"UNPROVEN": "U", "PROOF_OF_CONCEPT": "P", "FUNCTIONAL": "F", "HIGH": "H"},
    ),
    "remediationLevel": (
        "RL",
        {"OFFICIAL_FIX": "O", "TEMPORARY_FIX": "T", "WORKAROUND": "W", "UNAVAILABLE": "U"},
    ),
    "reportConfidence": ("RC", {"UNKNOWN": "U", "REASONABLE": "R", "CONFIRMED": "C"}),
    "confidentialityRequirement": ("CR", {"LOW": "L", "MEDIUM": "M", "HIGH": "H"}),
    "integrityRequirement": ("IR", {"LOW": "L", "MEDIUM": "M", "HIGH": "H"}),
    "availabilityRequirement": ("AR", {"LOW": "L", "MEDIUM": "M", "HIGH": "H"}),
    **{
        f"modified{name[0].upper()}{name[1:]}": ("M" + metric, values)
        for name, (metric, values) in _V3_BASE.items()
    },
}
_V2_BASE = {
    "accessVector": ("AV", {"NETWORK": "N", "ADJACENT_NETWORK": "A", "LOCAL": "L"}),
    "accessComplexity": ("AC", {"HIGH": "H", "MEDIUM": "M", "LOW": "L"}),
    "authentication": ("Au", {"MULTIPLE": "M", "SINGLE": "S", "NONE": "N"}),
    "confidentialityImpact": ("C", {"NONE": "N", "PARTIAL": "P", "COMPLETE": "C"}),
    "integrityImpact": ("I", {"NONE": "N", "PARTIAL": "P", "COMPLETE": "C"}),
    "availabilityImpact": ("A", {"NONE": "N", "PARTIAL": "P", "COMPLETE": "C"}),
}
_V2_OPTIONAL = {
    "exploitability": (
        "E",
        {"UNPROVEN": "U", "PROOF_OF_CONCEPT": "POC", "FUNCTIONAL": "F", "HIGH": "H"},
    ),
    "remediationLevel": (
        "RL",
        {"OFFICIAL_FIX": "OF", "TEMPORARY_FIX": "TF", "WORKAROUND": "W", "UNAVAILABLE": "U"},
    ),
    "reportConfidence": ("RC", {"UNCONFIRMED": "UC", "UNCORROBORATED": "UR", "CONFIRMED": "C"}),
    "collateralDamagePotential": (
        "CDP",
        {"NONE": "N", "LOW": "L", "LOW_MEDIUM": "LM", "MEDIUM_HIGH": "MH", "HIGH": "H"},
    ),
    "targetDistribution": ("TD", {"NONE": "N", "LOW": "L", "MEDIUM": "M", "HIGH": "H"}),
    "confidentialityRequirement": ("CR", {"LOW": "L", "MEDIUM": "M", "HIGH": "H"}),
    "integrityRequirement": ("IR", {"LOW": "L", "MEDIUM": "M", "HIGH": "H"}),
    "availabilityRequirement": ("AR", {"LOW": "L", "MEDIUM": "M", "HIGH": "H"}),
}
_NOT_DEFINED = "NOT_DEFINED"
_V3_SCORES = (
    ("baseScore", "baseSeverity"),
    ("temporalScore", "temporalSeverity"),
    ("environmentalScore", "environmentalSeverity"),
)


def _cvss_objects(doc: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """``(pointer, "cvss_v2" | "cvss_v3", value)`` for every CVSS object of every score."""
    for pointer, vulnerability in vulnerabilities(doc):
        for score_pointer, score in items(vulnerability, "scores", pointer):
            for key in ("cvss_v2", "cvss_v3"):
                if key in score:
                    yield child(score_pointer, key), key, score[key]


def _v3_version(cvss: Mapping[str, Any]) -> str | None:
    """The CVSS 3.x version, "3.0" or "3.1", from ``version``, else from the vector prefix."""
    version = cvss.get("version")
    if version in ("3.0", "3.1"):
        return str(version)
    vector = as_str(cvss.get("vectorString")) or ""
    for candidate in ("3.0", "3.1"):
        if vector.startswith(f"CVSS:{candidate}/"):
            return candidate
    return None


def multiple_scores_per_product(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.7: within one vulnerability a product has at most one score per CVSS version."""
    for pointer, vulnerability in vulnerabilities(doc):
        first: dict[tuple[str, str], str] = {}
        for score_pointer, score in items(vulnerability, "scores", pointer):
            versions = []
            if isinstance(v2 := score.get("cvss_v2"), Mapping):
                versions.append(as_str(v2.get("version")) or "2.0")
            if isinstance(v3 := score.get("cvss_v3"), Mapping) and (v := _v3_version(v3)):
                versions.append(v)
            products = {product_id for _, product_id in strings(score, "products", score_pointer)}
            for version in versions:
                for product_id in sorted(products):
                    earlier = first.setdefault((product_id, version), score_pointer)
                    if earlier != score_pointer:
                        yield CsafProblem(
                            "6.1.7",
                            score_pointer,
                            f"Product {product_id!r} already has a CVSS v{version} score at "
                            f"{earlier}.",
                        )


@functools.cache
def _cvss_validator(file: str) -> Any:
    return jsonschema_rs.validator_for(
        load_packaged_json("csaf", f"{_CVSS_SCHEMA_DIR}/{file}"), validate_formats=False
    )


def invalid_cvss(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.8: every CVSS object is valid against the FIRST schema of its version."""
    for pointer, key, cvss in _cvss_objects(doc):
        if key == "cvss_v2":
            file = "cvss-v2.0.json"
        else:
            # An object with neither a 3.x version nor a 3.x vector is checked against 3.1,
            # which then names what is missing.
            version = _v3_version(as_mapping(cvss)) or "3.1"
            file = f"cvss-v{version}.json"
        validator = _cvss_validator(file)
        for count, error in enumerate(validator.iter_errors(cvss)):
            if count == _MAX_SCHEMA_ERRORS_PER_OBJECT:
                break
            yield CsafProblem(
                "6.1.8",
                pointer + json_pointer(error.instance_path),
                f"Invalid {key} object ({file}): {_short(error.message)}",
            )


def _computed(key: str, vector: str) -> tuple[list[float | None], list[str | None]] | None:
    """Scores (base, temporal, environmental) and v3 severities the vector defines, or None.

    A CVSS v2 vector without temporal (environmental) metrics still has a temporal
    (environmental) score: every factor is then 1, so it equals the base (temporal) score.
    """
    try:
        if key == "cvss_v2":
            base, temporal, environmental = CVSS2(vector).scores()
            temporal = base if temporal is None else temporal
            environmental = temporal if environmental is None else environmental
            return [base, temporal, environmental], [None, None, None]
        calculator = CVSS3(vector)
    except (CVSSError, ValueError, KeyError):
        return None  # an unparsable vector is 6.1.8's finding
    return list(calculator.scores()), [str(s).upper() for s in calculator.severities()]


def invalid_cvss_computation(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.9: scores and severities are those the ``vectorString`` yields."""
    for pointer, key, value in _cvss_objects(doc):
        cvss = as_mapping(value)
        vector = as_str(cvss.get("vectorString"))
        if vector is None or (computed := _computed(key, vector)) is None:
            continue
        scores, severities = computed
        for (score_key, severity_key), expected, severity in zip(
            _V3_SCORES, scores, severities, strict=True
        ):
            given = cvss.get(score_key)
            if (
                isinstance(given, int | float)
                and not isinstance(given, bool)
                and expected is not None
                and _differs(given, float(expected))
            ):
                yield CsafProblem(
                    "6.1.9",
                    child(pointer, score_key),
                    f"{score_key} is {given} but the vector {vector!r} yields {expected}.",
                )
            given_severity = cvss.get(severity_key)
            if key == "cvss_v3" and isinstance(given_severity, str) and given_severity != severity:
                yield CsafProblem(
                    "6.1.9",
                    child(pointer, severity_key),
                    f"{severity_key} is {given_severity!r} but the vector {vector!r} yields "
                    f"{severity!r}.",
                )


def _differs(given: float, expected: float) -> bool:
    try:
        return abs(float(given) - expected) > 1e-6
    except OverflowError:
        return True  # an integer too large for a float is no CVSS score


def _vector_metrics(vector: str, key: str) -> dict[str, str]:
    """Metric -> value as written in the vector (the first occurrence wins)."""
    parts = vector.split("/")
    if key == "cvss_v3":
        parts = parts[1:]  # the "CVSS:3.x" prefix
    metrics: dict[str, str] = {}
    for part in parts:
        metric, _, value = part.partition(":")
        metrics.setdefault(metric, value)
    return metrics


def inconsistent_cvss(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.10: spelled-out CVSS properties agree with the metrics the vector writes out.

    A property whose metric the vector leaves out is not compared: the OASIS suite counts
    documents with, say, ``modifiedIntegrityImpact`` beside a base-only vector as valid. A base
    metric missing from the vector makes the vector itself invalid, which is 6.1.8's finding.
    """
    for pointer, key, value in _cvss_objects(doc):
        cvss = as_mapping(value)
        vector = as_str(cvss.get("vectorString"))
        if vector is None:
            continue
        written = _vector_metrics(vector, key)
        properties = _V2_BASE | _V2_OPTIONAL if key == "cvss_v2" else _V3_BASE | _V3_OPTIONAL
        for name, (metric, values) in properties.items():
            given, in_vector = cvss.get(name), written.get(metric)
            if not isinstance(given, str) or in_vector is None:
                continue
            expected = "X" if given == _NOT_DEFINED else values.get(given)
            if expected is None:
                continue  # not a value of this property at all: the schema's finding
            # CVSS v2 writes "not defined" as ND, v3 as X.
            if ("X" if in_vector == "ND" else in_vector) != expected:
                yield CsafProblem(
                    "6.1.10",
                    child(pointer, name),
                    f"{name} is {given!r} but the vector {vector!r} says {metric}:{in_vector}.",
                )


@functools.cache
def cwe_catalogue() -> tuple[str, dict[int, str]]:
    """The CWE release ``cwe2`` ships and its weaknesses (id -> name); categories and views
    are left out because a vulnerability is mapped to a weakness."""
    package = importlib.resources.files("cwe2.database_v49")
    for entry in package.iterdir():
        if match := _CWE_FILE.match(entry.name):
            weaknesses: dict[int, str] = {}
            with importlib.resources.as_file(entry) as path:
                # Trusted package data, not submitter input; entities and network stay off anyway.
                for _, element in etree.iterparse(
                    str(path),
                    events=("end",),
                    tag="{*}Weakness",
                    resolve_entities=False,
                    no_network=True,
                ):
                    weaknesses[int(element.get("ID") or 0)] = str(element.get("Name"))
                    element.clear()
            return match.group(1), weaknesses
    raise FileNotFoundError("the cwe2 package ships no cwec_v*.xml catalogue")


def invalid_cwe(doc: Mapping[str, Any]) -> Iterator[CsafProblem]:
    """6.1.11: the CWE exists and the name is its name."""
    for pointer, vulnerability in vulnerabilities(doc):
        cwe = vulnerability.get("cwe")
        if not isinstance(cwe, Mapping):
            continue
        cwe_id, name = as_str(cwe.get("id")), as_str(cwe.get("name"))
        match = _CWE_ID.match(cwe_id or "")
        if cwe_id is None or match is None:
            continue  # the schema's pattern
        release, weaknesses = cwe_catalogue()
        expected = weaknesses.get(int(match.group(1)))
        if expected is None:
            yield CsafProblem(
                "6.1.11",
                child(pointer, "cwe", "id"),
                f"{cwe_id} is not a weakness in CWE {release}.",
            )
        elif name is not None and name != expected:
            yield CsafProblem(
                "6.1.11",
                child(pointer, "cwe", "name"),
                f"The name of {cwe_id} is {expected!r} (CWE {release}), not {name!r}.",
            )


def _short(text: str, limit: int = 200) -> str:
    """Validator messages quote the offending value, which may be huge."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
