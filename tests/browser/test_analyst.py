"""The analyst's journey: sign in with a token, read the triage queue, filter it in place
(htmx swaps the table; the page does not reload), walk it with the keyboard (j, k, Enter) to a
vulnerability page with its findings in credit order and its validation run. Then the operator:
the AMBER vulnerability, not shared with it, is neither in its queue nor readable (the 404
page, as the API answers). Last, the coordinator's analyst merges one vulnerability into
another from its page, reads the timeline that records it, and splits the finding off again."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import Role
from clearinghouse.core.tlp import Tlp
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import intake_flow, submit_flow
from clearinghouse.vulns.models import Vulnerability
from tests.browser.conftest import Tab, require_browser, shot, sign_in
from tests.browser.world import COORDINATOR, LAB, OPERATOR, VENDOR, World
from tests.web.world import native

require_browser()  # before Playwright is imported
from playwright.sync_api import Page, expect  # noqa: E402

ROWS = "#triage-table tr[data-vuln]"

# The row the keyboard has highlighted: the focused row, else one marked as selected.
HIGHLIGHTED = """() => {
  const focused = document.activeElement && document.activeElement.closest
    ? document.activeElement.closest("tr[data-vuln]") : null;
  if (focused) return focused.dataset.vuln;
  const marked = document.querySelector(
    "#triage-table tr[data-vuln].is-current, #triage-table tr[data-vuln][aria-selected='true']"
  );
  return marked ? marked.dataset.vuln : null;
}"""


def _listed(page: Page) -> list[str]:
    return [str(row.get_attribute("data-vuln")) for row in page.locator(ROWS).all()]


def _highlighted(page: Page) -> str | None:
    value = page.evaluate(HIGHLIGHTED)
    return None if value is None else str(value)


def _filter(page: Page, text: str) -> None:
    """Type into the filter form's search box; htmx fetches the rows once typing pauses."""
    with page.expect_response(lambda r: urlsplit(r.url).path == "/triage/rows") as swapped:
        page.locator("#triage-filters [name=q]").fill(text)
    assert swapped.value.status == 200


def test_analyst_triages_with_filters_and_keyboard(world: World, tab: Tab) -> None:
    page = tab()
    sign_in(page, world.tokens[COORDINATOR])
    expect(page.locator("#whoami")).to_contain_text(COORDINATOR)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Triage")).to_have_attribute("href", "/triage")
    expect(nav.get_by_role("link", name="Models")).to_have_attribute("href", "/models")
    expect(page.locator(ROWS)).to_have_count(2)
    assert sorted(_listed(page)) == sorted([world.shared_vuln, world.amber_vuln])
    amber = page.locator(f"{ROWS}[data-vuln='{world.amber_vuln}']")
    expect(amber).to_contain_text(world.amber_title)
    expect(amber).to_contain_text("AMBER")
    expect(amber).to_contain_text("reproduced", ignore_case=True)
    shared = page.locator(f"{ROWS}[data-vuln='{world.shared_vuln}']")
    expect(shared).to_contain_text(world.shared_title)
    expect(shared).to_contain_text("CLEAR")
    shot(page, "analyst-1-triage")

    # Filtering swaps the table in place: a mark set on this document survives it.
    page.evaluate("() => { window.chNotReloaded = true; }")
    _filter(page, "chunk")
    expect(page.locator(ROWS)).to_have_count(1)
    assert _listed(page) == [world.amber_vuln]
    shot(page, "analyst-2-filtered")
    _filter(page, "")
    expect(page.locator(ROWS)).to_have_count(2)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/triage/rows"):
        page.select_option("#triage-filters [name=verdict]", "reproduced")
    expect(page.locator(ROWS)).to_have_count(1)
    assert _listed(page) == [world.amber_vuln]
    with page.expect_response(lambda r: urlsplit(r.url).path == "/triage/rows"):
        page.select_option("#triage-filters [name=verdict]", "")
    expect(page.locator(ROWS)).to_have_count(2)
    assert page.evaluate("() => window.chNotReloaded === true"), "the filter reloaded the page"

    # j and k move the highlight (not while typing in the filter), Enter opens the row.
    page.locator("#triage-filters [name=q]").press("Escape")  # leaves the box (app.js)
    page.wait_for_load_state("networkidle")  # leaving it may refresh the rows once more
    order = _listed(page)
    page.keyboard.press("j")
    assert _highlighted(page) == order[0]
    page.keyboard.press("j")
    assert _highlighted(page) == order[1]
    page.keyboard.press("k")
    assert _highlighted(page) == order[0]
    for _ in order:
        if _highlighted(page) == world.amber_vuln:
            break
        page.keyboard.press("j")
    assert _highlighted(page) == world.amber_vuln
    shot(page, "analyst-3-keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/vulns/{world.amber_vuln}")
    assert page.evaluate("() => window.chNotReloaded === undefined")  # a new page

    heading = page.locator("h1")
    expect(heading).to_contain_text(world.amber_vuln)
    expect(heading).to_contain_text(world.amber_title)
    expect(page.locator("#findings")).to_contain_text(LAB)
    validation = page.locator("#validation")
    expect(validation).to_contain_text("reproduced", ignore_case=True)
    expect(validation).to_contain_text(str(world.run["crash_type"]))
    for frame in world.run["crash_state"][:2]:
        expect(validation).to_contain_text(frame)
    log = validation.locator("details").first
    log.locator("summary").click()
    expect(log).to_have_attribute("open", "")
    expect(log).to_contain_text("IndexError")
    expect(page.locator("#aliases")).to_be_attached()
    shot(page, "analyst-4-vulnerability")

    # Two finders of one flaw, in credit order (who reported it first comes first).
    page.goto(f"/vulns/{world.shared_vuln}")
    findings = page.locator("#findings")
    expect(findings).to_contain_text(VENDOR)
    text = findings.inner_text()
    assert text.index(COORDINATOR) < text.index(VENDOR), text
    shot(page, "analyst-5-credit")


def test_operator_sees_neither_the_amber_row_nor_its_page(world: World, tab: Tab) -> None:
    page = tab()
    sign_in(page, world.tokens[OPERATOR])
    expect(page.locator("#whoami")).to_contain_text(OPERATOR)
    expect(page.locator(ROWS)).to_have_count(1)
    assert _listed(page) == [world.shared_vuln]
    expect(page.locator("#triage-table")).not_to_contain_text(world.amber_title)
    shot(page, "analyst-6-operator-triage")

    response = page.goto(f"/vulns/{world.amber_vuln}")
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text(world.amber_title)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()  # the site's 404 page
    shot(page, "analyst-7-operator-404")
    # The htmx endpoint obeys the same rule.
    rows = page.request.get("/triage/rows", params={"q": "chunk"})
    assert rows.status == 200
    assert world.amber_vuln not in rows.text()


@pytest.fixture(scope="module")
def regroup(world: World) -> list[tuple[str, int]]:
    """Two AMBER vulnerabilities of the lab's, shared with nobody (the coordinator sees them),
    seeded only once the journeys above have counted the queue: (id, finding) each."""
    runtime = world.runtime
    with runtime.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=LAB)
        lab = access_service.viewer_for_org(org, role=Role.ANALYST)
    _, doc = submit_flow.submit(
        runtime,
        intake_flow.ImportRequest(
            organization=LAB, chunks=[native("regroup", findings=2)], tlp=Tlp.AMBER
        ),
        viewer=lab,
    )
    with runtime.db.session() as session:
        rows = session.execute(
            select(Vulnerability.public_id, Finding.id)
            .join(Finding, Finding.vulnerability_id == Vulnerability.id)
            .where(Finding.submission_id == int(doc["submission"]))
            .order_by(Finding.id)
        ).all()
    return [(str(vuln), int(finding)) for vuln, finding in rows]


def test_analyst_merges_and_splits_from_the_vulnerability_page(
    world: World, tab: Tab, regroup: list[tuple[str, int]]
) -> None:
    (into, kept), (other, moved) = regroup
    page = tab()
    sign_in(page, world.tokens[COORDINATOR])
    page.goto(f"/vulns/{into}")
    expect(page.locator(f"#finding-{moved}")).to_have_count(0)

    # A mistyped id is refused beside the form; nothing is merged.
    page.get_by_label(f"Merge another vulnerability into {into}").fill("CH-2099-99999")
    page.locator("#merge-form button[type=submit]").click()
    expect(page.locator("#merge-error")).to_contain_text("other: no vulnerability CH-2099-99999")

    page.get_by_label(f"Merge another vulnerability into {into}").fill(other)
    page.locator("#merge-form button[type=submit]").click()
    page.wait_for_url(f"**/vulns/{into}#timeline")
    expect(page.locator(f"#finding-{moved}")).to_contain_text(LAB)
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text(f"Merged {other} into this by {COORDINATOR}")
    shot(page, "analyst-8-merged")

    # Split the merged finding off again: the new vulnerability's page, with its history.
    page.get_by_label(f"Move finding #{moved} to a new vulnerability").check()
    page.locator("#split-form button[type=submit]").click()
    page.wait_for_url("**#timeline")
    new = urlsplit(page.url).path.rsplit("/", 1)[-1]
    assert new not in (into, other)
    expect(page.locator(f"#finding-{moved}")).to_be_visible()
    expect(page.locator(f"#finding-{kept}")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text(f"Split off from {into}")
    page.goto(f"/vulns/{into}#timeline")
    expect(page.locator("#timeline li")).to_have_count(3)  # reported, merged, split off
    expect(page.locator("#timeline")).to_contain_text(f"1 finding(s) split off into {new}")
    page.locator("#timeline").scroll_into_view_if_needed()
    shot(page, "analyst-9-timeline")
