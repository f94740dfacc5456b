"""The OpenVEX reader: DefectDojo's real OpenVEX test documents, and hand-made ones for each
rule of the specification and each refusal."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.core.errors import DecodeError, SchemaError
from clearinghouse.formats.vex import VexStatement, read_openvex

_DEFECTDOJO = "cyclonedx/tool-output/defectdojo/openvex"

DOC: dict[str, Any] = {
    "@context": "https://openvex.dev/ns/v0.2.0",
    "@id": "https://example.com/vex/0001",
    "author": "Example PSIRT",
    "role": "Document Creator",
    "version": 1,
    "timestamp": "2099-01-01T00:00:00Z",
    "statements": [
        {
            "vulnerability": {"name": "cve-2099-0001", "aliases": ["GHSA-AAAA-bbbb-CCCC"]},
            "products": [{"@id": "pkg:PYPI/Widget_Lib@1.0"}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
        }
    ],
}


def _doc(**statement: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["statements"][0].update(statement)
    return doc


def _read(doc: Any) -> tuple[VexStatement, ...]:
    return read_openvex(orjson.dumps(doc)).statements


def _refusal(doc: Any) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        read_openvex(orjson.dumps(doc))
    return caught.value


# ---- real documents ------------------------------------------------------------------------


@pytest.mark.corpus
def test_defectdojo_many_vulnerabilities(corpus: Path) -> None:
    doc = read_openvex((corpus / _DEFECTDOJO / "openvex_many_vuln.json").read_bytes())
    assert (doc.format, doc.author, doc.timestamp) == (
        "openvex",
        "Example Org",
        "2026-07-29T00:00:00Z",
    )
    by_id = {s.vulnerability: s for s in doc.statements}
    assert len(doc.statements) == len(by_id) == 6
    assert {v: s.status for v, s in by_id.items()} == {
        "CVE-2024-10001": "not_affected",
        "CVE-2024-10002": "affected",
        "CVE-2024-10003": "fixed",
        "CVE-2024-10004": "under_investigation",
        "CVE-2024-10005": "not_affected",
        "CVE-2024-10006": "not_affected",
    }
    assert by_id["CVE-2024-10001"].products == (
        "pkg:apk/alpine/apk-tools@2.10.6-r0?arch=x86_64&distro=alpine-3.10.9",
    )
    assert by_id["CVE-2024-10001"].justification == "vulnerable_code_not_present"
    assert by_id["CVE-2024-10002"].action_statement == "No action statement provided"
    zlib = by_id["CVE-2024-10005"]
    assert zlib.aliases == ("GHSA-jfh8-c2jp-5v3q",)
    assert zlib.justification == "inline_mitigations_already_exist"  # with an impact statement
    assert zlib.impact_statement == "The affected code path is disabled at build time."
    # The last statement uses the 0.0.1 shapes (bare strings) inside a 0.2.0 document.
    assert by_id["CVE-2024-10006"].products == ("pkg:apk/alpine/openssl@1.1.1k-r0",)
    assert all(s.timestamp == "2026-07-29T00:00:00Z" for s in doc.statements)


@pytest.mark.corpus
def test_defectdojo_one_vulnerability(corpus: Path) -> None:
    doc = read_openvex((corpus / _DEFECTDOJO / "openvex_one_vuln.json").read_bytes())
    (statement,) = doc.statements
    assert (statement.vulnerability, statement.status, statement.justification) == (
        "CVE-2024-10001",
        "not_affected",
        "vulnerable_code_not_present",
    )


# ---- hand-made documents -------------------------------------------------------------------


def test_fields_are_normalized() -> None:
    (statement,) = _read(_doc())
    assert statement == VexStatement(
        vulnerability="CVE-2099-0001",
        aliases=("GHSA-aaaa-bbbb-cccc",),
        products=("pkg:pypi/widget-lib@1.0",),
        status="not_affected",
        justification="vulnerable_code_not_in_execute_path",
        timestamp="2099-01-01T00:00:00Z",  # inherited from the document
    )


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"status": "not_affected", "impact_statement": "Not compiled in."}, "not_affected"),
        ({"status": "affected", "action_statement": "Upgrade to 1.1."}, "affected"),
        ({"status": "fixed"}, "fixed"),
        ({"status": "under_investigation"}, "under_investigation"),
    ],
)
def test_each_status(extra: dict[str, Any], status: str) -> None:
    doc = _doc(**extra)
    del doc["statements"][0]["justification"]
    (statement,) = _read(doc)
    assert statement.status == status
    assert statement.impact_statement == extra.get("impact_statement")
    assert statement.action_statement == extra.get("action_statement")


def test_not_affected_without_justification_or_impact_statement_is_refused() -> None:
    doc = _doc()
    del doc["statements"][0]["justification"]
    error = _refusal(doc)
    assert error.pointer == "/statements/0/justification"
    assert "not_affected" in error.expected


def test_affected_without_action_statement_is_refused() -> None:
    doc = _doc(status="affected")
    error = _refusal(doc)
    assert error.pointer == "/statements/0/action_statement"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"justification": "code_not_reachable"}, "/statements/0/justification"),  # CycloneDX's
        ({"status": "exploitable"}, "/statements/0/status"),
        ({"status": None}, "/statements/0/status"),
        ({"vulnerability": None}, "/statements/0/vulnerability"),
        ({"vulnerability": {"aliases": ["CVE-1"]}}, "/statements/0/vulnerability/name"),
        ({"vulnerability": {"name": 7}}, "/statements/0/vulnerability/name"),
        ({"products": [{"@id": "pkg:pypi/"}]}, "/statements/0/products/0/@id"),
        ({"products": [{"hashes": {"md5": "x"}}]}, "/statements/0/products/0"),
        ({"products": "pkg:pypi/x"}, "/statements/0/products"),
        ({"timestamp": "yesterday"}, "/statements/0/timestamp"),
        ({"timestamp": "2099-13-01T00:00:00Z"}, "/statements/0/timestamp"),
        ({"impact_statement": ["not", "text"]}, "/statements/0/impact_statement"),
    ],
)
def test_refusals_name_the_pointer(change: dict[str, Any], pointer: str) -> None:
    assert _refusal(_doc(**change)).pointer == pointer


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"@context": "https://openvex.dev/ns/v9"}, "/@context"),
        ({"@context": None}, "/@context"),
        ({"author": ""}, "/author"),
        ({"timestamp": None}, "/timestamp"),
        ({"statements": []}, "/statements"),
        ({"statements": [[]]}, "/statements/0"),
    ],
)
def test_document_refusals_name_the_pointer(change: dict[str, Any], pointer: str) -> None:
    doc = copy.deepcopy(DOC)
    doc.update(change)
    assert _refusal(doc).pointer == pointer


def test_not_an_object_and_not_json() -> None:
    assert _refusal([DOC]).pointer == ""
    with pytest.raises(DecodeError):
        read_openvex(b'{"@context": ')


def test_identifiers_subcomponents_and_statement_timestamp() -> None:
    doc = _doc(
        timestamp="2099-02-01T10:00:00.123456789-06:00",
        status_notes="Checked by the build team.",
        products=[
            {
                "@id": "https://example.com/products/gadget",
                "identifiers": {"purl": "pkg:npm/JSONStream@1.3.5", "cpe23": "cpe:2.3:a:x:y"},
                "subcomponents": [{"@id": "pkg:pypi/Requests@2.0"}],
            },
            {"@id": "https://example.com/products/appliance", "identifiers": {"cpe23": "cpe:c"}},
            {"@id": "https://example.com/products/other", "identifiers": {"@cpe22": "cpe:/a:x"}},
            {"@id": "https://example.com/products/bare"},
            {"@id": "pkg:pypi/widget@2.0", "subcomponents": [{"@id": "pkg:pypi/requests@2.0"}]},
        ],
    )
    first, second = _read(doc)
    # Products naming the same subcomponents share a statement; the others get their own.
    assert first.products == ("pkg:npm/JSONStream@1.3.5", "pkg:pypi/widget@2.0")
    assert first.subcomponents == ("pkg:pypi/requests@2.0",)
    assert second.products == (
        "cpe:c",
        "cpe:/a:x",
        "https://example.com/products/bare",
    )
    assert second.subcomponents == ()
    for statement in (first, second):
        assert statement.timestamp == "2099-02-01T10:00:00.123456789-06:00"
        assert statement.detail == "Checked by the build team."


def test_legacy_statement_level_subcomponents_narrow_every_product() -> None:
    doc = _doc(vulnerability="CVE-2099-0002", products=["pkg:pypi/a@1", "pkg:pypi/b@1"])
    doc["statements"][0]["subcomponents"] = ["pkg:pypi/c@1"]
    (statement,) = _read(doc)
    assert statement.vulnerability == "CVE-2099-0002"
    assert statement.products == ("pkg:pypi/a@1", "pkg:pypi/b@1")
    assert statement.subcomponents == ("pkg:pypi/c@1",)


def test_a_statement_without_products_names_none() -> None:
    doc = _doc()
    del doc["statements"][0]["products"]
    (statement,) = _read(doc)
    assert statement.products == ()


def test_one_bad_statement_refuses_the_whole_document() -> None:
    doc = _doc()
    doc["statements"].append({"vulnerability": {"name": "CVE-2099-0003"}, "status": "affected"})
    assert _refusal(doc).pointer == "/statements/1/action_statement"
