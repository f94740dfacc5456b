"""The scanning journey: a lab member sees its campaign on the calendar marked as a conflict
with another lab's, moves to the next weeks, opens the lease queue; an operator's SOC uses the
lookup form (htmx, no page reload) for an address of a declared campaign, for one that is not,
and for something that is not an address (the error names the field).

Seeded here (module-scoped, through ``scan_flow``) with organizations of its own, so nothing
another journey seeds or reads is touched: a water utility proving an IPv6 documentation
network by an HTTP token on loopback and authorizing Lab Alpha and a second lab on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.pipeline import admin_flow, scan_flow
from clearinghouse.pipeline.runtime import Runtime
from tests.browser.conftest import Tab, require_browser, shot, sign_in
from tests.browser.world import COORDINATOR, LAB, World
from tests.web.scans_data import prove

require_browser()  # before Playwright is imported
from playwright.sync_api import expect  # noqa: E402

UTILITY = "Riverside Water Utility"
OTHER_LAB = "Lab Gamma"
NETWORK = "2001:db8:5ca1::/48"
ALPHA_SOURCE = "198.51.100.201"
GAMMA_SOURCE = "198.51.100.202"
UNDECLARED = "198.51.100.203"


@dataclass(frozen=True, slots=True)
class Seeded:
    monday: dt.datetime
    alpha: str  # Lab Alpha, days 1..3 of this window, overlapping gamma
    gamma: str
    later: str  # Lab Alpha, in the next window
    utility_token: str
    project: str  # leased by Lab Alpha


def _viewer(runtime: Runtime, name: str) -> Viewer:
    with runtime.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=name)
        return access_service.viewer_for_org(org, role=Role.ANALYST)


@pytest.fixture(scope="module")
def seeded(world: World) -> Seeded:
    rt = world.runtime
    tokens = {}
    for name, kind, sector in (
        (UTILITY, OrgKind.OPERATOR, Sector.WATER),
        (OTHER_LAB, OrgKind.AI_LAB, None),
    ):
        admin_flow.create_organization(
            rt.db, viewer=LOCAL_ADMIN, name=name, kind=kind, sector=sector, clock=rt.clock
        )
        tokens[name] = admin_flow.create_token(
            rt.db, viewer=LOCAL_ADMIN, organization=name, role=Role.ANALYST, clock=rt.clock
        )["token"]
    utility = _viewer(rt, UTILITY)
    prove(rt, utility, UTILITY, NETWORK, "riverside-water.example")
    today = rt.clock.now().astimezone(dt.UTC).date()
    monday = dt.datetime.combine(today - dt.timedelta(days=today.weekday()), dt.time(), dt.UTC)
    for lab in (LAB, OTHER_LAB):
        scan_flow.authorize(
            rt,
            viewer=utility,
            owner=UTILITY,
            scanner=lab,
            ranges=[NETWORK],
            windows="mon-sun 00:00-24:00",
            techniques=["discovery"],
            max_rate_pps=50,
            max_concurrency=2,
            starts_at=monday - dt.timedelta(days=7),
            expires_at=monday + dt.timedelta(days=60),
        )

    def declare(lab: str, target: str, source: str, day: float, hours: float) -> str:
        start = monday + dt.timedelta(days=day)
        return str(
            scan_flow.declare_campaign(
                rt,
                viewer=_viewer(rt, lab),
                scanner=lab,
                targets=[target],
                sources=[source],
                start=start,
                end=start + dt.timedelta(hours=hours),
                technique="discovery",
                rate_pps=10,
                contact=f"noc@{lab.split()[-1].lower()}.example",
            )["ticket"]
        )

    alpha = declare(LAB, "2001:db8:5ca1::/64", ALPHA_SOURCE, 1 + 10 / 24, 50)
    gamma = declare(OTHER_LAB, "2001:db8:5ca1::/56", GAMMA_SOURCE, 2, 48)
    later = declare(LAB, "2001:db8:5ca1:1::/64", ALPHA_SOURCE, 23, 6)
    coordinator = _viewer(rt, COORDINATOR)
    scan_flow.add_project(
        rt,
        viewer=coordinator,
        name="pkg:pypi/scanning-journey-lib",
        signals={"dependents_count": 400_000, "contributor_count": 4000},
    )
    [lease] = scan_flow.next_targets(rt, viewer=_viewer(rt, LAB), organization=LAB, count=1)
    return Seeded(monday, alpha, gamma, later, tokens[UTILITY], str(lease["project"]))


def test_scanning_journey(world: World, seeded: Seeded, tab: Tab) -> None:
    # A lab member: its campaign on this window's calendar, marked as a conflict in words.
    lab = tab()
    sign_in(lab, world.tokens[LAB])
    lab.get_by_role("link", name="Scanning", exact=True).click()
    lab.wait_for_url("**/scans")
    expect(lab.locator("h1")).to_have_text("Scanning")
    mine = lab.locator(f"#calendar [data-ticket='{seeded.alpha}']")
    expect(mine).to_have_count(1)
    expect(mine).to_have_attribute("data-conflict", "true")
    expect(mine).to_contain_text(f"Conflict: overlaps {seeded.gamma}")
    row = lab.locator("#calendar tr[data-target='2001:db8:5ca1::/64']")
    expect(row.locator("th[scope='row']")).to_contain_text("Conflict")
    expect(lab.locator("main")).not_to_contain_text(OTHER_LAB)  # the other lab's, not ours
    expect(lab.locator("#calendar-range")).to_contain_text("conflicting campaign")
    shot(lab, "scans-calendar")

    # The conflict's link: the campaign's page lists the other campaign by ticket only.
    mine.get_by_role("link", name=f"Conflict: overlaps {seeded.gamma}").click()
    lab.wait_for_url(f"**/scans/campaigns/{seeded.alpha}#conflicts")
    expect(lab.locator(f"#conflict-table tr[data-conflict='{seeded.gamma}']")).to_contain_text(
        "another scanner"
    )
    shot(lab, "scans-campaign")
    lab.go_back()
    lab.wait_for_url("**/scans")

    # The next weeks, by the query parameter.
    lab.locator("#calendar-next").click()
    lab.wait_for_url("**/scans?start=*")
    query = parse_qs(urlsplit(lab.url).query)
    assert query["start"] == [(seeded.monday + dt.timedelta(days=21)).date().isoformat()], query
    expect(lab.locator(f"#calendar [data-ticket='{seeded.later}']")).to_have_count(1)
    expect(lab.locator(f"#calendar [data-ticket='{seeded.alpha}']")).to_have_count(0)

    # The lease queue: the lab's own lease, with its expiry.
    lab.locator("#nav-leases").click()
    lab.wait_for_url("**/scans/leases")
    lease = lab.locator(f"#lease-table tr[data-lease='{seeded.project}']")
    expect(lease).to_contain_text("Lab Alpha (yours)")
    expect(lease).to_contain_text("UTC")
    expect(lab.locator("#lease-form button")).to_be_visible()
    shot(lab, "scans-leases")

    # The utility's SOC: the lookup form, answered in place by htmx.
    soc = tab()
    sign_in(soc, seeded.utility_token)
    soc.goto("/scans")
    soc.locator("#nav-lookup").click()
    soc.wait_for_url("**/scans/lookup")
    soc.evaluate("() => { window.chNotReloaded = true; }")
    at = (seeded.monday + dt.timedelta(days=2, hours=6)).strftime("%Y-%m-%dT%H:%M")
    soc.get_by_label("Source address (IPv4 or IPv6)").fill(ALPHA_SOURCE)
    soc.get_by_label("At (UTC, optional; default now)").fill(at)
    with soc.expect_response(lambda r: urlsplit(r.url).path == "/scans/lookup") as answered:
        soc.locator("#lookup-submit").click()
    assert answered.value.status == 200
    answer = soc.locator("#lookup-answer")
    expect(answer).to_have_attribute("data-authorized", "true")
    expect(answer).to_contain_text("Authorized scanner")
    expect(answer.locator(f"tr[data-ticket='{seeded.alpha}']")).to_contain_text(LAB)
    expect(answer).to_contain_text("noc@alpha.example")
    expect(answer).not_to_contain_text("2001:db8")  # nothing of the scanned scope
    shot(soc, "scans-lookup")

    soc.get_by_label("Source address (IPv4 or IPv6)").fill(UNDECLARED)
    with soc.expect_response(lambda r: urlsplit(r.url).path == "/scans/lookup"):
        soc.locator("#lookup-submit").click()
    expect(answer).to_have_attribute("data-authorized", "false")
    expect(answer).to_contain_text("No declared scanner")

    soc.get_by_label("Source address (IPv4 or IPv6)").fill("198.51.100.999")
    with soc.expect_response(lambda r: urlsplit(r.url).path == "/scans/lookup") as refused:
        soc.locator("#lookup-submit").click()
    assert refused.value.status == 400
    error = soc.locator("#lookup-error")
    expect(error).to_contain_text("address:")
    expect(soc.locator("#address")).to_have_attribute("aria-invalid", "true")
    expect(soc.locator("#lookup-answer")).to_have_count(0)
    assert soc.evaluate("() => window.chNotReloaded === true"), "the lookup reloaded the page"
    shot(soc, "scans-lookup-error")
