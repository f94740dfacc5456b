"""Mutations that turn small valid seed documents into hostile variants.

Random bytes almost never get past a JSON decoder, so most of the budget goes to *structured*
mutations: decode a seed, change it at random JSON pointers (drop, replace, retype, splice in
another part of the document, blow up a string, a number, an array or the nesting depth), then
encode it again as JSON or YAML. Values JSON cannot spell from Python (a 5,000-digit number,
100,000 levels of nesting, a YAML ``!!binary`` or ``!!set`` tag, an alias) are written as a
placeholder string and replaced in the encoded text. Raw byte mutations of the seeds (flips,
inserted tokens, cuts, splices) cover the decoders themselves; line mutations cover the
line-based formats (security.txt, SPDX tag-value, sanitizer output, CSV).

Every choice goes through :class:`Choices`, so the same mutations serve two drivers: hypothesis
(:class:`Drawn`, whose failures shrink to a small seed and few mutations) and the
coverage-guided atheris run in ``benchmarks/parser_fuzz.py`` (:class:`Seeded`).
"""

from __future__ import annotations

import copy
import io
import json
import random
import zipfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import yaml
from hypothesis import strategies as st

T = TypeVar("T")
Path_ = tuple[str | int, ...]
Draw = Callable[[st.SearchStrategy[Any]], Any]

_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_PATHS = 4_000  # nodes considered as mutation points in one document
MAX_GROWTH_CHARS = 2_000_000  # a repeated node is repeated at most up to this much text


@dataclass(frozen=True)
class Seed:
    """One seed file: its bytes and, for JSON/YAML/zip seeds, what they decode to."""

    name: str
    kind: str  # "json" | "yaml" | "lines" | "zip"
    raw: bytes
    value: Any = None  # the decoded document (json/yaml), or {member: bytes} (zip)


class Choices(Protocol):
    """Where every mutation decision comes from."""

    def integer(self, low: int, high: int) -> int: ...

    def choice(self, options: Sequence[T]) -> T: ...

    def value(self) -> Any:
        """A small random JSON value."""
        ...

    def text(self, max_size: int) -> str: ...

    def binary(self, max_size: int) -> bytes: ...


# --- hostile values ----------------------------------------------------------------------------

STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202e\u0644\u0627",  # right-to-left override, Arabic
    "\U0001f4a9" * 3,
    "e\u0301" * 5,  # combining accents
    "\r\n\r\n",
    "\t",
    "../../../../etc/passwd",
    "file:///etc/passwd",
    "%2e%2e%2f%00",
    "{0}{1}{99999999999}",  # SARIF message placeholders
    "{{}}{",
    "CWE-",
    "CWE-0",
    "CWE-" + "9" * 30,
    "cwe-79",
    "CVE-2024-" + "1" * 40,
    "cve-2024-0001",
    "GHSA-aaaa-bbbb-cccc",
    "pkg:",
    "pkg:pypi/",
    "pkg:npm/%40scope%2F/name@1.0?x=%zz#/../..",
    "pkg:" + "a/" * 300,
    "2024-13-45T25:61:61Z",
    "9999-12-31T23:59:59.999999999+14:00",
    "0000-00-00",
    "TLP:RED",
    "WHITE",
    "amber+strict",
    "NaN",
    "-Infinity",
    "1e999",
    "\ud7ff\ue000\ufffe\uffff",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "$(id)",
    "http://[::1",
    "https://user:pw@example.com/x.git",
)

HUGE_NUMBERS = (
    "1" + "0" * 5_000,
    "-" + "9" * 4_400,
    "1e999",
    "-1e999",
    "1e-999",
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775807",
    "-0",
    "0.0000000000000000000000000001",
    "4.9e-324",
    "1.7976931348623157e308",
)

DEPTHS = (64, 255, 1_025, 5_000, 100_000)

YAML_SPECIALS = (
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [{a: 1}, {b: 2}]",
    "!!pairs [[a, 1], [a, 2]]",
    "!!float nan",
    ".inf",
    "-.inf",
    "!!timestamp 2024-01-01T00:00:00Z",
    "2024-01-01",
    "!!python/object/apply:os.system ['id']",
    "!!int 0x7fffffffffffffffffff",
    "0o777777777777777777777777777",
    "{1: a, null: b, 2.5: c, true: d}",
    "{[1, 2]: a}",
    "&anchor [1, 2]",
    "*undefined",
    "!unknown-tag x",
    "'unterminated",
    "\x00",
)

TOKENS = (
    b"\x00",
    b"\xff",
    b"\xc3",  # a cut UTF-8 sequence
    b"\xed\xa0\x80",  # an encoded surrogate (invalid UTF-8)
    b"\xef\xbb\xbf",
    b'"',
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\n",
    b"\r",
    b"null",
    b"1e999",
    b"&a ",
    b"*a",
    b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
    b"&a;",
    b"<![CDATA[",
    b"<?xml version='1.0'?>",
    b"]]>",
    b"-----BEGIN PGP SIGNED MESSAGE-----\n",
    b"-----BEGIN PGP SIGNATURE-----\n",
    b"#",
    b"PK\x03\x04",
)


# --- the two sources of choices ----------------------------------------------------------------

_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=24),
    st.sampled_from(STRINGS),
)

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=10), st.sampled_from(STRINGS)), children, max_size=4
        ),
    ),
    max_leaves=10,
)


class Drawn:
    """Choices drawn from hypothesis, so that a failing example shrinks."""

    def __init__(self, draw: Draw) -> None:
        self._draw = draw

    def integer(self, low: int, high: int) -> int:
        return int(self._draw(st.integers(low, high)))

    def choice(self, options: Sequence[T]) -> T:
        return self._draw(st.sampled_from(options))  # type: ignore[no-any-return]

    def value(self) -> Any:
        return self._draw(JSON_VALUES)

    def text(self, max_size: int) -> str:
        return str(self._draw(st.text(max_size=max_size)))

    def binary(self, max_size: int) -> bytes:
        return bytes(self._draw(st.binary(max_size=max_size)))


class Seeded:
    """Choices from a seeded PRNG, for drivers that bring their own search (atheris)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)  # fuzzing, not cryptography

    def integer(self, low: int, high: int) -> int:
        return self._random.randint(low, high)

    def choice(self, options: Sequence[T]) -> T:
        return options[self._random.randrange(len(options))]

    def value(self, depth: int = 0) -> Any:
        kind = self._random.randrange(8 if depth < 2 else 6)
        if kind == 0:
            return None
        if kind == 1:
            return self._random.random() < 0.5
        if kind == 2:
            return self._random.randint(-(2**64), 2**64)
        if kind == 3:
            return self._random.uniform(-1e9, 1e9)
        if kind == 4:
            return self.text(24)
        if kind == 5:
            return self.choice(STRINGS)
        if kind == 6:
            return [self.value(depth + 1) for _ in range(self._random.randrange(4))]
        return {self.text(8): self.value(depth + 1) for _ in range(self._random.randrange(4))}

    def text(self, max_size: int) -> str:
        size = self._random.randrange(max_size + 1)
        return "".join(
            chr(
                self._random.choice((32, 48, 97, 0xE9, 0x4E00, 0x1F4A9))
                + self._random.randrange(26)
            )
            for _ in range(size)
        )

    def binary(self, max_size: int) -> bytes:
        return self._random.randbytes(self._random.randrange(max_size + 1))


# --- structured mutation of decoded documents --------------------------------------------------


class Raw:
    """Placeholders for text that is written verbatim into the encoded document."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, text: str) -> str:
        marker = f"__FUZZ_RAW_{len(self.texts)}__"
        self.texts[marker] = text
        return marker

    def apply(self, encoded: str, *, quoted: bool) -> str:
        for marker, text in self.texts.items():
            encoded = encoded.replace(f'"{marker}"' if quoted else marker, text)
        return encoded


def _times(count: int, size: int) -> int:
    """``count``, or fewer, so that ``count`` copies of ``size`` stay under MAX_GROWTH_CHARS."""
    return max(1, min(count, MAX_GROWTH_CHARS // max(size, 1)))


def _deep(depth: int, *, objects: bool) -> str:
    return ('{"a":' * depth + "1" + "}" * depth) if objects else ("[" * depth + "]" * depth)


def _paths(doc: Any) -> list[Path_]:
    """Every node's path, breadth first, at most MAX_PATHS (iterative: seeds may nest)."""
    found: list[Path_] = [()]
    queue: deque[tuple[Path_, Any]] = deque([((), doc)])
    while queue and len(found) < MAX_PATHS:
        path, node = queue.popleft()
        children: list[tuple[str | int, Any]] = []
        if isinstance(node, dict):
            children = list(node.items())
        elif isinstance(node, list):
            children = list(enumerate(node))
        for key, child in children:
            found.append((*path, key))
            queue.append(((*path, key), child))
    return found[:MAX_PATHS]


def _get(doc: Any, path: Path_) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _delete(doc: Any, path: Path_) -> Any:
    if not path:
        return None
    del _get(doc, path[:-1])[path[-1]]
    return doc


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str))


def _retyped(c: Choices, value: Any) -> Any:
    options: list[Any] = [None, True, False, 0, -1, 1.5, "", "x", [], {}, [value], {"": value}]
    if not isinstance(value, str):
        options.append(json.dumps(value, default=str)[:64])
    elif value.strip().lstrip("-").isdigit():
        options.append(int(value.strip()[:18]))
    return copy.deepcopy(c.choice(options))


def edited_string(c: Choices, value: str) -> str:
    op = c.choice(("cut", "insert", "case", "pad", "repeat"))
    at = c.integer(0, len(value))
    if op == "cut":
        return value[:at]
    if op == "insert":
        return value[:at] + c.choice(STRINGS) + value[at:]
    if op == "case":
        return value.swapcase()
    if op == "pad":
        return " \t" + value + "\n "
    return value * _times(c.choice((2, 50, 3_000)), len(value))


_OPERATIONS = (
    "delete",
    "replace",
    "retype",
    "string",
    "huge_string",
    "huge_number",
    "deep",
    "splice",
    "repeat",
    "add_key",
    "edit",
)


def mutate_document(c: Choices, doc: Any, raw: Raw, *, donors: Sequence[Any] = ()) -> Any:
    """One mutation at one chosen path of ``doc`` (in place where it can be); the new root."""
    paths = _paths(doc)
    path = paths[c.integer(0, len(paths) - 1)]
    node = _get(doc, path)
    op = c.choice(_OPERATIONS)
    if op == "delete":
        return _delete(doc, path)
    if op == "replace":
        return _set(doc, path, c.value())
    if op == "retype":
        return _set(doc, path, _retyped(c, node))
    if op == "string":
        return _set(doc, path, c.choice(STRINGS))
    if op == "huge_string":
        size = c.choice((300, 2_049, 4_097, 70_000, 1_048_577))
        return _set(doc, path, c.choice("Ab\u00e9\U0001f4a9 ") * size)
    if op == "huge_number":
        return _set(doc, path, raw.add(c.choice(HUGE_NUMBERS)))
    if op == "deep":
        depth = c.choice(DEPTHS)
        return _set(doc, path, raw.add(_deep(depth, objects=c.integer(0, 1) == 1)))
    if op == "splice":
        source = c.choice([doc, *donors])
        source_paths = _paths(source)
        donor = _get(source, source_paths[c.integer(0, len(source_paths) - 1)])
        return _set(doc, path, copy.deepcopy(donor))
    if op == "repeat":
        # Keep a document under a few MB, however big the repeated node is.
        count = max(2, _times(c.choice((2, 100, 3_000)), _size(node)))
        parent = _get(doc, path[:-1]) if path else None
        if isinstance(parent, list):
            index = int(path[-1])
            parent[index : index + 1] = [copy.deepcopy(node) for _ in range(count)]
            return doc
        return _set(doc, path, [copy.deepcopy(node) for _ in range(min(count, 5))])
    if op == "add_key":
        if isinstance(node, dict):
            key = c.choice(STRINGS) if c.integer(0, 1) else c.text(12)
            node[key] = c.value()
            return doc
        return _set(doc, path, {c.text(8): node})
    if isinstance(node, str):  # "edit"
        return _set(doc, path, edited_string(c, node))
    if isinstance(node, bool) or node is None:
        return _set(doc, path, not node)
    if isinstance(node, int | float):
        return _set(doc, path, c.choice((0, -1, node + 1, -node, 2**31, 2**63 - 1)))
    if isinstance(node, list) and node:
        return _set(doc, path, list(reversed(node))[: c.integer(0, len(node))])
    return _set(doc, path, c.value())


def encode_json(c: Choices, doc: Any, raw: Raw) -> bytes:
    text = json.dumps(
        doc,
        ensure_ascii=c.integer(0, 1) == 1,
        indent=c.choice((None, 1)),
        allow_nan=True,  # NaN/Infinity are not JSON: the decoder must say so
        default=str,
    )
    text = raw.apply(text, quoted=True)
    prefix = "\ufeff" if c.integer(0, 15) == 0 else ""
    return (prefix + text).encode("utf-8", errors="surrogatepass")


def encode_yaml(c: Choices, doc: Any, raw: Raw) -> bytes:
    """YAML of the document; a YAML-only construct may replace any placeholder."""
    for marker in list(raw.texts):
        if c.integer(0, 1):
            raw.texts[marker] = c.choice(YAML_SPECIALS)
    try:
        text = yaml.dump(  # the C emitter: the Python one takes a second per megabyte
            doc,
            Dumper=_DUMPER,
            allow_unicode=c.integer(0, 1) == 1,
            default_flow_style=c.integer(0, 1) == 1,
        )
    except (yaml.YAMLError, UnicodeError):
        text = json.dumps(doc, default=str)  # JSON is YAML
    return ("---\n" + raw.apply(text, quoted=False)).encode("utf-8", errors="surrogatepass")


def mutate_structured(c: Choices, seeds: Sequence[Seed], *, yaml_too: bool = True) -> bytes:
    """A JSON or YAML seed with 1-4 structured mutations, encoded as JSON or YAML."""
    seed = c.choice(seeds)
    doc = copy.deepcopy(seed.value)
    raw = Raw()
    donors = [s.value for s in seeds if s.kind in ("json", "yaml")]
    # One mutation most often: a document broken in one place gets furthest into a reader.
    for _ in range(c.choice((1, 1, 1, 2, 3, 4))):
        doc = mutate_document(c, doc, raw, donors=donors)
    as_yaml = seed.kind == "yaml" or (yaml_too and c.integer(0, 5) == 0)
    return encode_yaml(c, doc, raw) if as_yaml else encode_json(c, doc, raw)


# --- raw bytes, lines and zip members ----------------------------------------------------------


def mutate_bytes(
    c: Choices, data: bytes, *, others: Sequence[bytes] = (), tokens: Sequence[bytes] = ()
) -> bytes:
    """1-6 byte-level mutations: flips, interesting bytes, inserted tokens, cuts, splices."""
    out = bytearray(data)
    pool = (*TOKENS, *tokens)
    for _ in range(c.integer(1, 6)):
        op = c.choice(("flip", "set", "insert", "delete", "dup", "cut", "splice"))
        at = c.integer(0, len(out))
        if op == "flip" and at < len(out):
            out[at] ^= 1 << c.integer(0, 7)
        elif op == "set" and at < len(out):
            out[at] = c.choice(b'\x00\xff\x7f\x80"\\{}[],:\n<>&#*')
        elif op == "insert":
            out[at:at] = c.choice(pool) * c.choice((1, 1, 2, 1_000, 50_000))
        elif op == "delete":
            del out[at : at + c.integer(1, 64)]
        elif op == "dup":
            size = c.integer(1, 256)
            out[at:at] = out[at : at + size] * c.choice((1, 2, 300))
        if len(out) > 4 * MAX_GROWTH_CHARS:  # inputs stay a few MB, however many rounds
            del out[4 * MAX_GROWTH_CHARS :]
        elif op == "cut":
            del out[at:]
        elif op == "splice" and others:
            other = c.choice(others)
            out[at:] = other[c.integer(0, len(other)) :]
    return bytes(out)


def mutate_lines(c: Choices, data: bytes, *, vocabulary: Sequence[str] = ()) -> bytes:
    """Lines dropped, repeated, swapped, lengthened, inserted or given odd endings."""
    rows = data.decode("utf-8", errors="replace").split("\n")
    for _ in range(c.integer(1, 5)):
        if not rows:
            rows = [""]
        at = c.integer(0, len(rows) - 1)
        op = c.choice(("drop", "repeat", "swap", "long", "insert", "edit", "ending"))
        if op == "drop":
            del rows[at]
        elif op == "repeat":
            rows[at:at] = [rows[at]] * _times(c.choice((2, 300, 5_000)), len(rows[at]) + 1)
        elif op == "swap":
            other = c.integer(0, len(rows) - 1)
            rows[at], rows[other] = rows[other], rows[at]
        elif op == "long":
            rows[at] += c.choice("a: %\x00") * c.choice((100, 2_049, 5_000, 70_000))
        elif op == "insert":
            rows.insert(at, c.choice((*vocabulary, *STRINGS)) if c.integer(0, 3) else c.text(40))
        elif op == "edit":
            rows[at] = edited_string(c, rows[at])
        else:
            rows[at] += c.choice(("\r", "\x0b", "\x0c", "\x1c", "\u2028", "\x85"))
    return "\n".join(rows).encode("utf-8", errors="surrogatepass")


def mutate_zip(c: Choices, members: dict[str, bytes]) -> bytes:
    """One JSON member mutated, dropped, replaced by garbage or inflated (a small zip bomb)."""
    members = dict(members)
    name = c.choice(sorted(members))
    op = c.choice(("mutate", "mutate", "mutate", "drop", "garbage", "inflate"))
    if op == "drop":
        del members[name]
    elif op == "garbage":
        members[name] = c.binary(64)
    elif op == "inflate":
        members[name] = b" " * 20_000_000 + members[name]  # deflates to a few kB
    else:
        try:
            doc = json.loads(members[name])
        except ValueError:
            doc = None
        raw = Raw()
        for _ in range(c.integer(1, 3)):
            doc = mutate_document(c, doc, raw)
        members[name] = encode_json(c, doc, raw)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return buffer.getvalue()


# --- hypothesis strategies ---------------------------------------------------------------------


@st.composite
def structured(draw: Draw, seeds: Sequence[Seed]) -> bytes:
    return mutate_structured(Drawn(draw), seeds)


@st.composite
def raw_bytes(draw: Draw, seeds: Sequence[Seed], *, tokens: Sequence[bytes] = ()) -> bytes:
    """A seed's bytes with byte-level mutations; one time in ten, plain random bytes."""
    c = Drawn(draw)
    if c.integer(0, 9) == 0:
        return c.binary(512)
    others = [s.raw for s in seeds]
    return mutate_bytes(c, c.choice(seeds).raw, others=others, tokens=tokens)


@st.composite
def lines(draw: Draw, seeds: Sequence[Seed], *, vocabulary: Sequence[str] = ()) -> bytes:
    c = Drawn(draw)
    return mutate_lines(c, c.choice(seeds).raw, vocabulary=vocabulary)


@st.composite
def zipped(draw: Draw, seeds: Sequence[Seed]) -> bytes:
    c = Drawn(draw)
    return mutate_zip(c, c.choice(seeds).value)
