"""Patch validation end to end: real gcc builds of the example targets, real bubblewrap.

For two C targets a lab's finding is reproduced first (``validate``), then every patch the
target ships gets exactly the verdict its manifest expects; a patch that no longer compiles is
``build_failed``; a diff that escapes the copy is refused before anything is applied; a
vulnerability without a reproduced run is a clear error (exit status 1 from the CLI). Each
result is stored in ``patch_validations`` and audited.

Data directories live under a 0755 directory (the sandbox's uid cannot search pytest's 0700
temporary directories).
"""

from __future__ import annotations

import base64
import shutil
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
from clearinghouse.core.errors import InputError
from clearinghouse.pipeline import patch_flow, validation_flow
from clearinghouse.pipeline.models import AuditEvent, Finding, PatchValidation, Vulnerability
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.target import parse_manifest
from tests.conftest import POSTGRES_URL, OrgFactory, _reset_postgres
from tests.integration.helpers import import_bytes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed"),
    pytest.mark.skipif(shutil.which("patch") is None, reason="patch is not installed"),
]

TARGETS = Path(str(resources.files("clearinghouse.validation") / "targets"))
RLE = TARGETS / "c-heap-overflow-write"


def findings_document(
    *, target: str, proof: bytes, title: str = "Memory corruption", line: int = 1
) -> bytes:
    finding = {
        "target": target,
        "file": "src/main.c",
        "line": line,
        "cwe": "CWE-787",
        "title": title,
        "proof": {"input_base64": base64.b64encode(proof).decode()},
        "provenance": {"tool": "test-agent"},
    }
    return orjson.dumps(
        {"format": "clearinghouse-findings", "version": "1.0", "findings": [finding]}
    )


def reproduced_vulnerability(runtime: Runtime, directory: Path, org: str) -> str:
    """Register the target, import one finding per proof, reproduce each.

    A target's proofs are one flaw (the same crash signature), so they merge into one
    vulnerability, whose patches must then stop every one of them.
    """
    manifest = parse_manifest((directory / "clearinghouse-target.toml").read_bytes())
    validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=directory)
    vulnerability: object = None
    for spec in manifest.proofs:
        imported = import_bytes(
            runtime,
            org,
            findings_document(
                target=f"pkg:generic/{manifest.name}",
                proof=(directory / spec.file).read_bytes(),
                title=f"Memory corruption ({spec.file})",
            ),
        )
        with runtime.db.session() as session:
            finding = session.scalars(
                select(Finding.id).where(Finding.submission_id == imported.submission)
            ).one()
        queued = validation_flow.queue_validation(
            runtime, viewer=LOCAL_ADMIN, finding_id=finding, repetitions=1
        )
        done = validation_flow.execute_run(runtime, run_id=queued["id"])
        assert done is not None
        assert done["verdict"] == "reproduced"
        if spec.crash_type:  # the same signature whichever toolchain built the target
            assert done["crash_type"] == spec.crash_type
        if spec.crash_state:
            assert done["crash_state"] == list(spec.crash_state)
        vulnerability = done["vulnerability"]  # the last one is the survivor of any merge
    assert isinstance(vulnerability, str)
    return vulnerability


def toolchain(compiler: str) -> Any:
    missing = shutil.which(compiler) is None
    return pytest.mark.skipif(missing, reason=f"{compiler} is not installed")


@pytest.mark.parametrize(
    ("name", "compiler"),
    [
        ("c-heap-overflow-write", "gcc"),
        ("c-heap-overflow-read", "gcc"),
        pytest.param("c-heap-overflow-write", "clang", marks=toolchain("clang")),
        pytest.param("c-use-after-free", "clang", marks=toolchain("clang")),
        ("python-uncaught-exception", "gcc"),  # the compiler is unused: a Python target
    ],
)
def test_every_shipped_patch_gets_its_expected_verdict(
    runtime: Runtime, make_org: OrgFactory, name: str, compiler: str
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"validation_compiler": compiler})
    make_org("lab-a", kind=OrgKind.AI_LAB)
    directory = TARGETS / name
    vulnerability = reproduced_vulnerability(runtime, directory, "lab-a")
    manifest = parse_manifest((directory / "clearinghouse-target.toml").read_bytes())
    assert manifest.patches
    for spec in manifest.patches:
        result = patch_flow.validate_patch(
            runtime,
            viewer=LOCAL_ADMIN,
            vuln_id=vulnerability,
            diff=(directory / spec.file).read_bytes(),
            repetitions=2,
        )
        assert result["verdict"] == spec.expect.value, (spec.file, result["evidence"])
        evidence = result["evidence"]
        if spec.expect.value == "does_not_apply":
            assert evidence["applied"] is False
            assert evidence["patch_log"]
            continue
        assert evidence["build_ok"] is True
        assert evidence["isolation"] == "bubblewrap"
        assert [p["runs"] for p in evidence["proofs"]] == [2] * len(manifest.proofs)
        assert len(result["runs"]) == len(manifest.proofs)
        crashes = sum(p["crashes"] for p in evidence["proofs"])
        assert (crashes > 0) is (spec.expect.value == "does_not_fix")
        if spec.expect.value == "does_not_fix":
            types = [t for p in evidence["proofs"] for t in p["crash_types"] if t]
            expected = {(p.crash_type or "").split(" ")[0] for p in manifest.proofs}
            assert types
            assert {t.split(" ")[0] for t in types} <= expected
        else:
            assert (evidence["tests_exit_code"] == 0) is (spec.expect.value == "fixes")
    with runtime.db.session() as session:
        stored = session.scalars(select(PatchValidation.verdict)).all()
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "patch.validate")
        ).all()
    assert sorted(stored) == sorted(p.expect.value for p in manifest.patches)
    assert len(audited) == len(manifest.patches)


def test_build_failure_escapes_and_no_reproduction(runtime: Runtime, make_org: OrgFactory) -> None:
    make_org("lab-a", kind=OrgKind.AI_LAB)
    vulnerability = reproduced_vulnerability(runtime, RLE, "lab-a")
    broken = (
        b"--- a/src/rle.c\n+++ b/src/rle.c\n@@ -1,0 +1 @@\n+#error this patch does not compile\n"
    )
    result = patch_flow.validate_patch(
        runtime, viewer=LOCAL_ADMIN, vuln_id=vulnerability, diff=broken, repetitions=1
    )
    assert result["verdict"] == "build_failed"
    assert "this patch does not compile" in result["evidence"]["build_log"]
    assert result["evidence"]["proofs"] == []

    escaping = b"--- a/../../etc/x\n+++ b/../../etc/x\n@@ -0,0 +1 @@\n+x\n"
    with pytest.raises(InputError, match="leave the target copy"):
        patch_flow.validate_patch(runtime, viewer=LOCAL_ADMIN, vuln_id=vulnerability, diff=escaping)

    # A finding whose proof never reproduced: nothing for a patch to stop.
    imported = import_bytes(
        runtime,
        "lab-a",
        findings_document(
            target="pkg:generic/rle-decoder",
            proof=(RLE / "inputs" / "hello.bin").read_bytes(),
            title="Unrelated claim",
            line=99,
        ),
    )
    with runtime.db.session() as session:
        finding = session.scalars(
            select(Finding).where(Finding.submission_id == imported.submission)
        ).one()
        other = finding.vulnerability_id
    assert other is not None
    with runtime.db.session() as session:
        public = session.get(Vulnerability, other)
        assert public is not None
        other_id = public.public_id
    with pytest.raises(InputError, match="no reproduced validation run"):
        patch_flow.validate_patch(runtime, viewer=LOCAL_ADMIN, vuln_id=other_id, diff=broken)


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
    json("targets", "add", str(RLE))
    document = searchable / "findings.json"
    document.write_bytes(
        findings_document(
            target="pkg:generic/rle-decoder", proof=(RLE / "proofs" / "long-run.bin").read_bytes()
        )
    )
    json("findings", "import", str(document), "--org", "lab-a")
    # Not reproduced yet: a clear error, exit status 1, nothing on stdout.
    vulnerability = json("findings", "show", "1")["vulnerability"]
    fix = str(RLE / "patches" / "fix-capacity-check.diff")
    early = run("patches", "validate", vulnerability, fix, "--json")
    assert early.returncode == 1
    assert early.stdout == b""
    assert b"no reproduced validation run" in early.stderr

    assert json("validate", "1", "--wait", "--repetitions", "1")["verdict"] == "reproduced"
    judged = json("patches", "validate", vulnerability, fix, "--repetitions", "1")
    assert judged["verdict"] == "fixes"
    assert judged["vulnerability"] == vulnerability
    assert judged["evidence"]["tests_exit_code"] == 0
    assert run("patches", "validate", vulnerability, fix, "--repetitions", "0").returncode == 2
