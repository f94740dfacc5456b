"""Extra records for the case-room tests, on top of the web world (``tests.web.world``): a
finding with a real proof against the ``python-uncaught-exception`` example target, reproduced
in the sandbox, and a case a coordinator opened on its vulnerability with the world's vendor.

Participants: Coordination Center (coordinator), Lab Alpha (the finder: reporter) and Acme
Maintainers (vendor); Lab Beta and the hospital take no part.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.core.tlp import Tlp
from clearinghouse.pipeline import case_flow, intake_flow, submit_flow, validation_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.target import DOCUMENT, parse_manifest
from tests.web.world import COORDINATOR, GRANTED, OWNER, World

TARGET = (
    Path(str(resources.files("clearinghouse.validation") / "targets")) / "python-uncaught-exception"
)
FIXING_PATCH = TARGET / "patches" / "check-chunk-fits.diff"
NOT_FIXING_PATCH = TARGET / "patches" / "check-data-slice.diff"
PRODUCT = "pkg:generic/chunk-reader"


@dataclass(frozen=True, slots=True)
class CaseWorld:
    world: World
    case: str  # CASE-YYYY-NNNN
    vuln: str  # its one vulnerability, reproduced
    title: str


def reproduced_vulnerability(
    rt: Runtime, finder: Viewer, *, title: str, share: tuple[str, ...], line: int = 20
) -> str:
    """An AMBER finding with the target's proof, reproduced in the sandbox; its vulnerability."""
    manifest = parse_manifest((TARGET / DOCUMENT).read_bytes())
    validation_flow.add_target(rt, viewer=LOCAL_ADMIN, path=TARGET)
    proof = (TARGET / manifest.proofs[0].file).read_bytes()
    finding: dict[str, Any] = {
        "target": f"pkg:generic/{manifest.name}",
        "file": "chunks.py",
        "line": line,
        "title": title,
        "proof": {"input_base64": base64.b64encode(proof).decode()},
        "provenance": {"tool": "case-room-test-agent"},
    }
    document = orjson.dumps(
        {"format": "clearinghouse-findings", "version": "1.0", "findings": [finding]}
    )
    assert finder.organization is not None
    _, submitted = submit_flow.submit(
        rt,
        intake_flow.ImportRequest(
            organization=finder.organization, chunks=[document], tlp=Tlp.AMBER, share_with=share
        ),
        viewer=finder,
    )
    [queued] = submitted["validations"]["queued"]
    validation_flow.execute_run(rt, run_id=int(queued["run"]))
    run = validation_flow.show_run(rt, run_id=int(queued["run"]))
    assert run["verdict"] == "reproduced", run
    return str(run["vulnerability"])


def open_case(rt: Runtime, coordinator: Viewer, *, vuln: str, vendors: list[str]) -> str:
    opened = case_flow.open_case(rt, viewer=coordinator, vuln_ids=[vuln], vendors=vendors)
    return str(opened["id"])


def build_case_world(world: World) -> CaseWorld:
    rt = world.runtime
    title = "Crash on a truncated chunk in chunk-reader"
    vuln = reproduced_vulnerability(
        rt, world.viewers[OWNER.key], title=title, share=(GRANTED.name,)
    )
    case = open_case(rt, world.viewers[COORDINATOR.key], vuln=vuln, vendors=[GRANTED.name])
    return CaseWorld(world=world, case=case, vuln=vuln, title=title)
