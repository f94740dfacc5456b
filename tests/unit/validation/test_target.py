"""The target manifest: what parses, what is refused and with which pointer."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from clearinghouse.core.errors import DecodeError, SchemaError, TooLargeError
from clearinghouse.validation.target import (
    DEFAULT_HARNESS_TIMEOUT_S,
    MAX_MANIFEST_BYTES,
    Language,
    PatchVerdict,
    parse_manifest,
    render_argv,
)

TARGETS = Path(str(resources.files("clearinghouse.validation") / "targets"))

MINIMAL_C = """
name = "demo"
language = "c"
version = "1.0"

[build]
commands = [["{cc}", "-fsanitize=address", "-o", "harness", "harness.c"]]

[harness]
command = ["./harness", "{input}"]

[tests]
command = ["./run-tests"]
"""

MINIMAL_PY = """
name = "demo-py"
language = "python"
version = "0.1.0"

[harness]
command = ["{python}", "harness.py", "{input}"]

[tests]
command = ["{python}", "run_tests.py"]
"""


def refusal(text: str) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        parse_manifest(text)
    return caught.value


def replace(old: str, new: str, text: str = MINIMAL_C) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_minimal_c_manifest_gets_defaults() -> None:
    manifest = parse_manifest(MINIMAL_C)
    assert manifest.name == "demo"
    assert manifest.language is Language.C
    assert manifest.build.commands == (
        ("{cc}", "-fsanitize=address", "-o", "harness", "harness.c"),
    )
    assert manifest.harness.timeout_s == DEFAULT_HARNESS_TIMEOUT_S
    assert manifest.description is None
    assert (manifest.proofs, manifest.benign, manifest.patches) == ((), (), ())


def test_python_manifest_needs_no_build() -> None:
    manifest = parse_manifest(MINIMAL_PY)
    assert manifest.language is Language.PYTHON
    assert manifest.build.commands == ()
    assert manifest.harness_argv(input_path="in.bin", python="/usr/bin/python3") == (
        "/usr/bin/python3",
        "harness.py",
        "in.bin",
    )


def test_full_manifest_round_trips_every_field() -> None:
    text = (
        MINIMAL_C
        + """
[[proofs]]
file = "proofs/crash.bin"
expect = ["heap-buffer-overflow", "READ of size 1"]
crash_type = "Heap-buffer-overflow READ 1"
crash_state = ["decode", "main"]
security = true

[[benign]]
file = "inputs/ok.bin"

[[patches]]
file = "patches/good.diff"
expect = "fixes"

[[patches]]
file = "patches/bad.diff"
expect = "does_not_apply"
"""
    ).replace("[harness]", "[harness]\ntimeout_s = 2.5")
    manifest = parse_manifest(text.encode())
    assert manifest.harness.timeout_s == 2.5
    (proof,) = manifest.proofs
    assert proof.file == "proofs/crash.bin"
    assert proof.expect == ("heap-buffer-overflow", "READ of size 1")
    assert proof.crash_state == ("decode", "main")
    assert proof.security is True
    assert [p.expect for p in manifest.patches] == [
        PatchVerdict.FIXES,
        PatchVerdict.DOES_NOT_APPLY,
    ]
    assert manifest.benign[0].file == "inputs/ok.bin"


def test_placeholders_are_rendered_per_command() -> None:
    manifest = parse_manifest(MINIMAL_C)
    assert manifest.build_argvs(cc="clang", python="python3")[0][0] == "clang"
    assert render_argv(["-I{python}", "x"], {"python": "py"}) == ("-Ipy", "x")


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        (replace('name = "demo"\n', ""), "/name"),
        (replace('version = "1.0"\n', ""), "/version"),
        (replace('language = "c"\n', ""), "/language"),
        (replace('[harness]\ncommand = ["./harness", "{input}"]\n', ""), "/harness"),
        (replace('[tests]\ncommand = ["./run-tests"]\n', ""), "/tests"),
        (replace("[build]\n", "[builds]\n"), "/builds"),
        (replace("[harness]\n", "[harness]\ntimout_s = 3\n"), "/harness/timout_s"),
        (replace('[tests]\ncommand = ["./run-tests"]', "[tests]\nargv = []"), "/tests/argv"),
    ],
)
def test_missing_and_unknown_keys_are_named(text: str, pointer: str) -> None:
    assert refusal(text).pointer == pointer


@pytest.mark.parametrize(
    ("old", "new", "pointer"),
    [
        ('name = "demo"', "name = 3", "/name"),
        ('name = "demo"', 'name = "Demo Target"', "/name"),
        ('name = "demo"', f'name = "{"x" * 65}"', "/name"),
        ('language = "c"', 'language = "rust"', "/language"),
        ('version = "1.0"', 'version = "1 0"', "/version"),
        ('version = "1.0"', 'version = ""', "/version"),
        ('version = "1.0"', 'version = "1.0"\ndescription = 7', "/description"),
        ("commands = [[", "commands = 5 #[[", "/build/commands"),
        ('"-o", "harness"', '"-o", 3', "/build/commands/0/3"),
        ('"-o", "harness"', '"-o", ""', "/build/commands/0/3"),
        ('"{cc}", "-fsanitize', '"{cxx}", "-fsanitize', "/build/commands/0/0"),
        ('"{cc}", "-fsanitize', '"{cc", "-fsanitize', "/build/commands/0/0"),
        ('"-o", "harness"', '"-o", "har\\u0000ness"', "/build/commands/0/3"),
        ('["./harness", "{input}"]', '["./harness"]', "/harness/command"),
        ('["./harness", "{input}"]', "[]", "/harness/command"),
        ('["./harness", "{input}"]', '["./harness", "{input}", "{cc}"]', "/harness/command/2"),
        ('["./run-tests"]', '["./run-tests", "{input}"]', "/tests/command/1"),
        ('["./run-tests"]', '"./run-tests"', "/tests/command"),
        ("[harness]\n", "[harness]\ntimeout_s = 0\n", "/harness/timeout_s"),
        ("[harness]\n", "[harness]\ntimeout_s = -1\n", "/harness/timeout_s"),
        ("[harness]\n", "[harness]\ntimeout_s = 601\n", "/harness/timeout_s"),
        ("[harness]\n", "[harness]\ntimeout_s = true\n", "/harness/timeout_s"),
        ("[harness]\n", '[harness]\ntimeout_s = "5"\n', "/harness/timeout_s"),
        ("[build]\n", "[build]\ntimeout_s = 3601\n", "/build/timeout_s"),
        ("[tests]\n", "[tests]\ntimeout_s = 1e9\n", "/tests/timeout_s"),
    ],
)
def test_wrong_types_and_values_are_named(old: str, new: str, pointer: str) -> None:
    assert refusal(replace(old, new)).pointer == pointer


def test_c_needs_build_commands() -> None:
    without_build = replace(
        '[build]\ncommands = [["{cc}", "-fsanitize=address", "-o", "harness", "harness.c"]]\n', ""
    )
    assert refusal(without_build).pointer == "/build"
    empty = replace(
        'commands = [["{cc}", "-fsanitize=address", "-o", "harness", "harness.c"]]', "commands = []"
    )
    assert refusal(empty).pointer == "/build/commands"


def test_too_many_build_commands_refused() -> None:
    many = "commands = [" + ", ".join(['["true"]'] * 33) + "]"
    text = replace(
        'commands = [["{cc}", "-fsanitize=address", "-o", "harness", "harness.c"]]', many
    )
    error = refusal(text)
    assert error.pointer == "/build/commands"
    assert "1 to 32" in error.expected or "0 to 32" in error.expected


def with_entry(entry: str) -> str:
    return MINIMAL_C + "\n" + entry


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../outside.bin", "inside"),
        ("proofs/../../etc/passwd", "inside"),
        ("/etc/passwd", "not absolute"),
        ("proofs//crash.bin", "inside"),
        ("./proofs/crash.bin", "inside"),
        ("proofs\\\\crash.bin", "backslash"),
        ("proofs/crash\\n.bin", "control"),
        ("", "non-empty"),
        ("p" * 256, "at most 255"),
    ],
)
def test_paths_outside_the_target_are_refused(path: str, why: str) -> None:
    error = refusal(with_entry(f'[[proofs]]\nfile = "{path}"\nexpect = ["SEGV"]\n'))
    assert error.pointer == "/proofs/0/file"
    assert why in error.expected
    assert "clearinghouse-target.toml at /proofs/0/file" in str(error)


@pytest.mark.parametrize("table", ["benign", "patches"])
def test_paths_are_checked_in_every_list(table: str) -> None:
    extra = '\nexpect = "fixes"' if table == "patches" else ""
    error = refusal(with_entry(f'[[{table}]]\nfile = "../x"{extra}\n'))
    assert error.pointer == f"/{table}/0/file"


@pytest.mark.parametrize(
    ("entry", "pointer"),
    [
        ('[[proofs]]\nfile = "p.bin"\n', "/proofs/0/expect"),
        ('[[proofs]]\nfile = "p.bin"\nexpect = []\n', "/proofs/0/expect"),
        ('[[proofs]]\nfile = "p.bin"\nexpect = [""]\n', "/proofs/0/expect/0"),
        ('[[proofs]]\nfile = "p.bin"\nexpect = ["x"]\nsecurity = "yes"\n', "/proofs/0/security"),
        (
            '[[proofs]]\nfile = "p.bin"\nexpect = ["x"]\ncrash_state = ["a", "b", "c", "d"]\n',
            "/proofs/0/crash_state",
        ),
        ('[[proofs]]\nfile = "p.bin"\nexpect = ["x"]\ncrash_type = 1\n', "/proofs/0/crash_type"),
        ('[[proofs]]\nfile = "p.bin"\nexpect = ["x"]\nseverity = "high"\n', "/proofs/0/severity"),
        ('[[benign]]\nfile = "p.bin"\nexpect = ["x"]\n', "/benign/0/expect"),
        ('[[patches]]\nfile = "fix.diff"\n', "/patches/0/expect"),
        ('[[patches]]\nfile = "fix.diff"\nexpect = "fixed"\n', "/patches/0/expect"),
        ('proofs = "p.bin"\n', "/proofs"),
        ("proofs = [1]\n", "/proofs/0"),
    ],
)
def test_entry_refusals_are_named(entry: str, pointer: str) -> None:
    # A top-level key must come before the first table.
    text = with_entry(entry) if entry.startswith("[[") else entry + MINIMAL_C
    assert refusal(text).pointer == pointer


def test_duplicate_files_are_refused() -> None:
    text = with_entry(
        '[[proofs]]\nfile = "a.bin"\nexpect = ["x"]\n\n[[benign]]\nfile = "b.bin"\n'
        '\n[[benign]]\nfile = "a.bin"\n'
    )
    assert refusal(text).pointer == "/benign/1/file"
    patches = with_entry(
        '[[patches]]\nfile = "a.diff"\nexpect = "fixes"\n'
        '\n[[patches]]\nfile = "a.diff"\nexpect = "does_not_fix"\n'
    )
    assert refusal(patches).pointer == "/patches/1/file"


def test_syntax_encoding_and_size_errors() -> None:
    with pytest.raises(DecodeError, match="not valid TOML"):
        parse_manifest('name = "unterminated')
    with pytest.raises(DecodeError, match="not UTF-8"):
        parse_manifest(b'name = "\xff"')
    with pytest.raises(TooLargeError):
        parse_manifest("#" * (MAX_MANIFEST_BYTES + 1))


def test_schema_error_message_names_document_and_field() -> None:
    error = refusal(replace('language = "c"', 'language = "cobol"'))
    assert str(error) == 'clearinghouse-target.toml at /language: one of "c", "python"'
    assert error.status == 422


SHIPPED = sorted(TARGETS.glob("*/clearinghouse-target.toml"))


def test_at_least_eight_example_targets_ship() -> None:
    assert len(SHIPPED) >= 8


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_shipped_manifests_parse_and_name_existing_files(path: Path) -> None:
    manifest = parse_manifest(path.read_bytes())
    root = path.parent
    assert manifest.proofs, "every example ships at least one proof"
    assert manifest.benign, "every example ships at least one benign input"
    verdicts = {patch.expect for patch in manifest.patches}
    assert {PatchVerdict.FIXES, PatchVerdict.BREAKS_TESTS, PatchVerdict.DOES_NOT_APPLY} <= verdicts
    named = [p.file for p in manifest.proofs] + [b.file for b in manifest.benign]
    for file in named + [p.file for p in manifest.patches]:
        assert (root / file).is_file(), file
        assert (root / file).resolve().is_relative_to(root.resolve())
    for proof in manifest.proofs:
        assert proof.crash_type
        assert proof.crash_state
        assert proof.security is not None
