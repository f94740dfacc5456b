"""Model designation pages: the engagement list per side, the per-family interval bars against
the threshold for the developer and the government (404 for everyone else), and a trusted
partner approved by the government side with htmx and CSRF."""

from __future__ import annotations

import re

import pytest

from clearinghouse.access.roles import Role
from tests.web.conftest import BrowserFactory
from tests.web.world import (
    AGENCY,
    COORDINATOR,
    DEVELOPER,
    GRANTED,
    OPERATOR,
    OTHER_DEVELOPER,
    OWNER,
    Org,
    World,
    engagement_with_nominee,
)

BAR = re.compile(
    r'<svg class="interval" role="img"[^>]* aria-label="(?P<family>[a-z]+): '
    r"rate (?P<rate>\d\.\d\d), "
    r"interval (?P<lo>\d\.\d\d) to (?P<hi>\d\.\d\d), "
    r'threshold (?P<threshold>\d\.\d\d)"'
)


@pytest.mark.parametrize("org", [DEVELOPER, AGENCY, COORDINATOR], ids=lambda o: o.key)
def test_both_sides_see_the_engagement_with_interval_bars(
    world: World, browser: BrowserFactory, org: Org
) -> None:
    client = browser(org).client
    listing = client.get("/models").text
    assert f'href="/engagements/{world.engagement}"' in listing
    assert "frontier-x" in listing
    html = client.get(f"/engagements/{world.engagement}").text
    assert "neither licenses nor blocks" in html
    outcome = re.search(r'<strong id="outcome"[^>]*>([^<]+)</strong>', html)
    assert outcome is not None
    assert outcome.group(1) == "Covered"
    start = html.index('<table id="families"')
    table = html[start : html.index("</table>", start)]
    bars = {m["family"]: m for m in BAR.finditer(table)}
    assert set(bars) == {"prove", "discover", "patch", "ctf", "knowledge"}
    prove = bars["prove"]
    assert prove["threshold"] == "0.50"
    assert float(prove["lo"]) <= float(prove["rate"]) <= float(prove["hi"])
    for line in ('class="threshold-line"', 'class="alert-line"', 'class="rate"'):
        assert table.count(line) == 5
    assert "Demonstrated" in table
    assert "Frontier Labs" in html
    assert 'id="partners"' in html
    assert GRANTED.name in html  # the nominee


@pytest.mark.parametrize("org", [OTHER_DEVELOPER, OPERATOR, OWNER, GRANTED], ids=lambda o: o.key)
def test_anyone_else_gets_404_and_no_listing(
    world: World, browser: BrowserFactory, org: Org
) -> None:
    client = browser(org).client
    assert f"/engagements/{world.engagement}" not in client.get("/models").text
    page = client.get(f"/engagements/{world.engagement}")
    assert page.status_code == 404
    assert "frontier-x" not in page.text


def test_the_government_approves_a_nominee_with_htmx(world: World, browser: BrowserFactory) -> None:
    engagement = engagement_with_nominee(world, model="approve-me")
    government = browser(AGENCY, fresh=True)
    html = government.client.get(f"/engagements/{engagement}").text
    action = f"/engagements/{engagement}/partners/Acme%20Maintainers/approve"
    assert f'hx-post="{action}"' in html
    # the developer already approved (it nominated): no button on its side
    developer_html = browser(DEVELOPER).client.get(f"/engagements/{engagement}").text
    assert f'hx-post="{action}"' not in developer_html
    # without the token: refused, nothing changes
    refused = government.client.post(action, headers={"HX-Request": "true"})
    assert refused.status_code == 403
    assert "nominated" in government.client.get(f"/engagements/{engagement}").text
    approved = government.client.post(
        action, headers={"HX-Request": "true", "X-CSRF-Token": government.csrf}
    )
    assert approved.status_code == 200, approved.text
    fragment = approved.text
    assert fragment.lstrip().startswith('<tr id="partner-')
    assert "partner-admitted" in fragment
    assert f'hx-post="{action}"' not in fragment
    assert '<section id="grants"' in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert "partner" in fragment[fragment.index('<section id="grants"') :]
    # a second approval is a conflict, shown as a page
    again = government.client.post(action, data={"csrf_token": government.csrf})
    assert again.status_code == 409
    assert "already admitted" in again.text


def test_approval_without_htmx_redirects_back(world: World, browser: BrowserFactory) -> None:
    engagement = engagement_with_nominee(world, model="plain-form")
    government = browser(COORDINATOR, fresh=True)
    response = government.client.post(
        f"/engagements/{engagement}/partners/Acme%20Maintainers/approve",
        data={"csrf_token": government.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/engagements/{engagement}#partners"
    assert "partner-admitted" in government.client.get(response.headers["location"]).text


def test_a_viewer_role_cannot_approve(world: World, browser: BrowserFactory) -> None:
    engagement = engagement_with_nominee(world, model="viewer-only")
    government = browser(AGENCY, Role.VIEWER, fresh=True)
    action = f"/engagements/{engagement}/partners/Acme%20Maintainers/approve"
    assert f'hx-post="{action}"' not in government.client.get(f"/engagements/{engagement}").text
    response = government.client.post(action, data={"csrf_token": government.csrf})
    assert response.status_code == 403


def test_strangers_cannot_approve(world: World, browser: BrowserFactory) -> None:
    engagement = engagement_with_nominee(world, model="stranger")
    stranger = browser(OPERATOR, fresh=True)
    response = stranger.client.post(
        f"/engagements/{engagement}/partners/Acme%20Maintainers/approve",
        data={"csrf_token": stranger.csrf},
    )
    assert response.status_code == 404


def test_an_engagement_without_a_designation(world: World, browser: BrowserFactory) -> None:
    engagement = engagement_with_nominee(world, model="undecided", covered=False)
    html = browser(DEVELOPER).client.get(f"/engagements/{engagement}").text
    assert "No designation yet" in html
    assert 'id="families"' not in html
