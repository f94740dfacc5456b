"""The shipped example targets do what their manifests promise, built for real.

For every example target and every toolchain (gcc and clang for C, the running interpreter for
Python) a copy is built, each proof must crash with the report its manifest expects, each
benign input must exit 0, and the functional tests must pass. Each patch is then applied to a
fresh copy (``patch -p1 --dry-run`` first, so a patch that does not apply changes nothing),
rebuilt, and must get the verdict its manifest names.

This runs outside any sandbox, directly with ``subprocess`` and timeouts: it checks the
examples, not the sandbox (which has its own tests), and the inputs are our own. Every
(target, toolchain, patch) copy is built once per session, in parallel, and shared by the tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from clearinghouse.validation.target import (
    Language,
    PatchSpec,
    PatchVerdict,
    TargetManifest,
    parse_manifest,
)

pytestmark = pytest.mark.slow

TARGETS = Path(str(resources.files("clearinghouse.validation") / "targets"))
COMPILERS = ("gcc", "clang")
PYTHON = "python"
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:symbolize=1:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
# A hung example should fail fast here, whatever its manifest allows a real runner.
MAX_RUN_S = 20.0
# What a crash looks like on the output, besides a non-zero exit.
CRASH_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "Traceback")


@dataclass(frozen=True, slots=True)
class Run:
    returncode: int
    output: str

    @property
    def crashed(self) -> bool:
        return self.returncode != 0 or any(m in self.output for m in CRASH_MARKERS)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One copy of one target, perhaps patched, built with one toolchain, and what it did."""

    applied: bool
    build: Run | None = None
    proofs: Mapping[str, Run] | None = None
    benign: Mapping[str, Run] | None = None
    tests: Run | None = None

    def verdict(self) -> str:
        if not self.applied:
            return PatchVerdict.DOES_NOT_APPLY.value
        if self.build is None or self.build.returncode != 0:
            return "build_failed"
        assert self.proofs is not None
        assert self.tests is not None
        if any(run.crashed for run in self.proofs.values()):
            return PatchVerdict.DOES_NOT_FIX.value
        if self.tests.returncode != 0:
            return PatchVerdict.BREAKS_TESTS.value
        return PatchVerdict.FIXES.value


def _manifests() -> dict[str, TargetManifest]:
    found = {}
    for path in sorted(TARGETS.glob("*/clearinghouse-target.toml")):
        found[path.parent.name] = parse_manifest(path.read_bytes())
    return found


MANIFESTS = _manifests()


def _toolchains(manifest: TargetManifest) -> tuple[str, ...]:
    return COMPILERS if manifest.language is Language.C else (PYTHON,)


CASES = [(target, tool) for target, m in MANIFESTS.items() for tool in _toolchains(m)]
PATCH_CASES = [
    (target, tool, patch) for target, tool in CASES for patch in MANIFESTS[target].patches
]


def _missing(tool: str) -> str | None:
    if tool != PYTHON and shutil.which(tool) is None:
        return f"{tool} is not installed"
    return None


def _run(argv: tuple[str, ...], cwd: Path, timeout_s: float) -> Run:
    env = {**os.environ, **SANITIZER_ENV}
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=min(timeout_s, MAX_RUN_S),
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"") + (expired.stderr or b"")
        return Run(-1, output.decode(errors="replace") + "\n[timed out]")
    return Run(done.returncode, (done.stdout + done.stderr).decode(errors="replace"))


def _evaluate(target: str, tool: str, patch: PatchSpec | None, workdir: Path) -> Outcome:
    manifest, source = MANIFESTS[target], TARGETS / target
    copy = workdir / "target"
    shutil.copytree(source, copy)
    if patch is not None:
        patch_argv = ("patch", "-p1", "--batch", "--forward", "-i", str(source / patch.file))
        if _run((*patch_argv, "--dry-run"), copy, 30).returncode != 0:
            return Outcome(applied=False)
        assert _run(patch_argv, copy, 30).returncode == 0
    cc = tool if tool != PYTHON else "cc"
    logs = []
    for argv in manifest.build_argvs(cc=cc, python=sys.executable):
        build = _run(argv, copy, manifest.build.timeout_s)
        logs.append(build.output)
        if build.returncode != 0:
            return Outcome(applied=True, build=Run(build.returncode, "\n".join(logs)))

    def harness(file: str) -> Run:
        argv = manifest.harness_argv(input_path=file, python=sys.executable)
        return _run(argv, copy, manifest.harness.timeout_s)

    return Outcome(
        applied=True,
        build=Run(0, "\n".join(logs)),
        proofs={p.file: harness(p.file) for p in manifest.proofs},
        benign={b.file: harness(b.file) for b in manifest.benign},
        tests=_run(
            manifest.tests_argv(cc=cc, python=sys.executable), copy, manifest.tests.timeout_s
        ),
    )


Key = tuple[str, str, str | None]


@pytest.fixture(scope="session")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Key, Outcome]]:
    """Every copy, built and run in parallel: the compilers dominate the time otherwise."""
    jobs: dict[Key, PatchSpec | None] = {}
    for target, tool in CASES:
        if _missing(tool) is None:
            jobs[(target, tool, None)] = None
            for patch in MANIFESTS[target].patches:
                jobs[(target, tool, patch.file)] = patch
    root = tmp_path_factory.mktemp("example-targets")
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {
            key: pool.submit(_evaluate, key[0], key[1], patch, root / f"job{i}")
            for i, (key, patch) in enumerate(jobs.items())
        }
        yield {key: future.result() for key, future in futures.items()}


def _unpatched(outcomes: dict[Key, Outcome], target: str, tool: str) -> Outcome:
    reason = _missing(tool)
    if reason is not None:
        pytest.skip(reason)
    outcome = outcomes[(target, tool, None)]
    assert outcome.build is not None, "not built"
    assert outcome.build.returncode == 0, outcome.build.output
    return outcome


_NATIVE_FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (\S+)")
_PYTHON_FRAME = re.compile(r'^\s*File "[^"]*", line \d+, in (\S+)')


def crash_frames(output: str) -> list[str]:
    """Function names of the crashing stack, innermost first (the first stack only)."""
    frames: list[str] = []
    for line in output.splitlines():
        native = _NATIVE_FRAME.match(line)
        if native:
            if native.group(1) == "0" and frames:
                break  # the "freed by" / "allocated by" stacks that follow
            frames.append(native.group(2))
        python = _PYTHON_FRAME.match(line)
        if python:
            frames.insert(0, python.group(1))
    return frames


def is_subsequence(wanted: tuple[str, ...], frames: list[str]) -> bool:
    remaining = iter(frames)
    return all(any(frame == name for frame in remaining) for name in wanted)


@pytest.mark.parametrize(("target", "tool"), CASES, ids=[f"{t}-{c}" for t, c in CASES])
def test_proofs_crash_with_the_expected_report(
    outcomes: dict[Key, Outcome], target: str, tool: str
) -> None:
    outcome = _unpatched(outcomes, target, tool)
    assert outcome.proofs is not None
    for proof in MANIFESTS[target].proofs:
        run = outcome.proofs[proof.file]
        assert run.returncode != 0, f"{proof.file} did not crash:\n{run.output}"
        for words in proof.expect:
            assert words in run.output, f"{proof.file}: {words!r} missing from:\n{run.output}"
        frames = crash_frames(run.output)
        assert is_subsequence(proof.crash_state, frames), (proof.crash_state, frames)
        size = re.search(r"(READ|WRITE) of size (\d+)", run.output)
        if proof.crash_type and size:
            expected = proof.crash_type.split()[-1]
            assert expected == size.group(2) or (expected == "{*}" and int(size.group(2)) > 16)
            assert size.group(1) in proof.crash_type


@pytest.mark.parametrize(("target", "tool"), CASES, ids=[f"{t}-{c}" for t, c in CASES])
def test_benign_inputs_and_tests_pass_unpatched(
    outcomes: dict[Key, Outcome], target: str, tool: str
) -> None:
    outcome = _unpatched(outcomes, target, tool)
    assert outcome.benign is not None
    assert outcome.tests is not None
    for file, run in outcome.benign.items():
        assert not run.crashed, f"{file}:\n{run.output}"
    assert outcome.tests.returncode == 0, outcome.tests.output


@pytest.mark.parametrize(
    ("target", "tool", "patch"),
    PATCH_CASES,
    ids=[f"{t}-{c}-{Path(p.file).stem}" for t, c, p in PATCH_CASES],
)
def test_patches_get_their_expected_verdict(
    outcomes: dict[Key, Outcome], target: str, tool: str, patch: PatchSpec
) -> None:
    reason = _missing(tool)
    if reason is not None:
        pytest.skip(reason)
    outcome = outcomes[(target, tool, patch.file)]
    evidence = outcome.build.output if outcome.build else ""
    if outcome.proofs:
        evidence += "".join(run.output for run in outcome.proofs.values())
    if outcome.tests:
        evidence += outcome.tests.output
    assert outcome.verdict() == patch.expect.value, evidence[-3000:]
