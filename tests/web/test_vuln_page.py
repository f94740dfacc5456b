"""The vulnerability page's analyst actions and history: merge and split (the API's roles, its
404 for what the viewer may not see, a refusal named beside its form), the timeline in time
order, and the exposure by sector, shown to coordinators only."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import orjson
import pytest
from httpx import Response
from sqlalchemy import select

from clearinghouse.access.roles import Role
from clearinghouse.core.tlp import Tlp
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import case_flow, inventory_flow
from clearinghouse.vulns.models import Vulnerability
from clearinghouse.web import auth
from tests.web.conftest import BrowserFactory
from tests.web.dashboard_data import cyclonedx
from tests.web.test_pagination import counted
from tests.web.world import COORDINATOR, OPERATOR, OWNER, UNRELATED, Org, World, native, submit

PURL = "pkg:pypi/vulnpage-imagelib@3.1.0"
TIME = re.compile(r'<time datetime="([^"]+)">')
KIND = re.compile(r'data-kind="([a-z]+)"')


@dataclass(frozen=True)
class Pages:
    """The records this module adds to the shared web world."""

    exposed: str  # CLEAR, names PURL, in a case; the hospital's inventory holds PURL
    case: str


def _vulns_of(world: World, submission: int) -> list[tuple[str, int]]:
    with world.runtime.db.session() as session:
        rows = session.execute(
            select(Vulnerability.public_id, Finding.id)
            .join(Finding, Finding.vulnerability_id == Vulnerability.id)
            .where(Finding.submission_id == submission)
            .order_by(Finding.id)
        ).all()
    return [(str(v), int(f)) for v, f in rows]


def fresh(world: World, word: str, *, findings: int = 1, tlp: Tlp = Tlp.AMBER) -> list[str]:
    """New vulnerabilities of the owner's (one per finding), shared with nobody else."""
    submission = submit(
        world.runtime, world.viewers[OWNER.key], native(word, findings=findings), tlp
    )
    return [vuln for vuln, _ in _vulns_of(world, submission)]


def findings_of(world: World, vuln: str) -> list[int]:
    with world.runtime.db.session() as session:
        return list(
            session.scalars(
                select(Finding.id)
                .join(Vulnerability, Vulnerability.id == Finding.vulnerability_id)
                .where(Vulnerability.public_id == vuln)
                .order_by(Finding.id)
            )
        )


@pytest.fixture(scope="module")
def pages(world: World) -> Pages:
    rt = world.runtime
    document = orjson.dumps(
        {
            "format": "clearinghouse-findings",
            "version": "1.0",
            "findings": [
                {
                    "target": PURL,
                    "title": "Out-of-bounds read in vulnpage-imagelib's decoder",
                    "provenance": {"tool": "vuln-page-agent"},
                }
            ],
        }
    )
    ((exposed, _),) = _vulns_of(world, submit(rt, world.viewers[OWNER.key], document, Tlp.CLEAR))
    inventory_flow.import_inventory(
        rt,
        viewer=world.viewers[OPERATOR.key],
        organization=OPERATOR.name,
        chunks=[cyclonedx("Radiology Suite", [PURL])],
    )
    case = case_flow.open_case(
        rt, viewer=world.viewers[COORDINATOR.key], vuln_ids=[exposed], allow_unvalidated=True
    )
    return Pages(exposed=exposed, case=str(case["id"]))


def post(
    browser: BrowserFactory, url: str, data: dict[str, str], *, role: Role = Role.ANALYST
) -> Response:
    signed = browser(COORDINATOR, role)
    response: Response = signed.client.post(
        url, data={**data, "csrf_token": signed.csrf}, follow_redirects=False
    )
    return response


def section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}"')
    return html[start : html.index("</section>", start)]


# --- merge -----------------------------------------------------------------------------------


def test_a_coordinator_analyst_merges_another_vulnerability_into_this_one(
    world: World, browser: BrowserFactory
) -> None:
    into, other = fresh(world, "mergeok", findings=2)
    moved = findings_of(world, other)
    page = browser(COORDINATOR).client.get(f"/vulns/{into}").text
    assert f'action="/vulns/{into}/merge"' in page
    assert 'name="csrf_token"' in page
    answer = post(browser, f"/vulns/{into}/merge", {"other": other.lower()})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/vulns/{into}#timeline"
    assert findings_of(world, into)[-len(moved) :] == moved
    merged = browser(COORDINATOR).client.get(f"/vulns/{into}").text
    assert "parse_mergeok_1" in section(merged, "findings")
    assert f"Merged {other} into this by {COORDINATOR.name}" in section(merged, "timeline")
    # the merged id leads to the survivor
    assert (
        f"{other} was merged into {into}" in browser(COORDINATOR).client.get(f"/vulns/{other}").text
    )


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SUBMITTER])
def test_merge_is_refused_without_the_triage_role(
    world: World, browser: BrowserFactory, role: Role
) -> None:
    into, other = fresh(world, f"mergerole{role.value}", findings=2)
    page = browser(COORDINATOR, role).client.get(f"/vulns/{into}").text
    assert 'id="merge-form"' not in page
    assert "split-form" not in page
    answer = post(browser, f"/vulns/{into}/merge", {"other": other}, role=role)
    assert answer.status_code == 403
    assert findings_of(world, other), "nothing was merged"


def test_merge_is_refused_for_analysts_outside_the_coordinator(
    world: World, browser: BrowserFactory
) -> None:
    into, other = fresh(world, "mergeowner", findings=2)
    owner = browser(OWNER)
    assert 'id="merge-form"' not in owner.client.get(f"/vulns/{into}").text
    answer = owner.client.post(
        f"/vulns/{into}/merge", data={"other": other, "csrf_token": owner.csrf}
    )
    assert answer.status_code == 403
    assert findings_of(world, other)


def test_merge_without_the_csrf_token_is_refused(world: World, browser: BrowserFactory) -> None:
    into, other = fresh(world, "mergecsrf", findings=2)
    answer = browser(COORDINATOR).client.post(f"/vulns/{into}/merge", data={"other": other})
    assert answer.status_code == 403
    assert findings_of(world, other)


@pytest.mark.parametrize(
    ("other", "status", "message"),
    [
        ("CH-2099-99999", 404, "other: no vulnerability CH-2099-99999 that you may see"),
        ("not an id", 400, "other: &#39;not an id&#39; is not a vulnerability id"),
        ("", 400, "other: enter the id of the vulnerability"),
        ("SELF", 400, "cannot be merged into itself"),
    ],
    ids=["unknown", "malformed", "empty", "itself"],
)
def test_merge_errors_are_named_beside_the_form(
    world: World, browser: BrowserFactory, other: str, status: int, message: str
) -> None:
    (into,) = fresh(world, f"mergeerr{status}{len(other)}")
    answer = post(browser, f"/vulns/{into}/merge", {"other": into if other == "SELF" else other})
    assert answer.status_code == status, answer.text
    error = answer.text[answer.text.index('id="merge-error"') :]
    assert message in error[: error.index("</p>")]
    assert 'aria-invalid="true"' in answer.text
    assert f'<span class="vuln-id">{into}</span>' in answer.text  # the page, with the form


def test_a_vulnerability_the_analyst_may_not_see_is_not_merged_nor_named(
    world: World, browser: BrowserFactory
) -> None:
    (into,) = fresh(world, "mergevisible")
    hidden = world.vulns[Tlp.RED]  # shared with the vendor, not with coordinators
    answer = post(browser, f"/vulns/{into}/merge", {"other": hidden})
    assert answer.status_code == 404
    assert f"other: no vulnerability {hidden} that you may see" in answer.text
    # into a hidden one: the 404 page of a vulnerability that does not exist
    refused = post(browser, f"/vulns/{hidden}/merge", {"other": into})
    missing = post(browser, "/vulns/CH-2099-99999/merge", {"other": into})
    assert refused.status_code == missing.status_code == 404
    assert "merge-form" not in refused.text
    assert refused.text.replace(hidden, "ID") == missing.text.replace("CH-2099-99999", "ID")
    assert findings_of(world, into)
    assert findings_of(world, hidden)


# --- split -----------------------------------------------------------------------------------


def test_split_moves_the_ticked_findings_to_a_new_vulnerability(
    world: World, browser: BrowserFactory
) -> None:
    into, second, third = fresh(world, "splitok", findings=3)
    for other in (second, third):
        assert post(browser, f"/vulns/{into}/merge", {"other": other}).status_code == 303
    kept, *moved = findings_of(world, into)
    page = browser(COORDINATOR).client.get(f"/vulns/{into}").text
    assert f'name="finding-{kept}"' in page
    assert 'form="split-form"' in page
    answer = post(browser, f"/vulns/{into}/split", {f"finding-{f}": "on" for f in moved})
    assert answer.status_code == 303, answer.text
    new = answer.headers["location"].removeprefix("/vulns/").removesuffix("#timeline")
    assert new != into
    assert findings_of(world, new) == moved
    assert findings_of(world, into) == [kept]
    html = browser(COORDINATOR).client.get(f"/vulns/{new}").text
    assert "parse_splitok_1" in section(html, "findings")
    assert f"Split off from {into} by {COORDINATOR.name}" in section(html, "timeline")
    before = browser(COORDINATOR).client.get(f"/vulns/{into}").text
    assert f"2 finding(s) split off into {new}" in section(before, "timeline")


@pytest.mark.parametrize("which", ["none", "all"])
def test_split_needs_some_but_not_every_finding(
    world: World, browser: BrowserFactory, which: str
) -> None:
    into, other = fresh(world, f"spliterr{which}", findings=2)
    assert post(browser, f"/vulns/{into}/merge", {"other": other}).status_code == 303
    members = findings_of(world, into)
    ticked = {} if which == "none" else {f"finding-{f}": "on" for f in members}
    answer = post(browser, f"/vulns/{into}/split", ticked)
    assert answer.status_code == 400, answer.text
    error = answer.text[answer.text.index('id="split-error"') :]
    expected = (
        "findings: tick at least one" if which == "none" else "at least one finding must stay"
    )
    assert expected in error[: error.index("</p>")]
    assert findings_of(world, into) == members


def test_split_is_refused_for_the_viewer_role_and_a_foreign_finding(
    world: World, browser: BrowserFactory
) -> None:
    into, other = fresh(world, "splitrefused", findings=2)
    assert post(browser, f"/vulns/{into}/merge", {"other": other}).status_code == 303
    members = findings_of(world, into)
    ticked = {f"finding-{members[0]}": "on"}
    assert post(browser, f"/vulns/{into}/split", ticked, role=Role.VIEWER).status_code == 403
    foreign = {f"finding-{world.findings[Tlp.CLEAR]}": "on"}
    refused = post(browser, f"/vulns/{into}/split", foreign)
    assert refused.status_code == 404
    error = refused.text[refused.text.index('id="split-error"') :]
    assert f"finding {world.findings[Tlp.CLEAR]} is not part of {into}" in error
    assert findings_of(world, into) == members


# --- timeline --------------------------------------------------------------------------------


def test_the_timeline_lists_reports_runs_regroupings_and_cases_in_time_order(
    world: World, browser: BrowserFactory, pages: Pages
) -> None:
    html = browser(COORDINATOR).client.get(f"/vulns/{world.vulns[Tlp.AMBER]}").text
    timeline = section(html, "timeline")
    kinds = KIND.findall(timeline)
    assert kinds == ["reported", "validation", "validation"], timeline
    assert "Validation run" in timeline
    assert "finished: reproduced" in timeline
    times = [dt.datetime.fromisoformat(t) for t in TIME.findall(timeline)]
    assert times == sorted(times)

    into, other = fresh(world, "timeline", findings=2)
    assert post(browser, f"/vulns/{into}/merge", {"other": other}).status_code == 303
    moved = findings_of(world, into)[-1]
    split = post(browser, f"/vulns/{into}/split", {f"finding-{moved}": "on"})
    assert split.status_code == 303
    timeline = section(browser(COORDINATOR).client.get(f"/vulns/{into}").text, "timeline")
    # the merged finding was split off again: only the first report remains here
    assert KIND.findall(timeline) == ["reported", "merge", "split"], timeline
    times = [dt.datetime.fromisoformat(t) for t in TIME.findall(timeline)]
    assert times == sorted(times)

    case_page = section(browser(COORDINATOR).client.get(f"/vulns/{pages.exposed}").text, "timeline")
    assert KIND.findall(case_page) == ["reported", "case"]
    assert f'<a href="/cases/{pages.case}">' in case_page


def test_a_case_is_mentioned_only_to_those_who_may_see_it(
    world: World, browser: BrowserFactory, pages: Pages
) -> None:
    # the reporter takes part in the case; an organization that merely sees the CLEAR
    # vulnerability does not learn that a case exists
    assert pages.case in section(
        browser(OWNER).client.get(f"/vulns/{pages.exposed}").text, "timeline"
    )
    outsider = browser(UNRELATED).client.get(f"/vulns/{pages.exposed}")
    assert outsider.status_code == 200
    assert pages.case not in outsider.text
    assert 'data-kind="case"' not in outsider.text


def test_a_merge_names_another_vulnerability_only_if_the_viewer_may_see_it(
    world: World, browser: BrowserFactory
) -> None:
    (into,) = fresh(world, "namedclear", tlp=Tlp.CLEAR)
    (other,) = fresh(world, "namedamber", tlp=Tlp.AMBER)
    assert post(browser, f"/vulns/{into}/merge", {"other": other}).status_code == 303
    # the outsider sees the CLEAR finding, not the AMBER one now merged into it
    page = browser(UNRELATED).client.get(f"/vulns/{into}").text
    timeline = section(page, "timeline")
    assert "Merged" in timeline
    assert other in timeline  # a merged id resolves to this page, which the outsider reads
    assert "parse_namedamber" not in page


# --- exposure --------------------------------------------------------------------------------


def test_exposure_by_sector_is_shown_to_coordinators(
    world: World, browser: BrowserFactory, pages: Pages
) -> None:
    for role in (Role.ANALYST, Role.VIEWER):
        html = browser(COORDINATOR, role).client.get(f"/vulns/{pages.exposed}").text
        exposure = section(html, "exposure")
        assert "<caption>" in exposure
        row = exposure[exposure.index('data-sector="healthcare"') :]
        row = row[: row.index("</tr>")]
        assert '<td class="num">1</td>' in row
        assert OPERATOR.name in row
    # a vulnerability naming no package: said plainly, no error
    html = browser(COORDINATOR).client.get(f"/vulns/{world.vulns[Tlp.AMBER]}").text
    assert "Not available" in section(html, "exposure")


@pytest.mark.parametrize("org", [OWNER, UNRELATED, OPERATOR], ids=lambda o: o.key)
def test_exposure_is_absent_for_everyone_else(
    world: World, browser: BrowserFactory, pages: Pages, org: Org
) -> None:
    html = browser(org, Role.ADMIN).client.get(f"/vulns/{pages.exposed}").text
    assert 'id="exposure"' not in html
    assert "Exposure" not in html
    assert "Radiology Suite" not in html


def test_the_page_costs_the_same_queries_with_more_findings_and_history(
    world: World, browser: BrowserFactory
) -> None:
    client = browser(COORDINATOR).client
    # The session's idle clock is written at most once a minute; keep it out of the count.
    client.app.state.web.policy = auth.SessionPolicy(touch_every_s=3600)  # type: ignore[attr-defined]
    (small,) = fresh(world, "costsmall")
    client.get(f"/vulns/{small}")
    with counted(world.runtime) as few:
        assert client.get(f"/vulns/{small}").status_code == 200
    big, *others = fresh(world, "costbig", findings=4)
    for other in others:
        assert post(browser, f"/vulns/{big}/merge", {"other": other}).status_code == 303
    moved = findings_of(world, big)[-1]
    assert post(browser, f"/vulns/{big}/split", {f"finding-{moved}": "on"}).status_code == 303
    client.get(f"/vulns/{big}")
    with counted(world.runtime) as many:
        assert client.get(f"/vulns/{big}").status_code == 200
    assert len(many) == len(few), (few, many)
