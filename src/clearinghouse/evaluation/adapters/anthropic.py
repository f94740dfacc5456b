"""Models behind Anthropic's Messages API (``POST /v1/messages``), spoken directly over HTTP.

The mapping differs from chat completions in three ways that matter here: system text is a
top-level ``system`` field, an assistant's tool calls are ``tool_use`` content blocks, and tool
results are ``tool_result`` blocks inside a *user* message. Consecutive messages of one role
(several tool results, or tool results followed by a nudge) are merged into one message, since
the API expects user and assistant turns to alternate. Empty text blocks are dropped (the API
refuses them).

Input tokens include cache reads and writes when the answer reports them, so a budget counts
every token the provider processed.

It does not: stream, use prompt caching or extended thinking, or send sampling parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import httpx

from clearinghouse.core.errors import InputError
from clearinghouse.evaluation.adapters.base import (
    Completion,
    JsonPoster,
    Message,
    ModelError,
    ToolCall,
    ToolSpec,
    Usage,
    check_base_url,
    dump_json,
)

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_BASE_URL",
    "AnthropicAdapter",
    "anthropic_request",
    "parse_anthropic_response",
]

DEFAULT_BASE_URL: Final = "https://api.anthropic.com"
ANTHROPIC_VERSION: Final = "2023-06-01"

_STOP_REASONS: Final[Mapping[str, str]] = {
    "end_turn": "end",
    "stop_sequence": "end",
    "pause_turn": "end",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "refusal": "refusal",
}


def anthropic_request(
    model: str, messages: Sequence[Message], tools: Sequence[ToolSpec], *, max_tokens: int
) -> dict[str, object]:
    """The Messages API request body for this conversation."""
    system: list[str] = []
    turns: list[dict[str, object]] = []
    for message in messages:
        if message.role == "system":
            system.append(message.content)
            continue
        role, blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            assert isinstance(previous, list)
            previous.extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    body: dict[str, object] = {"model": model, "max_tokens": max_tokens, "messages": turns}
    if system:
        body["system"] = "\n\n".join(system)
    if tools:
        body["tools"] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            for tool in tools
        ]
    return body


def _blocks(message: Message) -> tuple[str, list[dict[str, object]]]:
    if message.role == "tool":
        if message.tool_call_id is None:
            raise ModelError("a tool message needs the id of the call it answers")
        block: dict[str, object] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
        if message.content:
            block["content"] = message.content
        return "user", [block]
    blocks: list[dict[str, object]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    if message.role == "user":
        return "user", blocks
    if message.role != "assistant":
        raise ModelError(f"unknown message role {message.role!r}")
    blocks.extend(
        {"type": "tool_use", "id": call.id, "name": call.name, "input": dict(call.arguments)}
        for call in message.tool_calls
    )
    return "assistant", blocks


def parse_anthropic_response(document: object, *, what: str) -> Completion:
    """A Messages API answer as a :class:`Completion`."""
    if not isinstance(document, Mapping):
        raise ModelError(f"{what}: the answer is not a JSON object")
    if document.get("type") == "error":
        error = document.get("error")
        detail = error.get("message") if isinstance(error, Mapping) else None
        raise ModelError(f"{what}: the API answered with an error: {str(detail)[:300]}")
    content = document.get("content")
    if not isinstance(content, list):
        raise ModelError(f"{what}: the answer has no content list")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for index, block in enumerate(content):
        if not isinstance(block, Mapping):
            raise ModelError(f"{what}: content[{index}] is not an object")
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use":
            calls.append(_tool_use(block, index, what=what))
        # thinking, redacted_thinking and server tool blocks carry nothing the scaffold uses
    reason = document.get("stop_reason")
    stop = _STOP_REASONS.get(reason, "") if isinstance(reason, str) else ""
    if not stop:
        stop = "tool_use" if calls else "end"
    return Completion(
        content="\n".join(texts),
        tool_calls=tuple(calls),
        usage=_usage(document.get("usage")),
        stop_reason=stop,
        refused=stop == "refusal",
    )


def _tool_use(block: Mapping[str, object], index: int, *, what: str) -> ToolCall:
    call_id = block.get("id")
    name = block.get("name")
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str):
        raise ModelError(f"{what}: content[{index}] is a tool_use without id or name")
    arguments = block.get("input")
    if not isinstance(arguments, dict):
        arguments = {"_malformed": dump_json(arguments)}
    return ToolCall(id=call_id, name=name, arguments=arguments)


def _usage(usage: object) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    names = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    return Usage(
        input_tokens=sum(_count(usage.get(name)) for name in names),
        output_tokens=_count(usage.get("output_tokens")),
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class AnthropicAdapter:
    """A Claude model behind ``{base_url}/v1/messages``; the key goes in ``x-api-key`` only."""

    def __init__(
        self,
        model: str,
        api_key: str | None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_s: float = 300.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model.strip():
            raise InputError("anthropic: the model name is empty")
        self.model = model
        self.base_url = check_base_url(base_url, what="anthropic")
        headers = {
            "accept": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
            "user-agent": "clearinghouse-evaluation/1",
        }
        if api_key:
            headers["x-api-key"] = api_key
        self._poster = JsonPoster(
            what=f"anthropic model {model}",
            url=f"{self.base_url}/v1/messages",
            headers=headers,
            secrets=(api_key,),
            timeout_s=timeout_s,
            max_retries=max_retries,
            transport=transport,
            sleep=sleep,
        )

    @property
    def name(self) -> str:
        if self.base_url == DEFAULT_BASE_URL:
            return f"anthropic:{self.model}"
        return f"anthropic:{self.model}@{self.base_url}"

    def close(self) -> None:
        self._poster.close()

    def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, max_tokens: int
    ) -> Completion:
        body = anthropic_request(self.model, messages, tools, max_tokens=max_tokens)
        return parse_anthropic_response(self._poster.post(body), what=self._poster.what)
