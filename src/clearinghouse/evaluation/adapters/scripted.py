"""A deterministic agent behind the model protocol, for tests and the demo.

A script is JSON::

    {"name": "weak-scripted",
     "description": "optional",
     "tasks": {"<task id>": [<turn>, ...]},
     "default": [<turn>, ...]}

where a turn is ``{"tool": "<name>", "arguments": {...}}``, ``{"say": "text"}`` or
``{"refuse": "text"}``. The adapter reads the task id from the ``Task: <id>`` line the scaffold
puts in the first user message (``base.find_task_id``), counts the assistant turns already in
the conversation, and plays that turn of the task's list (``default`` for tasks the script does
not name). A script that has run out says so without calling a tool, which the scaffold treats
as giving up. Token usage is a plausible estimate (four characters a token), so budgets and
reports behave as they would with a model.

Scripts are validated strictly when loaded: a misspelt field is an error naming its JSON
pointer, not a silently idle agent. :data:`SCRIPTS` names the scripts packaged beside this
module (``scripts/*.json``).

It does not: look at tool results (a script is a fixed plan, not a policy) or grade anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final, TypeAlias

import orjson

from clearinghouse.core.errors import InputError, SchemaError
from clearinghouse.evaluation.adapters.base import (
    Completion,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    dump_json,
    find_task_id,
)

__all__ = [
    "EXHAUSTED",
    "SCRIPTS",
    "Script",
    "ScriptedAdapter",
    "Turn",
    "load_script",
    "parse_script",
]

#: What a script says when it has no turn left.
EXHAUSTED: Final = "(the script has no further turns)"
MAX_SCRIPT_BYTES: Final = 4 * 1024 * 1024
_CHARS_PER_TOKEN: Final = 4
_SCRIPT_KEYS: Final = frozenset({"name", "description", "tasks", "default"})
_TURN_KINDS: Final = ("tool", "say", "refuse")

#: Makes the error for a JSON pointer and what was expected there.
_Fail: TypeAlias = Callable[[str, str], SchemaError]


@dataclass(frozen=True, slots=True)
class Turn:
    """One scripted assistant turn: a tool call, plain text, or a refusal."""

    kind: str  # "tool" | "say" | "refuse"
    text: str = ""  # the tool's name for "tool"
    arguments: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class Script:
    name: str
    description: str
    tasks: Mapping[str, tuple[Turn, ...]]
    default: tuple[Turn, ...]

    def turns_for(self, task_id: str | None) -> tuple[Turn, ...]:
        if task_id is not None and task_id in self.tasks:
            return self.tasks[task_id]
        return self.default


def _packaged_scripts() -> dict[str, Path]:
    folder = Path(str(resources.files("clearinghouse.evaluation.adapters") / "scripts"))
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.json"))}


#: Scripts shipped with the clearinghouse, by name (``scripted:NAME``).
SCRIPTS: Final[Mapping[str, Path]] = _packaged_scripts()


def load_script(path: Path) -> Script:
    """Read and validate a script file; raises :class:`InputError` naming the problem."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SCRIPT_BYTES + 1)
    except OSError as error:
        raise InputError(f"cannot read the script {path}: {error.strerror}") from None
    if len(data) > MAX_SCRIPT_BYTES:
        raise InputError(f"the script {path} is over {MAX_SCRIPT_BYTES} bytes")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise InputError(f"the script {path} is not JSON: {error}") from None
    return parse_script(document, source=str(path))


def parse_script(document: object, *, source: str = "script") -> Script:
    """A validated :class:`Script` from decoded JSON; raises :class:`SchemaError`."""

    def fail(pointer: str, expected: str) -> SchemaError:
        return SchemaError(pointer, expected, document=f"scripted agent {source}")

    if not isinstance(document, dict):
        raise fail("", "an object with 'name', 'tasks' and 'default'")
    unknown = sorted(set(document) - _SCRIPT_KEYS)
    if unknown:
        raise fail(f"/{unknown[0]}", f"no such field (allowed: {', '.join(sorted(_SCRIPT_KEYS))})")
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("/name", "a non-empty string")
    description = document.get("description", "")
    if not isinstance(description, str):
        raise fail("/description", "a string")
    tasks = document.get("tasks", {})
    if not isinstance(tasks, dict):
        raise fail("/tasks", "an object mapping task ids to lists of turns")
    if "tasks" not in document and "default" not in document:
        raise fail("", "at least one of 'tasks' and 'default'")
    parsed_tasks = {
        task_id: _turns(turns, f"/tasks/{_escape(task_id)}", fail)
        for task_id, turns in tasks.items()
    }
    default = _turns(document.get("default", []), "/default", fail)
    return Script(name=name, description=description, tasks=parsed_tasks, default=default)


def _turns(value: object, pointer: str, fail: _Fail) -> tuple[Turn, ...]:
    if not isinstance(value, list):
        raise fail(pointer, "a list of turns")
    return tuple(_turn(item, f"{pointer}/{index}", fail) for index, item in enumerate(value))


def _turn(value: object, pointer: str, fail: _Fail) -> Turn:
    if not isinstance(value, dict):
        raise fail(
            pointer, 'a turn: {"tool": ..., "arguments": {...}}, {"say": ...} or {"refuse": ...}'
        )
    kinds = [kind for kind in _TURN_KINDS if kind in value]
    if len(kinds) != 1:
        raise fail(pointer, "exactly one of 'tool', 'say' and 'refuse'")
    kind = kinds[0]
    allowed = {"tool", "arguments"} if kind == "tool" else {kind}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise fail(f"{pointer}/{_escape(unknown[0])}", f"no such field in a {kind!r} turn")
    text = value[kind]
    if not isinstance(text, str) or (kind == "tool" and not text):
        raise fail(f"{pointer}/{kind}", "a tool name" if kind == "tool" else "a string")
    if kind != "tool":
        return Turn(kind=kind, text=text)
    arguments = value.get("arguments", {})
    if not isinstance(arguments, dict):
        raise fail(f"{pointer}/arguments", "an object of tool arguments")
    return Turn(kind="tool", text=text, arguments=arguments)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class ScriptedAdapter:
    """Plays a :class:`Script`, one turn per call."""

    def __init__(self, script: Script) -> None:
        self.script = script

    @classmethod
    def from_path(cls, path: Path) -> ScriptedAdapter:
        return cls(load_script(path))

    @property
    def name(self) -> str:
        return f"scripted:{self.script.name}"

    def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, max_tokens: int
    ) -> Completion:
        turns = self.script.turns_for(find_task_id(messages))
        index = sum(1 for message in messages if message.role == "assistant")
        prompt_chars = sum(_chars(message) for message in messages) + sum(
            len(dump_json(dict(tool.parameters))) + len(tool.description) for tool in tools
        )
        usage_in = max(1, prompt_chars // _CHARS_PER_TOKEN)
        if index >= len(turns):
            return _said(EXHAUSTED, usage_in, stop="end")
        turn = turns[index]
        if turn.kind == "say":
            return _said(turn.text, usage_in, stop="end")
        if turn.kind == "refuse":
            return _said(turn.text, usage_in, stop="refusal", refused=True)
        arguments = dict(turn.arguments or {})
        call = ToolCall(id=f"scripted-{index}", name=turn.text, arguments=arguments)
        output = len(turn.text) + len(dump_json(arguments))
        return Completion(
            content="",
            tool_calls=(call,),
            usage=Usage(input_tokens=usage_in, output_tokens=max(1, output // _CHARS_PER_TOKEN)),
            stop_reason="tool_use",
        )


def _chars(message: Message) -> int:
    calls = sum(
        len(call.name) + len(dump_json(dict(call.arguments))) for call in message.tool_calls
    )
    return len(message.content) + calls


def _said(text: str, usage_in: int, *, stop: str, refused: bool = False) -> Completion:
    return Completion(
        content=text,
        tool_calls=(),
        usage=Usage(input_tokens=usage_in, output_tokens=max(1, len(text) // _CHARS_PER_TOKEN)),
        stop_reason=stop,
        refused=refused,
    )
