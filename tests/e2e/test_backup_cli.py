"""``clearinghouse backup`` and ``clearinghouse restore`` as an operator runs them: real
processes, one JSON document on stdout with ``--json``, progress on stderr, exit 1 with one
line on stderr for a refused restore, 2 for bad usage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.e2e.test_cli import asset
from tests.integration.test_backup import _drop_everything, _restore_url


def run(data_dir: Path, url: str | None, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "CLEARINGHOUSE_DATA_DIR": str(data_dir)}
    env.pop("CLEARINGHOUSE_DATABASE_URL", None)
    if url:
        env["CLEARINGHOUSE_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "clearinghouse.cli.main", *args],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


def json_of(done: subprocess.CompletedProcess[bytes]) -> Any:
    assert done.returncode == 0, done.stderr.decode()
    return orjson.loads(done.stdout)


def test_backup_then_restore_into_a_new_instance(tmp_path: Path) -> None:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    restore_url = _restore_url()
    if restore_url:
        _drop_everything(restore_url)
    source, restored = tmp_path / "source", tmp_path / "restored"
    json_of(run(source, POSTGRES_URL, "org", "create", "Lab Alpha", "--kind", "ai-lab", "--json"))
    json_of(
        run(
            source,
            POSTGRES_URL,
            "findings",
            "import",
            str(asset("lab-alpha.sarif")),
            "--org",
            "Lab Alpha",
            "--json",
        )
    )
    archive = tmp_path / "site.tar.gz"
    done = run(source, POSTGRES_URL, "backup", str(archive), "--json")
    made = json_of(done)
    assert made["bytes"] == archive.stat().st_size
    assert made["blobs"] == 1
    assert made["table_rows"]["organizations"] == 1
    assert b"audit_events" in done.stderr  # progress went to stderr, not into the JSON

    back = json_of(run(restored, restore_url, "restore", str(archive), "--json"))
    assert back["verified"] is True
    assert back["table_rows"] == made["table_rows"]
    verify = json_of(run(restored, restore_url, "audit", "verify", "--json"))
    assert verify == {"ok": True, "events": back["audit_events"]}
    listed = json_of(run(restored, restore_url, "vulns", "list", "--json"))
    original = json_of(run(source, POSTGRES_URL, "vulns", "list", "--json"))
    assert listed == original
    assert listed

    refused = run(restored, restore_url, "restore", str(archive))
    assert refused.returncode == 1
    assert refused.stderr.decode().strip().splitlines()[-1].startswith("error: the target")


def test_restore_of_junk_is_a_one_line_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive at all")
    done = run(tmp_path / "data", None, "restore", str(junk), "--quiet")
    assert done.returncode == 1
    assert done.stderr.decode().startswith("error: FILE:")
    assert done.stdout == b""


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    assert run(tmp_path / "data", None, "restore").returncode == 2
