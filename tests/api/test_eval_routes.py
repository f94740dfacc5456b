"""Confidential (TLP:RED) suites leak through no route: every organization kind and every role
reads every evaluation route, and only the named evaluator ever sees a task, a per-task result
or a transcript. Reference answers leave through no route, to anyone."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.api.app import create_app
from clearinghouse.evaluation.tasks import load_suite, read_reference, starter_suite_dir
from clearinghouse.pipeline import designation_flow, eval_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.conftest import OrgFactory, TokenFactory

API = "/api/v1"
ORGS = {
    "Evaluator Agency": OrgKind.AGENCY,
    "Other Agency": OrgKind.AGENCY,
    "Coordination": OrgKind.COORDINATOR,
    "Model Dev": OrgKind.MODEL_DEVELOPER,
    "Vendor Co": OrgKind.VENDOR,
    "Hospital": OrgKind.OPERATOR,
    "Some Lab": OrgKind.AI_LAB,
}
EVALUATOR = "Evaluator Agency"
ROLES = (Role.ADMIN, Role.ANALYST, Role.SUBMITTER, Role.VIEWER)


@dataclasses.dataclass
class Setup:
    client: TestClient
    tokens: dict[tuple[str, Role], str]
    suite_id: int
    run_id: int
    sample_id: int
    engagement_id: int
    designation_id: int
    task_ids: list[str]
    secrets: list[str]  # task ids, titles, prompt lines: the suite's content
    references: list[str]  # answers that must never leave


@pytest.fixture
def setup(
    runtime: Runtime, make_org: OrgFactory, make_token: TokenFactory, tmp_path: Path
) -> Iterator[Setup]:
    for name, kind in ORGS.items():
        make_org(name, kind=kind)
    tokens = {(name, role): make_token(name, role) for name in ORGS for role in ROLES}
    viewers = {}
    for name in ORGS:
        with runtime.db.session() as session:
            org = access_service.get_org_by_name_or_raise(session, name=name)
            viewers[name] = access_service.viewer_for_org(org, role=Role.ANALYST)
    suite = load_suite(starter_suite_dir())
    chosen = [t for t in suite.tasks if t.answer_kind == "text"][:4]
    registered = eval_flow.register_suite(
        runtime,
        viewer=viewers[EVALUATOR],
        path=starter_suite_dir(),
        confidential=True,
        evaluators=[EVALUATOR],
    )
    model = designation_flow.register_model(
        runtime,
        viewer=viewers["Model Dev"],
        name="m",
        version="1",
        planned_release=runtime.clock.now() + dt.timedelta(days=20),
    )
    engagement = designation_flow.open_engagement(
        runtime, viewer=viewers["Model Dev"], model_id=model["id"]
    )
    script = tmp_path / "script.json"
    script.write_bytes(
        orjson.dumps(
            {
                "name": "leaky-scripted",
                "tasks": {
                    t.id: [
                        {"say": f"thinking about {t.id}"},
                        {"tool": "submit", "arguments": {"answer": read_reference(t).decode()}},
                    ]
                    for t in chosen
                },
            }
        )
    )
    report = eval_flow.run_model(
        runtime,
        viewer=viewers[EVALUATOR],
        suite_ref=str(registered["id"]),
        model_spec=f"scripted:{script}",
        epochs=1,
        engagement_id=engagement["id"],
        tasks=[t.id for t in chosen],
    )
    decided = designation_flow.decide(
        runtime, viewer=viewers[EVALUATOR], engagement_id=engagement["id"]
    )
    secrets = [t.id for t in suite.tasks] + [t.title for t in suite.tasks]
    # flags (a one-letter knowledge answer is too short to look for in a response)
    flags = [t for t in chosen if t.family.value == "ctf"]
    assert flags
    references = [read_reference(t).decode("utf-8", "replace").strip() for t in flags]
    references += [base64.b64encode(read_reference(t)).decode() for t in flags]
    with TestClient(create_app(runtime)) as client:
        yield Setup(
            client=client,
            tokens=tokens,
            suite_id=registered["id"],
            run_id=report["id"],
            sample_id=report["samples_detail"][0]["id"],
            engagement_id=engagement["id"],
            designation_id=decided["id"],
            task_ids=[t.id for t in chosen],
            secrets=secrets,
            references=references,
        )


def _reads(s: Setup) -> list[str]:
    first = s.task_ids[0]
    return [
        "/eval/suites",
        f"/eval/suites/{s.suite_id}",
        f"/eval/suites/{s.suite_id}/tasks/{first}",
        "/eval/runs",
        f"/eval/runs/{s.run_id}",
        f"/eval/runs/{s.run_id}/samples/{s.sample_id}/transcript",
        f"/engagements/{s.engagement_id}",
        f"/designations/{s.designation_id}",
    ]


def test_confidential_suite_content_reaches_only_its_named_evaluator(setup: Setup) -> None:
    for (org, role), token in setup.tokens.items():
        headers = {"Authorization": f"Bearer {token}"}
        for path in _reads(setup):
            response = setup.client.get(f"{API}{path}", headers=headers)
            assert response.status_code < 500, (org, role, path, response.text)
            body = response.text
            if org == EVALUATOR:
                # the evaluator reads the model's transcript, which holds what the model
                # submitted (here the right flag); nothing else ever carries a reference
                if not path.endswith("/transcript"):
                    for reference in setup.references:
                        assert reference not in body, (org, role, path)
                continue
            for reference in setup.references:
                assert reference not in body, (org, role, path)
            if "/tasks/" in path:  # a 404 echoes the id the caller asked for, nothing more
                assert response.status_code == 404, (org, role, path)
                body = body.replace(path.rsplit("/", 1)[-1], "")
            leaked = [secret for secret in setup.secrets if secret in body]
            assert not leaked, (org, role, path, leaked[:3])


def test_the_evaluator_sees_content_and_the_developer_sees_statistics(setup: Setup) -> None:
    def get(org: str, path: str) -> dict[str, object]:
        headers = {"Authorization": f"Bearer {setup.tokens[(org, Role.VIEWER)]}"}
        response = setup.client.get(f"{API}{path}", headers=headers)
        assert response.status_code == 200, response.text
        document: dict[str, object] = response.json()
        return document

    shown = get(EVALUATOR, f"/eval/suites/{setup.suite_id}")
    assert shown["content_visible"] is True
    assert {t["id"] for t in shown["task_list"]} >= set(setup.task_ids)  # type: ignore[attr-defined]
    report = get(EVALUATOR, f"/eval/runs/{setup.run_id}")
    assert {row["task"] for row in report["samples_detail"]} == set(setup.task_ids)  # type: ignore[attr-defined]
    # the developer of the engaged model sees its run's per-family statistics, no tasks
    theirs = get("Model Dev", f"/eval/runs/{setup.run_id}")
    assert "samples_detail" not in theirs
    assert theirs["families"]
    engagement = get("Model Dev", f"/engagements/{setup.engagement_id}")
    assert engagement["designation"]
    # an unrelated organization cannot even see that the run exists
    headers = {"Authorization": f"Bearer {setup.tokens[('Some Lab', Role.ADMIN)]}"}
    assert setup.client.get(f"{API}/eval/runs/{setup.run_id}", headers=headers).status_code == 404
