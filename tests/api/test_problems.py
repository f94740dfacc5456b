"""Errors as RFC 9457 problem+json, refused uploads that store nothing, idempotent re-upload,
audited restricted reads, and the OpenAPI document.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from clearinghouse.access.roles import Role
from clearinghouse.api.app import create_app
from clearinghouse.core.tlp import Tlp
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline.runtime import Runtime
from tests.api.conftest import API, COORDINATOR, OWNER, UNRELATED, World, native_document

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(
    response: httpx.Response, status: int, slug: str | None = None
) -> dict[str, Any]:
    """The response is a problem+json document of ``status`` about the requested path."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    doc: dict[str, Any] = response.json()
    assert set(doc) >= PROBLEM_KEYS, doc
    assert doc["status"] == status
    assert isinstance(doc["title"], str)
    assert doc["title"]
    assert isinstance(doc["detail"], str)
    assert doc["detail"]
    assert doc["type"].startswith(("https://", "about:blank"))
    assert doc["instance"] == response.request.url.path
    if slug is not None:
        assert doc["type"].rsplit("/", 1)[-1] == slug, doc["type"]
    return doc


# Every route, with a well-formed body where it takes one, so that only authentication fails.
ROUTES = [
    pytest.param(method, path, body, id=f"{method} {path}")
    for method, path, body in (
        ("GET", "/organizations", None),
        ("POST", "/organizations", {"name": "Anonymous Org", "kind": "researcher"}),
        ("POST", "/tokens", {"role": "admin"}),
        ("POST", "/submissions", native_document("anonymous")),
        ("GET", "/submissions", None),
        ("GET", "/submissions/1", None),
        ("POST", "/submissions/1/grants", {"organization": "Owner Lab"}),
        ("GET", "/findings", None),
        ("GET", "/findings/1", None),
        ("GET", "/vulns", None),
        ("GET", "/vulns/CH-2026-00001", None),
        ("POST", "/vulns/CH-2026-00001/merge", {"other": "CH-2026-00002"}),
        ("POST", "/vulns/CH-2026-00001/split", {"findings": [1]}),
        ("GET", "/audit/verify", None),
        ("GET", "/targets", None),
        ("POST", "/findings/1/validations", {"repetitions": 1, "wait": False}),
        ("GET", "/validations/1", None),
        ("POST", "/vulns/CH-2026-00001/patches", b"--- a/x.c\n+++ b/x.c\n"),
        ("PUT", "/directory/Owner Lab", {"contacts": ["mailto:a@b.example"]}),
        ("GET", "/directory/Owner Lab", None),
        ("POST", "/cases", {"vulnerabilities": ["CH-2026-00001"]}),
        ("GET", "/cases", None),
        ("GET", "/cases/CASE-2026-0001", None),
        ("POST", "/cases/CASE-2026-0001/participants", {"organization": "Owner Lab"}),
        (
            "POST",
            "/cases/CASE-2026-0001/statuses",
            {"vulnerability": "CH-2026-00001", "status": "affected"},
        ),
        (
            "POST",
            "/cases/CASE-2026-0001/statuses/approve",
            {"vulnerability": "CH-2026-00001", "vendor": "Owner Lab"},
        ),
        ("POST", "/cases/CASE-2026-0001/describe", {"vulnerability": "CH-2026-00001"}),
        ("POST", "/cases/CASE-2026-0001/embargo", {"action": "agree"}),
        ("GET", "/cases/CASE-2026-0001/messages", None),
        ("POST", "/cases/CASE-2026-0001/messages", {"body": "hello"}),
        ("POST", "/cases/CASE-2026-0001/patches?vulnerability=CH-2026-00001", b"--- a\n"),
        ("POST", "/cases/CASE-2026-0001/prenotify", None),
        ("GET", "/cases/CASE-2026-0001/rates", None),
        ("POST", "/cases/CASE-2026-0001/publish", {}),
        ("GET", "/advisories/CASE-2026-0001", None),
        ("GET", "/notifications", None),
        ("POST", "/notifications/1/response", {"status": "acknowledged"}),
        ("POST", "/scope", {"networks": ["203.0.113.0/24"], "domain": "example.org"}),
        ("POST", "/scope/verify", {"method": "dns"}),
        ("PUT", "/scan-policy", {"rate_cap_pps": 10}),
        ("POST", "/kill-switch", {"on": True}),
        (
            "POST",
            "/authorizations",
            {
                "scanner": "Owner Lab",
                "windows": "mon 00:00-24:00",
                "techniques": ["discovery"],
                "max_rate_pps": 1,
                "max_concurrency": 1,
                "expires_at": "2030-01-01T00:00:00Z",
            },
        ),
        ("POST", "/authorizations/1/revoke", None),
        (
            "POST",
            "/campaigns",
            {
                "targets": ["203.0.113.0/28"],
                "sources": ["198.51.100.1"],
                "start": "2030-01-01T00:00:00Z",
                "end": "2030-01-01T01:00:00Z",
                "technique": "discovery",
                "rate_pps": 1,
            },
        ),
        ("GET", "/deconfliction/lookup?ip=198.51.100.1", None),
        ("GET", "/allowlist", None),
        ("POST", "/leases", None),
        (
            "POST",
            "/coverage",
            {"project": "pkg:pypi/x", "commit": "abcdef1", "technique": "discovery"},
        ),
        ("GET", "/eval/suites", None),
        ("GET", "/eval/suites/1", None),
        ("GET", "/eval/suites/1/tasks/prove-x", None),
        ("GET", "/eval/runs", None),
        ("GET", "/eval/runs/1", None),
        ("GET", "/eval/runs/1/samples/1/transcript", None),
        (
            "POST",
            "/models",
            {"name": "m", "version": "1", "planned_release": "2030-01-01T00:00:00Z"},
        ),
        ("POST", "/engagements", {"model_id": 1}),
        ("GET", "/engagements/1", None),
        ("POST", "/engagements/1/withdraw", None),
        ("PUT", "/engagements/1/window", {"opens_at": "2030-01-01T00:00:00Z"}),
        ("POST", "/engagements/1/grants", {"organization": "Owner Lab"}),
        ("POST", "/engagements/1/access", {"purpose": "evaluation"}),
        ("POST", "/engagements/1/partners", {"organization": "Owner Lab"}),
        ("POST", "/engagements/1/partners/Owner%20Lab", {"approve": True}),
        ("GET", "/designations/1", None),
        ("POST", "/designations/1/sign-off", {}),
    )
]


def _send(
    world: World,
    method: str,
    path: str,
    body: dict[str, Any] | bytes | None,
    headers: dict[str, str],
) -> httpx.Response:
    url = f"{API}{path}"
    response: httpx.Response
    if isinstance(body, bytes):
        response = world.client.request(method, url, content=body, headers=headers)
    else:
        response = world.client.request(method, url, json=body, headers=headers)
    return response


BAD_CREDENTIALS: dict[str, dict[str, str]] = {
    "none": {},
    "empty-bearer": {"Authorization": "Bearer "},
    "basic-scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "malformed": {"Authorization": "Bearer not-a-clearinghouse-token"},
    "unknown": {"Authorization": "Bearer chk_" + "A" * 43},
}


@pytest.mark.parametrize("credentials", sorted(BAD_CREDENTIALS))
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_needs_a_valid_token(
    world: World, method: str, path: str, body: Any, credentials: str
) -> None:
    before = world.counts()
    response = _send(world, method, path, body, BAD_CREDENTIALS[credentials])
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert world.counts() == before


def test_authentication_comes_before_request_validation(world: World) -> None:
    """An anonymous caller learns nothing, not even which parameters are wrong."""
    assert_problem(world.client.get(f"{API}/vulns", params={"limit": 0}), 401)
    assert_problem(world.client.post(f"{API}/organizations", json={"nope": 1}), 401)


def test_forbidden_is_a_problem(world: World) -> None:
    response = world.client.post(
        f"{API}/submissions",
        content=native_document("forbidden"),
        headers=world.headers(OWNER, Role.VIEWER),
    )
    doc = assert_problem(response, 403, "forbidden")
    assert "viewer" in doc["detail"]


@pytest.mark.parametrize(
    "path", ["/submissions/999999", "/findings/999999", "/vulns/CH-2000-99999", "/vulns/nonsense"]
)
def test_not_found_is_a_problem(world: World, path: str) -> None:
    response = world.client.get(f"{API}{path}", headers=world.headers(OWNER, Role.VIEWER))
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "field"),
    [
        ("GET", "/vulns", {"limit": 0}, None, "query.limit"),
        ("GET", "/vulns", {"limit": 1001}, None, "query.limit"),
        ("GET", "/submissions", {"offset": -1}, None, "query.offset"),
        ("GET", "/findings", {"submission": "abc"}, None, "query.submission"),
        ("GET", "/vulns", {"q": "x" * 201}, None, "query.q"),
        ("GET", "/submissions/abc", {}, None, "path.submission_id"),
        ("GET", "/findings/1.5", {}, None, "path.finding_id"),
        ("POST", "/organizations", {}, {"name": "X"}, "body.kind"),
        ("POST", "/organizations", {}, {"name": "X", "kind": "pirate"}, "body.kind"),
        ("POST", "/tokens", {}, {"role": "overlord"}, "body.role"),
        ("POST", "/vulns/CH-2026-00001/split", {}, {"findings": []}, "body.findings"),
        ("POST", "/vulns/CH-2026-00001/merge", {}, {}, "body.other"),
    ],
)
def test_invalid_request_names_the_field(
    world: World,
    method: str,
    path: str,
    params: dict[str, Any],
    body: dict[str, Any] | None,
    field: str,
) -> None:
    response = world.client.request(
        method,
        f"{API}{path}",
        params=params,
        json=body,
        headers=world.headers(COORDINATOR, Role.ADMIN),
    )
    doc = assert_problem(response, 422, "invalid-request")
    assert doc["detail"].startswith(field), doc["detail"]
    assert field in {error["field"] for error in doc["errors"]}


# --- uploads that are refused store nothing ------------------------------------------------

_VALID = native_document("valid")
_NO_PROVENANCE = orjson.dumps(
    {
        "format": "clearinghouse-findings",
        "version": "1.0",
        "findings": [{"target": "https://git.example.org/x", "title": "No provenance"}],
    }
)
_BAD_SEVERITY = orjson.dumps(
    {
        "format": "clearinghouse-findings",
        "version": "1.0",
        "findings": [
            {
                "target": "https://git.example.org/x",
                "title": "Bad severity",
                "severity": "apocalyptic",
                "provenance": {"tool": "t"},
            }
        ],
    }
)


def _chunks(data: bytes, size: int = 16) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# name -> (body, query params, extra headers, status, problem slug)
REFUSED: dict[str, tuple[bytes, dict[str, Any], dict[str, str], int, str]] = {
    "invalid-json": (b'{"format": "clearinghouse-findings", ', {}, {}, 400, "undecodable"),
    "not-json-at-all": (b"\x00\x01\x02binary", {}, {}, 400, "undecodable"),
    "empty": (b"", {}, {}, 400, "undecodable"),
    "schema-no-provenance": (_NO_PROVENANCE, {}, {}, 422, "schema-violation"),
    "schema-bad-severity": (_BAD_SEVERITY, {}, {}, 422, "schema-violation"),
    "unknown-format": (b'{"hello": "world"}', {}, {}, 415, "unknown-format"),
    "unknown-format-name": (_VALID, {"format": "docx"}, {}, 415, "unknown-format"),
    "bad-tlp": (_VALID, {"tlp": "PURPLE"}, {}, 400, "invalid-input"),
    "gzip": (
        gzip.compress(_VALID),
        {},
        {"Content-Encoding": "gzip"},
        415,
        "unsupported-encoding",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_upload_is_a_problem_and_stores_nothing(world: World, case: str) -> None:
    body, params, headers, status, slug = REFUSED[case]
    before = world.counts()
    response = world.client.post(
        f"{API}/submissions",
        content=body,
        params=params,
        headers={**world.headers(OWNER, Role.SUBMITTER), **headers},
    )
    doc = assert_problem(response, status, slug)
    assert world.counts() == before
    if status == 422:
        assert doc["pointer"].startswith("/findings/0"), doc
        assert doc["expected"]
        assert doc["pointer"] in doc["detail"]


def test_schema_violation_points_at_the_bad_value(world: World) -> None:
    response = world.client.post(
        f"{API}/submissions", content=_BAD_SEVERITY, headers=world.headers(OWNER, Role.SUBMITTER)
    )
    doc = assert_problem(response, 422, "schema-violation")
    assert doc["pointer"] == "/findings/0/severity"


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_over_size_upload_is_413_and_stores_nothing(world: World, streamed: bool) -> None:
    body = native_document("oversize", findings=20)
    assert len(body) > 512
    before = world.counts()
    with world.with_settings(max_upload_bytes=512) as small:
        content: bytes | Iterator[bytes] = _chunks(body) if streamed else body
        response = small.post(
            f"{API}/submissions", content=content, headers=world.headers(OWNER, Role.SUBMITTER)
        )
        doc = assert_problem(response, 413, "too-large")
        assert "512" in doc["detail"]
        small_enough = small.post(
            f"{API}/submissions",
            content=orjson.dumps(
                {
                    "format": "clearinghouse-findings",
                    "version": "1.0",
                    "findings": [],
                    "x-nonce": f"small-{streamed}",
                }
            ),
            headers=world.headers(OWNER, Role.SUBMITTER),
        )
        assert small_enough.status_code == 201, small_enough.text
    after = world.counts()
    assert after["findings"] == before["findings"]
    assert after["submissions"] == before["submissions"] + 1


def test_reupload_of_the_same_bytes_changes_nothing(world: World) -> None:
    body = native_document("twice")
    headers = world.headers(OWNER, Role.SUBMITTER)
    first = world.client.post(f"{API}/submissions", content=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["already_imported"] is False
    before = world.counts()
    again = world.client.post(f"{API}/submissions", content=body, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["already_imported"] is True
    assert again.json()["submission"] == first.json()["submission"]
    assert world.counts() == before
    # another organization sending the same bytes makes its own submission (a duplicate)
    other = world.client.post(
        f"{API}/submissions", content=body, headers=world.headers(UNRELATED, Role.SUBMITTER)
    )
    assert other.status_code == 201, other.text
    assert (other.json()["already_imported"], other.json()["duplicates"]) == (False, 1)


# --- audit ---------------------------------------------------------------------------------


def _verify(world: World) -> dict[str, Any]:
    response = world.client.get(
        f"{API}/audit/verify", headers=world.headers(COORDINATOR, Role.ADMIN)
    )
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    assert doc["ok"] is True, doc
    return doc


@pytest.mark.parametrize("tlp", [Tlp.AMBER, Tlp.AMBER_STRICT], ids=str)
@pytest.mark.parametrize("route", ["vuln", "finding", "submission", "vuln-list"])
def test_restricted_read_by_a_coordinator_is_audited(world: World, tlp: Tlp, route: str) -> None:
    record = world.records[tlp]
    path = {
        "vuln": f"/vulns/{record.vuln}",
        "finding": f"/findings/{record.finding}",
        "submission": f"/submissions/{record.submission}",
        "vuln-list": f"/vulns?q={record.word}",
    }[route]
    before = _verify(world)["events"]
    response = world.client.get(f"{API}{path}", headers=world.headers(COORDINATOR, Role.VIEWER))
    assert response.status_code == 200, response.text
    assert response.json()
    assert _verify(world)["events"] == before + 1


def test_audit_counts_writes(world: World) -> None:
    before = _verify(world)["events"]
    world.upload(OWNER, native_document("audited"), tlp=Tlp.CLEAR)
    assert _verify(world)["events"] == before + 1


# --- OpenAPI -------------------------------------------------------------------------------


def test_openapi_lists_every_route(world: World) -> None:
    response = world.client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    listed = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    expected = {
        ("GET", "/api/v1/organizations"),
        ("POST", "/api/v1/organizations"),
        ("POST", "/api/v1/tokens"),
        ("POST", "/api/v1/submissions"),
        ("GET", "/api/v1/submissions"),
        ("GET", "/api/v1/submissions/{submission_id}"),
        ("POST", "/api/v1/submissions/{submission_id}/grants"),
        ("GET", "/api/v1/findings"),
        ("GET", "/api/v1/findings/{finding_id}"),
        ("GET", "/api/v1/vulns"),
        ("GET", "/api/v1/vulns/{vuln_id}"),
        ("POST", "/api/v1/vulns/{vuln_id}/merge"),
        ("POST", "/api/v1/vulns/{vuln_id}/split"),
        ("GET", "/api/v1/audit/verify"),
        ("GET", "/api/v1/targets"),
        ("POST", "/api/v1/findings/{finding_id}/validations"),
        ("GET", "/api/v1/validations/{run_id}"),
        ("POST", "/api/v1/vulns/{vuln_id}/patches"),
        ("POST", "/api/v1/inventories"),
        ("GET", "/api/v1/inventories"),
        ("GET", "/api/v1/inventories/matches"),
        ("GET", "/api/v1/inventories/report"),
        ("GET", "/api/v1/exposure/{vuln_id}"),
        ("POST", "/api/v1/vex"),
        ("PUT", "/api/v1/directory/{organization}"),
        ("GET", "/api/v1/directory/{organization}"),
        ("POST", "/api/v1/cases"),
        ("GET", "/api/v1/cases"),
        ("GET", "/api/v1/cases/{case_id}"),
        ("POST", "/api/v1/cases/{case_id}/participants"),
        ("POST", "/api/v1/cases/{case_id}/statuses"),
        ("POST", "/api/v1/cases/{case_id}/statuses/approve"),
        ("POST", "/api/v1/cases/{case_id}/describe"),
        ("POST", "/api/v1/cases/{case_id}/embargo"),
        ("GET", "/api/v1/cases/{case_id}/messages"),
        ("POST", "/api/v1/cases/{case_id}/messages"),
        ("POST", "/api/v1/cases/{case_id}/patches"),
        ("POST", "/api/v1/cases/{case_id}/prenotify"),
        ("GET", "/api/v1/cases/{case_id}/rates"),
        ("POST", "/api/v1/cases/{case_id}/publish"),
        ("GET", "/api/v1/advisories/{case_id}"),
        ("GET", "/api/v1/notifications"),
        ("POST", "/api/v1/notifications/{notification_id}/response"),
        ("POST", "/api/v1/scope"),
        ("POST", "/api/v1/scope/verify"),
        ("PUT", "/api/v1/scan-policy"),
        ("POST", "/api/v1/kill-switch"),
        ("POST", "/api/v1/authorizations"),
        ("POST", "/api/v1/authorizations/{authorization_id}/revoke"),
        ("POST", "/api/v1/campaigns"),
        ("GET", "/api/v1/deconfliction/lookup"),
        ("GET", "/api/v1/allowlist"),
        ("POST", "/api/v1/leases"),
        ("POST", "/api/v1/coverage"),
        ("GET", "/api/v1/eval/suites"),
        ("GET", "/api/v1/eval/suites/{suite_id}"),
        ("GET", "/api/v1/eval/suites/{suite_id}/tasks/{task_id}"),
        ("GET", "/api/v1/eval/runs"),
        ("GET", "/api/v1/eval/runs/{run_id}"),
        ("GET", "/api/v1/eval/runs/{run_id}/samples/{sample_id}/transcript"),
        ("POST", "/api/v1/models"),
        ("POST", "/api/v1/engagements"),
        ("GET", "/api/v1/engagements/{engagement_id}"),
        ("POST", "/api/v1/engagements/{engagement_id}/withdraw"),
        ("PUT", "/api/v1/engagements/{engagement_id}/window"),
        ("POST", "/api/v1/engagements/{engagement_id}/grants"),
        ("POST", "/api/v1/engagements/{engagement_id}/access"),
        ("POST", "/api/v1/engagements/{engagement_id}/partners"),
        ("POST", "/api/v1/engagements/{engagement_id}/partners/{organization}"),
        ("GET", "/api/v1/designations/{designation_id}"),
        ("POST", "/api/v1/designations/{designation_id}/sign-off"),
    }
    assert listed == expected
    # the routes a caller must authenticate for say so
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    upload = spec["paths"]["/api/v1/submissions"]["post"]
    assert {p["name"] for p in upload["parameters"]} >= {"format", "target", "tlp", "share_with"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/v1/nothing-here", 404), ("DELETE", "/api/v1/vulns", 405)],
)
def test_routing_errors_are_problems_too(world: World, method: str, path: str, status: int) -> None:
    response = world.client.request(method, path, headers=world.headers(OWNER, Role.VIEWER))
    assert_problem(response, status, f"http-{status}")


def test_json_bodies_are_capped_while_streaming(tmp_path: Path) -> None:
    """A huge JSON body to a small endpoint is refused with 413, declared or chunked."""
    from clearinghouse.api.limits import JSON_BODY_MAX_BYTES

    settings = Settings(data_dir=tmp_path / "data")
    runtime = Runtime.from_settings(settings)
    runtime.ensure_schema()
    body = b'{"name": "' + b"x" * (JSON_BODY_MAX_BYTES + 10) + b'", "kind": "ai-lab"}'
    with TestClient(create_app(runtime)) as client:
        declared = client.post(
            "/api/v1/organizations", content=body, headers={"Authorization": "Bearer chk_x"}
        )
        chunked = client.post(
            "/api/v1/organizations",
            content=iter([body[:1000], body[1000:]]),
            headers={"Authorization": "Bearer chk_x"},
        )
    for response in (declared, chunked):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
