"""API-only fixtures: a shared world reached through FastAPI's TestClient.

Building a database, organizations, twenty tokens and five submissions takes longer than the
hundreds of one-request tests that read it, so the world is built once per test module
(``scope="module"``); each module gets its own fresh database. On PostgreSQL
($CLEARINGHOUSE_TEST_DATABASE_URL) the schema is dropped and re-created exactly as the
function-scoped ``settings`` fixture of ``tests/conftest.py`` does, so a module that uses a
``world`` must not also use the function-scoped ``runtime`` fixture.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.api.app import create_app
from clearinghouse.audit.models import AuditEvent
from clearinghouse.core.tlp import Tlp
from clearinghouse.infra.settings import Settings
from clearinghouse.intake.models import Finding, Submission
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.vulns.models import Vulnerability
from tests.conftest import POSTGRES_URL, _reset_postgres

API = "/api/v1"
ROLES: tuple[Role, ...] = (Role.ADMIN, Role.ANALYST, Role.SUBMITTER, Role.VIEWER)
TLPS: tuple[Tlp, ...] = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)

# One distinct word per label, none a substring of another (so "amber" cannot match
# "amber+strict"), used in the title, file, function and target of that label's finding.
TLP_WORDS: Mapping[Tlp, str] = {
    Tlp.CLEAR: "alpaca",
    Tlp.GREEN: "bison",
    Tlp.AMBER: "cobra",
    Tlp.AMBER_STRICT: "dingo",
    Tlp.RED: "ermine",
}


@dataclass(frozen=True, slots=True)
class OrgSpec:
    key: str
    name: str
    kind: OrgKind
    sector: Sector | None = None


# The matrix's organizations. "owner" submits one document per TLP label; "granted" is named
# on every one of them through POST /submissions/{id}/grants.
OWNER = OrgSpec("owner", "Owner Lab", OrgKind.AI_LAB)
COORDINATOR = OrgSpec("coordinator", "Coordination Center", OrgKind.COORDINATOR, Sector.GOVERNMENT)
UNRELATED = OrgSpec("unrelated", "Unrelated Lab", OrgKind.AI_LAB)
OPERATOR = OrgSpec("operator", "Valley Rural Hospital", OrgKind.OPERATOR, Sector.HEALTHCARE)
GRANTED = OrgSpec("granted", "Acme Maintainers", OrgKind.VENDOR)
VIEWER_ORGS: tuple[OrgSpec, ...] = (OWNER, COORDINATOR, UNRELATED, OPERATOR, GRANTED)
# Receives grants in write tests, so that granting never changes what the matrix orgs see.
SINK = OrgSpec("sink", "Grant Sink", OrgKind.RESEARCHER)


def may_see(org: OrgSpec, tlp: Tlp) -> bool:
    """Whether ``org`` may see one of the owner's records labelled ``tlp``.

    Written from the TLP 2.0 rules, not from the code under test; it holds for the world's
    records, which the owner granted to GRANTED and to no one else.
    """
    if tlp in (Tlp.CLEAR, Tlp.GREEN):
        return True  # every registered organization
    if org is OWNER or org is GRANTED:
        return True  # the submitter, and the organization named on every submission
    if tlp is Tlp.RED:
        return False  # coordinators too see RED only when named
    return org.kind is OrgKind.COORDINATOR  # AMBER, AMBER+STRICT


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


_unique = itertools.count(1)


def native_document(word: str, *, findings: int = 1, alias: str | None = None) -> bytes:
    """A valid native-format document whose findings mention ``word`` and nothing shared.

    With ``findings > 1`` every finding carries the same alias, so they cluster into one
    vulnerability (which is what a split needs).
    """
    serial = next(_unique)
    alias = alias or f"CVE-2099-{50_000 + serial}"
    items: list[dict[str, Any]] = [
        {
            "target": f"https://git.example.org/api-tests/{word}-{serial}",
            "file": f"src/{word}_{serial}_{n}.c",
            "function": f"parse_{word}_{n}",
            "line": 10 + n,
            "cwe": "CWE-787",
            "title": f"Heap overflow in parse_{word} (variant {serial}.{n})",
            "severity": "high",
            "aliases": [alias],
            "provenance": {"tool": "api-test-scanner", "tool_version": "1.0"},
        }
        for n in range(findings)
    ]
    return orjson.dumps({"format": "clearinghouse-findings", "version": "1.0", "findings": items})


@dataclass(frozen=True, slots=True)
class Record:
    """One submission of the owner and the finding and vulnerability it produced."""

    tlp: Tlp
    word: str
    alias: str
    submission: int
    finding: int
    vuln: str


@dataclass
class World:
    runtime: Runtime
    client: TestClient
    tokens: dict[tuple[str, Role], str] = field(default_factory=dict)
    records: dict[Tlp, Record] = field(default_factory=dict)

    def token(self, org: OrgSpec | str, role: Role) -> str:
        key = org if isinstance(org, str) else org.key
        return self.tokens[key, role]

    def headers(self, org: OrgSpec | str, role: Role) -> dict[str, str]:
        return bearer(self.token(org, role))

    def upload(
        self,
        org: OrgSpec,
        body: bytes,
        *,
        tlp: Tlp | None = None,
        role: Role = Role.SUBMITTER,
        share_with: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if tlp is not None:
            params["tlp"] = tlp.value
        if share_with:
            params["share_with"] = list(share_with)
        response = self.client.post(
            f"{API}/submissions", content=body, params=params, headers=self.headers(org, role)
        )
        assert response.status_code == 201, response.text
        doc: dict[str, Any] = response.json()
        return doc

    def findings_of(self, org: OrgSpec, submission: int) -> list[dict[str, Any]]:
        response = self.client.get(
            f"{API}/findings",
            params={"submission": submission},
            headers=self.headers(org, Role.VIEWER),
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    def fresh_vuln(self, org: OrgSpec, tlp: Tlp, *, findings: int = 1) -> tuple[str, list[int]]:
        """Upload a new document as ``org``: its vulnerability id and finding ids."""
        outcome = self.upload(org, native_document("fresh", findings=findings), tlp=tlp)
        rows = self.findings_of(org, int(outcome["submission"]))
        assert len(rows) == findings
        vulns = {str(row["vulnerability"]) for row in rows}
        assert len(vulns) == 1, vulns
        return vulns.pop(), [int(row["id"]) for row in rows]

    def counts(self) -> dict[str, int]:
        """Rows per table that an upload may write (for "a refusal changes nothing")."""
        with self.runtime.db.session() as session:
            return {
                model.__tablename__: session.execute(
                    select(func.count()).select_from(model)
                ).scalar_one()
                for model in (Submission, Finding, Vulnerability, AuditEvent)
            }

    def with_settings(self, **overrides: Any) -> TestClient:
        """A dedicated app over the same database with some settings changed (use ``with``)."""
        settings = self.runtime.settings.model_copy(update=overrides)
        return TestClient(create_app(dataclasses.replace(self.runtime, settings=settings)))


def _settings(tmp: Path) -> Settings:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    return Settings(data_dir=tmp / "data", database_url=POSTGRES_URL)


@pytest.fixture(scope="module")
def module_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = Runtime.from_settings(_settings(tmp_path_factory.mktemp("api")))
    rt.ensure_schema()
    yield rt
    rt.close()


def _bootstrap_coordinator(runtime: Runtime) -> str:
    """The first coordinator admin cannot be made over HTTP (someone must hold a token)."""
    with runtime.db.session() as session:
        org = access_service.create_org(
            session,
            name=COORDINATOR.name,
            kind=COORDINATOR.kind,
            sector=COORDINATOR.sector,
            clock=runtime.clock,
        )
        _, secret = access_service.create_token(
            session, org=org, role=Role.ADMIN, clock=runtime.clock
        )
        return secret


@pytest.fixture(scope="module")
def world(module_runtime: Runtime) -> Iterator[World]:
    """Orgs and tokens made over HTTP; the owner's five submissions, each granted to GRANTED."""
    # Entered as a context manager, the client keeps one event-loop thread for all requests
    # instead of starting one per request (three times faster).
    with TestClient(create_app(module_runtime)) as client:
        yield _populate(World(runtime=module_runtime, client=client))


def _populate(w: World) -> World:
    client = w.client
    root = _bootstrap_coordinator(w.runtime)
    for spec in (*VIEWER_ORGS, SINK):
        if spec is not COORDINATOR:
            body: dict[str, Any] = {"name": spec.name, "kind": spec.kind.value}
            if spec.sector is not None:
                body["sector"] = spec.sector.value
            made = client.post(f"{API}/organizations", json=body, headers=bearer(root))
            assert made.status_code == 201, made.text
        for role in ROLES:
            made = client.post(
                f"{API}/tokens",
                json={"role": role.value, "organization": spec.name},
                headers=bearer(root),
            )
            assert made.status_code == 201, made.text
            w.tokens[spec.key, role] = str(made.json()["token"])
    for tlp in TLPS:
        word = TLP_WORDS[tlp]
        alias = f"CVE-2099-{10_000 + TLPS.index(tlp)}"
        outcome = w.upload(OWNER, native_document(word, alias=alias), tlp=tlp)
        assert outcome["tlp"] == tlp.value
        submission = int(outcome["submission"])
        granted = client.post(
            f"{API}/submissions/{submission}/grants",
            json={"organization": GRANTED.name},
            headers=w.headers(OWNER, Role.ADMIN),
        )
        assert granted.status_code == 201, granted.text
        (finding,) = w.findings_of(OWNER, submission)
        w.records[tlp] = Record(
            tlp=tlp,
            word=word,
            alias=alias,
            submission=submission,
            finding=int(finding["id"]),
            vuln=str(finding["vulnerability"]),
        )
    assert len({r.vuln for r in w.records.values()}) == len(TLPS), "documents must not cluster"
    return w
