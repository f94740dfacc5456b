"""The CycloneDX reader: the specification's own test documents, real tool output, and ours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.sbom import Component, read_cyclonedx

SPEC_VERSIONS = ("1.5", "1.6", "1.7")  # the versions the specification ships test documents for
_SPEC_TESTS = "cyclonedx/cyclonedx-specification/tools/src/test/resources"

# Documents whose verdict depends on checking JSON Schema "format" (we check it; see the
# cyclonedx module docstring). Without format checks the first kind would be refused and the
# second accepted, contrary to the file names.
NEEDS_FORMAT_CHECKS = {
    "valid-signatures-1.5.json",
    "valid-signatures-1.6.json",
    "valid-attestation-1.6.json",
    "valid-standard-1.6.json",
    "valid-signatures-1.7.json",
    "valid-attestation-1.7.json",
    "valid-standard-1.7.json",
    "invalid-metadata-timestamp-1.5.json",
    "invalid-metadata-timestamp-1.6.json",
    "invalid-metadata-timestamp-1.7.json",
}


def _spec_files(corpus: Path, version: str, prefix: str) -> list[Path]:
    files = sorted((corpus / _SPEC_TESTS / version).glob(f"{prefix}-*.json"))
    assert files, f"no {prefix} documents for {version}"
    return files


@pytest.mark.corpus
@pytest.mark.parametrize("version", SPEC_VERSIONS)
def test_every_valid_spec_document_imports(corpus: Path, version: str) -> None:
    refused = []
    for path in _spec_files(corpus, version, "valid"):
        try:
            inventory = read_cyclonedx(path.read_bytes())
        except SchemaError as error:
            refused.append(f"{path.name}: {error}")
            continue
        assert inventory.spec_version == version
        assert inventory.encoding == "json"
    assert not refused, "\n".join(refused)


@pytest.mark.corpus
@pytest.mark.parametrize("version", SPEC_VERSIONS)
def test_every_invalid_spec_document_is_refused_naming_a_pointer(
    corpus: Path, version: str
) -> None:
    accepted = []
    for path in _spec_files(corpus, version, "invalid"):
        error = _refusal(path.read_bytes())
        if error is None:
            accepted.append(path.name)
            continue
        assert error.pointer.startswith("/"), (path.name, error.pointer)
        assert error.pointer in str(error)
    assert not accepted, accepted


@pytest.mark.corpus
def test_format_checks_decide_the_listed_documents(corpus: Path) -> None:
    """The same schema without format checks gets every listed document wrong."""
    root = corpus / _SPEC_TESTS
    schemas = corpus / "cyclonedx/cyclonedx-specification/schema"
    registry = jsonschema_rs.Registry(
        [
            (f"http://cyclonedx.org/schema/{name}", orjson.loads((schemas / name).read_bytes()))
            for name in (
                "spdx.schema.json",
                "jsf-0.82.schema.json",
                "cryptography-defs.schema.json",
            )
        ]
    )
    for name in sorted(NEEDS_FORMAT_CHECKS):
        version = name.rsplit("-", 1)[1].removesuffix(".json")
        doc = orjson.loads((root / version / name).read_bytes())
        schema = orjson.loads((schemas / f"bom-{version}.schema.json").read_bytes())
        lax = jsonschema_rs.validator_for(schema, registry=registry, validate_formats=False)
        assert lax.is_valid(doc) is name.startswith("invalid-"), name
        if name.startswith("invalid-"):
            with pytest.raises(SchemaError) as caught:
                read_cyclonedx((root / version / name).read_bytes())
            assert caught.value.pointer == "/metadata/timestamp"
        else:
            read_cyclonedx((root / version / name).read_bytes())


@pytest.mark.corpus
def test_bom_examples_import(corpus: Path) -> None:
    root = corpus / "cyclonedx/bom-examples"
    versions: dict[str, int] = {}
    for path in sorted(root.rglob("*.json")):
        inventory = read_cyclonedx(path.read_bytes())
        versions[inventory.spec_version] = versions.get(inventory.spec_version, 0) + 1
    assert versions == {"1.2": 4, "1.3": 1, "1.4": 42, "1.6": 5}

    juice = read_cyclonedx((root / "SBOM/juice-shop/v11.1.2/bom.json").read_bytes())
    assert (juice.product_name, juice.product_version) == ("juice-shop", "11.1.2")
    assert len(juice.components) == 840
    laravel = read_cyclonedx((root / "SBOM/laravel-7.12.0/bom.1.4.json").read_bytes())
    assert _by_purl(laravel.components)["pkg:composer/brick/math@0.9.3"].ecosystem == "Packagist"


@pytest.mark.corpus
def test_json_and_xml_of_the_same_bom_agree(corpus: Path) -> None:
    folder = corpus / "cyclonedx/bom-examples/SBOM/cern-lhc-vdm-editor-e564943"
    as_json = read_cyclonedx((folder / "bom.json").read_bytes())
    as_xml = read_cyclonedx((folder / "bom.xml").read_bytes())
    assert (as_xml.encoding, as_xml.spec_version) == ("xml", "1.2")
    assert len(as_xml.components) == len(as_json.components) == 43
    assert [_identity(c) for c in as_xml.components] == [_identity(c) for c in as_json.components]
    assert (as_xml.product_name, as_xml.product_version) == ("lhc-vdm-editor", "0.0.1")
    assert as_json.product_name == as_xml.product_name  # (serials differ: two generator runs)
    assert as_xml.components[0].pointer == "/bom/components/component[1]"
    assert as_json.components[0].pointer == "/components/0"


@pytest.mark.corpus
def test_trivy_output(corpus: Path) -> None:
    root = corpus / "cyclonedx/tool-output/trivy/integration/testdata"

    centos = read_cyclonedx((root / "fixtures/sbom/centos-7-cyclonedx.json").read_bytes())
    assert centos.spec_version == "1.5"
    assert centos.product_name == "integration/testdata/fixtures/images/centos-7.tar.gz"
    purls = _by_purl(centos.components)
    assert set(purls) == {
        "pkg:rpm/centos/bash@4.2.46-31.el7?arch=x86_64&distro=centos-7.6.1810",
        "pkg:rpm/centos/openssl-libs@1.0.2k-16.el7?arch=x86_64&distro=centos-7.6.1810&epoch=1",
    }
    assert [c.name for c in centos.components if c.purl is None] == ["centos"]  # the OS

    fluentd = read_cyclonedx(
        (root / "fluentd-multiple-lockfiles-short.cdx.json.golden").read_bytes()
    )
    assert fluentd.spec_version == "1.7"
    purls = _by_purl(fluentd.components)
    assert purls["pkg:deb/debian/bash@5.0-4?distro=debian-10.2"].ecosystem == "Debian"
    assert purls["pkg:gem/activesupport@6.0.2.1"].ecosystem == "RubyGems"

    npm = _by_purl(read_cyclonedx((root / "npm-cyclonedx.json.golden").read_bytes()).components)
    assert npm["pkg:npm/jquery@3.3.9"].version == "3.3.9"
    assert len(npm) == 12

    pom = _by_purl(read_cyclonedx((root / "pom-cyclonedx.json.golden").read_bytes()).components)
    jackson = pom["pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.1"]
    assert (jackson.name, jackson.ecosystem) == (
        "com.fasterxml.jackson.core/jackson-databind",
        "Maven",
    )


@pytest.mark.corpus
def test_defectdojo_inputs(corpus: Path) -> None:
    root = corpus / "cyclonedx/tool-output/defectdojo/cyclonedx"

    grype = read_cyclonedx((root / "log4j.json").read_bytes())
    assert [c.purl for c in grype.components] == [
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.13.2"
    ]

    jake = _by_purl(read_cyclonedx((root / "jake2.json").read_bytes()).components)
    assert len(jake) == 67
    assert jake["pkg:pypi/urllib3@1.26.8"].ecosystem == "PyPI"

    ubuntu = read_cyclonedx((root / "issue_9277.json").read_bytes())
    apt = _by_purl(ubuntu.components)["pkg:deb/ubuntu/apt@2.4.11?arch=amd64&distro=ubuntu-22.04"]
    assert apt.ecosystem == "Ubuntu"
    assert apt.supplier == "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"

    # CycloneDX 1.0 XML (no metadata, no bom-ref); the pypi name is normalized in the purl.
    old = read_cyclonedx((root / "cyclonedx_bom.xml").read_bytes())
    assert (old.spec_version, old.encoding, len(old.components)) == ("1.0", "xml", 73)
    celery = _by_purl(old.components)["pkg:pypi/django-celery-results@2.0.1"]
    assert celery.name == "django_celery_results"


# --- documents of our own ------------------------------------------------------------------


def _json_bom(components: list[dict[str, Any]], **extra: Any) -> bytes:
    return orjson.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
        | extra
    )


def test_nested_components_flatten_in_order_and_duplicates_go() -> None:
    data = _json_bom(
        [
            {
                "type": "library",
                "name": "parent",
                "version": "1",
                "purl": "pkg:PyPI/Parent@1",
                "components": [
                    {"type": "library", "name": "child", "version": "2", "bom-ref": "c"},
                    {"type": "library", "name": "again", "purl": "pkg:pypi/parent@1"},
                ],
            },
            {"type": "library", "group": "@scope", "name": "x", "version": "3"},
            {"type": "library", "name": "child", "version": "2"},
        ],
        metadata={
            "component": {
                "type": "application",
                "group": "com.example",
                "name": "product",
                "version": "9",
                "components": [{"type": "library", "name": "part"}],
            }
        },
        serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    )
    inventory = read_cyclonedx(data)
    assert (inventory.product_name, inventory.product_version) == ("com.example/product", "9")
    assert inventory.serial == "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    assert [(c.name, c.pointer) for c in inventory.components] == [
        ("part", "/metadata/component/components/0"),
        ("parent", "/components/0"),
        ("child", "/components/0/components/0"),
        ("@scope/x", "/components/1"),
    ]
    assert inventory.components[1].purl == "pkg:pypi/parent@1"
    assert inventory.components[2].ref == "c"
    assert inventory.warnings == ()


def test_invalid_purl_is_dropped_with_a_warning_naming_its_pointer() -> None:
    data = _json_bom(
        [
            {"type": "library", "name": "ok", "purl": "pkg:pypi/ok@1"},
            {"type": "library", "name": "commons-io", "version": "2", "purl": "pkg:maven/io@2"},
        ]
    )
    inventory = read_cyclonedx(data)
    kept = inventory.components[1]
    assert (kept.name, kept.purl, kept.ecosystem) == ("commons-io", None, None)
    assert len(inventory.warnings) == 1
    assert inventory.warnings[0].startswith("/components/1/purl: dropped an invalid purl")
    assert "requires a namespace" in inventory.warnings[0]


def test_refusals_name_the_field() -> None:
    with pytest.raises(SchemaError) as caught:
        read_cyclonedx(orjson.dumps({"bomFormat": "CycloneDX", "specVersion": "1.1"}))
    assert caught.value.pointer == "/specVersion"
    assert "1.4, 1.5, 1.6" in caught.value.expected

    with pytest.raises(SchemaError) as caught:
        read_cyclonedx(orjson.dumps({"bomFormat": "SPDX", "specVersion": "1.6"}))
    assert caught.value.pointer == "/bomFormat"

    with pytest.raises(SchemaError) as caught:
        read_cyclonedx(b"[]")
    assert caught.value.pointer == ""

    with pytest.raises(SchemaError) as caught:
        read_cyclonedx(_json_bom([{"type": "library", "name": "a"}, {"type": "library"}]))
    assert caught.value.pointer == "/components/1"
    assert "name" in caught.value.expected


_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/{version}" version="1"
     serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79">
  <metadata>
    <component type="application"><name>shop</name><version>2.0</version></component>
  </metadata>
  <components>
    <component type="library" bom-ref="lib-a">
      <supplier><name>Example Ltd</name></supplier>
      <group>org.example</group>
      <name>lib-a</name>
      <version>1.0</version>
      <cpe>cpe:2.3:a:example:lib-a:1.0:*:*:*:*:*:*:*</cpe>
      <purl>pkg:maven/org.example/lib-a@1.0</purl>
      <components>
        <component type="library"><name>inner</name><version>0.1</version>
          <purl>pkg:npm/inner@0.1</purl></component>
      </components>
    </component>
    <component type="library"><name>plain</name></component>
  </components>
</bom>
"""


@pytest.mark.parametrize("version", ["1.4", "1.5", "1.6", "1.7"])
def test_xml_of_each_version(version: str) -> None:
    inventory = read_cyclonedx(_XML.format(version=version).encode())
    assert (inventory.format, inventory.encoding, inventory.spec_version) == (
        "cyclonedx",
        "xml",
        version,
    )
    assert (inventory.product_name, inventory.product_version) == ("shop", "2.0")
    assert inventory.serial == "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    assert inventory.components == (
        Component(
            name="org.example/lib-a",
            version="1.0",
            purl="pkg:maven/org.example/lib-a@1.0",
            ecosystem="Maven",
            cpes=("cpe:2.3:a:example:lib-a:1.0:*:*:*:*:*:*:*",),
            ref="lib-a",
            supplier="Example Ltd",
            pointer="/bom/components/component[1]",
        ),
        Component(
            name="inner",
            version="0.1",
            purl="pkg:npm/inner@0.1",
            ecosystem="npm",
            pointer="/bom/components/component[1]/components/component[1]",
        ),
        Component(name="plain", pointer="/bom/components/component[2]"),
    )


def test_invalid_xml_names_the_element() -> None:
    bad = _XML.format(version="1.6").replace(
        '<component type="library"><name>plain', ('<component type="nonsense"><name>plain')
    )
    with pytest.raises(SchemaError) as caught:
        read_cyclonedx(bad.encode())
    assert caught.value.pointer == "/bom/components/component[2]"
    assert "nonsense" in caught.value.expected

    with pytest.raises(SchemaError) as caught:
        read_cyclonedx(b'<bom xmlns="http://cyclonedx.org/schema/bom/2.0"/>')
    assert caught.value.pointer == "/bom"
    assert "1.0, 1.1, 1.2" in caught.value.expected


def _refusal(data: bytes) -> SchemaError | None:
    try:
        read_cyclonedx(data)
    except SchemaError as error:
        return error
    return None


def _by_purl(components: tuple[Component, ...]) -> dict[str, Component]:
    return {c.purl: c for c in components if c.purl}


def _identity(component: Component) -> tuple[str | None, str, str | None, str | None]:
    return (component.purl, component.name, component.version, component.ref)
