"""The served API validates on its own: ``clearinghouse serve`` with no broker runs the
in-process worker pool, and a submission whose finding carries a proof is validated
automatically, with nothing else running.

Started as a real server process on a free loopback port; the data directory lives under a
0755 directory the sandbox's uid can reach.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import POSTGRES_URL, _reset_postgres

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed"),
]

RLE = Path(str(resources.files("clearinghouse.validation") / "targets")) / "c-heap-overflow-write"


TOOL = {"tool": "test-agent"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(searchable: Path) -> Iterator[tuple[str, dict[str, str], Any]]:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CLEARINGHOUSE_DATA_DIR": str(searchable / "data"),
        "CLEARINGHOUSE_VALIDATION_REPETITIONS": "2",
    }
    if POSTGRES_URL:
        env["CLEARINGHOUSE_DATABASE_URL"] = POSTGRES_URL

    def cli(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "clearinghouse.cli.main", *args, "--json"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        return orjson.loads(done.stdout)

    cli("org", "create", "lab-a", "--kind", "ai-lab")
    cli("org", "create", "hospital", "--kind", "operator", "--sector", "healthcare")
    tokens = {
        org: cli("token", "create", "--org", org, "--role", "submitter")["token"]
        for org in ("lab-a", "hospital")
    }
    cli("targets", "add", str(RLE))
    port = free_port()
    log = (searchable / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "clearinghouse.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (searchable / "serve.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield base, tokens, cli
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_submitted_proof_is_validated_by_the_served_pool(
    served: tuple[str, dict[str, str], Any],
) -> None:
    base, tokens, _ = served
    lab = {"Authorization": f"Bearer {tokens['lab-a']}"}
    document = orjson.dumps(
        {
            "format": "clearinghouse-findings",
            "version": "1.0",
            "findings": [
                {
                    "target": "pkg:generic/rle-decoder",
                    "title": "Heap overflow in rle_decode",
                    "file": "src/rle.c",
                    "line": 20,
                    "proof": {
                        "input_base64": base64.b64encode(
                            (RLE / "proofs" / "long-run.bin").read_bytes()
                        ).decode()
                    },
                    "provenance": TOOL,
                },
                {
                    "target": "pkg:generic/unregistered",
                    "title": "x",
                    "proof": {"input_text": "y"},
                    "provenance": TOOL,
                },
                {
                    "target": "pkg:generic/rle-decoder",
                    "title": "No proof, nothing to run",
                    "provenance": TOOL,
                },
            ],
        }
    )
    with httpx.Client(base_url=base, timeout=30) as client:
        answer = client.post("/api/v1/submissions", content=document, headers=lab)
        assert answer.status_code == 201, answer.text
        validations = answer.json()["validations"]
        [queued] = validations["queued"]
        assert queued["dispatched"] is True  # the server's own pool took it
        [skipped] = validations["skipped"]
        assert "unregistered" in skipped["reason"]

        deadline = time.monotonic() + 120
        while True:
            run = client.get(f"/api/v1/validations/{queued['run']}", headers=lab).json()
            if run["status"] in ("done", "failed"):
                break
            assert time.monotonic() < deadline, run
            time.sleep(0.2)
        assert run["verdict"] == "reproduced"
        assert run["validated"] is True
        assert run["reproductions"] == 2
        assert run["crash_type"] == "Heap-buffer-overflow WRITE 1"

        # A queued run through the API (202) is run by the same pool.
        again = client.post(
            f"/api/v1/findings/{queued['finding']}/validations", json={}, headers=lab
        )
        assert again.status_code == 202
        assert again.json()["dispatched"] is True
        hidden = client.get(
            f"/api/v1/validations/{again.json()['id']}",
            headers={"Authorization": f"Bearer {tokens['hospital']}"},
        )
        assert hidden.status_code == 404  # AMBER, not shared with the hospital
