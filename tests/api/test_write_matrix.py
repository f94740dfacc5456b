"""Role and TLP enforcement on every write route: organization x role (x TLP) x route.

Each expectation is computed here from the rules: viewer reads; submitter reads and submits;
analyst also triages (grants on its own submissions; merge and split only in a coordinator);
admin also creates tokens (its own organization; coordinator admins for any) and verifies the
audit log (coordinator admins only); only coordinator admins create organizations. A refusal by
role is 403; a record the caller may not see is 404, whatever the role would allow.

Refusals are tried against the module's fixed records; calls expected to succeed get freshly
uploaded records, so that no success changes what another test sees.
"""

from __future__ import annotations

import itertools

import pytest

from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.core.tlp import Tlp
from tests.api.conftest import (
    API,
    COORDINATOR,
    OWNER,
    ROLES,
    SINK,
    TLPS,
    UNRELATED,
    VIEWER_ORGS,
    OrgSpec,
    World,
    may_see,
    native_document,
)

_names = itertools.count(1)

TRIAGE_ROLES = frozenset({Role.ADMIN, Role.ANALYST})
SUBMIT_ROLES = frozenset({Role.ADMIN, Role.ANALYST, Role.SUBMITTER})


# --- organizations and tokens -------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_list_organizations(world: World, org: OrgSpec, role: Role) -> None:
    response = world.client.get(f"{API}/organizations", headers=world.headers(org, role))
    assert response.status_code == 200, response.text
    names = {item["name"] for item in response.json()}
    assert {spec.name for spec in VIEWER_ORGS} <= names


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_create_organization(world: World, org: OrgSpec, role: Role) -> None:
    expected = 201 if (org.kind is OrgKind.COORDINATOR and role is Role.ADMIN) else 403
    name = f"New Org {next(_names)}"
    response = world.client.post(
        f"{API}/organizations",
        json={"name": name, "kind": "researcher"},
        headers=world.headers(org, role),
    )
    assert response.status_code == expected, response.text
    if expected == 201:
        assert response.json()["name"] == name
    else:
        assert response.headers["content-type"].startswith("application/problem+json")
    listed = world.client.get(f"{API}/organizations", headers=world.headers(org, Role.VIEWER))
    assert (name in {item["name"] for item in listed.json()}) is (expected == 201)


@pytest.mark.parametrize("new_role", [Role.ADMIN, Role.VIEWER], ids=str)
@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_create_token_for_own_organization(
    world: World, org: OrgSpec, role: Role, new_role: Role
) -> None:
    expected = 201 if role is Role.ADMIN else 403
    response = world.client.post(
        f"{API}/tokens",
        json={"role": new_role.value},
        headers=world.headers(org, role),
    )
    assert response.status_code == expected, response.text
    if expected == 201:
        made = response.json()
        assert (made["organization"], made["role"]) == (org.name, new_role.value)
        # the new secret works, and speaks for the organization it was made for
        me = world.client.get(
            f"{API}/submissions", headers={"Authorization": f"Bearer {made['token']}"}
        )
        assert me.status_code == 200


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_create_token_for_another_organization(world: World, org: OrgSpec, role: Role) -> None:
    expected = 201 if (org.kind is OrgKind.COORDINATOR and role is Role.ADMIN) else 403
    other = UNRELATED if org is not UNRELATED else OWNER
    response = world.client.post(
        f"{API}/tokens",
        json={"role": "viewer", "organization": other.name},
        headers=world.headers(org, role),
    )
    assert response.status_code == expected, response.text
    if expected == 201:
        assert response.json()["organization"] == other.name


def test_coordinator_admin_token_for_unknown_organization_is_404(world: World) -> None:
    response = world.client.post(
        f"{API}/tokens",
        json={"role": "viewer", "organization": "No Such Org"},
        headers=world.headers(COORDINATOR, Role.ADMIN),
    )
    assert response.status_code == 404, response.text


# --- submissions and grants ----------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_submit(world: World, org: OrgSpec, role: Role) -> None:
    expected = 201 if role in SUBMIT_ROLES else 403
    before = world.counts()
    response = world.client.post(
        f"{API}/submissions",
        content=native_document("submit"),
        params={"tlp": "AMBER"},
        headers=world.headers(org, role),
    )
    assert response.status_code == expected, response.text
    after = world.counts()
    if expected == 201:
        outcome = response.json()
        assert (outcome["tlp"], outcome["findings"], outcome["already_imported"]) == (
            "AMBER",
            1,
            False,
        )
        shown = world.client.get(
            f"{API}/submissions/{outcome['submission']}", headers=world.headers(org, Role.VIEWER)
        )
        assert shown.json()["organization"] == org.name
        assert after["submissions"] == before["submissions"] + 1
    else:
        assert after == before


def _grant_expectation(org: OrgSpec, role: Role, tlp: Tlp) -> int:
    if role not in TRIAGE_ROLES:
        return 403
    if not may_see(org, tlp):
        return 404
    return 201 if org is OWNER else 403


@pytest.mark.parametrize("tlp", TLPS, ids=str)
@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_grant(world: World, org: OrgSpec, role: Role, tlp: Tlp) -> None:
    expected = _grant_expectation(org, role, tlp)
    record = world.records[tlp]
    response = world.client.post(
        f"{API}/submissions/{record.submission}/grants",
        json={"organization": SINK.name},
        headers=world.headers(org, role),
    )
    assert response.status_code == expected, response.text
    if expected == 201:
        assert response.json()["organization"] == SINK.name
        shown = world.client.get(
            f"{API}/submissions/{record.submission}", headers=world.headers(SINK, Role.VIEWER)
        )
        assert shown.status_code == 200


def test_grant_makes_a_red_submission_visible_to_the_grantee_only(world: World) -> None:
    vuln, (finding,) = world.fresh_vuln(OWNER, Tlp.RED)
    submission = world.client.get(
        f"{API}/findings/{finding}", headers=world.headers(OWNER, Role.VIEWER)
    ).json()["submission"]
    headers = {spec.key: world.headers(spec, Role.VIEWER) for spec in VIEWER_ORGS}
    assert world.client.get(f"{API}/vulns/{vuln}", headers=headers["unrelated"]).status_code == 404
    granted = world.client.post(
        f"{API}/submissions/{submission}/grants",
        json={"organization": UNRELATED.name},
        headers=world.headers(OWNER, Role.ANALYST),
    )
    assert granted.status_code == 201, granted.text
    for key, expected in {"unrelated": 200, "coordinator": 404, "operator": 404}.items():
        for path in (f"/vulns/{vuln}", f"/findings/{finding}", f"/submissions/{submission}"):
            got = world.client.get(f"{API}{path}", headers=headers[key])
            assert got.status_code == expected, (key, path)


def test_share_with_at_upload_names_red_recipients(world: World) -> None:
    """``share_with`` names a coordinator on a RED upload: it (only) may then see and merge."""
    outcome = world.upload(
        OWNER, native_document("shared"), tlp=Tlp.RED, share_with=(COORDINATOR.name,)
    )
    (finding,) = world.findings_of(OWNER, int(outcome["submission"]))
    vuln = finding["vulnerability"]
    for spec, expected in ((COORDINATOR, 200), (UNRELATED, 404), (OWNER, 200)):
        got = world.client.get(f"{API}/vulns/{vuln}", headers=world.headers(spec, Role.VIEWER))
        assert got.status_code == expected, spec.key
    other, _ = world.fresh_vuln(OWNER, Tlp.AMBER)
    merged = world.client.post(
        f"{API}/vulns/{vuln}/merge",
        json={"other": other},
        headers=world.headers(COORDINATOR, Role.ANALYST),
    )
    assert merged.status_code == 200, merged.text


def test_share_with_unknown_organization_is_refused_and_stores_nothing(world: World) -> None:
    before = world.counts()
    response = world.client.post(
        f"{API}/submissions",
        content=native_document("nobody"),
        params={"tlp": "RED", "share_with": "No Such Org"},
        headers=world.headers(OWNER, Role.SUBMITTER),
    )
    assert response.status_code == 404, response.text
    assert world.counts() == before


# --- merge and split -----------------------------------------------------------------------


def _triage_expectation(org: OrgSpec, role: Role, tlp: Tlp, success: int) -> int:
    if role not in TRIAGE_ROLES or org.kind is not OrgKind.COORDINATOR:
        return 403
    return success if may_see(org, tlp) else 404


@pytest.mark.parametrize("tlp", TLPS, ids=str)
@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_merge(world: World, org: OrgSpec, role: Role, tlp: Tlp) -> None:
    expected = _triage_expectation(org, role, tlp, 200)
    if expected == 200:
        into, _ = world.fresh_vuln(OWNER, tlp)
        other, _ = world.fresh_vuln(OWNER, tlp)
    else:  # a refusal changes nothing, so the fixed records serve
        into = world.records[tlp].vuln
        other = world.records[Tlp.CLEAR if tlp is not Tlp.CLEAR else Tlp.GREEN].vuln
    response = world.client.post(
        f"{API}/vulns/{into}/merge", json={"other": other}, headers=world.headers(org, role)
    )
    assert response.status_code == expected, response.text
    if expected == 200:
        assert response.json() == {"id": into, "merged": other}
        shown = world.client.get(f"{API}/vulns/{other}", headers=world.headers(OWNER, Role.VIEWER))
        assert (shown.json()["id"], shown.json()["findings"]) == (into, 2)


@pytest.mark.parametrize("tlp", TLPS, ids=str)
@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_split(world: World, org: OrgSpec, role: Role, tlp: Tlp) -> None:
    expected = _triage_expectation(org, role, tlp, 201)
    if expected == 201:
        vuln, findings = world.fresh_vuln(OWNER, tlp, findings=2)
        moving = findings[1:]
    else:
        vuln, moving = world.records[tlp].vuln, [world.records[tlp].finding]
    response = world.client.post(
        f"{API}/vulns/{vuln}/split", json={"findings": moving}, headers=world.headers(org, role)
    )
    assert response.status_code == expected, response.text
    if expected == 201:
        created = response.json()["new"]
        moved = world.client.get(
            f"{API}/findings/{moving[0]}", headers=world.headers(OWNER, Role.VIEWER)
        )
        assert moved.json()["vulnerability"] == created


def test_merge_refuses_a_red_vulnerability_the_coordinator_was_not_named_on(world: World) -> None:
    """Merging a visible record with a hidden one answers 404, and nothing moves."""
    visible, _ = world.fresh_vuln(OWNER, Tlp.AMBER)
    hidden, _ = world.fresh_vuln(OWNER, Tlp.RED)
    for into, other in ((visible, hidden), (hidden, visible)):
        response = world.client.post(
            f"{API}/vulns/{into}/merge",
            json={"other": other},
            headers=world.headers(COORDINATOR, Role.ADMIN),
        )
        assert response.status_code == 404, response.text
    for vuln in (visible, hidden):
        shown = world.client.get(f"{API}/vulns/{vuln}", headers=world.headers(OWNER, Role.VIEWER))
        assert (shown.json()["id"], shown.json()["findings"]) == (vuln, 1)


def test_split_refuses_findings_the_coordinator_may_not_see(world: World) -> None:
    """A finding hidden from the caller cannot be split off (nor its membership probed).

    The owner's AMBER finding and an unrelated lab's RED finding share an alias, so they form
    one vulnerability. The coordinator sees it through the AMBER finding only; the RED
    finding's id must answer exactly as an id that is not in the vulnerability does (404), and
    must stay where it is.
    """
    alias = "CVE-2099-77777"
    amber = world.upload(OWNER, native_document("mixed", alias=alias), tlp=Tlp.AMBER)
    red = world.upload(UNRELATED, native_document("mixed", alias=alias), tlp=Tlp.RED)
    (owner_finding,) = world.findings_of(OWNER, int(amber["submission"]))
    (red_finding,) = world.findings_of(UNRELATED, int(red["submission"]))
    vuln = owner_finding["vulnerability"]
    assert red_finding["vulnerability"] == vuln, "the shared alias must cluster them"
    coordinator = world.headers(COORDINATOR, Role.ANALYST)
    shown = world.client.get(f"{API}/vulns/{vuln}", headers=coordinator)
    assert shown.status_code == 200
    assert shown.json()["findings"] == 1
    assert shown.json()["finders"] == [OWNER.name, "(restricted)"]
    assert UNRELATED.name not in shown.text
    response = world.client.post(
        f"{API}/vulns/{vuln}/split", json={"findings": [red_finding["id"]]}, headers=coordinator
    )
    assert response.status_code == 404, response.text
    still = world.client.get(
        f"{API}/findings/{red_finding['id']}", headers=world.headers(UNRELATED, Role.VIEWER)
    )
    assert still.json()["vulnerability"] == vuln


# --- audit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_audit_verify(world: World, org: OrgSpec, role: Role) -> None:
    expected = 200 if (org.kind is OrgKind.COORDINATOR and role is Role.ADMIN) else 403
    response = world.client.get(f"{API}/audit/verify", headers=world.headers(org, role))
    assert response.status_code == expected, response.text
    if expected == 200:
        assert response.json()["ok"] is True


def test_unlabelled_upload_defaults_to_amber(world: World) -> None:
    """A document that names no label is AMBER: the coordinator sees it, other labs do not."""
    response = world.client.post(
        f"{API}/submissions",
        content=native_document("unlabelled"),
        headers=world.headers(OWNER, Role.SUBMITTER),
    )
    assert response.status_code == 201, response.text
    assert response.json()["tlp"] == "AMBER"
    submission = response.json()["submission"]
    for spec, expected in ((COORDINATOR, 200), (UNRELATED, 404), (OWNER, 200)):
        got = world.client.get(
            f"{API}/submissions/{submission}", headers=world.headers(spec, Role.VIEWER)
        )
        assert got.status_code == expected, spec.key
