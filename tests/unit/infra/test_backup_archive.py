"""The backup archive as hostile input: every trick refused with a clear error, nothing written
outside the extraction directory; and the column codec's round trip of every type."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import hashlib
import io
import math
import shutil
import tarfile
from pathlib import Path

import orjson
import pytest

from clearinghouse.core.errors import InputError, IntegrityError, TooLargeError
from clearinghouse.infra.backup import (
    ArchiveLimits,
    ArchiveWriter,
    Manifest,
    RowsDigest,
    TableDump,
    decode_value,
    encode_value,
    extract,
    parse_manifest,
    read_rows,
)

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def _good_archive(tmp_path: Path) -> Path:
    """A small valid archive: one table, one blob, one target file."""
    staging = tmp_path / "staging"
    staging.mkdir()
    dump = TableDump(name="things", columns=(("id", "int"), ("at", "datetime")), path=staging / "t")
    dump.write([1, NOW])
    dump.write([2, None])
    table = dump.close()
    blob_data = b"raw document"
    blob = staging / "blob"
    blob.write_bytes(blob_data)
    target = staging / "main.c"
    target.write_bytes(b"int main(void) { return 0; }\n")
    path = tmp_path / "good.tar.gz"
    writer = ArchiveWriter(path)
    writer.add_file(table.member, staging / "t")
    digest, size = writer.add_file(f"blobs/{hashlib.sha256(blob_data).hexdigest()}", blob)
    fdigest, fsize = writer.add_file("files/targets/abc/main.c", target)
    manifest = {
        "format": "clearinghouse-backup",
        "format_version": 1,
        "revision": "0011",
        "created_at": NOW.isoformat(),
        "dialect": "sqlite",
        "tables": [
            {
                "name": "things",
                "columns": [["id", "int"], ["at", "datetime"]],
                "rows": 2,
                "sha256": table.sha256,
                "rows_digest": table.rows_digest,
                "size": table.size,
            }
        ],
        "blobs": [{"sha256": digest, "size": size}],
        "files": [{"path": "targets/abc/main.c", "sha256": fdigest, "size": fsize}],
    }
    writer.add_bytes("manifest.json", orjson.dumps(manifest))
    writer.commit()
    return path


def _members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    out = []
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            handle = tar.extractfile(member)
            out.append((member, handle.read() if handle else b""))
    return out


def _rewrite(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _reg(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def test_a_good_archive_extracts_and_its_rows_decode(tmp_path: Path) -> None:
    extracted = extract(_good_archive(tmp_path), tmp_path / "out")
    (table,) = extracted.manifest.tables
    rows = list(
        read_rows(extracted.table_path(table), table, naive_utc=False, max_line_bytes=1 << 20)
    )
    assert rows == [[1, NOW], [2, None]]
    assert extracted.file_path(extracted.manifest.files[0]).read_bytes().startswith(b"int main")


@pytest.mark.parametrize(
    "name",
    [
        "../evil",
        "/etc/evil",
        "files/targets/../../evil",
        "files/../evil",
        "files/keys/signing.asc",
        "tables/../../evil.jsonl",
        "blobs/not-a-digest",
        "something-else",
    ],
)
def test_unexpected_or_traversing_member_names_are_refused(tmp_path: Path, name: str) -> None:
    path = _good_archive(tmp_path)
    members = _members(path)
    _rewrite(path, [_reg(name, b"x"), *members])
    out = tmp_path / "deep" / "er" / "out"
    with pytest.raises(InputError, match="archive member"):
        extract(path, out)
    assert not any(p.name == "evil" or p.name == "evil.jsonl" for p in tmp_path.rglob("*"))
    assert not Path("/etc/evil").exists()


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.CHRTYPE]
)
def test_links_directories_and_devices_are_refused(tmp_path: Path, kind: bytes) -> None:
    path = _good_archive(tmp_path)
    info = tarfile.TarInfo("files/targets/abc/link")
    info.type = kind
    info.linkname = "/etc/passwd"
    _rewrite(path, [(info, b""), *_members(path)])
    with pytest.raises(InputError, match="only regular files"):
        extract(path, tmp_path / "out")
    assert not (tmp_path / "out" / "files" / "targets" / "abc" / "link").exists()


def test_a_decompression_bomb_is_stopped_as_it_expands(tmp_path: Path) -> None:
    path = _good_archive(tmp_path)
    bomb = b"\0" * (16 << 20)  # 16 MiB of zeros: about 16 KiB compressed
    _rewrite(path, [_reg("files/targets/abc/zeros", bomb), *_members(path)])
    with pytest.raises(TooLargeError, match="decompression bomb"):
        extract(path, tmp_path / "out", limits=ArchiveLimits(max_expansion_ratio=10))
    assert not (tmp_path / "out" / "files" / "targets" / "abc" / "zeros").exists()


def test_an_archive_larger_than_the_free_space_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    path = _good_archive(tmp_path)
    everything_free = shutil.disk_usage(tmp_path).free
    with pytest.raises(TooLargeError, match="bytes free"):
        extract(path, tmp_path / "out", limits=ArchiveLimits(reserve_free_bytes=everything_free))


def test_a_member_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = _good_archive(tmp_path)
    with pytest.raises(TooLargeError, match="over the limit"):
        extract(path, tmp_path / "out", limits=ArchiveLimits(max_member_bytes=8))


def test_a_changed_member_is_refused(tmp_path: Path) -> None:
    path = _good_archive(tmp_path)
    members = [
        _reg(info.name, data.replace(b"[2,null]", b"[3,null]")) for info, data in _members(path)
    ]
    _rewrite(path, members)
    with pytest.raises(IntegrityError, match=r"tables/things\.jsonl.*does not match"):
        extract(path, tmp_path / "out")


def test_a_member_missing_from_the_archive_or_the_manifest_is_refused(tmp_path: Path) -> None:
    path = _good_archive(tmp_path)
    members = _members(path)
    _rewrite(path, [m for m in members if not m[0].name.startswith("blobs/")])
    with pytest.raises(IntegrityError, match="absent"):
        extract(path, tmp_path / "out")
    _rewrite(path, [_reg("blobs/" + "0" * 64, b"extra"), *members])
    with pytest.raises(IntegrityError, match="not in the manifest"):
        extract(path, tmp_path / "out2")


def test_a_duplicated_member_and_a_missing_manifest_are_refused(tmp_path: Path) -> None:
    path = _good_archive(tmp_path)
    members = _members(path)
    _rewrite(path, [members[0], *members])
    with pytest.raises(InputError, match="twice"):
        extract(path, tmp_path / "out")
    _rewrite(path, [m for m in members if m[0].name != "manifest.json"])
    with pytest.raises(InputError, match="no manifest"):
        extract(path, tmp_path / "out2")


def test_not_an_archive_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not gzip")
    with pytest.raises(InputError, match="not a readable backup"):
        extract(junk, tmp_path / "out")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(_good_archive(tmp_path).read_bytes()[:200])
    with pytest.raises(InputError, match=r"not a readable backup|no manifest"):
        extract(cut, tmp_path / "out2")
    plain = tmp_path / "plain.gz"
    plain.write_bytes(gzip.compress(b"no tar inside"))
    with pytest.raises(InputError):
        extract(plain, tmp_path / "out3")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "something"}, "/format"),
        ({"format_version": 2}, "/format_version"),
        ({"revision": "../x"}, "/revision"),
        ({"created_at": "yesterday"}, "/created_at"),
        ({"dialect": "oracle"}, "/dialect"),
        ({"tables": [{"name": "Robert'); DROP TABLE x;--"}]}, "/tables/0/name"),
        ({"tables": [{"name": "t", "columns": [["id", "pickle"]]}]}, "/tables/0/columns/0"),
        ({"blobs": [{"sha256": "abc", "size": 1}]}, "/blobs/0/sha256"),
        ({"blobs": [{"sha256": "0" * 64, "size": -1}]}, "/blobs/0/size"),
        ({"files": [{"path": "targets/../../x", "sha256": "0" * 64, "size": 1}]}, "/files/0"),
        ({"files": [{"path": "keys/secret", "sha256": "0" * 64, "size": 1}]}, "/files/0"),
    ],
)
def test_manifest_lies_name_the_field(change: dict[str, object], field: str) -> None:
    doc: dict[str, object] = {
        "format": "clearinghouse-backup",
        "format_version": 1,
        "revision": "0011",
        "created_at": NOW.isoformat(),
        "dialect": "sqlite",
        "tables": [],
        "blobs": [],
        "files": [],
    }
    doc.update(change)
    with pytest.raises(InputError, match=field):
        parse_manifest(orjson.dumps(doc))


def test_the_manifest_round_trips() -> None:
    manifest = Manifest(
        revision="0011", created_at=NOW, dialect="postgresql", tables=(), blobs=(), files=()
    )
    assert parse_manifest(manifest.to_json()) == manifest


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("int", 2**63 - 1),
        ("int", -(2**63)),
        ("str", "naïve \u2028 text"),
        ("bool", False),
        ("float", 0.1),
        ("float", math.inf),
        ("float", -math.inf),
        ("datetime", dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)),
        ("date", dt.date(2026, 2, 28)),
        ("bytes", b"\x00\xff binary"),
        ("json", {"b": [1, 2], "a": None}),
        ("decimal", decimal.Decimal("12345678901234567890.000001")),
    ],
)
def test_every_type_round_trips_through_json(tag: str, value: object) -> None:
    raw = orjson.loads(orjson.dumps(encode_value(tag, value)))
    assert decode_value(tag, raw, naive_utc=False, where="t.c") == value


def test_nan_and_naive_utc() -> None:
    assert math.isnan(
        decode_value("float", encode_value("float", math.nan), naive_utc=False, where="x")
    )
    naive = dt.datetime(2026, 1, 2, 3, 4, 5)
    encoded = encode_value("datetime", naive)  # SQLite hands back naive UTC
    assert encoded == "2026-01-02T03:04:05.000000+00:00"
    assert decode_value("datetime", encoded, naive_utc=True, where="x") == naive


@pytest.mark.parametrize(
    ("tag", "raw"),
    [
        ("int", True),
        ("int", 2**64),
        ("int", "1"),
        ("str", 1),
        ("datetime", "2026-01-02T03:04:05"),
        ("bytes", "not base64!"),
        ("float", "1e999x"),
        ("bool", 1),
    ],
)
def test_a_wrongly_typed_value_names_the_column(tag: str, raw: object) -> None:
    with pytest.raises(InputError, match=r"table\.column"):
        decode_value(tag, raw, naive_utc=False, where="table.column")


def test_the_rows_digest_ignores_order_and_sees_every_change() -> None:
    lines = [b"[1]\n", b"[2]\n", b"[3]\n"]
    forward, backward, changed = RowsDigest(), RowsDigest(), RowsDigest()
    for line in lines:
        forward.add(line)
    for line in reversed(lines):
        backward.add(line)
    for line in [b"[1]\n", b"[2]\n", b"[4]\n"]:
        changed.add(line)
    assert forward.hexdigest() == backward.hexdigest() != changed.hexdigest()
