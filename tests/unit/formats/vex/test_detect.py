"""Detecting and dispatching VEX formats, and hostile input: oversize, nesting, amplification."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import orjson
import pytest

from clearinghouse.core.errors import DecodeError, SchemaError, TooLargeError, UnknownFormatError
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.vex import (
    VexLimits,
    detect_vex,
    read_csaf_vex,
    read_cyclonedx_vex,
    read_openvex,
    read_vex,
)
from tests.unit.formats.vex.test_csaf_vex import DOC as CSAF_DOC
from tests.unit.formats.vex.test_cyclonedx_vex import BOM
from tests.unit.formats.vex.test_openvex import DOC as OPENVEX_DOC

# Every VEX document in the corpus, by format.
VEX = {
    "openvex": ["cyclonedx/tool-output/defectdojo/openvex/*.json"],
    "cyclonedx-vex": [
        "cyclonedx/bom-examples/VEX/**/vex*.json",
        "cyclonedx/tool-output/defectdojo/cyclonedx/log4j.json",
    ],
    "csaf-vex": ["csaf/csaf_2.0/examples/csaf/csaf_vex/*.json"],
}
# JSON that is something else, with a word the refusal must contain.
NOT_VEX = {
    "cyclonedx/bom-examples/VEX/bom.json": "without vulnerabilities",
    "cyclonedx/bom-examples/VEX/Use-Cases/Case-9/bom-1.json": "without vulnerabilities",
    "cyclonedx/tool-output/defectdojo/cyclonedx/jake2.json": "no analysis.state",
    "cyclonedx/tool-output/trivy/integration/testdata/pom-cyclonedx.json.golden": "no analysis",
    "cyclonedx/tool-output/defectdojo/spdx/spdx_many_vuln.json": "SPDX",
    "cyclonedx/spdx-spec-2.3/examples/SPDXJSONExample-v2.3.spdx.json": "SPDX",
    "csaf/csaf_2.0/examples/csaf/rhsa-2022_0011.json": "csaf_security_advisory",
    "csaf/csaf_2.0/examples/csaf/rhsa-2019_1862.json": "csaf_informational_advisory",
    "csaf/csaf_2.0/examples/aggregator/example-01-aggregator.json": "no VEX format",
    "kev/known_exploited_vulnerabilities.json": "no VEX format",
}


@pytest.mark.corpus
def test_every_vex_document_is_detected_and_read(corpus: Path) -> None:
    readers = {
        "openvex": read_openvex,
        "cyclonedx-vex": read_cyclonedx_vex,
        "csaf-vex": read_csaf_vex,
    }
    counts = {}
    for kind, patterns in VEX.items():
        paths = sorted({p for pattern in patterns for p in corpus.glob(pattern)})
        for path in paths:
            data = path.read_bytes()
            assert detect_vex(data) == kind, path
            doc = read_vex(data)
            assert doc == readers[kind](data), path
            assert doc.statements, path
        counts[kind] = len(paths)
    assert counts == {"openvex": 2, "cyclonedx-vex": 26, "csaf-vex": 13}


@pytest.mark.corpus
@pytest.mark.parametrize(("relative", "reason"), sorted(NOT_VEX.items()))
def test_other_json_is_refused_saying_what_was_expected(
    corpus: Path, relative: str, reason: str
) -> None:
    data = (corpus / relative).read_bytes()
    for call in (detect_vex, read_vex):
        with pytest.raises(UnknownFormatError) as caught:
            call(data)
        assert reason in caught.value.detail
        assert "expected OpenVEX" in caught.value.detail


def test_hand_made_documents_dispatch() -> None:
    assert read_vex(orjson.dumps(OPENVEX_DOC)).format == "openvex"
    assert read_vex(orjson.dumps(BOM)).format == "cyclonedx-vex"
    assert read_vex(orjson.dumps(CSAF_DOC)).format == "csaf-vex"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>', "XML"),
        (b"statements:\n  - status: fixed\n", "not a JSON object"),
        (b"[]", "not a JSON object"),
        (b"", "not a JSON object"),
        (b'{"vulnerabilities": []}', "no VEX format"),
        (b'{"document": {"csaf_version": "2.0"}}', "without document.category"),
    ],
)
def test_non_vex_input(data: bytes, reason: str) -> None:
    with pytest.raises(UnknownFormatError, match=reason):
        detect_vex(data)


def test_broken_json_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        read_vex(b'{"@context": "https://openvex.dev/ns/v0.2.0", ')


def test_the_unsupported_openvex_context_is_refused_by_the_reader() -> None:
    doc = copy.deepcopy(OPENVEX_DOC)
    doc["@context"] = "https://openvex.dev/ns/v1"
    assert detect_vex(orjson.dumps(doc)) == "openvex"
    with pytest.raises(SchemaError) as caught:
        read_vex(orjson.dumps(doc))
    assert caught.value.pointer == "/@context"


# ---- hostile input -------------------------------------------------------------------------


def test_size_limit_is_checked_before_decoding() -> None:
    limits = VexLimits(max_vex_bytes=1_000)
    data = b"{" + b" " * 2_000 + b"}"
    for read in (detect_vex, read_vex, read_openvex, read_cyclonedx_vex, read_csaf_vex):
        with pytest.raises(TooLargeError):
            read(data, limits=limits)


def test_plain_read_limits_are_accepted_and_bound_strings() -> None:
    doc = copy.deepcopy(OPENVEX_DOC)
    doc["statements"][0]["impact_statement"] = "x" * 200
    with pytest.raises(SchemaError) as caught:
        read_vex(orjson.dumps(doc), limits=ReadLimits(max_string_chars=100))
    assert caught.value.pointer == "/statements/0/impact_statement"


def test_statement_limit() -> None:
    doc = copy.deepcopy(OPENVEX_DOC)
    doc["statements"] = doc["statements"] * 5
    with pytest.raises(TooLargeError, match="statements"):
        read_vex(orjson.dumps(doc), limits=VexLimits(max_statements=4))
    assert len(read_vex(orjson.dumps(doc), limits=VexLimits(max_statements=5)).statements) == 5


def test_deep_nesting_is_refused_quickly() -> None:
    data = (
        b'{"@context": "https://openvex.dev/ns/v0.2.0", "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    )
    started = time.monotonic()
    with pytest.raises(DecodeError):
        read_vex(data)
    assert time.monotonic() - started < 2


def test_product_group_amplification_is_bounded() -> None:
    """One group of many products named by many threats would expand quadratically."""
    doc = copy.deepcopy(CSAF_DOC)
    tree = doc["product_tree"]
    ids = [f"P-{i}" for i in range(2_000)]
    tree["full_product_names"].extend({"product_id": p, "name": p} for p in ids)
    tree["product_groups"] = [{"group_id": "ALL", "product_ids": ids}]
    vulnerability = doc["vulnerabilities"][0]
    vulnerability["threats"] = [
        {"category": "impact", "details": f"Reason {i}.", "group_ids": ["ALL"]}
        for i in range(2_000)
    ]
    vulnerability["product_status"]["known_not_affected"] = ids
    data = orjson.dumps(doc)
    started = time.monotonic()
    with pytest.raises(TooLargeError, match="product references"):
        read_vex(data, limits=VexLimits(max_products=100_000))
    assert time.monotonic() - started < 5


def test_deeply_nested_cyclonedx_components_resolve_without_recursion() -> None:
    """Nesting close to the decoder's 1,024 levels (orjson cannot even encode it)."""
    depth = 480
    leaf = b'{"type": "library", "name": "leaf", "bom-ref": "leaf", "purl": "pkg:pypi/leaf@1"}'
    nested = b'{"type": "library", "name": "c", "components": [' * depth + leaf + b"]}" * depth
    bom = copy.deepcopy(BOM)
    bom["vulnerabilities"][0]["affects"] = [{"ref": "leaf"}]
    data = orjson.dumps(bom).replace(b'"components":[', b'"components":[' + nested + b",", 1)
    (statement,) = read_vex(data).statements
    assert statement.products == ("pkg:pypi/leaf@1",)
