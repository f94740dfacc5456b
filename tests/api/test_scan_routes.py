"""Scan coordination through the API: an operator authorizes a lab, the lab's campaign gets a
ticket, any defender's lookup names the scanner and nothing of the owner's scope, lookups are
rate-limited, and the owner's allow-list and kill switch work."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from clearinghouse.access.roles import Role
from clearinghouse.api import scan_routes
from clearinghouse.scans.models import ScopeClaim
from tests.api.conftest import API, OPERATOR, OWNER, UNRELATED, World
from tests.api.test_problems import assert_problem

START = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=5)


def _setup(world: World) -> str:
    hospital = world.headers(OPERATOR, Role.ANALYST)
    claimed = world.client.post(
        f"{API}/scope",
        json={"networks": ["192.0.2.0/24"], "domain": "valley-hospital.example"},
        headers=hospital,
    )
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["challenge"]["dns_name"].startswith("_clearinghouse-challenge.")
    # The DNS proof itself is tested against a real DNS server elsewhere; here it is given.
    with world.runtime.db.session() as session:
        session.execute(update(ScopeClaim).values(verified_at=START, verified_by="dns"))
    assert (
        world.client.put(
            f"{API}/scan-policy", json={"rate_cap_pps": 100}, headers=hospital
        ).status_code
        == 200
    )
    granted = world.client.post(
        f"{API}/authorizations",
        json={
            "scanner": OWNER.name,
            "ranges": ["192.0.2.0/25"],
            "windows": "mon-sun 00:00-24:00",
            "techniques": ["discovery"],
            "max_rate_pps": 50,
            "max_concurrency": 2,
            "expires_at": (START + dt.timedelta(days=7)).isoformat(),
        },
        headers=hospital,
    )
    assert granted.status_code == 201, granted.text
    ticket = world.client.post(
        f"{API}/campaigns",
        json={
            "targets": ["192.0.2.0/26"],
            "sources": ["198.51.100.20"],
            "start": START.isoformat(),
            "end": (START + dt.timedelta(hours=2)).isoformat(),
            "technique": "discovery",
            "rate_pps": 20,
            "contact": "soc@owner-lab.example",
        },
        headers=world.headers(OWNER, Role.SUBMITTER),
    )
    assert ticket.status_code == 201, ticket.text
    return str(ticket.json()["ticket"])


def test_lookup_names_the_scanner_and_nothing_of_the_scope(world: World) -> None:
    ticket = _setup(world)
    scan_routes.LOOKUPS._state.clear()
    at = (START + dt.timedelta(minutes=30)).isoformat()
    seen = world.client.get(
        f"{API}/deconfliction/lookup",
        params={"ip": "198.51.100.20", "at": at},
        headers=world.headers(UNRELATED, Role.VIEWER),
    )
    assert seen.status_code == 200, seen.text
    doc = seen.json()
    assert doc["authorized"] is True
    assert [(c["ticket"], c["organization"]) for c in doc["campaigns"]] == [(ticket, OWNER.name)]
    assert "192.0.2" not in seen.text
    assert OPERATOR.name not in seen.text
    refused = world.client.post(
        f"{API}/campaigns",
        json={
            "targets": ["192.0.2.128/26"],
            "sources": ["198.51.100.21"],
            "start": START.isoformat(),
            "end": (START + dt.timedelta(hours=1)).isoformat(),
            "technique": "discovery",
            "rate_pps": 1,
        },
        headers=world.headers(OWNER, Role.SUBMITTER),
    )
    assert "192.0.2.128/26" in assert_problem(refused, 409)["detail"]
    csv = world.client.get(
        f"{API}/allowlist", params={"format": "csv"}, headers=world.headers(OPERATOR, Role.VIEWER)
    )
    assert ticket in csv.text
    assert "198.51.100.20/32" in csv.text
    paused = world.client.post(
        f"{API}/kill-switch", json={"on": True}, headers=world.headers(OPERATOR, Role.ANALYST)
    )
    assert paused.json()["paused"] is True
    after = world.client.get(
        f"{API}/deconfliction/lookup",
        params={"ip": "198.51.100.20", "at": at},
        headers=world.headers(UNRELATED, Role.VIEWER),
    )
    assert after.json()["authorized"] is False


def test_lookups_are_rate_limited_per_token(world: World) -> None:
    scan_routes.LOOKUPS._state.clear()
    headers = world.headers(UNRELATED, Role.ANALYST)
    codes = [
        world.client.get(
            f"{API}/deconfliction/lookup", params={"ip": "198.51.100.99"}, headers=headers
        ).status_code
        for _ in range(80)
    ]
    assert codes.count(200) >= 50
    assert 429 in codes
    other = world.client.get(
        f"{API}/deconfliction/lookup",
        params={"ip": "198.51.100.99"},
        headers=world.headers(OWNER, Role.VIEWER),
    )
    assert other.status_code == 200  # another token has its own budget
    bad = world.client.get(
        f"{API}/deconfliction/lookup",
        params={"ip": "not-an-ip"},
        headers=world.headers(OWNER, Role.VIEWER),
    )
    assert_problem(bad, 400)
