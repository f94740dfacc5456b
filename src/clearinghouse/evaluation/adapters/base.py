"""What every model adapter shares: the conversation values, the protocol, the one error, and
the HTTP poster the remote adapters use.

A model adapter turns a conversation (:class:`Message`) and the tools on offer
(:class:`ToolSpec`) into one :class:`Completion`. The agent scaffold (``evaluation.agent``)
knows only this protocol, so a local llama.cpp model, a remote API and the deterministic
scripted agent are interchangeable, and a test can swap any of them for another.

:class:`JsonPoster` is the transport of the HTTP adapters: bounded retries with backoff on
429, 5xx and connection failures, a cap on the response size, and errors that never contain the
API key (the key is scrubbed from every message, including bodies a server echoes back).

The scaffold and the scripted agent share one contract, defined here so that neither imports
the other: the first user message carries a line ``Task: <id>`` (:func:`task_line`,
:func:`find_task_id`).

It does not: decide when to stop, run tools, or know any vendor's wire format (see
``openai_compat.py`` and ``anthropic.py``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import httpx
import orjson

from clearinghouse.core.errors import ClearinghouseError, InputError

logger = logging.getLogger(__name__)

__all__ = [
    "STOP_REASONS",
    "Completion",
    "JsonPoster",
    "Message",
    "ModelAdapter",
    "ModelError",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "check_base_url",
    "dump_json",
    "find_task_id",
    "scrub",
    "task_line",
]

#: What a completion may say about why the model stopped.
STOP_REASONS: Final = frozenset({"end", "tool_use", "max_tokens", "refusal", "error"})


class ModelError(ClearinghouseError):
    """The model could not be asked: transport, protocol or provider failure.

    ``http_status`` is the provider's HTTP status when there was one. The message never
    contains an API key.
    """

    status = 502
    title = "Model error"
    type_slug = "model-error"

    def __init__(self, detail: str, *, http_status: int | None = None) -> None:
        super().__init__(detail)
        self.http_status = http_status


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call; ``parameters`` is a JSON Schema object."""

    name: str
    description: str
    parameters: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for. Arguments that were not a JSON object arrive as
    ``{"_malformed": raw}``, so the scaffold can answer with an error instead of failing."""

    id: str
    name: str
    arguments: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of the conversation; ``tool_call_id`` links a ``tool`` result to its call."""

    role: str  # "system" | "user" | "assistant" | "tool"
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Completion:
    """What the model answered: text, tool calls, tokens, and why it stopped.

    ``refused`` is set when the provider itself says the model declined (OpenAI's
    ``message.refusal``, Anthropic's ``refusal`` stop reason).
    """

    content: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    stop_reason: str  # one of STOP_REASONS
    refused: bool = False


@runtime_checkable
class ModelAdapter(Protocol):
    """A model behind one call: the conversation so far in, one completion out."""

    @property
    def name(self) -> str: ...

    def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, max_tokens: int
    ) -> Completion: ...


# --- the task line contract -----------------------------------------------------------------

_TASK_PREFIX: Final = "Task: "
_TASK_LINE: Final = re.compile(r"^Task: (\S+)[ \t]*$", re.MULTILINE)


def task_line(task_id: str) -> str:
    """The line the scaffold puts first in the first user message."""
    return f"{_TASK_PREFIX}{task_id}"


def find_task_id(messages: Sequence[Message]) -> str | None:
    """The task id from the first user message's ``Task: <id>`` line, if there is one."""
    for message in messages:
        if message.role == "user":
            found = _TASK_LINE.search(message.content)
            return found.group(1) if found else None
    return None


# --- secrets and URLs -----------------------------------------------------------------------

_REDACTED: Final = "[redacted]"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret replaced by ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


def check_base_url(url: str, *, what: str) -> str:
    """``url`` without a trailing slash if it is an http(s) URL with a host and no credentials.

    Credentials in a URL would end up in error messages and in the adapter's name, which is
    stored with every evaluation run; keys go in settings instead.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise InputError(f"{what}: {url!r} is not a valid URL ({error})") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise InputError(f"{what}: base URL must be http(s)://HOST[:PORT][/PATH], got {url!r}")
    if parsed.userinfo:
        raise InputError(f"{what}: base URL must not carry credentials; configure the key")
    if parsed.query or parsed.fragment:
        raise InputError(f"{what}: base URL must not have a query or fragment")
    return url.rstrip("/")


# --- the HTTP transport of the remote adapters ------------------------------------------------

_RETRY_STATUSES: Final = frozenset({408, 409, 425, 429})
_BACKOFF_BASE_S: Final = 0.5
_BACKOFF_MAX_S: Final = 8.0
_RETRY_AFTER_MAX_S: Final = 30.0
_EXCERPT_CHARS: Final = 300
#: A chat completion is kilobytes; anything near this is not a model's answer.
MAX_RESPONSE_BYTES: Final = 8 * 1024 * 1024


class JsonPoster:
    """POSTs JSON to one endpoint and returns the decoded JSON answer, retrying what is
    worth retrying.

    Retried (at most ``max_retries`` times, exponential backoff from 0.5 s, capped at 8 s, or
    the server's ``Retry-After`` up to 30 s): 408, 409, 425, 429, every 5xx, connection errors
    and timeouts. Any other status is a :class:`ModelError` carrying the status and a short
    excerpt of the body. ``secrets`` are scrubbed from every error message. ``sleep`` and
    ``transport`` are injectable for tests.
    """

    def __init__(
        self,
        *,
        what: str,
        url: str,
        headers: Mapping[str, str],
        secrets: Iterable[str | None],
        timeout_s: float,
        max_retries: int,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout_s <= 0:
            raise InputError(f"{what}: timeout_s must be positive, got {timeout_s}")
        if max_retries < 0:
            raise InputError(f"{what}: max_retries must be at least 0, got {max_retries}")
        self.what = what
        self.url = url
        self._secrets = tuple(secret for secret in secrets if secret)
        self._max_retries = max_retries
        self._sleep = sleep
        # trust_env=False: no proxy settings or ~/.netrc credentials from the environment.
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout_s,
            follow_redirects=False,
            trust_env=False,
            headers=dict(headers),
        )

    def close(self) -> None:
        self._client.close()

    def post(self, body: Mapping[str, object]) -> object:
        """The decoded JSON of a 2xx answer to ``body``; raises :class:`ModelError`."""
        payload = orjson.dumps(body)
        attempt = 0
        while True:
            try:
                status, headers, content = self._post_once(payload)
            except httpx.TransportError as error:
                reason = f"{type(error).__name__}: {error}"
                if attempt >= self._max_retries:
                    raise self._error(f"could not reach {self.url} ({reason})") from None
                delay = _backoff(attempt)
            else:
                if 200 <= status < 300:
                    return self._decode(content)
                if status not in _RETRY_STATUSES and status < 500:
                    raise self._error(
                        f"HTTP {status} from {self.url}: {_excerpt(content)}", status=status
                    )
                if attempt >= self._max_retries:
                    raise self._error(
                        f"HTTP {status} from {self.url} after {attempt + 1} attempts: "
                        f"{_excerpt(content)}",
                        status=status,
                    )
                reason = f"HTTP {status}"
                delay = _retry_after(headers.get("retry-after")) or _backoff(attempt)
            attempt += 1
            logger.warning(
                "%s: %s; retry %d of %d in %.1f s",
                self.what,
                self._scrub(reason),
                attempt,
                self._max_retries,
                delay,
            )
            self._sleep(delay)

    def _post_once(self, payload: bytes) -> tuple[int, httpx.Headers, bytes]:
        with self._client.stream(
            "POST", self.url, content=payload, headers={"content-type": "application/json"}
        ) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise self._error(
                        f"the answer from {self.url} exceeds {MAX_RESPONSE_BYTES} bytes"
                    )
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks)

    def _decode(self, content: bytes) -> object:
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            raise self._error(
                f"the answer from {self.url} is not JSON: {_excerpt(content)}"
            ) from None

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _error(self, detail: str, *, status: int | None = None) -> ModelError:
        return ModelError(self._scrub(f"{self.what}: {detail}"), http_status=status)


def _backoff(attempt: int) -> float:
    return float(min(_BACKOFF_BASE_S * 2**attempt, _BACKOFF_MAX_S))


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is ignored), capped."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not seconds >= 0:  # also refuses NaN
        return None
    return min(seconds, _RETRY_AFTER_MAX_S)


def _excerpt(content: bytes) -> str:
    text = content.decode("utf-8", "replace").strip().replace("\n", " ")
    if len(text) > _EXCERPT_CHARS:
        return text[:_EXCERPT_CHARS] + "…"
    return text or "(empty body)"


def dump_json(value: object) -> str:
    """Compact JSON text (for tool arguments the wire formats want as a string)."""
    return orjson.dumps(value).decode("utf-8")
