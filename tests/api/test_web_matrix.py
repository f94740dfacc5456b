"""The web interface in the role x TLP matrix: every page and htmx endpoint, organization x role
(x TLP), through browsers signed in with the sign-in form.

The world is the matrix world the web tests share (``tests.web.world``: the API matrix's
organizations and rules, the owner's one record per TLP label shared with one vendor, a token
per organization and role, plus a model developer, an agency and an engagement), with what the
other pages need (``web_matrix_data``: a case, a scan campaign, authorizations), served by the
whole application (``web.app.create_app``, the API with the web interface). What each viewer
sees is compared with ``may_see``, written from the rules: the triage queue (page, htmx rows,
searches, verdict filter) lists a record's vulnerability exactly when the viewer may see it,
and its page answers 200 or the same 404 page as an id that names nothing.

Every other web route has a probe in ``ROUTE_PROBES`` that checks its role and organization
rules: pages answer 200 to those allowed and the 404 page of a missing record to the others;
unsafe methods are refused (403) without the page's CSRF token, refused for roles without the
right (403) and for organizations that may not see the record (404), and accepted for the
right role where that is cheap. ``test_every_web_route_has_a_probe`` enumerates the app's
``WebRoute`` routes, so a page added without a probe fails the suite.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from starlette.routing import BaseRoute

from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.tlp import Tlp
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import designation_flow, inventory_flow, read_flow, triage_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.vulns.models import Vulnerability
from clearinghouse.web.app import create_app
from clearinghouse.web.pages import WebRoute
from tests.api.web_matrix_data import Extras, build_extras
from tests.api.web_matrix_scans import SCAN_PROBES
from tests.web.conftest import csrf_of, sign_in
from tests.web.dashboard_data import cyclonedx
from tests.web.world import (
    AGENCY,
    COORDINATOR,
    DEVELOPER,
    GRANTED,
    OPERATOR,
    ORGS,
    OWNER,
    ROLES,
    TLPS,
    UNRELATED,
    WORDS,
    Org,
    World,
    build_world,
    engagement_with_nominee,
    may_see,
    native,
    submit,
)

GOVERNMENT = frozenset({OrgKind.COORDINATOR, OrgKind.AGENCY})
SUBMIT_ROLES = frozenset({Role.ADMIN, Role.ANALYST, Role.SUBMITTER})
MISSING_VULN = "CH-2099-99999"
MISSING_ENGAGEMENT = 999_999
MISSING_CASE = "CASE-2099-9999"
MISSING_ID = 999_999
# An upload carries its CSRF token in the header (htmx sends it) or, posted without
# JavaScript, as a field of the multipart body: with neither it is refused as a forgery.
MULTIPART_WITHOUT_TOKEN = (403,)

ROW = re.compile(r'<tr data-vuln="(CH-\d{4}-\d{5})"')
ENGAGEMENT_ROW = re.compile(r'<tr data-engagement="(\d+)"')


@dataclass(frozen=True, slots=True)
class Record:
    """One of the owner's records: its TLP label, vulnerability, a word of its title, its
    alias."""

    tlp: Tlp
    vuln: str
    word: str
    alias: str


@dataclass
class Browser:
    client: TestClient
    csrf: str


@dataclass
class Web:
    """The matrix world, the app serving it, and a signed-in browser per organization and role."""

    world: World
    extras: Extras
    app: FastAPI
    stack: contextlib.ExitStack
    browsers: dict[tuple[str, Role], Browser] = field(default_factory=dict)

    @property
    def runtime(self) -> Runtime:
        return self.world.runtime

    @property
    def engagement(self) -> int:
        return self.world.engagement

    def client(self) -> TestClient:
        """A fresh browser: no cookies."""
        return self.stack.enter_context(TestClient(self.app))

    def sign_in(self, org: Org, role: Role) -> Browser:
        client = self.client()
        status, csrf = sign_in(client, token=self.world.token(org, role))
        assert status == 303, f"{org.key}/{role} could not sign in"
        return Browser(client, csrf)

    def browser(self, org: Org, role: Role) -> Browser:
        """The signed-in browser of ``org``/``role``, shared by the reading tests."""
        key = (org.key, role)
        if key not in self.browsers:
            self.browsers[key] = self.sign_in(org, role)
        return self.browsers[key]

    def record(self, tlp: Tlp) -> Record:
        return Record(tlp, self.world.vulns[tlp], WORDS[tlp], self.extras.aliases[tlp])


def nominated_engagement(world: World, model: str) -> int:
    """A fresh engagement of DEVELOPER's ``model``: covered, its pre-release window open (only
    then are partners approved) and GRANTED nominated."""
    return engagement_with_nominee(world, model=model, window=True)


@pytest.fixture(scope="module")
def web(module_runtime: Runtime) -> Iterator[Web]:
    world = build_world(module_runtime)
    extras = build_extras(world)
    with contextlib.ExitStack() as stack:
        yield Web(world=world, extras=extras, app=create_app(module_runtime), stack=stack)


# --- the TLP matrix: the analyst's pages -----------------------------------------------------


def _listed(response: Response) -> set[str]:
    assert response.status_code == 200, response.text
    return set(ROW.findall(response.text))


def triage(web: Web, browser: Browser, record: Record) -> bool:
    return record.vuln in _listed(browser.client.get("/triage"))


def triage_rows(web: Web, browser: Browser, record: Record) -> bool:
    response = browser.client.get("/triage/rows", headers={"HX-Request": "true"})
    assert "<html" not in response.text  # a fragment, not a page
    return record.vuln in _listed(response)


def triage_search(web: Web, browser: Browser, record: Record) -> bool:
    listed = _listed(browser.client.get("/triage", params={"q": record.word}))
    assert listed <= {record.vuln}
    return bool(listed)


def triage_search_alias(web: Web, browser: Browser, record: Record) -> bool:
    listed = _listed(browser.client.get("/triage", params={"q": record.alias}))
    assert listed <= {record.vuln}
    return bool(listed)


def triage_search_id(web: Web, browser: Browser, record: Record) -> bool:
    listed = _listed(browser.client.get("/triage", params={"q": record.vuln.lower()}))
    assert listed <= {record.vuln}
    return bool(listed)


def triage_verdict(web: Web, browser: Browser, record: Record) -> bool:
    return record.vuln in _listed(
        browser.client.get("/triage/rows?verdict=reproduced", headers={"HX-Request": "true"})
    )


ERROR_PAGE = re.compile(
    r"<title>(.*?)</title>.*<h1>(.*?)</h1>\s*<p class=\"error-detail\">(.*?)</p>", re.S
)


def _normalized_404(response: Response, asked: str) -> tuple[str, ...]:
    """The 404 page's title, heading and message, with the id that was asked for blanked."""
    assert response.status_code == 404, response.text
    found = ERROR_PAGE.search(response.text)
    assert found is not None, response.text
    return tuple(re.sub(rf"\b{re.escape(asked)}\b", "ID", part) for part in found.groups())


def _same_404(client: TestClient, url: str, asked: str, missing: str) -> None:
    """``url`` answers exactly the 404 page of ``missing``, an id that names nothing."""
    response = client.get(url)
    absent = client.get(url.replace(asked, missing))
    assert _normalized_404(response, asked) == _normalized_404(absent, missing)


def vuln_page(web: Web, browser: Browser, record: Record) -> bool:
    response = browser.client.get(f"/vulns/{record.vuln}")
    if response.status_code == 200:
        assert record.vuln in response.text
        assert record.word in response.text
        return True
    _same_404(browser.client, f"/vulns/{record.vuln}", record.vuln, MISSING_VULN)
    assert record.word not in response.text
    assert record.alias not in response.text
    return False


TlpProbe = Callable[[Web, Browser, Record], bool]
TLP_PROBES: tuple[TlpProbe, ...] = (
    triage,
    triage_rows,
    triage_search,
    triage_search_alias,
    triage_search_id,
    triage_verdict,
    vuln_page,
)


@pytest.mark.parametrize("probe", TLP_PROBES, ids=lambda p: p.__name__)
@pytest.mark.parametrize("tlp", TLPS, ids=str)
@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", ORGS, ids=lambda o: o.key)
def test_page_visibility(web: Web, org: Org, role: Role, tlp: Tlp, probe: TlpProbe) -> None:
    seen = probe(web, web.browser(org, role), web.record(tlp))
    assert seen is may_see(org, tlp), f"{org.key}/{role} {probe.__name__} {tlp}"


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("org", ORGS, ids=lambda o: o.key)
def test_the_queue_lists_exactly_the_visible_records(web: Web, org: Org, role: Role) -> None:
    listed = _listed(web.browser(org, role).client.get("/triage"))
    # Only the world's one record per label: the write probes add fresh records of their own,
    # whichever order the tests run in.
    world_records = {web.record(tlp).vuln for tlp in TLPS}
    assert listed & world_records == {web.record(tlp).vuln for tlp in TLPS if may_see(org, tlp)}


# --- every other route: role and organization rules ------------------------------------------


def _signin_redirect(response: Response) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/signin")


def _everyone() -> Iterator[tuple[Org, Role]]:
    for org in ORGS:
        for role in ROLES:
            yield org, role


def _anonymous(web: Web, url: str, plain_goes_to: str | None = None) -> None:
    """An anonymous browser goes to the sign-in page (htmx: 401 with HX-Redirect); an htmx
    endpoint asked without htmx may send it to its page first (``plain_goes_to``)."""
    plain = web.client().get(url, follow_redirects=False)
    if plain_goes_to is None:
        _signin_redirect(plain)
    else:
        assert (plain.status_code, plain.headers["location"]) == (303, plain_goes_to)
    htmx = web.client().get(url, headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/signin")


def _signed_in_page(web: Web, url: str) -> None:
    """Anonymous browsers go to the sign-in page; every signed-in one reads it."""
    _anonymous(web, url)
    _everyone_reads(web, url)


def _everyone_reads(web: Web, url: str, headers: dict[str, str] | None = None) -> None:
    """Every signed-in organization and role reads it (what it lists is another test's)."""
    for org, role in _everyone():
        answer = web.browser(org, role).client.get(url, headers=headers)
        assert answer.status_code == 200, (org.key, role, answer.text)


def _readers_of(
    web: Web, url: str, allowed: Callable[[Org], bool], asked: str, missing: str
) -> None:
    """200 for every role of the organizations ``allowed``; for the others the same 404 page
    as ``missing`` (which names nothing)."""
    _anonymous(web, url)
    for org, role in _everyone():
        client = web.browser(org, role).client
        if allowed(org):
            answer = client.get(url)
            assert answer.status_code == 200, (org.key, role, answer.text)
        else:
            _same_404(client, url, asked, missing)


def _unsafe(
    web: Web,
    url: str,
    *,
    role_allowed: Callable[[Role], bool],
    org_allowed: Callable[[Org], bool],
    data: dict[str, str] | None = None,
    files: dict[str, tuple[str, bytes, str]] | None = None,
    refused_by_role_first: bool = True,
) -> None:
    """Without the page's CSRF token: 403 for everyone. With it: 403 for a role without the
    right, 404 for an organization that may not see the record (the role is asked first when
    ``refused_by_role_first``, else the record). Nothing is sent where it would be accepted."""
    for org, role in _everyone():
        browser = web.browser(org, role)
        forged = browser.client.post(url, data=data, files=files, follow_redirects=False)
        assert forged.status_code == 403, (org.key, role, "no CSRF token")
        if role_allowed(role) and org_allowed(org):
            continue
        signed = {**(data or {}), "csrf_token": browser.csrf}
        answer = browser.client.post(url, data=signed, files=files, follow_redirects=False)
        if role_allowed(role):
            expected = 404
        elif org_allowed(org) or refused_by_role_first:
            expected = 403
        else:
            expected = 404
        assert answer.status_code == expected, (org.key, role, answer.text)


def probe_home(web: Web) -> None:
    _signin_redirect(web.client().get("/", follow_redirects=False))
    for org, role in _everyone():
        answer = web.browser(org, role).client.get("/", follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/triage")


def probe_signin_form(web: Web) -> None:
    anonymous = web.client().get("/signin")
    assert anonymous.status_code == 200
    assert csrf_of(anonymous.text)
    for org, role in _everyone():
        answer = web.browser(org, role).client.get("/signin", follow_redirects=False)
        assert answer.status_code == 303


def probe_signin(web: Web) -> None:
    client = web.client()
    client.get("/signin")
    token = web.world.token(OWNER, Role.VIEWER)
    refused = client.post("/signin", data={"token": token}, follow_redirects=False)
    assert refused.status_code == 403
    assert "ch_session" not in client.cookies
    csrf = csrf_of(client.get("/signin").text)
    wrong = client.post("/signin", data={"csrf_token": csrf, "token": "x" * 40})
    assert wrong.status_code == 401
    # Every (organization, role) of the matrix signs in through this form (``Web.sign_in``).
    for org, role in _everyone():
        assert web.browser(org, role).csrf


def probe_signout(web: Web) -> None:
    for org, role in _everyone():
        browser = web.sign_in(org, role)
        refused = browser.client.post("/signout", follow_redirects=False)
        assert refused.status_code == 403
        assert browser.client.get("/triage").status_code == 200
        done = browser.client.post(
            "/signout", data={"csrf_token": browser.csrf}, follow_redirects=False
        )
        assert done.status_code == 303
        _signin_redirect(browser.client.get("/triage", follow_redirects=False))


def probe_triage(web: Web) -> None:
    _anonymous(web, "/triage")
    _everyone_reads(web, "/triage")  # what it lists: test_page_visibility


def probe_triage_rows(web: Web) -> None:
    _anonymous(web, "/triage/rows", plain_goes_to="/triage")
    _everyone_reads(web, "/triage/rows", headers={"HX-Request": "true"})


def probe_vuln(web: Web) -> None:
    vuln = web.record(Tlp.RED).vuln
    _readers_of(web, f"/vulns/{vuln}", lambda org: may_see(org, Tlp.RED), vuln, MISSING_VULN)
    for org, role in _everyone():  # the other labels: test_page_visibility[vuln_page]
        assert web.browser(org, role).client.get("/vulns/not-an-id").status_code == 404


def _engagement_side(org: Org) -> bool:
    return org == DEVELOPER or org.kind in GOVERNMENT


def probe_models(web: Web) -> None:
    _anonymous(web, "/models")
    for org, role in _everyone():
        response = web.browser(org, role).client.get("/models")
        assert response.status_code == 200
        listed = str(web.engagement) in ENGAGEMENT_ROW.findall(response.text)
        assert listed is _engagement_side(org), (org.key, role)


def probe_engagement(web: Web) -> None:
    url = f"/engagements/{web.engagement}"
    _readers_of(web, url, _engagement_side, str(web.engagement), str(MISSING_ENGAGEMENT))


def _partner_state(web: Web, engagement: int) -> dict[str, object]:
    doc = designation_flow.show_engagement(
        web.runtime, viewer=LOCAL_ADMIN, engagement_id=engagement
    )
    (partner,) = doc["partners"]
    keys = ("status", "developer_approved_at", "government_approved_at")
    return {key: partner[key] for key in keys}


def probe_approve_partner(web: Web) -> None:
    engagement = web.engagement
    url = f"/engagements/{engagement}/partners/{GRANTED.name}/approve"
    before = _partner_state(web, engagement)
    assert before["status"] == "nominated"
    _unsafe(web, url, role_allowed=SUBMIT_ROLES.__contains__, org_allowed=_engagement_side)
    assert _partner_state(web, engagement) == before, "a refusal changed nothing"
    # Accepted for each side's submitting roles, each on its own fresh engagement.
    for org, role, mark in (
        (DEVELOPER, Role.SUBMITTER, "developer_approved_at"),
        (AGENCY, Role.ANALYST, "government_approved_at"),
        (COORDINATOR, Role.ADMIN, "government_approved_at"),
    ):
        fresh = nominated_engagement(web.world, f"accept-{org.key}-{role}")
        browser = web.browser(org, role)
        answer = browser.client.post(
            f"/engagements/{fresh}/partners/{GRANTED.name}/approve",
            headers={"HX-Request": "true", "X-CSRF-Token": browser.csrf},
        )
        assert answer.status_code == 200, answer.text
        assert f'data-partner="{GRANTED.name}"' in answer.text
        assert _partner_state(web, fresh)[mark] is not None


# --- the vendor case room: coordinators see every case, participants theirs -------------------


def _in_case(web: Web) -> Callable[[Org], bool]:
    participants = web.extras.case_participants
    return lambda org: org.kind is OrgKind.COORDINATOR or org.name in participants


def probe_cases(web: Web) -> None:
    assert {OWNER.name, GRANTED.name} <= web.extras.case_participants
    assert UNRELATED.name not in web.extras.case_participants
    _anonymous(web, "/cases")
    for org, role in _everyone():
        response = web.browser(org, role).client.get("/cases")
        assert response.status_code == 200
        assert (web.extras.case in response.text) is _in_case(web)(org), (org.key, role)


def probe_case(web: Web) -> None:
    case = web.extras.case
    _readers_of(web, f"/cases/{case}", _in_case(web), case, MISSING_CASE)


def probe_case_advisory(web: Web) -> None:
    case = web.extras.case
    _readers_of(web, f"/cases/{case}/advisory", _in_case(web), case, MISSING_CASE)


def _case_post(web: Web, path: str, data: dict[str, str]) -> None:
    """A case write: 403 without CSRF; 404 outside the case whatever the role (the case is
    looked up first); 403 for the viewer role inside it."""
    _unsafe(
        web,
        f"/cases/{web.extras.case}{path}",
        role_allowed=SUBMIT_ROLES.__contains__,
        org_allowed=_in_case(web),
        data=data,
        refused_by_role_first=False,
    )


def probe_case_message(web: Web) -> None:
    _case_post(web, "/messages", {"body": "matrix probe", "thread": "case"})
    browser = web.browser(GRANTED, Role.SUBMITTER)
    accepted = browser.client.post(
        f"/cases/{web.extras.case}/messages",
        data={"body": "the vendor's matrix message", "csrf_token": browser.csrf},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    room = web.browser(COORDINATOR, Role.VIEWER).client.get(f"/cases/{web.extras.case}")
    assert "the vendor&#39;s matrix message" in room.text


def probe_case_status(web: Web) -> None:
    _case_post(web, "/statuses", {"vulnerability": web.record(Tlp.AMBER).vuln})


def _coordinators_only(web: Web, path: str, data: dict[str, str]) -> None:
    """Participants who are not coordinators are refused (403) whatever their role."""
    for org in (OWNER, GRANTED):
        browser = web.browser(org, Role.ADMIN)
        answer = browser.client.post(
            f"/cases/{web.extras.case}{path}", data={**data, "csrf_token": browser.csrf}
        )
        assert answer.status_code == 403, (org.key, answer.text)


def probe_case_status_approve(web: Web) -> None:
    data = {"vulnerability": web.record(Tlp.AMBER).vuln, "vendor": GRANTED.name}
    _case_post(web, "/statuses/approve", data)
    _coordinators_only(web, "/statuses/approve", data)


def probe_case_embargo(web: Web) -> None:
    _case_post(web, "/embargo", {"action": "extend"})
    _coordinators_only(web, "/embargo", {"action": "extend", "until": "2099-01-01T00:00"})


def probe_case_patch(web: Web) -> None:
    diff = b"--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n"
    for org, role in _everyone():
        browser = web.browser(org, role)
        url = f"/cases/{web.extras.case}/patches"
        files = {"patch": ("fix.diff", diff, "text/x-diff")}
        forged = browser.client.post(url, files=files, follow_redirects=False)
        assert forged.status_code in MULTIPART_WITHOUT_TOKEN, (org.key, role)
        if role in SUBMIT_ROLES and _in_case(web)(org):
            continue
        answer = browser.client.post(
            url, files=files, headers={"X-CSRF-Token": browser.csrf}, follow_redirects=False
        )
        expected = 404 if not _in_case(web)(org) else 403
        assert answer.status_code == expected, (org.key, role, answer.text)


# --- the operator dashboard: every organization its own ---------------------------------------


def probe_dashboard(web: Web) -> None:
    _anonymous(web, "/dashboard")
    _everyone_reads(web, "/dashboard")
    marker = f"authorization-{web.extras.authorization}"
    for org, role in _everyone():
        page = web.browser(org, role).client.get("/dashboard").text
        assert (marker in page) is (org == OPERATOR), (org.key, role)


def probe_dashboard_scans(web: Web) -> None:
    _anonymous(web, "/dashboard/scans")
    _everyone_reads(web, "/dashboard/scans", headers={"HX-Request": "true"})


def probe_kill_switch_confirm(web: Web) -> None:
    _anonymous(web, "/dashboard/kill-switch")
    for org, role in _everyone():
        answer = web.browser(org, role).client.get(
            "/dashboard/kill-switch", headers={"HX-Request": "true"}
        )
        assert answer.status_code == (200 if role in SUBMIT_ROLES else 403), (org.key, role)


def probe_kill_switch(web: Web) -> None:
    _unsafe(
        web,
        "/dashboard/kill-switch",
        role_allowed=SUBMIT_ROLES.__contains__,
        org_allowed=lambda org: True,
        data={"on": "off"},
    )
    browser = web.browser(UNRELATED, Role.SUBMITTER)
    for state in ("on", "off"):
        answer = browser.client.post(
            "/dashboard/kill-switch",
            data={"on": state, "confirm": "yes", "csrf_token": browser.csrf},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200, answer.text
        assert f'<span id="kill-switch-state">{state.upper()}</span>' in answer.text


def probe_revoke_authorization(web: Web) -> None:
    spare = web.extras.spare_authorization
    _unsafe(
        web,
        f"/dashboard/authorizations/{web.extras.authorization}/revoke",
        role_allowed=SUBMIT_ROLES.__contains__,
        org_allowed=lambda org: org == OPERATOR,
    )
    browser = web.browser(OPERATOR, Role.SUBMITTER)
    answer = browser.client.post(
        f"/dashboard/authorizations/{spare}/revoke",
        data={"csrf_token": browser.csrf},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200, answer.text
    missing = browser.client.post(
        f"/dashboard/authorizations/{MISSING_ID}/revoke", data={"csrf_token": browser.csrf}
    )
    assert missing.status_code == 404


def probe_notification_response(web: Web) -> None:
    # No notification in this world: every organization's answer to one that is not its own
    # (here: none exists) is 404; the role and the CSRF token are checked before.
    _unsafe(
        web,
        f"/dashboard/notifications/{MISSING_ID}/response",
        role_allowed=SUBMIT_ROLES.__contains__,
        org_allowed=lambda org: False,
        data={"response": "acknowledged"},
    )


def probe_upload_inventory(web: Web) -> None:
    sbom = cyclonedx("Matrix Product", ["pkg:pypi/requests@2.0.0"])
    files = {"sbom": ("sbom.json", sbom, "application/json")}
    for org, role in _everyone():
        browser = web.browser(org, role)
        forged = browser.client.post("/dashboard/inventories", files=files)
        assert forged.status_code in MULTIPART_WITHOUT_TOKEN, (org.key, role)
        if role not in SUBMIT_ROLES:
            answer = browser.client.post(
                "/dashboard/inventories", files=files, headers={"X-CSRF-Token": browser.csrf}
            )
            assert answer.status_code == 403, (org.key, role)
    browser = web.browser(OPERATOR, Role.SUBMITTER)
    accepted = browser.client.post(
        "/dashboard/inventories",
        files=files,
        headers={"X-CSRF-Token": browser.csrf, "HX-Request": "true"},
    )
    assert accepted.status_code == 200, accepted.text
    names = {
        row["product"]
        for row in inventory_flow.list_inventories(web.runtime, organization=OPERATOR.name)
    }
    assert "Matrix Product" in names


# --- the vulnerability page's merge and split: coordinator analysts, what they may see -------

TRIAGE_ROLES = frozenset({Role.ADMIN, Role.ANALYST})


def _regroups(org: Org, role: Role) -> bool:
    return org.kind is OrgKind.COORDINATOR and role in TRIAGE_ROLES


def _fresh_vulns(web: Web, word: str, count: int) -> list[tuple[str, int]]:
    """``count`` new AMBER vulnerabilities of the owner's: (id, finding), one finding each."""
    owner = web.world.viewers[OWNER.key]
    submission = submit(web.runtime, owner, native(word, findings=count), Tlp.AMBER)
    with web.runtime.db.session() as session:
        rows = session.execute(
            select(Vulnerability.public_id, Finding.id)
            .join(Finding, Finding.vulnerability_id == Vulnerability.id)
            .where(Finding.submission_id == submission)
            .order_by(Finding.id)
        ).all()
    return [(str(vuln), int(finding)) for vuln, finding in rows]


def _regroup_refusals(web: Web, path: str, data: dict[str, str]) -> None:
    """On the RED record (no coordinator sees it): 403 without the CSRF token; 403 for every
    role but a coordinator's analyst and admin (the role is asked first, as the API does); for
    those, the 404 page of a vulnerability that does not exist."""
    red = web.record(Tlp.RED).vuln
    url = f"/vulns/{red}{path}"
    for org, role in _everyone():
        browser = web.browser(org, role)
        forged = browser.client.post(url, data=data, follow_redirects=False)
        assert forged.status_code == 403, (org.key, role, "no CSRF token")
        signed = {**data, "csrf_token": browser.csrf}
        answer = browser.client.post(url, data=signed, follow_redirects=False)
        if _regroups(org, role):
            absent = browser.client.post(
                url.replace(red, MISSING_VULN), data=signed, follow_redirects=False
            )
            assert _normalized_404(answer, red) == _normalized_404(absent, MISSING_VULN)
        else:
            assert answer.status_code == 403, (org.key, role, answer.text)
    for tlp in TLPS:  # nothing was merged or split
        doc = read_flow.show_vuln(
            web.runtime.db,
            viewer=LOCAL_ADMIN,
            clock=web.runtime.clock,
            public_id=web.record(tlp).vuln,
        )
        assert (doc["id"], doc["findings"]) == (web.record(tlp).vuln, 1)


def probe_merge(web: Web) -> None:
    _regroup_refusals(web, "/merge", {"other": web.record(Tlp.AMBER).vuln})
    (into, _), (other, finding) = _fresh_vulns(web, "matrixmerge", 2)
    browser = web.browser(COORDINATOR, Role.ANALYST)
    accepted = browser.client.post(
        f"/vulns/{into}/merge",
        data={"other": other, "csrf_token": browser.csrf},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    page = browser.client.get(accepted.headers["location"]).text
    assert f'id="finding-{finding}"' in page


def probe_split(web: Web) -> None:
    _regroup_refusals(web, "/split", {f"finding-{web.world.findings[Tlp.RED]}": "on"})
    (into, _), (other, finding) = _fresh_vulns(web, "matrixsplit", 2)
    triage_flow.merge(
        web.runtime.db, viewer=LOCAL_ADMIN, into=into, other=other, clock=web.runtime.clock
    )
    browser = web.browser(COORDINATOR, Role.ADMIN)
    accepted = browser.client.post(
        f"/vulns/{into}/split",
        data={f"finding-{finding}": "on", "csrf_token": browser.csrf},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    new = accepted.headers["location"]
    assert into not in new
    assert f'id="finding-{finding}"' in browser.client.get(new).text


RouteProbe = Callable[[Web], None]
ROUTE_PROBES: dict[tuple[str, str], RouteProbe] = {
    ("GET", "/"): probe_home,
    ("GET", "/signin"): probe_signin_form,
    ("POST", "/signin"): probe_signin,
    ("POST", "/signout"): probe_signout,
    ("GET", "/triage"): probe_triage,
    ("GET", "/triage/rows"): probe_triage_rows,
    ("GET", "/vulns/{public_id}"): probe_vuln,
    ("POST", "/vulns/{public_id}/merge"): probe_merge,
    ("POST", "/vulns/{public_id}/split"): probe_split,
    ("GET", "/models"): probe_models,
    ("GET", "/engagements/{engagement_id}"): probe_engagement,
    ("POST", "/engagements/{engagement_id}/partners/{organization:path}/approve"): (
        probe_approve_partner
    ),
    ("GET", "/cases"): probe_cases,
    ("GET", "/cases/{case_id}"): probe_case,
    ("GET", "/cases/{case_id}/advisory"): probe_case_advisory,
    ("POST", "/cases/{case_id}/messages"): probe_case_message,
    ("POST", "/cases/{case_id}/statuses"): probe_case_status,
    ("POST", "/cases/{case_id}/statuses/approve"): probe_case_status_approve,
    ("POST", "/cases/{case_id}/embargo"): probe_case_embargo,
    ("POST", "/cases/{case_id}/patches"): probe_case_patch,
    ("GET", "/dashboard"): probe_dashboard,
    ("GET", "/dashboard/scans"): probe_dashboard_scans,
    ("GET", "/dashboard/kill-switch"): probe_kill_switch_confirm,
    ("POST", "/dashboard/kill-switch"): probe_kill_switch,
    ("POST", "/dashboard/authorizations/{authorization_id}/revoke"): probe_revoke_authorization,
    ("POST", "/dashboard/notifications/{notification_id}/response"): (probe_notification_response),
    ("POST", "/dashboard/inventories"): probe_upload_inventory,
    **SCAN_PROBES,  # the scanning pages' own seed and probes: web_matrix_scans.py
}


def _routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Every route with its full path; FastAPI keeps an included router as one entry whose
    ``original_router`` holds the routes (older versions copied them into the app)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _routes(included.routes, prefix + getattr(context, "prefix", ""))
        else:
            yield prefix + getattr(route, "path", ""), route


def web_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route served by ``WebRoute``."""
    return {
        (method, path)
        for path, route in _routes(app.routes)
        if isinstance(route, WebRoute)
        for method in route.methods or ()
        if method != "HEAD"
    }


@pytest.mark.parametrize("route", sorted(ROUTE_PROBES), ids=" ".join)
def test_route_rules(web: Web, route: tuple[str, str]) -> None:
    assert route in web_routes(web.app), f"{route} is probed but not served"
    ROUTE_PROBES[route](web)


def test_every_web_route_has_a_probe(web: Web) -> None:
    missing = sorted(web_routes(web.app) - set(ROUTE_PROBES))
    assert not missing, f"web routes without a probe in the matrix: {missing}"
