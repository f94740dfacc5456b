"""A real local model end to end: llama.cpp (through llama-cpp-python) runs a tiny GGUF model
written at test time (``tiny_gguf.py``), in process through the ``llamacpp:`` adapter and
behind llama-cpp-python's OpenAI-compatible server on loopback through the ``openai:``
adapter, and the agent scaffold runs on both.

What this proves is the plumbing, not a capability: the file loads, the chat template renders
the conversation and the agent's tools, the reply is generated, stops by itself and is counted
(the server's usage equals the in-process count), an over-long prompt is a model error, and
with a function-calling chat format the real library's tool calls reach the agent, which
submits. The tiny model's words are gibberish.

Without llama-cpp-python (the ``llamacpp`` extra, with its ``server`` extra) or ``gguf``
these tests skip with the reason, except under CI (``$CI`` set), where they fail.
"""

from __future__ import annotations

import importlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.evaluation.adapters.base import STOP_REASONS, Message, ModelAdapter, ModelError
from clearinghouse.evaluation.adapters.llamacpp import LlamaCppAdapter
from clearinghouse.evaluation.adapters.openai_compat import OpenAICompatAdapter
from clearinghouse.evaluation.agent import AGENT_TOOLS, AgentOutcome, Budget, run_agent
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import eval_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.sandbox import RunRequest, RunResult, SandboxLimits
from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.integration.evaluation.conftest import unavailable

ALIAS = "tiny"
#: The context both the in-process model and the server get (see tiny_gguf.CONTEXT_LENGTH).
N_CTX = 4096
INSTALL = "pip install 'llama-cpp-python[server]==0.3.36' 'gguf==0.19.0'"
MESSAGES = (
    Message(role="system", content="You are a test model."),
    Message(role="user", content="Task: demo-task\n\nSay something."),
)
BUDGET = Budget(max_steps=6, max_tokens=50_000, wall_time_s=120.0, command_timeout_s=10)
SERVER_START_S = 60.0


@dataclass(frozen=True, slots=True)
class FakeTask:
    id: str = "demo-task"
    prompt: str = "Find the flaw in the program and submit a proof input."
    answer_kind: str = "text"


class NoSandbox:
    """The tiny model never asks for the shell; running a command would be a test failure."""

    isolation = "none"

    def run(self, request: RunRequest, limits: SandboxLimits | None = None) -> RunResult:
        raise AssertionError(f"the sandbox was not expected to run {request.argv}")


def _require(module: str, what: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as error:
        unavailable(f"{what} is not installed ({error}); {INSTALL}")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require("llama_cpp", "llama-cpp-python (the llamacpp extra)")
    _require("gguf", "gguf (writes the test model)")
    from tests.integration.evaluation.tiny_gguf import CONTEXT_LENGTH, write_tiny_llama

    assert N_CTX == CONTEXT_LENGTH
    path = write_tiny_llama(tmp_path_factory.mktemp("model") / "tiny.gguf")
    assert path.stat().st_size < 1_000_000
    return path


@pytest.fixture(scope="module")
def in_process(tiny_model: Path) -> LlamaCppAdapter:
    return LlamaCppAdapter(tiny_model, n_ctx=N_CTX)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_up(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the llama.cpp server exited ({process.returncode}):\n{_tail(log)}")
        try:
            answer = httpx.get(f"{base_url}/models", timeout=2.0, trust_env=False)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        if answer.status_code == 200:
            return
        time.sleep(0.1)
    pytest.fail(f"the llama.cpp server did not answer in {SERVER_START_S:.0f} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def server(tiny_model: Path) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port; its base URL."""
    _require("llama_cpp.server.app", "llama-cpp-python's server extra")
    port = _free_port()
    log = tiny_model.parent / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(tiny_model),
        "--model_alias",
        ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
        "--verbose",
        "False",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        _wait_until_up(process, base_url, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _fill(workspace: Path) -> None:
    (workspace / "notes.txt").write_text("hello from the workspace\n")


def _run(model: ModelAdapter, tmp_path: Path) -> AgentOutcome:
    work_root = tmp_path / "work"
    outcome = run_agent(
        model,
        FakeTask(),
        sandbox=NoSandbox(),
        work_root=work_root,
        budget=BUDGET,
        fill_workspace=_fill,
    )
    json.dumps(outcome.transcript)  # always JSON-able
    assert list(work_root.iterdir()) == [], "the workspace must be removed"
    return outcome


def _replies(outcome: AgentOutcome) -> list[object]:
    return [event["content"] for event in outcome.transcript if event["type"] == "completion"]


# --- in process -------------------------------------------------------------------------------


def test_the_tiny_model_answers_in_process(in_process: LlamaCppAdapter) -> None:
    from tests.integration.evaluation.tiny_gguf import REPLY_WORDS

    bare = in_process.complete(MESSAGES, (), max_tokens=64)
    with_tools = in_process.complete(MESSAGES, AGENT_TOOLS, max_tokens=64)
    assert bare.content.strip()
    assert with_tools.content == bare.content  # greedy decoding: the same every time
    assert bare.stop_reason == with_tools.stop_reason == "end"  # it stopped by itself
    assert bare.stop_reason in STOP_REASONS
    assert not bare.tool_calls
    assert not bare.refused
    assert bare.usage.output_tokens == with_tools.usage.output_tokens == REPLY_WORDS
    # the GGUF file's chat template rendered the agent's tools into the prompt
    assert with_tools.usage.input_tokens > bare.usage.input_tokens + 100 > 100
    cut = in_process.complete(MESSAGES, (), max_tokens=2)
    assert cut.stop_reason == "max_tokens"
    assert cut.usage.output_tokens == 2
    assert bare.content.startswith(cut.content)


def test_a_prompt_longer_than_the_context_is_a_model_error(tiny_model: Path) -> None:
    small = LlamaCppAdapter(tiny_model, n_ctx=512)
    long = (Message(role="user", content="x " * 1000),)
    with pytest.raises(ModelError, match=r"llamacpp: .*context window"):
        small.complete(long, (), max_tokens=16)


def test_the_agent_runs_the_tiny_model_in_process(
    in_process: LlamaCppAdapter, tmp_path: Path
) -> None:
    outcome = _run(in_process, tmp_path)
    # it never calls a tool: nudged once, then the run ends without an answer
    assert outcome.stop == "no_answer"
    assert outcome.error is None
    assert outcome.answer is None
    assert outcome.steps == 2
    assert outcome.input_tokens > 1000  # two prompts with the system prompt and the tools
    assert outcome.output_tokens > 0
    first, second = _replies(outcome)
    assert first == second
    assert outcome.transcript[0]["model"] == f"llamacpp:{in_process.model_path}"


def test_with_a_function_calling_format_the_tiny_model_submits(
    tiny_model: Path, in_process: LlamaCppAdapter, tmp_path: Path
) -> None:
    """llama-cpp-python's chatml-function-calling format constrains the reply with a grammar
    and returns tool calls; the tiny model's preferences make it call submit with its words."""
    words = in_process.complete(MESSAGES, (), max_tokens=64).content
    calling = LlamaCppAdapter(tiny_model, n_ctx=N_CTX, chat_format="chatml-function-calling")
    completion = calling.complete(MESSAGES, AGENT_TOOLS, max_tokens=64)
    assert completion.stop_reason == "tool_use"
    [call] = completion.tool_calls
    assert (call.name, dict(call.arguments)) == ("submit", {"answer": words})
    assert completion.usage.input_tokens > 0
    assert completion.usage.output_tokens > 0
    outcome = _run(calling, tmp_path)
    assert outcome.stop == "submitted"
    assert outcome.answer == words.encode()
    assert outcome.steps == 1
    assert outcome.input_tokens > 0
    assert outcome.output_tokens > 0


# --- behind the OpenAI-compatible server ----------------------------------------------------


def test_the_openai_adapter_completes_through_the_local_server(
    server: str, in_process: LlamaCppAdapter
) -> None:
    adapter = OpenAICompatAdapter(ALIAS, server, timeout_s=60)
    try:
        completion = adapter.complete(MESSAGES, AGENT_TOOLS, max_tokens=64)
        bare = adapter.complete(MESSAGES, (), max_tokens=64)
    finally:
        adapter.close()
    expected = in_process.complete(MESSAGES, AGENT_TOOLS, max_tokens=64)
    assert completion.content == expected.content
    assert completion.stop_reason == "end"
    # the server's usage is what the library counted in process: the same template rendered
    # the same tools, so the server accepted them
    assert completion.usage == expected.usage
    assert completion.usage.input_tokens > bare.usage.input_tokens > 0
    assert completion.usage.output_tokens > 0


def test_the_agent_runs_a_local_model_through_the_openai_adapter(
    server: str, in_process: LlamaCppAdapter, tmp_path: Path
) -> None:
    adapter = OpenAICompatAdapter(ALIAS, server, timeout_s=60)
    try:
        outcome = _run(adapter, tmp_path / "served")
    finally:
        adapter.close()
    assert outcome.stop == "no_answer"
    assert outcome.error is None
    assert outcome.steps == 2
    assert outcome.transcript[0]["model"] == f"openai:{ALIAS}@{server}"
    local = _run(in_process, tmp_path / "local")
    assert _replies(outcome) == _replies(local)
    # tokens are counted from the server's usage, and match the in-process count
    assert (outcome.input_tokens, outcome.output_tokens) == (
        local.input_tokens,
        local.output_tokens,
    )
    assert outcome.input_tokens > 1000
    assert outcome.output_tokens > 0


# --- through the evaluation flow --------------------------------------------------------------


@pytest.fixture
def settings(searchable: Path, eval_sandbox: object) -> Settings:
    """A data directory the sandbox's user can reach."""
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    return Settings(data_dir=searchable / "data", database_url=POSTGRES_URL, eval_workers=1)


@pytest.mark.parametrize("kind", ["openai", "llamacpp"])
def test_eval_run_with_a_local_model(
    kind: str, runtime: Runtime, tiny_model: Path, request: pytest.FixtureRequest
) -> None:
    eval_flow.register_suite(runtime, viewer=LOCAL_ADMIN)
    if kind == "openai":
        spec = f"openai:{ALIAS}@{request.getfixturevalue('server')}"
    else:
        spec = f"llamacpp:{tiny_model}"
    report = eval_flow.run_model(
        runtime,
        viewer=LOCAL_ADMIN,
        suite_ref="starter",
        model_spec=spec,
        epochs=1,
        budget=BUDGET,
        tasks=["prove-tlv-read"],
    )
    [sample] = report["samples_detail"]
    assert sample["status"] == "done"
    assert sample["stop"] == "no_answer"
    assert sample["solved"] is False
    assert sample["steps"] == 2
    assert sample["tokens"] > 1000
