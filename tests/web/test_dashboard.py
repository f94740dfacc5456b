"""The operator dashboard over HTTP (TestClient), on the web world plus ``dashboard_data``.

The hospital's IT person reads what to patch in priority order with plain reasons (the overdue
KEV entry first, marked in words), a chart of the last weeks with one point per week and the
same numbers as a table; uploads an SBOM and is told what it matched; a broken or oversized
SBOM is refused with the reason and nothing stored; answers a notification; turns the kill
switch on through a confirmation step, which halts every authorization it granted and is
audited. A viewer may read but not act (403); another organization's authorizations and
notifications never show.
"""

from __future__ import annotations

import re

import pytest
from httpx import Response
from sqlalchemy import func, select

from clearinghouse.access.roles import Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.audit.models import AuditEvent
from clearinghouse.inventory.models import Inventory
from clearinghouse.pipeline import authorization_reads, publish_flow, remediation_flow
from clearinghouse.web import operator_views
from tests.web.conftest import Browser, BrowserFactory, ClientFactory
from tests.web.dashboard_data import (
    KEV_CVE,
    OTHER_NET,
    PRODUCT,
    DashboardWorld,
    authorize,
    build,
    cyclonedx,
)
from tests.web.world import DEVELOPER, OPERATOR, OWNER, UNRELATED, World

pytestmark = pytest.mark.slow

HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def dash(world: World, tmp_path_factory: pytest.TempPathFactory) -> DashboardWorld:
    return build(world, tmp_path_factory.mktemp("dashboard"))


def section(html: str, ident: str) -> str:
    """The markup of the element with ``id=ident`` up to its section's end."""
    start = html.index(f'id="{ident}"')
    end = html.find("</section>", start)
    return html[start : end if end > 0 else len(html)]


def page(b: Browser) -> str:
    response = b.client.get("/dashboard")
    assert response.status_code == 200, response.text
    return str(response.text)


def hx(b: Browser) -> dict[str, str]:
    return {**HTMX, "X-CSRF-Token": b.csrf}


def upload(b: Browser, data: bytes, *, name: str = "sbom.json", htmx: bool = True) -> Response:
    response: Response = b.client.post(
        "/dashboard/inventories",
        files={"sbom": (name, data, "application/json")},
        headers=hx(b) if htmx else {"X-CSRF-Token": b.csrf},
    )
    return response


def inventory_rows(world: World) -> int:
    with world.runtime.db.session() as session:
        return int(session.scalar(select(func.count(Inventory.id))) or 0)


def test_the_patch_list_is_in_priority_order_with_plain_reasons(
    dash: DashboardWorld, browser: BrowserFactory
) -> None:
    html = page(browser(OPERATOR, Role.VIEWER))
    shown = re.findall(r'<tr data-vulnerability="([^"]+)"', section(html, "to-patch"))
    report = remediation_flow.to_patch(dash.world.runtime, organization=OPERATOR.name)
    assert shown == [item["vulnerability"] for item in report["items"]]
    deadlines = [item["deadline"] for item in report["items"]]
    assert deadlines == sorted(deadlines)
    # The KEV entry is due by the catalog's date, already past: first, and said to be overdue.
    first = report["items"][0]
    assert KEV_CVE in first["cves"]
    assert first["overdue_days"] == 5
    assert first["plain_reason"].startswith("Known exploited (CISA KEV); ")
    assert "OVERDUE: was due" in first["plain_reason"]
    rows = section(html, "patch-table").split("<tr data-vulnerability=")[1:]
    assert "Overdue" in rows[0]
    assert "is-overdue" in rows[0]
    by_package = {item["package"]: item for item in report["items"]}
    assert (
        "reachable from the internet, no login needed"
        in by_package["medrecord-parser"]["plain_reason"]
    )
    assert by_package["medrecord-parser"]["fixed_versions"] == ["2.5.0"]
    assert ">2.5.0<" in rows[shown.index(by_package["medrecord-parser"]["vulnerability"])]
    assert "no fixed version yet" in by_package["pump-telemetry"]["plain_reason"]
    # dicom-lite was upgraded to its fixed version; the lab's embargoed flaw is not shared.
    assert "dicom-lite" not in by_package
    assert dash.lab_vuln not in shown
    for item in report["items"]:
        assert item["plain_reason"] in html.replace("&#39;", "'")


def test_the_chart_has_one_point_per_week_and_a_table_alternative(
    dash: DashboardWorld, browser: BrowserFactory
) -> None:
    html = page(browser(OPERATOR, Role.VIEWER))
    progress = section(html, "progress")
    weeks = remediation_flow.DEFAULT_WEEKS
    assert progress.count('class="point point-open"') == weeks
    assert progress.count('class="point point-resolved"') == weeks
    table = progress[progress.index('id="progress-table"') :]
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", table, re.S)
    assert len(rows) == weeks
    series = remediation_flow.remediation_progress(dash.world.runtime, organization=OPERATOR.name)
    points = series["points"]
    for row, point in zip(rows, points, strict=True):
        cells = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row)]
        assert cells == [
            point["open"],
            point["resolved"],
            point["upgraded"],
            point["not_affected"],
            point["answered"],
        ]
    # Before the first SBOM nothing was open; the old one had two flaws (medrecord-parser,
    # dicom-lite 1.7.0); today dicom-lite is upgraded away (resolved) and three are open.
    assert points[0]["open"] == 0
    assert points[-2]["open"] == 2
    assert points[-1]["upgraded"] == 1
    assert points[-1]["open"] >= 3
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_an_sbom_upload_stores_it_and_says_what_it_matched(
    dash: DashboardWorld, browser: BrowserFactory
) -> None:
    hospital = browser(OPERATOR, Role.SUBMITTER)
    before = inventory_rows(dash.world)
    sbom = cyclonedx("Billing", ["pkg:npm/ledger-core@3.1.0", "pkg:npm/left-pad@1.3.0"])
    response = upload(hospital, sbom, name="billing.cdx.json")
    assert response.status_code == 200, response.text
    text = response.text
    assert "Stored Billing" in text
    assert "billing.cdx.json" in text
    assert "2 components" in text
    assert "2 matches with known advisories" in text
    assert "DEMO-2026-0003" in text
    assert "DEMO-2026-0004" in text
    assert inventory_rows(dash.world) == before + 1
    # The rest of the page is refreshed out of band: the patch list now has the new matches.
    assert 'id="to-patch" aria-labelledby="to-patch-heading" hx-swap-oob="true"' in text
    assert re.search(r'<tr data-vulnerability="DEMO-2026-0003"', text)
    assert "Billing" in section(page(hospital), "inventories-list")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (
            b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, '
            b'"components": [{"type": "gadget", "name": "x"}]}',
            422,
            "/components/0",
        ),
        (b"this is not an SBOM", 415, "expected CycloneDX (JSON or XML) or SPDX"),
    ],
    ids=["schema-violation", "not-json"],
)
def test_an_invalid_sbom_is_refused_naming_the_problem_and_nothing_is_stored(
    dash: DashboardWorld, browser: BrowserFactory, body: bytes, status: int, words: str
) -> None:
    hospital = browser(OPERATOR, Role.SUBMITTER)
    before = inventory_rows(dash.world)
    for htmx in (True, False):
        response = upload(hospital, body, htmx=htmx)
        assert response.status_code == status, response.text
        error = response.text[response.text.index('id="upload-error"') :]
        assert "The SBOM was not stored" in error
        assert words in error[: error.index("</div>")]
        assert inventory_rows(dash.world) == before


def test_an_oversized_upload_is_refused_before_it_is_stored(
    dash: DashboardWorld, browser: BrowserFactory
) -> None:
    hospital = browser(OPERATOR, Role.SUBMITTER)
    before = inventory_rows(dash.world)
    padding = b" " * (operator_views.MAX_SBOM_BYTES + 1)
    response = upload(hospital, cyclonedx("Huge", ["pkg:npm/left-pad@1.3.0"]) + padding)
    assert response.status_code == 413
    assert f"larger than the {operator_views.MAX_SBOM_BYTES:,} bytes accepted here" in response.text
    assert inventory_rows(dash.world) == before


def test_an_upload_without_javascript_carries_its_token_in_the_form(
    dash: DashboardWorld, browser: BrowserFactory
) -> None:
    """A plain form post (no htmx, so no X-CSRF-Token header) is accepted with the page's token
    as a field of the multipart body, refused without it, and answered with the whole page."""
    hospital = browser(OPERATOR, Role.SUBMITTER)
    before = inventory_rows(dash.world)
    sbom = cyclonedx("Pharmacy", ["pkg:npm/left-pad@1.3.0"])
    refused = hospital.client.post(
        "/dashboard/inventories", files={"sbom": ("pharmacy.cdx.json", sbom, "application/json")}
    )
    assert refused.status_code == 403
    assert "The form has expired" in refused.text
    forged = hospital.client.post(
        "/dashboard/inventories",
        data={"csrf_token": "not-the-token"},
        files={"sbom": ("pharmacy.cdx.json", sbom, "application/json")},
    )
    assert forged.status_code == 403
    assert inventory_rows(dash.world) == before
    accepted = hospital.client.post(
        "/dashboard/inventories",
        data={"csrf_token": hospital.csrf},
        files={"sbom": ("pharmacy.cdx.json", sbom, "application/json")},
    )
    assert accepted.status_code == 200, accepted.text
    assert "<!doctype html>" in accepted.text  # the whole page, not a fragment
    assert "Stored Pharmacy" in accepted.text
    assert inventory_rows(dash.world) == before + 1


def test_an_answer_to_a_notification_is_recorded_and_shown(
    dash: DashboardWorld, browser: BrowserFactory
) -> None:
    hospital = browser(OPERATOR, Role.SUBMITTER)
    row = f"notification-{dash.notification}"
    assert "Not answered yet" in section(page(hospital), "notifications")
    target = f"/dashboard/notifications/{dash.notification}/response"
    refused = hospital.client.post(target, data={"response": "done"}, headers=hx(hospital))
    assert refused.status_code == 400
    assert "response: choose one of" in refused.text
    answered = hospital.client.post(
        target, data={"response": "remediated", "statement": "patched Friday"}, headers=hx(hospital)
    )
    assert answered.status_code == 200, answered.text
    assert answered.text.lstrip().startswith(f'<tr id="{row}"')
    assert "Answered: <strong>Patched (remediated)</strong>" in answered.text
    [note] = [
        n
        for n in publish_flow.list_notifications(dash.world.runtime, viewer=LOCAL_ADMIN)
        if n["id"] == dash.notification
    ]
    assert note["response"] == "remediated"
    # Another organization: the notification does not exist for it, and it is not listed.
    other = browser(UNRELATED, Role.ADMIN)
    assert (
        other.client.post(target, data={"response": "acknowledged"}, headers=hx(other)).status_code
        == 404
    )
    assert row not in page(other)


def test_the_kill_switch_asks_first_then_halts_every_authorization_and_is_audited(
    dash: DashboardWorld, browser: BrowserFactory
) -> None:
    rt = dash.world.runtime
    admin = browser(OPERATOR, Role.ADMIN)

    def state() -> dict[str, object]:
        return authorization_reads.granted_by(rt, viewer=LOCAL_ADMIN, organization=OPERATOR.name)

    assert 'id="kill-switch-state">OFF<' in page(admin)
    asked = admin.client.get("/dashboard/kill-switch", headers=HTMX)
    assert asked.status_code == 200
    assert "Stop every scan of your networks now?" in asked.text
    assert 'id="kill-switch-confirm-on"' in asked.text
    assert state()["kill_switch"] == {"on": False, "since": None}
    unconfirmed = admin.client.post("/dashboard/kill-switch", data={"on": "on"}, headers=hx(admin))
    assert unconfirmed.status_code == 400
    assert state()["kill_switch"]["on"] is False  # type: ignore[index]

    pulled = admin.client.post(
        "/dashboard/kill-switch", data={"on": "on", "confirm": "yes"}, headers=hx(admin)
    )
    assert pulled.status_code == 200, pulled.text
    assert 'id="kill-switch-state">ON<' in pulled.text
    states = re.findall(r'data-state="([a-z]+)"', pulled.text)
    assert states
    assert set(states) == {"halted"}
    assert "Every scan of your networks is halted" in pulled.text
    now = state()
    assert now["halted"] == len(now["authorizations"]) > 0  # type: ignore[arg-type]
    with rt.db.session() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "scan.kill_switch")
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert event is not None
        assert event.organization == OPERATOR.name
        assert '"paused":true' in event.detail.replace(" ", "")

    resumed = admin.client.post("/dashboard/kill-switch", data={"on": "off"}, headers=hx(admin))
    assert resumed.status_code == 200
    assert set(re.findall(r'data-state="([a-z]+)"', resumed.text)) == {"active"}


def test_revoking_an_authorization_and_never_another_owners(
    dash: DashboardWorld, browser: BrowserFactory
) -> None:
    rt = dash.world.runtime
    admin = browser(OPERATOR, Role.ADMIN)
    extra = authorize(
        rt, dash.world.viewers[OPERATOR.key], scanner=DEVELOPER.name, network="203.0.113.128/25"
    )
    revoked = admin.client.post(
        f"/dashboard/authorizations/{extra['id']}/revoke", headers=hx(admin)
    )
    assert revoked.status_code == 200, revoked.text
    row = f'id="authorization-{extra["id"]}" data-authorization="{extra["id"]}"'
    assert f'{row} data-state="revoked"' in revoked.text
    foreign = admin.client.post(
        f"/dashboard/authorizations/{dash.other_authorization}/revoke", headers=hx(admin)
    )
    assert foreign.status_code == 404
    theirs = authorization_reads.granted_by(rt, viewer=LOCAL_ADMIN, organization=UNRELATED.name)
    assert [a["state"] for a in theirs["authorizations"]] == ["active"]


def test_another_organizations_authorizations_never_appear(
    dash: DashboardWorld, browser: BrowserFactory
) -> None:
    hospital = section(page(browser(OPERATOR, Role.VIEWER)), "scans")
    assert f'id="authorization-{dash.hospital_authorization}"' in hospital
    assert f'id="authorization-{dash.other_authorization}"' not in hospital
    assert OTHER_NET not in hospital
    lab_beta = section(page(browser(UNRELATED, Role.VIEWER)), "scans")
    assert f'id="authorization-{dash.other_authorization}"' in lab_beta
    assert f'id="authorization-{dash.hospital_authorization}"' not in lab_beta
    # The scanner it authorized sees no owner's grants on its own dashboard.
    lab_alpha = section(page(browser(OWNER, Role.VIEWER)), "scans")
    assert "data-authorization=" not in lab_alpha


def test_a_viewer_reads_but_may_not_act(dash: DashboardWorld, browser: BrowserFactory) -> None:
    viewer = browser(OPERATOR, Role.VIEWER)
    html = page(viewer)
    for control in ('id="sbom-form"', 'id="kill-switch-on"', "respond-form", 'id="revoke-'):
        assert control not in html
    before = inventory_rows(dash.world)
    attempts = [
        upload(viewer, cyclonedx(PRODUCT, ["pkg:npm/left-pad@1.3.0"])),
        viewer.client.post(
            "/dashboard/kill-switch", data={"on": "on", "confirm": "yes"}, headers=hx(viewer)
        ),
        viewer.client.get("/dashboard/kill-switch", headers=HTMX),
        viewer.client.post(
            f"/dashboard/authorizations/{dash.hospital_authorization}/revoke", headers=hx(viewer)
        ),
        viewer.client.post(
            f"/dashboard/notifications/{dash.notification}/response",
            data={"response": "acknowledged"},
            headers=hx(viewer),
        ),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert inventory_rows(dash.world) == before
    granted = authorization_reads.granted_by(
        dash.world.runtime, viewer=LOCAL_ADMIN, organization=OPERATOR.name
    )
    assert granted["kill_switch"]["on"] is False
    assert {a["id"]: a["state"] for a in granted["authorizations"]}[
        dash.hospital_authorization
    ] == "active"


def test_an_organization_without_sboms_is_told_why_the_page_is_empty(
    dash: DashboardWorld, browser: BrowserFactory, new_client: ClientFactory
) -> None:
    html = page(browser(DEVELOPER, Role.VIEWER))
    assert 'id="nothing-to-patch"' in html
    assert "Upload the SBOM" in html
    assert 'id="no-notifications"' in html
    signed_out = new_client().get("/dashboard", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/signin")
