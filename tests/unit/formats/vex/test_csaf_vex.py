"""The CSAF VEX reader: the OASIS CSAF VEX examples, the OASIS validator's VEX-profile test
cases, and hand-made documents for each status group and each refusal."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.vex import VexStatement, read_csaf_vex

_EXAMPLES = "csaf/csaf_2.0/examples/csaf"
_VALIDATOR = "csaf/csaf_2.0/test/validator/data"
GROUPS = {
    "known_not_affected": "not_affected",
    "known_affected": "affected",
    "first_affected": "affected",
    "last_affected": "affected",
    "fixed": "fixed",
    "first_fixed": "fixed",
    "under_investigation": "under_investigation",
}


def _product(product_id: str, **helper: str) -> dict[str, Any]:
    product: dict[str, Any] = {"product_id": product_id, "name": f"Example {product_id}"}
    if helper:
        product["product_identification_helper"] = helper
    return product


DOC: dict[str, Any] = {
    "document": {
        "category": "csaf_vex",
        "csaf_version": "2.0",
        "title": "Example VEX",
        "publisher": {
            "category": "vendor",
            "name": "Example PSIRT",
            "namespace": "https://psirt.example.com",
        },
        "tracking": {
            "id": "EX-VEX-2099-0001",
            "status": "final",
            "version": "1",
            "initial_release_date": "2099-01-01T00:00:00Z",
            "current_release_date": "2099-01-02T00:00:00Z",
            "revision_history": [
                {"date": "2099-01-01T00:00:00Z", "number": "1", "summary": "Initial."}
            ],
        },
    },
    "product_tree": {
        "branches": [
            {
                "category": "vendor",
                "name": "Example",
                "branches": [
                    {
                        "category": "product_version",
                        "name": "1.0",
                        "product": _product("WIDGET-1.0", purl="pkg:PYPI/Widget_Lib@1.0"),
                    },
                    {
                        "category": "product_version",
                        "name": "1.1",
                        "product": _product("WIDGET-1.1", purl="pkg:pypi/widget-lib@1.1"),
                    },
                ],
            }
        ],
        "full_product_names": [
            _product("OS-9", cpe="cpe:/o:example:os:9"),
            _product("TOASTER-2"),
            _product("TOASTER-3"),
        ],
        "relationships": [
            {
                "category": "default_component_of",
                "product_reference": "WIDGET-1.0",
                "relates_to_product_reference": "OS-9",
                "full_product_name": _product("OS-9:WIDGET-1.0"),
            }
        ],
        "product_groups": [{"group_id": "TOASTERS", "product_ids": ["TOASTER-2", "TOASTER-3"]}],
    },
    "vulnerabilities": [
        {
            "cve": "CVE-2099-0001",
            "ids": [
                {"system_name": "GitHub", "text": "GHSA-AAAA-bbbb-CCCC"},
                {"system_name": "Bugzilla", "text": "123456"},
            ],
            "product_status": {
                "known_not_affected": ["WIDGET-1.0", "TOASTER-2", "TOASTER-3"],
                "known_affected": ["OS-9:WIDGET-1.0"],
                "fixed": ["WIDGET-1.1"],
                "under_investigation": ["OS-9"],
            },
            "flags": [{"label": "vulnerable_code_not_present", "product_ids": ["WIDGET-1.0"]}],
            "threats": [
                {
                    "category": "impact",
                    "details": "No parser in toasters.",
                    "group_ids": ["TOASTERS"],
                },
                {"category": "impact", "details": "Important"},  # names no product: not used
                {"category": "exploit_status", "details": "None known.", "product_ids": ["OS-9"]},
            ],
            "remediations": [
                {
                    "category": "vendor_fix",
                    "details": "Update to widget 1.1.",
                    "product_ids": ["OS-9:WIDGET-1.0", "WIDGET-1.1"],
                }
            ],
        }
    ],
}


def _doc() -> dict[str, Any]:
    return copy.deepcopy(DOC)


def _read(doc: Any) -> tuple[VexStatement, ...]:
    return read_csaf_vex(orjson.dumps(doc)).statements


def _refusal(doc: Any) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        read_csaf_vex(orjson.dumps(doc))
    return caught.value


# ---- real documents ------------------------------------------------------------------------


def _vex_examples(corpus: Path) -> list[Path]:
    files = sorted((corpus / _EXAMPLES / "csaf_vex").glob("*.json"))
    assert len(files) == 13
    return files


@pytest.mark.corpus
def test_every_oasis_vex_example_reads_as_its_product_status_says(corpus: Path) -> None:
    """(vulnerability, product, status) triples against the raw JSON, file by file.

    The examples' products have no identification helpers, so products are their ids.
    """
    total = 0
    for path in _vex_examples(corpus):
        raw = json.loads(path.read_bytes())
        doc = read_csaf_vex(path.read_bytes())
        assert doc.format == "csaf-vex"
        assert doc.author == raw["document"]["publisher"]["name"]
        assert doc.timestamp == raw["document"]["tracking"]["current_release_date"]
        expected = sorted(
            (v["cve"], product, GROUPS[group])
            for v in raw["vulnerabilities"]
            for group, products in v["product_status"].items()
            if group in GROUPS
            for product in products
        )
        got = sorted(
            (s.vulnerability, product, s.status) for s in doc.statements for product in s.products
        )
        assert got == expected, path
        for statement in doc.statements:
            assert statement.timestamp == doc.timestamp
            if statement.status == "not_affected":
                assert statement.justification or statement.impact_statement, path
            if statement.status == "affected":
                assert statement.action_statement, path
        total += len(doc.statements)
    assert total == 68


@pytest.mark.corpus
def test_flags_and_threats_of_the_secvisogram_example(corpus: Path) -> None:
    doc = read_csaf_vex((corpus / _EXAMPLES / "csaf_vex/sec-vex-2022-0001.json").read_bytes())
    assert [s.vulnerability for s in doc.statements] == [
        "CVE-2021-44228",
        "CVE-2021-45046",
        "CVE-2021-45105",
    ]
    for statement in doc.statements:
        assert statement.products == ("CSAFPID-0001",)
        assert statement.justification == "component_not_present"
        assert (
            statement.impact_statement
            == "Secvisogram is written in JavaScript. No Java is included."
        )
        assert statement.detail == (
            "product_status: known_not_affected; flags.label: component_not_present"
        )


@pytest.mark.corpus
def test_remediations_become_action_statements(corpus: Path) -> None:
    doc = read_csaf_vex((corpus / _EXAMPLES / "csaf_vex/2022-evd-uc-07-001.json").read_bytes())
    affected = [s for s in doc.statements if s.status == "affected"]
    assert [(s.products, s.action_statement) for s in affected] == [
        (
            ("CSAFPID-0002", "CSAFPID-0003", "CSAFPID-0004"),
            "vendor_fix: Update to version 4.2 or later.",
        ),
        (("CSAFPID-0008",), "vendor_fix: Update to the new version 5.1 or later."),
    ]


def _oasis_vex_cases(corpus: Path, kind: str) -> list[Path]:
    testcases = json.loads((corpus / _VALIDATOR / "testcases.json").read_bytes())
    found = []
    for test in testcases["tests"]:
        if not test["id"].startswith("6.1.27."):
            continue
        for case in test.get(kind, []):
            path = corpus / _VALIDATOR / case["name"]
            if json.loads(path.read_bytes())["document"]["category"] == "csaf_vex":
                found.append(path)
    return found


@pytest.mark.corpus
def test_oasis_vex_profile_failures_are_refused_naming_the_vulnerability(corpus: Path) -> None:
    failures = _oasis_vex_cases(corpus, "failures")
    assert len(failures) == 9  # 6.1.27.7, .8, six of .9 and .10
    for path in failures:
        with pytest.raises(SchemaError) as caught:
            read_csaf_vex(path.read_bytes())
        assert caught.value.pointer.startswith("/vulnerabilities/"), path


@pytest.mark.corpus
def test_oasis_vex_profile_valid_cases_are_read(corpus: Path) -> None:
    valid = _oasis_vex_cases(corpus, "valid")
    assert len(valid) == 6
    for path in valid:
        doc = read_csaf_vex(path.read_bytes())
        assert all(s.status == "not_affected" for s in doc.statements)
        assert all(s.justification or s.impact_statement for s in doc.statements)


@pytest.mark.corpus
@pytest.mark.parametrize(
    "relative",
    [
        f"{_EXAMPLES}/bsi-2022-0001.json",
        f"{_EXAMPLES}/rhsa-2021_5186.json",
        f"{_EXAMPLES}/cisco-sa-20180328-smi2.json",
        "csaf/csaf-defectdojo-scans/csaf_one_vuln.json",
    ],
)
def test_advisories_are_not_vex(corpus: Path, relative: str) -> None:
    with pytest.raises(SchemaError) as caught:
        read_csaf_vex((corpus / relative).read_bytes())
    assert caught.value.pointer == "/document/category"


# ---- hand-made documents -------------------------------------------------------------------


def test_product_tree_resolution_and_per_product_notes() -> None:
    doc = read_csaf_vex(orjson.dumps(DOC))
    assert (doc.format, doc.author, doc.timestamp) == (
        "csaf-vex",
        "Example PSIRT",
        "2099-01-02T00:00:00Z",
    )
    base = VexStatement(
        vulnerability="CVE-2099-0001",
        aliases=("GHSA-aaaa-bbbb-cccc",),  # not the Bugzilla number
        products=(),
        status="fixed",
        timestamp="2099-01-02T00:00:00Z",
    )
    assert doc.statements == (
        replace(
            base,
            products=("pkg:pypi/widget-lib@1.0",),
            status="not_affected",
            justification="vulnerable_code_not_present",
            detail="product_status: known_not_affected; flags.label: vulnerable_code_not_present",
        ),
        replace(
            base,
            products=("TOASTER-2", "TOASTER-3"),  # no helper: the id as written
            status="not_affected",
            impact_statement="No parser in toasters.",
            detail="product_status: known_not_affected",
        ),
        replace(
            base,
            # A relationship is the containing product with the component as subcomponent.
            products=("cpe:/o:example:os:9",),
            subcomponents=("pkg:pypi/widget-lib@1.0",),
            status="affected",
            action_statement="vendor_fix: Update to widget 1.1.",
            detail="product_status: known_affected",
        ),
        replace(
            base,
            products=("pkg:pypi/widget-lib@1.1",),
            status="fixed",
            action_statement="vendor_fix: Update to widget 1.1.",
            detail="product_status: fixed",
        ),
        replace(
            base,
            products=("cpe:/o:example:os:9",),
            status="under_investigation",
            detail="product_status: under_investigation",
        ),
    )


@pytest.mark.parametrize(("group", "status"), sorted(GROUPS.items()))
def test_each_status_group(group: str, status: str) -> None:
    doc = _doc()
    vulnerability = doc["vulnerabilities"][0]
    # Keep one profile status (6.1.27.7) beside the group under test.
    vulnerability["product_status"] = {"under_investigation": ["OS-9"], group: ["WIDGET-1.1"]}
    vulnerability["flags"][0]["product_ids"] = ["WIDGET-1.1"]
    statement = next(s for s in _read(doc) if s.products == ("pkg:pypi/widget-lib@1.1",))
    assert statement.status == status
    assert statement.detail is not None
    assert statement.detail.startswith(f"product_status: {group}")


def test_recommended_is_not_a_status() -> None:
    doc = _doc()
    doc["vulnerabilities"][0]["product_status"]["recommended"] = ["TOASTER-2"]
    assert _read(doc) == _read(DOC)


def test_a_document_whose_category_is_not_csaf_vex_is_refused() -> None:
    doc = _doc()
    doc["document"]["category"] = "csaf_security_advisory"
    error = _refusal(doc)
    assert error.pointer == "/document/category"
    assert "csaf_vex" in error.expected


def test_not_affected_without_impact_statement_is_refused() -> None:
    doc = _doc()
    del doc["vulnerabilities"][0]["flags"]
    error = _refusal(doc)
    assert error.pointer == "/vulnerabilities/0/product_status/known_not_affected/0"
    assert "6.1.27.9" in error.expected


def test_affected_without_action_statement_is_refused() -> None:
    doc = _doc()
    del doc["vulnerabilities"][0]["remediations"]
    error = _refusal(doc)
    assert error.pointer == "/vulnerabilities/0/product_status/known_affected/0"
    assert "6.1.27.10" in error.expected


def test_undefined_product_and_group_ids_are_refused() -> None:
    doc = _doc()
    doc["vulnerabilities"][0]["product_status"]["fixed"].append("NO-SUCH-PRODUCT")
    assert _refusal(doc).pointer == "/vulnerabilities/0/product_status/fixed/1"

    doc = _doc()
    doc["vulnerabilities"][0]["threats"][0]["group_ids"] = ["NO-SUCH-GROUP"]
    assert _refusal(doc).pointer == "/vulnerabilities/0/threats/0/group_ids/0"


def test_profile_requirements() -> None:
    doc = _doc()
    del doc["vulnerabilities"]
    assert _refusal(doc).pointer == "/vulnerabilities"

    doc = _doc()
    doc["vulnerabilities"][0]["product_status"] = {"recommended": ["WIDGET-1.1"]}
    assert _refusal(doc).pointer == "/vulnerabilities/0/product_status"

    doc = _doc()
    del doc["vulnerabilities"][0]["cve"]
    # Without a CVE the first id names the vulnerability.
    assert _read(doc)[0].vulnerability == "GHSA-aaaa-bbbb-cccc"
    del doc["vulnerabilities"][0]["ids"]
    assert _refusal(doc).pointer == "/vulnerabilities/0"


def test_schema_and_version_are_checked() -> None:
    doc = _doc()
    doc["vulnerabilities"][0]["flags"][0]["label"] = "not_a_label"
    with pytest.raises(SchemaError) as caught:
        read_csaf_vex(orjson.dumps(doc))
    assert caught.value.pointer == "/vulnerabilities/0/flags/0/label"

    doc = _doc()
    doc["document"]["csaf_version"] = "2.1"
    with pytest.raises(SchemaError) as caught:
        read_csaf_vex(orjson.dumps(doc))
    assert caught.value.pointer == "/document/csaf_version"


def test_an_invalid_helper_purl_is_refused_where_it_sits() -> None:
    doc = _doc()
    branch = doc["product_tree"]["branches"][0]["branches"][1]
    branch["product"]["product_identification_helper"]["purl"] = "pkg:maven/no-namespace@1"
    assert _refusal(doc).pointer == (
        "/product_tree/branches/0/branches/1/product/product_identification_helper/purl"
    )
