"""The SPDX reader: the specification's examples, real tool output, refusals and relaxations."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.sbom import Component, read_spdx

_EXAMPLES = "cyclonedx/spdx-spec-2.3/examples"
_TRIVY = "cyclonedx/tool-output/trivy/integration/testdata"
_DOJO = "cyclonedx/tool-output/defectdojo/spdx"

# Real documents we refuse on purpose, with the reason (asserted below).
DELIBERATELY_REFUSED = {
    # A 2022 trivy-dev SPDX 2.2 tag-value fixture: its packages lack PackageDownloadLocation
    # (mandatory, cardinality 1..1, in SPDX 2.2 and 2.3) and "Created" has fractional seconds,
    # which the SPDX date format does not allow. spdx-tools refuses it and so do we: loosening
    # the validator for one old generator would let malformed documents through for everyone.
    f"{_TRIVY}/fixtures/sbom/centos-7-spdx.txt": "download_location",
}


@pytest.mark.corpus
def test_spec_example_json_and_tag_value_agree(corpus: Path) -> None:
    as_json = read_spdx((corpus / _EXAMPLES / "SPDXJSONExample-v2.3.spdx.json").read_bytes())
    as_tv = read_spdx((corpus / _EXAMPLES / "SPDXTagExample-v2.3.spdx").read_bytes())
    assert (as_json.encoding, as_tv.encoding) == ("json", "tag-value")
    assert as_json.components == as_tv.components
    assert (as_json.spec_version, as_json.product_name, as_json.product_version) == (
        "2.3",
        "glibc",
        "2.11.1",
    )
    assert as_json.serial == (
        "http://spdx.org/spdxdocs/spdx-example-444504E0-4F89-41D3-9A0C-0305E82C3301"
    )
    assert [c.name for c in as_json.components] == [
        "glibc",
        "Apache Commons Lang",
        "Jena",
        "Saxon",
    ]
    assert [c.purl for c in as_json.components if c.purl] == [
        "pkg:maven/org.apache.jena/apache-jena@3.12.0"
    ]
    glibc = as_json.components[0]
    assert glibc.cpes == ("cpe:2.3:a:pivotal_software:spring_framework:4.1.0:*:*:*:*:*:*:*",)
    assert (glibc.ref, glibc.supplier, glibc.pointer) == (
        "SPDXRef-Package",
        "Jane Doe",
        "/packages/0",
    )
    assert as_json.components[2].ecosystem == "Maven"
    assert as_json.warnings == ()


@pytest.mark.corpus
def test_trivy_spdx_json(corpus: Path) -> None:
    conda = read_spdx((corpus / _TRIVY / "conda-spdx.json.golden").read_bytes())
    assert conda.product_name == "testdata/fixtures/repo/conda"  # the DESCRIBES target
    assert [c.purl for c in conda.components] == [
        "pkg:conda/openssl@1.1.1q",
        "pkg:conda/pip@22.2.2",
        None,  # the scanned filesystem itself
    ]

    julia = read_spdx((corpus / _TRIVY / "julia-spdx.json.golden").read_bytes())
    purls = [c.purl for c in julia.components if c.purl]
    # Two packages named B 1.9.0 differ by uuid, so both stay.
    assert purls == [
        "pkg:julia/A@1.9.0?uuid=ead4f63c-334e-11e9-00e6-e7f0a5f21b60",
        "pkg:julia/B@1.9.0?uuid=f41f7b98-334e-11e9-1257-49272045fb24",
        "pkg:julia/B@1.9.0?uuid=edca9bc6-334e-11e9-3554-9595dbb4349c",
    ]


@pytest.mark.corpus
def test_defectdojo_spdx(corpus: Path) -> None:
    many = read_spdx((corpus / _DOJO / "spdx_many_vuln.json").read_bytes())
    assert [c.purl for c in many.components] == [
        f"pkg:apk/alpine/{name}?arch=x86_64&distro=alpine-3.10.9"
        for name in (
            "alpine-baselayout@3.1.2-r0",
            "alpine-keys@2.1-r2",
            "apk-tools@2.10.6-r0",
            "busybox@1.30.1-r5",
        )
    ]
    assert {c.ecosystem for c in many.components} == {"Alpine"}
    assert many.components[0].supplier == "Natanael Copa"
    assert len(many.components[0].cpes) == 2
    # No DESCRIBES relationship: tolerated, warned about, and the document name is the product.
    assert many.product_name == "generic-image"
    assert len(many.warnings) == 1
    assert "DESCRIBES" in many.warnings[0]

    one = read_spdx((corpus / _DOJO / "spdx_one_vuln.spdx").read_bytes())
    assert one.encoding == "tag-value"
    assert [c.name for c in one.components] == ["alpine-baselayout", "alpine-keys"]
    assert one.components[0].supplier is None  # NOASSERTION


@pytest.mark.corpus
def test_deliberately_refused_documents(corpus: Path) -> None:
    for path, field in DELIBERATELY_REFUSED.items():
        with pytest.raises(SchemaError, match=field):
            read_spdx((corpus / path).read_bytes())


# --- documents of our own ------------------------------------------------------------------


def _package(index: int, **fields: Any) -> dict[str, Any]:
    return {
        "SPDXID": f"SPDXRef-P{index}",
        "name": f"p{index}",
        "versionInfo": "1.0",
        "downloadLocation": "NOASSERTION",
        "externalRefs": [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": f"pkg:pypi/p{index}@1.0",
            }
        ],
    } | fields


def _document(*packages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "doc",
        "documentNamespace": "https://example.com/spdx/doc-1",
        "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: test"]},
        "packages": list(packages),
        "relationships": [
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": "SPDXRef-P0",
            }
        ],
    } | fields


def _refusal(doc: Any) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        read_spdx(orjson.dumps(doc))
    return caught.value


def test_minimal_document() -> None:
    inventory = read_spdx(orjson.dumps(_document(_package(0), _package(1))))
    assert inventory.components[1] == Component(
        name="p1",
        version="1.0",
        purl="pkg:pypi/p1@1.0",
        ecosystem="PyPI",
        ref="SPDXRef-P1",
        pointer="/packages/1",
    )
    assert (inventory.product_name, inventory.product_version) == ("p0", "1.0")
    assert (inventory.format, inventory.spec_version) == ("spdx", "2.3")


def test_spdx_2_2_is_read_and_2_1_refused() -> None:
    # SPDX 2.2 made the license and copyright fields mandatory; 2.3 relaxed that.
    package = _package(0, licenseConcluded="MIT", licenseDeclared="MIT", copyrightText="NONE")
    older = read_spdx(orjson.dumps(_document(package, spdxVersion="SPDX-2.2")))
    assert older.spec_version == "2.2"
    error = _refusal(_document(_package(0), spdxVersion="SPDX-2.2"))
    assert error.pointer == "/packages/0"
    assert "mandatory in SPDX-2.2" in error.expected
    error = _refusal(_document(_package(0), spdxVersion="SPDX-2.1"))
    assert error.pointer == "/spdxVersion"
    assert "SPDX-2.2, SPDX-2.3" in error.expected


@pytest.mark.parametrize(
    ("mutate", "pointer", "words"),
    [
        (lambda d: d["packages"].__setitem__(1, "p1"), "/packages/1", "an object"),
        (lambda d: d["packages"][1].pop("name"), "/packages/1", "name"),
        (lambda d: d["packages"][1].pop("downloadLocation"), "/packages/1", "download_location"),
        (lambda d: d["packages"][1].__setitem__("name", 5), "/packages/1", "name"),
        (lambda d: d["packages"][1].__setitem__("SPDXID", "P 1"), "/packages/1", "spdx_id"),
        (
            lambda d: d["packages"][1].__setitem__("externalRefs", "x"),
            "/packages/1/externalRefs",
            "array",
        ),
        (lambda d: d.__setitem__("packages", {}), "/packages", "array"),
        (lambda d: d.__setitem__("creationInfo", []), "/creationInfo", "object"),
        (
            lambda d: d["packages"][1]["externalRefs"][0].__setitem__("referenceLocator", "nope"),
            "/packages/1",
            "purl",
        ),
    ],
)
def test_refusals_name_the_element(mutate: Any, pointer: str, words: str) -> None:
    doc = _document(_package(0), _package(1))
    mutate(doc)
    error = _refusal(doc)
    assert error.pointer == pointer
    assert words in error.expected


def test_purl_spdx_accepts_but_the_spec_refuses_is_dropped_with_a_warning() -> None:
    bad = copy.deepcopy(_package(1))
    bad["externalRefs"][0]["referenceLocator"] = "pkg:maven/commons-io@2.0"  # no group
    bad["externalRefs"].append(
        {
            "referenceCategory": "SECURITY",
            "referenceType": "cpe23Type",
            "referenceLocator": "cpe:2.3:a:apache:commons-io:2.0:*:*:*:*:*:*:*",
        }
    )
    inventory = read_spdx(orjson.dumps(_document(_package(0), bad)))
    component = inventory.components[1]
    assert (component.purl, component.cpes) == (
        None,
        ("cpe:2.3:a:apache:commons-io:2.0:*:*:*:*:*:*:*",),
    )
    assert inventory.warnings == (
        "/packages/1/externalRefs/0/referenceLocator: dropped an invalid purl: purl "
        "'pkg:maven/commons-io@2.0' is invalid: type 'maven' requires a namespace",
    )


def test_license_outside_the_bundled_list_is_a_warning() -> None:
    doc = _document(_package(0, licenseConcluded="Some-Future-License-1.0"))
    inventory = read_spdx(orjson.dumps(doc))
    assert len(inventory.components) == 1
    assert inventory.warnings[0].startswith("/packages/0: Unrecognized license reference")


def test_tag_value_refusal_names_the_field_and_line() -> None:
    text = b"""SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: doc
DocumentNamespace: https://example.com/spdx/doc-1
Creator: Tool: test
Created: not-a-date

PackageName: p0
SPDXID: SPDXRef-P0
PackageDownloadLocation: NOASSERTION
"""
    with pytest.raises(SchemaError) as caught:
        read_spdx(text)
    assert caught.value.pointer == "line 7"
    assert "Created" in caught.value.expected


def test_product_is_the_one_described_package() -> None:
    def relation(subject: str, kind: str, target: str) -> dict[str, str]:
        return {"spdxElementId": subject, "relationshipType": kind, "relatedSpdxElement": target}

    doc = _document(_package(0), _package(1))
    doc["relationships"] += [
        relation("SPDXRef-DOCUMENT", "DESCRIBES", "NONE"),  # NONE/NOASSERTION are not ids
        relation("SPDXRef-P0", "CONTAINS", "NOASSERTION"),
    ]
    assert read_spdx(orjson.dumps(doc)).product_name == "p0"
    doc["relationships"].append(relation("SPDXRef-P1", "DESCRIBED_BY", "SPDXRef-DOCUMENT"))
    two = read_spdx(orjson.dumps(doc))
    assert (two.product_name, two.product_version) == ("doc", None)  # ambiguous: the document
