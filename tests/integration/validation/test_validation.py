"""Reproduction end to end, in-process: real gcc builds of the example targets, real bubblewrap.

A lab's proof reproduces with the crash its manifest promises; a second lab's finding with a
different title and location but the same crash merges into the first vulnerability by crash
signature; an "AI slop" finding whose proof is a benign input is ``not_reproduced`` and never
shown as validated; a target whose build fails gives ``build_failed``; a run left ``running``
by a dead worker is requeued, then failed with the reason. The CLI prints one JSON document and
uses the documented exit codes.

Data directories here live under a 0755 directory (pytest's temporary directories are 0700,
which the sandbox's uid cannot search).
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from clearinghouse.access.roles import OrgKind
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.pipeline import validation_flow
from clearinghouse.pipeline.models import AuditEvent, DedupIndexEntry
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation import service as validation_service
from tests.conftest import POSTGRES_URL, OrgFactory, _reset_postgres
from tests.integration.helpers import import_bytes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed"),
]

TARGETS = Path(str(resources.files("clearinghouse.validation") / "targets"))
RLE = TARGETS / "c-heap-overflow-write"


def native(
    *, target: str, title: str, file: str, line: int, proof: bytes, function: str | None = None
) -> bytes:
    finding: dict[str, Any] = {
        "target": target,
        "file": file,
        "line": line,
        "cwe": "CWE-787",
        "title": title,
        "proof": {"input_base64": base64.b64encode(proof).decode()},
        "provenance": {"tool": "test-agent"},
    }
    if function:
        finding["function"] = function
    return orjson.dumps(
        {"format": "clearinghouse-findings", "version": "1.0", "findings": [finding]}
    )


def only_finding(runtime: Runtime, submission: int) -> int:
    from clearinghouse.pipeline.models import Finding

    with runtime.db.session() as session:
        return session.scalars(select(Finding.id).where(Finding.submission_id == submission)).one()


def validate(runtime: Runtime, finding: int, repetitions: int = 3) -> dict[str, Any]:
    queued = validation_flow.queue_validation(
        runtime, viewer=LOCAL_ADMIN, finding_id=finding, repetitions=repetitions
    )
    assert queued["status"] == "queued"
    assert queued["validated"] is False
    done = validation_flow.execute_run(runtime, run_id=queued["id"])
    assert done is not None
    return done


def test_reproduce_merge_by_signature_and_reject_slop(
    runtime: Runtime, make_org: OrgFactory
) -> None:
    make_org("lab-a", kind=OrgKind.AI_LAB)
    make_org("lab-b", kind=OrgKind.AI_LAB)
    make_org("slop", kind=OrgKind.AI_LAB)
    added = validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=RLE)
    assert added["name"] == "rle-decoder"
    assert added["already_registered"] is False
    again = validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=RLE)
    assert again["already_registered"] is True
    assert again["id"] == added["id"]
    assert [t["name"] for t in validation_flow.list_targets(runtime)] == ["rle-decoder"]

    proof = (RLE / "proofs" / "long-run.bin").read_bytes()
    first = import_bytes(
        runtime,
        "lab-a",
        native(
            target="pkg:generic/rle-decoder",
            title="Heap overflow in rle_decode",
            file="src/rle.c",
            line=20,
            function="rle_decode",
            proof=proof,
        ),
    )
    run = validate(runtime, only_finding(runtime, first.submission))
    assert run["status"] == "done"
    assert run["verdict"] == "reproduced"
    assert run["validated"] is True
    assert run["crash_type"] == "Heap-buffer-overflow WRITE 1"
    assert run["crash_state"][0] == "rle_decode"
    assert run["security"] is True
    assert run["reproductions"] == 3
    assert run["isolation"] == "bubblewrap"
    assert "AddressSanitizer" in run["log"]
    first_vuln = run["vulnerability"]

    # Another lab, another title and location: a different vulnerability at import...
    second = import_bytes(
        runtime,
        "lab-b",
        native(
            target="pkg:generic/rle-decoder#src/rle.c",
            title="Out-of-bounds write when decoding long runs",
            file="harness.c",
            line=77,
            proof=proof,
        ),
    )
    assert second.new_vulnerabilities == 1
    merged = validate(runtime, only_finding(runtime, second.submission), repetitions=2)
    # ... until its proof crashes the same way: the crash signature merges it.
    assert merged["verdict"] == "reproduced"
    assert merged["signature"] == run["signature"]
    assert merged["vulnerability"] == first_vuln
    with runtime.db.session() as session:
        keys = session.scalars(
            select(DedupIndexEntry.key).where(DedupIndexEntry.key == run["signature"])
        ).all()
        assert keys
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"target.register", "validation.queue", "validation.start", "validation.finish"} <= (
        actions
    )
    assert "vulnerability.merge_by_signature" in actions

    # An unreproducible report: the benign input runs cleanly, every time.
    slop = import_bytes(
        runtime,
        "slop",
        native(
            target="pkg:generic/rle-decoder@1.0.0",
            title="Critical RCE in rle-decoder",
            file="src/rle.c",
            line=3,
            proof=(RLE / "inputs" / "hello.bin").read_bytes(),
        ),
    )
    rejected = validate(runtime, only_finding(runtime, slop.submission), repetitions=2)
    assert rejected["status"] == "done"
    assert rejected["verdict"] == "not_reproduced"
    assert rejected["validated"] is False
    assert rejected["reproductions"] == 0
    assert rejected["crash_type"] is None
    assert rejected["vulnerability"] != first_vuln


def test_a_target_that_does_not_build(
    runtime: Runtime, make_org: OrgFactory, searchable: Path
) -> None:
    make_org("lab-a")
    broken = searchable / "broken"
    shutil.copytree(RLE, broken)
    manifest = (broken / "clearinghouse-target.toml").read_text()
    (broken / "clearinghouse-target.toml").write_text(
        manifest.replace('name = "rle-decoder"', 'name = "broken-build"')
    )
    (broken / "src" / "rle.c").write_text("this is not C\n")
    validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=broken)
    outcome = import_bytes(
        runtime,
        "lab-a",
        native(
            target="pkg:generic/broken-build",
            title="t",
            file="src/rle.c",
            line=1,
            proof=b"\x01",
        ),
    )
    run = validate(runtime, only_finding(runtime, outcome.submission), repetitions=1)
    assert run["status"] == "done"
    assert run["verdict"] == "build_failed"
    assert run["validated"] is False
    assert "error" in run["log"]


def queue_one(runtime: Runtime, make_org: OrgFactory) -> dict[str, Any]:
    """One queued run of a proof against the registered RLE target."""
    make_org("lab-a")
    validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=RLE)
    outcome = import_bytes(
        runtime,
        "lab-a",
        native(target="pkg:generic/rle-decoder", title="t", file="a.c", line=1, proof=b"x"),
    )
    return validation_flow.queue_validation(
        runtime, viewer=LOCAL_ADMIN, finding_id=only_finding(runtime, outcome.submission)
    )


def test_a_run_left_running_by_a_dead_worker_is_requeued_then_failed(
    runtime: Runtime, make_org: OrgFactory
) -> None:
    queued = queue_one(runtime, make_org)
    for attempt, expected in ((1, "queued"), (2, "failed")):
        with runtime.db.session() as session:  # a worker claims it, then dies: no heartbeat
            claimed = validation_service.claim(
                session, run_id=queued["id"], worker="dead:1", lease_s=-1, clock=runtime.clock
            )
            assert claimed is not None
            assert claimed.attempts == attempt
        recovered = validation_flow.recover_stale_runs(runtime)
        assert [r["status"] for r in recovered] == [expected]
        assert "stopped renewing its lease" in recovered[0]["reason"]
        shown = validation_flow.show_run(runtime, run_id=queued["id"])
        assert shown["status"] == expected
        assert shown["validated"] is False
    assert validation_flow.recover_stale_runs(runtime) == []
    # A failed run is never picked up again.
    assert validation_flow.execute_run(runtime, run_id=queued["id"]) is None


def test_cli(searchable: Path) -> None:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    env = {"CLEARINGHOUSE_DATA_DIR": str(searchable / "data"), "PATH": "/usr/bin:/bin"}
    if POSTGRES_URL:
        env["CLEARINGHOUSE_DATABASE_URL"] = POSTGRES_URL

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "clearinghouse.cli.main", *args],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )

    def json(*args: str) -> Any:
        done = run(*args, "--json")
        assert done.returncode == 0, done.stderr.decode()
        return orjson.loads(done.stdout)

    json("org", "create", "lab-a", "--kind", "ai-lab")
    added = json("targets", "add", str(RLE))
    assert added["already_registered"] is False
    assert json("targets", "add", str(RLE))["already_registered"] is True
    assert [t["digest"] for t in json("targets", "list")] == [added["digest"]]
    document = searchable / "finding.json"
    document.write_bytes(
        native(
            target="pkg:generic/rle-decoder",
            title="Heap overflow",
            file="src/rle.c",
            line=20,
            proof=(RLE / "proofs" / "long-run.bin").read_bytes(),
        )
    )
    imported = json("findings", "import", str(document), "--org", "lab-a")
    # Automatic validation: the proof is queued at import (no broker here, so not dispatched).
    [automatic] = imported["validations"]["queued"]
    assert automatic["finding"] == 1
    assert automatic["dispatched"] is False
    queued = run("validate", "1", "--json")
    assert queued.returncode == 0
    assert orjson.loads(queued.stdout)["status"] == "queued"
    assert b"validation work" in queued.stderr  # says how the queued run will be run
    done = json("validate", "1", "--wait", "--repetitions", "1")
    assert done["verdict"] == "reproduced"
    assert done["crash_type"] == "Heap-buffer-overflow WRITE 1"
    assert json("validation", "show", str(done["id"]))["verdict"] == "reproduced"
    worked = json("validation", "work", "--workers", "1")  # the two queued runs
    assert [(r["id"], r["verdict"]) for r in worked] == [
        (automatic["run"], "reproduced"),
        (orjson.loads(queued.stdout)["id"], "reproduced"),
    ]
    no_broker = run("worker")
    assert no_broker.returncode == 2
    assert b"--broker" in no_broker.stderr
    bad_broker = run("worker", "--broker", "http://127.0.0.1:1/")
    assert bad_broker.returncode == 2
    assert b"redis://" in bad_broker.stderr

    listed = json("validation", "list", "--status", "done")
    assert [r["status"] for r in listed] == ["done"] * 3
    assert [r["id"] for r in listed] == sorted((r["id"] for r in listed), reverse=True)
    assert json("validation", "list", "--status", "queued") == []
    bad_status = run("validation", "list", "--status", "lost", "--json")
    assert bad_status.returncode == 2
    assert b"--status" in bad_status.stderr

    missing = run("validate", "999", "--json")
    assert missing.returncode == 1
    assert missing.stdout == b""
    assert b"finding 999 does not exist" in missing.stderr
    unknown = run("targets", "add", str(searchable), "--json")
    assert unknown.returncode == 1
    assert b"clearinghouse-target.toml" in unknown.stderr
    assert run("validate", "1", "--repetitions", "0").returncode == 2


def test_a_broker_that_is_down_leaves_the_run_queued(
    runtime: Runtime, make_org: OrgFactory
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runtime.settings = runtime.settings.model_copy(
        update={"broker_url": f"redis://127.0.0.1:{port}/0"}
    )
    queued = queue_one(runtime, make_org)
    assert queued["dispatched"] is False  # said, not raised: the run is stored
    assert validation_flow.show_run(runtime, run_id=queued["id"])["status"] == "queued"
