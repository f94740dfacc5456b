"""The triage queue and the vulnerability page under the same role x TLP rules as the API: what
a viewer may not see is absent from the queue and a 404 page, never a 403."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from clearinghouse.access.roles import Role
from clearinghouse.audit.models import AuditEvent
from clearinghouse.core.tlp import Tlp
from clearinghouse.dedup.models import Suggestion
from clearinghouse.intake.models import Finding, FindingContent
from clearinghouse.prioritization.models import EpssRecord, KevRecord
from clearinghouse.vulns.models import Vulnerability
from tests.web.conftest import BrowserFactory
from tests.web.world import (
    COORDINATOR,
    GRANTED,
    OPERATOR,
    OWNER,
    ROLES,
    TLPS,
    UNRELATED,
    WORDS,
    Org,
    World,
    may_see,
    native,
    submit,
)

VIEWERS = (OWNER, COORDINATOR, UNRELATED, OPERATOR, GRANTED)
ROW = re.compile(r'<tr data-vuln="(CH-\d{4}-\d{5})"')


def listed(html: str) -> set[str]:
    return set(ROW.findall(html))


@pytest.mark.parametrize("org", VIEWERS, ids=lambda o: o.key)
@pytest.mark.parametrize("tlp", TLPS, ids=lambda t: t.value)
def test_a_vulnerability_is_listed_and_shown_exactly_when_its_label_allows(
    world: World, browser: BrowserFactory, org: Org, tlp: Tlp
) -> None:
    client = browser(org).client
    vuln = world.vulns[tlp]
    queue = client.get("/triage")
    assert queue.status_code == 200
    page = client.get(f"/vulns/{vuln}")
    if may_see(org, tlp):
        assert vuln in listed(queue.text)
        assert page.status_code == 200
        assert f'<span class="vuln-id">{vuln}</span>' in page.text
        assert WORDS[tlp] in page.text
    else:
        assert vuln not in listed(queue.text)
        assert WORDS[tlp] not in queue.text
        assert page.status_code == 404
        assert WORDS[tlp] not in page.text
        # htmx, searching for it by its word or id, finds nothing either
        for q in (WORDS[tlp], vuln):
            rows = client.get("/triage/rows", params={"q": q}, headers={"HX-Request": "true"})
            assert listed(rows.text) == set()


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_every_role_reads_the_pages(world: World, browser: BrowserFactory, role: Role) -> None:
    client = browser(GRANTED, role).client
    assert listed(client.get("/triage").text) == set(world.vulns.values())
    assert client.get(f"/vulns/{world.vulns[Tlp.RED]}").status_code == 200
    assert client.get("/models").status_code == 200


def test_the_queue_shows_verdict_findings_finders_tlp_and_age(
    world: World, browser: BrowserFactory
) -> None:
    html = browser(COORDINATOR).client.get("/triage").text
    assert 'id="triage-table"' in html
    assert '<nav aria-label="Main">' in html
    assert 'href="/triage"' in html
    assert 'href="/models"' in html
    assert 'id="whoami"' in html
    row = _row(html, world.vulns[Tlp.AMBER])
    assert f'href="/vulns/{world.vulns[Tlp.AMBER]}"' in row
    assert "verdict-reproduced" in row
    assert "TLP:AMBER" in row
    assert OWNER.name in row
    assert "just now" in row or " min" in row
    assert "verdict-not_reproduced" in _row(html, world.vulns[Tlp.CLEAR])
    assert "verdict-pending" in _row(html, world.vulns[Tlp.GREEN])
    for tag in ('<th scope="col">ID</th>', '<label for="q">', '<label for="verdict">'):
        assert tag in html
    assert 'tabindex="0"' in html  # the rows are focusable (j/k move between them)


def _row(html: str, vuln: str) -> str:
    start = html.index(f'<tr data-vuln="{vuln}"')
    return html[start : html.index("</tr>", start)]


def test_filters_search_and_verdict(world: World, browser: BrowserFactory) -> None:
    client = browser(COORDINATOR).client
    assert listed(client.get("/triage", params={"q": WORDS[Tlp.GREEN]}).text) == {
        world.vulns[Tlp.GREEN]
    }
    assert listed(client.get("/triage", params={"q": world.vulns[Tlp.CLEAR].lower()}).text) == {
        world.vulns[Tlp.CLEAR]
    }
    assert listed(client.get("/triage", params={"q": "%"}).text) == set()  # no LIKE wildcards
    by_verdict = {
        verdict: listed(client.get("/triage", params={"verdict": verdict}).text)
        for verdict in ("reproduced", "pending", "not_reproduced", "inconclusive", "unvalidated")
    }
    assert by_verdict["reproduced"] == {world.vulns[Tlp.AMBER]}
    assert by_verdict["pending"] == {world.vulns[Tlp.GREEN]}
    assert by_verdict["not_reproduced"] == {world.vulns[Tlp.CLEAR]}
    assert by_verdict["inconclusive"] == set()
    assert by_verdict["unvalidated"] == {world.vulns[Tlp.AMBER_STRICT]}  # RED is not shown
    page = client.get("/triage", params={"q": "cobra", "verdict": "reproduced"}).text
    assert 'value="cobra"' in page
    assert '<option value="reproduced" selected>' in page
    # a verdict of a run on a finding the viewer may not see is not the viewer's business:
    # the operator sees the AMBER vulnerability nowhere, so no verdict of it either
    operator = browser(OPERATOR).client
    assert listed(operator.get("/triage", params={"verdict": "reproduced"}).text) == set()


def test_the_htmx_rows_endpoint(world: World, browser: BrowserFactory) -> None:
    client = browser(COORDINATOR).client
    response = client.get(
        "/triage/rows", params={"q": WORDS[Tlp.AMBER]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<table id="triage-table"')
    assert "<html" not in response.text
    assert 'id="triage-pager"' in response.text
    assert 'id="triage-status"' in response.text
    assert response.text.count('hx-swap-oob="true"') == 2
    assert response.headers["HX-Push-Url"] == f"/triage?q={WORDS[Tlp.AMBER]}"
    assert listed(response.text) == {world.vulns[Tlp.AMBER]}
    # opened directly, it sends the browser to the full page
    direct = client.get("/triage/rows", params={"q": "x"}, follow_redirects=False)
    assert direct.status_code == 303
    assert direct.headers["location"] == "/triage?q=x"


def test_the_filter_form_is_wired_for_htmx_and_works_without_it(
    world: World, browser: BrowserFactory
) -> None:
    html = browser(COORDINATOR).client.get("/triage").text
    form = html[html.index('<form id="triage-filters"') :]
    form = form[: form.index(">")]
    assert 'method="get" action="/triage"' in form
    assert 'hx-get="/triage/rows"' in form
    assert 'hx-target="#triage-table"' in form


def test_the_vulnerability_page(world: World, browser: BrowserFactory) -> None:
    vuln = world.vulns[Tlp.AMBER]
    html = browser(COORDINATOR).client.get(f"/vulns/{vuln}").text
    h1 = html[html.index("<h1") : html.index("</h1>")]
    assert vuln in h1
    assert "parse_cobra" in h1
    for section in ('id="findings"', 'id="validation"', 'id="aliases"'):
        assert section in html
    findings = html[html.index('id="findings"') : html.index('id="validation"')]
    assert OWNER.name in findings
    assert "web-test-scanner" in findings
    validation = html[html.index('id="validation"') : html.index('id="aliases"')]
    assert "reproduced" in validation
    assert "Heap-buffer-overflow WRITE 1" in validation
    assert "parse_tag &gt; read_header &gt; main" in validation
    assert "f" * 64 in validation
    assert "<details" in validation
    # the log is shown as text, never as markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in validation
    assert "<script>alert(1)" not in html
    aliases = html[html.index('id="aliases"') :]
    assert "CVE-2099-" in aliases


def test_restricted_reads_on_pages_are_audited(world: World, browser: BrowserFactory) -> None:
    client = browser(COORDINATOR).client
    before = _reads(world)
    client.get(f"/vulns/{world.vulns[Tlp.AMBER]}")
    client.get(f"/vulns/{world.vulns[Tlp.CLEAR]}")
    client.get("/triage")
    events = _reads(world)[len(before) :]
    assert [(e.object_type, e.object_id) for e in events] == [
        ("vulnerability", world.vulns[Tlp.AMBER]),
        ("validation_run", events[1].object_id),
        ("vulnerability", "2 records"),  # AMBER and AMBER+STRICT in the queue
    ]
    assert all(e.organization == COORDINATOR.name for e in events)


def _reads(world: World) -> list[AuditEvent]:
    with world.runtime.db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == "read").order_by(AuditEvent.seq)
            )
        )


# --- priority and suggested duplicates -----------------------------------------------------


def _row_of(html: str, vuln_id: str) -> str:
    start = html.index(f'<tr data-vuln="{vuln_id}"')
    return html[start : html.index("</tr>", start)]


def _fresh(world: World, word: str, tlp: Tlp, **options: Any) -> tuple[str, int, str]:
    """A new vulnerability of the owner: its public id, row id and CVE alias."""
    rt = world.runtime
    submission = submit(rt, world.viewers[OWNER.key], native(word, **options), tlp)
    with rt.db.session() as session:
        vuln = session.scalars(
            select(Vulnerability)
            .join(Finding, Finding.vulnerability_id == Vulnerability.id)
            .where(Finding.submission_id == submission)
        ).one()
        content = session.scalars(
            select(FindingContent)
            .join(Finding, Finding.content_digest == FindingContent.digest)
            .where(Finding.submission_id == submission)
        ).first()
        assert content is not None
        alias = next(a for a in orjson.loads(content.aliases) if a.startswith("CVE-"))
        return vuln.public_id, vuln.id, alias


def test_the_queue_says_which_to_look_at_first_and_why(
    world: World, browser: BrowserFactory
) -> None:
    """Known exploited beats everything; the reasons are written out beside the label."""
    public_id, _, alias = _fresh(world, "kevlisted", Tlp.CLEAR)
    plain_id, _, _ = _fresh(world, "unlisted", Tlp.CLEAR)
    now = world.runtime.clock.now()
    with world.runtime.db.session() as session:
        session.add(
            KevRecord(
                cve=alias,
                vendor="Example",
                product="parser",
                name="Example parser overflow",
                date_added=now.date(),
                due_date=None,
                ransomware=False,
                imported_at=now,
            )
        )
        session.add(
            EpssRecord(cve=alias, epss=0.6, percentile=0.991, score_date=None, imported_at=now)
        )
    page = browser(OPERATOR).client.get("/triage").text
    kev_row = _row_of(page, public_id)
    assert ">Urgent</span>" in kev_row
    assert "known exploited (CISA KEV); EPSS top 1%; high severity" in kev_row
    # the same report without a KEV or EPSS entry: its severity alone (high, not reproduced)
    assert ">Medium</span>" in _row_of(page, plain_id)
    assert "known exploited" not in _row_of(page, plain_id)


def test_suggested_duplicates_are_counted_only_when_the_other_side_is_visible(
    world: World, browser: BrowserFactory
) -> None:
    shown_id, shown, _ = _fresh(world, "twinone", Tlp.CLEAR)
    _, visible_twin, _ = _fresh(world, "twintwo", Tlp.CLEAR)
    _, hidden_twin, _ = _fresh(world, "twinred", Tlp.RED)
    now = world.runtime.clock.now()
    with world.runtime.db.session() as session:
        for other in (visible_twin, hidden_twin):
            session.add(
                Suggestion(
                    vulnerability_a=min(shown, other),
                    vulnerability_b=max(shown, other),
                    score=0.8,
                    reason="same file, similar words",
                    status="open",
                    created_at=now,
                )
            )
    owner_row = _row_of(browser(OWNER).client.get("/triage").text, shown_id)
    assert "2 suggested" in owner_row  # the owner sees its RED record too
    operator_row = _row_of(browser(OPERATOR).client.get("/triage").text, shown_id)
    assert "1 suggested" in operator_row  # the RED one is not even counted
