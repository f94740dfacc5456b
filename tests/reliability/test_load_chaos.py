"""Load with nothing lost while the API server, the Celery worker and PostgreSQL are killed.

Runs ``benchmarks/load.py`` with a CI budget (15 s of load, one ``kill -9`` of each of the three,
seeded) and asserts the counts a user relies on: every accepted submission stored exactly once
under the id it was answered with, every finding clustered, every notification that the outbox
marked sent received by its webhook, nothing left running or leased, the audit chain intact.

It brings its own PostgreSQL cluster (``initdb`` into a temporary directory, because it kills
it), so it runs once, in the SQLite pass: ``sqlite_only`` keeps it out of the PostgreSQL pass,
where it would only repeat itself. It needs the PostgreSQL server binaries and Redis on
loopback (CI has both) and skips with the reason when either is absent.
"""

from __future__ import annotations

import glob
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "load.py"
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/11")

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def chaos_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are absent")
    if not _redis_reachable():
        pytest.skip("no Redis on 127.0.0.1:6379 (the Celery broker of the load run)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARINGHOUSE_")}
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--seconds",
            "15",
            "--concurrency",
            "4",
            "--server-workers",
            "2",
            "--chaos",
            "--seed",
            "7",
            "--recovery-seconds",
            "45",
            "--redis-url",
            REDIS_URL,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=110,
        env=env,
        cwd=tmp_path_factory.mktemp("load"),
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout)
    report["_exit"] = done.returncode
    return report


def test_each_of_the_three_was_killed_during_the_load(chaos_report: dict[str, Any]) -> None:
    events = " ".join(e["event"] for e in chaos_report["chaos_events"])
    assert "API server" in events
    assert "kill -9 Celery worker" in events
    assert "kill -9 PostgreSQL" in events
    assert chaos_report["ledger"]["accepted"] > 20


def test_every_accepted_submission_is_stored_exactly_once(chaos_report: dict[str, Any]) -> None:
    db, ledger = chaos_report["database"], chaos_report["ledger"]
    assert db["accepted_missing"] == 0
    assert db["accepted_wrong_id"] == 0
    assert db["stored_twice"] == 0
    assert db["stored_never_sent"] == 0
    assert ledger["never_accepted"] == 0
    assert db["submissions_stored"] == ledger["accepted"]
    assert ledger["resent_wrong"] == 0
    assert ledger["resent_already_imported"] > 0


def test_every_finding_is_stored_and_clustered(chaos_report: dict[str, Any]) -> None:
    db = chaos_report["database"]
    assert db["findings_stored"] == db["findings_expected"] > 0
    assert db["submissions_with_wrong_findings"] == 0
    assert db["findings_unclustered"] == 0
    assert db["vulnerabilities"] < db["findings_stored"]  # shared flaws merged


def test_every_notification_is_delivered_and_nothing_stays_claimed(
    chaos_report: dict[str, Any],
) -> None:
    db, deliveries = chaos_report["database"], chaos_report["deliveries"]
    assert db["notifications"] > 0
    assert db["outbox"].get("pending", 0) == 0
    assert db["outbox"].get("dead", 0) == 0
    assert db["outbox_leased"] == 0
    assert db["validation_runs"].get("running", 0) == 0
    assert deliveries["outbox_sent"] == db["notifications"]  # one webhook per operator
    assert deliveries["distinct_received"] == deliveries["outbox_sent"]
    assert deliveries["sent_not_received"] == deliveries["received_not_sent"] == 0
    assert deliveries["bad_signatures"] == 0


def test_the_audit_chain_verifies_and_the_run_passes(chaos_report: dict[str, Any]) -> None:
    assert chaos_report["audit"]["ok"] is True
    assert chaos_report["audit"]["events"] > 0
    assert chaos_report["unexpected"] == []
    assert chaos_report["ok"] is True, chaos_report["checks"]
    assert chaos_report["_exit"] == 0
