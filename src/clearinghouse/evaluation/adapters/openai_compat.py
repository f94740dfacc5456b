"""Models behind the OpenAI chat-completions API: OpenAI itself, and the local servers that
speak it (llama.cpp's ``llama-server``, vLLM, Ollama's ``/v1``).

The wire mapping is kept in pure functions (:func:`openai_messages`, :func:`openai_tools`,
:func:`parse_openai_response`) because ``llamacpp.py`` feeds the same shapes to
llama-cpp-python in process. Tool-call arguments travel as JSON strings; a string that is not a
JSON object becomes ``{"_malformed": raw}`` so the scaffold can tell the model, and the raw
string is sent back verbatim when the conversation is replayed.

Token limits: the request carries ``max_tokens``, which local servers and older models
understand. OpenAI's newer models refuse it in favour of ``max_completion_tokens``; when a 400
answer says so, the adapter switches field once and remembers.

It does not: stream, set sampling parameters (servers' defaults apply), or count tokens itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import httpx
import orjson

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
    "OpenAICompatAdapter",
    "openai_messages",
    "openai_tools",
    "parse_openai_response",
]

_FINISH_REASONS: Final[Mapping[str, str]] = {
    "stop": "end",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}
_MALFORMED: Final = "_malformed"


def openai_tools(tools: Sequence[ToolSpec]) -> list[dict[str, object]]:
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": dict(tool.parameters),
            },
        }
        for tool in tools
    ]


def openai_messages(messages: Sequence[Message]) -> list[dict[str, object]]:
    """The conversation as chat-completions messages."""
    wire: list[dict[str, object]] = []
    for message in messages:
        if message.role == "assistant":
            entry: dict[str, object] = {"role": "assistant", "content": message.content or None}
            if message.tool_calls:
                entry["tool_calls"] = [_wire_call(call) for call in message.tool_calls]
            wire.append(entry)
        elif message.role == "tool":
            if message.tool_call_id is None:
                raise ModelError("a tool message needs the id of the call it answers")
            wire.append(
                {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
            )
        elif message.role in {"system", "user"}:
            wire.append({"role": message.role, "content": message.content})
        else:
            raise ModelError(f"unknown message role {message.role!r}")
    return wire


def _wire_call(call: ToolCall) -> dict[str, object]:
    raw = call.arguments.get(_MALFORMED)
    if isinstance(raw, str) and len(call.arguments) == 1:
        arguments = raw  # replay exactly what the model wrote
    else:
        arguments = dump_json(dict(call.arguments))
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def parse_openai_response(document: object, *, what: str) -> Completion:
    """A chat-completions response (or llama-cpp-python's dict of the same shape) as a
    :class:`Completion`; a response without ``choices[0].message`` is a :class:`ModelError`."""
    if not isinstance(document, Mapping):
        raise ModelError(f"{what}: the answer is not a JSON object")
    error = document.get("error")
    if error is not None:
        raise ModelError(f"{what}: the server answered with an error: {_short(error)}")
    choices = document.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise ModelError(f"{what}: the answer has no choices")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, Mapping):
        raise ModelError(f"{what}: choices[0] has no message")
    content = _content_text(message.get("content"))
    calls = tuple(
        _parse_call(raw, index, what=what)
        for index, raw in enumerate(_list(message.get("tool_calls")))
    )
    refusal = message.get("refusal")
    refused = isinstance(refusal, str) and bool(refusal.strip())
    if refused and not content:
        content = str(refusal)
    finish = choice.get("finish_reason")
    stop = _FINISH_REASONS.get(finish, "") if isinstance(finish, str) else ""
    if not stop:
        stop = "tool_use" if calls else "end"
    if refused:
        stop = "refusal"
    return Completion(
        content=content,
        tool_calls=calls,
        usage=_usage(document.get("usage")),
        stop_reason=stop,
        refused=refused or stop == "refusal",
    )


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    # Some servers send content as parts: [{"type": "text", "text": ...}, ...].
    parts = [
        part["text"]
        for part in _list(content)
        if isinstance(part, Mapping) and isinstance(part.get("text"), str)
    ]
    return "".join(parts)


def _parse_call(raw: object, index: int, *, what: str) -> ToolCall:
    if not isinstance(raw, Mapping):
        raise ModelError(f"{what}: tool_calls[{index}] is not an object")
    function = raw.get("function")
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise ModelError(f"{what}: tool_calls[{index}] has no function name")
    call_id = raw.get("id")
    arguments = function.get("arguments")
    return ToolCall(
        id=call_id if isinstance(call_id, str) and call_id else f"call_{index}",
        name=function["name"],
        arguments=_arguments(arguments),
    )


def _arguments(arguments: object) -> Mapping[str, object]:
    if isinstance(arguments, Mapping):  # llama-cpp-python may hand over a parsed object
        return dict(arguments)
    if arguments is None or arguments == "":
        return {}
    raw = arguments if isinstance(arguments, str) else str(arguments)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {_MALFORMED: raw}
    if not isinstance(parsed, dict):
        return {_MALFORMED: raw}
    return parsed


def _usage(usage: object) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    return Usage(
        input_tokens=_count(usage.get("prompt_tokens")),
        output_tokens=_count(usage.get("completion_tokens")),
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _short(value: object) -> str:
    if isinstance(value, Mapping) and isinstance(value.get("message"), str):
        value = value["message"]
    text = value if isinstance(value, str) else dump_json(value)
    return text[:300]


class OpenAICompatAdapter:
    """A model behind ``{base_url}/chat/completions``; ``api_key`` goes in
    ``Authorization: Bearer`` and nowhere else (local servers usually need none)."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 300.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model.strip():
            raise InputError("openai: the model name is empty")
        self.model = model
        self.base_url = check_base_url(base_url, what="openai")
        headers = {"accept": "application/json", "user-agent": "clearinghouse-evaluation/1"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self._poster = JsonPoster(
            what=f"openai model {model}",
            url=f"{self.base_url}/chat/completions",
            headers=headers,
            secrets=(api_key,),
            timeout_s=timeout_s,
            max_retries=max_retries,
            transport=transport,
            sleep=sleep,
        )
        self._limit_field = "max_tokens"

    @property
    def name(self) -> str:
        return f"openai:{self.model}@{self.base_url}"

    def close(self) -> None:
        self._poster.close()

    def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, max_tokens: int
    ) -> Completion:
        body: dict[str, object] = {"model": self.model, "messages": openai_messages(messages)}
        if tools:
            # "auto" is the API's default, but some servers (llama-cpp-python's function-calling
            # chat formats) drop the tools unless it is said explicitly.
            body["tools"] = openai_tools(tools)
            body["tool_choice"] = "auto"
        try:
            document = self._poster.post({**body, self._limit_field: max_tokens})
        except ModelError as error:
            if not (
                error.http_status == 400
                and self._limit_field == "max_tokens"
                and "max_completion_tokens" in error.detail
            ):
                raise
            self._limit_field = "max_completion_tokens"
            document = self._poster.post({**body, self._limit_field: max_tokens})
        return parse_openai_response(document, what=self._poster.what)
