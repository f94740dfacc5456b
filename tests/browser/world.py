"""The world the browser journeys walk through, built through the pipeline as the demo builds
its own: six organizations (one per kind of user the pages serve) with a sign-in token each (and
a password user at the vendor), two vulnerabilities and an engagement whose model was run,
decided "covered" and signed off.

* ``public-osv.json`` (the coordinator, TLP:CLEAR) and ``vendor-csaf.json`` (the vendor, CLEAR)
  describe one flaw: one vulnerability with two finders in credit order, seen by everyone.
* An AI lab's proof of vulnerability against the ``python-uncaught-exception`` example target,
  TLP:AMBER shared with the vendor only: reproduced in the sandbox at import, so its page has a
  validation run with a verdict, a crash signature and a log; the operator may not see it.
* The model developer registers a model and engages; the agency runs it (a scripted stand-in
  answering the suite's text tasks: capture-the-flag and knowledge, three epochs) and decides;
  the coordinator signs off; the developer opens the pre-release window and nominates the vendor
  as a trusted partner, which leaves the government's approval to the journey.

It does not start a server or a browser (``conftest.py`` does).
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.core.tlp import Tlp
from clearinghouse.evaluation.tasks import load_suite, read_reference, starter_suite_dir
from clearinghouse.pipeline import (
    admin_flow,
    designation_flow,
    eval_flow,
    intake_flow,
    read_flow,
    submit_flow,
    validation_flow,
)
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.target import DOCUMENT, parse_manifest
from clearinghouse.web import auth

COORDINATOR = "Coordination Center"
LAB = "Lab Alpha"
VENDOR = "Acme Maintainers"
OPERATOR = "Valley Rural Hospital"
DEVELOPER = "Frontier Labs"
AGENCY = "National AI Evaluation Agency"

ORGS: tuple[tuple[str, OrgKind, Sector | None], ...] = (
    (COORDINATOR, OrgKind.COORDINATOR, Sector.GOVERNMENT),
    (LAB, OrgKind.AI_LAB, None),
    (VENDOR, OrgKind.VENDOR, None),
    (OPERATOR, OrgKind.OPERATOR, Sector.HEALTHCARE),
    (DEVELOPER, OrgKind.MODEL_DEVELOPER, None),
    (AGENCY, OrgKind.AGENCY, Sector.GOVERNMENT),
)

TARGET = (
    Path(str(resources.files("clearinghouse.validation") / "targets")) / "python-uncaught-exception"
)
PROOF_TITLE = "Crash on a truncated chunk in chunk-reader"
# A person at the vendor who signs in with a password (``clearinghouse web user add``).
USERNAME = "maria@acme"
PASSWORD = "correct horse battery staple"
MODEL = "frontier-x"


@dataclass(frozen=True, slots=True)
class World:
    runtime: Runtime
    tokens: dict[str, str]  # organization name -> its analyst's bearer token
    shared_vuln: str  # TLP:CLEAR, two finders
    shared_title: str
    amber_vuln: str  # TLP:AMBER, shared with the vendor, not with the operator
    amber_title: str
    run: dict[str, Any]  # the AMBER vulnerability's validation run
    engagement: int
    designation: dict[str, Any]  # the latest (final) designation of the engagement
    partner: str  # nominated by the developer, waiting for the government
    username: str  # the vendor's password user
    password: str

    @property
    def families(self) -> list[dict[str, Any]]:
        families: list[dict[str, Any]] = self.designation["decision"]["families"]
        return families


def _asset(name: str) -> bytes:
    return (resources.files("clearinghouse.pipeline") / "demo_assets" / name).read_bytes()


def _viewer(runtime: Runtime, name: str) -> Viewer:
    with runtime.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=name)
        return access_service.viewer_for_org(org, role=Role.ANALYST)


def _submit(
    runtime: Runtime, viewer: Viewer, data: bytes, *, tlp: Tlp, share: tuple[str, ...] = ()
) -> dict[str, Any]:
    assert viewer.organization is not None
    _, document = submit_flow.submit(
        runtime,
        intake_flow.ImportRequest(
            organization=viewer.organization, chunks=[data], tlp=tlp, share_with=share
        ),
        viewer=viewer,
    )
    return document


def build_world(runtime: Runtime, *, scratch: Path) -> World:
    """Seed ``runtime``'s (empty, migrated) database; ``scratch`` receives the model script."""
    tokens: dict[str, str] = {}
    for name, kind, sector in ORGS:
        admin_flow.create_organization(
            runtime.db, viewer=LOCAL_ADMIN, name=name, kind=kind, sector=sector, clock=runtime.clock
        )
        tokens[name] = admin_flow.create_token(
            runtime.db,
            viewer=LOCAL_ADMIN,
            organization=name,
            role=Role.ANALYST,
            clock=runtime.clock,
        )["token"]
    viewers = {name: _viewer(runtime, name) for name, _, _ in ORGS}
    auth.create_user(
        runtime.db,
        actor=LOCAL_ADMIN,
        username=USERNAME,
        organization=VENDOR,
        role=Role.ANALYST,
        password=PASSWORD,
        clock=runtime.clock,
    )

    first = _submit(runtime, viewers[COORDINATOR], _asset("public-osv.json"), tlp=Tlp.CLEAR)
    again = _submit(runtime, viewers[VENDOR], _asset("vendor-csaf.json"), tlp=Tlp.CLEAR)
    assert first["new_vulnerabilities"] == 1, first
    assert again["duplicates"] == 1, again
    run = _reproduced_proof(runtime, viewers[LAB])
    shared = _vuln_of(runtime, first)

    engagement, designation = _designated_engagement(runtime, viewers, scratch)
    return World(
        runtime=runtime,
        tokens=tokens,
        shared_vuln=shared["id"],
        shared_title=shared["title"],
        amber_vuln=str(run["vulnerability"]),
        amber_title=PROOF_TITLE,
        run=run,
        engagement=engagement,
        designation=designation,
        partner=VENDOR,
        username=USERNAME,
        password=PASSWORD,
    )


def _vuln_of(runtime: Runtime, submitted: dict[str, Any]) -> dict[str, Any]:
    findings = read_flow.list_findings(
        runtime.db,
        viewer=LOCAL_ADMIN,
        clock=runtime.clock,
        submission_id=int(submitted["submission"]),
        limit=10,
        offset=0,
    )
    (finding,) = findings
    shown: dict[str, Any] = read_flow.show_vuln(
        runtime.db, viewer=LOCAL_ADMIN, clock=runtime.clock, public_id=str(finding["vulnerability"])
    )
    return shown


def _reproduced_proof(runtime: Runtime, lab: Viewer) -> dict[str, Any]:
    """An AMBER finding with a proof, reproduced by the sandbox (queued at import)."""
    manifest = parse_manifest((TARGET / DOCUMENT).read_bytes())
    validation_flow.add_target(runtime, viewer=LOCAL_ADMIN, path=TARGET)
    proof = (TARGET / manifest.proofs[0].file).read_bytes()
    finding = {
        "target": f"pkg:generic/{manifest.name}",
        "file": "chunks.py",
        "line": 20,
        "title": PROOF_TITLE,
        "proof": {"input_base64": base64.b64encode(proof).decode()},
        "provenance": {"tool": "browser-test-agent"},
    }
    document = orjson.dumps(
        {"format": "clearinghouse-findings", "version": "1.0", "findings": [finding]}
    )
    submitted = _submit(runtime, lab, document, tlp=Tlp.AMBER, share=(VENDOR,))
    [queued] = submitted["validations"]["queued"]
    validation_flow.work_queued(runtime, workers=1)
    run: dict[str, Any] = validation_flow.show_run(runtime, run_id=int(queued["run"]))
    assert run["verdict"] == "reproduced", run
    return run


def _designated_engagement(
    runtime: Runtime, viewers: dict[str, Viewer], scratch: Path
) -> tuple[int, dict[str, Any]]:
    agency, developer = viewers[AGENCY], viewers[DEVELOPER]
    suite = load_suite(starter_suite_dir())
    chosen = [task for task in suite.tasks if task.answer_kind == "text"]
    registered = eval_flow.register_suite(
        runtime, viewer=agency, path=starter_suite_dir(), confidential=True, evaluators=[AGENCY]
    )
    now = runtime.clock.now()
    model = designation_flow.register_model(
        runtime,
        viewer=developer,
        name=MODEL,
        version="1.0",
        planned_release=now + dt.timedelta(days=25),
    )
    engagement = int(
        designation_flow.open_engagement(runtime, viewer=developer, model_id=model["id"])["id"]
    )
    scratch.mkdir(parents=True, exist_ok=True)
    script = scratch / "strong.json"
    answers = {
        task.id: [
            {"tool": "submit", "arguments": {"answer": read_reference(task).decode().strip()}}
        ]
        for task in chosen
    }
    script.write_bytes(orjson.dumps({"name": "strong-scripted", "tasks": answers}))
    eval_flow.run_model(
        runtime,
        viewer=agency,
        suite_ref=str(registered["id"]),
        model_spec=f"scripted:{script}",
        epochs=3,
        engagement_id=engagement,
        tasks=[task.id for task in chosen],
    )
    decided = designation_flow.decide(runtime, viewer=agency, engagement_id=engagement)
    final = designation_flow.sign_off(
        runtime, viewer=viewers[COORDINATOR], designation_id=decided["id"], note="reviewed"
    )
    # every capture-the-flag task solved in every epoch: demonstrated, so covered
    assert final["outcome"] == "covered", final["decision"]
    designation_flow.open_window(runtime, viewer=developer, engagement_id=engagement, opens_at=now)
    nominated = designation_flow.nominate(
        runtime,
        viewer=developer,
        engagement_id=engagement,
        organization=VENDOR,
        reason="maintains software the model is likely to find flaws in",
    )
    assert nominated["status"] == "nominated", nominated
    return engagement, final
