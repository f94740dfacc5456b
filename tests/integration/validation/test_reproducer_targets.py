"""Every example target through the real reproducer: bubblewrap, gcc and clang, and Python.

What a maintainer relies on: each proof a target ships is ``reproduced`` with the crash type,
state and security flag its manifest promises, whichever toolchain built it; each benign input
is ``not_reproduced``. And output alone proves nothing: a program that prints a sanitizer report
or a traceback without crashing is not a reproduction.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from clearinghouse.validation.reproduce import (
    BuildCache,
    ReproduceConfig,
    Reproducer,
    Reproduction,
    Verdict,
)
from clearinghouse.validation.sandbox import select_sandbox
from clearinghouse.validation.target import Language, TargetManifest, parse_manifest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]

TARGETS = Path(str(resources.files("clearinghouse.validation") / "targets"))
NAMES = sorted(p.parent.name for p in TARGETS.glob("*/clearinghouse-target.toml"))


def manifest_of(directory: Path) -> TargetManifest:
    return parse_manifest((directory / "clearinghouse-target.toml").read_bytes())


def cases() -> list[object]:
    out: list[object] = []
    for name in NAMES:
        if manifest_of(TARGETS / name).language is Language.PYTHON:
            out.append(pytest.param(name, "gcc", id=f"{name}-python"))
            continue
        for compiler in ("gcc", "clang"):
            missing = shutil.which(compiler) is None
            mark = pytest.mark.skipif(missing, reason=f"{compiler} is not installed")
            out.append(pytest.param(name, compiler, marks=mark, id=f"{name}-{compiler}"))
    return out


def reproducer(root: Path, compiler: str) -> Reproducer:
    return Reproducer(
        sandbox=select_sandbox(allow_unisolated=False),
        builds=BuildCache(root / "builds"),
        work_root=root / "runs",
        config=ReproduceConfig(repetitions=1, compiler=compiler),
    )


@pytest.mark.parametrize(("name", "compiler"), cases())
def test_proofs_reproduce_as_promised_and_benign_inputs_do_not(
    searchable: Path, name: str, compiler: str
) -> None:
    directory = TARGETS / name
    manifest = manifest_of(directory)
    rep = reproducer(searchable, compiler)

    def run(file: str) -> Reproduction:
        proof = (directory / file).read_bytes()
        return rep.reproduce(
            manifest=manifest, source=directory, digest=name, proof=proof, repetitions=1
        )

    for spec in manifest.proofs:
        outcome = run(spec.file)
        assert outcome.verdict is Verdict.REPRODUCED, (spec.file, outcome.error, outcome.log)
        assert outcome.isolation == "bubblewrap"
        report = outcome.report
        assert report is not None
        if spec.crash_type:
            assert report.crash_type == spec.crash_type
        if spec.crash_state:
            assert report.crash_state == spec.crash_state
        if spec.security is not None:
            assert report.security is spec.security
    for benign in manifest.benign:
        outcome = run(benign.file)
        assert outcome.verdict is Verdict.NOT_REPRODUCED, (benign.file, outcome.log)


FAKE_ASAN = """\
==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x1 bp 0x2
READ of size 4 at 0x602000000010 thread T0
    #0 0x55d0 in parse_header /src/parser.c:10
    #1 0x55d1 in main /src/main.c:5
"""

FORGER_C = """\
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    FILE *input = fopen(argv[1], "rb");
    int code = input ? fgetc(input) - '0' : 0;
    fputs(%s, stderr);
    return code;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_a_printed_sanitizer_report_is_not_a_reproduction(searchable: Path) -> None:
    """The program prints a use-after-free report and exits 0, or exits 1 as ASan by default
    would: neither is the exit code the sanitizers were told to use for this run."""
    directory = searchable / "forger"
    directory.mkdir()
    literal = '"' + FAKE_ASAN.replace("\\", "\\\\").replace("\n", "\\n") + '"'
    (directory / "main.c").write_text(FORGER_C % literal)
    (directory / "clearinghouse-target.toml").write_text(
        """\
name = "forger"
language = "c"
version = "1"

[build]
commands = [["{cc}", "-fsanitize=address,undefined", "-g", "main.c", "-o", "forger"]]

[harness]
command = ["./forger", "{input}"]

[tests]
command = ["true"]
"""
    )
    manifest = manifest_of(directory)
    rep = reproducer(searchable, "gcc")
    for proof in (b"0", b"1"):
        outcome = rep.reproduce(
            manifest=manifest, source=directory, digest="forger", proof=proof, repetitions=2
        )
        assert outcome.verdict is Verdict.NOT_REPRODUCED, outcome.log
        assert outcome.report is None


def test_a_printed_traceback_without_a_failing_exit_is_not_a_reproduction(
    searchable: Path,
) -> None:
    directory = searchable / "pyforger"
    directory.mkdir()
    (directory / "harness.py").write_text(
        "import sys\n"
        "sys.stderr.write('Traceback (most recent call last):\\n'\n"
        "                 '  File \"harness.py\", line 9, in parse\\n'\n"
        "                 'IndexError: index out of range\\n')\n"
    )
    (directory / "clearinghouse-target.toml").write_text(
        """\
name = "pyforger"
language = "python"
version = "1"

[harness]
command = ["{python}", "harness.py", "{input}"]

[tests]
command = ["{python}", "-c", "pass"]
"""
    )
    outcome = reproducer(searchable, "gcc").reproduce(
        manifest=manifest_of(directory),
        source=directory,
        digest="pyforger",
        proof=b"x",
        repetitions=1,
    )
    assert outcome.verdict is Verdict.NOT_REPRODUCED, outcome.log
