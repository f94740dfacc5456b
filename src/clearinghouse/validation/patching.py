"""Validate a candidate patch: apply it to a fresh copy of a target, rebuild, rerun the proofs
and the functional tests in the sandbox, and decide a verdict with its evidence.

Applying: the diff is bounded (:data:`MAX_DIFF_BYTES`) and every path it names is checked first
(:func:`check_diff_paths`: no absolute paths, no ``..``, no git symlink or rename headers), so
a diff cannot reach outside the copy; then ``patch -p1 --dry-run`` must succeed before the real
``patch -p1`` runs. ``patch`` runs on the host (it is a trusted tool given a checked diff and a
copy holding only regular files); everything the target itself does (build, proofs, tests)
runs in the sandbox.

Building: the patched copy is built through the same :class:`~.reproduce.BuildCache`, keyed
by the *patched* tree's digest (``snapshot.tree_digest``), so a patched build can never be
served from, or pollute, the unpatched build's cache entry.

The verdict (:func:`decide_patch`, pure), in this order: ``does_not_apply`` when the dry run
fails; ``build_failed`` when a build command fails; ``does_not_fix`` when any run of any proof
still crashes (a fix must stop every run, since one crash in N is still a vulnerability);
``breaks_tests`` when the functional tests do not exit 0; ``fixes`` otherwise.

It does not touch the database, choose which proofs to run, or judge whether a patch is
*good* beyond these checks: the pipeline stores and audits the result.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from clearinghouse.core.errors import ClearinghouseError, InputError, TooLargeError
from clearinghouse.validation.crash import CrashReport, cap_log
from clearinghouse.validation.reproduce import SANITIZER_ENV, Reproducer
from clearinghouse.validation.sandbox import RunRequest
from clearinghouse.validation.sandbox.base import SandboxError
from clearinghouse.validation.snapshot import scan, tree_digest
from clearinghouse.validation.target import Language, TargetManifest

MAX_DIFF_BYTES: Final = 1024 * 1024
MAX_EVIDENCE_CHARS: Final = 16 * 1024
"""Kept per piece of evidence (patch output, build log, test output)."""
PATCH_TIMEOUT_S: Final = 30.0
_PATCH_PATH = re.compile(rb"^(?:---|\+\+\+) ([^\t\n]+)", re.MULTILINE)
_GIT_HEADER = re.compile(
    rb"^(?:rename from|rename to|copy from|copy to|(?:new|deleted) file mode 120000"
    rb"|new mode 120000|old mode 120000|GIT binary patch)",
    re.MULTILINE,
)


class PatchValidationVerdict(StrEnum):
    FIXES = "fixes"
    DOES_NOT_FIX = "does_not_fix"
    BREAKS_TESTS = "breaks_tests"
    DOES_NOT_APPLY = "does_not_apply"
    BUILD_FAILED = "build_failed"


@dataclass(frozen=True, slots=True)
class ProofEvidence:
    """One proof's runs against the patched build: crashed or not, and as what."""

    label: str
    runs: tuple[CrashReport | None, ...]

    @property
    def crashes(self) -> int:
        return sum(1 for report in self.runs if report is not None)

    def as_json(self) -> dict[str, object]:
        return {
            "proof": self.label,
            "runs": len(self.runs),
            "crashes": self.crashes,
            "crash_types": [report.crash_type if report else None for report in self.runs],
        }


@dataclass(frozen=True, slots=True)
class PatchOutcome:
    verdict: PatchValidationVerdict
    applied: bool
    patch_log: str
    patched_digest: str | None = None
    build_ok: bool | None = None
    build_log: str = ""
    proofs: tuple[ProofEvidence, ...] = ()
    tests_exit_code: int | None = None
    tests_output: str = ""
    isolation: str = ""
    error: str | None = None

    def evidence(self) -> dict[str, object]:
        return {
            "applied": self.applied,
            "patch_log": self.patch_log,
            "patched_digest": self.patched_digest,
            "build_ok": self.build_ok,
            "build_log": self.build_log,
            "proofs": [proof.as_json() for proof in self.proofs],
            "tests_exit_code": self.tests_exit_code,
            "tests_output": self.tests_output,
            "isolation": self.isolation,
            "error": self.error,
        }


def decide_patch(
    *,
    applied: bool,
    build_ok: bool,
    proof_runs: Sequence[Sequence[CrashReport | None]],
    tests_passed: bool,
) -> PatchValidationVerdict:
    """The verdict from what happened (see the module docstring for the order and why)."""
    if not applied:
        return PatchValidationVerdict.DOES_NOT_APPLY
    if not build_ok:
        return PatchValidationVerdict.BUILD_FAILED
    if any(report is not None for runs in proof_runs for report in runs):
        return PatchValidationVerdict.DOES_NOT_FIX
    if not tests_passed:
        return PatchValidationVerdict.BREAKS_TESTS
    return PatchValidationVerdict.FIXES


def check_diff_paths(diff: bytes) -> list[str]:
    """The paths a unified diff names (after ``-p1``); refuses any that could leave the copy."""
    if len(diff) > MAX_DIFF_BYTES:
        raise TooLargeError(f"the diff is {len(diff)} bytes; the limit is {MAX_DIFF_BYTES}")
    if b"\0" in diff:
        raise InputError("the diff contains NUL bytes; only text diffs are accepted")
    if _GIT_HEADER.search(diff):
        raise InputError("the diff renames, copies, makes symlinks or is binary; refused")
    paths: list[str] = []
    for found in _PATCH_PATH.finditer(diff):
        raw = found.group(1).decode("utf-8", "replace").strip()
        if raw == "/dev/null":
            continue
        if raw.startswith("/") or "\\" in raw:
            raise InputError(f"the diff names {raw!r}: only relative paths (patch -p1)")
        parts = raw.split("/")[1:]
        if not parts or any(part in ("", ".", "..") for part in parts):
            raise InputError(f"the diff names {raw!r}, which would leave the target copy")
        paths.append("/".join(parts))
    if not paths:
        raise InputError("the diff names no file: not a unified diff")
    return paths


class PatchToolMissingError(ClearinghouseError):
    """The host has no ``patch`` program: a configuration problem, not the patch's fault."""

    status = 503
    title = "Patch tool unavailable"
    type_slug = "patch-tool-unavailable"


def require_patch_tool() -> None:
    if shutil.which("patch") is None:
        raise PatchToolMissingError(
            "the 'patch' program is not installed here (Debian package 'patch'), "
            "so patches cannot be validated on this machine"
        )


def _patch(diff_file: Path, copy: Path, *, dry_run: bool) -> subprocess.CompletedProcess[str]:
    argv = [
        "patch",
        "-p1",
        "--batch",
        "--forward",
        "--no-backup-if-mismatch",
        "--reject-file=-",
        "-d",
        str(copy),
        "-i",
        str(diff_file),
    ]
    if dry_run:
        argv.insert(1, "--dry-run")
    # A fixed argv and a checked diff, no shell.
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=PATCH_TIMEOUT_S, check=False
    )


def _capped(text: str) -> str:
    return cap_log(text, max_chars=MAX_EVIDENCE_CHARS)


class PatchValidator:
    """Applies, builds and runs through a :class:`Reproducer`'s sandbox, cache and scratch."""

    def __init__(self, reproducer: Reproducer) -> None:
        self.reproducer = reproducer

    def validate(
        self,
        *,
        manifest: TargetManifest,
        source: Path,
        diff: bytes,
        proofs: Sequence[tuple[str, bytes]],
        repetitions: int,
        max_target_bytes: int,
    ) -> PatchOutcome:
        """Apply ``diff`` to a fresh copy of ``source`` and judge it; see the module docstring.

        Raises InputError or TooLargeError for a diff refused before it is applied, and
        PatchToolMissingError when this host cannot apply diffs at all.
        """
        check_diff_paths(diff)
        require_patch_tool()
        rep = self.reproducer
        rep.work_root.mkdir(parents=True, exist_ok=True)
        rep.work_root.chmod(0o755)
        scratch = Path(tempfile.mkdtemp(prefix="patch-", dir=rep.work_root))
        try:
            copy = scratch / "tree"
            shutil.copytree(source, copy, symlinks=True)
            diff_file = scratch / "candidate.diff"
            diff_file.write_bytes(diff)
            dry = _patch(diff_file, copy, dry_run=True)
            if dry.returncode != 0:
                return PatchOutcome(
                    verdict=PatchValidationVerdict.DOES_NOT_APPLY,
                    applied=False,
                    patch_log=_capped(dry.stdout + dry.stderr),
                )
            real = _patch(diff_file, copy, dry_run=False)
            if real.returncode != 0:  # pragma: no cover - the dry run said it applies
                return PatchOutcome(
                    verdict=PatchValidationVerdict.DOES_NOT_APPLY,
                    applied=False,
                    patch_log=_capped(real.stdout + real.stderr),
                )
            digest = tree_digest(scan(copy, max_bytes=max_target_bytes))
            return self._judge(
                manifest=manifest,
                copy=copy,
                digest=digest,
                patch_log=_capped(real.stdout + real.stderr),
                proofs=proofs,
                repetitions=repetitions,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _judge(
        self,
        *,
        manifest: TargetManifest,
        copy: Path,
        digest: str,
        patch_log: str,
        proofs: Sequence[tuple[str, bytes]],
        repetitions: int,
    ) -> PatchOutcome:
        rep = self.reproducer
        isolation = rep.sandbox.isolation
        try:
            build = rep.builds.build(
                manifest=manifest,
                source=copy,
                digest=digest,
                config=rep.config,
                sandbox=rep.sandbox,
            )
            if not build.ok or build.path is None:
                return PatchOutcome(
                    verdict=PatchValidationVerdict.BUILD_FAILED,
                    applied=True,
                    patch_log=patch_log,
                    patched_digest=digest,
                    build_ok=False,
                    build_log=_capped(build.log),
                    isolation=isolation,
                )
            evidence = tuple(
                ProofEvidence(
                    label=label,
                    runs=tuple(
                        rep.run_input(manifest, build.path, proof)[0] for _ in range(repetitions)
                    ),
                )
                for label, proof in proofs
            )
            tests_exit, tests_output = self._tests(manifest, build.path)
        except (SandboxError, OSError) as error:
            raise RuntimeError(f"the sandbox could not run: {error}") from error
        verdict = decide_patch(
            applied=True,
            build_ok=True,
            proof_runs=[proof.runs for proof in evidence],
            tests_passed=tests_exit == 0,
        )
        return PatchOutcome(
            verdict=verdict,
            applied=True,
            patch_log=patch_log,
            patched_digest=digest,
            build_ok=True,
            build_log=_capped(build.log),
            proofs=evidence,
            tests_exit_code=tests_exit,
            tests_output=tests_output,
            isolation=isolation,
        )

    def _tests(self, manifest: TargetManifest, build: Path) -> tuple[int | None, str]:
        rep = self.reproducer
        with rep.scratch(build) as work:
            limits = dataclasses.replace(
                rep.config.limits,
                wall_clock_s=manifest.tests.timeout_s,
                cpu_s=math.ceil(manifest.tests.timeout_s),
            )
            asan = manifest.language is Language.C
            argv = manifest.tests_argv(cc=rep.config.compiler, python=rep.config.python)
            request = RunRequest(
                argv=argv, work_dir=work, env=SANITIZER_ENV if asan else {}, asan=asan
            )
            result = rep.sandbox.run(request, limits)
        output = (result.stdout + b"\n" + result.stderr).decode("utf-8", "replace")
        if result.timed_out:
            output += "\n[clearinghouse: tests timed out]"
        exit_code = result.exit_code if result.killed_reason is None else None
        return exit_code, _capped(output)
