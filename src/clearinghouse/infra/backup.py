"""The backup archive: its format, the column codec, and safe reading of an untrusted archive.

An archive is a gzip-compressed tar with, in this order: ``tables/<table>.jsonl`` (one JSON
array per row, columns in the manifest's order), ``blobs/<sha256>`` (the blob store's files),
``files/targets/…`` and ``files/suites/…`` (registered targets and evaluation suites), and
``manifest.json`` last (format version, schema revision, source dialect, per table its columns
with a portable type tag, row count, the file's SHA-256 and an order-independent digest of its
rows; per blob and file its size and SHA-256). The manifest goes last because it holds the
hashes of what comes before; a reader extracts everything first and then checks it.

Values are encoded by the column's tag, not by the backend's idea of a type, so a SQLite backup
restores into PostgreSQL and back: datetimes as UTC ISO 8601 with microseconds, dates ISO,
bytes as base64, non-finite floats as strings. The rows digest (the sum of every line's SHA-256
modulo 2**256) does not depend on row order, so a restore re-reads the rows it loaded in
whatever order the target returns them and still compares them with the manifest.

An archive read for a restore is hostile input: only regular files under expected names, no
links or devices, no ``..`` or absolute paths, sizes and the expansion ratio bounded as bytes
arrive, every member matched against the manifest and the manifest against every member. What
this module writes goes into a directory the caller made for it, and nowhere else.

Nothing here knows which tables exist, how a consistent snapshot is taken, or the audit chain:
``pipeline/backup_flow.py`` does.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import gzip
import hashlib
import io
import math
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson
from sqlalchemy import types as sqltypes

from clearinghouse.core.errors import InputError, IntegrityError, TooLargeError

FORMAT = "clearinghouse-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK_BYTES = 1 << 20

TAGS = frozenset({"int", "str", "bool", "float", "datetime", "date", "bytes", "json", "decimal"})
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILE_PART = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
FILE_ROOTS = ("targets", "suites")
_INT64 = (-(1 << 63), (1 << 63) - 1)
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# --- the column codec ---------------------------------------------------------------------


def tag_of(column_type: sqltypes.TypeEngine[Any], *, where: str) -> str:
    """The portable tag of a (reflected or declared) column type; ``where`` names the column."""
    checks: tuple[tuple[type[Any], str], ...] = (
        (sqltypes.Boolean, "bool"),
        (sqltypes.DateTime, "datetime"),
        (sqltypes.Date, "date"),
        (sqltypes.JSON, "json"),
        (sqltypes.LargeBinary, "bytes"),
        (sqltypes._Binary, "bytes"),
        (sqltypes.Float, "float"),
        (sqltypes.Numeric, "decimal"),
        (sqltypes.Integer, "int"),
        (sqltypes.String, "str"),
    )
    for kind, tag in checks:
        if isinstance(column_type, kind):
            return tag
    if isinstance(column_type, sqltypes.TypeDecorator):
        return tag_of(column_type.impl_instance, where=where)
    raise InputError(f"{where}: a column of type {column_type!r} cannot be backed up")


def encode_value(tag: str, value: Any) -> Any:
    """A database value as the JSON value the archive stores for ``tag``."""
    if value is None:
        return None
    if tag == "datetime":
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if tag == "date":
        return value.isoformat()
    if tag == "float":
        number = float(value)
        if math.isfinite(number):
            return number
        return "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")
    if tag == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if tag == "decimal":
        return str(value)
    if tag == "bool":
        return bool(value)
    if tag == "int":
        return int(value)
    return value


def decode_value(tag: str, raw: Any, *, naive_utc: bool, where: str) -> Any:
    """The value to bind for a JSON value read from an (untrusted) archive; ``naive_utc`` for
    backends without time zones (SQLite keeps UTC without an offset)."""
    if raw is None:
        return None
    try:
        if tag == "int" and isinstance(raw, int) and not isinstance(raw, bool):
            if not _INT64[0] <= raw <= _INT64[1]:
                raise ValueError("out of the 64-bit range")
            return raw
        if tag == "str" and isinstance(raw, str):
            return raw
        if tag == "bool" and isinstance(raw, bool):
            return raw
        if tag == "float" and isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        if tag == "float" and isinstance(raw, str) and raw in _NON_FINITE:
            return _NON_FINITE[raw]
        if tag == "datetime" and isinstance(raw, str):
            instant = dt.datetime.fromisoformat(raw)
            if instant.tzinfo is None:
                raise ValueError("no time zone")
            utc = instant.astimezone(dt.UTC)
            return utc.replace(tzinfo=None) if naive_utc else utc
        if tag == "date" and isinstance(raw, str):
            return dt.date.fromisoformat(raw)
        if tag == "bytes" and isinstance(raw, str):
            return base64.b64decode(raw, validate=True)
        if tag == "decimal" and isinstance(raw, str):
            return decimal.Decimal(raw)
        if tag == "json":
            return raw
    except (ValueError, decimal.InvalidOperation, OverflowError) as error:
        raise InputError(f"{where}: not a valid {tag} ({error})") from None
    raise InputError(f"{where}: expected a {tag}, found {type(raw).__name__}")


def encode_row(tags: Sequence[str], row: Sequence[Any]) -> bytes:
    """One archive line: a canonical JSON array (sorted keys inside JSON columns)."""
    values = [encode_value(tag, value) for tag, value in zip(tags, row, strict=True)]
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS) + b"\n"


class RowsDigest:
    """An order-independent digest of lines: the sum of their SHA-256 values modulo 2**256.

    A restore compares what it loaded with what was dumped without sorting either side (text
    keys sort differently on SQLite and PostgreSQL). It detects a changed, lost or added row;
    it is not a signature (anyone who can alter rows can alter the manifest too).
    """

    __slots__ = ("_total",)

    def __init__(self) -> None:
        self._total = 0

    def add(self, line: bytes) -> None:
        self._total = (self._total + int.from_bytes(hashlib.sha256(line).digest())) % (1 << 256)

    def hexdigest(self) -> str:
        return self._total.to_bytes(32).hex()


# --- the manifest -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableEntry:
    name: str
    columns: tuple[tuple[str, str], ...]  # (column, tag) in the file's order
    rows: int
    sha256: str  # of the .jsonl file
    rows_digest: str
    size: int

    @property
    def member(self) -> str:
        return f"tables/{self.name}.jsonl"


@dataclass(frozen=True, slots=True)
class BlobEntry:
    sha256: str
    size: int

    @property
    def member(self) -> str:
        return f"blobs/{self.sha256}"


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # relative to the data directory, under one of FILE_ROOTS
    sha256: str
    size: int

    @property
    def member(self) -> str:
        return f"files/{self.path}"


@dataclass(frozen=True, slots=True)
class Manifest:
    revision: str
    created_at: dt.datetime
    dialect: str
    tables: tuple[TableEntry, ...]
    blobs: tuple[BlobEntry, ...]
    files: tuple[FileEntry, ...]
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            "format_version": self.format_version,
            "revision": self.revision,
            "created_at": self.created_at.astimezone(dt.UTC).isoformat(),
            "dialect": self.dialect,
            "tables": [
                {
                    "name": t.name,
                    "columns": [[name, tag] for name, tag in t.columns],
                    "rows": t.rows,
                    "sha256": t.sha256,
                    "rows_digest": t.rows_digest,
                    "size": t.size,
                }
                for t in self.tables
            ],
            "blobs": [{"sha256": b.sha256, "size": b.size} for b in self.blobs],
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in self.files],
        }
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def check_file_path(path: str, *, where: str) -> PurePosixPath:
    """A data-directory path from an archive: relative, under a known root, no ``..``."""
    pure = PurePosixPath(path)
    parts = pure.parts
    if (
        len(path) > 4096
        or len(parts) < 2
        or len(parts) > 64
        or parts[0] not in FILE_ROOTS
        or any(part in {".", ".."} or not _FILE_PART.match(part) for part in parts)
        or str(pure) != path
    ):
        raise InputError(f"{where}: {path!r} is not a safe path under {'/'.join(FILE_ROOTS)}")
    return pure


def parse_manifest(data: bytes) -> Manifest:
    """The manifest of an untrusted archive, every field checked; errors name the field."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise InputError(f"manifest.json: not JSON ({error})") from None

    def need(value: Any, kind: type[Any] | tuple[type[Any], ...], where: str) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise InputError(f"manifest.json: {where} is missing or of the wrong type")
        return value

    def size(value: Any, where: str) -> int:
        number: int = need(value, int, where)
        if number < 0:
            raise InputError(f"manifest.json: {where} is negative")
        return number

    def digest(value: Any, where: str) -> str:
        text: str = need(value, str, where)
        if not _SHA256.match(text):
            raise InputError(f"manifest.json: {where} is not a lowercase hex SHA-256")
        return text

    need(doc, dict, "the document")
    if doc.get("format") != FORMAT:
        raise InputError(f"manifest.json: /format is not {FORMAT!r}: not a Clearinghouse backup")
    version = need(doc.get("format_version"), int, "/format_version")
    if version != FORMAT_VERSION:
        raise InputError(
            f"manifest.json: /format_version {version} is not supported (this version reads "
            f"{FORMAT_VERSION})"
        )
    revision = need(doc.get("revision"), str, "/revision")
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", revision):
        raise InputError("manifest.json: /revision is not a schema revision identifier")
    try:
        created_at = dt.datetime.fromisoformat(need(doc.get("created_at"), str, "/created_at"))
    except ValueError:
        raise InputError("manifest.json: /created_at is not an ISO 8601 instant") from None
    if created_at.tzinfo is None:
        raise InputError("manifest.json: /created_at has no time zone")
    dialect = need(doc.get("dialect"), str, "/dialect")
    if dialect not in {"sqlite", "postgresql"}:
        raise InputError(f"manifest.json: /dialect {dialect!r} is not sqlite or postgresql")

    tables: list[TableEntry] = []
    for i, raw in enumerate(need(doc.get("tables"), list, "/tables")):
        where = f"/tables/{i}"
        need(raw, dict, where)
        name = need(raw.get("name"), str, f"{where}/name")
        if not _TABLE_NAME.match(name):
            raise InputError(f"manifest.json: {where}/name {name!r} is not a table name")
        columns: list[tuple[str, str]] = []
        for j, pair in enumerate(need(raw.get("columns"), list, f"{where}/columns")):
            cw = f"{where}/columns/{j}"
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(p, str) for p in pair)
            ):
                raise InputError(f"manifest.json: {cw} is not a [name, type] pair")
            if not _TABLE_NAME.match(pair[0]) or pair[1] not in TAGS:
                raise InputError(f"manifest.json: {cw} names an unknown column or type")
            columns.append((pair[0], pair[1]))
        if not columns or len({c for c, _ in columns}) != len(columns):
            raise InputError(f"manifest.json: {where}/columns is empty or repeats a column")
        tables.append(
            TableEntry(
                name=name,
                columns=tuple(columns),
                rows=size(raw.get("rows"), f"{where}/rows"),
                sha256=digest(raw.get("sha256"), f"{where}/sha256"),
                rows_digest=digest(raw.get("rows_digest"), f"{where}/rows_digest"),
                size=size(raw.get("size"), f"{where}/size"),
            )
        )
    blobs = [
        BlobEntry(
            sha256=digest(need(raw, dict, f"/blobs/{i}").get("sha256"), f"/blobs/{i}/sha256"),
            size=size(raw.get("size"), f"/blobs/{i}/size"),
        )
        for i, raw in enumerate(need(doc.get("blobs"), list, "/blobs"))
    ]
    files: list[FileEntry] = []
    for i, raw in enumerate(need(doc.get("files"), list, "/files")):
        where = f"/files/{i}"
        path = need(need(raw, dict, where).get("path"), str, f"{where}/path")
        check_file_path(path, where=f"manifest.json: {where}/path")
        files.append(
            FileEntry(
                path=path,
                sha256=digest(raw.get("sha256"), f"{where}/sha256"),
                size=size(raw.get("size"), f"{where}/size"),
            )
        )
    for label, names in (
        ("table", [t.name for t in tables]),
        ("blob", [b.sha256 for b in blobs]),
        ("file", [f.path for f in files]),
    ):
        if len(set(names)) != len(names):
            raise InputError(f"manifest.json: a {label} is listed twice")
    return Manifest(
        revision=revision,
        created_at=created_at.astimezone(dt.UTC),
        dialect=dialect,
        tables=tuple(tables),
        blobs=tuple(blobs),
        files=tuple(files),
        format_version=version,
    )


# --- writing ------------------------------------------------------------------------------


class TableDump:
    """Rows of one table streamed to a staging file, hashed as they are written."""

    def __init__(self, *, name: str, columns: tuple[tuple[str, str], ...], path: Path) -> None:
        self.name = name
        self.columns = columns
        self.path = path
        self.rows = 0
        self.size = 0
        self._tags = [tag for _, tag in columns]
        self._sha256 = hashlib.sha256()
        self._digest = RowsDigest()
        self._out: IO[bytes] | None = path.open("wb")

    @property
    def member(self) -> str:
        return f"tables/{self.name}.jsonl"

    def write(self, row: Sequence[Any]) -> None:
        if self._out is None:
            raise ValueError(f"table dump {self.name} is closed")
        line = encode_row(self._tags, row)
        self._out.write(line)
        self._sha256.update(line)
        self._digest.add(line)
        self.rows += 1
        self.size += len(line)

    def close(self) -> TableEntry:
        if self._out is not None:
            self._out.close()
            self._out = None
        return TableEntry(
            name=self.name,
            columns=self.columns,
            rows=self.rows,
            sha256=self._sha256.hexdigest(),
            rows_digest=self._digest.hexdigest(),
            size=self.size,
        )


class _HashingReader:
    """A file read by ``tarfile`` while its SHA-256 is computed."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        chunk = self._handle.read(n)
        self.sha256.update(chunk)
        return chunk


class ArchiveWriter:
    """A tar.gz written beside its final name and renamed into place only when complete."""

    def __init__(self, path: Path, *, compresslevel: int = 6) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        self._tmp = Path(tmp)
        self._raw = os.fdopen(fd, "wb")
        self._tar = tarfile.open(  # noqa: SIM115 (closed in commit/abort)
            fileobj=self._raw, mode="w:gz", compresslevel=compresslevel, format=tarfile.PAX_FORMAT
        )

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o600
        info.mtime = 0
        return info

    def add_file(self, name: str, source: Path) -> tuple[str, int]:
        """Add ``source`` as ``name``; its SHA-256 and size as read (a blob is verified by it)."""
        with source.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            reader = _HashingReader(handle)
            self._tar.addfile(self._info(name, size), reader)
        return reader.sha256.hexdigest(), size

    def add_bytes(self, name: str, data: bytes) -> None:
        self._tar.addfile(self._info(name, len(data)), io.BytesIO(data))

    def commit(self) -> int:
        """Finish, flush to disk and rename into place; the archive's size in bytes."""
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self._tmp, self.path)
        return self.path.stat().st_size

    def abort(self) -> None:
        with contextlib.suppress(OSError, tarfile.TarError, zlib.error):
            self._tar.close()
        self._raw.close()
        self._tmp.unlink(missing_ok=True)


# --- reading an untrusted archive ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Bounds on what a restore extracts (units in the names)."""

    max_member_bytes: int = 64 * (1 << 30)
    max_total_bytes: int = 256 * (1 << 30)
    max_manifest_bytes: int = 256 * (1 << 20)
    max_members: int = 10_000_000
    # Uncompressed bytes per compressed byte read so far (after the first MiB): JSON lines and
    # documents compress 5 to 50 times; deflate's ceiling (runs of one byte) is about 1030.
    max_expansion_ratio: int = 500
    # Space left free on the extraction's file system, whatever the archive declares.
    reserve_free_bytes: int = 256 * (1 << 20)
    max_line_bytes: int = 512 * (1 << 20)


@dataclass(frozen=True, slots=True)
class Extracted:
    """A checked archive on disk: the manifest, and where each member was written."""

    manifest: Manifest
    root: Path

    def table_path(self, entry: TableEntry) -> Path:
        return self.root / "tables" / f"{entry.name}.jsonl"

    def blob_path(self, entry: BlobEntry) -> Path:
        return self.root / "blobs" / entry.sha256

    def file_path(self, entry: FileEntry) -> Path:
        return self.root.joinpath("files", *PurePosixPath(entry.path).parts)


class _CountingReader:
    """The compressed file, counting what gzip has consumed (for the expansion ratio)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.consumed = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self._handle.read(n)
        self.consumed += len(chunk)
        return chunk


def _member_destination(name: str, root: Path) -> Path:
    """Where an archive member may be written, or an error naming it."""
    where = f"archive member {name!r}"
    if name == MANIFEST:
        return root / MANIFEST
    head, _, rest = name.partition("/")
    if head == "tables" and re.fullmatch(r"[a-z_][a-z0-9_]{0,62}\.jsonl", rest):
        return root / "tables" / rest
    if head == "blobs" and _SHA256.match(rest):
        return root / "blobs" / rest
    if head == "files":
        return root.joinpath("files", *check_file_path(rest, where=where).parts)
    raise InputError(f"{where}: not a name a Clearinghouse backup holds")


def extract(
    archive: Path,
    root: Path,
    *,
    limits: ArchiveLimits = ArchiveLimits(),
    progress: Callable[[str], None] | None = None,
) -> Extracted:
    """Extract ``archive`` into the empty directory ``root`` and check every member against the
    manifest (and the manifest against the members); raise a clear error otherwise."""
    if archive.is_symlink() or not archive.is_file():
        raise InputError(f"FILE: {archive} is not a regular file")
    seen: dict[str, tuple[str, int]] = {}
    root.mkdir(parents=True, exist_ok=True)
    room = shutil.disk_usage(root).free - limits.reserve_free_bytes
    total = 0  # declared sizes, checked before a member is read
    done = 0  # bytes actually written, for the expansion ratio
    with archive.open("rb") as raw:
        counting = _CountingReader(raw)
        try:
            with tarfile.open(fileobj=counting, mode="r|gz") as tar:  # type: ignore[call-overload]
                for member in tar:
                    name = member.name
                    if not member.isreg():
                        raise InputError(
                            f"archive member {name!r}: only regular files are allowed "
                            "(links, directories and devices are refused)"
                        )
                    destination = _member_destination(name, root)
                    if name in seen:
                        raise InputError(f"archive member {name!r}: appears twice")
                    if len(seen) >= limits.max_members:
                        raise TooLargeError(f"archive: more than {limits.max_members} members")
                    cap = limits.max_manifest_bytes if name == MANIFEST else limits.max_member_bytes
                    if member.size > cap:
                        raise TooLargeError(
                            f"archive member {name!r}: {member.size} bytes, over the limit {cap}"
                        )
                    total += member.size
                    if total > limits.max_total_bytes:
                        raise TooLargeError(
                            f"archive: more than {limits.max_total_bytes} bytes uncompressed"
                        )
                    if total > room:
                        raise TooLargeError(
                            f"archive: needs more than the {max(room, 0)} bytes free in {root}"
                        )
                    source = tar.extractfile(member)
                    if source is None:  # pragma: no cover - regular files always have data
                        raise InputError(f"archive member {name!r}: no data")
                    seen[name] = _copy_member(source, destination, counting, done, limits, name)
                    done += seen[name][1]
                    if progress is not None and len(seen) % 1000 == 0:
                        progress(f"extracted {len(seen)} members")
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise InputError(
                f"FILE: {archive} is not a readable backup (.tar.gz): {error}"
            ) from None
    if MANIFEST not in seen:
        raise InputError("archive: no manifest.json (not a Clearinghouse backup, or cut short)")
    manifest = parse_manifest((root / MANIFEST).read_bytes())
    _check_members(manifest, seen)
    return Extracted(manifest=manifest, root=root)


def _copy_member(
    source: IO[bytes],
    destination: Path,
    counting: _CountingReader,
    done: int,
    limits: ArchiveLimits,
    name: str,
) -> tuple[str, int]:
    destination.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    digest = hashlib.sha256()
    written = 0
    try:
        with os.fdopen(os.open(destination, flags, 0o600), "wb") as out:
            while chunk := source.read(CHUNK_BYTES):
                written += len(chunk)
                digest.update(chunk)
                out.write(chunk)
                if done + written > limits.max_expansion_ratio * max(
                    counting.consumed, CHUNK_BYTES
                ):
                    raise TooLargeError(
                        f"archive member {name!r}: expands more than "
                        f"{limits.max_expansion_ratio} times (a decompression bomb?)"
                    )
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), written


def _check_members(manifest: Manifest, seen: dict[str, tuple[str, int]]) -> None:
    expected: dict[str, tuple[str, int]] = {}
    for table in manifest.tables:
        expected[table.member] = (table.sha256, table.size)
    for blob in manifest.blobs:
        expected[blob.member] = (blob.sha256, blob.size)
    for item in manifest.files:
        expected[item.member] = (item.sha256, item.size)
    for name, (sha256, size) in seen.items():
        if name == MANIFEST:
            continue
        if name not in expected:
            raise IntegrityError(f"archive member {name!r} is not in the manifest")
        if expected[name] != (sha256, size):
            raise IntegrityError(
                f"archive member {name!r} does not match the manifest's SHA-256 and size "
                "(the archive was altered or damaged)"
            )
    missing = sorted(set(expected) - set(seen))
    if missing:
        raise IntegrityError(
            f"archive: {len(missing)} member(s) the manifest lists are absent, e.g. {missing[0]!r}"
        )


def read_rows(
    path: Path, entry: TableEntry, *, naive_utc: bool, max_line_bytes: int
) -> Iterator[list[Any]]:
    """Decoded rows of a table file, each checked against the manifest's columns."""
    tags = [tag for _, tag in entry.columns]
    names = [name for name, _ in entry.columns]
    with path.open("rb") as handle:
        for number, line in enumerate(iter(lambda: handle.readline(max_line_bytes + 1), b""), 1):
            where = f"{entry.member} line {number}"
            if len(line) > max_line_bytes:
                raise TooLargeError(f"{where}: longer than {max_line_bytes} bytes")
            try:
                values = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise InputError(f"{where}: not JSON") from None
            if not isinstance(values, list) or len(values) != len(tags):
                raise InputError(f"{where}: not an array of {len(tags)} values")
            yield [
                decode_value(tag, raw, naive_utc=naive_utc, where=f"{where}, column {name}")
                for tag, name, raw in zip(tags, names, values, strict=True)
            ]
