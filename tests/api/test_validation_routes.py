"""Validation over HTTP: real gcc builds of an example target, real bubblewrap.

The target ``c-heap-overflow-write`` is registered through the pipeline (registering reads a
local path: CLI only); an AI lab's submitter uploads an AMBER native finding with its proof,
reproduces it through ``POST /findings/{id}/validations``, reads the run back, and judges the
target's patches through ``POST /vulns/{id}/patches``. Other organizations see nothing of it
(404) and a viewer may not start a run (403).

The module's data directory lives under a 0755 directory (the sandbox's uid cannot search
pytest's 0700 temporary directories).
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearinghouse.access.roles import Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.tlp import Tlp
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import validation_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.api.conftest import API, OWNER, UNRELATED, World
from tests.conftest import POSTGRES_URL, _reset_postgres

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed"),
    pytest.mark.skipif(shutil.which("patch") is None, reason="patch is not installed"),
]

RLE = Path(str(resources.files("clearinghouse.validation") / "targets")) / "c-heap-overflow-write"


@pytest.fixture(scope="module")
def module_runtime() -> Iterator[Runtime]:
    """Overrides the conftest's: the world lives in a data directory the sandbox can search."""
    path = Path(tempfile.mkdtemp(prefix="clearinghouse-api-validation-"))
    path.chmod(0o755)
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    rt = Runtime.from_settings(Settings(data_dir=path / "data", database_url=POSTGRES_URL))
    rt.ensure_schema()
    yield rt
    rt.close()
    shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Reproduced:
    finding: int
    vuln: str
    run: dict[str, Any]


@pytest.fixture(scope="module")
def reproduced(world: World) -> Reproduced:
    validation_flow.add_target(world.runtime, viewer=LOCAL_ADMIN, path=RLE)
    proof = (RLE / "proofs" / "long-run.bin").read_bytes()
    document = orjson.dumps(
        {
            "format": "clearinghouse-findings",
            "version": "1.0",
            "findings": [
                {
                    "target": "pkg:generic/rle-decoder",
                    "file": "src/rle.c",
                    "line": 30,
                    "cwe": "CWE-787",
                    "title": "Heap overflow in rle_decode",
                    "proof": {"input_base64": base64.b64encode(proof).decode()},
                    "provenance": {"tool": "api-test-agent"},
                }
            ],
        }
    )
    outcome = world.upload(OWNER, document, tlp=Tlp.AMBER)
    (finding,) = world.findings_of(OWNER, int(outcome["submission"]))
    response = world.client.post(
        f"{API}/findings/{finding['id']}/validations",
        json={"repetitions": 1, "wait": True},
        headers=world.headers(OWNER, Role.SUBMITTER),
    )
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return Reproduced(finding=int(finding["id"]), vuln=str(run["vulnerability"]), run=run)


def test_targets_are_listed_for_any_role(world: World, reproduced: Reproduced) -> None:
    response = world.client.get(f"{API}/targets", headers=world.headers(UNRELATED, Role.VIEWER))
    assert response.status_code == 200, response.text
    assert [t["name"] for t in response.json()] == ["rle-decoder"]


def test_validation_with_wait_reproduces(world: World, reproduced: Reproduced) -> None:
    run = reproduced.run
    assert run["status"] == "done"
    assert run["verdict"] == "reproduced"
    assert run["validated"] is True
    assert run["crash_type"] == "Heap-buffer-overflow WRITE 1"
    assert run["finding"] == reproduced.finding
    assert run["log"]
    shown = world.client.get(
        f"{API}/validations/{run['id']}", headers=world.headers(OWNER, Role.VIEWER)
    )
    assert shown.status_code == 200, shown.text
    assert shown.json() == run


def test_validation_without_wait_is_queued(world: World, reproduced: Reproduced) -> None:
    response = world.client.post(
        f"{API}/findings/{reproduced.finding}/validations",
        json={},
        headers=world.headers(OWNER, Role.SUBMITTER),
    )
    assert response.status_code == 202, response.text
    doc = response.json()
    assert doc["status"] == "queued"
    assert doc["validated"] is False
    assert doc["repetitions"] == 3


def test_another_organization_sees_neither_finding_nor_run(
    world: World, reproduced: Reproduced
) -> None:
    run = world.client.get(
        f"{API}/validations/{reproduced.run['id']}", headers=world.headers(UNRELATED, Role.VIEWER)
    )
    assert run.status_code == 404, run.text
    assert run.json()["type"].endswith("/not-found")
    queued = world.client.post(
        f"{API}/findings/{reproduced.finding}/validations",
        json={"wait": False},
        headers=world.headers(UNRELATED, Role.SUBMITTER),
    )
    assert queued.status_code == 404, queued.text
    missing = world.client.get(
        f"{API}/validations/999999", headers=world.headers(OWNER, Role.VIEWER)
    )
    assert missing.status_code == 404


def test_a_viewer_may_not_validate(world: World, reproduced: Reproduced) -> None:
    response = world.client.post(
        f"{API}/findings/{reproduced.finding}/validations",
        json={"wait": True},
        headers=world.headers(OWNER, Role.VIEWER),
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("repetitions", [0, 11])
def test_repetitions_are_bounded(world: World, reproduced: Reproduced, repetitions: int) -> None:
    response = world.client.post(
        f"{API}/findings/{reproduced.finding}/validations",
        json={"repetitions": repetitions},
        headers=world.headers(OWNER, Role.SUBMITTER),
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("patch", "verdict"),
    [("fix-capacity-check.diff", "fixes"), ("memset-version.diff", "does_not_apply")],
)
def test_patches_get_their_verdicts(
    world: World, reproduced: Reproduced, patch: str, verdict: str
) -> None:
    response = world.client.post(
        f"{API}/vulns/{reproduced.vuln}/patches",
        content=(RLE / "patches" / patch).read_bytes(),
        params={"repetitions": 1},
        headers=world.headers(OWNER, Role.SUBMITTER),
    )
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["verdict"] == verdict, doc["evidence"]
    assert doc["vulnerability"] == reproduced.vuln
    assert doc["evidence"]["applied"] is (verdict != "does_not_apply")


@pytest.mark.parametrize("vuln", ["invisible", "CH-2000-99999", "nonsense"])
def test_patches_for_an_invisible_vulnerability_are_404(
    world: World, reproduced: Reproduced, vuln: str
) -> None:
    vuln_id = reproduced.vuln if vuln == "invisible" else vuln
    response = world.client.post(
        f"{API}/vulns/{vuln_id}/patches",
        content=(RLE / "patches" / "fix-capacity-check.diff").read_bytes(),
        headers=world.headers(UNRELATED, Role.SUBMITTER),
    )
    assert response.status_code == 404, response.text


def test_patches_need_a_reproduced_run(world: World, reproduced: Reproduced) -> None:
    vuln, _ = world.fresh_vuln(OWNER, Tlp.CLEAR)
    response = world.client.post(
        f"{API}/vulns/{vuln}/patches",
        content=(RLE / "patches" / "fix-capacity-check.diff").read_bytes(),
        headers=world.headers(OWNER, Role.SUBMITTER),
    )
    assert response.status_code == 400, response.text
    assert "no reproduced validation run" in response.json()["detail"]


def test_a_viewer_may_not_validate_patches(world: World, reproduced: Reproduced) -> None:
    response = world.client.post(
        f"{API}/vulns/{reproduced.vuln}/patches",
        content=b"--- a/x\n+++ b/x\n",
        headers=world.headers(OWNER, Role.VIEWER),
    )
    assert response.status_code == 403, response.text


def test_reading_a_restricted_run_is_audited(world: World, reproduced: Reproduced) -> None:
    """The run of an AMBER finding is an AMBER record: every read leaves an audit event."""
    from clearinghouse.audit import service as audit_service

    with world.runtime.db.session() as session:
        before = audit_service.recent(session, limit=1)[0].seq
    shown = world.client.get(
        f"{API}/validations/{reproduced.run['id']}", headers=world.headers(OWNER, Role.VIEWER)
    )
    assert shown.status_code == 200, shown.text
    with world.runtime.db.session() as session:
        (event,) = [e for e in audit_service.recent(session, limit=10) if e.seq > before]
    assert (event.action, event.object_type, event.tlp) == ("read", "validation_run", "AMBER")
    assert event.object_id == str(reproduced.run["id"])
