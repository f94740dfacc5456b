"""Backup and restore of a populated instance into an EMPTY one, on SQLite and PostgreSQL (and
across them): every table's rows come back equal, blob hashes and the audit chain verify, the
restored instance keeps working, a backup taken under concurrent writes is a consistent prefix,
and a tampered archive or a non-empty target is refused with the target left empty.

On PostgreSQL the restore target is ``$CLEARINGHOUSE_TEST_RESTORE_DATABASE_URL``, else a
database beside the test database named ``<name>_restore`` (created if absent).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.audit import service as audit_service
from clearinghouse.core.errors import ConflictError, InputError, IntegrityError
from clearinghouse.core.tlp import Tlp
from clearinghouse.infra.db import Base, alembic_config
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import (
    admin_flow,
    backup_flow,
    case_flow,
    inventory_flow,
    triage_flow,
    validation_flow,
)
from clearinghouse.pipeline import models as all_models
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import POSTGRES_URL
from tests.integration.helpers import demo_asset, import_bytes

assert all_models  # every model registered on Base.metadata


def _restore_url() -> str | None:
    if not POSTGRES_URL:
        return None
    explicit = os.environ.get("CLEARINGHOUSE_TEST_RESTORE_DATABASE_URL")
    url = make_url(explicit or POSTGRES_URL)
    if not explicit:
        url = url.set(database=f"{url.database}_restore")
    assert url.database != make_url(POSTGRES_URL).database, "the restore target must differ"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def _drop_everything(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Runtime]:
    """An empty instance: no schema, no data directory (what a new machine has)."""
    url = _restore_url()
    if url:
        _drop_everything(url)
    rt = Runtime.from_settings(Settings(data_dir=tmp_path / "restored", database_url=url))
    yield rt
    rt.close()


def _sqlite_runtime(directory: Path) -> Runtime:
    rt = Runtime.from_settings(Settings(data_dir=directory, database_url=None))
    rt.ensure_schema()
    return rt


def populate(rt: Runtime) -> None:
    """Organizations, submissions with blobs (SARIF, OSV, CVE at several TLPs), a merge, an
    SBOM inventory (a blob), a registered target (files), a case: every kind of row and file."""
    for name, kind, sector in (
        ("Coordination Center", OrgKind.COORDINATOR, Sector.GOVERNMENT),
        ("Lab Alpha", OrgKind.AI_LAB, None),
        ("Lab Beta", OrgKind.AI_LAB, None),
        ("Acme Maintainers", OrgKind.VENDOR, None),
        ("Valley Rural Hospital", OrgKind.OPERATOR, Sector.HEALTHCARE),
    ):
        admin_flow.create_organization(
            rt.db, viewer=LOCAL_ADMIN, name=name, kind=kind, sector=sector, clock=rt.clock
        )
    admin_flow.create_token(
        rt.db, viewer=LOCAL_ADMIN, organization="Lab Alpha", role=Role.SUBMITTER, clock=rt.clock
    )
    import_bytes(rt, "Lab Alpha", demo_asset("lab-alpha.sarif"), tlp=Tlp.AMBER)
    import_bytes(rt, "Lab Beta", demo_asset("lab-beta.sarif"), tlp=Tlp.GREEN)
    import_bytes(
        rt, "Lab Beta", demo_asset("public-osv.json"), tlp=Tlp.RED, share_with=("Lab Alpha",)
    )
    import_bytes(rt, "Acme Maintainers", demo_asset("public-cve.json"), tlp=Tlp.CLEAR)
    with rt.db.session() as session:
        ids = list(
            session.scalars(
                select(all_models.Vulnerability.public_id).order_by(all_models.Vulnerability.id)
            )
        )
    triage_flow.merge(rt.db, viewer=LOCAL_ADMIN, into=ids[0], other=ids[-1], clock=rt.clock)
    inventory_flow.import_inventory(
        rt,
        viewer=LOCAL_ADMIN,
        organization="Valley Rural Hospital",
        chunks=[demo_asset("hospital-sbom.cdx.json")],
    )
    example = Path(str(resources.files("clearinghouse.validation") / "targets" / "c-null-deref"))
    validation_flow.add_target(rt, viewer=LOCAL_ADMIN, path=example)
    case_flow.open_case(rt, viewer=LOCAL_ADMIN, vuln_ids=[ids[0]], allow_unvalidated=True)


def table_rows(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model's table, typed by the models and sorted by primary key."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with rt.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            keys = [c.name for c in table.primary_key.columns]
            rows = [tuple(r) for r in connection.execute(select(table))]
            positions = [list(table.columns.keys()).index(k) for k in keys]
            out[table.name] = sorted(rows, key=lambda r: tuple(r[i] for i in positions))
    return out


def blob_digests(rt: Runtime) -> list[str]:
    with rt.db.session() as session:
        return sorted(
            set(session.scalars(select(all_models.Submission.sha256)))
            | set(session.scalars(select(all_models.Inventory.sha256)))
        )


def assert_same_instance(source: Runtime, restored: Runtime) -> None:
    expected, got = table_rows(source), table_rows(restored)
    assert sum(len(rows) for rows in expected.values()) > 50
    for name, rows in expected.items():
        assert got[name] == rows, f"table {name} differs after restore"
    with restored.db.session() as session:
        verdict = audit_service.verify_chain(session)
    assert verdict.ok, verdict.reason
    assert verdict.events == len(expected["audit_events"]) > 10
    digests = blob_digests(source)
    assert len(digests) >= 5
    for digest in digests:
        assert hashlib.sha256(restored.blobs.get(digest)).hexdigest() == digest
    targets = sorted(
        p.relative_to(source.settings.data_dir) for p in source.settings.target_dir.rglob("*")
    )
    assert targets
    for relative in targets:
        original, copy = source.settings.data_dir / relative, restored.settings.data_dir / relative
        assert copy.is_dir() if original.is_dir() else copy.read_bytes() == original.read_bytes()


def assert_keeps_working(restored: Runtime) -> None:
    """New rows get fresh ids (PostgreSQL sequences were reset) and the chain goes on."""
    made = admin_flow.create_organization(
        restored.db,
        viewer=LOCAL_ADMIN,
        name="After Restore",
        kind=OrgKind.AI_LAB,
        sector=None,
        clock=restored.clock,
    )
    with restored.db.session() as session:
        assert made["id"] == session.scalar(
            select(all_models.Organization.id).order_by(all_models.Organization.id.desc()).limit(1)
        )
        assert made["id"] > 5
        assert audit_service.verify_chain(session).ok
    outcome = import_bytes(restored, "After Restore", demo_asset("lab-alpha.sarif"))
    assert outcome is not None


def is_empty(rt: Runtime) -> bool:
    with rt.db.engine.connect() as connection:
        names = [n for n in inspect(connection).get_table_names() if n != "alembic_version"]
        for name in names:
            if connection.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first():
                return False
    blobs = rt.settings.blob_dir
    return not (blobs.exists() and any(p.is_file() for p in blobs.rglob("*"))) and not (
        rt.settings.target_dir.exists() and any(rt.settings.target_dir.rglob("*"))
    )


def test_backup_restores_into_an_empty_instance(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    populate(runtime)
    keys = runtime.settings.data_dir / "keys"
    keys.mkdir()
    (keys / "signing.asc").write_text("-----BEGIN PGP PRIVATE KEY BLOCK-----\n")
    archive = tmp_path / "backup.tar.gz"
    lines: list[str] = []
    summary = backup_flow.backup(runtime, path=archive, progress=lines.append)
    assert archive.stat().st_mode & 0o077 == 0  # as secret as the database it holds
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
    assert "tables/audit_events.jsonl" in names
    assert names[-1] == "manifest.json"
    assert not [n for n in names if "keys" in n or "signing" in n]  # the secret key stays
    assert summary["rows"] == sum(len(r) for r in table_rows(runtime).values())
    assert any("audit_events" in line for line in lines)
    assert summary["blobs"] >= 5
    assert summary["files"] > 0

    done = backup_flow.restore(target, path=archive, progress=lines.append)
    assert done["verified"] is True
    assert done["audit_events"] > 10
    assert_same_instance(runtime, target)
    assert_keeps_working(target)


def test_a_non_empty_target_is_refused_and_left_alone(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    populate(runtime)
    archive = tmp_path / "backup.tar.gz"
    backup_flow.backup(runtime, path=archive)
    before = table_rows(runtime)
    with pytest.raises(ConflictError, match="not empty"):
        backup_flow.restore(runtime, path=archive)
    assert table_rows(runtime) == before
    backup_flow.restore(target, path=archive)
    with pytest.raises(ConflictError, match="not empty"):
        backup_flow.restore(target, path=archive)
    with pytest.raises(InputError, match="exists"):
        backup_flow.backup(runtime, path=archive)


def _rewrite(archive: Path, change: Any) -> None:
    """Rewrite the archive with ``change(name, data) -> data`` applied to every member."""
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            handle = tar.extractfile(info)
            assert handle is not None
            data = change(info.name, handle.read())
            info.size = len(data)
            members.append((info, data))
    with tarfile.open(archive, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data))


def test_a_tampered_archive_is_refused_and_the_target_stays_empty(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    populate(runtime)
    archive = tmp_path / "backup.tar.gz"
    backup_flow.backup(runtime, path=archive)
    pristine = archive.read_bytes()

    # A changed audit event, the manifest left alone: the member's hash gives it away.
    def alter_event(name: str, data: bytes) -> bytes:
        return (
            data.replace(b"organization.create", b"organization.erase", 1)
            if (name == "tables/audit_events.jsonl")
            else data
        )

    _rewrite(archive, alter_event)
    with pytest.raises(IntegrityError, match="audit_events"):
        backup_flow.restore(target, path=archive)
    assert is_empty(target)

    # The same change with the manifest rewritten to match: the audit chain gives it away, the
    # whole restore is rolled back and the blobs it had written are removed.
    archive.write_bytes(pristine)
    altered: dict[str, bytes] = {}

    def alter_and_lie(name: str, data: bytes) -> bytes:
        if name == "tables/audit_events.jsonl":
            altered[name] = alter_event(name, data)
            return altered[name]
        if name == "manifest.json":
            doc = orjson.loads(data)
            for table in doc["tables"]:
                if table["name"] == "audit_events":
                    new = altered["tables/audit_events.jsonl"]
                    from clearinghouse.infra.backup import RowsDigest

                    digest = RowsDigest()
                    for line in new.splitlines(keepends=True):
                        digest.add(line)
                    table.update(
                        sha256=hashlib.sha256(new).hexdigest(),
                        size=len(new),
                        rows_digest=digest.hexdigest(),
                    )
            return orjson.dumps(doc)
        return data

    _rewrite(archive, alter_and_lie)
    with pytest.raises(IntegrityError, match="audit chain"):
        backup_flow.restore(target, path=archive)
    assert is_empty(target)

    # A blob removed from the archive and the manifest: the tables still refer to it.
    archive.write_bytes(pristine)
    gone = blob_digests(runtime)[0]

    def drop_blob(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            doc = orjson.loads(data)
            doc["blobs"] = [b for b in doc["blobs"] if b["sha256"] != gone]
            return orjson.dumps(doc)
        return data

    _rewrite(archive, drop_blob)
    members = []
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            handle = tar.extractfile(info)
            assert handle is not None
            if info.name != f"blobs/{gone}":
                members.append((info, handle.read()))
    with tarfile.open(archive, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(IntegrityError, match="blob"):
        backup_flow.restore(target, path=archive)
    assert is_empty(target)

    # And the pristine archive still restores into the same target afterwards.
    archive.write_bytes(pristine)
    backup_flow.restore(target, path=archive)
    assert_same_instance(runtime, target)


def _organizations(rt: Runtime, *names: str) -> None:
    for name in names:
        admin_flow.create_organization(
            rt.db, viewer=LOCAL_ADMIN, name=name, kind=OrgKind.AI_LAB, sector=None, clock=rt.clock
        )


def test_an_archive_from_an_unknown_revision_is_refused(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    _organizations(runtime, "Lab Alpha")
    archive = tmp_path / "backup.tar.gz"
    backup_flow.backup(runtime, path=archive)

    def newer(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            return orjson.dumps({**orjson.loads(data), "revision": "9999_from_the_future"})
        return data

    _rewrite(archive, newer)
    with pytest.raises(InputError, match="newer Clearinghouse"):
        backup_flow.restore(target, path=archive)
    assert is_empty(target)


def test_an_older_archive_is_loaded_at_its_revision_then_migrated(
    target: Runtime, tmp_path: Path
) -> None:
    """A backup made at an older schema restores into a new database and into one already at
    the newest schema (empty: migrated down to the archive's revision first), ending at head."""
    old = Runtime.from_settings(Settings(data_dir=tmp_path / "old", database_url=None))
    try:
        config = alembic_config(old.db.url)
        with old.db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0010")  # 0011 only adds an index: the models still fit
        _organizations(old, "Lab Alpha", "Lab Beta")
        archive = tmp_path / "old.tar.gz"
        assert backup_flow.backup(old, path=archive)["revision"] == "0010"
        head = ScriptDirectory.from_config(config).get_current_head()
        for attempt in ("fresh", "already at head"):
            if attempt == "already at head":
                url = _restore_url()
                if url:
                    _drop_everything(url)
                fresh = Settings(data_dir=tmp_path / "again", database_url=url)
                target = Runtime.from_settings(fresh)
                target.ensure_schema()
            done = backup_flow.restore(target, path=archive)
            assert done["restored_revision"] == head
            with target.db.engine.connect() as connection:
                assert MigrationContext.configure(connection).get_current_revision() == head
            assert table_rows(target) == table_rows(old)
            target.close()
    finally:
        old.close()


def test_a_backup_under_concurrent_writes_is_a_consistent_prefix(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    populate(runtime)
    written: list[int] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                admin_flow.create_organization(
                    runtime.db,
                    viewer=LOCAL_ADMIN,
                    name=f"writer-{len(written)}",
                    kind=OrgKind.AI_LAB,
                    sector=None,
                    clock=runtime.clock,
                )
                written.append(len(written))
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    during: list[int] = []

    def progress(line: str) -> None:
        # Inside the snapshot: let the writer commit more before the next table is read.
        if line.startswith("table ") and not during:
            seen = len(written)
            while len(written) < seen + 5 and thread.is_alive():
                stop.wait(0.01)
            during.append(len(written))

    try:
        archive = tmp_path / "backup.tar.gz"
        backup_flow.backup(runtime, path=archive, progress=progress)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    backup_flow.restore(target, path=archive)
    with target.db.session() as session:
        names = set(
            session.scalars(
                select(all_models.Organization.name).where(
                    all_models.Organization.name.like("writer-%")
                )
            )
        )
        events = session.scalar(
            select(text("count(*)"))
            .select_from(all_models.AuditEvent)
            .where(
                all_models.AuditEvent.action == "organization.create",
                all_models.AuditEvent.detail.like('%"writer-%'),
            )
        )
        assert audit_service.verify_chain(session).ok
    kept = len(names)
    assert names == {f"writer-{i}" for i in range(kept)}  # a prefix of what was written
    assert events == kept  # each organization with its audit event, never one without
    assert kept < during[0] <= len(written)  # writes landed during the backup, not in it


@pytest.mark.skipif(not POSTGRES_URL, reason="cross-dialect needs CLEARINGHOUSE_TEST_DATABASE_URL")
def test_a_sqlite_backup_restores_into_postgresql_and_back(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    sqlite_source = _sqlite_runtime(tmp_path / "sqlite-source")
    try:
        populate(sqlite_source)
        archive = tmp_path / "from-sqlite.tar.gz"
        backup_flow.backup(sqlite_source, path=archive)
        backup_flow.restore(target, path=archive)  # PostgreSQL
        assert_same_instance(sqlite_source, target)
        assert_keeps_working(target)
    finally:
        sqlite_source.close()

    populate(runtime)  # PostgreSQL
    archive = tmp_path / "from-postgresql.tar.gz"
    backup_flow.backup(runtime, path=archive)
    sqlite_target = Runtime.from_settings(
        Settings(data_dir=tmp_path / "sqlite-target", database_url=None)
    )
    try:
        backup_flow.restore(sqlite_target, path=archive)
        assert_same_instance(runtime, sqlite_target)
        assert_keeps_working(sqlite_target)
    finally:
        sqlite_target.close()


def test_every_blob_reference_names_a_real_column() -> None:
    for table, columns in backup_flow.BLOB_REFERENCES.items():
        for column in columns:
            assert column in Base.metadata.tables[table].columns


def test_a_damaged_or_missing_blob_stops_the_backup_and_leaves_no_archive(
    runtime: Runtime, tmp_path: Path
) -> None:
    _organizations(runtime, "Lab Alpha")
    import_bytes(runtime, "Lab Alpha", demo_asset("lab-alpha.sarif"))
    (digest,) = blob_digests(runtime)
    stored = runtime.blobs.path_for(digest)
    original = stored.read_bytes()
    archive = tmp_path / "out" / "backup.tar.gz"

    stored.write_bytes(original.replace(b"sarif", b"SARIF", 1))
    with pytest.raises(IntegrityError, match="damaged"):
        backup_flow.backup(runtime, path=archive)
    assert not archive.parent.exists() or not any(archive.parent.iterdir())

    stored.unlink()
    with pytest.raises(IntegrityError, match="missing"):
        backup_flow.backup(runtime, path=archive)
    assert not any(archive.parent.iterdir())

    stored.write_bytes(original)
    assert backup_flow.backup(runtime, path=archive)["blobs"] == 1
