"""Write a real Inspect log whose sample ids are starter-suite task ids:
``python write_starter_log.py OUT_DIR``. The mockllm model always answers "A", so the
knowledge questions whose answer is A are scored correct and the others incorrect.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import match

TASKS = json.loads(sys.argv[2])  # [[task id, prompt, choice], ...]


def respond(messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
    output = ModelOutput.from_content(model="mockllm/model", content="A")
    output.usage = ModelUsage(input_tokens=100, output_tokens=1, total_tokens=101)
    return output


def main(out: Path) -> None:
    model = get_model("mockllm/model", custom_outputs=respond)
    task = Task(
        name="starter-knowledge",
        dataset=[Sample(id=ident, input=prompt, target=choice) for ident, prompt, choice in TASKS],
        scorer=match(),
    )
    (log,) = eval(task, model=model, epochs=3, log_dir=str(out), log_format="eval", display="none")
    (out / "log.txt").write_text(Path(log.location).name)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
