"""The CycloneDX VEX reader: CycloneDX's own VEX examples (with the CISA use cases), a grype
report with analyses, and hand-made BOMs for each state, each justification and each refusal."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.core.errors import SchemaError, UnknownFormatError
from clearinghouse.formats.vex import VexStatement, read_cyclonedx_vex

_EXAMPLES = "cyclonedx/bom-examples/VEX"
# The mapping as the reader documents it, restated here so the corpus test checks the reader
# against the table rather than against itself.
STATES = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "exploitable": "affected",
    "in_triage": "under_investigation",
}

BOM: dict[str, Any] = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "version": 1,
    "metadata": {
        "timestamp": "2099-01-01T00:00:00Z",
        "authors": [{"name": "Example PSIRT"}],
        "component": {"type": "application", "name": "app", "version": "3.0", "bom-ref": "app"},
    },
    "components": [
        {
            "type": "library",
            "name": "Widget_Lib",
            "version": "1.0",
            "purl": "pkg:PYPI/Widget_Lib@1.0",
            "bom-ref": "widget",
            "components": [
                {
                    "type": "library",
                    "name": "inner",
                    "cpe": "cpe:2.3:a:x:inner:1:*:*:*:*:*:*:*",
                    "bom-ref": "inner",
                }
            ],
        }
    ],
    "services": [{"name": "api", "bom-ref": "svc-api"}],
    "vulnerabilities": [
        {
            "id": "cve-2099-0001",
            "references": [
                {"id": "GHSA-AAAA-bbbb-CCCC", "source": {"name": "GitHub"}},
                {"id": "CVE-2099-0001", "source": {"name": "NVD"}},
            ],
            "analysis": {
                "state": "not_affected",
                "justification": "code_not_reachable",
                "response": ["will_not_fix"],
                "detail": "The parser is never called.",
            },
            "affects": [{"ref": "widget"}],
        }
    ],
}


def _bom(**analysis: Any) -> dict[str, Any]:
    bom = copy.deepcopy(BOM)
    bom["vulnerabilities"][0]["analysis"] = analysis
    return bom


def _read(bom: Any) -> tuple[VexStatement, ...]:
    return read_cyclonedx_vex(orjson.dumps(bom)).statements


def _refusal(bom: Any) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        read_cyclonedx_vex(orjson.dumps(bom))
    return caught.value


# ---- real documents ------------------------------------------------------------------------


def _vex_files(corpus: Path) -> list[Path]:
    files = sorted((corpus / _EXAMPLES).rglob("vex*.json"))
    assert len(files) == 25, [str(f) for f in files]
    return files


@pytest.mark.corpus
def test_every_cyclonedx_vex_example_reads_as_its_table_says(corpus: Path) -> None:
    """Ids, statuses, products and the split by version sets against the raw JSON."""
    total = 0
    for path in _vex_files(corpus):
        raw = json.loads(path.read_bytes())
        doc = read_cyclonedx_vex(path.read_bytes())
        assert doc.format == "cyclonedx-vex"
        assert doc.timestamp == (raw.get("metadata") or {}).get("timestamp"), path
        entries = raw["vulnerabilities"]
        assert {(s.vulnerability, s.status) for s in doc.statements} == {
            (v["id"], STATES[v["analysis"]["state"]]) for v in entries
        }, path
        version_sets = [
            {
                tuple(x.get("version") or x.get("range") for x in a.get("versions", []))
                for a in v.get("affects", [])
            }
            or {()}
            for v in entries
        ]
        assert len(doc.statements) == sum(len(sets) for sets in version_sets), path
        assert sum(len(s.products) for s in doc.statements) == sum(
            len(v.get("affects", [])) for v in entries
        ), path
        total += len(doc.statements)
    assert total == 116


@pytest.mark.corpus
def test_cisa_case_1_has_one_document_per_status(corpus: Path) -> None:
    folder = corpus / _EXAMPLES / "CISA-Use-Cases/Case-1"
    found = {}
    for name in ("affected", "fixed", "not_affected", "under_investigation"):
        (statement,) = read_cyclonedx_vex((folder / f"vex-{name}.json").read_bytes()).statements
        found[name] = statement
        assert statement.status == name
        assert statement.vulnerability == "CVE-2021-44228"
    # The products are metadata components without purl or CPE: their bom-ref as written.
    assert found["not_affected"].products == ("product-ABC",)
    assert found["not_affected"].justification == "vulnerable_code_not_present"
    assert found["not_affected"].detail == (
        "analysis.state: not_affected; analysis.justification: code_not_present; "
        "analysis.response: will_not_fix"
    )
    assert found["affected"].impact_statement is not None
    assert found["affected"].justification is None


@pytest.mark.corpus
def test_bom_link_to_a_purl_bom_ref_and_references_as_aliases(corpus: Path) -> None:
    doc = read_cyclonedx_vex((corpus / _EXAMPLES / "vex.json").read_bytes())
    (statement,) = doc.statements
    assert statement.vulnerability == "CVE-2020-25649"
    assert statement.aliases == ("SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302",)
    # urn:cdx:<serial>/1#pkg:maven/...: the fragment is a purl, so the product is that purl.
    assert statement.products == (
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar",
    )
    assert statement.justification == "vulnerable_code_not_in_execute_path"
    assert statement.action_statement is not None
    assert statement.action_statement.startswith("Upgrade com.fasterxml.jackson.core")


@pytest.mark.corpus
def test_version_ranges_split_statements(corpus: Path) -> None:
    doc = read_cyclonedx_vex((corpus / _EXAMPLES / "CISA-Use-Cases/Case-7/vex.json").read_bytes())
    abc = "urn:cdx:cbb2cd68-2857-43b8-a10b-e8c03d277d18/1#product-ABC"
    jkl = "urn:cdx:e4c3eedc-4978-470c-ad02-6ffff63738ff/1#product-JKL"
    assert [(s.status, s.products, s.versions) for s in doc.statements] == [
        ("affected", (abc,), ("2.4", "2.6", "vers:generic/>=2.9|<=4.1")),
        ("affected", (jkl,), ("vers:generic/>=4.5|<=5.0",)),
        (
            "not_affected",
            (abc,),
            ("vers:generic/>=1.0|<=2.3", "2.5", "vers:generic/>=2.7|<=2.8", "4.2"),
        ),
        ("not_affected", (jkl,), ("vers:generic/>=1.0|<=4.4",)),
        ("fixed", (jkl,), ("5.1",)),
    ]


@pytest.mark.corpus
def test_a_vulnerability_without_affects_names_no_product(corpus: Path) -> None:
    doc = read_cyclonedx_vex((corpus / _EXAMPLES / "Use-Cases/Case-7/vex.json").read_bytes())
    (statement,) = doc.statements
    assert statement.products == ()
    assert doc.author == "Acme, Inc."  # the supplier: the BOM names no authors


@pytest.mark.corpus
def test_grype_report_resolves_bom_refs_to_component_purls(corpus: Path) -> None:
    path = corpus / "cyclonedx/tool-output/defectdojo/cyclonedx/log4j.json"
    doc = read_cyclonedx_vex(path.read_bytes())
    assert len(doc.statements) == 8
    for statement in doc.statements:
        assert statement.status == "under_investigation"
        # The bom-ref carries grype's package-id qualifier; the component's purl does not.
        assert statement.products == ("pkg:maven/org.apache.logging.log4j/log4j-core@2.13.2",)
        assert statement.timestamp == "2022-07-22T09:45:32+01:00"


@pytest.mark.corpus
@pytest.mark.parametrize(
    "relative",
    [
        "cyclonedx/tool-output/defectdojo/cyclonedx/jake2.json",
        "cyclonedx/tool-output/defectdojo/cyclonedx/issue_9277.json",
        "cyclonedx/tool-output/trivy/integration/testdata/npm-cyclonedx.json.golden",
        "cyclonedx/bom-examples/VEX/bom.json",  # 1.3: the missing vulnerabilities speak first
    ],
)
def test_scanner_reports_and_sboms_are_not_vex(corpus: Path, relative: str) -> None:
    with pytest.raises(UnknownFormatError, match="not VEX"):
        read_cyclonedx_vex((corpus / relative).read_bytes())


# ---- hand-made documents -------------------------------------------------------------------


def test_fields_are_normalized() -> None:
    doc = read_cyclonedx_vex(orjson.dumps(BOM))
    assert (doc.format, doc.author, doc.timestamp) == (
        "cyclonedx-vex",
        "Example PSIRT",
        "2099-01-01T00:00:00Z",
    )
    assert doc.statements == (
        VexStatement(
            vulnerability="CVE-2099-0001",
            aliases=("GHSA-aaaa-bbbb-cccc",),
            products=("pkg:pypi/widget-lib@1.0",),
            status="not_affected",
            justification="vulnerable_code_not_in_execute_path",
            impact_statement="The parser is never called.",
            timestamp="2099-01-01T00:00:00Z",
            detail=(
                "analysis.state: not_affected; analysis.justification: code_not_reachable; "
                "analysis.response: will_not_fix"
            ),
        ),
    )


@pytest.mark.parametrize(("state", "status"), sorted(STATES.items()))
def test_each_state(state: str, status: str) -> None:
    (statement,) = _read(_bom(state=state))
    assert statement.status == status
    assert statement.justification is None
    assert statement.detail == f"analysis.state: {state}"


@pytest.mark.parametrize(
    ("justification", "expected"),
    [
        ("code_not_present", "vulnerable_code_not_present"),
        ("code_not_reachable", "vulnerable_code_not_in_execute_path"),
        ("requires_configuration", "vulnerable_code_cannot_be_controlled_by_adversary"),
        ("requires_dependency", "vulnerable_code_cannot_be_controlled_by_adversary"),
        ("requires_environment", "vulnerable_code_cannot_be_controlled_by_adversary"),
        ("protected_at_perimeter", "vulnerable_code_cannot_be_controlled_by_adversary"),
        ("protected_by_compiler", "inline_mitigations_already_exist"),
        ("protected_at_runtime", "inline_mitigations_already_exist"),
        ("protected_by_mitigating_control", "inline_mitigations_already_exist"),
    ],
)
def test_each_justification(justification: str, expected: str) -> None:
    (statement,) = _read(_bom(state="false_positive", justification=justification))
    assert statement.status == "not_affected"
    assert statement.justification == expected
    assert statement.detail == (
        f"analysis.state: false_positive; analysis.justification: {justification}"
    )


def test_a_justification_beside_another_state_is_kept_only_in_detail() -> None:
    (statement,) = _read(_bom(state="exploitable", justification="code_not_present"))
    assert statement.justification is None
    assert statement.detail is not None
    assert "code_not_present" in statement.detail


def test_refs_resolve_to_purl_cpe_bom_ref_purl_and_bom_link() -> None:
    bom = _bom(
        state="resolved",
        lastUpdated="2099-03-01T00:00:00Z",
        firstIssued="2099-02-01T00:00:00Z",
    )
    link = "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/2#component-7"
    bom["vulnerabilities"][0]["affects"] = [
        {"ref": "widget"},
        {"ref": "inner"},  # nested, CPE only
        {"ref": "svc-api"},  # a service: no purl or CPE
        {"ref": "app"},  # the metadata component
        {"ref": "pkg:NPM/left-pad@1.3.0"},  # a purl that is no bom-ref here
        {"ref": link},  # a BOM-Link whose fragment is not a purl
        {"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#pkg%3Apypi%2Fx%401"},
    ]
    bom["vulnerabilities"][0]["recommendation"] = "Upgrade to 1.1."
    bom["vulnerabilities"][0]["workaround"] = "Disable the parser."
    (statement,) = _read(bom)
    assert statement.products == (
        "pkg:pypi/widget-lib@1.0",
        "cpe:2.3:a:x:inner:1:*:*:*:*:*:*:*",
        "svc-api",
        "app",
        "pkg:npm/left-pad@1.3.0",
        link,
        "pkg:pypi/x@1",
    )
    assert statement.status == "fixed"
    assert statement.timestamp == "2099-03-01T00:00:00Z"  # lastUpdated before firstIssued
    assert statement.action_statement == "Upgrade to 1.1.\n\nDisable the parser."


def test_an_unresolvable_ref_is_refused() -> None:
    bom = copy.deepcopy(BOM)
    bom["vulnerabilities"][0]["affects"].append({"ref": "no-such-component"})
    error = _refusal(bom)
    assert error.pointer == "/vulnerabilities/0/affects/1/ref"
    assert "no-such-component" in error.expected


@pytest.mark.parametrize(
    ("ref", "pointer"),
    [
        ("urn:cdx:not-a-serial/1#x", "/vulnerabilities/0/affects/0/ref"),
        ("pkg:pypi/", "/vulnerabilities/0/affects/0/ref"),
    ],
)
def test_bad_refs_are_refused(ref: str, pointer: str) -> None:
    bom = copy.deepcopy(BOM)
    bom["vulnerabilities"][0]["affects"] = [{"ref": ref}]
    assert _refusal(bom).pointer == pointer


def test_an_invalid_purl_on_a_referenced_component_is_refused() -> None:
    bom = copy.deepcopy(BOM)
    bom["components"][0]["purl"] = "pkg:maven/no-namespace@1"
    assert _refusal(bom).pointer == "/components/0/purl"


def test_versions_narrow_and_contradictions_are_refused() -> None:
    bom = copy.deepcopy(BOM)
    bom["vulnerabilities"][0]["affects"] = [
        {"ref": "widget", "versions": [{"version": "1.0"}, {"range": "vers:pypi/>=2|<3"}]},
        {"ref": "app", "versions": [{"version": "1.0"}, {"range": "vers:pypi/>=2|<3"}]},
        {"ref": "inner"},
    ]
    first, second = _read(bom)
    assert first.products == ("pkg:pypi/widget-lib@1.0", "app")
    assert first.versions == ("1.0", "vers:pypi/>=2|<3")
    assert second.versions == ()

    bom["vulnerabilities"][0]["affects"][1]["versions"][1]["status"] = "affected"
    error = _refusal(bom)
    assert error.pointer == "/vulnerabilities/0/affects/1/versions/1/status"


def test_a_vulnerability_without_analysis_is_refused_among_analysed_ones() -> None:
    bom = copy.deepcopy(BOM)
    bom["vulnerabilities"].append({"id": "CVE-2099-0002", "affects": [{"ref": "widget"}]})
    assert _refusal(bom).pointer == "/vulnerabilities/1/analysis/state"


def test_a_vulnerability_without_id_is_refused() -> None:
    bom = copy.deepcopy(BOM)
    del bom["vulnerabilities"][0]["id"]
    assert _refusal(bom).pointer == "/vulnerabilities/0/id"


def test_schema_violations_name_the_pointer() -> None:
    bom = _bom(state="maybe")
    assert _refusal(bom).pointer == "/vulnerabilities/0/analysis/state"


@pytest.mark.parametrize("version", ["1.2", "1.3", "2.0", None])
def test_versions_before_vulnerabilities_are_refused(version: str | None) -> None:
    bom = copy.deepcopy(BOM)
    bom["specVersion"] = version
    assert _refusal(bom).pointer == "/specVersion"


@pytest.mark.parametrize("version", ["1.4", "1.5", "1.7"])
def test_other_supported_versions(version: str) -> None:
    bom = copy.deepcopy(BOM)
    bom["specVersion"] = version
    del bom["metadata"]["authors"]  # 1.4 authors are contacts; keep the BOM valid everywhere
    del bom["services"]
    (statement,) = _read(bom)
    assert statement.status == "not_affected"


def test_not_cyclonedx() -> None:
    bom = copy.deepcopy(BOM)
    bom["bomFormat"] = "SPDX"
    assert _refusal(bom).pointer == "/bomFormat"
    with pytest.raises(UnknownFormatError, match="SBOM, not VEX"):
        read_cyclonedx_vex(orjson.dumps({**BOM, "vulnerabilities": []}))
