"""The native findings format: its published schema, extraction, refusals and limits."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.limits import ReadLimits
from clearinghouse.formats.native import READER, SCHEMA_RESOURCE
from clearinghouse.formats.reader import Reader
from clearinghouse.formats.records import Location, Proof, Provenance, Severity

_READER: Reader = READER  # mypy checks the protocol here

REPO = Path(__file__).resolve().parents[3]
ASSET = REPO / "tests/assets/native/full.json"


def _asset() -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(ASSET.read_bytes())
    return doc


def _minimal(**fields: Any) -> dict[str, Any]:
    finding: dict[str, Any] = {
        "target": "pkg:pypi/example",
        "title": "A flaw",
        "provenance": {"tool": "tester"},
    }
    finding.update(fields)
    return {"format": "clearinghouse-findings", "version": "1.0", "findings": [finding]}


def _refusal(doc: Any) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        READER.validate(doc)
    return caught.value


# ---- the published schema ----------------------------------------------------------------------


def test_docs_copy_is_byte_identical_to_the_packaged_schema() -> None:
    packaged = resources.files("clearinghouse.formats").joinpath(SCHEMA_RESOURCE).read_bytes()
    assert (REPO / "docs/native-finding.schema.json").read_bytes() == packaged


def test_schema_is_a_valid_draft_2020_12_schema_and_documents_every_property() -> None:
    schema = orjson.loads(
        resources.files("clearinghouse.formats").joinpath(SCHEMA_RESOURCE).read_bytes()
    )
    jsonschema_rs.meta.validate(schema)
    assert schema["$id"] == "https://clearinghouse.invalid/schemas/native-finding/1.0"
    undocumented = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if not (sub.get("title") and sub.get("description")):
                    undocumented.append(f"{where}/{name}")
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "")
    assert undocumented == []


def test_the_asset_is_valid_with_formats_checked_too() -> None:
    schema = orjson.loads(
        resources.files("clearinghouse.formats").joinpath(SCHEMA_RESOURCE).read_bytes()
    )
    jsonschema_rs.Draft202012Validator(schema, validate_formats=True).validate(_asset())


# ---- reading -----------------------------------------------------------------------------------


def test_sniff() -> None:
    assert READER.sniff(_asset())
    assert READER.sniff({"format": "clearinghouse-findings"})
    assert not READER.sniff({"format": "something-else", "findings": []})
    assert not READER.sniff({"id": "GHSA-x", "modified": "x"})
    assert not READER.sniff([])


def test_full_finding_fields() -> None:
    doc = _asset()
    READER.validate(doc)
    first, second = READER.read(doc, limits=ReadLimits())
    assert first.format == "native"
    assert first.pointer == "/findings/0"
    assert first.producer == "example-ai-scanner"
    assert first.producer_version == "0.9.1"
    assert first.title == "Heap buffer overflow in png_read_row on an oversized IHDR width"
    assert first.description.startswith("A width above 2^24")
    assert first.cwes == (122, 787)
    assert first.severity is Severity.HIGH
    assert first.location == Location(
        path="src/pngrutil.c",
        start_line=412,
        end_line=418,
        function="png_read_row",
        snippet="memcpy(row, prev_row, row_bytes);",
    )
    assert first.fingerprints == (("native", "a1b2c3d4e5f6"),)
    assert first.aliases == ("CVE-2026-99999",)
    assert first.target == "pkg:github/example/libpng-fork"
    assert first.version == "0123456789abcdef0123456789abcdef01234567"
    assert first.extra["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert first.proof == Proof(
        input_b64="iVBORw0KGgo=",
        harness="libpng_read_fuzzer",
        command="./libpng_read_fuzzer {input}",
        sanitizer_output=(
            "==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011"
        ),
    )
    assert first.suggested_patch is not None
    assert first.suggested_patch.startswith("--- a/src/pngrutil.c\n+++ b/src/pngrutil.c\n")
    assert first.provenance == Provenance(
        tool="example-ai-scanner",
        tool_version="0.9.1",
        model="example-model",
        model_version="2026-10-01",
        human_reviewed=True,
    )
    assert first.tlp == "AMBER"
    assert orjson.loads(first.extra["x-triage-note"]) == {"queue": "memory-safety"}

    assert second.version == "2.4.0"
    assert second.cwes == (79,)
    assert second.location is None
    assert second.fingerprints == ()
    assert second.proof is not None
    assert second.proof.input_text == "<script>alert(1)</script>"
    assert second.provenance == Provenance(tool="example-ai-scanner")

    summary = READER.summarize(doc)
    assert (summary.producer, summary.finding_count) == ("example-ai-scanner", 2)


def test_empty_findings() -> None:
    doc = {"format": "clearinghouse-findings", "version": "1.0", "findings": []}
    READER.validate(doc)
    assert list(READER.read(doc, limits=ReadLimits())) == []


# ---- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "pointer"),
    [
        ({"format": "clearinghouse-findings", "version": "2.0", "findings": []}, "/version"),
        ({"format": "clearinghouse-findings", "version": "1.0"}, ""),
        ({**_minimal(), "extra_top": 1}, ""),
        (_minimal(title=""), "/findings/0/title"),
        (_minimal(severity="urgent"), "/findings/0/severity"),
        (_minimal(target="just-a-name"), "/findings/0/target"),
        (_minimal(cwe="79"), "/findings/0/cwe"),
        (_minimal(line=0), "/findings/0/line"),
        (_minimal(tlp="WHITE"), "/findings/0/tlp"),
        (_minimal(provenance={}), "/findings/0/provenance"),
        (_minimal(provenance={"tool": "t", "extra": 1}), "/findings/0/provenance"),
        (_minimal(proof={"harness": "h"}), "/findings/0/proof"),
        (_minimal(proof={"input_text": "a", "input_base64": "YQ=="}), "/findings/0/proof"),
        (_minimal(proof={"input_base64": "not base64!"}), "/findings/0/proof/input_base64"),
        (_minimal(proof={"input_base64": "YQ="}), "/findings/0/proof/input_base64"),
        (_minimal(line=10, end_line=9), "/findings/0/end_line"),
        (_minimal(end_line=9), "/findings/0/end_line"),
    ],
)
def test_refusals_name_the_pointer(doc: Any, pointer: str) -> None:
    assert _refusal(doc).pointer == pointer


def test_missing_required_field_is_named() -> None:
    doc = _minimal()
    del doc["findings"][0]["title"]
    error = _refusal(doc)
    assert error.pointer == "/findings/0"
    assert "title" in error.expected


def test_unknown_field_is_refused_but_x_fields_are_kept() -> None:
    error = _refusal(_minimal(notes="free text"))
    assert error.pointer == "/findings/0"
    assert "notes" in error.expected
    doc = _minimal(**{"x-ticket": "ABC-1"})
    READER.validate(doc)
    (found,) = READER.read(doc, limits=ReadLimits())
    assert found.extra == {"x-ticket": '"ABC-1"'}


# ---- hostile input ------------------------------------------------------------------------


def test_over_long_title_is_refused_by_the_schema() -> None:
    error = _refusal(_minimal(title="T" * 4097))
    assert error.pointer == "/findings/0/title"
    assert len(str(error)) < 400  # the value is not echoed whole


def test_over_long_description_is_refused_by_the_schema() -> None:
    assert _refusal(_minimal(description="D" * (1_048_576 + 1))).pointer == (
        "/findings/0/description"
    )


@pytest.mark.parametrize(
    ("field", "value", "pointer"),
    [
        ("description", "D" * 101, "/findings/1/description"),
        ("snippet", "S" * 101, "/findings/1/snippet"),
        ("suggested_patch", "P" * 101, "/findings/1/suggested_patch"),
        ("sanitizer_output", "O" * 101, "/findings/1/sanitizer_output"),
        ("proof", {"input_base64": "QUFB" * 26}, "/findings/1/proof/input_base64"),
        ("x-blob", "X" * 101, "/findings/1/x-blob"),
    ],
)
def test_read_limits_are_enforced_with_pointer(field: str, value: Any, pointer: str) -> None:
    doc = _minimal()
    second = copy.deepcopy(doc["findings"][0])
    second[field] = value
    doc["findings"].append(second)
    READER.validate(doc)
    with pytest.raises(SchemaError) as caught:
        READER.read(doc, limits=ReadLimits(max_string_chars=100, max_proof_chars=100))
    assert caught.value.pointer == pointer


def test_title_over_the_configured_title_limit_is_refused() -> None:
    doc = _minimal(title="T" * 50)
    with pytest.raises(SchemaError) as caught:
        READER.read(doc, limits=ReadLimits(max_title_chars=20))
    assert caught.value.pointer == "/findings/0/title"


def test_too_many_findings_are_refused() -> None:
    doc = _minimal()
    doc["findings"] *= 3
    with pytest.raises(SchemaError) as caught:
        READER.read(doc, limits=ReadLimits(max_findings=2))
    assert caught.value.pointer == "/findings"


def test_a_proof_may_exceed_the_text_field_limit_but_not_its_own() -> None:
    from clearinghouse.formats.limits import ReadLimits

    proof = "QUFB" * 600  # 2,400 base64 characters
    doc = {
        "format": "clearinghouse-findings",
        "version": "1.0",
        "findings": [
            {
                "target": "pkg:generic/x",
                "title": "t",
                "provenance": {"tool": "agent"},
                "proof": {"input_base64": proof},
            }
        ],
    }
    (record,) = READER.read(doc, limits=ReadLimits(max_string_chars=1_000, max_proof_chars=4_000))
    assert record.proof is not None
    assert record.proof.input_b64 == proof
    with pytest.raises(SchemaError) as caught:
        list(READER.read(doc, limits=ReadLimits(max_string_chars=1_000, max_proof_chars=2_000)))
    assert caught.value.pointer == "/findings/0/proof/input_base64"
