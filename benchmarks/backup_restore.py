"""Backup and restore figures: ``python benchmarks/backup_restore.py [--data-dir DIR]``.

Builds the demo instance (``clearinghouse demo``'s world, SQLite) unless ``--data-dir`` names an
existing instance, then times ``clearinghouse backup`` and ``clearinghouse restore`` into a new
empty instance (SQLite, or ``--restore-url`` for PostgreSQL: it must be an empty database) and
prints the archive size. As a reference it also times what a bare copy costs: SQLite's online
backup API into a file and a gzip'd tar of the database and the blob directory (no per-table
hashes, no verification, not portable across dialects). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import backup_flow
from clearinghouse.pipeline.demo import run_demo
from clearinghouse.pipeline.runtime import Runtime


def _bare_copy(data_dir: Path, scratch: Path) -> dict[str, Any]:
    started = time.monotonic()
    copy = scratch / "copy.db"
    with sqlite3.connect(data_dir / "clearinghouse.db") as source, sqlite3.connect(copy) as out:
        source.backup(out)
    archive = scratch / "bare.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(copy, arcname="clearinghouse.db")
        if (data_dir / "blobs").is_dir():
            tar.add(data_dir / "blobs", arcname="blobs")
    return {"seconds": round(time.monotonic() - started, 3), "bytes": archive.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="an existing SQLite instance")
    parser.add_argument("--restore-url", help="restore into this (empty) PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ch-backup-bench-") as tmp:
        scratch = Path(tmp)
        data_dir = args.data_dir
        build_s = 0.0
        if data_dir is None:
            started = time.monotonic()
            data_dir = Path(run_demo(data_dir=scratch / "demo", echo=None)["data_dir"])
            build_s = time.monotonic() - started
        source = Runtime.from_settings(Settings(data_dir=data_dir, database_url=None))
        target = Runtime.from_settings(
            Settings(data_dir=scratch / "restored", database_url=args.restore_url)
        )
        try:
            made = backup_flow.backup(source, path=scratch / "backup.tar.gz")
            restored = backup_flow.restore(target, path=scratch / "backup.tar.gz")
        finally:
            source.close()
            target.close()
        database_bytes = (data_dir / "clearinghouse.db").stat().st_size
        figures = {
            "instance": "demo" if args.data_dir is None else str(args.data_dir),
            "demo_build_s": round(build_s, 1),
            "restore_into": "postgresql" if args.restore_url else "sqlite",
            "tables": made["tables"],
            "rows": made["rows"],
            "blobs": made["blobs"],
            "blob_bytes": made["blob_bytes"],
            "files": made["files"],
            "sqlite_database_bytes": database_bytes,
            "archive_bytes": made["bytes"],
            "backup_s": made["seconds"],
            "restore_s": restored["seconds"],
            "audit_events_verified": restored["audit_events"],
            "reference_bare_copy": _bare_copy(data_dir, scratch),
        }
    sys.stdout.write(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    main()
