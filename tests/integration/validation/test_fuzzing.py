"""Bounded libFuzzer jobs on the c-fuzz-tlv example, with real clang and real bubblewrap.

What the scanning service relies on: the target's harness is found and built; a short fuzzing
run seeded with the target's benign input finds the planted overflow, every time, with the crash
type the target's manifest promises; the crash input it saved reproduces through the normal
build and the existing reproducer; the shipped fix stops it; and a fuzzer that hangs and
ignores its own timers is still stopped by the sandbox's wall clock.

Missing clang, libFuzzer or a usable bubblewrap skips these tests with the reason, except under
CI (``$CI`` set), where it fails them: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import NoReturn

import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.validation.fuzzing import (
    FuzzBuildError,
    FuzzOutcome,
    FuzzToolchainMissingError,
    build_fuzzer,
    harness_of,
    run_fuzzer,
)
from clearinghouse.validation.reproduce import BuildCache, ReproduceConfig, Reproducer, Verdict
from clearinghouse.validation.sandbox import Sandbox, SandboxUnavailableError, select_sandbox
from clearinghouse.validation.target import PatchVerdict, TargetManifest, parse_manifest

pytestmark = pytest.mark.slow

TARGETS = Path(str(resources.files("clearinghouse.validation") / "targets"))
TLV = TARGETS / "c-fuzz-tlv"
FIND_BUDGET_S = 20
FIXED_BUDGET_S = 5


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def manifest() -> TargetManifest:
    return parse_manifest((TLV / "clearinghouse-target.toml").read_bytes())


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    for tool in ("clang", "bwrap", "patch"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    try:
        return select_sandbox(allow_unisolated=False)
    except SandboxUnavailableError as error:
        unavailable(f"bubblewrap cannot run here: {error.detail}")


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    """pytest's temporary directories are 0700; the sandbox's uid must reach this one."""
    path = Path(tempfile.mkdtemp(prefix="clearinghouse-fuzzing-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def fuzzer(sandbox: Sandbox, root: Path) -> Path:
    try:
        return build_fuzzer(source=TLV, out_dir=root / "fuzzer", sandbox=sandbox)
    except FuzzToolchainMissingError as error:
        unavailable(error.detail)


@pytest.fixture(scope="module")
def found(sandbox: Sandbox, fuzzer: Path, root: Path) -> list[FuzzOutcome]:
    """Three independent runs from the benign seed: finding the bug must not be luck."""
    seed = (TLV / manifest().benign[0].file).read_bytes()
    return [
        run_fuzzer(
            sandbox,
            binary=fuzzer,
            work_dir=root / f"run-{i}",
            max_total_time_s=FIND_BUDGET_S,
            seed_inputs=[seed],
        )
        for i in range(3)
    ]


def reproducer(sandbox: Sandbox, root: Path) -> Reproducer:
    return Reproducer(
        sandbox=sandbox,
        builds=BuildCache(root / "builds"),
        work_root=root / "runs",
        config=ReproduceConfig(repetitions=1, compiler="clang"),
    )


def test_the_harness_is_found_by_convention() -> None:
    assert harness_of(TLV) == TLV / "fuzz" / "harness.c"
    assert harness_of(TARGETS / "c-heap-overflow-write") is None


def test_build_fuzzer_builds_an_executable_in_the_sandbox(fuzzer: Path, root: Path) -> None:
    assert fuzzer == root / "fuzzer" / "fuzzer"
    assert os.access(fuzzer, os.X_OK)
    assert b"LLVMFuzzerTestOneInput" in fuzzer.read_bytes()
    # The source copy used for the compile is not left beside the binary.
    assert sorted(p.name for p in fuzzer.parent.iterdir()) == ["fuzzer"]


@pytest.mark.usefixtures("fuzzer")
def test_build_fuzzer_without_a_sandbox_compiles_on_the_host(root: Path) -> None:
    binary = build_fuzzer(source=TLV, out_dir=root / "host-build")
    done = subprocess.run(
        [str(binary), "-runs=0", str(TLV / manifest().benign[0].file)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_fuzzing_finds_the_planted_bug_every_time(found: list[FuzzOutcome]) -> None:
    expected = manifest().proofs[0]
    for outcome in found:
        assert outcome.isolation == "bubblewrap"
        assert outcome.seconds < FIND_BUDGET_S
        assert outcome.runs is not None
        assert outcome.runs > 0
        assert len(outcome.crashes) == 1, outcome.log_tail
        crash = outcome.crashes[0]
        assert crash.crash_type == expected.crash_type, outcome.log_tail
        assert crash.stack[:2] == ("tlv_parse", "LLVMFuzzerTestOneInput")
        assert crash.input.startswith(b"TV")
        assert "Test unit written to" in outcome.log_tail


def test_the_crash_input_reproduces_through_the_normal_build(
    sandbox: Sandbox, found: list[FuzzOutcome], root: Path
) -> None:
    spec = manifest().proofs[0]
    outcome = reproducer(sandbox, root / "unpatched").reproduce(
        manifest=manifest(),
        source=TLV,
        digest="c-fuzz-tlv",
        proof=found[0].crashes[0].input,
        repetitions=2,
    )
    assert outcome.verdict is Verdict.REPRODUCED, (outcome.error, outcome.log)
    assert outcome.report is not None
    assert outcome.report.crash_type == spec.crash_type
    assert outcome.report.crash_state == spec.crash_state


def test_the_fix_leaves_the_fuzzer_nothing_to_find(
    sandbox: Sandbox, found: list[FuzzOutcome], root: Path
) -> None:
    fix = next(p for p in manifest().patches if p.expect is PatchVerdict.FIXES)
    patched = root / "patched-source"
    shutil.copytree(TLV, patched)
    subprocess.run(
        ["patch", "-p1", "--batch", "--forward", "-i", str(TLV / fix.file)],
        cwd=patched,
        check=True,
        capture_output=True,
    )
    crash_input = found[0].crashes[0].input
    binary = build_fuzzer(source=patched, out_dir=root / "patched-fuzzer", sandbox=sandbox)
    outcome = run_fuzzer(
        sandbox,
        binary=binary,
        work_dir=root / "patched-run",
        max_total_time_s=FIXED_BUDGET_S,
        # The input that crashed the unpatched build is in the corpus, so it runs first.
        seed_inputs=[(TLV / manifest().benign[0].file).read_bytes(), crash_input],
    )
    assert outcome.crashes == (), outcome.log_tail
    assert outcome.runs is not None
    assert outcome.runs > 100
    assert FIXED_BUDGET_S - 1 <= outcome.seconds < FIXED_BUDGET_S + 5

    again = reproducer(sandbox, root / "patched").reproduce(
        manifest=manifest(), source=patched, digest="patched", proof=crash_input, repetitions=1
    )
    assert again.verdict is Verdict.NOT_REPRODUCED, again.log


def small_target(root: Path, harness: str) -> Path:
    target = root / "target"
    (target / "src").mkdir(parents=True)
    (target / "fuzz").mkdir()
    (target / "src" / "lib.h").write_text("int lib_value(int x);\n")
    (target / "src" / "lib.c").write_text('#include "lib.h"\nint lib_value(int x) { return x; }\n')
    (target / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    (target / "fuzz" / "harness.c").write_text(harness)
    return target


HANGS_IGNORING_ALARMS = """\
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include "lib.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    signal(SIGALRM, SIG_IGN); /* libFuzzer's per-input timeout and total time never fire */
    for (;;)
        sleep(lib_value(1));
    return (int)size;
}
"""


@pytest.mark.usefixtures("fuzzer")
def test_a_fuzzer_that_ignores_its_timers_is_stopped_by_the_sandbox(
    sandbox: Sandbox, root: Path
) -> None:
    # main.c sits in src/ too: it is left out, or it would clash with libFuzzer's main.
    target = small_target(root / "hang", HANGS_IGNORING_ALARMS)
    binary = build_fuzzer(source=target, out_dir=root / "hang" / "fuzzer", sandbox=sandbox)
    outcome = run_fuzzer(sandbox, binary=binary, work_dir=root / "hang" / "run", max_total_time_s=1)
    assert outcome.crashes == ()
    assert 1 < outcome.seconds < 15
    assert "the sandbox killed the fuzzer (wall-clock)" in outcome.log_tail


@pytest.mark.usefixtures("fuzzer")
def test_a_harness_that_does_not_compile_is_the_targets_fault(sandbox: Sandbox, root: Path) -> None:
    target = small_target(root / "broken", "#error this harness does not compile\n")
    with pytest.raises(FuzzBuildError) as raised:
        build_fuzzer(source=target, out_dir=root / "broken" / "fuzzer", sandbox=sandbox)
    assert "this harness does not compile" in raised.value.log


def test_a_compiler_without_libfuzzer_is_a_missing_toolchain(sandbox: Sandbox, root: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    # gcc has no -fsanitize=fuzzer: the fault is the host's, not the target's.
    with pytest.raises(FuzzToolchainMissingError, match="cannot build a libFuzzer binary"):
        build_fuzzer(source=TLV, out_dir=root / "gcc", compiler="gcc", sandbox=sandbox)
    with pytest.raises(FuzzToolchainMissingError, match="not installed"):
        build_fuzzer(source=TLV, out_dir=root / "none", compiler="no-such-cc", sandbox=sandbox)


def test_a_target_without_a_harness_is_refused(root: Path) -> None:
    with pytest.raises(InputError, match=r"fuzz/harness\.c is missing"):
        build_fuzzer(source=TARGETS / "c-heap-overflow-write", out_dir=root / "no-harness")
