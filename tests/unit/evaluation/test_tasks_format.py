"""The suite and task format: strict loading, the model's workspace, prompts that give nothing
away, and a content hash that changes with any byte and with nothing else.

Nothing here builds or runs a target (``tests/integration/evaluation`` does); these read the
packaged starter suite and small suites written into a temporary directory.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from clearinghouse.core.errors import ConflictError, DecodeError, InputError, SchemaError
from clearinghouse.evaluation import tasks as tasks_module
from clearinghouse.evaluation.tasks import (
    BUILD_FILE,
    DECISIVE_BY_DEFAULT,
    DIFFICULTIES,
    PROOF_FILE,
    Family,
    Suite,
    build_instructions,
    copy_workspace,
    knowledge_choices,
    load_suite,
    protected_paths,
    read_reference,
    starter_suite_dir,
    validation_targets_dir,
)
from clearinghouse.validation.crash import crash_base
from clearinghouse.validation.target import DOCUMENT as TARGET_DOCUMENT
from clearinghouse.validation.target import parse_manifest

STARTER = load_suite(starter_suite_dir())


def plain(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


# --- the starter suite ------------------------------------------------------------------------


def test_the_starter_suite_is_broad_enough() -> None:
    assert STARTER.name == "starter"
    assert not STARTER.confidential
    assert len(STARTER.tasks) >= 20
    assert {task.family for task in STARTER.tasks} == set(Family)
    counts = {family: sum(t.family is family for t in STARTER.tasks) for family in Family}
    assert counts[Family.PROVE] >= 8
    assert counts[Family.PATCH] >= 4
    assert counts[Family.DISCOVER] >= 3
    assert counts[Family.CTF] >= 3
    assert counts[Family.KNOWLEDGE] >= 3
    assert len({task.difficulty for task in STARTER.tasks}) >= 3
    assert all(task.difficulty in DIFFICULTIES for task in STARTER.tasks)
    assert len({task.id for task in STARTER.tasks}) == len(STARTER.tasks)
    assert STARTER.content_hash.startswith("sha256:")
    assert Family.KNOWLEDGE not in DECISIVE_BY_DEFAULT


def test_the_suite_readme_lists_every_task() -> None:
    readme = (starter_suite_dir() / "README.md").read_text()
    listed = re.findall(r"^\| `([a-z0-9.-]+)` \| (\w+) \|", readme, re.MULTILINE)
    assert listed == [(task.id, task.family.value) for task in STARTER.tasks]


def test_every_example_target_has_a_prove_task() -> None:
    proved = {t.target_dir.name for t in STARTER.tasks if t.family is Family.PROVE and t.target_dir}
    examples = {
        "c-heap-overflow-read",
        "c-heap-overflow-write",
        "c-stack-overflow",
        "c-use-after-free",
        "c-double-free",
        "c-null-deref",
        "c-signed-overflow",
        "python-uncaught-exception",
    }
    assert examples <= proved
    new = {p.name for p in (starter_suite_dir() / "targets").iterdir()}
    assert len(new) >= 2
    assert new <= proved
    for name in new:  # complete validation targets
        manifest = parse_manifest(
            (starter_suite_dir() / "targets" / name / TARGET_DOCUMENT).read_text()
        )
        assert manifest.proofs
        assert any(p.expect.value == "fixes" for p in manifest.patches)


def test_answer_kinds_follow_the_family() -> None:
    for task in STARTER.tasks:
        text = task.family in (Family.CTF, Family.KNOWLEDGE)
        assert task.answer_kind == ("text" if text else "file")
        assert (task.target_dir is None) == text


def test_the_workspace_holds_no_answers() -> None:
    for task in STARTER.tasks:
        if task.target_dir is None:
            continue
        manifest = parse_manifest((task.target_dir / TARGET_DOCUMENT).read_bytes())
        hidden = {p.file for p in manifest.proofs} | {p.file for p in manifest.patches}
        assert TARGET_DOCUMENT not in task.workspace
        assert not hidden & set(task.workspace)
        assert not [p for p in task.workspace if p.split("/")[0] in ("proofs", "patches")]
        assert BUILD_FILE in task.workspace
        assert (PROOF_FILE in task.workspace) == (task.family is Family.PATCH)
        assert task.reference not in task.workspace


@pytest.mark.parametrize("task_id", ["patch-frame-header", "discover-vars", "ctf-note-admin"])
def test_copy_workspace_writes_exactly_the_workspace(tmp_path: Path, task_id: str) -> None:
    task = STARTER.task(task_id)
    dest = tmp_path / "ws"
    copy_workspace(task, dest)
    written = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert written == sorted(task.workspace)
    assert oct(dest.stat().st_mode & 0o777) == "0o755"
    if task.target_dir is not None:
        text = (dest / BUILD_FILE).read_text()
        assert "{" not in text
        assert "./harness INPUT" in text
        manifest = parse_manifest((task.target_dir / TARGET_DOCUMENT).read_bytes())
        assert text == build_instructions(manifest)
        assert manifest.description is None or manifest.description not in text
    if task.family is Family.PATCH:
        assert task.target_dir is not None
        proof = task.target_dir / manifest.proofs[0].file
        assert (dest / PROOF_FILE).read_bytes() == proof.read_bytes()
    with pytest.raises(ConflictError):
        copy_workspace(task, dest)  # not into a directory that already holds files


def test_prompts_give_nothing_away() -> None:
    for task in STARTER.tasks:
        assert task.prompt.strip()
        if task.target_dir is not None:
            manifest = parse_manifest((task.target_dir / TARGET_DOCUMENT).read_bytes())
            for proof in manifest.proofs:
                assert proof.crash_type is not None
                assert plain(crash_base(proof.crash_type)) not in plain(task.prompt), task.id
            if task.family is Family.DISCOVER:
                assert manifest.description is not None
                for clause in re.split(r"[.;:]", manifest.description):
                    if len(clause.strip()) >= 20:
                        assert plain(clause) not in plain(task.prompt), (task.id, clause)
        if task.family is Family.CTF:
            assert read_reference(task).decode().strip() not in task.prompt
            assert "CH{...}" in task.prompt
        if task.family is Family.KNOWLEDGE:
            assert task.grading["choice"] in knowledge_choices(task.prompt)


def test_prompts_say_what_to_submit() -> None:
    says = {
        Family.PROVE: "Submit one input file",
        Family.DISCOVER: "submit one input file",
        Family.PATCH: "Submit a unified diff",
        Family.CTF: "Submit the flag",
        Family.KNOWLEDGE: "Answer with the letter",
    }
    for task in STARTER.tasks:
        assert says[task.family] in task.prompt, task.id
        if task.workspace:
            assert "Workspace: " in task.prompt


def test_patch_tasks_protect_the_harness_and_tests_and_say_so() -> None:
    for task in STARTER.tasks:
        if task.family is not Family.PATCH:
            continue
        protected = task.grading["protected"]
        assert isinstance(protected, tuple)
        assert protected
        assert f"A diff that changes any of these is refused: {', '.join(protected)}." in (
            task.prompt
        )
        assert protected_paths(task, ["src/x.c", "harness.c", "tests/test_x.c", "harness.py"])
        assert not protected_paths(task, ["src/x.c", "chunks.py"])


def test_ctf_flags_are_stored_only_as_hashes() -> None:
    for task in STARTER.tasks:
        if task.family is not Family.CTF:
            continue
        flag = read_reference(task).decode().strip()
        assert re.fullmatch(r"CH\{[^{}\s]+\}", flag)
        assert hashlib.sha256(flag.encode()).hexdigest() == task.grading["flag_sha256"]
        assert flag not in (task.directory / "task.toml").read_text()


# --- the content hash -------------------------------------------------------------------------


def copy_starter(tmp_path: Path) -> Path:
    dest = tmp_path / "starter"
    shutil.copytree(starter_suite_dir(), dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_the_content_hash_does_not_depend_on_where_the_suite_lies(tmp_path: Path) -> None:
    assert load_suite(starter_suite_dir()).content_hash == STARTER.content_hash
    assert load_suite(copy_starter(tmp_path)).content_hash == STARTER.content_hash


def test_one_byte_of_a_suite_target_changes_the_content_hash(tmp_path: Path) -> None:
    copy = copy_starter(tmp_path)
    source = copy / "targets" / "c-global-overflow" / "src" / "pal.c"
    source.write_bytes(source.read_bytes().replace(b"1000u", b"1001u", 1))
    assert load_suite(copy).content_hash != STARTER.content_hash


def test_one_byte_of_a_validation_target_changes_the_content_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = tmp_path / "validation-targets"
    shutil.copytree(validation_targets_dir(), targets, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(tasks_module, "validation_targets_dir", lambda: targets)
    assert load_suite(starter_suite_dir()).content_hash == STARTER.content_hash
    proof = targets / "c-heap-overflow-read" / "proofs" / "short-value.bin"
    proof.write_bytes(proof.read_bytes() + b"\0")
    assert load_suite(starter_suite_dir()).content_hash != STARTER.content_hash


def test_a_renamed_file_changes_the_content_hash(tmp_path: Path) -> None:
    copy = copy_starter(tmp_path)
    ws = copy / "tasks" / "ctf-xor-vault" / "reference"
    (ws / "key.txt").rename(ws / "key.hex")
    assert load_suite(copy).content_hash != STARTER.content_hash


# --- strict loading ---------------------------------------------------------------------------

KNOWLEDGE_TASK = """\
id = "knowledge-one"
family = "knowledge"
version = "1"
difficulty = "easy"
human_minutes = 2
title = "One question"
reference = "reference/answer.txt"
prompt = \"\"\"
Which is right?

A) this
B) that
\"\"\"

[grading]
choice = "B"
"""

Edit = Callable[[str], str]


def write_suite(
    root: Path, task_text: str = KNOWLEDGE_TASK, *, task_id: str = "knowledge-one"
) -> Path:
    task_dir = root / "tasks" / task_id
    (task_dir / "reference").mkdir(parents=True)
    (task_dir / "reference" / "answer.txt").write_text("B\n")
    (task_dir / "notes.txt").write_text("notes\n")
    (task_dir / "task.toml").write_text(task_text)
    (root / "suite.toml").write_text(
        'name = "mini"\nversion = "1"\ndescription = "d"\nconfidential = true\n'
        f'tasks = ["{task_id}"]\n'
    )
    return root


def schema_error(root: Path) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        load_suite(root)
    return caught.value


def test_a_small_suite_loads(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path / "mini"))
    assert isinstance(suite, Suite)
    assert suite.confidential
    (task,) = suite.tasks
    assert task.grading == {"choice": "B"}
    assert task.workspace == ()
    assert task.prompt.endswith(
        "Answer with the letter of the one correct choice and nothing else."
    )
    with pytest.raises(TypeError):
        task.grading["choice"] = "A"  # type: ignore[index]


@pytest.mark.parametrize(
    ("edit", "pointer"),
    [
        (lambda t: t + 'colour = "red"\n', "/grading/colour"),
        (lambda t: 'colour = "red"\n' + t, "/colour"),
        (lambda t: t.replace('family = "knowledge"', 'family = "trivia"'), "/family"),
        (lambda t: t.replace('id = "knowledge-one"', 'id = "knowledge-two"'), "/id"),
        (lambda t: t.replace('difficulty = "easy"', 'difficulty = "trivial"'), "/difficulty"),
        (lambda t: t.replace("human_minutes = 2", "human_minutes = true"), "/human_minutes"),
        (lambda t: t.replace("human_minutes = 2", "human_minutes = 0"), "/human_minutes"),
        (lambda t: t.replace('version = "1"', 'version = "1 beta"'), "/version"),
        (lambda t: t.replace('title = "One question"', 'title = ""'), "/title"),
        (lambda t: t.replace("reference/answer.txt", "../answer.txt"), "/reference"),
        (lambda t: t.replace("reference/answer.txt", "/etc/passwd"), "/reference"),
        (lambda t: t.replace("reference/answer.txt", "reference/missing.txt"), "/reference"),
        (lambda t: t.replace('choice = "B"', 'choice = "Z"'), "/grading/choice"),
        (lambda t: t.replace('choice = "B"', 'choice = "C"'), "/prompt"),
        (lambda t: t.replace('[grading]\nchoice = "B"\n', ""), "/grading/choice"),
        (lambda t: 'workspace = ["../secret"]\n' + t, "/workspace/0"),
        (lambda t: 'workspace = ["reference"]\n' + t, "/workspace/0"),
        (lambda t: 'workspace = ["task.toml"]\n' + t, "/workspace/0"),
        (lambda t: 'workspace = ["nowhere.txt"]\n' + t, "/workspace/0"),
        (lambda t: 'workspace = ["notes.txt", "notes.txt"]\n' + t, "/workspace/1"),
        (lambda t: 'target = "validation:c-null-deref"\n' + t, "/target"),
        ("x" * 70_000, None),
    ],
)
def test_a_bad_task_is_refused_with_a_pointer(
    tmp_path: Path, edit: Edit | str, pointer: str | None
) -> None:
    text = edit if isinstance(edit, str) else edit(KNOWLEDGE_TASK)
    root = write_suite(tmp_path / "mini", text)
    if pointer is None:
        with pytest.raises(InputError, match="limit"):
            load_suite(root)
        return
    error = schema_error(root)
    assert error.pointer == pointer, error
    assert str(error).startswith("mini/tasks/knowledge-one/task.toml at ")


def test_a_task_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match=r"mini/tasks/knowledge-one/task.toml is not valid TOML"):
        load_suite(write_suite(tmp_path / "mini", "id = \n"))


def test_the_suite_document_is_checked(tmp_path: Path) -> None:
    root = write_suite(tmp_path / "mini")
    suite_toml = root / "suite.toml"
    good = suite_toml.read_text()

    suite_toml.write_text(
        good.replace('tasks = ["knowledge-one"]', 'tasks = ["knowledge-one", "gone"]')
    )
    error = schema_error(root)
    assert (error.pointer, str(error).split(" at ")[0]) == ("/tasks/1", "mini/suite.toml")

    suite_toml.write_text(
        good.replace('tasks = ["knowledge-one"]', 'tasks = ["knowledge-one", "knowledge-one"]')
    )
    assert schema_error(root).pointer == "/tasks/1"

    suite_toml.write_text(good.replace("confidential = true\n", ""))
    assert schema_error(root).pointer == "/confidential"

    suite_toml.write_text(good)
    (root / "tasks" / "forgotten").mkdir()
    assert schema_error(root).pointer == "/tasks"


def test_links_are_refused(tmp_path: Path) -> None:
    root = write_suite(tmp_path / "mini")
    (root / "tasks" / "knowledge-one" / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(InputError, match="symbolic link"):
        load_suite(root)


# --- tasks with targets -----------------------------------------------------------------------

PROVE_TASK = """\
id = "prove-one"
family = "prove"
version = "1"
difficulty = "easy"
human_minutes = 10
title = "Prove it"
target = "{target}"
reference = "reference/proof.bin"
prompt = "{prompt}"

[grading]
crash_type = "Heap-buffer-overflow READ 1"
"""


def prove_suite(
    root: Path, *, target: str = "target", prompt: str = "Crash the reader.", family: str = "prove"
) -> Path:
    text = PROVE_TASK.format(target=target, prompt=prompt)
    if family != "prove":
        text = text.replace('family = "prove"', f'family = "{family}"').split("[grading]")[0]
    write_suite(root, text, task_id="prove-one")
    task_dir = root / "tasks" / "prove-one"
    shutil.copytree(validation_targets_dir() / "c-heap-overflow-read", task_dir / "target")
    (task_dir / "reference" / "proof.bin").write_bytes(b"\x07\x00\x40AB")
    return root


def test_a_target_inside_the_task_is_handed_out_without_its_answers(tmp_path: Path) -> None:
    suite = load_suite(prove_suite(tmp_path / "mini"))
    (task,) = suite.tasks
    assert task.target_dir == tmp_path / "mini" / "tasks" / "prove-one" / "target"
    assert "src/tlv.c" in task.workspace
    assert not [p for p in task.workspace if p.startswith(("target", "proofs", "patches"))]
    dest = tmp_path / "ws"
    copy_workspace(task, dest)
    assert (dest / "src" / "tlv.c").read_bytes() == (task.target_dir / "src" / "tlv.c").read_bytes()
    assert not (dest / TARGET_DOCUMENT).exists()


@pytest.mark.parametrize(
    ("kwargs", "pointer"),
    [
        ({"prompt": "Make a heap buffer overflow happen."}, "/prompt"),
        ({"prompt": "Cause a Heap-buffer-overflow."}, "/prompt"),
        ({"target": "../elsewhere"}, "/target"),
        ({"target": "validation:no-such-target"}, "/target"),
        ({"target": "suite:missing"}, "/target"),
        ({"target": "validation:../../etc"}, "/target"),
        (
            {
                "family": "discover",
                "prompt": "It reads a record's value using the length from its header.",
            },
            "/prompt",
        ),
    ],
)
def test_a_bad_target_task_is_refused_with_a_pointer(
    tmp_path: Path, kwargs: dict[str, str], pointer: str
) -> None:
    error = schema_error(prove_suite(tmp_path / "mini", **kwargs))
    assert error.pointer == pointer, error


def test_a_workspace_entry_may_not_reach_into_the_tasks_own_target(tmp_path: Path) -> None:
    root = prove_suite(tmp_path / "mini")
    task_toml = root / "tasks" / "prove-one" / "task.toml"
    task_toml.write_text('workspace = ["target/proofs"]\n' + task_toml.read_text())
    assert schema_error(root).pointer == "/workspace/0"


def test_a_protected_path_must_be_in_the_workspace(tmp_path: Path) -> None:
    root = prove_suite(tmp_path / "mini", family="patch", prompt="Fix it.")
    task_toml = root / "tasks" / "prove-one" / "task.toml"
    task_toml.write_text(task_toml.read_text() + '[grading]\nprotected = ["tests", "harnes.c"]\n')
    assert schema_error(root).pointer == "/grading/protected/1"


def test_a_discover_task_needs_no_grading(tmp_path: Path) -> None:
    suite = load_suite(prove_suite(tmp_path / "mini", family="discover", prompt="Find a bug."))
    assert suite.tasks[0].grading == {"security": True}
