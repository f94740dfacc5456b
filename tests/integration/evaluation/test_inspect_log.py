"""Reading Inspect logs that inspect-ai itself wrote with its ``mockllm`` model.

The logs are written once per module by ``tests/assets/evaluation/inspect/write_logs.py`` in a
child process (Inspect's ``eval`` changes process-wide logging and asyncio state), with HOME
and the XDG folders pointed into a temporary directory. No network is used.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("inspect_ai", reason="the optional `inspect` extra is not installed")

from clearinghouse.core.errors import (
    DecodeError,
    InputError,
    SchemaError,
    TooLargeError,
)
from clearinghouse.evaluation.inspect_log import (
    ImportedLog,
    ImportedSample,
    read_inspect_log,
    read_inspect_log_bytes,
    solved_from_value,
)

WRITER = Path(__file__).resolve().parents[2] / "assets" / "evaluation" / "inspect" / "write_logs.py"
INPUT_TOKENS = 10 + 3  # write_logs.py: full-rate input plus cache reads


@dataclasses.dataclass(frozen=True)
class Logs:
    folder: Path
    manifest: dict[str, str]

    def path(self, role: str) -> Path:
        return self.folder / self.manifest[role]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Logs:
    root = tmp_path_factory.mktemp("inspect")
    out = root / "logs"
    out.mkdir()
    env = {
        **os.environ,
        "HOME": str(root),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "INSPECT_LOG_DIR": str(out),
        "INSPECT_DISPLAY": "none",
    }
    done = subprocess.run(
        [sys.executable, str(WRITER), str(out)],
        cwd=root,  # Inspect loads a .env found from the working directory up
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return Logs(out, json.loads((out / "manifest.json").read_text()))


def _outcomes(log: ImportedLog) -> list[tuple[str, int, bool | None]]:
    return [(s.task_id, s.epoch, s.solved) for s in log.samples]


RUN_OUTCOMES = [
    ("3", 1, True),
    ("3", 2, True),
    ("knowledge-z", 1, True),
    ("knowledge-z", 2, True),
    ("patch-y", 1, False),
    ("patch-y", 2, False),
    ("prove-x", 1, True),
    ("prove-x", 2, True),
]


@pytest.mark.parametrize("role", ["run_eval", "run_json"])
def test_a_log_written_by_inspect_reads_sample_by_sample(logs: Logs, role: str) -> None:
    log = read_inspect_log(logs.path(role))

    assert log.model == "mockllm/model"
    assert log.task_name == "clearinghouse-probe"
    assert log.status == "success"
    assert log.epochs == 2
    assert log.eval_id
    assert log.created.startswith("20")
    # sample id unless metadata names the task; integer ids become strings; 2 epochs each
    assert _outcomes(log) == RUN_OUTCOMES
    for sample in log.samples:
        assert sample.error is None
        assert sample.score_raw == ("C" if sample.solved else "I")
        assert sample.input_tokens == INPUT_TOKENS
        assert sample.output_tokens == len("answer: ") + 5  # the mock echoes the 5-letter prompt
        assert sample.input_tokens >= 0
        assert sample.output_tokens >= 0


@pytest.mark.parametrize("role", ["run_eval", "run_json", "run_eval_as_json"])
def test_log_sha256_is_the_hash_of_the_file(logs: Logs, role: str) -> None:
    path = logs.path(role)
    assert read_inspect_log(path).log_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_eval_and_json_of_one_run_give_the_same_record(logs: Logs) -> None:
    as_eval = read_inspect_log(logs.path("run_eval"))
    as_json = read_inspect_log(logs.path("run_eval_as_json"))

    assert as_eval.log_sha256 != as_json.log_sha256
    assert dataclasses.replace(as_eval, log_sha256="") == dataclasses.replace(
        as_json, log_sha256=""
    )
    # A second run written as .json has another id but the same (deterministic) samples.
    other_run = read_inspect_log(logs.path("run_json"))
    assert other_run.eval_id != as_eval.eval_id
    assert other_run.samples == as_eval.samples


def test_the_format_comes_from_the_bytes_not_the_name(logs: Logs, tmp_path: Path) -> None:
    renamed = tmp_path / "upload.bin"
    renamed.write_bytes(logs.path("run_eval").read_bytes())
    data = renamed.read_bytes()

    from_path = read_inspect_log(renamed)
    assert from_path == read_inspect_log(logs.path("run_eval"))
    assert read_inspect_log_bytes(data, name="upload") == from_path


VERDICTS: list[tuple[str, bool | None, str | None, str | None]] = [
    # sample id, solved, score_raw, a part of the error text
    ("case-c", True, "C", None),
    ("case-i", False, "I", None),
    ("case-p", False, "P", None),  # partial credit is not a solve
    ("case-n", False, "N", None),  # no answer counts as not solved
    ("case-one", True, "1.0", None),
    ("case-half", False, "0.5", None),
    ("case-true", True, "true", None),
    ("case-false", False, "false", None),
    ("case-nan", None, "NaN", "grader_failed"),  # Score.unscored()
    ("case-none", None, None, "no score from scorer 'verdict'"),  # the scorer returned None
    ("case-raise", None, None, "the grader broke"),  # the scorer raised: a sample error
    ("case-weird", None, "maybe", "unrecognised score value"),
    ("case-explode", None, None, "the model exploded"),  # the model raised
]


@pytest.fixture(scope="module")
def verdicts(logs: Logs) -> dict[str, ImportedSample]:
    log = read_inspect_log(logs.path("verdicts"))
    assert log.status == "success"
    assert log.epochs == 1
    return {sample.task_id: sample for sample in log.samples}


@pytest.mark.parametrize(("task_id", "solved", "score_raw", "error"), VERDICTS)
def test_score_values_become_solved_flags(
    verdicts: dict[str, ImportedSample],
    task_id: str,
    solved: bool | None,
    score_raw: str | None,
    error: str | None,
) -> None:
    sample = verdicts[task_id]

    assert sample.solved is solved
    assert sample.score_raw == score_raw
    if error is None:
        assert sample.error is None
    else:
        assert sample.error is not None
        assert error in sample.error
    assert sample.input_tokens >= 0
    assert sample.output_tokens >= 0


def test_every_verdict_case_is_in_the_log(verdicts: dict[str, ImportedSample]) -> None:
    assert sorted(verdicts) == sorted(case[0] for case in VERDICTS)


def test_a_named_scorer_is_read_instead_of_the_first(logs: Logs) -> None:
    by_includes = read_inspect_log(logs.path("verdicts"), scorer="includes")
    solved = {s.task_id: s.solved for s in by_includes.samples}

    # includes() finds the capitalised word in every answer; errors stay unscored
    assert solved.pop("case-raise") is None
    assert solved.pop("case-explode") is None
    assert set(solved.values()) == {True}

    unknown = read_inspect_log(logs.path("verdicts"), scorer="absent")
    assert {s.solved for s in unknown.samples} == {None}
    assert all(s.error for s in unknown.samples)
    assert any(s.error == "no score from scorer 'absent'" for s in unknown.samples)


def test_a_failed_run_is_read_with_its_status_or_refused_on_request(logs: Logs) -> None:
    log = read_inspect_log(logs.path("failed"))

    assert log.status == "error"
    assert [(s.task_id, s.solved) for s in log.samples] == [("boom", None)]
    assert log.samples[0].error is not None
    assert "the model exploded" in log.samples[0].error
    with pytest.raises(InputError, match="'error'"):
        read_inspect_log(logs.path("failed"), require_success=True)
    assert read_inspect_log(logs.path("run_json"), require_success=True).status == "success"


@pytest.mark.parametrize("role", ["header_eval", "header_json", "crashed_eval"])
def test_a_log_without_samples_reads_as_its_header(logs: Logs, role: str) -> None:
    log = read_inspect_log(logs.path(role))
    full = read_inspect_log(logs.path("run_eval"))

    assert log.samples == ()
    assert log.status == "started"
    assert (log.model, log.task_name, log.eval_id, log.epochs, log.created) == (
        full.model,
        full.task_name,
        full.eval_id,
        full.epochs,
        full.created,
    )
    with pytest.raises(InputError, match="'started'"):
        read_inspect_log(logs.path(role), require_success=True)


def test_an_invalidated_sample_is_unscored(logs: Logs) -> None:
    samples = {(s.task_id, s.epoch): s for s in read_inspect_log(logs.path("invalidated")).samples}

    invalidated = samples[("prove-x", 1)]
    assert invalidated.solved is None
    assert invalidated.score_raw == "C"
    assert invalidated.error == "invalidated by reviewer: the answer leaked"
    assert samples[("prove-x", 2)].solved is True


@pytest.mark.parametrize("role", ["run_eval", "run_json"])
def test_a_truncated_log_is_a_decode_error_naming_the_file(
    logs: Logs, role: str, tmp_path: Path
) -> None:
    data = logs.path(role).read_bytes()
    cut = tmp_path / f"cut-{logs.manifest[role]}"
    cut.write_bytes(data[: len(data) // 2])

    with pytest.raises(DecodeError) as raised:
        read_inspect_log(cut)
    message = str(raised.value)
    assert message.startswith(cut.name + ":")
    assert "Traceback" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a log at all",
        b'{"a": 1}',
        b'{"version": 2, "status": "success"}',
        b"[" * 100_000,
        b"{" + b'"a":{' * 100_000,
    ],
    ids=["empty", "text", "other-json", "no-eval-spec", "deep-array", "deep-object"],
)
def test_a_file_inspect_cannot_read_is_a_decode_error(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)

    with pytest.raises(DecodeError, match=r"^bad\.json: "):
        read_inspect_log(path)


def test_a_zip_that_is_not_an_eval_log_is_a_decode_error(tmp_path: Path) -> None:
    path = tmp_path / "other.eval"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")

    with pytest.raises(DecodeError, match=r"^other\.eval: Inspect cannot read this log"):
        read_inspect_log(path)


def test_a_log_over_the_size_limit_is_refused_before_parsing(logs: Logs) -> None:
    path = logs.path("run_eval")
    size = path.stat().st_size

    with pytest.raises(TooLargeError, match=path.name):
        read_inspect_log(path, max_bytes=size - 1)
    assert read_inspect_log(path, max_bytes=size).samples
    with pytest.raises(TooLargeError, match="expands to"):
        read_inspect_log(path, max_expanded_bytes=size)


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^absent\.eval: cannot be read"):
        read_inspect_log(tmp_path / "absent.eval")


def test_without_inspect_installed_the_error_says_which_extra(
    logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "inspect_ai.log", None)  # makes the import fail

    with pytest.raises(InputError, match=r"pip install 'clearinghouse\[inspect\]'"):
        read_inspect_log(logs.path("run_json"))


def _edited_json(logs: Logs, tmp_path: Path, edit: dict[str, object], field: str) -> Path:
    document = json.loads(logs.path("run_json").read_text())
    for sample in document["samples"]:
        if sample["id"] == "patch-y":
            if field == "metadata":
                sample["metadata"].update(edit)
            else:
                for usage in sample["model_usage"].values():
                    usage.update(edit)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("field", "edit", "pointer"),
    [
        ("metadata", {"task_id": "prove-x"}, "/samples"),  # two samples for one task and epoch
        ("metadata", {"task_id": ["a", "list"]}, "/metadata/task_id"),
        ("metadata", {"task_id": "  "}, "/metadata/task_id"),
        ("model_usage", {"output_tokens": -5}, "/model_usage/mockllm~1model"),
    ],
    ids=["duplicate-task", "task-id-not-text", "task-id-blank", "negative-tokens"],
)
def test_samples_that_cannot_be_recorded_are_schema_errors(
    logs: Logs, tmp_path: Path, field: str, edit: dict[str, object], pointer: str
) -> None:
    path = _edited_json(logs, tmp_path, edit, field)

    with pytest.raises(SchemaError) as raised:
        read_inspect_log(path)
    assert pointer in raised.value.pointer
    assert str(raised.value).startswith("edited.json at ")


def test_reading_inside_an_event_loop_leaves_asyncio_unpatched(logs: Logs) -> None:
    # Inspect would apply nest_asyncio (process-wide) when called with a loop running.
    async def read() -> ImportedLog:
        return read_inspect_log(logs.path("run_eval"))

    log = asyncio.run(read())

    assert _outcomes(log) == RUN_OUTCOMES
    assert asyncio.run.__module__ == "asyncio.runners"


@pytest.mark.parametrize(
    ("value", "solved"),
    [
        ("C", True),
        ("I", False),
        ("P", False),
        ("N", False),
        ("c", None),
        ("1", None),
        (True, True),
        (False, False),
        (1, True),
        (2.5, True),
        (0.999, False),
        (-1, False),
        (float("nan"), None),
        (float("inf"), None),
        ([1, 0], None),
        ({"a": 1}, None),
    ],
)
def test_solved_from_value(value: object, solved: bool | None) -> None:
    got, why = solved_from_value(value)

    assert got is solved
    assert (why is None) == (solved is not None)
