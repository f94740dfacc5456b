"""flawfinder, bandit and semgrep run by the clearinghouse in its real bubblewrap sandbox.

The scanning tests need the scanner toolchain: ``$CLEARINGHOUSE_SCANNER_TOOLCHAIN``, else the
repository's ``.venv-scanners`` (``make scanners`` builds it). Without it, or without
bubblewrap, they skip with the reason, except under CI (``$CI`` set), where both must exist
and their absence fails the run. The toolchain's bookkeeping (marker, idempotent install,
refusals) is tested with a fake interpreter and never downloads anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.formats.limits import DEFAULT_LIMITS
from clearinghouse.formats.records import FindingRecord
from clearinghouse.formats.registry import detect
from clearinghouse.validation.sandbox import (
    BubblewrapSandbox,
    RunRequest,
    RunResult,
    SandboxLimits,
)
from clearinghouse.validation.scanners import (
    DEFAULT_RULES,
    MARKER,
    SCANNER_PINS,
    ScannerFailedError,
    ScannerToolchainMissingError,
    install_toolchain,
    run_scanner,
    scanner_request,
    toolchain_at,
)

REPO = Path(__file__).resolve().parents[3]
TARGETS = REPO / "src" / "clearinghouse" / "validation" / "targets"
UNDER_CI = bool(os.environ.get("CI"))

UNSAFE_PY = """\
import os
import pickle
import subprocess

import yaml


def run(x):
    subprocess.run(x, shell=True)


def calc():
    return eval(input())


def load(blob, text):
    yaml.load(text, Loader=yaml.SafeLoader)
    yaml.load(text)
    return pickle.loads(blob)
"""
SAFE_YAML_LINE = 17  # the yaml.load with SafeLoader above: no rule may flag it


def _unavailable(reason: str) -> None:
    """Skip on a developer machine; fail under CI, which must run these tests."""
    if UNDER_CI:
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def toolchain() -> Path:
    configured = os.environ.get("CLEARINGHOUSE_SCANNER_TOOLCHAIN")
    candidate = Path(configured) if configured else REPO / ".venv-scanners"
    if not configured and not (candidate / MARKER).is_file():
        _unavailable(
            f"no scanner toolchain at {candidate}: run `make scanners` or set "
            "CLEARINGHOUSE_SCANNER_TOOLCHAIN"
        )
    return toolchain_at(candidate)


@pytest.fixture(scope="module")
def sandbox() -> BubblewrapSandbox:
    if shutil.which("bwrap") is None:
        _unavailable("bubblewrap is not installed (apt-get install bubblewrap)")
    return BubblewrapSandbox()


@pytest.fixture
def work(searchable: Path) -> Path:
    path = searchable / "work"
    path.mkdir()
    return path


@pytest.fixture
def python_source(searchable: Path) -> Path:
    """An example Python target plus one file of unsafe calls, readable by the sandbox."""
    source = searchable / "python-source"
    shutil.copytree(TARGETS / "python-uncaught-exception", source)
    (source / "unsafe.py").write_text(UNSAFE_PY)
    for path in (source, *source.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return source


def _records(sarif: bytes) -> list[FindingRecord]:
    """The SARIF read exactly as intake reads it: detected, schema-validated, read."""
    doc: Any = orjson.loads(sarif)
    reader = detect(doc, hint=None)
    assert reader.name == "sarif"
    reader.validate(doc)
    return list(reader.read(doc, limits=DEFAULT_LIMITS))


def _hits(records: list[FindingRecord]) -> set[tuple[str | None, str | None, int | None]]:
    """(rule, path, line) of each record."""
    hits: set[tuple[str | None, str | None, int | None]] = set()
    for record in records:
        location = record.location
        path, line = (location.path, location.start_line) if location else (None, None)
        hits.add((record.rule_id, path, line))
    return hits


def _tree_digest(root: Path) -> dict[str, tuple[int, str]]:
    return {
        str(path.relative_to(root)): (
            path.stat().st_mode,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# -- scanning in the real sandbox ----------------------------------------------------------


def test_flawfinder_reports_the_c_targets_risky_calls(
    sandbox: BubblewrapSandbox, toolchain: Path, work: Path
) -> None:
    source = TARGETS / "c-stack-overflow"
    before = _tree_digest(source)
    output = run_scanner(
        sandbox, scanner="flawfinder", toolchain=toolchain, source=source, work_dir=work
    )
    assert output.isolation == "bubblewrap"
    assert output.exit_code == 0
    records = _records(output.sarif)
    assert records
    assert {r.producer for r in records} == {"Flawfinder"}
    paths = {r.location.path or "" for r in records if r.location}
    # Paths are relative to the source root, never the host's absolute location.
    assert "src/dns.c" in paths
    assert all(not path.startswith("/") for path in paths)
    # The memcpy into the fixed-size name is one of flawfinder's hits in dns.c.
    assert any(
        r.location and r.location.path == "src/dns.c" and r.location.start_line == 31
        for r in records
    )
    assert _tree_digest(source) == before
    assert (work / "flawfinder.sarif").read_bytes() == output.sarif


def test_semgrep_default_rules_flag_the_c_targets(
    sandbox: BubblewrapSandbox, toolchain: Path, work: Path
) -> None:
    found: set[tuple[str | None, str | None, int | None]] = set()
    for name in ("c-null-deref", "c-heap-overflow-write"):
        scan_work = work / name
        scan_work.mkdir()
        output = run_scanner(
            sandbox,
            scanner="semgrep",
            toolchain=toolchain,
            source=TARGETS / name,
            work_dir=scan_work,
        )
        assert output.isolation == "bubblewrap"
        records = _records(output.sarif)
        assert records
        # Rule ids are the rules' own, not prefixed with where the rules file lives.
        assert all((r.rule_id or "").startswith("clearinghouse.c.") for r in records)
        found |= _hits(records)
    assert ("clearinghouse.c.unbounded-string-copy", "src/config.c", 20) in found
    assert ("clearinghouse.c.unbounded-string-copy", "src/config.c", 21) in found
    # The run-length decoder allocates a size read from the input's header bytes.
    assert ("clearinghouse.c.length-from-input", "src/rle.c", 13) in found


def test_bandit_flags_the_unsafe_python_file(
    sandbox: BubblewrapSandbox, toolchain: Path, work: Path, python_source: Path
) -> None:
    before = _tree_digest(python_source)
    output = run_scanner(
        sandbox, scanner="bandit", toolchain=toolchain, source=python_source, work_dir=work
    )
    records = _records(output.sarif)
    assert records
    assert {r.producer for r in records} == {"Bandit"}
    hits = _hits(records)
    assert ("B602", "unsafe.py", 9) in hits  # subprocess with shell=True
    assert ("B307", "unsafe.py", 13) in hits  # eval
    assert ("B301", "unsafe.py", 19) in hits  # pickle.loads
    # The example target itself is clean code: bandit has nothing to say about it.
    assert {path for _, path, _ in hits} == {"unsafe.py"}
    assert _tree_digest(python_source) == before


def test_bandit_on_a_clean_target_gives_a_valid_empty_log(
    sandbox: BubblewrapSandbox, toolchain: Path, work: Path
) -> None:
    output = run_scanner(
        sandbox,
        scanner="bandit",
        toolchain=toolchain,
        source=TARGETS / "python-uncaught-exception",
        work_dir=work,
    )
    assert _records(output.sarif) == []


def test_semgrep_default_rules_flag_the_unsafe_python_file(
    sandbox: BubblewrapSandbox, toolchain: Path, work: Path, python_source: Path
) -> None:
    output = run_scanner(
        sandbox, scanner="semgrep", toolchain=toolchain, source=python_source, work_dir=work
    )
    hits = _hits(_records(output.sarif))
    assert ("clearinghouse.python.shell-command", "unsafe.py", 9) in hits
    assert ("clearinghouse.python.eval-of-input", "unsafe.py", 13) in hits
    assert ("clearinghouse.python.yaml-unsafe-load", "unsafe.py", 18) in hits
    assert ("clearinghouse.python.pickle-load", "unsafe.py", 19) in hits
    assert not any(line == SAFE_YAML_LINE for _, _, line in hits)
    assert {path for _, path, _ in hits} == {"unsafe.py"}


def test_semgrep_runs_the_callers_own_rules(
    sandbox: BubblewrapSandbox,
    toolchain: Path,
    work: Path,
    searchable: Path,
    python_source: Path,
) -> None:
    rules = searchable / "rules" / "mine.yml"
    rules.parent.mkdir()
    rules.parent.chmod(0o755)
    rules.write_text(
        "rules:\n"
        "  - id: no-read-chunks\n"
        "    languages: [python]\n"
        "    severity: INFO\n"
        "    message: read_chunks called\n"
        "    pattern: read_chunks(...)\n"
    )
    rules.chmod(0o644)
    output = run_scanner(
        sandbox,
        scanner="semgrep",
        toolchain=toolchain,
        source=python_source,
        work_dir=work,
        rules=rules,
    )
    records = _records(output.sarif)
    assert records
    assert {r.rule_id for r in records} == {"no-read-chunks"}
    assert {r.location.path for r in records if r.location} >= {"harness.py", "run_tests.py"}


def test_the_scan_request_keeps_the_source_read_only(
    sandbox: BubblewrapSandbox, toolchain: Path, work: Path, python_source: Path
) -> None:
    """A program run with a scan's binds can write its work directory and nothing else."""
    request = scanner_request(
        scanner="semgrep", toolchain=toolchain, source=python_source, work_dir=work
    )
    python = str(toolchain / "bin" / "python")
    write = "import sys; open(sys.argv[1], 'w').write('planted')"
    limits = SandboxLimits(wall_clock_s=60, cpu_s=60)

    def attempt(target: Path) -> RunResult:
        changed: RunRequest = dataclasses.replace(request, argv=(python, "-c", write, str(target)))
        return sandbox.run(changed, limits)

    into_work = attempt(work / "planted")
    assert into_work.ok, into_work.stderr
    assert (work / "planted").read_text() == "planted"
    for target in (
        python_source / "planted",
        DEFAULT_RULES.parent / "planted",
        toolchain / "planted",
    ):
        result = attempt(target)
        assert not result.ok
        assert b"Read-only file system" in result.stderr
        assert not target.exists()


def test_a_scanner_failure_is_reported_with_its_stderr(
    sandbox: BubblewrapSandbox, toolchain: Path, work: Path, searchable: Path
) -> None:
    rules = searchable / "rules" / "broken.yml"
    rules.parent.mkdir()
    rules.parent.chmod(0o755)
    rules.write_text("rules:\n  - id: no-pattern\n    languages: [c]\n    message: m\n")
    rules.chmod(0o644)
    with pytest.raises(ScannerFailedError, match="semgrep failed") as raised:
        run_scanner(
            sandbox,
            scanner="semgrep",
            toolchain=toolchain,
            source=TARGETS / "c-null-deref",
            work_dir=work,
            rules=rules,
        )
    assert "RuleParseError" in raised.value.detail  # semgrep's own complaint, passed on


# -- refusals that need no sandbox ---------------------------------------------------------


class _NeverRuns:
    """A sandbox that fails the test if anything is run in it."""

    isolation = "none"

    def run(self, request: RunRequest, limits: SandboxLimits | None = None) -> RunResult:
        raise AssertionError(f"nothing should run, got {request.argv}")


@pytest.mark.parametrize("scanner", ["flawfinder", "bandit", "semgrep"])
def test_a_missing_toolchain_refuses_before_running_anything(scanner: str, tmp_path: Path) -> None:
    with pytest.raises(ScannerToolchainMissingError, match="make scanners"):
        run_scanner(
            _NeverRuns(),
            scanner=scanner,
            toolchain=tmp_path / "no-such-toolchain",
            source=TARGETS / "c-null-deref",
            work_dir=tmp_path,
        )


class _WritesGarbage:
    """A sandbox whose scanner "succeeds" but leaves a file that is not a SARIF log."""

    isolation = "fake"

    def __init__(self, content: bytes) -> None:
        self.content = content

    def run(self, request: RunRequest, limits: SandboxLimits | None = None) -> RunResult:
        (request.work_dir / "flawfinder.sarif").write_bytes(self.content)
        return RunResult(
            exit_code=0,
            signal=None,
            timed_out=False,
            killed_reason=None,
            stdout=b"",
            stderr=b"",
            stdout_truncated=False,
            stderr_truncated=False,
            duration_s=0.1,
            isolation=self.isolation,
        )


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"Flawfinder version 2.0.20", "invalid JSON"),
        (b'{"version": "2.0.0", "runs": []}', "no SARIF 2.1.0"),
        (b'{"version": "2.1.0"}', "without runs"),
    ],
)
def test_output_that_is_not_a_sarif_log_is_refused(
    content: bytes, complaint: str, tmp_path: Path
) -> None:
    fake_toolchain = tmp_path / "toolchain"
    fake_toolchain.mkdir()
    (fake_toolchain / MARKER).write_text("\n".join(SCANNER_PINS) + "\n")
    with pytest.raises(ScannerFailedError, match=complaint):
        run_scanner(
            _WritesGarbage(content),
            scanner="flawfinder",
            toolchain=fake_toolchain,
            source=TARGETS / "c-null-deref",
            work_dir=tmp_path,
        )


def test_unknown_scanner_and_misplaced_rules_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown scanner"):
        scanner_request(scanner="cppcheck", toolchain=tmp_path, source=tmp_path, work_dir=tmp_path)
    with pytest.raises(InputError, match="only semgrep"):
        scanner_request(
            scanner="bandit",
            toolchain=tmp_path,
            source=tmp_path,
            work_dir=tmp_path,
            rules=DEFAULT_RULES,
        )


# -- the toolchain's bookkeeping, with a fake interpreter ----------------------------------


def _fake_python(tmp_path: Path, *, pip_fails: bool = False) -> tuple[Path, Path]:
    """A shell script standing in for python3; logs every call, makes fake venvs of itself.

    Its "venv" has a copy of itself as ``bin/python`` and a console script whose shebang names
    the directory the venv was created in (as pip's would).
    """
    log = tmp_path / "calls.log"
    script = tmp_path / "fake-python3"
    pip = 'echo "no network" >&2; exit 1' if pip_fails else "exit 0"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'if [ "$1 $2" = "-m venv" ]; then\n'
        '  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && chmod 700 "$3/bin/python"\n'
        '  printf "#!%s/bin/python\\nrun\\n" "$3" > "$3/bin/tool"\n'
        "  exit 0\n"
        "fi\n"
        f'if [ "$1 $2" = "-m pip" ]; then {pip}; fi\n'
        "exit 0\n"
    )
    script.chmod(0o700)
    return script, log


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_install_builds_once_and_is_then_idempotent(tmp_path: Path) -> None:
    python, log = _fake_python(tmp_path)
    target = tmp_path / "toolchain"
    messages: list[str] = []

    assert install_toolchain(target, python=str(python), progress=messages.append) == target
    calls = _calls(log)
    assert calls[0].startswith("-m venv ")
    assert any(
        call.startswith("-m pip install --quiet") and call.endswith(" ".join(SCANNER_PINS))
        for call in calls
    )
    assert toolchain_at(target) == target
    assert messages
    # Scripts name the final location, not the temporary one the venv was built in.
    assert (target / "bin" / "tool").read_text().splitlines()[0] == f"#!{target}/bin/python"
    # The sandbox's uid must read and run everything in it.
    mode = (target / "bin" / "python").stat().st_mode
    assert mode & stat.S_IROTH
    assert mode & stat.S_IXOTH
    assert (target / MARKER).stat().st_mode & stat.S_IROTH
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calls.log", "fake-python3", "toolchain"]

    install_toolchain(target, python=str(python))
    assert _calls(log) == calls  # the current toolchain was left alone


def test_install_replaces_a_stale_toolchain(tmp_path: Path) -> None:
    python, log = _fake_python(tmp_path)
    target = tmp_path / "toolchain"
    target.mkdir()
    (target / MARKER).write_text("semgrep==1.0.0\n")
    (target / "left-over").write_text("from the old toolchain")
    with pytest.raises(ScannerToolchainMissingError, match="other versions"):
        toolchain_at(target)

    install_toolchain(target, python=str(python))
    assert _calls(log)
    assert toolchain_at(target) == target
    assert not (target / "left-over").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calls.log", "fake-python3", "toolchain"]


def test_install_refuses_a_missing_interpreter(tmp_path: Path) -> None:
    target = tmp_path / "toolchain"
    with pytest.raises(ScannerToolchainMissingError, match="does not exist"):
        install_toolchain(target, python=str(tmp_path / "no-python3"))
    assert not target.exists()


def test_a_failed_install_leaves_no_toolchain_behind(tmp_path: Path) -> None:
    python, _ = _fake_python(tmp_path, pip_fails=True)
    target = tmp_path / "toolchain"
    with pytest.raises(ScannerToolchainMissingError, match="no network"):
        install_toolchain(target, python=str(python))
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calls.log", "fake-python3"]


def test_toolchain_at_accepts_only_a_marker_with_the_current_pins(tmp_path: Path) -> None:
    with pytest.raises(ScannerToolchainMissingError, match="make scanners"):
        toolchain_at(tmp_path / "absent")
    tmp_path.joinpath(MARKER).write_text("\n".join(SCANNER_PINS[:-1]) + "\n")
    with pytest.raises(ScannerToolchainMissingError, match="clearinghouse scans toolchain"):
        toolchain_at(tmp_path)
    tmp_path.joinpath(MARKER).write_text("\n".join(SCANNER_PINS) + "\n")
    assert toolchain_at(tmp_path) == tmp_path
