"""The hospital IT person's journey on the operator dashboard, in Chromium: sign in, read what
to patch this week (the KEV entry first, with its plain reason), upload an SBOM and watch the
progress bar reach 100 % and the new matches appear in place, answer the advance warning the
hospital received, then turn the kill switch on through its confirmation step and see every
authorization halted.

Seeded here, apart from what other journeys use: a hospital of its own ("Mercy Rural
Hospital"), its SBOM, an advance warning on a lab's finding in a package only it runs, and its
IPv6 documentation network (3fff:4d1::/48) with a lab authorized to scan part of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
from sqlalchemy import select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN, Viewer
from clearinghouse.core.tlp import Tlp
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import (
    admin_flow,
    authorization_reads,
    case_flow,
    intake_flow,
    inventory_flow,
    publish_flow,
    submit_flow,
)
from clearinghouse.vulns.models import Vulnerability
from tests.browser.conftest import Tab, require_browser, shot, sign_in
from tests.browser.world import COORDINATOR, LAB, World
from tests.web.dashboard_data import authorize, cyclonedx, load_feeds, prove_network

require_browser()  # before Playwright is imported
from playwright.sync_api import Page, expect  # noqa: E402

HOSPITAL = "Mercy Rural Hospital"
NETWORK = "3fff:4d1::/48"
PURLS = [
    "pkg:golang/example.org/scada/modbus@v1.8.2",  # in KEV
    "pkg:pypi/medrecord-parser@2.4.0",
    "pkg:pypi/infusion-gateway@3.1.0",  # the lab's flaw, run only here
]
UPLOADED = ["pkg:npm/ledger-core@3.1.0", "pkg:npm/left-pad@1.3.0"]


@dataclass(frozen=True)
class Seeded:
    token: str
    case: str
    authorizations: int


def _viewer(world: World, name: str) -> Viewer:
    with world.runtime.db.session() as session:
        org = access_service.get_org_by_name_or_raise(session, name=name)
        return access_service.viewer_for_org(org, role=Role.ANALYST)


@pytest.fixture(scope="module")
def seeded(world: World, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    rt = world.runtime
    admin_flow.create_organization(
        rt.db,
        viewer=LOCAL_ADMIN,
        name=HOSPITAL,
        kind=OrgKind.OPERATOR,
        sector=Sector.HEALTHCARE,
        clock=rt.clock,
    )
    token = admin_flow.create_token(
        rt.db, viewer=LOCAL_ADMIN, organization=HOSPITAL, role=Role.ADMIN, clock=rt.clock
    )["token"]
    hospital = _viewer(world, HOSPITAL)
    load_feeds(rt, tmp_path_factory.mktemp("operator-feeds"))
    inventory_flow.import_inventory(
        rt,
        viewer=hospital,
        organization=HOSPITAL,
        chunks=[cyclonedx("Bedside Monitoring", PURLS)],
    )
    finding = {
        "target": "pkg:pypi/infusion-gateway@3.1.0",
        "title": "Unauthenticated dose change in infusion-gateway",
        "provenance": {"tool": "browser-test-agent"},
    }
    _, submitted = submit_flow.submit(
        rt,
        intake_flow.ImportRequest(
            organization=LAB,
            chunks=[
                orjson.dumps(
                    {"format": "clearinghouse-findings", "version": "1.0", "findings": [finding]}
                )
            ],
            tlp=Tlp.AMBER,
        ),
        viewer=_viewer(world, LAB),
    )
    with rt.db.session() as session:
        vuln = str(
            session.scalar(
                select(Vulnerability.public_id)
                .join(Finding, Finding.vulnerability_id == Vulnerability.id)
                .where(Finding.submission_id == int(submitted["submission"]))
            )
        )
    coordinator = _viewer(world, COORDINATOR)
    case = case_flow.open_case(rt, viewer=coordinator, vuln_ids=[vuln], allow_unvalidated=True)
    warned = publish_flow.prenotify(rt, viewer=coordinator, case_id=case["id"])
    assert HOSPITAL in warned["notified"], warned
    prove_network(rt, hospital, network=NETWORK, domain="mercy-hospital.example")
    for part in ("3fff:4d1:0:1::/64", "3fff:4d1:0:2::/64"):
        authorize(rt, hospital, scanner=LAB, network=part)
    return Seeded(token=token, case=str(case["id"]), authorizations=2)


def _rows(page: Page) -> list[str]:
    return [
        str(row.get_attribute("data-vulnerability"))
        for row in page.locator("#patch-table tbody tr").all()
    ]


def test_the_hospital_patches_uploads_answers_and_pulls_the_kill_switch(
    world: World, seeded: Seeded, tab: Tab, tmp_path: Path
) -> None:
    page = tab()
    sign_in(page, seeded.token)
    nav = page.get_by_role("navigation", name="Main")
    with page.expect_response(lambda r: urlsplit(r.url).path == "/dashboard") as opened:
        nav.get_by_role("link", name="Dashboard").click()
    assert opened.value.status == 200
    expect(nav.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")

    # What to patch this week: the report's order, the KEV entry first, said in words.
    report = inventory_flow.report(world.runtime, organization=HOSPITAL)
    expected = [item["vulnerability"] for item in report["items"]]
    assert expected[0] == "DEMO-2026-0005", expected
    assert _rows(page) == expected
    first = page.locator("#patch-table tbody tr").first
    expect(first).to_contain_text("Known exploited (CISA KEV)")
    expect(first).to_contain_text("modbus")
    expect(first).to_contain_text("1.9.0")
    medrecord = page.locator("#patch-table tr[data-vulnerability='DEMO-2026-0001']")
    expect(medrecord).to_contain_text("reachable from the internet")
    expect(page.locator("#progress-chart circle.point-open")).to_have_count(8)
    shot(page, "dashboard")

    # Upload an SBOM: the bar fills to 100 % and the matches appear without a reload.
    page.evaluate("() => { window.chNotReloaded = true; }")
    sbom = tmp_path / "pharmacy.cdx.json"
    sbom.write_bytes(cyclonedx("Pharmacy Dispensing", UPLOADED))
    page.locator("#sbom").set_input_files(str(sbom))
    progress = page.locator("#sbom-progress")
    with page.expect_response(
        lambda r: urlsplit(r.url).path == "/dashboard/inventories"
    ) as uploaded:
        page.locator("#sbom-submit").click()
    assert uploaded.value.status == 200
    done = page.locator("#upload-done")
    expect(done).to_contain_text("Stored Pharmacy Dispensing")
    expect(done).to_contain_text("2 components")
    expect(done).to_contain_text("2 matches")
    expect(progress).to_be_visible()
    expect(progress).to_have_js_property("value", 100)
    expect(page.locator("#sbom-progress-text")).to_have_text("Upload complete (100%)")
    expect(page.locator("#patch-table tr[data-vulnerability='DEMO-2026-0003']")).to_have_count(1)
    expect(page.locator("#inventories-list")).to_contain_text("Pharmacy Dispensing")
    assert page.evaluate("() => window.chNotReloaded === true"), "the upload reloaded the page"
    shot(page, "dashboard-sbom-uploaded")

    # The advance warning: answered in place.
    note = page.locator("#notifications tr[data-notification]").filter(has_text=seeded.case)
    expect(note).to_have_count(1)
    expect(note).to_contain_text("Not answered yet")
    note.get_by_label("Your answer").select_option("remediated")
    note.get_by_role("button", name="Send answer").click()
    answered = page.locator("#notifications tr[data-notification]").filter(has_text=seeded.case)
    expect(answered).to_contain_text("Answered: Patched (remediated)")

    # The kill switch: off, a confirmation step, then every authorization halted.
    expect(page.locator("#kill-switch-state")).to_have_text("OFF")
    states = page.locator("#authorizations tr[data-authorization]")
    expect(states).to_have_count(seeded.authorizations)
    page.locator("#kill-switch-on").click()
    confirm = page.locator("#kill-switch-confirm")
    expect(confirm).to_contain_text("Stop every scan of your networks now?")
    granted = authorization_reads.granted_by(
        world.runtime, viewer=LOCAL_ADMIN, organization=HOSPITAL
    )
    assert granted["kill_switch"]["on"] is False, "asking is not doing"
    page.locator("#kill-switch-confirm-on").click()
    expect(page.locator("#kill-switch-state")).to_have_text("ON")
    expect(page.locator("#kill-switch-text")).to_contain_text(
        "Every scan of your networks is halted"
    )
    halted = page.locator("#authorizations tr[data-state='halted']")
    expect(halted).to_have_count(seeded.authorizations)
    for row in halted.all():
        expect(row).to_contain_text("Halted")
    assert page.evaluate("() => window.chNotReloaded === true"), "the kill switch reloaded"
    granted = authorization_reads.granted_by(
        world.runtime, viewer=LOCAL_ADMIN, organization=HOSPITAL
    )
    assert granted["kill_switch"]["on"] is True
    assert {a["state"] for a in granted["authorizations"]} == {"halted"}
    since = dt.datetime.fromisoformat(str(granted["kill_switch"]["since"]))
    assert since <= world.runtime.clock.now()
    shot(page, "dashboard-kill-switch")
