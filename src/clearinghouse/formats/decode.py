"""Bytes -> Python values for untrusted documents (JSON or YAML), with clear errors.

JSON goes through orjson (which refuses nesting past 1024 levels on its own); YAML through
PyYAML's safe loader with aliases refused, because alias expansion is the
"billion laughs" amplification and no advisory format needs it. A UTF-8 byte-order mark is
dropped, as SARIF producers on Windows emit one.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from clearinghouse.core.errors import DecodeError

_BOM = b"\xef\xbb\xbf"

_FastLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _without_timestamps(loader: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """OSV and CSAF carry RFC 3339 strings; PyYAML would turn them into naive datetimes."""

    class Loader(loader):  # type: ignore[valid-type,misc]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in loader.yaml_implicit_resolvers.items()
    }
    return Loader


def decode_json(data: bytes, *, what: str = "document") -> Any:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:  # pragma: no cover - orjson limits depth itself
        raise DecodeError(f"{what} nests too deeply") from None


class _NoAliasLoader(_without_timestamps(yaml.SafeLoader)):  # type: ignore[misc]
    """Pure-Python safe loader that refuses aliases (the C loader cannot be hooked)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise DecodeError(f"YAML aliases are not accepted (line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)


_FastNoTimestampLoader = _without_timestamps(_FastLoader)


def decode_yaml(data: bytes, *, what: str = "document") -> Any:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    # An alias needs a '*' and an anchor a '&'; without either byte the fast C loader is safe.
    loader = _NoAliasLoader if (b"*" in data or b"&" in data) else _FastNoTimestampLoader
    try:
        return yaml.load(data, Loader=loader)  # noqa: S506 - safe loader subclasses
    except DecodeError:
        raise
    except yaml.YAMLError as exc:
        raise DecodeError(f"{what} is not valid YAML: {exc}") from None
    except RecursionError:
        raise DecodeError(f"{what} nests too deeply") from None


def decode(data: bytes, *, what: str = "document") -> Any:
    """JSON when the first meaningful byte says so, YAML otherwise."""
    head = data[:64].lstrip(_BOM + b" \t\r\n")
    if head[:1] in (b"{", b"["):
        return decode_json(data, what=what)
    if not head:
        raise DecodeError(f"{what} is empty")
    return decode_yaml(data, what=what)
