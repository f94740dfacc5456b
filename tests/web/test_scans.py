"""Scanning pages: the campaign calendar per target (bars on the right days, only campaigns the
viewer may see, conflicts marked in words, week navigation), one campaign with its conflicts,
the source-address lookup (with and without htmx, a bad address refused naming the field),
the lease queue, and who may do what."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from clearinghouse.access.roles import Role
from clearinghouse.web import auth
from tests.web.conftest import BrowserFactory, ClientFactory
from tests.web.scans_data import (
    ALPHA_SOURCE,
    COMMIT,
    COVERED,
    LEASED,
    NEVER,
    NOW_SOURCE,
    UNDECLARED,
    ScansWorld,
    build_scans,
    counted,
    parse_calendar,
)
from tests.web.world import (
    COORDINATOR,
    DEVELOPER,
    GRANTED,
    OPERATOR,
    OWNER,
    UNRELATED,
    Org,
    World,
)


@pytest.fixture(scope="module")
def scans(world: World) -> ScansWorld:
    return build_scans(world)


def url(scans: ScansWorld, *, days: int = 0, weeks: int = 3) -> str:
    first = (scans.monday + dt.timedelta(days=days)).date().isoformat()
    return f"/scans?start={first}&weeks={weeks}"


def test_a_lab_sees_its_campaign_on_its_days_and_nothing_it_may_not_see(
    scans: ScansWorld, browser: BrowserFactory
) -> None:
    response = browser(OWNER).client.get(url(scans))
    assert response.status_code == 200
    calendar = parse_calendar(response.text)
    assert calendar.days == 21
    bars = calendar.bars()
    # Tuesday 10:00 to Thursday 12:00 UTC: day columns 1, 2 and 3 of the target's row.
    [(target, cell)] = bars[scans.alpha]
    assert target == "192.0.2.0/26"
    assert (cell.first_day, cell.span) == (1, 3)
    assert "Lab Alpha" in cell.text
    # Lab Beta's campaigns are not Lab Alpha's to see: the one that overlaps is only named as
    # a conflict; the other does not appear at all, nor does Beta's name or source.
    assert scans.beta not in bars
    assert scans.beta_alone not in bars
    assert scans.beta_alone not in response.text
    assert "Lab Beta" not in response.text
    assert "198.51.100.9" not in response.text
    # A campaign over two owners' assets: the lab sees both of its targets.
    assert {t for t, _ in bars[scans.spanning]} == {"192.0.2.192/27", "203.0.113.128/27"}
    assert scans.later not in bars  # three weeks on


def test_overlapping_campaigns_are_marked_as_conflicts_in_words(
    scans: ScansWorld, browser: BrowserFactory
) -> None:
    lab = parse_calendar(browser(OWNER).client.get(url(scans)).text)
    [(_, mine)] = lab.bars()[scans.alpha]
    assert mine.conflict
    assert f"Conflict: overlaps {scans.beta}" in mine.text
    [(_, quiet)] = lab.bars()[scans.now]
    assert not quiet.conflict
    assert "Conflict" not in quiet.text

    page = browser(OPERATOR).client.get(url(scans)).text
    hospital = parse_calendar(page)
    bars = hospital.bars()
    # The owner sees every campaign on its asset, on its asset's row, both marked.
    for ticket, other in ((scans.alpha, scans.beta), (scans.beta, scans.alpha)):
        [(target, cell)] = bars[ticket]
        assert target == "192.0.2.0/24"
        assert cell.conflict
        assert f"overlaps {other}" in cell.text
    [(_, alone)] = bars[scans.beta_alone]
    assert not alone.conflict
    assert "Conflict" not in alone.text
    assert (alone.first_day, alone.span) == (5, 1)
    assert 'class="conflict-badge">Conflict<' in page
    assert "2 conflicting campaigns" in page
    # A link to the details of each conflict.
    assert f'href="/scans/campaigns/{scans.alpha}#conflicts"' in page


def test_an_owner_sees_its_own_assets_only(scans: ScansWorld, browser: BrowserFactory) -> None:
    hospital = browser(OPERATOR).client
    page = hospital.get(url(scans)).text
    bars = parse_calendar(page).bars()
    assert [t for t, _ in bars[scans.spanning]] == ["192.0.2.0/24"]
    assert "203.0.113" not in page  # Acme's addresses are Acme's
    assert "Acme" not in page
    detail = hospital.get(f"/scans/campaigns/{scans.spanning}")
    assert detail.status_code == 200
    assert "192.0.2.192/27" in detail.text
    assert "203.0.113" not in detail.text
    assert "Acme" not in detail.text
    # Acme, the other owner: its part of the same campaign, and a campaign the hospital lacks.
    acme = browser(GRANTED).client
    assert [t for t, _ in parse_calendar(acme.get(url(scans)).text).bars()[scans.spanning]] == [
        "203.0.113.0/24"
    ]
    later = parse_calendar(acme.get(url(scans, days=21)).text).bars()
    assert scans.later in later
    assert hospital.get(f"/scans/campaigns/{scans.later}").status_code == 404
    assert scans.later not in hospital.get(url(scans, days=21)).text
    # Owners' rows exist even in a quiet window.
    quiet = parse_calendar(hospital.get(url(scans, days=-70)).text)
    assert list(quiet.rows) == ["192.0.2.0/24"]
    assert not quiet.bars()


@pytest.mark.parametrize("org", [DEVELOPER, COORDINATOR], ids=lambda o: o.key)
def test_strangers_see_nothing_and_coordinators_everything(
    scans: ScansWorld, browser: BrowserFactory, org: Org
) -> None:
    client = browser(org).client
    bars = parse_calendar(client.get(url(scans)).text).bars()
    everyone = org is COORDINATOR
    for ticket in (scans.alpha, scans.beta, scans.beta_alone, scans.spanning):
        assert (ticket in bars) is everyone
        detail = client.get(f"/scans/campaigns/{ticket}")
        assert detail.status_code == (200 if everyone else 404)
    missing = client.get("/scans/campaigns/SCAN-1999-000001")
    assert missing.status_code == 404
    if not everyone:
        assert missing.text.count("nothing you may see") == client.get(
            f"/scans/campaigns/{scans.alpha}"
        ).text.count("nothing you may see")


def test_weeks_are_navigated_by_query_parameter(scans: ScansWorld, browser: BrowserFactory) -> None:
    client = browser(OWNER).client
    page = client.get("/scans").text  # the default window: this week's Monday, three weeks
    assert scans.alpha in parse_calendar(page).bars()
    following = re.search(r'<a rel="next" id="calendar-next" href="([^"]+)"', page)
    assert following is not None
    nxt = following.group(1).replace("&amp;", "&")
    assert nxt == url(scans, days=21)
    later = client.get(nxt).text
    bars = parse_calendar(later).bars()
    [(target, cell)] = bars[scans.later]
    assert (target, cell.first_day, cell.span) == ("203.0.113.0/25", 1, 1)
    assert scans.alpha not in bars
    previous = re.search(r'<a rel="prev" id="calendar-prev" href="([^"]+)"', later)
    assert previous is not None
    assert previous.group(1).replace("&amp;", "&") == url(scans)
    two = parse_calendar(client.get(url(scans, weeks=2)).text)
    assert two.days == 14
    # A campaign that began before the window starts at its first column, said in the bar.
    shifted = client.get(url(scans, days=2, weeks=2)).text
    [(_, cell)] = parse_calendar(shifted).bars()[scans.alpha]
    assert (cell.first_day, cell.span) == (0, 2)
    for bad, field in (("start=next-tuesday", "start"), ("weeks=9", "weeks")):
        refused = client.get(f"/scans?{bad}")
        assert refused.status_code == 400
        assert f"{field}:" in refused.text


def test_campaign_details_list_conflicts_as_the_viewer_may_see_them(
    scans: ScansWorld, browser: BrowserFactory
) -> None:
    lab = browser(OWNER).client.get(f"/scans/campaigns/{scans.alpha}").text
    row = re.search(rf'<tr data-conflict="{scans.beta}">(.*?)</tr>', lab, re.S)
    assert row is not None
    assert "another scanner" in row.group(1)
    assert "192.0.2.32/27" in row.group(1)  # the shared addresses, inside the lab's own targets
    assert "Lab Beta" not in lab
    assert f'href="/scans/campaigns/{scans.beta}"' not in lab
    monday = scans.monday
    assert (monday + dt.timedelta(days=2)).strftime("%Y-%m-%d 00:00 UTC") in row.group(1)
    assert (monday + dt.timedelta(days=3, hours=12)).strftime("%Y-%m-%d 12:00 UTC") in row.group(1)
    assert "soc@alpha.example" in lab
    assert ALPHA_SOURCE in lab

    owner = browser(OPERATOR).client.get(f"/scans/campaigns/{scans.alpha}").text
    row = re.search(rf'<tr data-conflict="{scans.beta}">(.*?)</tr>', owner, re.S)
    assert row is not None
    assert "Lab Beta" in row.group(1)
    assert f'href="/scans/campaigns/{scans.beta}"' in owner
    quiet = browser(OPERATOR).client.get(f"/scans/campaigns/{scans.beta_alone}").text
    assert 'id="conflict-state">No conflict<' in quiet


def test_lookup_names_a_declared_scanner_and_nothing_of_the_scope(
    scans: ScansWorld, browser: BrowserFactory
) -> None:
    client = browser(UNRELATED, Role.VIEWER).client
    at = (scans.monday + dt.timedelta(days=2, hours=3)).strftime("%Y-%m-%dT%H:%M")
    found = client.get("/scans/lookup", params={"address": ALPHA_SOURCE, "at": at})
    assert found.status_code == 200
    assert 'data-authorized="true"' in found.text
    assert f'<tr data-ticket="{scans.alpha}">' in found.text
    assert "Lab Alpha" in found.text
    assert "soc@alpha.example" in found.text
    assert "192.0.2." not in found.text
    assert OPERATOR.name not in found.text
    now = client.get("/scans/lookup", params={"address": NOW_SOURCE})
    assert f'<tr data-ticket="{scans.now}">' in now.text

    none = client.get("/scans/lookup", params={"address": UNDECLARED, "at": at})
    assert none.status_code == 200
    assert 'data-authorized="false"' in none.text
    assert "No declared scanner" in none.text

    bad = client.get("/scans/lookup", params={"address": "198.51.100.300"})
    assert bad.status_code == 400
    assert 'id="lookup-error"' in bad.text
    assert "address:" in bad.text
    assert 'id="address"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    bad_time = client.get("/scans/lookup", params={"address": ALPHA_SOURCE, "at": "yesterday"})
    assert bad_time.status_code == 400
    assert "at:" in bad_time.text


def test_lookup_with_htmx_answers_with_the_result_alone(
    scans: ScansWorld, browser: BrowserFactory
) -> None:
    client = browser(OPERATOR).client
    htmx = {"HX-Request": "true"}
    at = (scans.monday + dt.timedelta(days=1, hours=11)).strftime("%Y-%m-%dT%H:%M")
    found = client.get("/scans/lookup", params={"address": ALPHA_SOURCE, "at": at}, headers=htmx)
    assert found.status_code == 200
    assert "<html" not in found.text
    assert 'id="lookup-answer"' in found.text
    assert scans.alpha in found.text
    bad = client.get("/scans/lookup", params={"address": "not an address"}, headers=htmx)
    assert bad.status_code == 400
    assert "<html" not in bad.text
    assert "address:" in bad.text
    form = client.get("/scans/lookup").text
    assert '<label for="address">' in form
    assert 'hx-get="/scans/lookup"' in form
    assert 'id="lookup-answer"' not in form


def test_the_lease_queue_shows_the_organizations_own_work(
    scans: ScansWorld, browser: BrowserFactory
) -> None:
    lab = browser(OWNER).client.get("/scans/leases").text
    leases = lab[lab.index('id="lease-table"') : lab.index('id="coverage"')]
    assert f'data-lease="{LEASED}"' in leases
    assert "Lab Alpha (yours)" in leases
    awaiting = lab[lab.index('id="awaiting-table"') : lab.index('id="leases"')]
    assert f'data-project="{NEVER}"' in awaiting
    assert LEASED not in awaiting
    assert COVERED not in awaiting
    coverage = lab[lab.index('id="coverage-table"') :]
    assert "Fresh until" in coverage
    assert "Never scanned" in coverage
    assert COMMIT[:12] in coverage
    assert 'id="lease-form"' in lab

    other = browser(UNRELATED).client.get("/scans/leases").text
    assert f'data-lease="{LEASED}"' not in other  # another lab's lease is its own business
    assert COMMIT[:12] not in other
    other_awaiting = other[other.index('id="awaiting-table"') : other.index('id="leases"')]
    assert f'data-project="{LEASED}"' in other_awaiting  # the most critical: two scanners
    coordinator = browser(COORDINATOR).client.get("/scans/leases").text
    assert f'data-lease="{LEASED}"' in coordinator
    assert "Lab Alpha" in coordinator


def test_reading_needs_a_session_and_leasing_needs_more_than_the_viewer_role(
    scans: ScansWorld, browser: BrowserFactory, new_client: ClientFactory
) -> None:
    anonymous = new_client()
    for path in ("/scans", "/scans/leases", "/scans/lookup", f"/scans/campaigns/{scans.alpha}"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")

    viewer = browser(UNRELATED, Role.VIEWER)
    page = viewer.client.get("/scans/leases")
    assert page.status_code == 200
    assert 'id="lease-form"' not in page.text
    refused = viewer.client.post("/scans/leases", data={"csrf_token": viewer.csrf, "count": "1"})
    assert refused.status_code == 403
    assert viewer.client.get(url(scans)).status_code == 200  # every role reads

    submitter = browser(UNRELATED, Role.SUBMITTER)
    forged = submitter.client.post("/scans/leases", data={"count": "1"})
    assert forged.status_code == 403
    too_many = submitter.client.post(
        "/scans/leases", data={"csrf_token": submitter.csrf, "count": "500"}
    )
    assert too_many.status_code == 400
    assert "count:" in too_many.text
    granted = submitter.client.post(
        "/scans/leases",
        data={"csrf_token": submitter.csrf, "count": "1"},
        follow_redirects=False,
    )
    assert granted.status_code == 303
    after = submitter.client.get(granted.headers["location"]).text
    assert "1 new lease" in after
    assert f'data-lease="{LEASED}"' in after
    assert "Lab Beta (yours)" in after


def test_the_calendar_costs_the_same_queries_whatever_it_shows(
    scans: ScansWorld, world: World, browser: BrowserFactory
) -> None:
    counts = []
    for org, days in ((OPERATOR, 0), (OPERATOR, 7), (OWNER, 0), (OWNER, 21)):
        client = browser(org).client
        # The session's idle clock is written at most once a minute; keep it out of the count.
        client.app.state.web.policy = auth.SessionPolicy(touch_every_s=3600)  # type: ignore[attr-defined]
        with counted(world.runtime) as statements:
            page = client.get(url(scans, days=days))
        assert page.status_code == 200
        assert parse_calendar(page.text).bars()
        counts.append(len(statements))
    # Five campaigns or one, an owner or a lab: the same statements (no query per row).
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 8, counts
