"""A small world for the web tests, built through the pipeline: organizations with a token per
role, one vulnerability per TLP label (shared with a vendor), validation runs, a web user, and
a model engagement with a designation decided by the real threshold rules.

Usable by any test that needs a populated database (``build_world(runtime)``); nothing here
starts a server.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.core.tlp import Tlp
from clearinghouse.evaluation import designation as designation_rules
from clearinghouse.evaluation.models import Designation
from clearinghouse.evaluation.statistics import Attempt, summarize
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import admin_flow, designation_flow, intake_flow, submit_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.models import Target, ValidationRun
from clearinghouse.vulns.models import Vulnerability
from clearinghouse.web import auth


@dataclass(frozen=True, slots=True)
class Org:
    key: str
    name: str
    kind: OrgKind
    sector: Sector | None = None


OWNER = Org("owner", "Lab Alpha", OrgKind.AI_LAB)
COORDINATOR = Org("coordinator", "Coordination Center", OrgKind.COORDINATOR, Sector.GOVERNMENT)
UNRELATED = Org("unrelated", "Lab Beta", OrgKind.AI_LAB)
OPERATOR = Org("operator", "Valley Rural Hospital", OrgKind.OPERATOR, Sector.HEALTHCARE)
GRANTED = Org("granted", "Acme Maintainers", OrgKind.VENDOR)
DEVELOPER = Org("developer", "Frontier Labs", OrgKind.MODEL_DEVELOPER)
OTHER_DEVELOPER = Org("other-developer", "Other Models Inc", OrgKind.MODEL_DEVELOPER)
AGENCY = Org("agency", "National AI Evaluation Agency", OrgKind.AGENCY, Sector.GOVERNMENT)
ORGS = (OWNER, COORDINATOR, UNRELATED, OPERATOR, GRANTED, DEVELOPER, OTHER_DEVELOPER, AGENCY)
ROLES = (Role.ADMIN, Role.ANALYST, Role.SUBMITTER, Role.VIEWER)
TLPS = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)
WORDS = {
    Tlp.CLEAR: "alpaca",
    Tlp.GREEN: "bison",
    Tlp.AMBER: "cobra",
    Tlp.AMBER_STRICT: "dingo",
    Tlp.RED: "ermine",
}
PASSWORD = "correct horse battery staple"
USERNAME = "alice"

_serial = itertools.count(1)


def may_see(org: Org, tlp: Tlp) -> bool:
    """TLP 2.0 as the world's records are shared (each with GRANTED), from the rules."""
    if tlp in (Tlp.CLEAR, Tlp.GREEN) or org in (OWNER, GRANTED):
        return True
    if tlp is Tlp.RED:
        return False
    return org.kind is OrgKind.COORDINATOR


def native(word: str, *, findings: int = 1, title: str | None = None) -> bytes:
    """A native-format document whose findings mention ``word`` (one vulnerability each)."""
    serial = next(_serial)
    items: list[dict[str, Any]] = [
        {
            "target": f"https://git.example.org/web-tests/{word}-{serial}",
            "file": f"src/{word}_{serial}_{n}.c",
            "function": f"parse_{word}_{n}",
            "line": 10 + n,
            "cwe": "CWE-787",
            "title": title or f"Heap overflow in parse_{word} (variant {serial}.{n})",
            "description": f"Writing past the buffer in parse_{word}.",
            "severity": "high",
            "aliases": [f"CVE-2099-{serial * 1_000_000 + n}"],
            "provenance": {"tool": "web-test-scanner", "tool_version": "1.0"},
        }
        for n in range(findings)
    ]
    return orjson.dumps({"format": "clearinghouse-findings", "version": "1.0", "findings": items})


@dataclass
class World:
    runtime: Runtime
    tokens: dict[tuple[str, Role], str] = field(default_factory=dict)
    viewers: dict[str, Viewer] = field(default_factory=dict)
    vulns: dict[Tlp, str] = field(default_factory=dict)
    findings: dict[Tlp, int] = field(default_factory=dict)
    engagement: int = 0

    def token(self, org: Org, role: Role = Role.ANALYST) -> str:
        return self.tokens[org.key, role]


def submit(rt: Runtime, viewer: Viewer, body: bytes, tlp: Tlp, share: tuple[str, ...] = ()) -> int:
    """Import ``body`` as ``viewer``'s organization; the submission id."""
    _, doc = submit_flow.submit(
        rt,
        intake_flow.ImportRequest(
            organization=viewer.organization, chunks=[body], tlp=tlp, share_with=share
        ),
        viewer=viewer,
    )
    return int(doc["submission"])


def _vuln_of(rt: Runtime, submission: int) -> tuple[str, int]:
    with rt.db.session() as session:
        row = session.execute(
            select(Vulnerability.public_id, Finding.id)
            .join(Finding, Finding.vulnerability_id == Vulnerability.id)
            .where(Finding.submission_id == submission)
        ).first()
        assert row is not None
        return str(row[0]), int(row[1])


def add_run(rt: Runtime, *, finding: int, verdict: str | None, status: str = "done") -> int:
    """A validation run row as a worker would leave it (no sandbox needed to read one)."""
    now = rt.clock.now()
    with rt.db.session() as session:
        target = session.scalars(select(Target).where(Target.name == "web-test-target")).first()
        if target is None:
            target = Target(
                name="web-test-target",
                digest="0" * 64,
                language="c",
                version="1.0",
                files=1,
                size=1,
                manifest="",
                registered_by="test",
                created_at=now,
            )
            session.add(target)
            session.flush()
        reproduced = verdict == "reproduced"
        run = ValidationRun(
            finding_id=finding,
            target_id=target.id,
            status=status,
            attempts=1,
            repetitions=3,
            verdict=verdict,
            reproductions=3 if reproduced else (0 if verdict else None),
            sanitizer="AddressSanitizer" if reproduced else None,
            crash_type="Heap-buffer-overflow WRITE 1" if reproduced else None,
            crash_state=orjson.dumps(["parse_tag", "read_header", "main"]).decode()
            if reproduced
            else None,
            security=reproduced or None,
            severity="high" if reproduced else None,
            signature=("f" * 64) if reproduced else None,
            isolation="bubblewrap",
            log="==1==ERROR: AddressSanitizer: heap-buffer-overflow <script>alert(1)</script>"
            if reproduced
            else "no crash in 3 runs",
            requested_by="test",
            created_at=now,
            finished_at=now if status == "done" else None,
        )
        session.add(run)
        session.flush()
        return run.id


def decision_json(*, strong: bool) -> tuple[str, str]:
    """A decision by the default policy on synthetic attempts: (outcome, decision JSON)."""
    policy = designation_rules.default_policy()
    attempts = [
        Attempt(task_id=f"{family}-{task}", family=family, epoch=epoch, solved=solved)
        for family in ("prove", "discover", "patch", "ctf", "knowledge")
        for task in range(8)
        for epoch in range(3)
        for solved in [(task < 7) if strong else (task < 1 and family == "knowledge")]
    ]
    summaries = summarize(attempts, confidence=policy.confidence, resamples=200)
    elicitation = {
        family: designation_rules.Elicitation(
            epochs=3,
            min_steps_budget=30,
            min_tokens_budget=200_000,
            refusals=0,
            samples=24,
            scaffolds=frozenset({"clearinghouse-react-v1"}),
        )
        for family in summaries
    }
    outcome = designation_rules.decide(policy, summaries, elicitation)
    return outcome.outcome.value, orjson.dumps(outcome.as_json()).decode()


def designate(rt: Runtime, engagement: int, *, strong: bool = True) -> str:
    """Record a decision (as ``designation_flow.decide`` would store it); the outcome."""
    outcome, decision = decision_json(strong=strong)
    policy = designation_rules.default_policy()
    with rt.db.session() as session:
        session.add(
            Designation(
                engagement_id=engagement,
                outcome=outcome,
                outcome_strict=outcome,
                outcome_precautionary=outcome,
                policy_name=policy.name,
                policy_version=policy.version,
                policy_hash=designation_rules.policy_hash(policy),
                policy=orjson.dumps(policy.as_json()).decode(),
                decision=decision,
                suite_hashes="[]",
                log_hashes="[]",
                run_ids="[]",
                status="final",
                decided_by="National AI Evaluation Agency/analyst#0",
                decided_at=rt.clock.now(),
                signoffs='[{"reviewer": "Coordination Center/analyst#0", '
                '"at": "2026-01-01T00:00:00+00:00", "note": "reviewed"}]',
            )
        )
    return outcome


def engagement_with_nominee(
    world: World, *, model: str, covered: bool = True, window: bool = True
) -> int:
    """A fresh engagement of DEVELOPER's ``model`` with GRANTED nominated by the developer
    (and, when ``covered``/``window``, a covered designation and an open window)."""
    rt = world.runtime
    dev = world.viewers[DEVELOPER.key]
    registered = designation_flow.register_model(
        rt,
        viewer=dev,
        name=model,
        version="1.0",
        planned_release=rt.clock.now() + dt.timedelta(days=20),
    )
    engagement = int(
        designation_flow.open_engagement(rt, viewer=dev, model_id=registered["id"])["id"]
    )
    if covered:
        assert designate(rt, engagement, strong=True) == "covered"
    if covered and window:
        designation_flow.open_window(
            rt, viewer=dev, engagement_id=engagement, opens_at=rt.clock.now()
        )
    designation_flow.nominate(
        rt,
        viewer=dev,
        engagement_id=engagement,
        organization=GRANTED.name,
        reason="maintains software the model finds flaws in",
    )
    return engagement


def build_world(rt: Runtime) -> World:
    world = World(runtime=rt)
    for org in ORGS:
        admin_flow.create_organization(
            rt.db,
            viewer=LOCAL_ADMIN,
            name=org.name,
            kind=org.kind,
            sector=org.sector,
            clock=rt.clock,
        )
        for role in ROLES:
            world.tokens[org.key, role] = admin_flow.create_token(
                rt.db, viewer=LOCAL_ADMIN, organization=org.name, role=role, clock=rt.clock
            )["token"]
        with rt.db.session() as session:
            organization = access_service.get_org_by_name_or_raise(session, name=org.name)
            world.viewers[org.key] = access_service.viewer_for_org(organization, role=Role.ANALYST)
    owner = world.viewers[OWNER.key]
    for tlp in TLPS:
        submission = submit(rt, owner, native(WORDS[tlp]), tlp, (GRANTED.name,))
        world.vulns[tlp], world.findings[tlp] = _vuln_of(rt, submission)
    add_run(rt, finding=world.findings[Tlp.AMBER], verdict="reproduced")
    add_run(rt, finding=world.findings[Tlp.CLEAR], verdict="not_reproduced")
    add_run(rt, finding=world.findings[Tlp.GREEN], verdict=None, status="queued")
    auth.create_user(
        rt.db,
        actor=LOCAL_ADMIN,
        username=USERNAME,
        organization=COORDINATOR.name,
        role=Role.ANALYST,
        password=PASSWORD,
        clock=rt.clock,
    )
    world.engagement = engagement_with_nominee(world, model="frontier-x", window=False)
    return world
