"""Telling SBOM formats apart by content, and reading whatever was detected."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearinghouse.core.errors import UnknownFormatError
from clearinghouse.formats.sbom import detect_sbom, read_sbom

EXPECTED = {
    "bom-examples/SBOM/cern-lhc-vdm-editor-e564943/bom.json": "cyclonedx-json",
    "bom-examples/SBOM/cern-lhc-vdm-editor-e564943/bom.xml": "cyclonedx-xml",
    "tool-output/defectdojo/cyclonedx/cyclonedx_bom.xml": "cyclonedx-xml",
    "tool-output/trivy/integration/testdata/npm-cyclonedx.json.golden": "cyclonedx-json",
    "spdx-spec-2.3/examples/SPDXJSONExample-v2.3.spdx.json": "spdx-json",
    "spdx-spec-2.3/examples/SPDXTagExample-v2.3.spdx": "spdx-tag-value",
    "tool-output/trivy/integration/testdata/fixtures/sbom/centos-7-spdx.txt": "spdx-tag-value",
    "tool-output/defectdojo/spdx/spdx_one_vuln.spdx": "spdx-tag-value",
}

UNSUPPORTED = {
    "spdx-spec-3.0/examples/jsonld/package_sbom.json": "SPDX 3",
    "spdx-spec-2.3/examples/SPDXXMLExample-v2.3.spdx.xml": "SPDX XML is not supported",
    "spdx-spec-2.3/examples/SPDXYAMLExample-2.3.spdx.yaml": "not an SBOM",
    "tool-output/defectdojo/openvex/openvex_one_vuln.json": "neither CycloneDX",
}


@pytest.mark.corpus
def test_detects_the_corpus(corpus: Path) -> None:
    root = corpus / "cyclonedx"
    for path, kind in EXPECTED.items():
        assert detect_sbom((root / path).read_bytes()) == kind, path
    for path, words in UNSUPPORTED.items():
        with pytest.raises(UnknownFormatError, match=words):
            detect_sbom((root / path).read_bytes())


@pytest.mark.corpus
def test_read_sbom_dispatches(corpus: Path) -> None:
    root = corpus / "cyclonedx"
    tag_value = read_sbom((root / "spdx-spec-2.3/examples/SPDXTagExample-v2.3.spdx").read_bytes())
    assert (tag_value.format, tag_value.encoding) == ("spdx", "tag-value")
    xml = read_sbom((root / "bom-examples/SBOM/cern-lhc-vdm-editor-e564943/bom.xml").read_bytes())
    assert (xml.format, xml.encoding) == ("cyclonedx", "xml")


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n", b"hello", b"{}", b"[1, 2]", b"<html/>", b"<bom>", b"# only a comment\n"],
)
def test_other_bytes_are_unknown(data: bytes) -> None:
    with pytest.raises(UnknownFormatError):
        detect_sbom(data)


def test_leading_bom_blank_lines_and_comments_are_skipped() -> None:
    assert detect_sbom(b"\xef\xbb\xbf\n# made by hand\n\nSPDXVersion: SPDX-2.3\n") == (
        "spdx-tag-value"
    )
    assert detect_sbom(b'\xef\xbb\xbf {"bomFormat": "CycloneDX"}') == "cyclonedx-json"
    assert detect_sbom(b'<x:bom xmlns:x="http://cyclonedx.org/schema/bom/1.4"/>') == (
        "cyclonedx-xml"
    )
