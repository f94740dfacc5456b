"""The target manifest, ``clearinghouse-target.toml``: parse and check it into a frozen record.

A *target* is a directory (or a git checkout) that validation can build, run one input against
and test. Its root holds ``clearinghouse-target.toml``::

    name = "tlv-reader"            # [a-z0-9][a-z0-9._-]*, at most 64 characters
    language = "c"                 # "c" | "python"
    version = "1.0.0"              # free text, no whitespace, at most 64 characters
    description = "..."            # optional, at most 4000 characters

    [build]                        # required for "c", optional for "python"
    commands = [                   # argv lists run in order in a fresh copy of the target
      ["{cc}", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
       "-fno-omit-frame-pointer", "-g", "-O1", "-o", "harness", "harness.c", "src/tlv.c"],
    ]
    timeout_s = 600                # optional, per command (default 600, at most 3600)

    [harness]                      # runs ONE input file; a crash is a sanitizer report,
    command = ["./harness", "{input}"]   # or for Python an uncaught exception
    timeout_s = 30                 # optional (default 30, at most 600)

    [tests]                        # the functional tests: exit status 0 means they pass
    command = ["./test_tlv"]
    timeout_s = 300                # optional (default 300, at most 3600)

    [[proofs]]                     # optional: inputs known to crash the unpatched target
    file = "proofs/short-value.bin"
    expect = ["ERROR: AddressSanitizer: heap-buffer-overflow", "READ of size 1"]
    crash_type = "Heap-buffer-overflow READ 1"     # optional, the expected signature
    crash_state = ["tlv_scan", "main"]             # optional, at most 3 frames
    security = true                                # optional

    [[benign]]                     # optional: inputs the unpatched target handles cleanly
    file = "inputs/two-records.bin"

    [[patches]]                    # optional: candidate patches with their expected verdict
    file = "patches/fix-bounds-check.diff"         # unified diff, applies with patch -p1
    expect = "fixes"               # fixes | breaks_tests | does_not_apply | does_not_fix

Placeholders in commands are replaced by the runner, never by a shell (no shell is involved):
``{cc}`` (the C compiler, gcc or clang) and ``{python}`` (the interpreter) in build and test
commands, ``{python}`` and ``{input}`` (the input file, required) in the harness command. Any
other ``{...}`` is refused, so a typo cannot reach a compiler as a literal argument.

Every file named in the manifest is a relative POSIX path that stays inside the target
directory: absolute paths, ``..``, ``.``, empty components, backslashes and control characters
are refused, so a manifest cannot make the clearinghouse read or hand out anything outside the
target. Unknown keys are refused too (a misspelt ``timout_s`` must not silently fall back to
the default). Every refusal is a :class:`~clearinghouse.core.errors.SchemaError` whose JSON
pointer names the field (``/build/commands/0/3``, ``/proofs/1/file``).

This module only checks the text it is given: it does not read files, check that the named
files exist, build, run, or apply anything. That is validation's job, in the sandbox.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from clearinghouse.core.errors import DecodeError, SchemaError, TooLargeError

DOCUMENT = "clearinghouse-target.toml"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_COMMANDS = 32
MAX_ARGS = 256
MAX_ARG_CHARS = 4096
MAX_PATH_CHARS = 255
MAX_ENTRIES = 64
MAX_EXPECT = 16
MAX_EXPECT_CHARS = 256
MAX_CRASH_STATE = 3
MAX_DESCRIPTION_CHARS = 4000

DEFAULT_BUILD_TIMEOUT_S = 600.0
DEFAULT_HARNESS_TIMEOUT_S = 30.0
DEFAULT_TESTS_TIMEOUT_S = 300.0
MAX_BUILD_TIMEOUT_S = 3600.0
MAX_HARNESS_TIMEOUT_S = 600.0
MAX_TESTS_TIMEOUT_S = 3600.0

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_VERSION = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Argv = tuple[str, ...]


class Language(StrEnum):
    C = "c"
    PYTHON = "python"


class PatchVerdict(StrEnum):
    """What applying a patch to a fresh copy is expected to give (issue 3's verdicts)."""

    FIXES = "fixes"
    BREAKS_TESTS = "breaks_tests"
    DOES_NOT_APPLY = "does_not_apply"
    DOES_NOT_FIX = "does_not_fix"


@dataclass(frozen=True, slots=True)
class BuildSpec:
    commands: tuple[Argv, ...]
    timeout_s: float


@dataclass(frozen=True, slots=True)
class CommandSpec:
    argv: Argv
    timeout_s: float


@dataclass(frozen=True, slots=True)
class ProofSpec:
    """An input that crashes the unpatched target, with what its report is expected to say."""

    file: str
    expect: tuple[str, ...]
    crash_type: str | None = None
    crash_state: tuple[str, ...] = ()
    security: bool | None = None


@dataclass(frozen=True, slots=True)
class BenignSpec:
    file: str


@dataclass(frozen=True, slots=True)
class PatchSpec:
    file: str
    expect: PatchVerdict


@dataclass(frozen=True, slots=True)
class TargetManifest:
    name: str
    language: Language
    version: str
    description: str | None
    build: BuildSpec
    harness: CommandSpec
    tests: CommandSpec
    proofs: tuple[ProofSpec, ...] = ()
    benign: tuple[BenignSpec, ...] = ()
    patches: tuple[PatchSpec, ...] = ()

    def build_argvs(self, *, cc: str, python: str) -> tuple[Argv, ...]:
        return tuple(
            render_argv(argv, {"cc": cc, "python": python}) for argv in self.build.commands
        )

    def harness_argv(self, *, input_path: str, python: str) -> Argv:
        return render_argv(self.harness.argv, {"input": input_path, "python": python})

    def tests_argv(self, *, cc: str, python: str) -> Argv:
        return render_argv(self.tests.argv, {"cc": cc, "python": python})


def render_argv(argv: Sequence[str], values: Mapping[str, str]) -> Argv:
    """Replace ``{name}`` placeholders; a name missing from ``values`` is a caller bug."""
    return tuple(_PLACEHOLDER.sub(lambda m: values[m.group(1)], arg) for arg in argv)


def parse_manifest(text: str | bytes) -> TargetManifest:
    """Parse and check a manifest; raises DecodeError, TooLargeError or SchemaError."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_MANIFEST_BYTES:
        raise TooLargeError(f"{DOCUMENT} is {len(raw)} bytes; the limit is {MAX_MANIFEST_BYTES}")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DecodeError(f"{DOCUMENT} is not UTF-8: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise DecodeError(f"{DOCUMENT} is not valid TOML: {error}") from error
    return _manifest(doc)


# --- the checks, one per shape ---------------------------------------------------------------


def _fail(pointer: str, expected: str) -> SchemaError:
    return SchemaError(pointer, expected, document=DOCUMENT)


def _keys(
    table: object, pointer: str, *, required: set[str], optional: set[str]
) -> dict[str, object]:
    if not isinstance(table, dict):
        raise _fail(pointer, "a table")
    for key in table:
        if key not in required | optional:
            known = ", ".join(sorted(required | optional))
            raise _fail(f"{pointer}/{_escape(key)}", f"no such key (known keys: {known})")
    for key in sorted(required):
        if key not in table:
            raise _fail(f"{pointer}/{_escape(key)}", "a required key")
    return table


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _string(value: object, pointer: str, *, max_chars: int, what: str = "a string") -> str:
    if not isinstance(value, str) or not value:
        raise _fail(pointer, f"{what} (non-empty)")
    if len(value) > max_chars:
        raise _fail(pointer, f"{what} of at most {max_chars} characters (got {len(value)})")
    return value


def _list(value: object, pointer: str, *, max_items: int, min_items: int = 0) -> list[object]:
    if not isinstance(value, list):
        raise _fail(pointer, "an array")
    if not min_items <= len(value) <= max_items:
        raise _fail(pointer, f"an array of {min_items} to {max_items} items (got {len(value)})")
    return value


def _timeout(value: object, pointer: str, *, default: float, maximum: float) -> float:
    if value is None:
        return default
    # bool is an int in Python; "timeout_s = true" is a mistake, not one second.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(pointer, "a number of seconds")
    if not 0 < value <= maximum:
        raise _fail(pointer, f"a number of seconds above 0 and at most {maximum:g}")
    return float(value)


def _argv(
    value: object, pointer: str, *, allowed: frozenset[str], needs: str | None = None
) -> Argv:
    items = _list(value, pointer, max_items=MAX_ARGS, min_items=1)
    argv: list[str] = []
    for i, item in enumerate(items):
        at = f"{pointer}/{i}"
        arg = _string(item, at, max_chars=MAX_ARG_CHARS, what="an argument string")
        if _CONTROL.search(arg):
            raise _fail(at, "an argument without control characters")
        for name in _PLACEHOLDER.findall(arg):
            if name not in allowed:
                names = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
                raise _fail(at, f"only the placeholders {names} (got {{{name}}})")
        if "{" in _PLACEHOLDER.sub("", arg) or "}" in _PLACEHOLDER.sub("", arg):
            raise _fail(at, "balanced placeholder braces")
        argv.append(arg)
    if needs is not None and not any(f"{{{needs}}}" in arg for arg in argv):
        raise _fail(pointer, f"a command that passes the {{{needs}}} placeholder")
    return tuple(argv)


def _path(value: object, pointer: str) -> str:
    """Refuse anything that could name a file outside the target directory."""
    path = _string(value, pointer, max_chars=MAX_PATH_CHARS, what="a relative path")
    if _CONTROL.search(path) or "\\" in path:
        raise _fail(pointer, "a relative POSIX path without backslashes or control characters")
    if path.startswith("/"):
        raise _fail(pointer, "a path relative to the target directory (not absolute)")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise _fail(pointer, "a path inside the target directory (no '..', '.' or empty parts)")
    return path


def _manifest(doc: dict[str, object]) -> TargetManifest:
    top = _keys(
        doc,
        "",
        required={"name", "language", "version", "harness", "tests"},
        optional={"description", "build", "proofs", "benign", "patches"},
    )
    name = _string(top["name"], "/name", max_chars=64)
    if not _NAME.fullmatch(name):
        raise _fail(
            "/name", "lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    language_value = top["language"]
    if language_value not in {member.value for member in Language}:
        raise _fail("/language", 'one of "c", "python"')
    language = Language(str(language_value))
    version = _string(top["version"], "/version", max_chars=64)
    if not _VERSION.fullmatch(version):
        raise _fail("/version", "a version without whitespace or control characters")
    description = None
    if "description" in top:
        description = _string(top["description"], "/description", max_chars=MAX_DESCRIPTION_CHARS)

    build_tools = frozenset({"cc", "python"})
    if "build" not in top and language is Language.C:
        raise _fail("/build", 'a required table for language "c"')
    build_table = _keys(
        top.get("build", {"commands": []}), "/build", required={"commands"}, optional={"timeout_s"}
    )
    commands = _list(build_table["commands"], "/build/commands", max_items=MAX_COMMANDS)
    if language is Language.C and not commands:
        raise _fail("/build/commands", 'at least one command for language "c"')
    build = BuildSpec(
        commands=tuple(
            _argv(c, f"/build/commands/{i}", allowed=build_tools) for i, c in enumerate(commands)
        ),
        timeout_s=_timeout(
            build_table.get("timeout_s"),
            "/build/timeout_s",
            default=DEFAULT_BUILD_TIMEOUT_S,
            maximum=MAX_BUILD_TIMEOUT_S,
        ),
    )

    harness_table = _keys(top["harness"], "/harness", required={"command"}, optional={"timeout_s"})
    harness = CommandSpec(
        argv=_argv(
            harness_table["command"],
            "/harness/command",
            allowed=frozenset({"input", "python"}),
            needs="input",
        ),
        timeout_s=_timeout(
            harness_table.get("timeout_s"),
            "/harness/timeout_s",
            default=DEFAULT_HARNESS_TIMEOUT_S,
            maximum=MAX_HARNESS_TIMEOUT_S,
        ),
    )
    tests_table = _keys(top["tests"], "/tests", required={"command"}, optional={"timeout_s"})
    tests = CommandSpec(
        argv=_argv(tests_table["command"], "/tests/command", allowed=build_tools),
        timeout_s=_timeout(
            tests_table.get("timeout_s"),
            "/tests/timeout_s",
            default=DEFAULT_TESTS_TIMEOUT_S,
            maximum=MAX_TESTS_TIMEOUT_S,
        ),
    )

    proofs = tuple(_proof(p, f"/proofs/{i}") for i, p in enumerate(_entries(top, "proofs")))
    benign = tuple(_benign(b, f"/benign/{i}") for i, b in enumerate(_entries(top, "benign")))
    patches = tuple(_patch(p, f"/patches/{i}") for i, p in enumerate(_entries(top, "patches")))
    _no_duplicates(("proofs", [p.file for p in proofs]), ("benign", [b.file for b in benign]))
    _no_duplicates(("patches", [p.file for p in patches]))
    return TargetManifest(
        name=name,
        language=language,
        version=version,
        description=description,
        build=build,
        harness=harness,
        tests=tests,
        proofs=proofs,
        benign=benign,
        patches=patches,
    )


def _entries(top: dict[str, object], key: str) -> list[object]:
    return _list(top.get(key, []), f"/{key}", max_items=MAX_ENTRIES)


def _proof(value: object, pointer: str) -> ProofSpec:
    table = _keys(
        value,
        pointer,
        required={"file", "expect"},
        optional={"crash_type", "crash_state", "security"},
    )
    expect = _list(table["expect"], f"{pointer}/expect", max_items=MAX_EXPECT, min_items=1)
    state = _list(table.get("crash_state", []), f"{pointer}/crash_state", max_items=MAX_CRASH_STATE)
    security = table.get("security")
    if security is not None and not isinstance(security, bool):
        raise _fail(f"{pointer}/security", "true or false")
    crash_type = table.get("crash_type")
    return ProofSpec(
        file=_path(table["file"], f"{pointer}/file"),
        expect=tuple(
            _string(e, f"{pointer}/expect/{i}", max_chars=MAX_EXPECT_CHARS)
            for i, e in enumerate(expect)
        ),
        crash_type=None
        if crash_type is None
        else _string(crash_type, f"{pointer}/crash_type", max_chars=MAX_EXPECT_CHARS),
        crash_state=tuple(
            _string(f, f"{pointer}/crash_state/{i}", max_chars=MAX_EXPECT_CHARS)
            for i, f in enumerate(state)
        ),
        security=security,
    )


def _benign(value: object, pointer: str) -> BenignSpec:
    table = _keys(value, pointer, required={"file"}, optional=set())
    return BenignSpec(file=_path(table["file"], f"{pointer}/file"))


def _patch(value: object, pointer: str) -> PatchSpec:
    table = _keys(value, pointer, required={"file", "expect"}, optional=set())
    expect = table["expect"]
    if expect not in {member.value for member in PatchVerdict}:
        verdicts = ", ".join(member.value for member in PatchVerdict)
        raise _fail(f"{pointer}/expect", f"one of {verdicts}")
    return PatchSpec(file=_path(table["file"], f"{pointer}/file"), expect=PatchVerdict(str(expect)))


def _no_duplicates(*groups: tuple[str, list[str]]) -> None:
    """One file listed twice is almost always a copy-paste slip that hides a missing entry."""
    seen: set[str] = set()
    for key, files in groups:
        for i, file in enumerate(files):
            if file in seen:
                raise _fail(f"/{key}/{i}/file", f"a file not listed before (got {file!r} again)")
            seen.add(file)
