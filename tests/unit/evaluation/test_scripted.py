"""The scripted agent: strict script files, and turns played by task and position.

What tests and the demo rely on: a script plays the turns listed for the task named on the
conversation's ``Task: <id>`` line (``default`` otherwise), one per assistant turn already in
the conversation; runs out by saying so without a tool call; reports plausible tokens; and a
misspelt script is refused with the JSON pointer of the mistake.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clearinghouse.core.errors import InputError, SchemaError
from clearinghouse.evaluation.adapters.base import (
    Message,
    ModelAdapter,
    ToolCall,
    ToolSpec,
    find_task_id,
    task_line,
)
from clearinghouse.evaluation.adapters.scripted import (
    EXHAUSTED,
    SCRIPTS,
    ScriptedAdapter,
    load_script,
    parse_script,
)

SCRIPT = {
    "name": "weak-scripted",
    "description": "solves one task",
    "tasks": {
        "prove-x": [
            {"tool": "shell", "arguments": {"command": "ls"}},
            {"tool": "submit", "arguments": {"file": "proof.bin"}},
        ],
        "ctf-y": [{"refuse": "I won't do that."}],
    },
    "default": [{"say": "I give up."}],
}
TOOLS = (ToolSpec(name="shell", description="run", parameters={"type": "object"}),)


def conversation(task_id: str, *, assistant_turns: int = 0) -> list[Message]:
    messages = [
        Message(role="system", content="You are evaluated."),
        Message(role="user", content=f"{task_line(task_id)}\n\nDo the task."),
    ]
    for index in range(assistant_turns):
        call = ToolCall(id=f"c{index}", name="shell", arguments={"command": "ls"})
        messages.append(Message(role="assistant", content="", tool_calls=(call,)))
        messages.append(Message(role="tool", content="ok", tool_call_id=f"c{index}"))
    return messages


def test_plays_the_tasks_turns_in_order() -> None:
    adapter = ScriptedAdapter(parse_script(SCRIPT))
    assert adapter.name == "scripted:weak-scripted"
    assert isinstance(adapter, ModelAdapter)
    first = adapter.complete(conversation("prove-x"), TOOLS, max_tokens=100)
    assert [(call.name, dict(call.arguments)) for call in first.tool_calls] == [
        ("shell", {"command": "ls"})
    ]
    assert first.stop_reason == "tool_use"
    second = adapter.complete(conversation("prove-x", assistant_turns=1), TOOLS, max_tokens=100)
    assert second.tool_calls[0].name == "submit"
    assert second.tool_calls[0].arguments == {"file": "proof.bin"}
    assert first.tool_calls[0].id != second.tool_calls[0].id
    done = adapter.complete(conversation("prove-x", assistant_turns=2), TOOLS, max_tokens=100)
    assert done.content == EXHAUSTED
    assert done.tool_calls == ()
    assert done.stop_reason == "end"


def test_unknown_tasks_get_the_default_and_refusals_are_refusals() -> None:
    adapter = ScriptedAdapter(parse_script(SCRIPT))
    other = adapter.complete(conversation("knowledge-z"), TOOLS, max_tokens=100)
    assert other.content == "I give up."
    assert not other.refused
    refused = adapter.complete(conversation("ctf-y"), TOOLS, max_tokens=100)
    assert refused.refused
    assert refused.stop_reason == "refusal"
    assert refused.content == "I won't do that."
    no_task = adapter.complete([Message(role="user", content="hello")], TOOLS, max_tokens=100)
    assert no_task.content == "I give up."


def test_token_usage_is_plausible() -> None:
    adapter = ScriptedAdapter(parse_script(SCRIPT))
    short = adapter.complete(conversation("prove-x"), TOOLS, max_tokens=100)
    long = adapter.complete(conversation("prove-x", assistant_turns=1), TOOLS, max_tokens=100)
    assert 0 < short.usage.input_tokens < long.usage.input_tokens
    assert short.usage.output_tokens >= 1
    said = adapter.complete(conversation("other"), TOOLS, max_tokens=100)
    assert said.usage.output_tokens == max(1, len("I give up.") // 4)


def test_task_line_contract() -> None:
    assert task_line("prove-x") == "Task: prove-x"
    messages = [
        Message(role="system", content="Task: not-this-one"),
        Message(role="user", content="Intro\nTask: prove-x\n\nmore"),
        Message(role="user", content="Task: later"),
    ]
    assert find_task_id(messages) == "prove-x"
    assert find_task_id([Message(role="user", content="no task here")]) is None
    assert find_task_id([]) is None


def test_load_script_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text('{"name": "file-script", "tasks": {"a": [{"say": "hi"}]}}')
    script = load_script(path)
    assert script.name == "file-script"
    assert script.default == ()
    assert script.turns_for("a")[0].text == "hi"


@pytest.mark.parametrize(
    ("document", "pointer", "expected"),
    [
        ([], "", "an object"),
        ({"name": "x"}, "", "at least one of"),
        ({"name": "", "default": []}, "/name", "non-empty string"),
        ({"name": "x", "default": [], "extra": 1}, "/extra", "no such field"),
        ({"name": "x", "tasks": []}, "/tasks", "an object mapping"),
        ({"name": "x", "tasks": {"a/b": {}}}, "/tasks/a~1b", "a list of turns"),
        ({"name": "x", "default": [{}]}, "/default/0", "exactly one of"),
        ({"name": "x", "default": [{"say": "a", "refuse": "b"}]}, "/default/0", "exactly one"),
        ({"name": "x", "default": [{"say": 3}]}, "/default/0/say", "a string"),
        ({"name": "x", "default": [{"tool": ""}]}, "/default/0/tool", "a tool name"),
        ({"name": "x", "default": [{"tool": "t", "arguments": []}]}, "/default/0/arguments", ""),
        ({"name": "x", "default": [{"tool": "t", "argument": {}}]}, "/default/0/argument", ""),
        ({"name": "x", "default": [{"say": "a", "arguments": {}}]}, "/default/0/arguments", ""),
        ({"name": "x", "description": 1, "default": []}, "/description", "a string"),
        ({"name": "x", "default": "say hi"}, "/default", "a list of turns"),
    ],
)
def test_scripts_are_validated_strictly(document: object, pointer: str, expected: str) -> None:
    with pytest.raises(SchemaError) as raised:
        parse_script(document, source="test.json")
    assert raised.value.pointer == pointer
    assert expected in raised.value.expected
    assert "test.json" in str(raised.value)


def test_unreadable_or_invalid_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the script"):
        load_script(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(InputError, match="is not JSON"):
        load_script(broken)


def test_packaged_scripts_load() -> None:
    for name, path in SCRIPTS.items():
        script = load_script(path)
        assert script.name == name
