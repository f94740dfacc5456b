"""A vulnerability that mixes a public and a restricted finding shows each viewer only its part.

An unrelated lab reports a flaw as CLEAR; the owner reports the same flaw (same file, line and
CWE, so the two cluster on the location key) under a restricted label with its own title and
alias. Everyone sees the vulnerability, but only those who may see the restricted finding see
its title, alias, organization, label or count, or find the vulnerability by searching for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.core.tlp import Tlp
from tests.api.conftest import API, OWNER, UNRELATED, VIEWER_ORGS, OrgSpec, World

RESTRICTED = (Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)
WORDS = {Tlp.AMBER: "fennec", Tlp.AMBER_STRICT: "gazelle", Tlp.RED: "heron"}


def sees_owner_part(org: OrgSpec, tlp: Tlp) -> bool:
    """No grants in this module: the owner, and coordinators below RED."""
    return org is OWNER or (org.kind is OrgKind.COORDINATOR and tlp is not Tlp.RED)


def _document(title: str, alias: str, n: int) -> bytes:
    finding = {
        "target": f"https://git.example.org/api-tests/shared-{n}",
        "file": "src/shared.c",
        "function": "shared_parse",
        "line": 42,
        "cwe": "CWE-787",
        "title": title,
        "aliases": [alias],
        "provenance": {"tool": f"tool-{alias}"},
    }
    return orjson.dumps(
        {"format": "clearinghouse-findings", "version": "1.0", "findings": [finding]}
    )


@dataclass(frozen=True, slots=True)
class Mixed:
    vuln: str
    public_finding: int
    owner_finding: int
    word: str
    alias: str


@pytest.fixture(scope="module")
def mixed(world: World) -> dict[Tlp, Mixed]:
    made: dict[Tlp, Mixed] = {}
    for n, tlp in enumerate(RESTRICTED):
        word = WORDS[tlp]
        public = world.upload(
            UNRELATED,
            _document(f"Out-of-bounds write in shared_parse {n}", f"CVE-2099-3000{n}", n),
            tlp=Tlp.CLEAR,
        )
        alias = f"GHSA-{word}-{n}"
        private = world.upload(
            OWNER, _document(f"Overflow of the {word} buffer", alias, n), tlp=tlp
        )
        (pub,) = world.findings_of(UNRELATED, int(public["submission"]))
        (own,) = world.findings_of(OWNER, int(private["submission"]))
        assert pub["vulnerability"] == own["vulnerability"], "location keys must cluster them"
        made[tlp] = Mixed(str(pub["vulnerability"]), int(pub["id"]), int(own["id"]), word, alias)
    return made


@pytest.mark.parametrize("tlp", RESTRICTED, ids=str)
@pytest.mark.parametrize("org", VIEWER_ORGS, ids=lambda o: o.key)
def test_mixed_vulnerability_shows_only_the_visible_part(
    world: World, mixed: dict[Tlp, Mixed], org: OrgSpec, tlp: Tlp
) -> None:
    item = mixed[tlp]
    headers = world.headers(org, Role.VIEWER)
    visible = sees_owner_part(org, tlp)
    response = world.client.get(f"{API}/vulns/{item.vuln}", headers=headers)
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    shown = {f["id"] for f in doc["findings_detail"]}
    assert shown == (
        {item.public_finding, item.owner_finding} if visible else {item.public_finding}
    )
    assert doc["findings"] == len(shown)
    assert doc["tlp"] == (tlp.value if visible else Tlp.CLEAR.value)
    assert (item.alias in doc["aliases"]) is visible
    if not visible:
        for secret in (item.word, item.alias, OWNER.name, tlp.value):
            assert secret not in response.text, secret
        assert doc["finders"] == [UNRELATED.name, "(restricted)"]
    for q in (item.word, item.alias):
        found = world.client.get(f"{API}/vulns", params={"q": q}, headers=headers).json()
        assert [v["id"] for v in found] == ([item.vuln] if visible else []), q
    listed = world.client.get(f"{API}/vulns", params={"limit": 1000}, headers=headers).json()
    (summary,) = [v for v in listed if v["id"] == item.vuln]
    assert summary["tlp"] == doc["tlp"]
    assert summary["findings"] == doc["findings"]
    one = world.client.get(f"{API}/findings/{item.owner_finding}", headers=headers)
    assert one.status_code == (200 if visible else 404)
