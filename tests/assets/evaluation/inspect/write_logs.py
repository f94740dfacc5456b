"""Write real Inspect logs with inspect-ai's ``mockllm`` model: ``python write_logs.py OUT_DIR``.

Run in a child process by ``tests/integration/evaluation/test_inspect_log.py`` so that what
``inspect_ai.eval`` does to the process (root logger handlers, event-loop patches, its data
directory) stays out of the test session. Needs no network: the mock model's outputs and token
usage are given here (its default usage counting would download a tokenizer).

Writes ``manifest.json`` naming each log by role:

- ``run_eval`` / ``run_json``: one task, 4 samples x 2 epochs, ``includes()`` scorer, written
  as ``.eval`` and again (a second run) as ``.json``; ``run_eval_as_json`` is the ``.eval``
  run rewritten as ``.json`` by Inspect. ``prove-x`` and ``three`` (integer id 3)
  are correct, ``patch-y`` is not, ``kn-1`` names its task ``knowledge-z`` in metadata.
- ``verdicts``: one epoch; a ``verdict`` scorer returns the value in each sample's metadata
  (``C``, ``I``, ``P``, ``N``, 1.0, 0.5, True, False, an unscored NaN, no score, an exception,
  an unknown string); ``includes()`` scores second; ``explode`` makes the model itself fail.
- ``failed``: every sample errors with ``fail_on_error=True``: status ``error``.
- ``header_eval`` / ``header_json``: the header of ``run_eval`` rewritten with status
  ``started`` and no samples; ``crashed_eval``: only the journal's ``start.json`` of a run.
- ``invalidated``: ``run_json`` with ``prove-x`` epoch 1 invalidated by a reviewer.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import (
    ProvenanceData,
    invalidate_samples,
    read_eval_log,
    write_eval_log,
)
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import Score, Target, accuracy, includes, scorer
from inspect_ai.solver import TaskState, generate

INPUT_TOKENS = 10
CACHE_READ_TOKENS = 3


def respond(messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
    """Echo the prompt in capitals; token counts are fixed so the test can check the sums."""
    text = messages[-1].text
    if text == "explode":
        raise RuntimeError("the model exploded")
    content = f"answer: {text.upper()}"
    output = ModelOutput.from_content(model="mockllm/model", content=content)
    output.usage = ModelUsage(
        input_tokens=INPUT_TOKENS,
        output_tokens=len(content),
        total_tokens=INPUT_TOKENS + CACHE_READ_TOKENS + len(content),
        input_tokens_cache_read=CACHE_READ_TOKENS,
    )
    return output


@scorer(metrics=[accuracy()])
def verdict() -> Any:
    async def score(state: TaskState, target: Target) -> Score | None:
        value = state.metadata["verdict"]
        if value == "raise":
            raise RuntimeError("the grader broke")
        if value == "none":
            return None
        if value == "nan":
            return Score.unscored(reason="grader_failed", explanation="no verdict parsed")
        return Score(value=value)

    return score


def main(out: Path) -> None:
    model = get_model("mockllm/model", custom_outputs=respond)
    manifest: dict[str, str] = {}

    run = Task(
        name="clearinghouse-probe",
        dataset=[
            Sample(id="prove-x", input="alpha", target="ALPHA"),
            Sample(id="patch-y", input="bravo", target="nothing like it"),
            Sample(id=3, input="gamma", target="GAMMA"),
            Sample(id="kn-1", input="delta", target="DELTA", metadata={"task_id": "knowledge-z"}),
        ],
        solver=generate(),
        scorer=includes(),
    )
    for role, log_format in (("run_eval", "eval"), ("run_json", "json")):
        (log,) = eval(
            run, model=model, epochs=2, log_dir=str(out), log_format=log_format, display="none"
        )
        manifest[role] = Path(log.location).name
    # The same run in the other format, converted by Inspect itself.
    write_eval_log(read_eval_log(out / manifest["run_eval"]), str(out / "run-eval-as.json"))
    manifest["run_eval_as_json"] = "run-eval-as.json"

    cases: dict[str, object] = {
        "c": "C",
        "i": "I",
        "p": "P",
        "n": "N",
        "one": 1.0,
        "half": 0.5,
        "true": True,
        "false": False,
        "nan": "nan",
        "none": "none",
        "raise": "raise",
        "weird": "maybe",
    }
    verdicts = Task(
        name="clearinghouse-verdicts",
        dataset=[
            *(
                Sample(id=f"case-{key}", input=key, target=key.upper(), metadata={"verdict": value})
                for key, value in cases.items()
            ),
            Sample(id="case-explode", input="explode", target="x", metadata={"verdict": "C"}),
        ],
        solver=generate(),
        scorer=[verdict(), includes()],
    )
    (log,) = eval(
        verdicts,
        model=model,
        epochs=1,
        log_dir=str(out),
        log_format="eval",
        display="none",
        fail_on_error=False,
    )
    manifest["verdicts"] = Path(log.location).name

    failing = Task(
        name="clearinghouse-failing",
        dataset=[Sample(id="boom", input="explode", target="x")],
        solver=generate(),
        scorer=includes(),
    )
    (log,) = eval(
        failing,
        model=model,
        log_dir=str(out),
        log_format="json",
        display="none",
        fail_on_error=True,
    )
    manifest["failed"] = Path(log.location).name

    header = read_eval_log(out / manifest["run_eval"], header_only=True)
    header.status = "started"
    header.results = None
    for role, suffix in (("header_eval", "eval"), ("header_json", "json")):
        write_eval_log(header, str(out / f"header-only.{suffix}"))
        manifest[role] = f"header-only.{suffix}"

    with (
        zipfile.ZipFile(out / manifest["run_eval"]) as source,
        zipfile.ZipFile(out / "crashed.eval", "w") as crashed,
    ):
        crashed.writestr("_journal/start.json", source.read("_journal/start.json"))
    manifest["crashed_eval"] = "crashed.eval"

    full = read_eval_log(out / manifest["run_json"])
    target = next(s for s in full.samples or () if s.id == "prove-x" and s.epoch == 1)
    assert target.uuid is not None
    invalidated = invalidate_samples(
        full, [target.uuid], ProvenanceData(author="reviewer", reason="the answer leaked")
    )
    write_eval_log(invalidated, str(out / "invalidated.json"))
    manifest["invalidated"] = "invalidated.json"

    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
