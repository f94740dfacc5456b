"""``clearinghouse backup`` and ``clearinghouse restore``: a consistent snapshot of the database
and the files it refers to, and its restoration into an empty instance, verified.

Backup reads every table inside one read transaction (PostgreSQL: ``SERIALIZABLE, READ ONLY,
DEFERRABLE``, which waits for a snapshot no concurrent transaction can make anomalous; SQLite
in WAL mode: one deferred read transaction, which sees one commit point and blocks no writer).
Blobs are copied after the snapshot: the store only ever adds content-addressed files, so every
blob the snapshot references is there, and each is hashed as it is read. Registered targets and
evaluation suites (``targets/``, ``suites/`` in the data directory) go along; the signing key
(``keys/``) deliberately does not: a backup should not be a copy of a secret.

Restore extracts and checks the archive (``infra.backup``) before touching the database, then
in ONE transaction: refuses a non-empty target, migrates it to the archive's schema revision,
loads the tables in dependency order, compares each table's count and rows digest with the
manifest, resets PostgreSQL sequences, migrates to the newest revision, verifies the audit
chain, and writes blobs and files (each re-hashed once stored). Any failure rolls the
transaction back and removes the files it wrote, so the target is left as empty as it was.
The archive format does not depend on the dialect: a SQLite backup restores into PostgreSQL
and back.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import (
    Connection,
    Integer,
    MetaData,
    Table,
    and_,
    bindparam,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import ConflictError, InputError, IntegrityError
from clearinghouse.infra.backup import (
    FILE_ROOTS,
    MANIFEST,
    ArchiveLimits,
    ArchiveWriter,
    BlobEntry,
    Extracted,
    FileEntry,
    Manifest,
    RowsDigest,
    TableDump,
    TableEntry,
    check_file_path,
    encode_row,
    extract,
    read_rows,
    tag_of,
)
from clearinghouse.infra.blobs import CHUNK_BYTES, iter_file
from clearinghouse.infra.bulk import table_of
from clearinghouse.infra.db import alembic_config
from clearinghouse.pipeline.models import EvalSample, Inventory, Submission, VexRecord
from clearinghouse.pipeline.runtime import Runtime

Progress = Callable[[str], None]
_VERSION_TABLE = "alembic_version"
_INSERT_BATCH = 2_000
_READ_BATCH = 5_000

# Columns holding the SHA-256 of a file in the blob store: every one of them must be in the
# archive (a test checks that each names a real column).
BLOB_REFERENCES: dict[str, tuple[str, ...]] = {
    table_of(Submission).name: ("sha256",),
    table_of(Inventory).name: ("sha256",),
    table_of(VexRecord).name: ("document_sha256",),
    table_of(EvalSample).name: ("transcript_sha256",),
}


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


# --- backup -------------------------------------------------------------------------------


@contextlib.contextmanager
def _snapshot(url: str) -> Iterator[Connection]:
    """A connection inside one consistent read transaction, on its own engine: the runtime's
    SQLite engine begins every transaction with ``BEGIN IMMEDIATE``, which would hold the write
    lock (and stall every writer) for the whole backup."""
    engine = create_engine(url)
    try:
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.isolation_level = None
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _on_begin(connection: Any) -> None:
                connection.exec_driver_sql("BEGIN DEFERRED")

            with engine.connect() as connection, connection.begin():
                # The first read fixes the snapshot (the WAL end mark) for the whole transaction.
                connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
                yield connection
        else:
            options: dict[str, Any] = {"isolation_level": "SERIALIZABLE"}
            if engine.dialect.name == "postgresql":
                options.update(postgresql_readonly=True, postgresql_deferrable=True)
            with (
                engine.connect().execution_options(**options) as connection,
                connection.begin(),
            ):
                yield connection
    finally:
        engine.dispose()


def _data_tables(metadata: MetaData) -> list[Table]:
    return [t for t in metadata.sorted_tables if t.name != _VERSION_TABLE]


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def backup(
    rt: Runtime, *, path: Path, overwrite: bool = False, progress: Progress | None = None
) -> dict[str, Any]:
    """Write a backup of the database, blobs, targets and suites to ``path`` (atomically)."""
    started = time.monotonic()
    if path.exists() and not overwrite:
        raise InputError(f"FILE: {path} exists (give --overwrite to replace it)")
    if path.is_dir():
        raise InputError(f"FILE: {path} is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = ArchiveWriter(path)
    try:
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".backup-") as staging:
            tables, referenced, revision, dialect = _dump_tables(rt, Path(staging), progress)
            for entry in tables:
                writer.add_file(entry.member, Path(staging) / f"{entry.name}.jsonl")
        blobs = _add_blobs(rt, writer, referenced, progress)
        files = _add_files(rt, writer, progress)
        manifest = Manifest(
            revision=revision,
            created_at=rt.clock.now(),
            dialect=dialect,
            tables=tuple(tables),
            blobs=tuple(blobs),
            files=tuple(files),
        )
        writer.add_bytes(MANIFEST, manifest.to_json())
        size = writer.commit()
    except BaseException:
        writer.abort()
        raise
    seconds = time.monotonic() - started
    _say(progress, f"backup written: {path} ({size} bytes, {seconds:.1f} s)")
    return _summary(manifest, file=path, size=size, seconds=seconds)


def _dump_tables(
    rt: Runtime, staging: Path, progress: Progress | None
) -> tuple[list[TableEntry], set[str], str, str]:
    entries: list[TableEntry] = []
    referenced: set[str] = set()
    with _snapshot(rt.db.url) as connection:
        revision = _revision(connection)
        if revision is None:
            raise InputError("the database has no schema (run 'clearinghouse db upgrade')")
        metadata = MetaData()
        metadata.reflect(connection)
        tables = _data_tables(metadata)
        for number, table in enumerate(tables, 1):
            # Reflected names are ``quoted_name``s; the archive holds plain strings.
            columns = tuple(
                (str(column.name), tag_of(column.type, where=f"{table.name}.{column.name}"))
                for column in table.columns
            )
            refs = [
                i
                for i, (name, _) in enumerate(columns)
                if name in BLOB_REFERENCES.get(table.name, ())
            ]
            dump = TableDump(
                name=str(table.name), columns=columns, path=staging / f"{table.name}.jsonl"
            )
            try:
                query = select(table).order_by(*table.primary_key.columns)
                result = connection.execute(query, execution_options={"yield_per": _READ_BATCH})
                for row in result:
                    dump.write(row)
                    referenced.update(row[i] for i in refs if row[i] is not None)
            finally:
                entry = dump.close()
            entries.append(entry)
            _say(progress, f"table {number}/{len(tables)} {table.name}: {entry.rows} rows")
        dialect = connection.dialect.name
    return entries, referenced, revision, dialect


def _add_blobs(
    rt: Runtime, writer: ArchiveWriter, referenced: set[str], progress: Progress | None
) -> list[BlobEntry]:
    blobs: list[BlobEntry] = []
    total = 0
    for name, source in rt.blobs.stored():
        if source.is_symlink() or not source.is_file():
            continue
        entry = BlobEntry(sha256=name, size=0)
        digest, size = writer.add_file(entry.member, source)
        if digest != name:
            raise IntegrityError(
                f"blob store: {source} does not hold the content its name says (SHA-256 "
                f"{digest}); the store is damaged, so no backup was written"
            )
        blobs.append(BlobEntry(sha256=digest, size=size))
        total += size
        if len(blobs) % 500 == 0:
            _say(progress, f"blobs: {len(blobs)} copied ({total} bytes)")
    missing = sorted(referenced - {b.sha256 for b in blobs})
    if missing:
        raise IntegrityError(
            f"blob store: {len(missing)} blob(s) the database refers to are missing, e.g. "
            f"{missing[0]}; no backup was written"
        )
    _say(progress, f"blobs: {len(blobs)} copied ({total} bytes), each hash verified")
    return blobs


def _add_files(rt: Runtime, writer: ArchiveWriter, progress: Progress | None) -> list[FileEntry]:
    files: list[FileEntry] = []
    data_dir = rt.settings.data_dir
    for root_name in FILE_ROOTS:
        root = data_dir / root_name
        if not root.is_dir() or root.is_symlink():
            continue
        for directory, subdirs, names in os.walk(root):
            subdirs.sort()
            for name in sorted(names) + [d for d in subdirs if Path(directory, d).is_symlink()]:
                source = Path(directory) / name
                relative = source.relative_to(data_dir).as_posix()
                if source.is_symlink() or not source.is_file():
                    raise InputError(
                        f"{source}: only regular files are backed up (a symlink or special "
                        "file in the data directory); remove it and back up again"
                    )
                check_file_path(relative, where="data directory")
                digest, size = writer.add_file(f"files/{relative}", source)
                files.append(FileEntry(path=relative, sha256=digest, size=size))
    _say(progress, f"files: {len(files)} from {', '.join(FILE_ROOTS)}")
    return files


def _summary(manifest: Manifest, *, file: Path, size: int, seconds: float) -> dict[str, Any]:
    return {
        "file": str(file),
        "bytes": size,
        "seconds": round(seconds, 3),
        "revision": manifest.revision,
        "dialect": manifest.dialect,
        "created_at": manifest.created_at.isoformat(),
        "tables": len(manifest.tables),
        "rows": sum(t.rows for t in manifest.tables),
        "table_rows": {t.name: t.rows for t in manifest.tables},
        "blobs": len(manifest.blobs),
        "blob_bytes": sum(b.size for b in manifest.blobs),
        "files": len(manifest.files),
    }


# --- restore ------------------------------------------------------------------------------


def restore(
    rt: Runtime,
    *,
    path: Path,
    limits: ArchiveLimits = ArchiveLimits(),
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Restore ``path`` into this (empty) instance, verified; all of it or nothing."""
    started = time.monotonic()
    data_dir = rt.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    with rt.db.engine.connect() as connection:
        _require_empty(connection)  # before a long extraction; checked again when writing
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as staging:
        _say(progress, f"checking {path}")
        extracted = extract(path, Path(staging), limits=limits, progress=progress)
        manifest = extracted.manifest
        script = ScriptDirectory.from_config(alembic_config(rt.db.url))
        head = script.get_current_head()
        try:
            known = script.get_revision(manifest.revision)
        except CommandError:
            known = None
        if known is None or head is None:
            raise InputError(
                f"the archive's schema revision {manifest.revision!r} is unknown to this "
                "version (a backup from a newer Clearinghouse?): upgrade, then restore"
            )
        created: list[Path] = []
        try:
            with rt.db.engine.begin() as connection:
                _require_empty(connection)
                _migrate(connection, rt.db.url, script, manifest.revision)
                tables = _target_tables(connection, manifest)
                referenced = _load(connection, extracted, tables, limits, progress)
                _verify_tables(connection, manifest, tables, progress)
                _reset_sequences(connection, tables)
                _migrate(connection, rt.db.url, script, head)
                events = _verify_audit(connection)
                _say(progress, f"audit chain verified ({events} events)")
                missing = sorted(referenced - {b.sha256 for b in manifest.blobs})
                if missing:
                    raise IntegrityError(
                        f"archive: {len(missing)} blob(s) the tables refer to are not in it, "
                        f"e.g. {missing[0]}"
                    )
                _write_blobs(rt, extracted, created, progress)
                _write_files(rt, extracted, created, progress)
        except BaseException:
            _remove_created(created, data_dir)
            raise
    seconds = time.monotonic() - started
    _say(progress, f"restored {path} ({seconds:.1f} s)")
    doc = _summary(manifest, file=path, size=path.stat().st_size, seconds=seconds)
    doc.update({"restored_revision": head, "audit_events": events, "verified": True})
    return doc


def _require_empty(connection: Connection) -> None:
    for name in sorted(inspect(connection).get_table_names()):
        if name == _VERSION_TABLE:
            continue
        quoted = connection.dialect.identifier_preparer.quote(name)
        if connection.exec_driver_sql(f"SELECT 1 FROM {quoted} LIMIT 1").first() is not None:  # noqa: S608
            raise ConflictError(
                f"the target database is not empty (table {name} has rows): restore only "
                "into an empty instance (a new database and data directory)"
            )


def _migrate(connection: Connection, url: str, script: ScriptDirectory, revision: str) -> None:
    """Bring the (empty) schema to ``revision``, up or down, inside the caller's transaction."""
    current = _revision(connection)
    if current == revision:
        return
    config = alembic_config(url)
    config.attributes["connection"] = connection
    if current is not None and any(
        r.revision == revision for r in script.iterate_revisions(current, "base")
    ):
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


def _target_tables(connection: Connection, manifest: Manifest) -> list[Table]:
    """The target's tables in load order, after checking they are exactly the archive's."""
    metadata = MetaData()
    metadata.reflect(connection)
    tables = _data_tables(metadata)
    have = {t.name for t in tables}
    listed = {t.name for t in manifest.tables}
    extra = sorted(listed - have)
    if extra:
        raise InputError(
            f"manifest.json: table {extra[0]} does not exist at schema revision {manifest.revision}"
        )
    absent = sorted(have - listed)
    if absent:
        raise InputError(
            f"manifest.json: table {absent[0]} of schema revision {manifest.revision} is "
            "missing from the archive"
        )
    by_name = {t.name: t for t in manifest.tables}
    for table in tables:
        target = {c.name: tag_of(c.type, where=f"{table.name}.{c.name}") for c in table.columns}
        if dict(by_name[table.name].columns) != target:
            raise InputError(
                f"manifest.json: the columns of table {table.name} do not match schema "
                f"revision {manifest.revision} (expected {sorted(target.items())})"
            )
    return tables


def _deferred_columns(table: Table, loaded: set[str]) -> list[str]:
    """Nullable foreign keys to this table itself or to one not loaded yet: inserted as NULL
    and set once every table is in (PostgreSQL cannot defer a plain foreign key)."""
    return sorted(
        {
            fk.parent.name
            for fk in table.foreign_keys
            if fk.parent.nullable
            and (fk.column.table is table or fk.column.table.name not in loaded)
        }
    )


def _load(
    connection: Connection,
    extracted: Extracted,
    tables: list[Table],
    limits: ArchiveLimits,
    progress: Progress | None,
) -> set[str]:
    naive_utc = connection.dialect.name == "sqlite"
    by_name = {t.name: t for t in extracted.manifest.tables}
    referenced: set[str] = set()
    patches: list[tuple[Table, list[str], list[dict[str, Any]]]] = []
    loaded: set[str] = set()
    for number, table in enumerate(tables, 1):
        entry = by_name[table.name]
        names = [name for name, _ in entry.columns]
        deferred = _deferred_columns(table, loaded)
        keys = [c.name for c in table.primary_key.columns]
        if deferred and not keys:
            raise InputError(f"table {table.name}: a deferred reference needs a primary key")
        refs = BLOB_REFERENCES.get(table.name, ())
        updates: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        rows = read_rows(
            extracted.table_path(entry),
            entry,
            naive_utc=naive_utc,
            max_line_bytes=limits.max_line_bytes,
        )
        for values in rows:
            row = dict(zip(names, values, strict=True))
            referenced.update(row[c] for c in refs if row.get(c) is not None)
            if deferred and any(row[c] is not None for c in deferred):
                updates.append(
                    {**{f"k_{k}": row[k] for k in keys}, **{f"v_{c}": row[c] for c in deferred}}
                )
                for column in deferred:
                    row[column] = None
            batch.append(row)
            if len(batch) >= _INSERT_BATCH:
                connection.execute(table.insert(), batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
        if updates:
            patches.append((table, deferred, updates))
        loaded.add(table.name)
        _say(progress, f"loaded table {number}/{len(tables)} {table.name}: {entry.rows} rows")
    for table, deferred, updates in patches:
        keys = [c.name for c in table.primary_key.columns]
        statement = (
            table.update()
            .where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys)))
            .values({c: bindparam(f"v_{c}") for c in deferred})
        )
        for start in range(0, len(updates), _INSERT_BATCH):
            connection.execute(statement, updates[start : start + _INSERT_BATCH])
    return referenced


def _verify_tables(
    connection: Connection, manifest: Manifest, tables: list[Table], progress: Progress | None
) -> None:
    """Re-read every loaded table and compare its count and rows digest with the manifest."""
    by_name = {t.name: t for t in manifest.tables}
    for table in tables:
        entry = by_name[table.name]
        tags = [tag for _, tag in entry.columns]
        query = select(*(table.c[name] for name, _ in entry.columns))
        digest = RowsDigest()
        count = 0
        # Per statement: ``Connection.execution_options`` would change the connection itself.
        for row in connection.execute(query, execution_options={"yield_per": _READ_BATCH}):
            digest.add(encode_row(tags, row))
            count += 1
        if count != entry.rows or digest.hexdigest() != entry.rows_digest:
            raise IntegrityError(
                f"restore: table {table.name} holds {count} rows after loading, the manifest "
                f"says {entry.rows}, or their contents differ (rows digest); nothing was kept"
            )
    _say(progress, f"tables verified: {len(tables)} (row counts and rows digests)")


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """PostgreSQL hands out ids from sequences that explicit ids do not advance."""
    if connection.dialect.name != "postgresql":
        return
    quote = connection.dialect.identifier_preparer.quote
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": quote(table.name), "column": keys[0].name},
        ).scalar()
        if sequence is None:
            continue
        column, name = quote(keys[0].name), quote(table.name)
        connection.execute(
            text(
                f"SELECT setval(CAST(:sequence AS regclass), "  # noqa: S608 (quoted names)
                f"COALESCE(MAX({column}), 0) + 1, false) FROM {name}"
            ),
            {"sequence": sequence},
        )


def _verify_audit(connection: Connection) -> int:
    with Session(bind=connection) as session:
        verdict = audit_service.verify_chain(session)
    if not verdict.ok:
        raise IntegrityError(
            f"restore: the audit chain does not verify (event {verdict.first_bad_seq}: "
            f"{verdict.reason}); nothing was kept"
        )
    return verdict.events


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in iter_file(path, CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def _write_blobs(
    rt: Runtime, extracted: Extracted, created: list[Path], progress: Progress | None
) -> None:
    for number, blob in enumerate(extracted.manifest.blobs, 1):
        final = rt.blobs.path_for(blob.sha256)
        existed = final.exists()
        stored = rt.blobs.put_stream(
            iter_file(extracted.blob_path(blob)), max_bytes=max(blob.size, 1)
        )
        if not existed:
            created.append(stored.path)
        if stored.sha256 != blob.sha256 or _sha256_of(stored.path) != blob.sha256:
            raise IntegrityError(f"restore: blob {blob.sha256} does not match its hash once stored")
        if number % 500 == 0:
            _say(progress, f"blobs: {number}/{len(extracted.manifest.blobs)} written")
    _say(progress, f"blobs: {len(extracted.manifest.blobs)} written, each hash verified")


def _write_files(
    rt: Runtime, extracted: Extracted, created: list[Path], progress: Progress | None
) -> None:
    data_dir = rt.settings.data_dir
    for item in extracted.manifest.files:
        final = data_dir.joinpath(*check_file_path(item.path, where="manifest.json").parts)
        for parent in reversed(final.relative_to(data_dir).parents):
            directory = data_dir / parent
            if directory.is_symlink():
                raise InputError(f"{directory} is a symlink: refusing to write through it")
            if not directory.exists():
                directory.mkdir()
                created.append(directory)
        if final.exists() or final.is_symlink():
            if final.is_symlink() or not final.is_file() or _sha256_of(final) != item.sha256:
                raise ConflictError(
                    f"{final} exists with other content: restore into an empty data directory"
                )
            continue
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".restoring-")
        try:
            with os.fdopen(fd, "wb") as out, extracted.file_path(item).open("rb") as source:
                while chunk := source.read(CHUNK_BYTES):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        created.append(final)
        if _sha256_of(final) != item.sha256:
            raise IntegrityError(f"restore: {item.path} does not match its hash once written")
    _say(progress, f"files: {len(extracted.manifest.files)} written, each hash verified")


def _remove_created(created: list[Path], data_dir: Path) -> None:
    """Undo what a failed restore wrote: files first, then the directories it made."""
    for path in reversed(created):
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
                continue
            path.unlink(missing_ok=True)
            if path.parent != data_dir:
                path.parent.rmdir()  # a blob bucket put_stream made; refused if not empty
