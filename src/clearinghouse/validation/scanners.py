"""Static scanners (flawfinder, bandit, semgrep) run by the clearinghouse inside its sandbox.

Scanning as a service: for a code target an operator owns, the clearinghouse runs real
scanners itself and hands their SARIF to intake. The scanners are as exposed to the scanned
code as a build is (semgrep and bandit parse it), so they run in the same sandbox as proofs:
the source and the toolchain are bound read-only, and the one writable path is a work
directory that receives the SARIF file.

The sandbox runs programs as an unprivileged uid that cannot read ``/root``, so the project's
own virtualenv (whose base interpreter lives under ``/root/.pyenv``) is unusable inside it.
The scanners therefore live in a toolchain venv of their own, built with Debian's system
Python under ``/usr`` (which the sandbox shows read-only) in a world-readable directory
(:func:`install_toolchain`). A separate venv also keeps semgrep's pins (opentelemetry-api,
jsonschema) away from the project's. A marker file holding :data:`SCANNER_PINS` says that a
toolchain is complete and current (:func:`toolchain_at`).

Each scanner runs from inside the source directory on ``.``, so the paths in its SARIF are
relative to the source root (what intake keys findings on) and not the host's absolute path.

It does not: parse findings (``clearinghouse.formats.sarif`` does), store anything, choose
which targets to scan, fetch semgrep rules from the network (rules are local files; the
default set ships in ``semgrep-rules/``), or run a scanner outside a sandbox.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import orjson

from clearinghouse.core.errors import ClearinghouseError, InputError
from clearinghouse.validation.sandbox import RunRequest, Sandbox, SandboxLimits

__all__ = [
    "DEFAULT_RULES",
    "MARKER",
    "SCANNERS",
    "SCANNER_PINS",
    "ScanOutput",
    "ScannerFailedError",
    "ScannerToolchainMissingError",
    "install_toolchain",
    "run_scanner",
    "scanner_limits",
    "scanner_request",
    "toolchain_at",
]

#: The exact scanner releases a toolchain holds; changing them makes every toolchain stale.
SCANNER_PINS: Final = ("bandit[sarif]==1.9.4", "flawfinder==2.0.20", "semgrep==1.185.0")
#: The scanners :func:`run_scanner` knows, by the name used in ``ScanOutput.scanner``.
SCANNERS: Final = ("flawfinder", "bandit", "semgrep")
#: Written last into a toolchain: its presence with the current pins means "complete".
MARKER: Final = ".clearinghouse-scanners"
#: The rules semgrep runs when the caller names none (written for this project, local only).
DEFAULT_RULES: Final = Path(__file__).parent / "semgrep-rules" / "clearinghouse.yml"

_MIB: Final = 1024 * 1024
_STDERR_TAIL_CHARS: Final = 4000
#: pip downloads semgrep's ~72 MB wheel; a slow mirror may take a while, a hung one must end.
_INSTALL_TIMEOUT_S: Final = 1800
#: What a sandboxed scan may use beyond its wall clock. Semgrep's engine runs several worker
#: processes with threads each; its OCaml runtime reserves address space generously.
_SCAN_PROCESSES: Final = 256
_SCAN_ADDRESS_SPACE: Final = 16 * 1024 * _MIB
_SCAN_OPEN_FILES: Final = 4096
_SCAN_OUTPUT: Final = 64 * _MIB
_SCAN_FILE: Final = 1024 * _MIB
_SCAN_TMP: Final = 512 * _MIB
#: The program the sandbox starts: enter the source directory, then become the scanner. An
#: optional second argument names a file that receives the scanner's stdout (flawfinder can
#: only print its SARIF).
_ENTER_SOURCE: Final = 'cd -- "$1" || exit 125; shift; exec "$@"'
_ENTER_SOURCE_TO_FILE: Final = 'cd -- "$1" || exit 125; out=$2; shift 2; exec "$@" >"$out"'


class ScannerToolchainMissingError(ClearinghouseError):
    """The scanners' venv is absent, incomplete, stale, or could not be built."""

    status = 503
    title = "Scanner toolchain missing"
    type_slug = "scanner-toolchain-missing"


class ScannerFailedError(InputError):
    """A scanner ran but did not produce a usable SARIF log (the detail has its stderr)."""

    status = 422
    title = "Scanner failed"
    type_slug = "scanner-failed"


@dataclass(frozen=True, slots=True)
class ScanOutput:
    """One scanner's SARIF log and how its run went.

    ``exit_code`` is the scanner's own status (always 0 when returned: anything else raises);
    ``isolation`` names the sandbox that confined it, so an unisolated demo run is never
    mistaken for a sandboxed one.
    """

    scanner: str
    sarif: bytes
    exit_code: int | None
    stderr_tail: str
    seconds: float
    isolation: str


_INSTALL_HINT: Final = (
    "install it with `make scanners` or `clearinghouse scans toolchain` "
    "(a venv of Debian's /usr/bin/python3 holding " + ", ".join(SCANNER_PINS) + ")"
)


def _marker_text() -> str:
    return "\n".join(SCANNER_PINS) + "\n"


def _is_current(directory: Path) -> bool:
    try:
        return (directory / MARKER).read_text(encoding="utf-8") == _marker_text()
    except (OSError, UnicodeDecodeError):
        return False


def toolchain_at(directory: Path) -> Path:
    """``directory`` if it holds a complete toolchain of the current pins, else raise.

    Raises :class:`ScannerToolchainMissingError` (saying how to install one) when the marker
    is absent, unreadable or lists other pins.
    """
    if not (directory / MARKER).is_file():
        raise ScannerToolchainMissingError(f"no scanner toolchain at {directory}; {_INSTALL_HINT}")
    if not _is_current(directory):
        raise ScannerToolchainMissingError(
            f"the scanner toolchain at {directory} holds other versions than "
            f"{', '.join(SCANNER_PINS)}; {_INSTALL_HINT}"
        )
    return directory


def install_toolchain(
    directory: Path,
    *,
    python: str = "/usr/bin/python3",
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Build the scanners' venv at ``directory`` with ``python`` and return its path.

    Nothing happens when ``directory`` already holds the current pins. Otherwise the venv is
    built in a sibling temporary directory and renamed into place only when complete (marker
    written last), so a failed or interrupted install never leaves a half toolchain where
    :func:`toolchain_at` would accept it; a stale toolchain is replaced. Everything is made
    world-readable, since the sandbox's uid must read it. Downloads from the package index.

    Raises :class:`ScannerToolchainMissingError` if ``python`` does not exist or a step fails.
    """
    report = progress or (lambda _message: None)
    directory = Path(os.path.abspath(directory))
    if _is_current(directory):
        report(f"scanner toolchain at {directory} is current")
        return directory
    interpreter = shutil.which(python)
    if interpreter is None:
        raise ScannerToolchainMissingError(
            f"cannot build the scanner toolchain: {python} does not exist (on Debian: "
            "apt-get install python3 python3-venv)"
        )
    directory.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{directory.name}.building-", dir=directory.parent))
    try:
        report(f"creating a venv with {interpreter}")
        _step([interpreter, "-m", "venv", str(building)], "python -m venv")
        report("installing " + " ".join(SCANNER_PINS))
        # No bytecode at install time: it would record the temporary path in every .pyc.
        pip = [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _step([*pip, "--no-compile", *SCANNER_PINS], "pip install")
        report("compiling bytecode")
        _compile(building, directory)
        _relocate_scripts(building, directory)
        (building / MARKER).write_text(_marker_text(), encoding="utf-8")
        _make_world_readable(building)
        _swap_into_place(building, directory)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    report(f"scanner toolchain ready at {directory}")
    return directory


def _step(argv: list[str], what: str) -> None:
    try:
        completed = subprocess.run(
            argv, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ScannerToolchainMissingError(
            f"building the scanner toolchain failed at {what}: {error}"
        ) from error
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout)[-_STDERR_TAIL_CHARS:].strip()
        raise ScannerToolchainMissingError(
            f"building the scanner toolchain failed at {what} (exit {completed.returncode}): {tail}"
        )


def _compile(building: Path, final: Path) -> None:
    """Byte-compile with the final path recorded, so tracebacks name real files.

    Best effort: the sandbox cannot write ``__pycache__``, so without bytecode every scan
    recompiles in memory (slower, never wrong); a file that fails to compile is no reason to
    refuse the toolchain.
    """
    argv = [str(building / "bin" / "python"), "-m", "compileall", "-q", "-j", "0"]
    argv += ["-s", str(building), "-p", str(final), str(building / "lib")]
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(argv, capture_output=True, timeout=_INSTALL_TIMEOUT_S, check=False)


def _relocate_scripts(building: Path, final: Path) -> None:
    """Point the console scripts' shebangs (and activate scripts) at the final location.

    A venv is not relocatable: pip writes the interpreter's path into every script it
    installs, and that path is still the temporary one here.
    """
    old, new = str(building).encode(), str(final).encode()
    for script in (building / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        content = script.read_bytes()
        if old in content and b"\0" not in content:
            script.write_bytes(content.replace(old, new))
    config = building / "pyvenv.cfg"
    if config.is_file():
        config.write_bytes(config.read_bytes().replace(old, new))


def _make_world_readable(root: Path) -> None:
    """``a+rX`` on the whole tree: the sandbox's uid reads, and runs, everything in it."""
    for path in (root, *root.rglob("*")):
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        extra = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
            extra |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
        if mode & extra != extra:
            path.chmod(stat.S_IMODE(mode) | extra)


def _swap_into_place(building: Path, directory: Path) -> None:
    """Rename the finished venv to ``directory``, moving a stale one aside first.

    If a concurrent install finished first and left a current toolchain there, ours is
    dropped instead (the caller's ``finally`` removes it).
    """
    if _is_current(directory):
        return
    if directory.exists() or directory.is_symlink():
        stale = Path(tempfile.mkdtemp(prefix=f".{directory.name}.stale-", dir=directory.parent))
        os.rename(directory, stale / "old")
        try:
            os.rename(building, directory)
        finally:
            shutil.rmtree(stale, ignore_errors=True)
        return
    os.rename(building, directory)


def scanner_limits(timeout_s: float) -> SandboxLimits:
    """The sandbox limits of one scan that may take ``timeout_s`` of wall-clock time.

    CPU time counts every thread of a process, so the CPU budget is the wall clock times the
    host's cores (semgrep keeps all of them busy).
    """
    cores = os.cpu_count() or 1
    return SandboxLimits(
        wall_clock_s=timeout_s,
        cpu_s=max(1, int(timeout_s * cores) + 1),
        max_processes=_SCAN_PROCESSES,
        max_file_bytes=_SCAN_FILE,
        max_open_files=_SCAN_OPEN_FILES,
        max_output_bytes=_SCAN_OUTPUT,
        address_space_bytes=_SCAN_ADDRESS_SPACE,
        tmp_bytes=_SCAN_TMP,
    )


def _sarif_file(scanner: str, work_dir: Path) -> Path:
    return work_dir / f"{scanner}.sarif"


def scanner_request(
    *,
    scanner: str,
    toolchain: Path,
    source: Path,
    work_dir: Path,
    rules: Path | None = None,
) -> RunRequest:
    """The sandbox request that runs ``scanner`` over ``source``.

    The scanner writes its SARIF to ``<work_dir>/<scanner>.sarif``; ``source``, the toolchain
    and (for semgrep) the rules' directory are bound read-only. ``rules`` is semgrep's config
    file (:data:`DEFAULT_RULES` when ``None``) and must not be given to the other scanners.
    """
    if scanner not in SCANNERS:
        raise InputError(f"unknown scanner {scanner!r}; expected one of {', '.join(SCANNERS)}")
    if rules is not None and scanner != "semgrep":
        raise InputError(f"{scanner} takes no rules file; only semgrep does")
    python = str(toolchain / "bin" / "python")
    output = str(_sarif_file(scanner, work_dir))
    env = {"PYTHONDONTWRITEBYTECODE": "1"}  # the toolchain is read-only in the sandbox
    binds: tuple[Path, ...] = (toolchain, source)
    enter: tuple[str, ...] = ("/bin/sh", "-c", _ENTER_SOURCE, "sh", str(source))
    tool: tuple[str, ...]
    if scanner == "flawfinder":
        enter = ("/bin/sh", "-c", _ENTER_SOURCE_TO_FILE, "sh", str(source), output)
        tool = (python, "-m", "flawfinder", "--sarif", ".")
    elif scanner == "bandit":
        tool = (python, "-m", "bandit", "-r", ".", "-f", "sarif", "-o", output)
        tool += ("--exit-zero", "-q")
    else:
        config = rules if rules is not None else DEFAULT_RULES
        binds += (config.parent,)
        tool = (str(toolchain / "bin" / "semgrep"), "scan", "--config", str(config))
        tool += ("--sarif", "--output", output, "--metrics", "off", "--disable-version-check")
        # Rule ids stay the rules' own (semgrep would prefix the rules file's directories).
        tool += ("--no-git-ignore", "--no-rewrite-rule-ids", ".")
        # semgrep keeps settings and logs under HOME; its engine falls back to the Python
        # front end ("pysemgrep") by looking it up on PATH. The engine sets up its HTTP client
        # (never used with local rules and metrics off) at start and dies without a CA bundle;
        # the host's /etc is not in the sandbox, so it gets certifi's, inside the toolchain.
        env["HOME"] = str(work_dir)
        env["PATH"] = f"{toolchain / 'bin'}:/usr/bin:/bin"
        env["SEMGREP_SEND_METRICS"] = "off"
        env["SEMGREP_ENABLE_VERSION_CHECK"] = "0"
        bundles = sorted(toolchain.glob("lib/python3*/site-packages/certifi/cacert.pem"))
        if bundles:
            env["SSL_CERT_FILE"] = str(bundles[0])
    argv = (*enter, *tool)
    return RunRequest(argv=argv, work_dir=work_dir, read_only_binds=binds, env=env)


def run_scanner(
    sandbox: Sandbox,
    *,
    scanner: str,
    toolchain: Path,
    source: Path,
    work_dir: Path,
    rules: Path | None = None,
    timeout_s: float = 600,
) -> ScanOutput:
    """Run one scanner over the directory ``source`` in ``sandbox`` and return its SARIF.

    ``work_dir`` must exist and be reachable by the sandbox's uid; the SARIF file stays there.
    Raises :class:`ScannerToolchainMissingError` without a current toolchain, ``InputError``
    for an unknown scanner or a missing source or rules file, and :class:`ScannerFailedError`
    (with the scanner's stderr) when the scanner fails, times out or writes no valid SARIF.
    """
    request = scanner_request(
        scanner=scanner, toolchain=toolchain, source=source, work_dir=work_dir, rules=rules
    )
    toolchain_at(toolchain)
    if not source.is_dir():
        raise InputError(f"scan source {source} is not a directory")
    if scanner == "semgrep":
        config = rules if rules is not None else DEFAULT_RULES
        if not config.is_file():
            raise InputError(f"semgrep rules file {config} does not exist")
    output = _sarif_file(scanner, work_dir)
    output.unlink(missing_ok=True)  # a SARIF left by an earlier run must never pass for ours
    result = sandbox.run(request, scanner_limits(timeout_s))
    stderr_tail = result.stderr.decode("utf-8", "replace")[-_STDERR_TAIL_CHARS:]
    if result.timed_out:
        raise ScannerFailedError(f"{scanner} did not finish within {timeout_s:g} s")
    if not result.ok:
        ended = (
            f"exit status {result.exit_code}"
            if result.exit_code is not None
            else f"signal {result.signal}"
        )
        raise ScannerFailedError(f"{scanner} failed ({ended}): {stderr_tail.strip()}")
    try:
        sarif = output.read_bytes()
    except OSError as error:
        raise ScannerFailedError(
            f"{scanner} wrote no SARIF file ({error.strerror}): {stderr_tail.strip()}"
        ) from error
    _check_sarif(scanner, sarif)
    return ScanOutput(
        scanner=scanner,
        sarif=sarif,
        exit_code=result.exit_code,
        stderr_tail=stderr_tail,
        seconds=result.duration_s,
        isolation=result.isolation,
    )


def _check_sarif(scanner: str, sarif: bytes) -> None:
    """Just enough to know the scanner finished its log; intake validates it in full."""
    try:
        doc = orjson.loads(sarif)
    except orjson.JSONDecodeError as error:
        raise ScannerFailedError(f"{scanner} wrote invalid JSON as its SARIF: {error}") from None
    if not isinstance(doc, dict) or doc.get("version") != "2.1.0":
        raise ScannerFailedError(f"{scanner} wrote no SARIF 2.1.0 log (no version 2.1.0)")
    if not isinstance(doc.get("runs"), list):
        raise ScannerFailedError(f"{scanner} wrote a SARIF log without runs")
