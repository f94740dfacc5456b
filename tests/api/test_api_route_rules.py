"""Every API route has an authorization rule, and every organization kind x role gets what
the rule says.

``RULES`` holds one rule per (method, path template) the application serves: which callers may
use the route (role checks refuse with 403; relations to a record, such as being its owner, a
case participant or a side of an engagement, refuse with 404 so a record's existence does not
leak), whether the route is TLP-scoped and which test covers that dimension, and a probe: a
request that an allowed caller can make again and again (each answer is 2xx, or a 4xx about
the state, like 409, never 401/403 nor the 404 of a hidden record). Routes are enumerated from
the app itself, so ``test_every_route_has_a_rule`` fails the build when a route is added
without a rule, and ``test_route_rules`` runs every route for every organization kind
(coordinator, AI lab, agency, researcher, vendor, operator, model developer) x role.

The world is the web matrix's (``tests.web.world`` and ``tests.api.web_matrix_data``: the
owner's record per TLP label shared with a vendor, a case on the AMBER one with that vendor, the
hospital's proven network and its authorizations for the owner's lab, a model engagement with
the vendor nominated), plus a researcher, an unvalidated AMBER vulnerability, a confidential
evaluation suite with one run, a notification for the hospital and a spare engagement.

``test_every_route_requires_authentication`` asks every API and web route without credentials:
only ``PUBLIC_API`` and ``PUBLIC_WEB`` answer; every other API route says 401 with a
``WWW-Authenticate: Bearer`` problem, every other page sends the browser to sign in.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from starlette.routing import BaseRoute, Mount

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.advisories.models import Notification
from clearinghouse.api import scan_routes
from clearinghouse.cases.models import Case
from clearinghouse.core.tlp import Tlp
from clearinghouse.evaluation.tasks import load_suite, read_reference, starter_suite_dir
from clearinghouse.pipeline import admin_flow, designation_flow, eval_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.web.app import create_app
from clearinghouse.web.pages import WebRoute
from tests.api.web_matrix_data import Extras, build_extras
from tests.web.world import (
    AGENCY,
    COORDINATOR,
    DEVELOPER,
    GRANTED,
    OPERATOR,
    ORGS,
    OWNER,
    ROLES,
    UNRELATED,
    Org,
    World,
    _vuln_of,
    build_world,
    engagement_with_nominee,
    may_see,
    native,
    submit,
)

API = "/api/v1"
RESEARCHER = Org("researcher", "Independent Researcher", OrgKind.RESEARCHER)
CALLERS: tuple[Org, ...] = (*ORGS, RESEARCHER)
WRITERS = frozenset({Role.ADMIN, Role.ANALYST, Role.SUBMITTER})
TRIAGERS = frozenset({Role.ADMIN, Role.ANALYST})
GOVERNMENT = frozenset({OrgKind.COORDINATOR, OrgKind.AGENCY})
SOON = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)

_serial = itertools.count(1)


# --- the world --------------------------------------------------------------------------------


@dataclass
class Ctx:
    """The records the probes name."""

    world: World
    extras: Extras
    amber_finding: int  # the owner's AMBER finding (in the case, reproduced)
    amber_vuln: str
    unvalidated: str  # an AMBER vulnerability (shared with GRANTED) with no validation run
    unvalidated_submission: int
    unvalidated_finding: int  # its only finding (a split that would empty it is refused)
    merge_pair: tuple[str, str]  # two AMBER vulnerabilities a coordinator may merge
    spare_engagement: int  # for withdraw
    granted_engagement: int  # window open, AGENCY granted evaluator access
    model: int  # DEVELOPER's model of the world's engagement
    suite: int
    task: str
    run: int
    sample: int
    designation: int
    notification: int
    validation_run: int
    tokens: dict[tuple[str, Role], str] = field(default_factory=dict)


def _evaluation(world: World, tmp: Path) -> tuple[int, str, int, int, int]:
    """A confidential starter suite (AGENCY its only evaluator) and one scripted run of it by
    AGENCY for DEVELOPER's engagement, then a decision: (suite, task, run, sample, designation)."""
    rt = world.runtime
    agency = world.viewers[AGENCY.key]
    suite = load_suite(starter_suite_dir())
    task = next(t for t in suite.tasks if t.answer_kind == "text")
    registered = eval_flow.register_suite(
        rt, viewer=agency, path=starter_suite_dir(), confidential=True, evaluators=[AGENCY.name]
    )
    script = tmp / "script.json"
    script.write_bytes(
        orjson.dumps(
            {
                "name": "scripted",
                "tasks": {
                    task.id: [
                        {"tool": "submit", "arguments": {"answer": read_reference(task).decode()}}
                    ]
                },
            }
        )
    )
    report = eval_flow.run_model(
        rt,
        viewer=agency,
        suite_ref=str(registered["id"]),
        model_spec=f"scripted:{script}",
        epochs=1,
        engagement_id=world.engagement,
        tasks=[task.id],
    )
    decided = designation_flow.decide(rt, viewer=agency, engagement_id=world.engagement)
    return (
        int(registered["id"]),
        task.id,
        int(report["id"]),
        int(report["samples_detail"][0]["id"]),
        int(decided["id"]),
    )


def build_ctx(rt: Runtime, tmp: Path) -> Ctx:
    world = build_world(rt)
    extras = build_extras(world)
    admin_flow.create_organization(
        rt.db,
        viewer=LOCAL_ADMIN,
        name=RESEARCHER.name,
        kind=RESEARCHER.kind,
        sector=None,
        clock=rt.clock,
    )
    for role in ROLES:
        world.tokens[RESEARCHER.key, role] = admin_flow.create_token(
            rt.db, viewer=LOCAL_ADMIN, organization=RESEARCHER.name, role=role, clock=rt.clock
        )["token"]
    owner = world.viewers[OWNER.key]
    unvalidated_submission = submit(rt, owner, native("fennec"), Tlp.AMBER, (GRANTED.name,))
    unvalidated, unvalidated_finding = _vuln_of(rt, unvalidated_submission)
    pair = tuple(
        _vuln_of(rt, submit(rt, owner, native(word), Tlp.AMBER, (GRANTED.name,)))[0]
        for word in ("gecko", "heron")
    )
    spare = engagement_with_nominee(world, model="frontier-spare", window=False)
    granted = engagement_with_nominee(world, model="frontier-granted", window=True)
    designation_flow.grant_evaluator(
        rt, viewer=world.viewers[DEVELOPER.key], engagement_id=granted, organization=AGENCY.name
    )
    suite, task, run, sample, designation = _evaluation(world, tmp)
    with rt.db.session() as session:
        from clearinghouse.evaluation.models import Engagement

        engaged = session.get(Engagement, world.engagement)
        assert engaged is not None
        model = int(engaged.model_id)
    with rt.db.session() as session:
        case = session.query(Case).filter(Case.public_id == extras.case).one()
        hospital = access_service.get_org_by_name_or_raise(session, name=OPERATOR.name)
        note = Notification(
            case_id=case.id,
            organization_id=hospital.id,
            kind="prenotify",
            version=0,
            tlp="AMBER+STRICT",
            subject="Advance warning",
            body="A flaw in a component you run.",
            payload="{}",
            created_at=rt.clock.now(),
        )
        session.add(note)
        session.flush()
        notification = note.id
    from sqlalchemy import select

    from clearinghouse.validation.models import ValidationRun

    with rt.db.session() as session:
        validation_run = session.scalars(
            select(ValidationRun.id).where(ValidationRun.finding_id == world.findings[Tlp.AMBER])
        ).first()
        assert validation_run is not None
    return Ctx(
        world=world,
        extras=extras,
        amber_finding=world.findings[Tlp.AMBER],
        amber_vuln=world.vulns[Tlp.AMBER],
        unvalidated=unvalidated,
        unvalidated_submission=unvalidated_submission,
        unvalidated_finding=unvalidated_finding,
        merge_pair=(pair[0], pair[1]),
        spare_engagement=spare,
        granted_engagement=granted,
        model=model,
        suite=suite,
        task=task,
        run=run,
        sample=sample,
        designation=designation,
        notification=notification,
        validation_run=int(validation_run),
        tokens=dict(world.tokens),
    )


@dataclass
class Matrix:
    ctx: Ctx
    client: TestClient
    app: FastAPI


@pytest.fixture(scope="module")
def matrix(module_runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    ctx = build_ctx(module_runtime, tmp_path_factory.mktemp("rules"))
    app = create_app(module_runtime)
    with TestClient(app) as client:
        yield Matrix(ctx=ctx, client=client, app=app)


# --- rules ------------------------------------------------------------------------------------

Refusal = int | None  # 403, 404, or None (allowed)
Check = Callable[[Org, Role], Refusal]


def anyone(org: Org, role: Role) -> Refusal:
    return None


def roles(allowed: frozenset[Role]) -> Check:
    """The route's role check (``access.roles``): 403."""
    return lambda org, role: None if role in allowed else 403


def kinds(allowed: frozenset[OrgKind], refused: int = 403) -> Check:
    return lambda org, role: None if org.kind in allowed else refused


def orgs(*allowed: Org, kinds_too: frozenset[OrgKind] = frozenset(), refused: int = 404) -> Check:
    """A relation to the probed record (owner, participant, side): by default 404."""
    keys = {o.key for o in allowed}
    return lambda org, role: None if org.key in keys or org.kind in kinds_too else refused


def sees(tlp: Tlp) -> Check:
    """TLP visibility of the owner's record with that label (shared with GRANTED): 404."""
    return lambda org, role: None if may_see(org, tlp) else 404


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: Any = None
    content: bytes | None = None
    params: dict[str, Any] | None = None


Probe = Callable[[Ctx], Call]


@dataclass(frozen=True)
class Rule:
    """``checks`` in the order the code applies them: the first refusal is the answer."""

    probe: Probe
    checks: tuple[Check, ...] = ()
    tlp: str | None = None  # the test that covers the route's TLP dimension, if TLP-scoped
    # The probed record may be absent for a caller who is allowed (a claim not yet made, an
    # advisory not yet published): a 404 then counts as allowed. Only for rules that never
    # refuse with 404.
    absent_ok: bool = False

    def expect(self, org: Org, role: Role) -> Refusal:
        for check in self.checks:
            refused = check(org, role)
            if refused is not None:
                return refused
        return None


def get(path: str, **params: Any) -> Probe:
    return lambda ctx: Call("GET", API + path.format(ctx=ctx), params=params or None)


def send(method: str, path: str, body: Callable[[Ctx], Any] | Any = None) -> Probe:
    def probe(ctx: Ctx) -> Call:
        value = body(ctx) if callable(body) else body
        if isinstance(value, bytes):
            return Call(method, API + path.format(ctx=ctx), content=value)
        return Call(method, API + path.format(ctx=ctx), json=value)

    return probe


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}"


READ_MATRIX = "tests/api/test_read_matrix.py"
WRITE_MATRIX = "tests/api/test_write_matrix.py"
CASE_TESTS = "tests/api/test_case_routes.py"
EVAL_TESTS = "tests/api/test_eval_routes.py"
VALIDATION_TESTS = "tests/api/test_validation_routes.py"
HERE = "tests/api/test_api_route_rules.py"
CASE_PARTIES = (COORDINATOR, OWNER, GRANTED)  # the case: coordinator, finder, vendor
ENGAGEMENT_SIDES = orgs(DEVELOPER, kinds_too=GOVERNMENT)

RULES: dict[tuple[str, str], Rule] = {
    # --- organizations, tokens ---
    ("GET", "/api/v1/organizations"): Rule(get("/organizations")),
    ("POST", "/api/v1/organizations"): Rule(
        send("POST", "/organizations", lambda ctx: {"name": fresh("Org"), "kind": "vendor"}),
        (roles(frozenset({Role.ADMIN})), kinds(frozenset({OrgKind.COORDINATOR}))),
    ),
    ("POST", "/api/v1/tokens"): Rule(
        send("POST", "/tokens", {"role": "viewer"}), (roles(frozenset({Role.ADMIN})),)
    ),
    ("GET", "/api/v1/audit/verify"): Rule(
        get("/audit/verify"),
        (roles(frozenset({Role.ADMIN})), kinds(frozenset({OrgKind.COORDINATOR}))),
    ),
    # --- intake and the TLP-scoped reads ---
    ("POST", "/api/v1/submissions"): Rule(
        send("POST", "/submissions", lambda ctx: native("ibex")), (roles(WRITERS),)
    ),
    ("GET", "/api/v1/submissions"): Rule(get("/submissions"), tlp=READ_MATRIX),
    ("GET", "/api/v1/submissions/{submission_id}"): Rule(
        get("/submissions/{ctx.unvalidated_submission}"), (sees(Tlp.AMBER),), tlp=READ_MATRIX
    ),
    ("POST", "/api/v1/submissions/{submission_id}/grants"): Rule(
        send(
            "POST",
            "/submissions/{ctx.unvalidated_submission}/grants",
            {"organization": GRANTED.name},
        ),
        (roles(TRIAGERS), sees(Tlp.AMBER), orgs(OWNER, refused=403)),
        tlp=WRITE_MATRIX,
    ),
    ("GET", "/api/v1/findings"): Rule(get("/findings"), tlp=READ_MATRIX),
    ("GET", "/api/v1/findings/{finding_id}"): Rule(
        get("/findings/{ctx.amber_finding}"), (sees(Tlp.AMBER),), tlp=READ_MATRIX
    ),
    ("GET", "/api/v1/vulns"): Rule(get("/vulns"), tlp=READ_MATRIX),
    ("GET", "/api/v1/vulns/{vuln_id}"): Rule(
        get("/vulns/{ctx.unvalidated}"), (sees(Tlp.AMBER),), tlp=READ_MATRIX
    ),
    ("POST", "/api/v1/vulns/{vuln_id}/merge"): Rule(
        send("POST", "/vulns/{ctx.merge_pair[0]}/merge", lambda ctx: {"other": ctx.merge_pair[1]}),
        (roles(TRIAGERS), kinds(frozenset({OrgKind.COORDINATOR}))),
        tlp=WRITE_MATRIX,
    ),
    ("POST", "/api/v1/vulns/{vuln_id}/split"): Rule(
        send(
            "POST",
            "/vulns/{ctx.unvalidated}/split",
            lambda ctx: {"findings": [ctx.unvalidated_finding]},
        ),
        (roles(TRIAGERS), kinds(frozenset({OrgKind.COORDINATOR}))),
        tlp=WRITE_MATRIX,
    ),
    # --- validation ---
    ("GET", "/api/v1/targets"): Rule(get("/targets")),
    ("POST", "/api/v1/findings/{finding_id}/validations"): Rule(
        send("POST", "/findings/{ctx.amber_finding}/validations", {}),
        (roles(WRITERS), sees(Tlp.AMBER)),
        tlp=VALIDATION_TESTS,
    ),
    ("GET", "/api/v1/validations/{run_id}"): Rule(
        get("/validations/{ctx.validation_run}"), (sees(Tlp.AMBER),), tlp=VALIDATION_TESTS
    ),
    ("POST", "/api/v1/vulns/{vuln_id}/patches"): Rule(
        send("POST", "/vulns/{ctx.unvalidated}/patches", b"--- a/x\n+++ b/x\n"),
        (roles(WRITERS), sees(Tlp.AMBER)),
        tlp=VALIDATION_TESTS,
    ),
    # --- inventories (each organization its own) and exposure (coordinators) ---
    ("POST", "/api/v1/inventories"): Rule(
        send("POST", "/inventories", lambda ctx: sbom()), (roles(WRITERS),)
    ),
    ("GET", "/api/v1/inventories"): Rule(get("/inventories")),
    ("GET", "/api/v1/inventories/matches"): Rule(get("/inventories/matches")),
    ("GET", "/api/v1/inventories/report"): Rule(get("/inventories/report")),
    ("POST", "/api/v1/vex"): Rule(send("POST", "/vex", lambda ctx: openvex()), (roles(WRITERS),)),
    ("GET", "/api/v1/exposure/{vuln_id}"): Rule(
        get("/exposure/{ctx.amber_vuln}"),
        (kinds(frozenset({OrgKind.COORDINATOR})),),
        tlp="tests/api/test_inventory_routes.py",
    ),
    # --- the directory, cases, advisories, notifications ---
    ("PUT", "/api/v1/directory/{organization}"): Rule(
        send("PUT", f"/directory/{GRANTED.name}", {"contacts": ["psirt@acme.example"]}),
        (roles(WRITERS), orgs(GRANTED, kinds_too=frozenset({OrgKind.COORDINATOR}), refused=403)),
    ),
    ("GET", "/api/v1/directory/{organization}"): Rule(
        get(f"/directory/{GRANTED.name}"),
        (orgs(GRANTED, kinds_too=frozenset({OrgKind.COORDINATOR})),),
    ),
    ("POST", "/api/v1/cases"): Rule(
        send(
            "POST",
            "/cases",
            lambda ctx: {"vulnerabilities": [ctx.amber_vuln], "allow_unvalidated": True},
        ),
        (kinds(frozenset({OrgKind.COORDINATOR})), roles(TRIAGERS)),
        tlp=CASE_TESTS,
    ),
    ("GET", "/api/v1/cases"): Rule(get("/cases"), tlp=CASE_TESTS),
    ("GET", "/api/v1/cases/{case_id}"): Rule(
        get("/cases/{ctx.extras.case}"), (orgs(*CASE_PARTIES),), tlp=CASE_TESTS
    ),
    ("POST", "/api/v1/cases/{case_id}/participants"): Rule(
        send("POST", "/cases/{ctx.extras.case}/participants", {"organization": GRANTED.name}),
        (kinds(frozenset({OrgKind.COORDINATOR})), roles(TRIAGERS)),
    ),
    ("POST", "/api/v1/cases/{case_id}/statuses"): Rule(
        send(
            "POST",
            "/cases/{ctx.extras.case}/statuses",
            lambda ctx: {"vulnerability": ctx.amber_vuln, "status": "affected"},
        ),
        (roles(WRITERS), orgs(*CASE_PARTIES), orgs(GRANTED, refused=403)),
    ),
    ("POST", "/api/v1/cases/{case_id}/statuses/approve"): Rule(
        send(
            "POST",
            "/cases/{ctx.extras.case}/statuses/approve",
            lambda ctx: {"vulnerability": ctx.amber_vuln, "vendor": GRANTED.name},
        ),
        (kinds(frozenset({OrgKind.COORDINATOR})), roles(TRIAGERS)),
    ),
    ("POST", "/api/v1/cases/{case_id}/describe"): Rule(
        send(
            "POST",
            "/cases/{ctx.extras.case}/describe",
            lambda ctx: {"vulnerability": ctx.amber_vuln, "title": "Heap overflow"},
        ),
        (kinds(frozenset({OrgKind.COORDINATOR})), roles(TRIAGERS)),
    ),
    ("POST", "/api/v1/cases/{case_id}/embargo"): Rule(
        send("POST", "/cases/{ctx.extras.case}/embargo", {"action": "agree"}),
        (
            roles(WRITERS),
            orgs(*CASE_PARTIES),
            kinds(frozenset({OrgKind.COORDINATOR})),
            roles(TRIAGERS),
        ),
    ),
    ("GET", "/api/v1/cases/{case_id}/messages"): Rule(
        get("/cases/{ctx.extras.case}/messages"), (orgs(*CASE_PARTIES),), tlp=CASE_TESTS
    ),
    ("POST", "/api/v1/cases/{case_id}/messages"): Rule(
        send("POST", "/cases/{ctx.extras.case}/messages", {"body": "status?"}),
        (roles(WRITERS), orgs(*CASE_PARTIES)),
        tlp=CASE_TESTS,
    ),
    ("POST", "/api/v1/cases/{case_id}/patches"): Rule(
        lambda ctx: Call(
            "POST",
            f"{API}/cases/{ctx.extras.case}/patches",
            content=b"--- a/x\n+++ b/x\n",
            params={"vulnerability": ctx.amber_vuln},
        ),
        (roles(WRITERS), orgs(*CASE_PARTIES), orgs(GRANTED, COORDINATOR, refused=403)),
    ),
    ("POST", "/api/v1/cases/{case_id}/prenotify"): Rule(
        send("POST", "/cases/{ctx.extras.case}/prenotify"),
        (kinds(frozenset({OrgKind.COORDINATOR})), roles(TRIAGERS)),
    ),
    ("GET", "/api/v1/cases/{case_id}/rates"): Rule(
        get("/cases/{ctx.extras.case}/rates"),
        (kinds(frozenset({OrgKind.COORDINATOR})), roles(TRIAGERS)),
    ),
    ("POST", "/api/v1/cases/{case_id}/publish"): Rule(
        send("POST", "/cases/{ctx.extras.case}/publish", {}),
        (kinds(frozenset({OrgKind.COORDINATOR})), roles(TRIAGERS)),
    ),
    # Published advisories are for every registered organization; this one is not yet.
    ("GET", "/api/v1/advisories/{case_id}"): Rule(
        get("/advisories/{ctx.extras.case}"), absent_ok=True
    ),
    ("GET", "/api/v1/notifications"): Rule(get("/notifications")),
    ("POST", "/api/v1/notifications/{notification_id}/response"): Rule(
        send("POST", "/notifications/{ctx.notification}/response", {"status": "acknowledged"}),
        (roles(WRITERS), orgs(OPERATOR)),
    ),
    # --- scan coordination (an organization acts for itself) ---
    ("POST", "/api/v1/scope/verify"): Rule(
        send("POST", "/scope/verify", {"method": "dns"}), (roles(WRITERS),), absent_ok=True
    ),
    ("POST", "/api/v1/scope"): Rule(
        send(
            "POST",
            "/scope",
            lambda ctx: {"networks": ["198.18.0.0/24"], "domain": f"{fresh('org')}.example"},
        ),
        (roles(WRITERS),),
    ),
    ("PUT", "/api/v1/scan-policy"): Rule(
        send("PUT", "/scan-policy", {"rate_cap_pps": 1000}), (roles(WRITERS),)
    ),
    ("POST", "/api/v1/kill-switch"): Rule(
        send("POST", "/kill-switch", {"on": False}), (roles(WRITERS),)
    ),
    ("POST", "/api/v1/authorizations"): Rule(
        send(
            "POST",
            "/authorizations",
            lambda ctx: {
                "scanner": OWNER.name,
                "ranges": ["198.18.0.0/25"],
                "windows": "mon-sun 00:00-24:00",
                "techniques": ["discovery"],
                "max_rate_pps": 10,
                "max_concurrency": 1,
                "expires_at": (SOON + dt.timedelta(days=7)).isoformat(),
            },
        ),
        (roles(WRITERS),),
    ),
    ("POST", "/api/v1/authorizations/{authorization_id}/revoke"): Rule(
        send("POST", "/authorizations/{ctx.extras.spare_authorization}/revoke"),
        (roles(WRITERS), orgs(OPERATOR, kinds_too=frozenset({OrgKind.COORDINATOR}), refused=403)),
    ),
    ("POST", "/api/v1/campaigns"): Rule(
        send(
            "POST",
            "/campaigns",
            lambda ctx: {
                "targets": ["198.18.1.0/26"],
                "sources": ["198.51.100.77"],
                "start": SOON.isoformat(),
                "end": (SOON + dt.timedelta(hours=1)).isoformat(),
                "technique": "discovery",
                "rate_pps": 1,
            },
        ),
        (roles(WRITERS),),
    ),
    ("GET", "/api/v1/deconfliction/lookup"): Rule(get("/deconfliction/lookup", ip="198.51.100.7")),
    ("GET", "/api/v1/allowlist"): Rule(get("/allowlist")),
    ("POST", "/api/v1/leases"): Rule(send("POST", "/leases"), (roles(WRITERS),)),
    ("POST", "/api/v1/coverage"): Rule(
        send(
            "POST",
            "/coverage",
            {"project": "pkg:github/example/none", "commit": "0123abc", "technique": "discovery"},
        ),
        (roles(WRITERS),),
        absent_ok=True,  # no such project: recorded coverage needs a registered one
    ),
    # --- model assessment and the voluntary framework ---
    ("GET", "/api/v1/eval/suites"): Rule(get("/eval/suites"), tlp=EVAL_TESTS),
    ("GET", "/api/v1/eval/suites/{suite_id}"): Rule(
        get("/eval/suites/{ctx.suite}"), tlp=EVAL_TESTS
    ),
    ("GET", "/api/v1/eval/suites/{suite_id}/tasks/{task_id}"): Rule(
        get("/eval/suites/{ctx.suite}/tasks/{ctx.task}"), (orgs(AGENCY),), tlp=EVAL_TESTS
    ),
    ("GET", "/api/v1/eval/runs"): Rule(get("/eval/runs"), tlp=EVAL_TESTS),
    ("GET", "/api/v1/eval/runs/{run_id}"): Rule(
        get("/eval/runs/{ctx.run}"), (ENGAGEMENT_SIDES,), tlp=EVAL_TESTS
    ),
    ("GET", "/api/v1/eval/runs/{run_id}/samples/{sample_id}/transcript"): Rule(
        get("/eval/runs/{ctx.run}/samples/{ctx.sample}/transcript"),
        (ENGAGEMENT_SIDES, orgs(AGENCY)),
        tlp=EVAL_TESTS,
    ),
    ("POST", "/api/v1/models"): Rule(
        send(
            "POST",
            "/models",
            lambda ctx: {
                "name": fresh("model"),
                "version": "1",
                "planned_release": (SOON + dt.timedelta(days=20)).isoformat(),
            },
        ),
        (roles(WRITERS), kinds(frozenset({OrgKind.MODEL_DEVELOPER}))),
    ),
    ("POST", "/api/v1/engagements"): Rule(
        send("POST", "/engagements", lambda ctx: {"model_id": ctx.model}),
        (roles(WRITERS), orgs(DEVELOPER)),
    ),
    ("GET", "/api/v1/engagements/{engagement_id}"): Rule(
        get("/engagements/{ctx.world.engagement}"), (ENGAGEMENT_SIDES,)
    ),
    ("POST", "/api/v1/engagements/{engagement_id}/withdraw"): Rule(
        send("POST", "/engagements/{ctx.spare_engagement}/withdraw"),
        (roles(WRITERS), ENGAGEMENT_SIDES, orgs(DEVELOPER, refused=403)),
    ),
    ("PUT", "/api/v1/engagements/{engagement_id}/window"): Rule(
        send(
            "PUT",
            "/engagements/{ctx.world.engagement}/window",
            lambda ctx: {"opens_at": SOON.isoformat()},
        ),
        (roles(WRITERS), ENGAGEMENT_SIDES, orgs(DEVELOPER, refused=403)),
    ),
    ("POST", "/api/v1/engagements/{engagement_id}/grants"): Rule(
        send("POST", "/engagements/{ctx.world.engagement}/grants", {"organization": AGENCY.name}),
        (roles(WRITERS), ENGAGEMENT_SIDES, orgs(DEVELOPER, refused=403)),
    ),
    ("POST", "/api/v1/engagements/{engagement_id}/access"): Rule(
        send("POST", "/engagements/{ctx.granted_engagement}/access", {"purpose": "red teaming"}),
        # the sides and the nominated partner (GRANTED) know the engagement: 403 without an
        # active grant; AGENCY holds the evaluator grant; anyone else: 404
        (orgs(DEVELOPER, GRANTED, kinds_too=GOVERNMENT), orgs(AGENCY, refused=403)),
    ),
    ("POST", "/api/v1/engagements/{engagement_id}/partners"): Rule(
        send(
            "POST",
            "/engagements/{ctx.world.engagement}/partners",
            {"organization": UNRELATED.name},
        ),
        (roles(WRITERS), ENGAGEMENT_SIDES),
    ),
    ("POST", "/api/v1/engagements/{engagement_id}/partners/{organization}"): Rule(
        send(
            "POST",
            f"/engagements/{{ctx.world.engagement}}/partners/{GRANTED.name}",
            {"approve": False},
        ),
        (roles(WRITERS), ENGAGEMENT_SIDES),
    ),
    ("GET", "/api/v1/designations/{designation_id}"): Rule(
        get("/designations/{ctx.designation}"), (ENGAGEMENT_SIDES,)
    ),
    ("POST", "/api/v1/designations/{designation_id}/sign-off"): Rule(
        send("POST", "/designations/{ctx.designation}/sign-off", {"note": "reviewed"}),
        (roles(TRIAGERS), kinds(GOVERNMENT)),
    ),
}

# Answer without credentials, by design.
PUBLIC_API: dict[tuple[str, str], str] = {
    ("GET", "/.well-known/csaf/{path:path}"): "the CSAF provider tree is public (CSAF 2.0 §7)",
    ("GET", "/healthz"): "liveness probe",
    ("GET", "/openapi.json"): "the API's own description",
    ("GET", "/docs"): "API documentation",
    ("GET", "/docs/oauth2-redirect"): "API documentation",
    ("GET", "/redoc"): "API documentation",
}
PUBLIC_WEB: dict[tuple[str, str], str] = {
    ("GET", "/signin"): "the sign-in form",
    ("POST", "/signin"): "signing in",
    ("POST", "/signout"): "signing out (a browser without a session is sent to sign in)",
    ("GET", "/"): "the front door redirects to sign-in or the queue",
    ("GET", "/static"): "stylesheets, scripts, htmx",
}


def sbom() -> bytes:
    return orjson.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "metadata": {"component": {"type": "application", "name": "Rules Product"}},
            "components": [
                {
                    "type": "library",
                    "name": "jinja2",
                    "version": "2.10",
                    "purl": "pkg:pypi/jinja2@2.10",
                }
            ],
        }
    )


def openvex() -> bytes:
    return orjson.dumps(
        {
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": f"https://vex.example/{next(_serial)}",
            "author": "rules",
            "timestamp": "2026-01-01T00:00:00Z",
            "version": 1,
            "statements": [
                {
                    "vulnerability": {"name": "CVE-2099-0001"},
                    "products": [{"@id": "pkg:pypi/jinja2@2.10"}],
                    "status": "not_affected",
                    "justification": "vulnerable_code_not_present",
                }
            ],
        }
    )


# --- the routes the app serves ----------------------------------------------------------------


def _routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Every route with its full path (an included router may be kept as one entry)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _routes(included.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, Mount):
            yield prefix + route.path, route
        else:
            yield prefix + getattr(route, "path", ""), route


def served(app: FastAPI) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(API routes, web routes) as (method, path template); HEAD follows GET."""
    api: set[tuple[str, str]] = set()
    web: set[tuple[str, str]] = set()
    for path, route in _routes(app.routes):
        methods = getattr(route, "methods", None) or {"GET"}
        into = web if isinstance(route, WebRoute | Mount) else api
        for method in methods:
            if method != "HEAD":
                into.add((method, path))
    return api, web


def test_every_route_has_a_rule(matrix: Matrix) -> None:
    api, _ = served(matrix.app)
    assert set(RULES) | set(PUBLIC_API) == api, {
        "routes without a rule": sorted(api - set(RULES) - set(PUBLIC_API)),
        "rules without a route": sorted((set(RULES) | set(PUBLIC_API)) - api),
    }


def _call(client: TestClient, call: Call, token: str | None) -> Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response: Response = client.request(
        call.method,
        call.url,
        json=call.json,
        content=call.content,
        params=call.params,
        headers=headers,
    )
    return response


def _outcome(response: Response) -> Refusal:
    if response.status_code in (403, 404):
        assert response.headers["content-type"].startswith("application/problem+json")
        return response.status_code
    return None


@pytest.mark.parametrize("route", list(RULES), ids=" ".join)
def test_route_rules(matrix: Matrix, route: tuple[str, str]) -> None:
    rule = RULES[route]
    scan_routes.LOOKUPS._state.clear()
    wrong: list[str] = []
    for org, role in itertools.product(CALLERS, ROLES):
        call = rule.probe(matrix.ctx)
        response = _call(matrix.client, call, matrix.ctx.tokens[org.key, role])
        assert response.status_code != 401, (org.key, role, response.text)
        assert response.status_code < 500, (org.key, role, response.text)
        expected = rule.expect(org, role)
        got = _outcome(response)
        if expected is None and got == 404 and rule.absent_ok:
            got = None
        if got != expected:
            wrong.append(
                f"{org.key}/{role.value}: expected {expected or 'allowed'}, "
                f"got {response.status_code} {response.text[:160]}"
            )
    assert not wrong, "\n".join(wrong)


def test_absent_records_are_allowed_only_where_nothing_is_hidden() -> None:
    for route, rule in RULES.items():
        if rule.absent_ok:
            hidden = [
                (org.key, role)
                for org, role in itertools.product(CALLERS, ROLES)
                if rule.expect(org, role) == 404
            ]
            assert not hidden, route


def _placeholder(path: str) -> str:
    """A concrete URL for a path template (ids that name nothing: only the refusal matters)."""
    out, rest = "", path
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        out += head + ("CH-2099-99999" if "public_id" in name or "vuln" in name else "1")
    return out + rest


def test_every_route_requires_authentication(matrix: Matrix) -> None:
    """Without credentials only the allow-listed routes answer: API routes say 401 (problem,
    ``WWW-Authenticate: Bearer``), pages send the browser to sign in, and unsafe page methods
    are refused (403) before anything else."""
    api, web = served(matrix.app)
    assert set(PUBLIC_API) <= api
    assert set(PUBLIC_WEB) <= web
    anonymous = TestClient(matrix.app)
    for route in sorted(api - set(PUBLIC_API)):
        # the rule's own request (a valid body), without a token and with forged ones
        call = RULES[route].probe(matrix.ctx)
        for token in (None, "chk_" + "A" * 43, "not-a-token"):
            response = _call(anonymous, call, token)
            assert response.status_code == 401, (route, token, response.status_code)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.headers["content-type"].startswith("application/problem+json")
    for method, path in sorted(web - set(PUBLIC_WEB)):
        response = anonymous.request(method, _placeholder(path), follow_redirects=False)
        if method == "GET":
            assert response.status_code == 303, (method, path, response.status_code)
            landed = anonymous.get(_placeholder(path))  # a fragment's route sends to its page
            assert landed.url.path == "/signin", (method, path, landed.url)
        else:
            assert response.status_code in (303, 403), (method, path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/signin"), (method, path)
    for method, path in sorted(PUBLIC_API):
        if "{" not in path:
            assert anonymous.request(method, path).status_code == 200, path
    assert anonymous.get("/.well-known/csaf/provider-metadata.json").status_code == 200
    assert anonymous.get("/signin").status_code == 200
    assert anonymous.get("/static/htmx.min.js").status_code == 200
