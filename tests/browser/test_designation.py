"""The model-designation journey: the developer sees its engagement (decided "covered") and may
not approve for the government; the agency reads the decision with one interval bar per family
against its threshold, and approves the developer's nominated trusted partner in place (htmx),
which admits it; a request without the CSRF token changes nothing; an organization on neither
side gets the 404 page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.pipeline import designation_flow
from tests.browser.conftest import Tab, require_browser, shot, sign_in
from tests.browser.world import AGENCY, DEVELOPER, LAB, MODEL, World

require_browser()  # before Playwright is imported
from playwright.sync_api import Page, expect  # noqa: E402

# The outcome as shown: "covered", however capitalized or worded around, but not "not covered".
COVERED = re.compile(r"^(?!.*\bnot\b).*\bcovered\b", re.IGNORECASE)
APPROVE = "[hx-post$='/approve']"  # the form htmx posts (its button submits it)


def bar_label(family: dict[str, Any]) -> str:
    """The accessible name of a family's interval bar, from the designation record."""
    low, high = family["interval"]
    return (
        f"{family['family']}: rate {family['rate']:.2f}, interval {low:.2f} to {high:.2f}, "
        f"threshold {family['threshold']:.2f}"
    )


def _partner_status(world: World) -> str:
    shown = designation_flow.show_engagement(
        world.runtime, viewer=LOCAL_ADMIN, engagement_id=world.engagement
    )
    [partner] = [p for p in shown["partners"] if p["organization"] == world.partner]
    return str(partner["status"])


def _open_engagement(page: Page, world: World) -> None:
    page.goto("/models")
    link = page.locator(f"a[href='/engagements/{world.engagement}']")
    expect(link).to_be_visible()
    expect(page.locator("main")).to_contain_text(MODEL)
    path = f"/engagements/{world.engagement}"
    with page.expect_response(lambda r: urlsplit(r.url).path == path) as opened:
        link.click()
    assert opened.value.status == 200, f"GET {path}: {opened.value.status}"
    page.wait_for_url(f"**{path}")


def test_designation_journey(world: World, tab: Tab) -> None:
    # The developer: its own engagement, the decision, no approval to give for the other side.
    developer = tab()
    sign_in(developer, world.tokens[DEVELOPER])
    _open_engagement(developer, world)
    expect(developer.locator("#outcome")).to_have_text(COVERED)
    expect(developer.locator("main")).to_contain_text(world.partner)
    expect(developer.locator(APPROVE)).to_have_count(0)
    shot(developer, "designation-1-developer")

    # The government side (the agency that ran the evaluation).
    government = tab()
    sign_in(government, world.tokens[AGENCY])
    government.goto("/models")
    shot(government, "designation-2-models")
    _open_engagement(government, world)
    main = government.locator("main")
    expect(government.locator("#outcome")).to_have_text(COVERED)
    expect(main).to_contain_text(str(world.designation["voluntary"]))
    expect(main).to_contain_text(MODEL)

    families = government.locator("table#families")
    bars = families.locator("svg[role='img']")
    expect(bars).to_have_count(len(world.families))
    for family in world.families:
        selector = f"svg[role='img'][aria-label^='{family['family']}:']"
        bar = families.locator(selector)
        expect(bar).to_have_count(1)
        label = str(bar.get_attribute("aria-label"))
        if family["rate"] is not None:
            assert label == bar_label(family), label
        else:  # no results: the whole range, against the threshold
            low, high = family["interval"]
            assert f"interval {low:.2f} to {high:.2f}" in label, label
            assert f"threshold {family['threshold']:.2f}" in label, label
        row = families.locator("tr").filter(has=government.locator(selector))
        expect(row).to_contain_text(family["state"].replace("_", " "), ignore_case=True)
    demonstrated = [f["family"] for f in world.families if f["state"] == "demonstrated"]
    assert demonstrated == ["ctf"], demonstrated
    shot(government, "designation-3-engagement")

    # Unsafe requests need the page's CSRF token: without it, a 403 and nothing changes.
    approve = government.locator(APPROVE)
    expect(approve).to_have_count(1)
    target = str(approve.get_attribute("hx-post"))
    button = approve.get_by_role("button", name="Approve")
    forged = government.request.post(target)
    assert forged.status == 403, forged.status
    assert _partner_status(world) == "nominated"

    partner = government.locator("tr, li").filter(has=government.locator(APPROVE))
    expect(partner).to_contain_text(world.partner)
    expect(partner).to_contain_text("nominated")
    government.evaluate("() => { window.chNotReloaded = true; }")
    with government.expect_response(lambda r: urlsplit(r.url).path == target) as approved:
        button.click()
    assert approved.value.status == 200
    admitted = (
        government.locator("tr, li").filter(has_text=world.partner).filter(has_text="admitted")
    )
    expect(admitted).to_have_count(1)
    expect(government.locator(APPROVE)).to_have_count(0)
    assert government.evaluate("() => window.chNotReloaded === true"), "approving reloaded"
    assert _partner_status(world) == "admitted"
    shot(government, "designation-4-admitted")

    # An AI lab on neither side: nothing on /models, the 404 page on the engagement.
    stranger = tab()
    sign_in(stranger, world.tokens[LAB])
    stranger.goto("/models")
    expect(stranger.locator(f"a[href='/engagements/{world.engagement}']")).to_have_count(0)
    expect(stranger.locator("main")).not_to_contain_text(MODEL)
    response = stranger.goto(f"/engagements/{world.engagement}")
    assert response is not None
    assert response.status == 404
    expect(stranger.locator("body")).not_to_contain_text(MODEL)
    shot(stranger, "designation-5-stranger-404")
