"""The CSAF 2.0 reader: schema (with FIRST CVSS refs), product tree resolution, refusals."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.csaf import READER
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.reader import Reader
from clearinghouse.formats.records import AffectedPackage, FindingRecord, Severity

_READER: Reader = READER  # mypy checks the protocol here

DOC: dict[str, Any] = {
    "document": {
        "category": "csaf_security_advisory",
        "csaf_version": "2.0",
        "title": "Example advisory",
        "publisher": {
            "category": "vendor",
            "name": "Example PSIRT",
            "namespace": "https://psirt.example.com",
        },
        "distribution": {"tlp": {"label": "AMBER"}},
        "tracking": {
            "id": "EX-2099-0001",
            "status": "final",
            "version": "1",
            "initial_release_date": "2099-01-01T00:00:00Z",
            "current_release_date": "2099-01-01T00:00:00Z",
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
                        "category": "product_name",
                        "name": "widget",
                        "branches": [
                            {
                                "category": "product_version",
                                "name": "1.0",
                                "product": {
                                    "product_id": "WIDGET-1.0",
                                    "name": "Example widget 1.0",
                                    "product_identification_helper": {
                                        "purl": "pkg:pypi/widget@1.0"
                                    },
                                },
                            },
                            {
                                "category": "product_version",
                                "name": "1.1",
                                "product": {
                                    "product_id": "WIDGET-1.1",
                                    "name": "Example widget 1.1",
                                },
                            },
                        ],
                    }
                ],
            }
        ],
        "full_product_names": [{"product_id": "OS-9", "name": "Example OS 9"}],
        "relationships": [
            {
                "category": "default_component_of",
                "product_reference": "WIDGET-1.0",
                "relates_to_product_reference": "OS-9",
                "full_product_name": {
                    "product_id": "OS-9:WIDGET-1.0",
                    "name": "Example widget 1.0 as part of Example OS 9",
                },
            }
        ],
    },
    "vulnerabilities": [
        {
            "cve": "CVE-2099-0001",
            "title": "Widget parser overflow",
            "ids": [
                {"system_name": "GitHub", "text": "GHSA-AAAA-bbbb-CCCC"},
                {"system_name": "Bugzilla", "text": "123456"},
            ],
            "cwe": {"id": "CWE-787", "name": "Out-of-bounds Write"},
            "notes": [
                {"category": "summary", "text": "Short summary."},
                {"category": "description", "text": "The long description."},
            ],
            "product_status": {
                "known_affected": ["WIDGET-1.0", "OS-9:WIDGET-1.0"],
                "fixed": ["WIDGET-1.1"],
            },
            "scores": [
                {
                    "products": ["WIDGET-1.0"],
                    "cvss_v3": {
                        "version": "3.1",
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                        "baseScore": 9.8,
                        "baseSeverity": "CRITICAL",
                    },
                }
            ],
        },
        {"notes": [{"category": "general", "text": "Something else."}]},
    ],
}


def _doc() -> dict[str, Any]:
    return copy.deepcopy(DOC)


def _read(doc: Any, limits: ReadLimits | None = None) -> list[FindingRecord]:
    READER.validate(doc)
    return list(READER.read(doc, limits=limits or ReadLimits()))


def test_sniff() -> None:
    assert READER.sniff(DOC)
    assert READER.sniff({"document": {"csaf_version": "1.2"}})  # so validate can say why not
    assert not READER.sniff({"document": {"title": "x"}})
    assert not READER.sniff({"feed": {"id": "x"}})
    assert not READER.sniff([DOC])


def test_fields_of_a_hand_written_document() -> None:
    first, second = _read(_doc())
    assert first.format == "csaf"
    assert first.pointer == "/vulnerabilities/0"
    assert first.producer == "https://psirt.example.com"
    assert first.tlp == "AMBER"
    assert first.title == "Widget parser overflow"
    assert first.description == "The long description."  # "description" before "summary"
    assert first.aliases == ("CVE-2099-0001", "GHSA-aaaa-bbbb-cccc")  # not the Bugzilla id
    assert first.cwes == (787,)
    assert first.severity is Severity.CRITICAL
    assert first.security_severity == 9.8
    assert first.affected == (
        AffectedPackage(name="Example widget 1.0", purl="pkg:pypi/widget@1.0"),
        # the relationship borrows its component's purl
        AffectedPackage(
            name="Example widget 1.0 as part of Example OS 9", purl="pkg:pypi/widget@1.0"
        ),
    )
    assert first.target == "pkg:pypi/widget@1.0"
    assert first.extra["tracking_id"] == "EX-2099-0001"
    assert "fixed_purls" not in first.extra  # WIDGET-1.1 has no purl

    assert second.pointer == "/vulnerabilities/1"
    assert second.title == "Example advisory"  # no vulnerability title: the document's
    assert second.description == "Something else."
    assert second.aliases == ()
    assert second.severity is None

    summary = READER.summarize(DOC)
    assert (summary.format, summary.producer, summary.finding_count, summary.tlp) == (
        "csaf",
        "https://psirt.example.com",
        2,
        "AMBER",
    )


def test_white_is_read_as_clear_and_v2_scores_are_banded() -> None:
    doc = _doc()
    doc["document"]["distribution"]["tlp"]["label"] = "WHITE"
    doc["vulnerabilities"][0]["scores"] = [
        {
            "products": ["WIDGET-1.0"],
            "cvss_v2": {
                "version": "2.0",
                "vectorString": "AV:N/AC:L/Au:N/C:P/I:N/A:N",
                "baseScore": 5.0,
            },
        }
    ]
    first = _read(doc)[0]
    assert first.tlp == "CLEAR"
    assert first.severity is Severity.MEDIUM


def test_no_vulnerabilities_means_no_findings() -> None:
    doc = _doc()
    del doc["vulnerabilities"]
    assert _read(doc) == []
    assert READER.summarize(doc).finding_count == 0


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda d: d["document"].update(csaf_version="2.1"), "/document/csaf_version"),
        (lambda d: d["document"]["tracking"].update(status="nope"), "/document/tracking/status"),
        (lambda d: d["document"].pop("publisher"), "/document"),
        (
            lambda d: d["vulnerabilities"][0]["scores"][0]["cvss_v3"].update(baseScore=11),
            "/vulnerabilities/0/scores/0/cvss_v3",  # a oneOf of the FIRST v3.0/v3.1 schemas
        ),
        (lambda d: d["vulnerabilities"][0].update(cve="CVE-1"), "/vulnerabilities/0/cve"),
    ],
)
def test_refusals_name_the_pointer(mutate: Any, pointer: str) -> None:
    doc = _doc()
    mutate(doc)
    with pytest.raises(SchemaError) as caught:
        READER.validate(doc)
    assert caught.value.pointer == pointer


def test_over_long_note_is_refused_with_pointer() -> None:
    doc = _doc()
    doc["vulnerabilities"][0]["notes"][1]["text"] = "N" * 500
    with pytest.raises(SchemaError) as caught:
        _read(doc, ReadLimits(max_string_chars=100))
    assert caught.value.pointer == "/vulnerabilities/0/notes/1/text"


def test_deep_branches_do_not_recurse() -> None:
    doc = _doc()
    leaf: dict[str, Any] = {
        "category": "product_version",
        "name": "deep",
        "product": {"product_id": "DEEP", "name": "Deep product"},
    }
    for _ in range(2000):
        leaf = {"category": "product_family", "name": "level", "branches": [leaf]}
    doc["product_tree"]["branches"].append(leaf)
    doc["vulnerabilities"][0]["product_status"]["known_affected"].append("DEEP")
    first = next(READER.read(doc, limits=ReadLimits()))  # read only: the schema is not the point
    assert AffectedPackage(name="Deep product") in first.affected


# ---- the corpus ------------------------------------------------------------------------------


@pytest.mark.corpus
def test_every_oasis_example(corpus: Path) -> None:
    examples = corpus / "csaf/csaf_2.0/examples"
    csaf_files = sorted((examples / "csaf").rglob("*.json"))
    assert len(csaf_files) == 19  # 6 advisories + 13 VEX documents
    total = 0
    for file in csaf_files:
        doc = orjson.loads(file.read_bytes())
        assert READER.sniff(doc), file.name
        found = _read(doc)
        assert len(found) == len(doc.get("vulnerabilities") or ()), file.name
        assert all(f.producer == doc["document"]["publisher"]["namespace"] for f in found)
        total += len(found)
    assert total == 59
    others = [f for f in examples.rglob("*.json") if "csaf" not in f.relative_to(examples).parts]
    assert len(others) == 8  # ROLIE feeds, provider metadata, aggregators
    for file in others:
        assert not READER.sniff(orjson.loads(file.read_bytes())), file.name


@pytest.mark.corpus
def test_cisco_example_resolves_its_product_tree(corpus: Path) -> None:
    doc = orjson.loads(
        (corpus / "csaf/csaf_2.0/examples/csaf/cisco-sa-20180328-smi2.json").read_bytes()
    )
    (found,) = _read(doc)
    assert found.aliases == ("CVE-2018-0171",)
    assert found.severity is Severity.CRITICAL
    assert found.security_severity == 9.8
    assert len(found.affected) == len(
        set(doc["vulnerabilities"][0]["product_status"]["known_affected"])
    )
    assert all(a.name and not a.name.startswith("CSAFPID") for a in found.affected)


@pytest.mark.corpus
def test_red_hat_advisories(corpus: Path) -> None:
    folder = corpus / "osv/schema-testdata/redhat-csaf-to-osv/CSAF"
    docs = {f.stem: orjson.loads(f.read_bytes()) for f in sorted(folder.glob("*.json"))}
    assert sorted(docs) == ["rhsa-2003_315", "rhsa-2024_4546", "rhsa-2024_6220"]
    for doc in docs.values():
        READER.validate(doc)
    (found,) = _read(docs["rhsa-2024_4546"])
    assert found.producer == "https://www.redhat.com"
    assert found.tlp == "CLEAR"  # TLP 1.0 WHITE
    assert found.aliases == ("CVE-2023-45288",)
    assert found.cwes == (400,)
    assert found.severity is Severity.HIGH
    assert found.security_severity == 7.5
    assert found.title.startswith("golang: net/http, x/net/http2: unlimited number of CONTINUATION")
    assert found.description.startswith("A vulnerability was discovered with the implementation")
    assert found.extra["tracking_id"] == "RHSA-2024:4546"
    # Red Hat lists only fixed products; they are kept apart from "affected".
    assert found.affected == ()
    fixed = orjson.loads(found.extra["fixed_purls"])
    assert "pkg:rpm/redhat/git-lfs@2.13.3-3.el8_6.1?arch=x86_64" in fixed
    assert READER.summarize(docs["rhsa-2024_4546"]).tlp == "CLEAR"
    assert len(_read(docs["rhsa-2003_315"])) == 1


@pytest.mark.corpus
def test_defectdojo_inputs(corpus: Path) -> None:
    folder = corpus / "csaf/csaf-defectdojo-scans"

    def load(name: str) -> Any:
        return orjson.loads((folder / name).read_bytes())

    assert _read(load("csaf_no_vuln.json")) == []
    (one,) = _read(load("csaf_one_vuln.json"))
    assert one.aliases == ("CVE-2026-10001",)
    assert one.severity is Severity.CRITICAL
    assert one.cwes == (94,)
    assert len(_read(load("csaf_many_vuln.json"))) == 2
    unsupported = load("csaf_unsupported_version.json")
    assert READER.sniff(unsupported)
    with pytest.raises(SchemaError) as caught:
        READER.validate(unsupported)
    assert caught.value.pointer == "/document/csaf_version"
    assert "'1.2'" in caught.value.expected
