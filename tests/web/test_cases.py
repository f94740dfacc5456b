"""The vendor case room through the web: the case list and the room for participants, a 404 for
everyone else on every route, the API's roles for every write, messages escaped and bounded,
patches validated in the sandbox (too large: refused before anything is stored), vendor
statuses in the matrix, the embargo's actions, and the advisory preview.

The module's data directory lives under a 0755 directory: the sandbox's uid reproduces the proof
and judges the patches from inside it, and cannot search pytest's 0700 temporary directories.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from clearinghouse.access.roles import Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.cases.models import CaseMessage, CasePatch
from clearinghouse.core.errors import NotFoundError
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline import case_flow, case_room, publish_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.prioritization.models import EpssRecord, KevRecord
from clearinghouse.validation.models import PatchValidation
from clearinghouse.validation.patching import MAX_DIFF_BYTES
from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.web.cases_data import (
    FIXING_PATCH,
    NOT_FIXING_PATCH,
    PRODUCT,
    CaseWorld,
    build_case_world,
)
from tests.web.conftest import Browser, BrowserFactory
from tests.web.test_pagination import counted
from tests.web.world import COORDINATOR, GRANTED, OPERATOR, OWNER, UNRELATED, Org, World

pytestmark = [
    pytest.mark.skipif(shutil.which("patch") is None, reason="patch is not installed"),
]


@pytest.fixture(scope="module")
def web_runtime() -> Iterator[Runtime]:
    """Overrides the web conftest's: a data directory the sandbox can search."""
    root = Path(tempfile.mkdtemp(prefix="clearinghouse-web-cases-"))
    root.chmod(0o755)
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    settings = Settings(
        data_dir=root / "data",
        database_url=POSTGRES_URL,
        # bubblewrap where installed (CI), else the restricted mode, as the browser world does
        validation_allow_unisolated=shutil.which("bwrap") is None,
    )
    rt = Runtime.from_settings(settings)
    rt.ensure_schema()
    yield rt
    rt.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cases(world: World) -> CaseWorld:
    return build_case_world(world)


def htmx(browser: Browser, form_id: str = "") -> dict[str, str]:
    headers = {"HX-Request": "true", "X-CSRF-Token": browser.csrf}
    if form_id:
        headers["HX-Trigger"] = form_id
    return headers


def counts(world: World) -> tuple[int, int, int]:
    """(messages, case patches, patch validations) stored."""
    with world.runtime.db.session() as session:
        return (
            session.scalar(select(func.count(CaseMessage.id))) or 0,
            session.scalar(select(func.count(CasePatch.id))) or 0,
            session.scalar(select(func.count(PatchValidation.id))) or 0,
        )


def upload(browser: Browser, case: str, vuln: str, diff: bytes, *, name: str = "fix.diff") -> Any:
    return browser.client.post(
        f"/cases/{case}/patches",
        data={"vulnerability": vuln, "fixed_version": "1.0.1"},
        files={"patch": (name, diff, "text/x-diff")},
        headers=htmx(browser, "patch-form"),
    )


def thread_of(html: str, thread: str) -> str:
    start = html.index(f'data-thread="{thread}"')
    return html[start : html.index("</section>", start)]


# --- reading ---------------------------------------------------------------------------------


def test_the_list_shows_the_cases_a_viewer_takes_part_in(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    for org in (GRANTED, OWNER, COORDINATOR):
        html = browser(org).client.get("/cases").text
        assert f'href="/cases/{cases.case}"' in html, org.key
        row = html[html.index(f'<tr data-case="{cases.case}"') :]
        row = row[: row.index("</tr>")]
        assert cases.title in row
        assert "Proposed" in row  # the embargo's state
        assert re.search(r'<time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>', row)
        if org is OWNER:  # a reporter: the vendor's statement is not shared with it yet
            assert "Not shared yet</span> 1" in row
        else:  # the vendor itself and the coordinators: the vendor's silence is visible
            assert "Unknown</span> 1" in row
    for org in (UNRELATED, OPERATOR):
        html = browser(org).client.get("/cases").text
        assert cases.case not in html, org.key
        assert "No case you take part in" in html


def test_the_room_shows_participants_matrix_embargo_threads_and_forms(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    response = browser(GRANTED).client.get(f"/cases/{cases.case}")
    assert response.status_code == 200, response.text
    html = response.text
    for name in (GRANTED.name, OWNER.name, COORDINATOR.name):
        assert f'<tr data-participant="{name}">' in html
    assert '<table class="data matrix" id="status-matrix">' in html
    assert "<caption" in html
    assert f'<tr data-vendor="{GRANTED.name}">' in html
    assert re.search(r'<time id="embargo-until" datetime="[^"]+\+00:00">[^<]+ UTC</time>', html)
    countdown = re.search(
        r'<span id="embargo-countdown" role="timer" data-until="[^"]+">([^<]+)<', html
    )
    assert countdown is not None
    assert re.fullmatch(r"\d+ days?(, \d+ hours?)?(, \d+ minutes?)?", countdown.group(1))
    assert 'data-thread="case"' in html
    assert f'data-thread="{PRODUCT}"' in html
    assert 'id="patch-form"' in html  # a vendor uploads patches
    assert 'id="status-form"' in html  # and states its status
    assert f'href="/cases/{cases.case}/advisory"' in html
    assert '<script src="/static/cases.js" defer></script>' in html
    assert "style=" not in html
    assert "<script>" not in html

    reporter = browser(OWNER).client.get(f"/cases/{cases.case}").text
    assert 'id="patch-form"' not in reporter  # patches come from vendors
    assert 'id="status-form"' not in reporter
    assert 'id="message-form-1"' in reporter  # every participant writes messages
    coordinator = browser(COORDINATOR).client.get(f"/cases/{cases.case}").text
    assert 'id="embargo-extend"' in coordinator
    assert 'id="embargo-extend"' not in html


WRITES = (
    ("messages", {"body": "hello", "thread": "case"}),
    ("statuses", {"vulnerability": "{vuln}", "status": "affected"}),
    ("statuses/approve", {"vulnerability": "{vuln}", "vendor": GRANTED.name}),
    ("embargo", {"action": "accept", "until": "2030-01-01T00:00:00+00:00"}),
)


@pytest.mark.parametrize("role", [Role.ANALYST, Role.VIEWER], ids=lambda r: r.value)
@pytest.mark.parametrize("org", [UNRELATED, OPERATOR], ids=lambda o: o.key)
def test_outsiders_get_404_on_every_route(
    cases: CaseWorld, browser: BrowserFactory, org: Org, role: Role
) -> None:
    outsider = browser(org, role)
    before = counts(cases.world)
    for path in (f"/cases/{cases.case}", f"/cases/{cases.case}/advisory"):
        page = outsider.client.get(path)
        assert page.status_code == 404, (path, page.text)
        assert cases.title not in page.text
    for path, form in WRITES:
        data = {k: v.format(vuln=cases.vuln) for k, v in form.items()}
        response = outsider.client.post(
            f"/cases/{cases.case}/{path}", data=data, headers=htmx(outsider)
        )
        assert response.status_code == 404, (path, response.text)
        assert cases.title not in response.text
    patch = upload(outsider, cases.case, cases.vuln, FIXING_PATCH.read_bytes())
    assert patch.status_code == 404, patch.text
    assert counts(cases.world) == before
    # a case that does not exist answers the same
    assert outsider.client.get("/cases/CASE-2000-9999").status_code == 404


def test_the_viewer_role_reads_but_may_not_write(cases: CaseWorld, browser: BrowserFactory) -> None:
    viewer = browser(GRANTED, Role.VIEWER)
    room = viewer.client.get(f"/cases/{cases.case}")
    assert room.status_code == 200
    assert "<form id=" not in room.text  # no message, status, embargo or patch form
    before = counts(cases.world)
    for path, form in WRITES[:2]:
        data = {k: v.format(vuln=cases.vuln) for k, v in form.items()}
        response = viewer.client.post(
            f"/cases/{cases.case}/{path}", data=data, headers=htmx(viewer)
        )
        assert response.status_code == 403, (path, response.text)
    patch = upload(viewer, cases.case, cases.vuln, FIXING_PATCH.read_bytes())
    assert patch.status_code == 403, patch.text
    assert counts(cases.world) == before


def test_a_write_without_the_csrf_token_is_refused(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    vendor = browser(GRANTED)
    before = counts(cases.world)
    response = vendor.client.post(
        f"/cases/{cases.case}/messages",
        data={"body": "forged", "thread": "case"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    assert counts(cases.world) == before


# --- messages --------------------------------------------------------------------------------


def test_a_message_is_appended_escaped_in_its_thread(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    vendor = browser(GRANTED)
    text = "<script>alert(1)</script> & we <b>confirm</b>"
    response = vendor.client.post(
        f"/cases/{cases.case}/messages",
        data={"body": text, "thread": PRODUCT, "tlp": "AMBER"},
        headers=htmx(vendor, "message-form-2"),
    )
    assert response.status_code == 200, response.text
    assert response.text.lstrip().startswith('<li class="message"')
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; we &lt;b&gt;confirm&lt;/b&gt;" in response.text
    )
    assert "<script>" not in response.text
    # every participant sees it in the product's thread
    room = browser(OWNER).client.get(f"/cases/{cases.case}").text
    thread = thread_of(room, PRODUCT)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in thread
    assert GRANTED.name in thread
    assert "<script>alert" not in room


def test_a_private_message_reaches_only_its_recipient(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    vendor = browser(GRANTED)
    secret = "private-note-for-the-coordinators"
    response = vendor.client.post(
        f"/cases/{cases.case}/messages",
        data={"body": secret, "thread": "case", "to": COORDINATOR.name, "tlp": "RED"},
        headers=htmx(vendor, "message-form-1"),
    )
    assert response.status_code == 200, response.text
    assert secret in browser(COORDINATOR).client.get(f"/cases/{cases.case}").text
    assert secret not in browser(OWNER).client.get(f"/cases/{cases.case}").text


def test_a_too_long_message_is_refused_naming_the_field(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    vendor = browser(GRANTED)
    before = counts(cases.world)
    body = "x" * (case_flow.MAX_MESSAGE_CHARS + 1)
    response = vendor.client.post(
        f"/cases/{cases.case}/messages",
        data={"body": body, "thread": "case"},
        headers=htmx(vendor, "message-form-1"),
    )
    assert response.status_code == 400, response.text
    assert "body: 1 to 20000 characters" in response.text
    assert response.headers["HX-Retarget"] == "#message-form-1-error"
    # without htmx: the error page, with the same words
    page = vendor.client.post(
        f"/cases/{cases.case}/messages",
        data={"body": body, "thread": "case", "csrf_token": vendor.csrf},
    )
    assert page.status_code == 400
    assert "body: 1 to 20000 characters" in page.text
    assert "<!doctype html>" in page.text
    assert counts(cases.world) == before


def test_a_clear_message_is_refused_under_embargo(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    vendor = browser(GRANTED)
    response = vendor.client.post(
        f"/cases/{cases.case}/messages",
        data={"body": "public?", "thread": "case", "tlp": "CLEAR"},
        headers=htmx(vendor, "message-form-1"),
    )
    assert response.status_code == 409
    assert "tlp:" in response.text
    assert "TLP:CLEAR</option>" not in vendor.client.get(f"/cases/{cases.case}").text


# --- statuses and embargo --------------------------------------------------------------------


def _cell(html: str, vendor: str) -> str:
    row = html[html.index(f'<tr data-vendor="{vendor}">') :]
    return row[: row.index("</tr>")]


def test_a_vendor_status_shows_in_the_matrix_once_approved_for_others(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    vendor = browser(GRANTED)
    response = vendor.client.post(
        f"/cases/{cases.case}/statuses",
        data={
            "vulnerability": cases.vuln,
            "status": "affected",
            "statement": "All releases <= 1.0.0.",
        },
        headers=htmx(vendor, "status-form"),
    )
    assert response.status_code == 200, response.text
    assert response.text.lstrip().startswith('<section id="matrix"')
    mine = _cell(response.text, GRANTED.name)
    assert "Affected" in mine
    assert "awaiting approval" in mine
    assert "All releases &lt;= 1.0.0." in mine
    # the reporter sees that something exists, not what
    other = _cell(browser(OWNER).client.get(f"/cases/{cases.case}").text, GRANTED.name)
    assert "Not shared yet" in other
    assert "Affected" not in other
    # a coordinator shares it
    coordinator = browser(COORDINATOR)
    approved = coordinator.client.post(
        f"/cases/{cases.case}/statuses/approve",
        data={"vulnerability": cases.vuln, "vendor": GRANTED.name},
        headers=htmx(coordinator),
    )
    assert approved.status_code == 200, approved.text
    other = _cell(browser(OWNER).client.get(f"/cases/{cases.case}").text, GRANTED.name)
    assert "Affected" in other
    assert "awaiting approval" not in other


def test_fixed_needs_a_version(cases: CaseWorld, browser: BrowserFactory) -> None:
    vendor = browser(GRANTED)
    response = vendor.client.post(
        f"/cases/{cases.case}/statuses",
        data={"vulnerability": cases.vuln, "status": "fixed"},
        headers=htmx(vendor, "status-form"),
    )
    assert response.status_code == 400
    assert "fixed_version" in response.text
    assert response.headers["HX-Retarget"] == "#status-form-error"


def test_embargo_actions_follow_the_rules(cases: CaseWorld, browser: BrowserFactory) -> None:
    coordinator = browser(COORDINATOR)
    past = coordinator.client.post(
        f"/cases/{cases.case}/embargo",
        data={"action": "extend", "until": "2001-01-01T00:00", "reason": "more time"},
        headers=htmx(coordinator, "embargo-extend"),
    )
    assert past.status_code == 400
    assert "until:" in past.text
    agreed = coordinator.client.post(
        f"/cases/{cases.case}/embargo", data={"action": "agree"}, headers=htmx(coordinator)
    )
    assert agreed.status_code == 200, agreed.text
    assert '<span id="embargo-state" class="embargo-state embargo-agreed">Agreed</span>' in (
        agreed.text
    )
    # a vendor accepts the date, and may not break the embargo
    vendor = browser(GRANTED)
    doc = case_flow.show_case(cases.world.runtime, viewer=LOCAL_ADMIN, case_id=cases.case)
    accepted = vendor.client.post(
        f"/cases/{cases.case}/embargo",
        data={"action": "accept", "until": doc["embargo"]["until"]},
        headers=htmx(vendor, "embargo-accept"),
    )
    assert accepted.status_code == 200, accepted.text
    broken = vendor.client.post(
        f"/cases/{cases.case}/embargo",
        data={"action": "break", "reason": "no"},
        headers=htmx(vendor, "embargo-end"),
    )
    assert broken.status_code == 403
    after = case_flow.show_case(cases.world.runtime, viewer=LOCAL_ADMIN, case_id=cases.case)
    assert after["embargo"]["state"] == "agreed"
    [part] = [p for p in after["participants"] if p["organization"] == GRANTED.name]
    assert part["agreed_until"] == doc["embargo"]["until"]


# --- patches ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "verdict", "label"),
    [(FIXING_PATCH, "fixes", "Fixes"), (NOT_FIXING_PATCH, "does_not_fix", "Does not fix")],
    ids=["fixes", "does-not-fix"],
)
def test_an_uploaded_patch_gets_its_verdict(
    cases: CaseWorld, browser: BrowserFactory, patch: Path, verdict: str, label: str
) -> None:
    vendor = browser(GRANTED)
    _, patches, validations = counts(cases.world)
    response = upload(vendor, cases.case, cases.vuln, patch.read_bytes(), name=patch.name)
    assert response.status_code == 200, response.text
    assert f'data-verdict="{verdict}"' in response.text
    assert f">{label}</strong>" in response.text
    assert "Proof finding" in response.text  # the evidence: each proof's runs
    assert 'id="patch-list" hx-swap-oob="true"' in response.text
    assert counts(cases.world)[1:] == (patches + 1, validations + 1)
    doc = case_flow.show_case(cases.world.runtime, viewer=LOCAL_ADMIN, case_id=cases.case)
    assert doc["patches"][-1]["verdict"] == verdict
    assert doc["patches"][-1]["vendor"] == GRANTED.name


def test_a_too_large_patch_is_refused_and_nothing_is_stored(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    vendor = browser(GRANTED)
    before = counts(cases.world)
    huge = b"--- a/chunks.py\n+++ b/chunks.py\n" + b"+" * MAX_DIFF_BYTES
    response = upload(vendor, cases.case, cases.vuln, huge)
    assert response.status_code == 413, response.text
    # refused as it streams in, by the page's own cap (the patch validator's limit), as a page
    assert 'data-verdict="refused"' in response.text
    assert f"larger than {MAX_DIFF_BYTES // 1024} KiB; nothing was stored" in response.text
    assert counts(cases.world) == before


def test_a_file_that_is_not_a_diff_is_refused(cases: CaseWorld, browser: BrowserFactory) -> None:
    vendor = browser(GRANTED)
    before = counts(cases.world)
    response = upload(vendor, cases.case, cases.vuln, b"just some text\n", name="notes.txt")
    assert response.status_code == 400, response.text
    assert 'data-verdict="refused"' in response.text
    assert "not a unified diff" in response.text
    assert counts(cases.world)[:2] == before[:2]


def test_the_patch_form_works_without_javascript(cases: CaseWorld, browser: BrowserFactory) -> None:
    """Without htmx the token is a field of the multipart body; the answer is a whole page."""
    vendor = browser(GRANTED)
    before = counts(cases.world)
    fields = {"vulnerability": cases.vuln, "fixed_version": "1.0.1"}
    files = {"patch": ("notes.txt", b"just some text\n", "text/plain")}
    path = f"/cases/{cases.case}/patches"
    refused = vendor.client.post(path, data=fields, files=files)
    assert refused.status_code == 403
    answered = vendor.client.post(path, data={**fields, "csrf_token": vendor.csrf}, files=files)
    assert answered.status_code == 400, answered.text
    assert "not a unified diff" in answered.text
    assert "<!doctype html>" in answered.text
    assert counts(cases.world)[:2] == before[:2]


def test_a_reporter_may_not_upload_a_patch(cases: CaseWorld, browser: BrowserFactory) -> None:
    reporter = browser(OWNER)
    before = counts(cases.world)
    response = upload(reporter, cases.case, cases.vuln, FIXING_PATCH.read_bytes())
    assert response.status_code == 403, response.text
    assert counts(cases.world) == before


# --- the advisory preview --------------------------------------------------------------------


def test_the_advisory_preview_is_marked_and_publishes_nothing(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    response = browser(GRANTED).client.get(f"/cases/{cases.case}/advisory")
    assert response.status_code == 200, response.text
    html = response.text
    assert "Preview: not published." in html
    assert cases.title in html
    assert cases.vuln in html
    assert f'<th scope="row">{GRANTED.name}</th>' in html  # the vendor's product row
    assert "Affected products and remediation" in html
    assert "Lab Alpha" in html  # credit to the finder
    with pytest.raises(NotFoundError):
        publish_flow.advisory_documents(cases.world.runtime, case_id=cases.case)


def test_the_preview_shows_scores_and_priority_signals(
    cases: CaseWorld, browser: BrowserFactory
) -> None:
    rt = cases.world.runtime
    before = browser(GRANTED).client.get(f"/cases/{cases.case}/advisory").text
    assert "no CVE id yet: no KEV or EPSS signal" in before
    assert "not scored yet" in before
    cve = "CVE-2099-0042"
    now = rt.clock.now()
    with rt.db.session() as session:
        session.add(
            KevRecord(
                cve=cve,
                vendor="Acme",
                product="chunk-reader",
                name="Chunk reader crash",
                date_added=now.date(),
                due_date=None,
                ransomware=False,
                imported_at=now,
            )
        )
        session.add(
            EpssRecord(cve=cve, epss=0.4321, percentile=0.987, score_date=None, imported_at=now)
        )
    case_flow.describe_vulnerability(
        rt,
        viewer=cases.world.viewers[COORDINATOR.key],
        case_id=cases.case,
        vuln_id=cases.vuln,
        cve=cve,
        cvss_v3="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    )
    html = browser(GRANTED).client.get(f"/cases/{cases.case}/advisory").text
    assert f"CISA KEV: <strong>listed</strong> ({cve})" in html
    assert f"EPSS: {cve} 43.2% (percentile 99)" in html
    assert "CVSS 3.1 7.5 High" in html


# --- cost ------------------------------------------------------------------------------------


def test_the_room_is_a_fixed_number_of_queries(cases: CaseWorld) -> None:
    rt = cases.world.runtime
    vendor = cases.world.viewers[GRANTED.key]
    with counted(rt) as before:
        case_room.room(rt, viewer=vendor, case_id=cases.case)
    for n in range(6):
        case_flow.post_message(
            rt, viewer=vendor, case_id=cases.case, body=f"note {n}", thread=PRODUCT
        )
    with counted(rt) as after:
        doc = case_room.room(rt, viewer=vendor, case_id=cases.case)
    assert len(doc["threads"][PRODUCT]) >= 6
    assert len(after) == len(before), after
