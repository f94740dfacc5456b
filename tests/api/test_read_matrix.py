"""TLP enforcement on every read route: organization x role x TLP x route.

The owner (an AI lab) has submitted one document at each TLP 2.0 label and granted each to one
vendor. The owner, a coordinator, an unrelated lab, an operator and that vendor read every route
with a token of every role, and what each sees is compared with ``may_see`` (in conftest.py),
written from the rules rather than from the code under test: a record is listed or not, answers
200 or 404, and is found by a search or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from clearinghouse.access.roles import Role
from clearinghouse.core.tlp import Tlp
from tests.api.conftest import (
    API,
    COORDINATOR,
    OWNER,
    ROLES,
    TLPS,
    VIEWER_ORGS,
    OrgSpec,
    Record,
    World,
    may_see,
)


def expected_tlps(org: OrgSpec) -> set[Tlp]:
    return {tlp for tlp in TLPS if may_see(org, tlp)}


# --- probes: each asks one route about one record and says whether the viewer saw it ---------

Probe = Callable[[World, dict[str, str], Record], bool]


def _get_list(world: World, path: str, headers: dict[str, str], **params: Any) -> list[Any]:
    response = world.client.get(f"{API}{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()
    return items


def _by_id(world: World, path: str, headers: dict[str, str]) -> dict[str, Any] | None:
    """The document at ``path``, or None for a 404 problem that names nothing it hides."""
    response = world.client.get(f"{API}{path}", headers=headers)
    if response.status_code == 404:
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["status"] == 404
        assert problem["type"].endswith("/not-found")
        assert "parse_" not in response.text  # nothing of the hidden record's content
        return None
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


def _tlps_listed(world: World, ids: set[Any], key: str) -> set[Tlp]:
    return {r.tlp for r in world.records.values() if getattr(r, key) in ids}


def list_submissions(world: World, headers: dict[str, str], record: Record) -> bool:
    items = _get_list(world, "/submissions", headers, limit=1000)
    ids = {item["id"] for item in items}
    assert ids <= {r.submission for r in world.records.values()}
    for item in items:
        assert item["organization"] == OWNER.name
    return record.submission in ids


def get_submission(world: World, headers: dict[str, str], record: Record) -> bool:
    doc = _by_id(world, f"/submissions/{record.submission}", headers)
    if doc is None:
        return False
    assert (doc["id"], doc["tlp"], doc["organization"]) == (
        record.submission,
        record.tlp.value,
        OWNER.name,
    )
    return True


def list_findings(world: World, headers: dict[str, str], record: Record) -> bool:
    items = _get_list(world, "/findings", headers, limit=1000)
    ids = {item["id"] for item in items}
    assert ids <= {r.finding for r in world.records.values()}
    return record.finding in ids


def list_findings_of_submission(world: World, headers: dict[str, str], record: Record) -> bool:
    items = _get_list(world, "/findings", headers, submission=record.submission)
    assert [item["id"] for item in items] in ([], [record.finding])
    return bool(items)


def get_finding(world: World, headers: dict[str, str], record: Record) -> bool:
    doc = _by_id(world, f"/findings/{record.finding}", headers)
    if doc is None:
        return False
    assert (doc["id"], doc["tlp"], doc["vulnerability"]) == (
        record.finding,
        record.tlp.value,
        record.vuln,
    )
    assert record.word in doc["title"]
    return True


def list_vulns(world: World, headers: dict[str, str], record: Record) -> bool:
    items = _get_list(world, "/vulns", headers, limit=1000)
    ids = {item["id"] for item in items}
    assert ids <= {r.vuln for r in world.records.values()}
    return record.vuln in ids


def get_vuln(world: World, headers: dict[str, str], record: Record) -> bool:
    doc = _by_id(world, f"/vulns/{record.vuln}", headers)
    if doc is None:
        return False
    assert (doc["id"], doc["tlp"], doc["findings"]) == (record.vuln, record.tlp.value, 1)
    assert doc["finders"] == [OWNER.name]
    assert [f["id"] for f in doc["findings_detail"]] == [record.finding]
    assert record.word in doc["title"]
    return True


def _search(world: World, headers: dict[str, str], record: Record, q: str) -> bool:
    ids = [item["id"] for item in _get_list(world, "/vulns", headers, q=q)]
    assert ids in ([], [record.vuln]), ids
    return bool(ids)


def search_title_word(world: World, headers: dict[str, str], record: Record) -> bool:
    return _search(world, headers, record, record.word)


def search_vuln_id(world: World, headers: dict[str, str], record: Record) -> bool:
    return _search(world, headers, record, record.vuln)


def search_vuln_id_lowercase(world: World, headers: dict[str, str], record: Record) -> bool:
    return _search(world, headers, record, record.vuln.lower())


def search_alias(world: World, headers: dict[str, str], record: Record) -> bool:
    return _search(world, headers, record, record.alias)


PROBES: tuple[Probe, ...] = (
    list_submissions,
    get_submission,
    list_findings,
    list_findings_of_submission,
    get_finding,
    list_vulns,
    get_vuln,
    search_title_word,
    search_vuln_id,
    search_vuln_id_lowercase,
    search_alias,
)


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.__name__)
@pytest.mark.parametrize("tlp", TLPS, ids=str)
@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_read_route_visibility(
    world: World, org: OrgSpec, role: Role, tlp: Tlp, probe: Probe
) -> None:
    seen = probe(world, world.headers(org, role), world.records[tlp])
    assert seen is may_see(org, tlp), f"{org.key}/{role} {probe.__name__} {tlp}"


_LISTS: dict[str, tuple[str, str]] = {
    "submissions": ("/submissions", "submission"),
    "findings": ("/findings", "finding"),
    "vulns": ("/vulns", "vuln"),
}


@pytest.mark.parametrize("listing", sorted(_LISTS))
@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_list_shows_exactly_the_visible_records(
    world: World, org: OrgSpec, role: Role, listing: str
) -> None:
    path, key = _LISTS[listing]
    items = _get_list(world, path, world.headers(org, role), limit=1000)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    assert _tlps_listed(world, set(ids), key) == expected_tlps(org)
    assert len(ids) == len(expected_tlps(org))


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_search_matching_everything_returns_only_visible(
    world: World, org: OrgSpec, role: Role
) -> None:
    """A pattern every title contains must not reach past the viewer's records."""
    items = _get_list(world, "/vulns", world.headers(org, role), q="parse_", limit=1000)
    assert _tlps_listed(world, {item["id"] for item in items}, "vuln") == expected_tlps(org)


@pytest.mark.parametrize(
    "path",
    [
        "/submissions/{submission}",
        "/findings/{finding}",
        "/vulns/{vuln}",
    ],
)
def test_hidden_record_answers_like_a_missing_one(world: World, path: str) -> None:
    """A RED record and an id that never existed get the same 404 problem (bar the id)."""
    red = world.records[Tlp.RED]
    hidden = path.format(submission=red.submission, finding=red.finding, vuln=red.vuln)
    missing = path.format(submission=999_999, finding=999_999, vuln="CH-2000-99999")
    headers = world.headers(COORDINATOR, Role.ADMIN)  # not named on the RED record
    first = world.client.get(f"{API}{hidden}", headers=headers)
    second = world.client.get(f"{API}{missing}", headers=headers)
    assert first.status_code == second.status_code == 404
    one, other = first.json(), second.json()
    assert (one["type"], one["title"], one["status"]) == (
        other["type"],
        other["title"],
        other["status"],
    )
    assert set(one) == set(other)
