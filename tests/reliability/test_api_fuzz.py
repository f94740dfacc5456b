"""Schemathesis against the app's own OpenAPI document: as each role, statelessly and along links.

Why: every hostile request must get a clear answer (problem+json naming the field), never a
500, and every answer must be what ``/openapi.json`` promises, or clients generated from the
document break. Schemathesis generates requests from the document (valid ones and, in negative
mode, ones that break it on purpose), sends them to the ASGI app in process (no socket, no
worker: the app runs without its validation pool and the seeded findings carry no proof, so
nothing is built or run) over a fresh database seeded as ``tests/api`` seeds it (organizations
of every kind, a token per role, a submission per TLP label), and checks each response.

The document under test is the served one with three changes made here, not in the app:
OpenAPI links (``add_links``: POST /submissions -> GET /submissions/{id}, POST /cases -> GET
/cases/{id}, POST /models -> POST /engagements ...); fields that name a record also accept the
world's real ids (``seed_document``), so valid data gets past the 404; and no security scheme
(``drop_security``), so each profile's own token is sent on every request.

Profiles: coordinator admin and analyst, lab submitter and admin, vendor admin, operator admin
and viewer, no token, and a well-formed unknown token. For each:

* stateless: one request per generated case, over every operation, half positive and half
  negative data;
* stateful (not for the two without a valid token): Schemathesis' state machine follows the
  links, so ids made by one request feed the next.

Checks: ``not_a_server_error``, ``status_code_conformance``, ``content_type_conformance`` and
``response_schema_conformance``, all of them as they are: the document declares the
problem+json errors (``api.problems.RESPONSES``), so no check is relaxed. Failures are collected
(not raised at the first one) so one run lists them all, deduplicated by operation, check and
status, each with a curl line to replay it.

Budget: ``$CLEARINGHOUSE_FUZZ_API_REQUESTS`` generated requests (default ``CI_REQUESTS``, small
enough for CI; the same requests every run unless ``$CLEARINGHOUSE_FUZZ_API_SEED`` is set);
``benchmarks/api_fuzz.py`` runs the full budget with a random seed. The figures (requests by
profile and status class, 5xx, violations) are printed at the end of the run whatever the
outcome.
"""

from __future__ import annotations

import contextlib
import json
import os
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clearinghouse.access.roles import Role
from clearinghouse.api.app import create_app
from clearinghouse.formats.records import FindingRecord, Location, Provenance, Severity
from clearinghouse.intake import finding_rows
from clearinghouse.pipeline.runtime import Runtime
from tests.api.conftest import (
    COORDINATOR,
    GRANTED,
    OPERATOR,
    OWNER,
    OrgSpec,
    World,
    _populate,
    _settings,
    native_document,
)

API = "/api/v1"
BUDGET_ENV = "CLEARINGHOUSE_FUZZ_API_REQUESTS"
# Unset: the same requests every run (Hypothesis derandomized), as CI wants. Set (an integer):
# another stream of requests, for the long runs that should explore.
SEED_ENV = "CLEARINGHOUSE_FUZZ_API_SEED"
# Set (a path): the figures are also written there as JSON (``benchmarks/api_fuzz.py`` reads it).
REPORT_ENV = "CLEARINGHOUSE_FUZZ_API_REPORT"
# CI: small enough that this module runs in well under 90 s per database on a 2-core machine.
CI_REQUESTS = 800
# The share of the budget spent on stateful (linked) scenarios; the rest is stateless.
STATEFUL_SHARE = 0.25
STATEFUL_STEPS = 6

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True, slots=True)
class Profile:
    """One caller: an organization and a role; without an organization, no token at all
    (``role is None``) or a well-formed token that names no one."""

    name: str
    org: OrgSpec | None
    role: Role | None


PROFILES: tuple[Profile, ...] = (
    Profile("coordinator-admin", COORDINATOR, Role.ADMIN),
    Profile("coordinator-analyst", COORDINATOR, Role.ANALYST),
    Profile("lab-submitter", OWNER, Role.SUBMITTER),
    Profile("lab-admin", OWNER, Role.ADMIN),
    Profile("vendor-admin", GRANTED, Role.ADMIN),
    Profile("operator-admin", OPERATOR, Role.ADMIN),
    Profile("operator-viewer", OPERATOR, Role.VIEWER),
    Profile("anonymous", None, None),
    Profile("unknown-token", None, Role.ADMIN),
)
UNKNOWN_TOKEN = "chk_" + "A" * 40


def budget() -> int:
    raw = os.environ.get(BUDGET_ENV, "")
    return int(raw) if raw.strip() else CI_REQUESTS


def seed() -> int | None:
    raw = os.environ.get(SEED_ENV, "")
    return int(raw) if raw.strip() else None


# --- counting every request the app answers ------------------------------------------------


@dataclass
class Tally:
    """What the app answered, per profile; filled by ``CountingApp`` and ``record``."""

    profile: str = "setup"
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    violations: dict[str, Counter[str]] = field(default_factory=dict)
    # One example per distinct failure: (operation, check title, status) -> reproduction.
    failures: dict[tuple[str, str, int], str] = field(default_factory=dict)
    crashes: list[str] = field(default_factory=list)

    def count(self, status: int) -> None:
        self.statuses.setdefault(self.profile, Counter())[status] += 1

    def requests(self, profile: str | None = None) -> int:
        rows = [self.statuses.get(profile, Counter())] if profile else self.statuses.values()
        return sum(sum(c.values()) for c in rows)

    def record(self, case: schemathesis.Case[Any], response: Any, failures: list[Failure]) -> None:
        bucket = self.violations.setdefault(self.profile, Counter())
        for failure in failures:
            bucket[failure.title] += 1
            key = (case.operation.label, failure.title, int(response.status_code))
            if key not in self.failures:
                body = response.text[:600] if hasattr(response, "text") else ""
                self.failures[key] = (
                    f"{failure.title} on {case.operation.label} as {self.profile}: "
                    f"{failure.message[:600]}\n  {case.as_curl_command()}\n  -> "
                    f"{response.status_code} {body}"
                )

    def as_json(self, **extra: Any) -> dict[str, Any]:
        profiles: dict[str, dict[str, Any]] = {}
        for name, statuses in self.statuses.items():
            if name == "setup":
                continue
            by_class = Counter(f"{status // 100}xx" for status in statuses.elements())
            profiles[name] = {
                "requests": self.requests(name),
                "by_status_class": dict(sorted(by_class.items())),
                "server_errors": sum(n for status, n in statuses.items() if status >= 500),
                "violations": dict(self.violations.get(name, Counter())),
            }
        return {
            **extra,
            "requests": sum(p["requests"] for p in profiles.values()),
            "server_errors": sum(p["server_errors"] for p in profiles.values()),
            "violations": sum(sum(p["violations"].values()) for p in profiles.values()),
            "profiles": profiles,
        }

    def report(self) -> list[str]:
        lines = [
            f"{'profile':<22}{'requests':>9}{'2xx':>7}{'3xx':>6}{'4xx':>7}{'5xx':>6}{'violations':>12}"
        ]
        profiles = [p for p in self.statuses if p != "setup"]
        for name in profiles:
            by_class = Counter(f"{status // 100}xx" for status in self.statuses[name].elements())
            violations = sum(self.violations.get(name, Counter()).values())
            lines.append(
                f"{name:<22}{self.requests(name):>9}{by_class['2xx']:>7}{by_class['3xx']:>6}"
                f"{by_class['4xx']:>7}{by_class['5xx']:>6}{violations:>12}"
            )
        total = sum(self.requests(p) for p in profiles)
        fives = sum(n for p in profiles for status, n in self.statuses[p].items() if status >= 500)
        violations = sum(sum(self.violations.get(p, Counter()).values()) for p in profiles)
        lines.append(f"{'total':<22}{total:>9}{'':>26}{fives:>6}{violations:>12}")
        return lines


class CountingApp:
    """ASGI wrapper: counts every response status, and turns an exception that escaped the
    app into the 500 a server would send (Starlette re-raises it after its own 500, which in
    process would abort the run instead of being counted)."""

    def __init__(self, app: Any, tally: Tally) -> None:
        self.app = app
        self.tally = tally

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def counting_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                self.tally.count(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        except Exception:
            self.tally.crashes.append(
                f"{scope['method']} {scope['path']}\n{traceback.format_exc()}"
            )
            if not started:
                await counting_send({"type": "http.response.start", "status": 500, "headers": []})
                await send({"type": "http.response.body", "body": b""})


# --- the document under test, with links --------------------------------------------------


def _link(operation_id: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": parameters}


def add_links(document: dict[str, Any]) -> int:
    """Add OpenAPI links from the routes that create a record to those that read or change it.

    FastAPI has no way to declare links on a route; they belong to the fuzzing, not to the
    served document, so they are added here. Returns how many were added."""
    by_route = {
        (method.upper(), path): str(op["operationId"])
        for path, item in document["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }

    def op(method: str, path: str) -> str:
        return by_route[method, "/api/v1" + path]

    submission_links = {
        "GetSubmission": _link(
            op("GET", "/submissions/{submission_id}"),
            submission_id="$response.body#/submission",
        ),
        "GrantSubmission": _link(
            op("POST", "/submissions/{submission_id}/grants"),
            submission_id="$response.body#/submission",
        ),
        "FindingsOfSubmission": _link(
            op("GET", "/findings"), submission="$response.body#/submission"
        ),
    }
    links: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
        # 200: the same document again (already imported) names the same submission.
        ("POST", "/submissions", "201"): submission_links,
        ("POST", "/submissions", "200"): submission_links,
        ("POST", "/cases", "201"): {
            name: _link(op(method, path), case_id="$response.body#/id")
            for name, method, path in (
                ("GetCase", "GET", "/cases/{case_id}"),
                ("AddParticipant", "POST", "/cases/{case_id}/participants"),
                ("SetStatus", "POST", "/cases/{case_id}/statuses"),
                ("Describe", "POST", "/cases/{case_id}/describe"),
                ("Embargo", "POST", "/cases/{case_id}/embargo"),
                ("Messages", "GET", "/cases/{case_id}/messages"),
                ("PostMessage", "POST", "/cases/{case_id}/messages"),
                ("Rates", "GET", "/cases/{case_id}/rates"),
                ("Publish", "POST", "/cases/{case_id}/publish"),
            )
        },
        ("POST", "/engagements", "201"): {
            name: _link(op(method, path), engagement_id="$response.body#/id")
            for name, method, path in (
                ("GetEngagement", "GET", "/engagements/{engagement_id}"),
                ("Withdraw", "POST", "/engagements/{engagement_id}/withdraw"),
                ("Window", "PUT", "/engagements/{engagement_id}/window"),
                ("Partners", "POST", "/engagements/{engagement_id}/partners"),
            )
        },
        ("POST", "/models", "201"): {
            "OpenEngagement": {
                "operationId": op("POST", "/engagements"),
                "requestBody": {"model_id": "$response.body#/id"},
            }
        },
        ("POST", "/authorizations", "201"): {
            "Revoke": _link(
                op("POST", "/authorizations/{authorization_id}/revoke"),
                authorization_id="$response.body#/id",
            )
        },
        ("POST", "/findings/{finding_id}/validations", "202"): {
            "GetValidation": _link(op("GET", "/validations/{run_id}"), run_id="$response.body#/id")
        },
    }
    added = 0
    for (method, path, status), named in links.items():
        operation = document["paths"]["/api/v1" + path][method.lower()]
        response = operation["responses"].setdefault(status, {"description": "created"})
        response.setdefault("links", {}).update(named)
        added += len(named)
    return added


def seed_document(document: dict[str, Any], world: World) -> int:
    """Let valid values name records that exist: each parameter or body field that names a
    vulnerability, an organization, a submission or a finding becomes ``anyOf`` [the world's
    values, what it was], so positive data reaches past the 404 half of the time while
    arbitrary values (and, in negative mode, invalid ones) are still sent. The body of POST
    /submissions likewise becomes a valid native document or arbitrary bytes. Returns how many
    schemas were widened."""
    records = list(world.records.values())
    values: dict[str, list[Any]] = {
        "vuln": sorted({r.vuln for r in records}),
        "org": sorted({spec.name for spec in (OWNER, COORDINATOR, GRANTED, OPERATOR)}),
        "submission": sorted({r.submission for r in records}),
        "finding": sorted({r.finding for r in records}),
    }
    kinds = {
        "vuln_id": "vuln",
        "other": "vuln",
        "vulnerability": "vuln",
        "vulnerabilities": "vuln",
        "organization": "org",
        "vendors": "org",
        "submission_id": "submission",
        "submission": "submission",
        "finding_id": "finding",
        "findings": "finding",
    }
    widened = 0

    def widen(schema: dict[str, Any], kind: str) -> dict[str, Any]:
        nonlocal widened
        widened += 1
        if schema.get("type") == "array" and "items" in schema:
            return {**schema, "items": widen(schema["items"], kind)}
        return {"anyOf": [{"enum": values[kind]}, schema]}

    for item in document["paths"].values():
        for op in item.values():
            for parameter in op.get("parameters", []):
                kind = kinds.get(parameter["name"])
                if kind and parameter["in"] in ("path", "query"):
                    parameter["schema"] = widen(parameter["schema"], kind)
    for schema in document["components"]["schemas"].values():
        for name, prop in schema.get("properties", {}).items():
            kind = kinds.get(name)
            if kind:
                schema["properties"][name] = widen(prop, kind)
    upload = document["paths"][API + "/submissions"]["post"]["requestBody"]["content"]
    docs = [native_document(f"fuzz{n}").decode() for n in range(3)]
    for content in upload.values():
        content["schema"] = {"anyOf": [{"enum": docs}, content["schema"]]}
    return widened


def drop_security(document: dict[str, Any]) -> None:
    """Each profile sends its own token; the document's bearer scheme would have Schemathesis
    generate tokens of its own and, in negative mode, drop ours (most negative requests then
    stop at the 401 and never reach the validation they were made to break). The missing
    and the unknown token are profiles of their own."""
    document.get("components", {}).pop("securitySchemes", None)
    for item in document["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                op.pop("security", None)


# --- fixtures ------------------------------------------------------------------------------


@dataclass
class Fuzz:
    world: World
    tally: Tally
    schema: Any
    links: int


@pytest.fixture(scope="module")
def fuzz(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Fuzz]:
    """A fresh database seeded as ``tests/api`` seeds it; the app wrapped in the counter."""
    settings = _settings(tmp_path_factory.mktemp("fuzz")).model_copy(
        update={"validation_auto": False}
    )
    runtime = Runtime.from_settings(settings)
    runtime.ensure_schema()
    tally = Tally()
    app = create_app(runtime)
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        world = _populate(World(runtime=runtime, client=client))
        document = client.get("/openapi.json").json()
    links = add_links(document)
    seed_document(document, world)
    drop_security(document)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = CountingApp(app, tally)
    yield Fuzz(world=world, tally=tally, schema=schema, links=links)
    lines = [f"API fuzz figures ({budget()} requests budgeted, {links} links):", *tally.report()]
    # Printed past pytest's capture: the figures are the point of a long run, pass or fail.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + "\n".join(lines))
    report = os.environ.get(REPORT_ENV)
    if report:
        Path(report).write_text(json.dumps(tally.as_json(budget=budget(), links=links), indent=2))
    runtime.close()


def _headers(fuzz: Fuzz, profile: Profile) -> dict[str, str]:
    if profile.role is None:
        return {}
    if profile.org is None:
        return {"Authorization": f"Bearer {UNKNOWN_TOKEN}"}
    return fuzz.world.headers(profile.org, profile.role)


def _settings_for(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max(1, examples),
        deadline=None,
        database=None,
        derandomize=seed() is None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
        stateful_step_count=STATEFUL_STEPS,
    )


def _call(fuzz: Fuzz, case: schemathesis.Case[Any], headers: dict[str, str]) -> None:
    response = case.call(headers=headers)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        fuzz.tally.record(case, response, list(group.exceptions))


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_stateless_fuzz_as_role(fuzz: Fuzz, profile: Profile) -> None:
    """Every operation, positive and negative data: no 5xx, every answer as documented."""
    share = int(budget() * (1 - STATEFUL_SHARE)) // len(PROFILES)
    headers = _headers(fuzz, profile)
    fuzz.tally.profile = profile.name
    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
        strategy = fuzz.schema.as_strategy(generation_mode=mode)

        @hypothesis.given(case=strategy)
        @_settings_for(share // 2)
        def run(case: schemathesis.Case[Any]) -> None:
            _call(fuzz, case, headers)

        if seed() is not None:
            run = hypothesis.seed(seed())(run)
        run()
    _assert_clean(fuzz, profile)


@pytest.mark.parametrize("profile", PROFILES[:-2], ids=lambda p: p.name)
def test_stateful_links_as_role(fuzz: Fuzz, profile: Profile) -> None:
    """Scenarios that follow the links (create, then read and change what was created)."""
    assert fuzz.links >= 15
    share = int(budget() * STATEFUL_SHARE) // (len(PROFILES) - 2)
    headers = _headers(fuzz, profile)
    fuzz.tally.profile = profile.name + " (links)"
    base = fuzz.schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(
            self, response: Any, case: schemathesis.Case[Any], **kwargs: Any
        ) -> None:
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                fuzz.tally.record(case, response, list(group.exceptions))

    # Scenarios end early (a step with nothing left to follow), and Hypothesis stops a run
    # whose replayed steps meet a database that earlier scenarios have changed (the app's
    # state is outside its control: FlakyStrategyDefinition). Runs repeat until the share is
    # spent, so the budget holds; neither ending hides a failure, each already recorded.
    for _ in range(8):
        remaining = share - fuzz.tally.requests(fuzz.tally.profile)
        if remaining < STATEFUL_STEPS:
            break
        with contextlib.suppress(FlakyStrategyDefinition):
            Machine.run(settings=_settings_for(remaining // STATEFUL_STEPS))
    _assert_clean(fuzz, profile)


def _assert_clean(fuzz: Fuzz, profile: Profile) -> None:
    crashes, failures = list(fuzz.tally.crashes), dict(fuzz.tally.failures)
    fuzz.tally.crashes.clear()
    fuzz.tally.failures.clear()
    found = crashes + list(failures.values())
    assert not found, f"{len(found)} distinct failures as {profile.name}:\n\n" + "\n\n".join(
        found[:25]
    )


# --- regressions: what fuzzing found, pinned as plain tests ---------------------------------

# Past PostgreSQL's INTEGER (the type of every row id), past BIGINT, and below zero.
TOO_LARGE = (2**31, 2**63, 10**30, -(2**63) - 1)


@pytest.mark.parametrize("number", TOO_LARGE)
@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/submissions/{n}", "path.submission_id"),
        ("GET", "/findings/{n}", "path.finding_id"),
        ("POST", "/findings/{n}/validations", "path.finding_id"),
        ("GET", "/validations/{n}", "path.run_id"),
        ("GET", "/eval/runs/{n}/samples/1/transcript", "path.run_id"),
        ("GET", "/eval/runs/1/samples/{n}/transcript", "path.sample_id"),
        ("GET", "/engagements/{n}", "path.engagement_id"),
        ("GET", "/designations/{n}", "path.designation_id"),
        ("POST", "/authorizations/{n}/revoke", "path.authorization_id"),
        ("GET", "/findings?submission={n}", "query.submission"),
        ("GET", "/vulns?offset={n}", "query.offset"),
        ("GET", "/eval/runs/1?reference={n}", "query.reference"),
    ],
)
def test_out_of_range_numbers_are_invalid_not_a_server_error(
    fuzz: Fuzz, method: str, path: str, field: str, number: int
) -> None:
    """Found by fuzzing: a number past the database's integer overflowed the driver (500)."""
    response = fuzz.world.client.request(
        method,
        API + path.format(n=number),
        json={},
        headers=fuzz.world.headers(COORDINATOR, Role.ADMIN),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/engagements", {"model_id": 2**64, "question": "covered?"}, "body.model_id"),
        ("/vulns/CH-2026-00001/split", {"findings": [2**40]}, "body.findings.0"),
    ],
)
def test_out_of_range_ids_in_bodies_are_invalid(
    fuzz: Fuzz, path: str, body: dict[str, Any], field: str
) -> None:
    response = fuzz.world.client.post(
        API + path, json=body, headers=fuzz.world.headers(OWNER, Role.ADMIN)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_the_document_declares_every_error_as_problem_json(fuzz: Fuzz) -> None:
    """Clients generated from /openapi.json must expect what the API answers."""
    document = fuzz.world.client.get("/openapi.json").json()
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        if path.startswith(API)
        for method, op in item.items()
    ]
    assert len(operations) > 60
    for path, method, op in operations:
        for status in ("401", "403", "404", "422"):
            content = op["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (method, path, status)
            schema = content["application/problem+json"]["schema"]
            assert {"type", "title", "status", "detail"} <= set(schema["required"])
    upload = document["paths"][API + "/submissions"]["post"]
    assert "application/octet-stream" in upload["requestBody"]["content"]
    assert "415" in upload["responses"]
    assert "429" in document["paths"][API + "/deconfliction/lookup"]["get"]["responses"]
    allowlist = document["paths"][API + "/allowlist"]["get"]["responses"]["200"]["content"]
    assert {"text/csv", "application/json", "application/stix+json"} <= set(allowlist)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/submissions?share_with=Acme%00", None, "query.share_with"),
        ("GET", "/vulns?q=heap%00overflow", None, "query.q"),
        ("GET", "/directory/Acme%00Maintainers", None, "path.organization"),
        ("GET", "/vulns/CH-2026-%0000001", None, "path.vuln_id"),
        ("POST", "/organizations", {"name": "Evil\x00Lab", "kind": "ai-lab"}, "body.name"),
        (
            "PUT",
            "/directory/Coordination Center",
            {"contacts": ["ok", "mailto:a\x00@example.org"]},
            "body.contacts.1",
        ),
        (
            "POST",
            "/cases",
            {"vulnerabilities": ["CH-2026-00001"], "ti\x00tle": "x"},
            "body.ti\x00tle",
        ),
    ],
)
def test_nul_characters_are_invalid_on_every_database(
    fuzz: Fuzz, method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    """Found by fuzzing on PostgreSQL (which refuses NUL in text): a 500 there, stored by SQLite."""
    before = fuzz.world.counts()
    response = fuzz.world.client.request(
        method, API + path, json=body, headers=fuzz.world.headers(COORDINATOR, Role.ADMIN)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert "NUL" in response.json()["detail"]
    assert fuzz.world.counts() == before


def test_an_uploaded_document_with_nul_in_a_string_is_stored_with_a_replacement(
    fuzz: Fuzz,
) -> None:
    """Found by fuzzing on PostgreSQL: a finding whose title held a NUL was a 500 there. The
    character becomes U+FFFD on every database; the rest of the document is kept."""
    document = native_document("nul").replace(b"Heap overflow", b"Heap\\u0000overflow")
    response = fuzz.world.client.post(
        API + "/submissions", content=document, headers=fuzz.world.headers(OWNER, Role.SUBMITTER)
    )
    assert response.status_code == 201, response.text
    (finding,) = fuzz.world.findings_of(OWNER, int(response.json()["submission"]))
    shown = fuzz.world.client.get(
        f"{API}/findings/{finding['id']}", headers=fuzz.world.headers(OWNER, Role.VIEWER)
    ).json()
    assert shown["title"].startswith("Heap\ufffdoverflow in parse_nul"), shown
    assert shown["severity"] == "high"


def test_without_nul_replaces_every_nul_and_keeps_types() -> None:
    """The record keeps its shape: named tuples, enums and mappings stay what they were."""
    record = FindingRecord(
        format="native",
        pointer="/findings/0",
        producer="scan\x00ner",
        title="a\x00b",
        severity=Severity.HIGH,
        location=Location(path="src/\x00.c", start_line=3),
        aliases=("CVE-2099-1\x00",),
        provenance=Provenance(tool="t\x00"),
        extra={"k\x00": "v\x00"},
    )
    assert finding_rows.may_hold_nul(b'{"title": "a\\u0000b"}')
    assert not finding_rows.may_hold_nul(b'{"title": "ab"}')
    clean = finding_rows.without_nul(record)
    assert isinstance(clean, FindingRecord)
    assert (clean.producer, clean.title, clean.aliases) == (
        "scan\ufffdner",
        "a\ufffdb",
        ("CVE-2099-1\ufffd",),
    )
    assert clean.severity is Severity.HIGH
    assert clean.location == Location(path="src/\ufffd.c", start_line=3)
    assert clean.provenance == Provenance(tool="t\ufffd")
    assert dict(clean.extra) == {"k\ufffd": "v\ufffd"}
    assert "\x00" not in repr(clean)


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"])
def test_an_instant_whose_offset_leaves_the_calendar_is_refused_by_name(
    fuzz: Fuzz, instant: str
) -> None:
    """Found by the full run on PostgreSQL: a valid ISO 8601 instant that Python cannot convert
    to UTC (OverflowError) was a 500; it is a problem naming the field, and nothing is stored."""
    before = fuzz.world.counts()
    response = fuzz.world.client.post(
        API + "/models",
        json={"name": "E", "version": "E", "planned_release": instant},
        headers=fuzz.world.headers(OWNER, Role.ADMIN),
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "planned_release" in response.json()["detail"]
    assert "out of range" in response.json()["detail"]
    assert fuzz.world.counts() == before
