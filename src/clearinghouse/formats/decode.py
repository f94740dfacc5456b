"""Bytes -> Python values for untrusted documents (JSON or YAML), with clear errors.

JSON goes through orjson (which refuses nesting past 1024 levels on its own); YAML through
PyYAML's safe loader with aliases refused, because alias expansion is the
"billion laughs" amplification and no advisory format needs it. A UTF-8 byte-order mark is
dropped, as SARIF producers on Windows emit one.

YAML is read as JSON's data model and nothing more: what only YAML can express (binary, sets,
timestamps, non-string keys, NaN and infinities, integers beyond 64 bits, unpaired surrogates,
nesting past JSON's 1,024 levels) is refused with the pointer of the value, because every reader
is written, and every downstream encoder (orjson, the database) works, on JSON values only.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import yaml

from clearinghouse.core.errors import DecodeError, TooLargeError

_BOM = b"\xef\xbb\xbf"

MAX_DEPTH = 1_024  # orjson's own limit for JSON, applied to YAML as well
MAX_YAML_BYTES = 1_048_576
"""YAML decodes a hundred times slower than JSON (3-4 s per MB here) into a node tree many
times its size; real YAML advisories are under 20 kB, so larger documents must come as JSON."""
_INT_RANGE = (-(2**63), 2**64 - 1)  # what orjson decodes as an integer

_FastLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _without_timestamps(loader: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """OSV and CSAF carry RFC 3339 strings; PyYAML would turn them into naive datetimes."""

    class Loader(loader):  # type: ignore[valid-type,misc]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
        for first, resolvers in loader.yaml_implicit_resolvers.items()
    }
    # An explicit !!timestamp still reaches PyYAML's constructor, whose regex match is not
    # checked (a malformed date raises AttributeError); JSON carries no timestamps anyway.
    Loader.add_constructor(_TIMESTAMP, _refuse_timestamp)
    return Loader


_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def _refuse_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise DecodeError(
        f"YAML !!timestamp values are not accepted (line {node.start_mark.line + 1}); "
        "write dates as strings"
    )


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
    if len(data) > MAX_YAML_BYTES:
        raise TooLargeError(
            f"{what} is {len(data)} bytes of YAML; YAML is read up to {MAX_YAML_BYTES} bytes "
            "(send a larger document as JSON)"
        )
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    # An alias needs a '*' and an anchor a '&'; without either byte the fast C loader is safe.
    loader = _NoAliasLoader if (b"*" in data or b"&" in data) else _FastNoTimestampLoader
    try:
        doc = yaml.load(data, Loader=loader)  # noqa: S506 - safe loader subclasses
    except DecodeError:
        raise
    except yaml.YAMLError as exc:
        raise DecodeError(f"{what} is not valid YAML: {_short(str(exc))}") from None
    except RecursionError:
        raise DecodeError(f"{what} nests too deeply") from None
    except (ValueError, OverflowError) as exc:
        # PyYAML's constructors convert scalars with int()/datetime(): a 5,000-digit integer
        # or a 13th month surfaces as a plain ValueError.
        reason = str(exc).split("; use sys.set_int_max_str_digits", 1)[0]
        raise DecodeError(f"{what} is not valid YAML: {_short(reason)}") from None
    _check_json_model(doc, what)
    return doc


def _short(message: str, limit: int = 500) -> str:
    """PyYAML quotes the offending line, which may be a megabyte long."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _check_json_model(doc: Any, what: str) -> None:
    """Refuse any value JSON could not have carried; iterative, as depth is the attacker's.

    Each entry links to its parent, so the pointer is only spelled out for the value refused.
    """
    stack: list[tuple[Any, _Link, int]] = [(doc, None, 0)]
    while stack:
        value, link, depth = stack.pop()
        problem = _json_problem(value)
        if problem is not None:
            raise DecodeError(f"{what} at {_pointer(link)}: {problem} (YAML is read as JSON)")
        if isinstance(value, list):
            if depth >= MAX_DEPTH:
                raise DecodeError(f"{what} nests deeper than {MAX_DEPTH} levels")
            stack.extend((item, (link, i), depth + 1) for i, item in enumerate(value))
        elif isinstance(value, dict):
            if depth >= MAX_DEPTH:
                raise DecodeError(f"{what} nests deeper than {MAX_DEPTH} levels")
            for key, item in value.items():
                if not isinstance(key, str) or _has_surrogate(key):
                    raise DecodeError(
                        f"{what} at {_pointer(link)}: a mapping key that is not a string "
                        f"({key!r:.60}) (YAML is read as JSON)"
                    )
                stack.append((item, (link, key), depth + 1))


_Link = tuple[Any, str | int] | None  # (parent link, key): a path kept as a linked list


def _pointer(link: _Link) -> str:
    parts: list[str] = []
    while link is not None:
        link, key = link
        parts.append(str(key)[:100].replace("~", "~0").replace("/", "~1"))
    return "".join("/" + part for part in reversed(parts)) or "/"


def _json_problem(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, str):
        return (
            "a string that is not valid Unicode (unpaired surrogate)"
            if _has_surrogate(value)
            else None
        )
    if isinstance(value, int):
        low, high = _INT_RANGE
        return None if low <= value <= high else "an integer beyond 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else "NaN or an infinity, which JSON has no number for"
    return f"a {type(value).__name__} value, which JSON has no type for"


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def decode(data: bytes, *, what: str = "document") -> Any:
    """JSON when the first meaningful byte says so, YAML otherwise."""
    head = data[:64].lstrip(_BOM + b" \t\r\n")
    if head[:1] in (b"{", b"["):
        return decode_json(data, what=what)
    if not head:
        raise DecodeError(f"{what} is empty")
    return decode_yaml(data, what=what)
