"""Signing in and out, as every user does first: a signed-out visitor is sent to the sign-in
page and back to where it was going; a wrong token is refused on the page; a password user signs
in; signing out ends the session on the server (its cookie, replayed, opens nothing); disabling a
user ends the sessions it has open at the next request."""

from __future__ import annotations

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.web import auth
from tests.browser.conftest import Tab, require_browser, shot
from tests.browser.world import VENDOR, World

require_browser()  # before Playwright is imported
from playwright.sync_api import Page, expect  # noqa: E402


def _session_cookie(page: Page) -> str | None:
    found = [c["value"] for c in page.context.cookies() if c["name"] == "ch_session"]
    return str(found[0]) if found else None


def _sign_in_with_password(page: Page, world: World) -> None:
    page.fill("#username", world.username)
    page.fill("#password", world.password)
    page.click("#signin-submit")


def test_sign_in_out_and_disabled_users(world: World, tab: Tab) -> None:
    page = tab()
    page.goto("/")
    page.wait_for_url("**/signin*")
    expect(page.locator("#whoami")).to_have_count(0)
    expect(page.get_by_label("API token")).to_be_visible()
    shot(page, "session-1-signin")

    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.fill("#token", "chk_" + "x" * 43)
        page.click("#signin-submit")
    assert refused.value.status == 401
    expect(page.locator("#signin-error")).to_be_visible()
    assert _session_cookie(page) is None
    shot(page, "session-2-refused")

    # A deep link while signed out comes back to its page once signed in (here with a
    # password, as the vendor, with whom the AMBER vulnerability is shared).
    page.goto(f"/vulns/{world.amber_vuln}")
    page.wait_for_url("**/signin?next=*")
    _sign_in_with_password(page, world)
    page.wait_for_url(f"**/vulns/{world.amber_vuln}")
    expect(page.locator("#whoami")).to_contain_text(VENDOR)
    expect(page.locator("h1")).to_contain_text(world.amber_title)
    shot(page, "session-3-vendor-vulnerability")

    cookie = _session_cookie(page)
    assert cookie is not None
    page.click("#signout")
    page.wait_for_url("**/signin")
    page.goto("/triage")
    page.wait_for_url("**/signin?next=*")
    replay = tab()
    replay.context.add_cookies([{"name": "ch_session", "value": cookie, "url": page.url}])
    replay.goto("/triage")
    replay.wait_for_url("**/signin?next=*")

    # Disabling the user ends its open session at its next request.
    _sign_in_with_password(page, world)
    page.wait_for_url("**/triage")
    expect(page.locator("#whoami")).to_contain_text(VENDOR)
    auth.disable_user(
        world.runtime.db, actor=LOCAL_ADMIN, username=world.username, clock=world.runtime.clock
    )
    page.goto("/triage")
    page.wait_for_url("**/signin?next=*")
    _sign_in_with_password(page, world)
    expect(page.locator("#signin-error")).to_be_visible()
