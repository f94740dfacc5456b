"""The HTTP model adapters against loopback servers replaying recorded answers.

What the agent relies on: each adapter sends the conversation and the tools in its API's wire
format (OpenAI chat completions, Anthropic Messages) with the key in the right header, parses
text, tool calls, token usage and refusals back, retries what is worth retrying and nothing
else, and never lets the key into an error or a log. ``adapter_from_spec`` turns each spec form
into its adapter and explains a malformed spec.
"""

from __future__ import annotations

import logging
import socket
import sys
import types
from pathlib import Path
from typing import ClassVar

import pytest

from clearinghouse.core.errors import InputError
from clearinghouse.evaluation.adapters import ModelAdapter, adapter_from_spec
from clearinghouse.evaluation.adapters.anthropic import AnthropicAdapter, anthropic_request
from clearinghouse.evaluation.adapters.base import Message, ModelError, ToolCall, ToolSpec
from clearinghouse.evaluation.adapters.llamacpp import INSTALL_HINT
from clearinghouse.evaluation.adapters.openai_compat import (
    OpenAICompatAdapter,
    openai_messages,
    parse_openai_response,
)
from clearinghouse.evaluation.adapters.scripted import ScriptedAdapter
from tests.integration.evaluation.servers import ReplayServer, load_recording

KEY = "sk-test-recorded-key-DO-NOT-LEAK"
TOOLS = (
    ToolSpec(
        name="shell",
        description="run a command",
        parameters={
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
    ),
)
CONVERSATION = (
    Message(role="system", content="You are evaluated."),
    Message(role="user", content="Task: demo\n\nFind the flaw."),
    Message(
        role="assistant",
        content="Looking.",
        tool_calls=(
            ToolCall(id="c1", name="shell", arguments={"command": "ls"}),
            ToolCall(id="c2", name="shell", arguments={"command": "id"}),
        ),
    ),
    Message(role="tool", content="notes.txt\n", tool_call_id="c1"),
    Message(role="tool", content="uid=65534\n", tool_call_id="c2"),
)


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def test_openai_sends_the_conversation_in_chat_completions_shape() -> None:
    with ReplayServer(load_recording("openai_workspace")) as server:
        adapter = OpenAICompatAdapter("local-model", server.url, KEY, timeout_s=10)
        completion = adapter.complete(CONVERSATION, TOOLS, max_tokens=321)
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "local-model"
    assert request.body["max_tokens"] == 321
    assert request.body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "shell",
                "description": "run a command",
                "parameters": dict(TOOLS[0].parameters),
            },
        }
    ]
    system, user, assistant, first, second = request.messages()
    assert system == {"role": "system", "content": "You are evaluated."}
    assert user["content"] == "Task: demo\n\nFind the flaw."
    assert assistant["tool_calls"] == [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "shell", "arguments": '{"command":"ls"}'},
        },
        {
            "id": "c2",
            "type": "function",
            "function": {"name": "shell", "arguments": '{"command":"id"}'},
        },
    ]
    assert first == {"role": "tool", "tool_call_id": "c1", "content": "notes.txt\n"}
    assert second["tool_call_id"] == "c2"
    # ... and the recorded answer comes back parsed
    assert completion.content == "Let me look at the workspace first."
    assert [(call.id, call.name, dict(call.arguments)) for call in completion.tool_calls] == [
        ("call_ls", "shell", {"command": "ls"}),
        ("call_cat", "shell", {"command": "cat notes.txt"}),
    ]
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (742, 41)
    assert completion.stop_reason == "tool_use"
    assert not completion.refused
    assert adapter.name == f"openai:local-model@{server.url}"


def test_anthropic_sends_system_apart_and_merges_tool_results() -> None:
    with ReplayServer(load_recording("anthropic_workspace")) as server:
        adapter = AnthropicAdapter("claude-test", KEY, server.url, timeout_s=10)
        completion = adapter.complete(CONVERSATION, TOOLS, max_tokens=500)
    [request] = server.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.body["system"] == "You are evaluated."
    assert request.body["max_tokens"] == 500
    assert request.body["tools"] == [
        {"name": "shell", "description": "run a command", "input_schema": dict(TOOLS[0].parameters)}
    ]
    user, assistant, results = request.messages()
    assert user == {
        "role": "user",
        "content": [{"type": "text", "text": "Task: demo\n\nFind the flaw."}],
    }
    assert assistant["content"] == [
        {"type": "text", "text": "Looking."},
        {"type": "tool_use", "id": "c1", "name": "shell", "input": {"command": "ls"}},
        {"type": "tool_use", "id": "c2", "name": "shell", "input": {"command": "id"}},
    ]
    assert results == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": "notes.txt\n"},
            {"type": "tool_result", "tool_use_id": "c2", "content": "uid=65534\n"},
        ],
    }
    assert completion.content == "I'll start by looking at the workspace."
    assert [call.id for call in completion.tool_calls] == ["toolu_01Ls", "toolu_01Cat"]
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (1204, 97)
    assert completion.stop_reason == "tool_use"
    assert adapter.name == f"anthropic:claude-test@{server.url}"


def test_anthropic_merges_a_nudge_into_the_tool_results_turn() -> None:
    body = anthropic_request(
        "m",
        [*CONVERSATION, Message(role="user", content="Call submit now.")],
        (),
        max_tokens=10,
    )
    messages = body["messages"]
    assert isinstance(messages, list)
    assert [message["role"] for message in messages] == ["user", "assistant", "user"]
    assert messages[-1]["content"][-1] == {"type": "text", "text": "Call submit now."}
    assert "tools" not in body


@pytest.mark.parametrize(
    ("recording", "adapter_kind"),
    [
        ("openai_refusal", "openai"),
        ("openai_content_filter", "openai"),
        ("anthropic_refusal", "anthropic"),
    ],
)
def test_refusals_are_reported(recording: str, adapter_kind: str) -> None:
    with ReplayServer(load_recording(recording)) as server:
        adapter: ModelAdapter
        if adapter_kind == "openai":
            adapter = OpenAICompatAdapter("m", server.url, KEY, timeout_s=10)
        else:
            adapter = AnthropicAdapter("m", KEY, server.url, timeout_s=10)
        completion = adapter.complete(CONVERSATION[:2], TOOLS, max_tokens=100)
    assert completion.refused
    assert completion.stop_reason == "refusal"
    assert completion.tool_calls == ()


def test_openai_refusal_text_becomes_the_content() -> None:
    with ReplayServer(load_recording("openai_refusal")) as server:
        adapter = OpenAICompatAdapter("m", server.url, timeout_s=10)
        completion = adapter.complete(CONVERSATION[:2], TOOLS, max_tokens=100)
    assert completion.content.startswith("I'm sorry, I can't help")
    assert "authorization" not in server.requests[0].headers  # no key configured, none sent


def test_retries_on_500_503_and_a_dropped_connection_then_succeeds() -> None:
    sleeps = Sleeps()
    with ReplayServer(load_recording("openai_flaky")) as server:
        adapter = OpenAICompatAdapter("m", server.url, KEY, timeout_s=10, sleep=sleeps)
        completion = adapter.complete(CONVERSATION[:2], TOOLS, max_tokens=100)
    assert len(server.requests) == 4
    # exponential backoff, except where the server said Retry-After: 2
    assert sleeps.delays == [0.5, 2.0, 2.0]
    assert completion.tool_calls[0].arguments == {"answer": "CH{recorded}"}


def test_retries_are_bounded() -> None:
    sleeps = Sleeps()
    with ReplayServer(load_recording("openai_flaky")) as server:
        adapter = OpenAICompatAdapter(
            "m", server.url, KEY, timeout_s=10, max_retries=1, sleep=sleeps
        )
        with pytest.raises(ModelError) as raised:
            adapter.complete(CONVERSATION[:2], TOOLS, max_tokens=100)
    assert len(server.requests) == 2
    assert raised.value.http_status == 503
    assert "after 2 attempts" in raised.value.detail
    assert "Loading model" in raised.value.detail


def test_401_is_not_retried_and_the_key_is_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sleeps = Sleeps()
    with ReplayServer(load_recording("openai_unauthorized")) as server:
        adapter = OpenAICompatAdapter("m", server.url, KEY, timeout_s=10, sleep=sleeps)
        with pytest.raises(ModelError) as raised:
            adapter.complete(CONVERSATION[:2], TOOLS, max_tokens=100)
    assert len(server.requests) == 1
    assert sleeps.delays == []
    error = raised.value
    assert error.http_status == 401
    assert "HTTP 401" in str(error)
    assert "Incorrect API key provided: [redacted]" in str(error)
    assert KEY not in str(error)
    assert KEY not in repr(error.args)
    assert KEY not in caplog.text


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    adapter = AnthropicAdapter("m", KEY, f"http://127.0.0.1:{port}", timeout_s=5, sleep=sleeps)
    with pytest.raises(ModelError) as raised:
        adapter.complete(CONVERSATION[:2], TOOLS, max_tokens=100)
    assert "could not reach" in raised.value.detail
    assert raised.value.http_status is None
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert KEY not in str(raised.value)


def test_openai_switches_to_max_completion_tokens_when_asked() -> None:
    with ReplayServer(load_recording("openai_max_completion_tokens")) as server:
        adapter = OpenAICompatAdapter("o-model", server.url, KEY, timeout_s=10)
        completion = adapter.complete(CONVERSATION[:2], (), max_tokens=64)
    first, second = server.requests
    assert first.body["max_tokens"] == 64
    assert "max_completion_tokens" not in first.body
    assert second.body["max_completion_tokens"] == 64
    assert "max_tokens" not in second.body
    assert "tools" not in second.body
    assert completion.content == "Hello."
    assert completion.stop_reason == "end"


def test_malformed_arguments_are_kept_raw_and_replayed_verbatim() -> None:
    document = load_recording("openai_malformed").replies[0].body
    completion = parse_openai_response(document, what="test")
    [call] = completion.tool_calls
    assert call.arguments == {"_malformed": '{"command": "ls'}
    [wire] = openai_messages([Message(role="assistant", content="", tool_calls=(call,))])
    assert wire["tool_calls"] == [
        {
            "id": "call_bad",
            "type": "function",
            "function": {"name": "shell", "arguments": '{"command": "ls'},
        }
    ]


def test_a_response_without_choices_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="no choices"):
        parse_openai_response({"object": "chat.completion", "choices": []}, what="test")
    with pytest.raises(ModelError, match="server answered with an error: overloaded"):
        parse_openai_response({"error": {"message": "overloaded"}}, what="test")


# --- adapter_from_spec --------------------------------------------------------------------------


def test_spec_forms_build_their_adapters(tmp_path: Path) -> None:
    keys = {"openai": "sk-o", "anthropic": "sk-a"}
    openai = adapter_from_spec(
        "openai:gpt-x@http://127.0.0.1:8080/v1/", settings_keys=keys, timeout_s=5
    )
    assert isinstance(openai, OpenAICompatAdapter)
    assert openai.name == "openai:gpt-x@http://127.0.0.1:8080/v1"
    anthropic = adapter_from_spec("anthropic:claude-x", settings_keys=keys, timeout_s=5)
    assert isinstance(anthropic, AnthropicAdapter)
    assert anthropic.name == "anthropic:claude-x"
    script = tmp_path / "s.json"
    script.write_text('{"name": "tiny", "default": [{"say": "hi"}]}')
    scripted = adapter_from_spec(f"scripted:{script}", settings_keys={}, timeout_s=5)
    assert isinstance(scripted, ScriptedAdapter)
    assert scripted.name == "scripted:tiny"
    for adapter in (openai, anthropic, scripted):
        assert isinstance(adapter, ModelAdapter)
        assert "sk-" not in adapter.name


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "must be one of"),
        ("gpt-4o", "must be one of"),
        ("openai:gpt-4o", "'openai:MODEL@BASE_URL'"),
        ("openai:@http://127.0.0.1/v1", "'openai:MODEL@BASE_URL'"),
        ("openai:m@ftp://127.0.0.1/v1", "must be http(s)://"),
        ("openai:m@http://user:secret@127.0.0.1/v1", "must not carry credentials"),
        ("anthropic:claude-x", "needs an API key"),
        ("anthropic:claude-x@", "'anthropic:MODEL@BASE_URL'"),
        ("scripted:no-such-script", "no packaged script"),
        ("scripted:/no/such/script.json", "cannot read the script"),
        ("bard:x", "unknown kind 'bard'"),
    ],
)
def test_malformed_specs_say_what_is_expected(spec: str, message: str) -> None:
    with pytest.raises(InputError) as raised:
        adapter_from_spec(spec, settings_keys={}, timeout_s=5)
    assert message in str(raised.value)
    if "secret" in spec:
        assert "secret" not in str(raised.value)


def test_llamacpp_without_the_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if the extra were not installed
    with pytest.raises(ModelError) as raised:
        adapter_from_spec(f"llamacpp:{tmp_path / 'model.gguf'}", settings_keys={}, timeout_s=5)
    assert INSTALL_HINT in str(raised.value)
    assert "pip install 'clearinghouse[llamacpp]'" in str(raised.value)


class FakeLlama:
    """Stands in for llama_cpp.Llama (test_local_model.py runs the real one): records the
    calls and answers in the chat-completions shape llama-cpp-python returns."""

    made: ClassVar[list[dict[str, object]]] = []
    calls: ClassVar[list[dict[str, object]]] = []

    def __init__(self, **kwargs: object) -> None:
        FakeLlama.made.append(kwargs)

    def create_chat_completion(self, **kwargs: object) -> dict[str, object]:
        FakeLlama.calls.append(kwargs)
        return {
            "id": "chatcmpl-local",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_0",
                                "type": "function",
                                "function": {"name": "shell", "arguments": '{"command": "ls"}'},
                            }
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 55, "completion_tokens": 7, "total_tokens": 62},
        }


def test_llamacpp_maps_like_the_openai_adapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    FakeLlama.made.clear()
    FakeLlama.calls.clear()
    adapter = adapter_from_spec(f"llamacpp:{model}", settings_keys={}, timeout_s=5)
    assert adapter.name == f"llamacpp:{model}"
    completion = adapter.complete(CONVERSATION, TOOLS, max_tokens=77)
    [made] = FakeLlama.made
    assert made["model_path"] == str(model)
    assert made["n_ctx"] == 4096
    [call] = FakeLlama.calls
    assert call["max_tokens"] == 77
    assert call["temperature"] == 0.0
    assert call["messages"] == openai_messages(CONVERSATION)
    assert call["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "shell",
                "description": "run a command",
                "parameters": dict(TOOLS[0].parameters),
            },
        }
    ]
    assert completion.tool_calls == (
        ToolCall(id="call_0", name="shell", arguments={"command": "ls"}),
    )
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (55, 7)
    with pytest.raises(InputError, match="no model file"):
        adapter_from_spec(f"llamacpp:{tmp_path / 'absent.gguf'}", settings_keys={}, timeout_s=5)
