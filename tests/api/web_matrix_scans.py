"""Probes of the scanning pages for the web matrix (``tests/api/test_web_matrix.py``): add them
with ``ROUTE_PROBES.update(SCAN_PROBES)``.

Seeded once per matrix world, through ``scan_flow``: Acme (the matrix's vendor) proves an IPv6
documentation network by an HTTP token on loopback and authorizes both labs; each lab declares
one campaign there (they overlap) and the owner lab holds a lease. The rules checked, for every
organization and role: a campaign is seen by its scanner, the owners of its targets and
coordinators, and is the same 404 page as a missing ticket for everyone else; leases are the
holder's own (coordinators: all); every member may look up a source address; asking for leases
needs the page's CSRF token and a role that may submit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import Viewer
from clearinghouse.api import scan_routes
from clearinghouse.pipeline import scan_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.web.scans_data import prove
from tests.web.world import COORDINATOR, GRANTED, ORGS, OWNER, UNRELATED, Org

if TYPE_CHECKING:
    from tests.api.test_web_matrix import Web

NETWORK = "2001:db8:7a11::/48"
OWNER_SOURCE = "198.51.100.171"
UNRELATED_SOURCE = "198.51.100.172"
PROJECT = "pkg:pypi/web-matrix-scans"
MISSING_TICKET = "SCAN-2099-999999"


@dataclass(frozen=True, slots=True)
class Seeded:
    start: dt.datetime
    tickets: dict[str, str]  # scanner key -> ticket


def _viewer(runtime: Runtime, name: str) -> Viewer:
    with runtime.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=name)
        return access_service.viewer_for_org(org, role=Role.ANALYST)


def seeded(web: Web) -> Seeded:
    """The campaigns and the lease, made once per matrix world."""
    done: Seeded | None = getattr(web, "scans_seeded", None)
    if done is not None:
        return done
    rt = web.runtime
    owner = _viewer(rt, GRANTED.name)
    prove(rt, owner, GRANTED.name, NETWORK, "acme-matrix.example")
    now = rt.clock.now()
    start = now.replace(microsecond=0) + dt.timedelta(days=1)
    tickets = {}
    for lab, source, target in (
        (OWNER, OWNER_SOURCE, "2001:db8:7a11::/64"),
        (UNRELATED, UNRELATED_SOURCE, "2001:db8:7a11::/56"),
    ):
        scan_flow.authorize(
            rt,
            viewer=owner,
            owner=GRANTED.name,
            scanner=lab.name,
            ranges=[NETWORK],
            windows="mon-sun 00:00-24:00",
            techniques=["discovery"],
            max_rate_pps=10,
            max_concurrency=1,
            starts_at=now - dt.timedelta(days=1),
            expires_at=now + dt.timedelta(days=30),
        )
        tickets[lab.key] = str(
            scan_flow.declare_campaign(
                rt,
                viewer=_viewer(rt, lab.name),
                scanner=lab.name,
                targets=[target],
                sources=[source],
                start=start,
                end=start + dt.timedelta(hours=2),
                technique="discovery",
                rate_pps=5,
                contact=f"soc@{lab.key}.example",
            )["ticket"]
        )
    scan_flow.add_project(
        rt, viewer=_viewer(rt, COORDINATOR.name), name=PROJECT, signals={"dependents_count": 9e5}
    )
    [lease] = scan_flow.next_targets(
        rt, viewer=_viewer(rt, OWNER.name), organization=OWNER.name, count=1
    )
    assert lease["project"] == PROJECT, lease
    made = Seeded(start, tickets)
    web.scans_seeded = made  # type: ignore[attr-defined]
    return made


def sees_campaign(org: Org, scanner: Org) -> bool:
    """Its scanner, the owner of its targets (Acme) and coordinators."""
    return org.key in (scanner.key, GRANTED.key) or org.kind is OrgKind.COORDINATOR


def probe_calendar(web: Web) -> None:
    from tests.api.test_web_matrix import _everyone, _signed_in_page

    seed = seeded(web)
    _signed_in_page(web, "/scans")
    url = f"/scans?start={seed.start.date().isoformat()}&weeks=2"
    assert {o.key for o in ORGS} >= {OWNER.key, UNRELATED.key}
    for org, role in _everyone():
        page = web.browser(org, role).client.get(url)
        assert page.status_code == 200, (org.key, role)
        for scanner in (OWNER, UNRELATED):
            shown = f'data-ticket="{seed.tickets[scanner.key]}"' in page.text
            assert shown is sees_campaign(org, scanner), (org.key, role, scanner.key)
        assert (NETWORK in page.text) is (org.key == GRANTED.key), (org.key, role)


def probe_campaign(web: Web) -> None:
    from tests.api.test_web_matrix import _everyone, _normalized_404, _signin_redirect

    seed = seeded(web)
    for scanner in (OWNER, UNRELATED):
        ticket = seed.tickets[scanner.key]
        _signin_redirect(web.client().get(f"/scans/campaigns/{ticket}", follow_redirects=False))
        for org, role in _everyone():
            client = web.browser(org, role).client
            response = client.get(f"/scans/campaigns/{ticket}")
            if sees_campaign(org, scanner):
                assert response.status_code == 200, (org.key, role, ticket)
                continue
            missing = client.get(f"/scans/campaigns/{MISSING_TICKET}")
            assert _normalized_404(response, ticket) == _normalized_404(missing, MISSING_TICKET)
            assert f"soc@{scanner.key}.example" not in response.text


def probe_leases(web: Web) -> None:
    from tests.api.test_web_matrix import _everyone, _signed_in_page

    seeded(web)
    _signed_in_page(web, "/scans/leases")
    for org, role in _everyone():
        page = web.browser(org, role).client.get("/scans/leases").text
        table = page[page.index('id="lease-table"') : page.index('id="coverage"')]
        held = f'data-lease="{PROJECT}"' in table and OWNER.name in table
        assert held is (org.key == OWNER.key or org.kind is OrgKind.COORDINATOR), (org.key, role)


def probe_ask_for_leases(web: Web) -> None:
    from tests.api.test_web_matrix import SUBMIT_ROLES, _everyone

    seeded(web)
    for org, role in _everyone():
        browser = web.browser(org, role)
        forged = browser.client.post("/scans/leases", data={"count": "1"})
        assert forged.status_code == 403, (org.key, role)  # no CSRF token
        if role not in SUBMIT_ROLES:
            refused = browser.client.post(
                "/scans/leases", data={"csrf_token": browser.csrf, "count": "1"}
            )
            assert refused.status_code == 403, (org.key, role)
    for org, role in ((UNRELATED, Role.SUBMITTER), (COORDINATOR, Role.ADMIN)):
        browser = web.browser(org, role)
        granted = browser.client.post(
            "/scans/leases",
            data={"csrf_token": browser.csrf, "count": "1"},
            follow_redirects=False,
        )
        assert granted.status_code == 303, granted.text
        assert granted.headers["location"].startswith("/scans/leases?leased=")


def probe_lookup(web: Web) -> None:
    from tests.api.test_web_matrix import _everyone, _signed_in_page

    seed = seeded(web)
    _signed_in_page(web, "/scans/lookup")
    scan_routes.LOOKUPS._state.clear()
    at = (seed.start + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    for org, role in _everyone():
        answer = web.browser(org, role).client.get(
            "/scans/lookup",
            params={"address": OWNER_SOURCE, "at": at},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200, (org.key, role)
        assert f'data-ticket="{seed.tickets[OWNER.key]}"' in answer.text
        assert OWNER.name in answer.text
        assert GRANTED.name not in answer.text
        assert "2001:db8" not in answer.text


SCAN_PROBES: dict[tuple[str, str], Callable[[Web], None]] = {
    ("GET", "/scans"): probe_calendar,
    ("GET", "/scans/campaigns/{ticket}"): probe_campaign,
    ("GET", "/scans/leases"): probe_leases,
    ("POST", "/scans/leases"): probe_ask_for_leases,
    ("GET", "/scans/lookup"): probe_lookup,
}
