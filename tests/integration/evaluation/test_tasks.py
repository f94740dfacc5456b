"""The starter suite's content works as designed, built and run for real.

* The targets the suite brings are complete validation targets: each proof reproduces in the
  sandbox with the crash type, state and security flag its manifest promises, benign inputs do
  not crash, the functional tests pass, and every shipped patch gets its expected verdict.
* What a model is handed is enough: each target task's workspace (without proofs, patches or
  manifest) builds as its BUILD.txt says, and the reference proof crashes that build the way
  the task requires.
* Each capture-the-flag challenge gives up its flag the intended way (a key, a decryption, an
  overflow), and not to the obvious non-solution.

The challenges' own programs run directly, with timeouts, as ``tests/integration/
test_example_targets.py`` runs the example targets: they are our code and inputs.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clearinghouse.evaluation.tasks import (
    BUILD_FILE,
    TARGETS_DIR,
    Family,
    Suite,
    Task,
    copy_workspace,
    load_suite,
    read_reference,
    starter_suite_dir,
)
from clearinghouse.validation.patching import PatchValidator
from clearinghouse.validation.reproduce import SANITIZER_ENV, Reproducer, Reproduction, Verdict
from clearinghouse.validation.sandbox import RunRequest
from clearinghouse.validation.snapshot import scan, tree_digest
from clearinghouse.validation.target import TargetManifest, parse_manifest

pytestmark = pytest.mark.slow

STARTER = load_suite(starter_suite_dir())
SUITE_TARGETS = sorted((starter_suite_dir() / TARGETS_DIR).iterdir())
RUN_TIMEOUT_S = 20


def manifest_of(directory: Path) -> TargetManifest:
    return parse_manifest((directory / "clearinghouse-target.toml").read_bytes())


def digest_of(directory: Path) -> str:
    return tree_digest(scan(directory, max_bytes=64 << 20))


def one_task_per_target() -> list[object]:
    chosen: dict[Path, Task] = {}
    for task in STARTER.tasks:
        if task.target_dir is not None and task.family is not Family.PATCH:
            chosen.setdefault(task.target_dir, task)
    return [
        pytest.param(task, id=task.target_dir.name) for task in chosen.values() if task.target_dir
    ]


@pytest.mark.parametrize("target", [pytest.param(t, id=t.name) for t in SUITE_TARGETS])
def test_suite_targets_do_what_their_manifests_promise(
    reproducer: Reproducer, target: Path
) -> None:
    manifest = manifest_of(target)
    digest = digest_of(target)
    assert manifest.proofs
    assert manifest.benign
    assert manifest.patches

    def run(file: str) -> Reproduction:
        return reproducer.reproduce(
            manifest=manifest,
            source=target,
            digest=digest,
            proof=(target / file).read_bytes(),
            repetitions=1,
        )

    for proof in manifest.proofs:
        outcome = run(proof.file)
        assert outcome.verdict is Verdict.REPRODUCED, (proof.file, outcome)
        report = outcome.report
        assert report is not None
        assert report.crash_type == proof.crash_type
        assert report.crash_state[: len(proof.crash_state)] == proof.crash_state
        assert report.security is proof.security
        assert all(expected in report.log for expected in proof.expect)
    for benign in manifest.benign:
        assert run(benign.file).verdict is Verdict.NOT_REPRODUCED

    build = reproducer.builds.build(
        manifest=manifest,
        source=target,
        digest=digest,
        config=reproducer.config,
        sandbox=reproducer.sandbox,
    )
    assert build.ok, build.log
    assert build.path is not None
    with reproducer.scratch(build.path) as work:
        limits = dataclasses.replace(
            reproducer.config.limits,
            wall_clock_s=manifest.tests.timeout_s,
            cpu_s=math.ceil(manifest.tests.timeout_s),
        )
        argv = manifest.tests_argv(cc=reproducer.config.compiler, python="python3")
        tests = reproducer.sandbox.run(
            RunRequest(argv=argv, work_dir=work, env=SANITIZER_ENV, asan=True), limits
        )
    assert tests.ok, tests.stderr.decode(errors="replace")

    proofs = [(p.file, (target / p.file).read_bytes()) for p in manifest.proofs]
    for patch in manifest.patches:
        patched = PatchValidator(reproducer).validate(
            manifest=manifest,
            source=target,
            diff=(target / patch.file).read_bytes(),
            proofs=proofs,
            repetitions=1,
            max_target_bytes=64 << 20,
        )
        assert patched.verdict.value == patch.expect.value, (patch.file, patched.evidence())


@pytest.mark.parametrize("task", one_task_per_target())
def test_the_workspace_a_model_gets_builds_and_reproduces(
    reproducer: Reproducer, eval_root: Path, task: Task
) -> None:
    assert task.target_dir is not None
    manifest = manifest_of(task.target_dir)
    workspace = eval_root / "workspaces" / task.id
    copy_workspace(task, workspace)
    assert (workspace / BUILD_FILE).is_file()
    build = reproducer.builds.build(
        manifest=manifest,
        source=workspace,
        digest=digest_of(workspace),
        config=reproducer.config,
        sandbox=reproducer.sandbox,
    )
    assert build.ok, build.log
    assert build.path is not None
    report, output = reproducer.run_input(manifest, build.path, read_reference(task))
    assert report is not None, output
    if task.family is Family.PROVE:
        assert report.crash_type == task.grading["crash_type"]
    else:
        assert report.security


# --- capture the flag -------------------------------------------------------------------------


def flag(task_id: str) -> str:
    return read_reference(STARTER.task(task_id)).decode().strip()


def run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    return done.stdout + done.stderr


def test_the_license_key_unlocks_the_activation_code(tmp_path: Path) -> None:
    task = STARTER.task("ctf-license-key")
    copy_workspace(task, tmp_path / "ws")
    key = (task.directory / "reference" / "key.txt").read_text().strip()
    script = str(tmp_path / "ws" / "license_check.py")
    assert flag(task.id) in run([sys.executable, script, key], tmp_path)
    almost = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert flag(task.id) not in run([sys.executable, script, almost], tmp_path)


def test_the_recovered_key_opens_the_vault(tmp_path: Path) -> None:
    task = STARTER.task("ctf-xor-vault")
    copy_workspace(task, tmp_path / "ws")
    key = (task.directory / "reference" / "key.txt").read_text().strip()
    ws = tmp_path / "ws"
    assert flag(task.id) in run([sys.executable, "vault.py", "vault.txt", key], ws)
    assert flag(task.id) not in run([sys.executable, "vault.py", "vault.txt", "00" * 5], ws)
    assert flag(task.id) not in (ws / "vault.txt").read_text()


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_an_overlong_user_name_reads_the_operator_note(tmp_path: Path, compiler: str) -> None:
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    task = STARTER.task("ctf-note-admin")
    ws = tmp_path / "ws"
    copy_workspace(task, ws)
    built = subprocess.run(
        [compiler, "-O0", "-o", "notes", "notes.c"], cwd=ws, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    exploit = task.directory / "reference" / "exploit-request.txt"
    assert flag(task.id) in run(["./notes", str(exploit)], ws)
    assert flag(task.id) not in run(["./notes", "sample-request.txt"], ws)
    assert flag(task.id) not in (ws / "notes.c").read_text()


def test_every_suite_target_is_used(starter: Suite) -> None:
    used = {task.target_dir for task in starter.tasks if task.target_dir is not None}
    assert set(SUITE_TARGETS) <= used
