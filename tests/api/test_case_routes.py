"""Cases through the API: who may open, act and publish, and that every publication path
waits for the embargo, tried as every organization and role of the matrix."""

from __future__ import annotations

from typing import Any

import pytest

from clearinghouse.access.roles import Role
from clearinghouse.core.tlp import Tlp
from tests.api.conftest import (
    API,
    COORDINATOR,
    GRANTED,
    OPERATOR,
    OWNER,
    ROLES,
    UNRELATED,
    VIEWER_ORGS,
    OrgSpec,
    World,
)
from tests.api.test_problems import assert_problem


def _open(world: World, tlp: Tlp = Tlp.AMBER) -> dict[str, Any]:
    vuln, _ = world.fresh_vuln(OWNER, tlp)
    response = world.client.post(
        f"{API}/cases",
        json={"vulnerabilities": [vuln], "vendors": [GRANTED.name], "allow_unvalidated": True},
        headers=world.headers(COORDINATOR, Role.ANALYST),
    )
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    return doc


def test_only_coordinators_open_cases_and_only_validated_ones_by_default(world: World) -> None:
    vuln, _ = world.fresh_vuln(OWNER, Tlp.AMBER)
    for org in (OWNER, GRANTED, OPERATOR):
        response = world.client.post(
            f"{API}/cases",
            json={"vulnerabilities": [vuln], "allow_unvalidated": True},
            headers=world.headers(org, Role.ADMIN),
        )
        assert_problem(response, 403, "forbidden")
    refused = world.client.post(
        f"{API}/cases",
        json={"vulnerabilities": [vuln]},
        headers=world.headers(COORDINATOR, Role.ANALYST),
    )
    assert "not validated" in assert_problem(refused, 409)["detail"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_no_role_publishes_or_prenotifies_under_embargo(
    world: World, org: OrgSpec, role: Role
) -> None:
    case = _open(world)
    before = world.client.get(
        f"{API}/advisories/{case['id']}", headers=world.headers(COORDINATOR, Role.ADMIN)
    )
    assert_problem(before, 404)
    published = world.client.post(
        f"{API}/cases/{case['id']}/publish", json={}, headers=world.headers(org, role)
    )
    if org is COORDINATOR and role in (Role.ADMIN, Role.ANALYST):
        assert "under embargo" in assert_problem(published, 409)["detail"]
    else:
        assert published.status_code in (403, 404), published.text
    broken = world.client.post(
        f"{API}/cases/{case['id']}/embargo",
        json={"action": "break", "reason": "trying"},
        headers=world.headers(org, role),
    )
    if org is COORDINATOR and role in (Role.ADMIN, Role.ANALYST):
        assert broken.status_code == 200
    else:
        assert broken.status_code in (403, 404), broken.text
    # A TLP:CLEAR message is a public act too.
    clear = world.client.post(
        f"{API}/cases/{case['id']}/messages",
        json={"body": "public?", "tlp": "CLEAR"},
        headers=world.headers(org, role),
    )
    if broken.status_code == 200:
        assert clear.status_code in (201, 403), clear.text
    else:
        assert clear.status_code in (403, 404, 409), clear.text
        assert clear.status_code != 201
    # Nothing reached the public tree unless a coordinator broke the embargo and published.
    feed = world.client.get("/.well-known/csaf/white/index.txt")
    assert case["id"].lower() not in feed.text


def test_participants_see_the_case_outsiders_get_404(world: World) -> None:
    case = _open(world)
    for org, status in ((GRANTED, 200), (OWNER, 200), (UNRELATED, 404), (OPERATOR, 404)):
        response = world.client.get(
            f"{API}/cases/{case['id']}", headers=world.headers(org, Role.VIEWER)
        )
        assert response.status_code == status, (org.key, response.text)
    status = world.client.post(
        f"{API}/cases/{case['id']}/statuses",
        json={"vulnerability": case["vulnerabilities"][0]["id"], "status": "affected"},
        headers=world.headers(GRANTED, Role.SUBMITTER),
    )
    assert status.status_code == 200, status.text
    mine = status.json()["statuses"]
    assert [(s["vendor"], s["status"], s["approved"]) for s in mine] == [
        (GRANTED.name, "affected", False)
    ]


def test_publication_after_a_break_is_public_and_signed(world: World) -> None:
    case = _open(world)
    coordinator = world.headers(COORDINATOR, Role.ANALYST)
    broken = world.client.post(
        f"{API}/cases/{case['id']}/embargo",
        json={"action": "break", "reason": "details leaked on a forum"},
        headers=coordinator,
    )
    assert broken.json()["embargo"]["state"] == "broken"
    published = world.client.post(
        f"{API}/cases/{case['id']}/publish", json={"summary": "First release."}, headers=coordinator
    )
    assert published.status_code == 200, published.text
    docs = world.client.get(
        f"{API}/advisories/{case['id']}", headers=world.headers(UNRELATED, Role.VIEWER)
    )
    assert {d["kind"] for d in docs.json()} >= {"csaf", "osv", "md", "html"}
    index = world.client.get("/.well-known/csaf/white/index.txt")
    assert index.status_code == 200
    path = next(line for line in index.text.splitlines() if case["id"].lower() in line)
    for suffix in ("", ".sha256", ".sha512", ".asc"):
        got = world.client.get(f"/.well-known/csaf/white/{path}{suffix}")
        assert got.status_code == 200, (suffix, got.text)
    metadata = world.client.get("/.well-known/csaf/provider-metadata.json").json()
    assert metadata["public_openpgp_keys"][0]["fingerprint"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/cases", {"vulnerabilities": []}, "vulnerabilities"),
        ("/cases", {"vulnerabilities": ["CH-2026-00001"], "extra": 1}, "extra"),
        (
            "/cases/CASE-2026-0001/embargo",
            {"action": "extend", "until": "2027-01-01T00:00"},
            "until",
        ),
        ("/cases/CASE-2026-0001/embargo", {"action": "explode"}, "action"),
        ("/cases/CASE-2026-0001/messages", {"body": "x" * 20_001}, "body"),
    ],
)
def test_bad_bodies_name_the_field(
    world: World, path: str, body: dict[str, Any], field: str
) -> None:
    response = world.client.post(
        f"{API}{path}", json=body, headers=world.headers(COORDINATOR, Role.ANALYST)
    )
    doc = assert_problem(response, 422)
    assert field in doc["detail"]
