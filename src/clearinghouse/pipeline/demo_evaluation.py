"""The demo's frontier-model step: a confidential starter suite, a strong and a weak scripted
model run through the sandboxed agent and graded by reproduction, designation under the
default threshold policy with intervals shown, reviewer sign-off, the 30-day window (a request
for 31 days is refused), evaluator access and a trusted partner admitted by both sides.

The scripted models are deterministic stand-ins for real ones (behind the same adapter
protocol): their scripts are written here from the suite's reference answers, the strong one
solving most tasks and the weak one few. A real model runs the same way with
``eval run --model openai:MODEL@URL``.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from clearinghouse.access.visibility import Viewer
from clearinghouse.core.errors import ClearinghouseError
from clearinghouse.evaluation.tasks import (
    Suite,
    Task,
    load_suite,
    read_reference,
    starter_suite_dir,
)
from clearinghouse.pipeline import designation_flow, eval_flow
from clearinghouse.pipeline.runtime import Runtime

DEVELOPER = "Frontier Labs"
AGENCY = "National AI Evaluation Agency"
COORDINATOR = "Coordination Center"
PARTNER = "Acme Maintainers"

# Tasks the strong stand-in misses (so its intervals are not degenerate) and the few the weak
# one solves.
STRONG_MISSES = 2
WEAK_SOLVES = ("knowledge",)


def _turns(task: Task, *, solve: bool) -> list[dict[str, Any]]:
    answer = read_reference(task) if solve else b""
    if task.answer_kind == "text":
        text = answer.decode().strip() if solve else "I could not find it."
        return [{"tool": "submit", "arguments": {"answer": text}}]
    name = "fix.diff" if task.family.value == "patch" else "answer.bin"
    content = answer if solve else b"\x00"
    return [
        {"tool": "shell", "arguments": {"command": "ls"}},
        {
            "tool": "write_file",
            "arguments": {
                "path": name,
                "content": base64.b64encode(content).decode(),
                "encoding": "base64",
            },
        },
        {"tool": "submit", "arguments": {"file": name}},
    ]


def write_scripts(suite: Suite, directory: Path) -> tuple[Path, Path]:
    """Scripts for the strong and weak stand-ins, from the suite's reference answers."""
    directory.mkdir(parents=True, exist_ok=True)
    hardest = sorted(
        (t for t in suite.tasks if t.family.value in {"prove", "patch"}),
        key=lambda t: (-t.human_minutes, t.id),
    )[:STRONG_MISSES]
    missed = {t.id for t in hardest}
    strong = {
        "name": "strong-scripted",
        "tasks": {t.id: _turns(t, solve=t.id not in missed) for t in suite.tasks},
    }
    weak = {
        "name": "weak-scripted",
        "tasks": {t.id: _turns(t, solve=t.family.value in WEAK_SOLVES) for t in suite.tasks},
    }
    paths = directory / "strong.json", directory / "weak.json"
    for path, script in zip(paths, (strong, weak), strict=True):
        path.write_bytes(orjson.dumps(script, option=orjson.OPT_INDENT_2))
    return paths


def _interval(family: dict[str, Any]) -> str:
    low, high = family["interval"]
    return f"{family['rate']:.2f} [{low:.2f}, {high:.2f}]"


def evaluation_step(
    runtime: Runtime,
    *,
    root: Path,
    viewers: dict[str, Viewer],
    say: Callable[[str], None],
    epochs: int = 3,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    agency, developer = viewers[AGENCY], viewers[DEVELOPER]
    coordinator, partner = viewers[COORDINATOR], viewers[PARTNER]
    say("11. Frontier model assessment (voluntary; nothing here licenses or blocks a release):")
    suite = eval_flow.register_suite(
        runtime, viewer=agency, path=starter_suite_dir(), confidential=True, evaluators=[AGENCY]
    )
    out["suite"] = suite
    say(
        f"   {AGENCY} registers the starter suite as TLP:RED: {suite['tasks']} tasks "
        f"{suite['families']}, content {suite['content_hash'][:19]}..."
    )
    hidden = eval_flow.show_suite(runtime, viewer=coordinator, ref=str(suite["id"]))
    out["coordinator_sees_tasks"] = "task_list" in hidden
    say(f"   {COORDINATOR} (not a named evaluator) sees the tasks: {'task_list' in hidden}")

    now = runtime.clock.now()
    models = {}
    for name, days in (("frontier-x", 25), ("compact-y", 60)):
        model = designation_flow.register_model(
            runtime,
            viewer=developer,
            name=name,
            version="1.0",
            planned_release=now + dt.timedelta(days=days),
        )
        engagement = designation_flow.open_engagement(
            runtime, viewer=developer, model_id=model["id"]
        )
        models[name] = engagement["id"]
    say(f"   {DEVELOPER} registers frontier-x and compact-y and asks whether each is covered")

    strong, weak = write_scripts(load_suite(starter_suite_dir()), root / "scripted-models")
    runs: dict[str, Any] = {}
    for name, script in (("frontier-x", strong), ("compact-y", weak)):
        result = eval_flow.run_model(
            runtime,
            viewer=agency,
            suite_ref=str(suite["id"]),
            model_spec=f"scripted:{script}",
            epochs=epochs,
            engagement_id=models[name],
        )
        runs[name] = result
        shown = ", ".join(
            f"{family} {_interval(summary)}" for family, summary in result["families"].items()
        )
        say(f"   {name} ({script.stem} stand-in, {epochs} epochs): {shown}")
    out["runs"] = {name: {"id": r["id"], "families": r["families"]} for name, r in runs.items()}
    paired = eval_flow.report(
        runtime,
        viewer=agency,
        run_id=runs["frontier-x"]["id"],
        reference_run=runs["compact-y"]["id"],
    )["comparison"]["families"]
    out["paired"] = paired
    say(
        "   paired on the same tasks, frontier-x minus compact-y: "
        + ", ".join(
            f"{family} {c['difference']:+.2f} [{c['interval'][0]:+.2f}, {c['interval'][1]:+.2f}]"
            for family, c in paired.items()
            if family != "knowledge"
        )
    )

    decisions = {}
    for name in models:
        decided = designation_flow.decide(runtime, viewer=agency, engagement_id=models[name])
        final = designation_flow.sign_off(
            runtime, viewer=coordinator, designation_id=decided["id"], note="reviewed"
        )
        decisions[name] = final
        say(
            f"   {name}: {final['outcome']} (strict {final['outcome_strict']}, precautionary "
            f"{final['outcome_precautionary']}) under {final['policy']['name']} "
            f"{final['policy']['version']}, signed off by {COORDINATOR}"
        )
    out["designations"] = {name: d["outcome"] for name, d in decisions.items()}

    covered = models["frontier-x"]
    release = now + dt.timedelta(days=25)
    try:
        designation_flow.open_window(
            runtime,
            viewer=developer,
            engagement_id=covered,
            opens_at=release - dt.timedelta(days=31),
        )
        out["window_31_days"] = "accepted"
    except ClearinghouseError as error:
        out["window_31_days"] = str(error)
        say(f"   a window 31 days before release is refused: {error}")
    window = designation_flow.open_window(
        runtime, viewer=developer, engagement_id=covered, opens_at=now
    )
    out["window"] = window["window"]
    say(
        f"   {DEVELOPER} opens the pre-release window {window['window']['opens_at'][:10]} .. "
        f"{window['window']['closes_at'][:10]} (release)"
    )
    grant = designation_flow.grant_evaluator(
        runtime, viewer=developer, engagement_id=covered, organization=AGENCY
    )
    say(f"   {AGENCY} gets evaluator access until {grant['expires_at'][:10]} (expires by itself)")
    nominated = designation_flow.nominate(
        runtime,
        viewer=developer,
        engagement_id=covered,
        organization=PARTNER,
        reason="maintains software the model is likely to find flaws in",
    )
    admitted = designation_flow.decide_partner(
        runtime, viewer=coordinator, engagement_id=covered, organization=PARTNER, approve=True
    )
    out["partner"] = {"nominated": nominated["status"], "after_both": admitted["status"]}
    say(
        f"   {PARTNER}: {nominated['status']} by the developer, {admitted['status']} once the "
        "government approves too (early-access grant)"
    )
    used = designation_flow.record_access(
        runtime, viewer=partner, engagement_id=covered, purpose="early defensive testing"
    )
    out["partner_access"] = used["granted"]
    say(f"   {PARTNER} uses its access: recorded in the audit log (grant {used['grant']['id']})")
    return out
