"""Clearinghouse's own findings format (``clearinghouse-findings`` 1.0) -> :class:`FindingRecord`.

The format is for findings made by AI systems or people that no standard carries whole: a
location, a proof of vulnerability (input + harness + command + sanitizer output), a candidate
patch and the provenance (tool, model, human review). Its JSON Schema,
``schemas/native-finding.schema.json``, is published documentation (``docs/`` holds an identical
copy). Unknown properties are refused with a pointer; vendor extensions named ``x-…`` on a
finding are kept verbatim (JSON-encoded) in ``FindingRecord.extra``.

It does not decode or run the proof, apply the patch or check that the target exists: those are
``validation``'s jobs, done in a sandbox. No I/O beyond reading the packaged schema.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import orjson

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats.limits import DEFAULT_LIMITS, ReadLimits
from clearinghouse.formats.osv import cwe_number, normalize_alias
from clearinghouse.formats.records import (
    DocumentSummary,
    FindingRecord,
    Location,
    Proof,
    Provenance,
    Severity,
)
from clearinghouse.formats.schema import SchemaValidator, load_packaged_json

FORMAT_NAME = "clearinghouse-findings"
FORMAT_VERSION = "1.0"
SCHEMA_RESOURCE = "schemas/native-finding.schema.json"
_DOCUMENT = "Clearinghouse findings document"


def _bounded(text: str, pointer: str, limit: int) -> str:
    """Refuse rather than truncate: a cut proof or patch would silently stop working."""
    if len(text) > limit:
        raise SchemaError(
            pointer, f"a string of at most {limit} characters (got {len(text)})", document=_DOCUMENT
        )
    return text


@functools.cache
def _validator() -> SchemaValidator:
    schema = load_packaged_json("clearinghouse.formats", SCHEMA_RESOURCE)
    return SchemaValidator(schema, document=_DOCUMENT)


class NativeReader:
    """The native codec; stateless, so one module-level instance serves every caller."""

    name = "native"

    def sniff(self, doc: Any) -> bool:
        return isinstance(doc, dict) and doc.get("format") == FORMAT_NAME

    def validate(self, doc: Any) -> None:
        _validator().check(doc)
        # What JSON Schema cannot say: relations between two fields of one finding.
        for i, finding in enumerate(doc["findings"]):
            line, end_line = finding.get("line"), finding.get("end_line")
            if end_line is not None and (line is None or end_line < line):
                raise SchemaError(
                    f"/findings/{i}/end_line",
                    "a line number not before 'line' (and 'line' given)",
                    document=_DOCUMENT,
                )
            encoded = (finding.get("proof") or {}).get("input_base64")
            if isinstance(encoded, str) and len(encoded) % 4:
                raise SchemaError(
                    f"/findings/{i}/proof/input_base64",
                    "padded base64 (length a multiple of 4)",
                    document=_DOCUMENT,
                )

    def summarize(self, doc: Any) -> DocumentSummary:
        findings = doc.get("findings") or []
        tools = {(f.get("provenance") or {}).get("tool") for f in findings if isinstance(f, dict)}
        return DocumentSummary(
            format=self.name,
            producer=tools.pop() if len(tools) == 1 else None,
            finding_count=len(findings),
        )

    def read(self, doc: Any, *, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[FindingRecord]:
        findings = doc["findings"]
        if len(findings) > limits.max_findings:
            raise SchemaError(
                "/findings", f"at most {limits.max_findings} findings", document=_DOCUMENT
            )
        # Build everything first so a limit violation leaves nothing half-read.
        return iter([_finding(f"/findings/{i}", f, limits) for i, f in enumerate(findings)])


def _finding(pointer: str, item: dict[str, Any], limits: ReadLimits) -> FindingRecord:
    cap = limits.max_string_chars

    def text(
        key: str, parent: dict[str, Any] = item, at: str = pointer, limit: int = cap
    ) -> str | None:
        value = parent.get(key)
        return _bounded(value, f"{at}/{key}", limit) if isinstance(value, str) else None

    raw_cwes = item.get("cwe")
    cwe_items = raw_cwes if isinstance(raw_cwes, list) else [] if raw_cwes is None else [raw_cwes]
    cwes: list[int] = []
    for value in cwe_items:
        number = value if isinstance(value, int) else cwe_number(str(value))
        if number is not None and number not in cwes:
            cwes.append(number)  # order kept: the format says most specific first

    location = None
    if any(k in item for k in ("file", "function", "line", "snippet")):
        location = Location(
            path=text("file"),
            start_line=item.get("line"),
            end_line=item.get("end_line"),
            function=text("function"),
            snippet=text("snippet"),
        )

    proof = None
    raw_proof = item.get("proof")
    if isinstance(raw_proof, dict) or "sanitizer_output" in item:
        part = raw_proof if isinstance(raw_proof, dict) else {}
        at = f"{pointer}/proof"
        proof = Proof(
            # A proof input (a crafted file) may be larger than any text field we keep.
            input_b64=text("input_base64", part, at, limits.max_proof_chars),
            input_text=text("input_text", part, at, limits.max_proof_chars),
            harness=text("harness", part, at),
            command=text("command", part, at),
            sanitizer_output=text("sanitizer_output"),
        )

    raw_provenance: dict[str, Any] = item["provenance"]
    at = f"{pointer}/provenance"
    provenance = Provenance(
        tool=text("tool", raw_provenance, at),
        tool_version=text("tool_version", raw_provenance, at),
        model=text("model", raw_provenance, at),
        model_version=text("model_version", raw_provenance, at),
        human_reviewed=raw_provenance.get("human_reviewed"),
    )

    extra: dict[str, str] = {}
    commit = text("commit")
    if commit:
        extra["commit"] = commit
    for key, value in item.items():
        if key.startswith("x-"):
            try:
                serialized = orjson.dumps(value).decode()
            except TypeError:  # orjson stops at 255 levels; documents may nest up to 1,024
                raise SchemaError(
                    f"{pointer}/{key}",
                    "an extension value nested at most 255 levels deep",
                    document=_DOCUMENT,
                ) from None
            extra[key] = _bounded(serialized, f"{pointer}/{key}", cap)

    fingerprint = text("fingerprint")
    severity = item.get("severity")
    return FindingRecord(
        format="native",
        pointer=pointer,
        producer=raw_provenance["tool"],
        producer_version=provenance.tool_version,
        title=_bounded(item["title"], f"{pointer}/title", limits.max_title_chars),
        description=text("description") or "",
        cwes=tuple(cwes),
        severity=Severity(severity) if isinstance(severity, str) else None,
        location=location,
        fingerprints=(("native", fingerprint),) if fingerprint else (),
        aliases=tuple(
            sorted(
                {
                    _bounded(normalize_alias(a), f"{pointer}/aliases", cap)
                    for a in item.get("aliases") or ()
                }
            )
        ),
        target=text("target"),
        version=text("version") or commit,
        proof=proof,
        suggested_patch=text("suggested_patch"),
        provenance=provenance,
        tlp=item.get("tlp"),
        extra=extra,
    )


READER = NativeReader()
