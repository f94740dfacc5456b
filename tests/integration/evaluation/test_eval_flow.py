"""``eval run`` end to end: a model behind the OpenAI-compatible adapter (a loopback server
replaying a recorded transcript, as llama.cpp's server would answer) solves a starter task in
the real sandbox and is graded by reproduction; runs resume; a model error is unscored, not a
failure; an Inspect log written by inspect-ai becomes a run; and a designation is decided."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.audit.models import AuditEvent
from clearinghouse.evaluation.adapters.base import (
    Completion,
    Message,
    ModelAdapter,
    ToolSpec,
    find_task_id,
)
from clearinghouse.evaluation.agent import Budget
from clearinghouse.evaluation.models import EvalRun, EvalSample
from clearinghouse.evaluation.tasks import knowledge_choices, load_suite, starter_suite_dir
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import designation_flow, eval_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import POSTGRES_URL, OrgFactory, _reset_postgres
from tests.integration.evaluation.servers import ASSETS, ReplayServer, load_recording

KEY = "sk-test-7c1f0e9a2b"
BUDGET = Budget(max_steps=30, max_tokens=200_000, wall_time_s=300.0)


@pytest.fixture
def settings(searchable: Path, eval_sandbox: object) -> Settings:
    """A data directory the sandbox's user can reach, and a model key to keep secret."""
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    return Settings(
        data_dir=searchable / "data",
        database_url=POSTGRES_URL,
        openai_api_key=KEY,
        eval_workers=2,
    )


@pytest.fixture
def suite_id(runtime: Runtime) -> int:
    registered = eval_flow.register_suite(runtime, viewer=LOCAL_ADMIN)
    return int(registered["id"])


def test_a_model_behind_the_openai_adapter_solves_a_starter_task_graded_in_the_sandbox(
    runtime: Runtime, suite_id: int
) -> None:
    with ReplayServer(load_recording("openai_prove_tlv")) as server:
        report = eval_flow.run_model(
            runtime,
            viewer=LOCAL_ADMIN,
            suite_ref="starter",
            model_spec=f"openai:qwen2.5-coder@{server.url}",
            epochs=1,
            budget=BUDGET,
            tasks=["prove-tlv-read"],
        )
        received = server.requests
    prove = report["families"]["prove"]
    assert (prove["tasks"], prove["attempts"], prove["successes"]) == (1, 1, 1)
    [sample] = report["samples_detail"]
    assert sample["solved"] is True
    assert "Heap-buffer-overflow READ 1" in sample["explanation"]
    assert sample["stop"] == "submitted"
    assert sample["steps"] == 3
    assert sample["tokens"] == 1210 + 38 + 2480 + 96 + 2702 + 19
    # the adapter offered the agent's tools and sent the key only in the header
    tools = {tool["function"]["name"] for tool in received[0].body["tools"]}  # type: ignore[attr-defined]
    assert tools >= {"shell", "read_file", "write_file", "submit"}
    assert received[0].headers["authorization"] == f"Bearer {KEY}"
    # the shell really ran in the sandbox on the task's copy: the listing went back to the model
    tool_results = [m for m in received[1].messages() if m["role"] == "tool"]
    assert any("harness.c" in str(m["content"]) for m in tool_results)
    assert not any("clearinghouse-target.toml" in str(m["content"]) for m in tool_results)
    transcript = eval_flow.transcript(
        runtime, viewer=LOCAL_ADMIN, run_id=report["id"], sample_id=sample["id"]
    )
    assert KEY not in orjson.dumps(transcript).decode()
    with runtime.db.session() as session:
        details = " ".join(session.scalars(select(AuditEvent.detail)))
        run = session.get(EvalRun, report["id"])
        assert run is not None
        assert KEY not in details
        assert KEY not in run.model
        assert run.status == "done"


class _HostFailsOn:
    """Wraps a model; the evaluator's host (not the model) fails on one task."""

    def __init__(self, task_id: str, inner: ModelAdapter) -> None:
        self.task_id, self.inner = task_id, inner

    @property
    def name(self) -> str:
        return self.inner.name

    def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, max_tokens: int
    ) -> Completion:
        if find_task_id(messages) == self.task_id:
            raise RuntimeError("the evaluator's machine went away")
        return self.inner.complete(messages, tools, max_tokens=max_tokens)


def _script(path: Path, answers: dict[str, str]) -> str:
    path.write_bytes(
        orjson.dumps(
            {
                "name": "answers",
                "tasks": {
                    task: [{"tool": "submit", "arguments": {"answer": answer}}]
                    for task, answer in answers.items()
                },
            }
        )
    )
    return f"scripted:{path}"


def test_a_run_interrupted_by_a_host_failure_resumes_where_it_stopped(
    runtime: Runtime, suite_id: int, searchable: Path
) -> None:
    suite = load_suite(starter_suite_dir())
    knowledge = suite.task("knowledge-cwe-uaf")
    flag_task = suite.task("ctf-pin-gate")
    right = str(knowledge.grading["choice"])
    good = eval_flow.make_adapter(
        runtime, _script(searchable / "s.json", {knowledge.id: right, flag_task.id: "CH{no}"})
    )
    run_id = eval_flow.create_run(
        runtime,
        viewer=LOCAL_ADMIN,
        suite_ref="starter",
        model=good,
        epochs=1,
        budget=BUDGET,
        tasks=[knowledge.id, flag_task.id],
    )
    with pytest.raises(RuntimeError, match="went away"):
        eval_flow.execute_run(
            runtime, run_id=run_id, model=_HostFailsOn(flag_task.id, good), workers=1
        )
    with runtime.db.session() as session:
        rows = session.execute(select(EvalSample.task_id, EvalSample.status)).all()
        statuses = {row[0]: row[1] for row in rows}
        run = session.get(EvalRun, run_id)
        assert run is not None
        assert run.status == "queued"
    assert statuses == {knowledge.id: "done", flag_task.id: "pending"}  # nothing lost
    resumed = eval_flow.execute_run(runtime, run_id=run_id, model=good)
    assert resumed == {"run": run_id, "executed": 1, "status": "done"}
    report = eval_flow.report(runtime, viewer=LOCAL_ADMIN, run_id=run_id)
    assert report["families"]["knowledge"]["successes"] == 1
    assert report["families"]["ctf"]["successes"] == 0  # a wrong flag, scored


def test_a_model_error_is_unscored_never_a_failure(runtime: Runtime, suite_id: int) -> None:
    with ReplayServer(load_recording("openai_unauthorized")) as server:
        report = eval_flow.run_model(
            runtime,
            viewer=LOCAL_ADMIN,
            suite_ref="starter",
            model_spec=f"openai:m@{server.url}",
            epochs=2,
            budget=BUDGET,
            tasks=["knowledge-cvss-scope"],
        )
    knowledge = report["families"]["knowledge"]
    assert knowledge["unscored"] == 2
    assert knowledge["attempts"] == 0
    assert {row["stop"] for row in report["samples_detail"]} == {"model_error"}
    assert all(row["solved"] is None for row in report["samples_detail"])


def _inspect_log(root: Path, tasks: list[list[str]]) -> Path:
    out = root / "logs"
    out.mkdir()
    env = {
        **os.environ,
        "HOME": str(root),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "INSPECT_DISPLAY": "none",
    }
    done = subprocess.run(
        [
            sys.executable,
            str(ASSETS / "inspect" / "write_starter_log.py"),
            str(out),
            orjson.dumps(tasks).decode(),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out / (out / "log.txt").read_text()


def test_an_inspect_log_becomes_a_run_and_counts_for_a_designation(
    runtime: Runtime, suite_id: int, make_org: OrgFactory, tmp_path: Path
) -> None:
    pytest.importorskip("inspect_ai", reason="the inspect extra is not installed")
    suite = load_suite(starter_suite_dir())
    knowledge = [t for t in suite.tasks if t.family.value == "knowledge"]
    rows = [[t.id, t.prompt, str(t.grading["choice"])] for t in knowledge]
    assert all(knowledge_choices(t.prompt) for t in knowledge)
    log = _inspect_log(tmp_path, rows)

    from clearinghouse.access import service as access_service
    from clearinghouse.access.roles import OrgKind, Role

    make_org("dev", kind=OrgKind.MODEL_DEVELOPER)
    with runtime.db.session() as session:
        dev = access_service.viewer_for_org(
            access_service.get_org_by_name_or_raise(session, name="dev"), role=Role.ANALYST
        )
    model = designation_flow.register_model(
        runtime,
        viewer=dev,
        name="m",
        version="1",
        planned_release=runtime.clock.now() + dt.timedelta(days=60),
    )
    engagement = designation_flow.open_engagement(runtime, viewer=dev, model_id=model["id"])
    imported = eval_flow.import_inspect(
        runtime,
        viewer=LOCAL_ADMIN,
        path=log,
        suite_ref="starter",
        engagement_id=engagement["id"],
        steps_budget=50,
        tokens_budget=150_000,
    )
    assert imported["already_imported"] is False
    assert imported["log_sha256"] == hashlib.sha256(log.read_bytes()).hexdigest()
    assert imported["samples"]["done"] == 3 * len(knowledge)
    again = eval_flow.import_inspect(runtime, viewer=LOCAL_ADMIN, path=log, suite_ref="starter")
    assert again["already_imported"] is True
    report = eval_flow.report(runtime, viewer=LOCAL_ADMIN, run_id=imported["id"])
    expected = sum(1 for t in knowledge if t.grading["choice"] == "A")
    assert report["families"]["knowledge"]["successes"] == 3 * expected
    decided = designation_flow.decide(runtime, viewer=LOCAL_ADMIN, engagement_id=engagement["id"])
    assert decided["log_hashes"] == [imported["log_sha256"]]
    assert decided["suite_hashes"] == [load_suite(starter_suite_dir()).content_hash]
    # knowledge decides nothing, and no decisive family has results: cannot be ruled out
    assert decided["outcome_strict"] == "alert"
    families = {f["family"]: f for f in decided["decision"]["families"]}
    assert families["prove"]["state"] == "cannot_rule_out"
    assert "no results" in families["prove"]["reasons"]
