"""Hostile SBOMs: entity expansion, external entities, oversize, bad encodings, deep nesting."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from lxml import etree

from clearinghouse.core.errors import DecodeError, SchemaError, TooLargeError
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.sbom import SbomLimits, detect_sbom, read_cyclonedx, read_sbom, read_spdx
from clearinghouse.formats.sbom.safexml import safe_parser

_NS = "http://cyclonedx.org/schema/bom/1.6"


def _billion_laughs() -> bytes:
    """Ten levels of ten references: 10^10 "lol"s if anything expanded it."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 11)
    ]
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE bom [{"".join(entities)}]>\n'
        f'<bom xmlns="{_NS}" version="1"><components><component type="library">'
        "<name>&lol10;</name></component></components></bom>"
    ).encode()


def _cyclonedx(count: int) -> bytes:
    components = [{"type": "library", "name": f"p{i}", "version": "1"} for i in range(count)]
    return orjson.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
    )


def test_billion_laughs_is_refused_without_expanding() -> None:
    started = time.monotonic()
    with pytest.raises(DecodeError):
        read_cyclonedx(_billion_laughs())
    with pytest.raises(DecodeError):
        read_sbom(_billion_laughs())
    assert time.monotonic() - started < 2


def test_external_entities_and_any_doctype_are_refused() -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<bom xmlns="{_NS}" version="1"><components><component type="library">'
        "<name>&x;</name></component></components></bom>"
    ).encode()
    with pytest.raises(DecodeError, match="DOCTYPE"):
        read_cyclonedx(xxe)
    # libxml2 would read an external DTD from disk even with load_dtd off: /dev/zero would hang.
    for source in ("http://example.invalid/bom.dtd", "/dev/zero", "/etc/passwd"):
        document = f'<!DOCTYPE bom SYSTEM "{source}"><bom xmlns="{_NS}" version="1"/>'
        with pytest.raises(DecodeError, match="DOCTYPE"):
            read_cyclonedx(document.encode())
        assert detect_sbom(document.encode()) == "cyclonedx-xml"  # reads no DTD either


def test_the_safe_parser_reads_no_external_dtd(tmp_path: Path) -> None:
    """With lxml's ``collect_ids=False`` libxml2 would load this file; ours must not."""
    dtd = tmp_path / "bom.dtd"
    dtd.write_text('<!ENTITY secret "from disk">')
    for document in (
        f'<!DOCTYPE bom SYSTEM "{dtd}"><bom>&secret;</bom>',
        f'<!DOCTYPE bom [<!ENTITY % p SYSTEM "{dtd}"> %p;]><bom>&secret;</bom>',
        f'<!DOCTYPE bom [<!ENTITY x SYSTEM "{dtd}">]><bom>&x;</bom>',
    ):
        tree = etree.fromstring(document.encode(), safe_parser()).getroottree()
        assert tree.docinfo.externalDTD is None
        assert b"from disk" not in etree.tostring(tree)


def test_too_large_documents_are_refused_before_decoding() -> None:
    small = SbomLimits(max_sbom_bytes=1_000)
    big = _cyclonedx(100)
    assert len(big) > 1_000
    with pytest.raises(TooLargeError):
        read_cyclonedx(big, limits=small)
    with pytest.raises(TooLargeError):
        read_sbom(big, limits=small)
    with pytest.raises(TooLargeError):
        read_spdx(b"SPDXVersion: SPDX-2.3\n" + b"#" * 2_000, limits=small)


def test_component_count_limit() -> None:
    with pytest.raises(TooLargeError, match="more than 10 components"):
        read_cyclonedx(_cyclonedx(11), limits=SbomLimits(max_components=10))
    assert len(read_cyclonedx(_cyclonedx(10), limits=SbomLimits(max_components=10)).components)


def test_plain_read_limits_are_honoured() -> None:
    data = orjson.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "components": [
                {"type": "library", "name": "ok"},
                {"type": "library", "name": "x" * 50},
            ],
        }
    )
    with pytest.raises(SchemaError) as caught:
        read_cyclonedx(data, limits=ReadLimits(max_string_chars=20))
    assert caught.value.pointer == "/components/1/name"


@pytest.mark.parametrize("reader", [read_cyclonedx, read_spdx, read_sbom])
def test_non_utf8_json_is_a_decode_error(reader: object) -> None:
    data = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": "\xff\xfe"}'
    with pytest.raises(DecodeError):
        reader(data)  # type: ignore[operator]


def test_non_utf8_tag_value_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="UTF-8"):
        read_spdx(b"SPDXVersion: SPDX-2.3\nDocumentName: \xff\n")


def test_deep_nesting_is_refused() -> None:
    deep_json = b'{"bomFormat": "CycloneDX", "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    with pytest.raises(DecodeError):
        read_cyclonedx(deep_json)
    deep_xml = f'<bom xmlns="{_NS}">' + "<a>" * 5_000 + "</a>" * 5_000 + "</bom>"
    with pytest.raises(DecodeError):
        read_cyclonedx(deep_xml.encode())
    with pytest.raises(DecodeError):
        detect_sbom(deep_json)


def test_malformed_xml_is_a_decode_error_with_the_line() -> None:
    with pytest.raises(DecodeError, match="line 2"):
        read_cyclonedx(f'<bom xmlns="{_NS}">\n<components></bom>'.encode())
