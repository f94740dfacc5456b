"""The vendor's journey through its case room: signed in with the vendor's token it finds the
case on /cases, opens the room, sees the embargo end in UTC and its own time zone and the
countdown tick, posts a message in the product's thread (appended in place, no reload), uploads
the example target's fixing patch and sees the sandbox's verdict "fixes" after a progress
indicator, and opens the advisory preview, marked as not published.

The case is seeded here: the coordinator opens a case with the vendor on the world's
vulnerability whose proof the sandbox reproduced (any reproduction of that proof merges into it
by its crash signature).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.errors import ConflictError
from clearinghouse.pipeline import case_flow
from tests.browser.conftest import Tab, require_browser, shot, sign_in
from tests.browser.world import COORDINATOR, LAB, TARGET, VENDOR, World, _viewer
from tests.web.cases_data import open_case

require_browser()  # before Playwright is imported
from playwright.sync_api import expect  # noqa: E402

PRODUCT = "pkg:generic/chunk-reader"
FIXING_PATCH = TARGET / "patches" / "check-chunk-fits.diff"


@dataclass(frozen=True, slots=True)
class Seeded:
    case: str
    vuln: str
    title: str


@pytest.fixture(scope="module")
def seeded(world: World) -> Seeded:
    """The coordinator's case on the world's reproduced vulnerability, with the vendor (a
    journey run before this one may have opened it already: then the vendor joins that one)."""
    rt = world.runtime
    coordinator = _viewer(rt, COORDINATOR)
    try:
        case = open_case(rt, coordinator, vuln=world.amber_vuln, vendors=[VENDOR])
    except ConflictError:
        [case] = [
            c["id"]
            for c in case_flow.list_cases(rt, viewer=coordinator)
            if c["status"] == "open"
            and world.amber_vuln
            in [
                v["id"]
                for v in case_flow.show_case(rt, viewer=coordinator, case_id=c["id"])[
                    "vulnerabilities"
                ]
            ]
        ]
        doc = case_flow.show_case(rt, viewer=coordinator, case_id=case)
        if VENDOR not in [p["organization"] for p in doc["participants"]]:
            case_flow.add_participant(
                rt, viewer=coordinator, case_id=case, organization=VENDOR, role="vendor"
            )
    return Seeded(case=case, vuln=world.amber_vuln, title=world.amber_title)


def test_vendor_journey(world: World, seeded: Seeded, tab: Tab) -> None:
    page = tab()
    sign_in(page, world.tokens[VENDOR])

    # The case list: the vendor's case, its embargo and the vendors' statuses.
    page.goto("/cases")
    link = page.locator(f"a[href='/cases/{seeded.case}']")
    expect(link).to_be_visible()
    row = page.locator(f"tr[data-case='{seeded.case}']")
    expect(row).to_contain_text(seeded.title)
    expect(row).to_contain_text("Proposed")
    expect(row).to_contain_text("Unknown")
    shot(page, "cases")
    path = f"/cases/{seeded.case}"
    with page.expect_response(lambda r: urlsplit(r.url).path == path) as opened:
        link.click()
    assert opened.value.status == 200, f"GET {path}: {opened.value.status}"
    page.wait_for_url(f"**{path}")

    # The embargo: its end in UTC, in the viewer's zone, and a countdown that ticks.
    until = page.locator("#embargo-until")
    expect(until).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    assert str(until.get_attribute("datetime")).endswith("+00:00")
    expect(page.locator("[data-local-time] .local-time-value")).to_have_text(re.compile(r"\d"))
    countdown = page.locator("#embargo-countdown")
    expect(countdown).to_have_text(re.compile(r"\d+ seconds?$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=5_000)
    expect(page.locator("#status-matrix")).to_contain_text(VENDOR)
    expect(page.locator("#participants")).to_contain_text(LAB)

    # A message in the product's thread, appended without a reload, and escaped.
    page.evaluate("() => { window.chNotReloaded = true; }")
    thread = page.locator(f"section.thread[data-thread='{PRODUCT}']")
    message = "We reproduced it on 1.0.0 <b>and</b> are preparing a fix."
    thread.locator("textarea[name='body']").fill(message)
    with page.expect_response(lambda r: urlsplit(r.url).path == f"{path}/messages") as posted:
        thread.get_by_role("button", name=re.compile("^Post")).click()
    assert posted.value.status == 200, posted.value.status
    appended = thread.locator("li.message").filter(has_text=message)
    expect(appended).to_have_count(1)
    expect(appended).to_contain_text(VENDOR)
    expect(thread.locator("textarea[name='body']")).to_have_value("")
    assert page.evaluate("() => window.chNotReloaded === true"), "posting reloaded the page"
    shot(page, "case-room")

    # A patch: the progress indicator while the sandbox judges it, then the verdict.
    form = page.locator("#patch-form")
    form.locator("select[name='vulnerability']").select_option(seeded.vuln)
    form.locator("input[type='file']").set_input_files(str(FIXING_PATCH))
    form.locator("input[name='fixed_version']").fill("1.0.1")
    progress = page.locator("#patch-progress")
    expect(progress).to_be_hidden()
    with page.expect_response(
        lambda r: urlsplit(r.url).path == f"{path}/patches", timeout=120_000
    ) as uploaded:
        form.get_by_role("button", name="Upload and validate").click()
        expect(progress).to_be_visible()
    assert uploaded.value.status == 200, uploaded.value.status
    verdict = page.locator("#patch-result")
    expect(verdict).to_have_attribute("data-verdict", "fixes")
    expect(verdict).to_contain_text("Fixes")
    expect(verdict).to_contain_text("0 crashes in 3 runs")
    expect(progress).to_be_hidden()
    expect(page.locator("#patch-list")).to_contain_text("Fixes")
    assert page.evaluate("() => window.chNotReloaded === true"), "uploading reloaded the page"
    shot(page, "case-patch-verdict")
    doc = case_flow.show_case(world.runtime, viewer=LOCAL_ADMIN, case_id=seeded.case)
    assert (doc["patches"][-1]["vendor"], doc["patches"][-1]["verdict"]) == (VENDOR, "fixes")

    # The advisory as it would be published, clearly not published.
    page.locator("#advisory-preview-link").click()
    page.wait_for_url(f"**{path}/advisory")
    expect(page.locator("#preview-banner")).to_contain_text("Preview: not published")
    expect(page.locator("#advisory")).to_contain_text(seeded.vuln)
    expect(page.locator("#advisory")).to_contain_text(VENDOR)
    shot(page, "advisory-preview")
