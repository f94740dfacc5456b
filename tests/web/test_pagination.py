"""The triage queue pages by 50 and costs a fixed number of SQL queries whatever the page holds
(no query per row), counted with a SQLAlchemy event listener."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import OrgKind, Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.tlp import Tlp
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import admin_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.web import auth
from tests.web.conftest import ClientFactory, sign_in
from tests.web.world import add_run, native, submit

ROW = re.compile(r'<tr data-vuln="(CH-\d{4}-\d{5})"')


@contextmanager
def counted(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(runtime.db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", record)


def _setup(runtime: Runtime) -> tuple[str, Any]:
    for name, kind in (("Coordination Center", OrgKind.COORDINATOR), ("Lab", OrgKind.AI_LAB)):
        admin_flow.create_organization(
            runtime.db, viewer=LOCAL_ADMIN, name=name, kind=kind, sector=None, clock=runtime.clock
        )
    token = admin_flow.create_token(
        runtime.db,
        viewer=LOCAL_ADMIN,
        organization="Coordination Center",
        role=Role.ANALYST,
        clock=runtime.clock,
    )["token"]
    with runtime.db.session() as session:
        lab = access_service.viewer_for_org(
            access_service.get_org_by_name_or_raise(session, name="Lab"), role=Role.SUBMITTER
        )
    return token, lab


def statements_of(runtime: Runtime, client: TestClient) -> list[str]:
    with counted(runtime) as statements:
        client.get("/triage")
    return statements


def _page_queries(runtime: Runtime, client: TestClient, url: str) -> tuple[int, list[str]]:
    with counted(runtime) as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements), ROW.findall(response.text)


def test_the_queue_costs_the_same_queries_for_3_rows_as_for_50(
    web_runtime: Runtime, new_client: ClientFactory
) -> None:
    token, lab = _setup(web_runtime)
    submit(web_runtime, lab, native("small", findings=3), Tlp.AMBER)
    client = new_client()
    assert sign_in(client, token=token)[0] == 303
    # The session's idle clock is written at most once a minute; keep it out of the count.
    client.app.state.web.policy = auth.SessionPolicy(touch_every_s=3600)  # type: ignore[attr-defined]
    small, rows = _page_queries(web_runtime, client, "/triage")
    assert len(rows) == 3
    submission = submit(web_runtime, lab, native("bulk", findings=57), Tlp.AMBER)
    with web_runtime.db.session() as session:
        finding_ids = list(
            session.scalars(select(Finding.id).where(Finding.submission_id == submission))
        )
    for index, finding in enumerate(finding_ids[:20]):
        add_run(web_runtime, finding=finding, verdict="reproduced" if index % 2 else None)
    full, rows = _page_queries(web_runtime, client, "/triage")
    assert len(rows) == 50
    assert full == small, ("a query per row crept in", statements_of(web_runtime, client))
    assert full <= 15, statements_of(web_runtime, client)
    filtered, _ = _page_queries(web_runtime, client, "/triage?verdict=reproduced&q=bulk")
    assert filtered == small
    rows_endpoint = client.get("/triage/rows", headers={"HX-Request": "true"})
    assert len(ROW.findall(rows_endpoint.text)) == 50

    # --- pagination: 60 rows, 50 per page, newest first -----------------------------------
    first = client.get("/triage").text
    assert 'rel="next" href="/triage?page=2"' in first
    assert 'rel="prev"' not in first
    assert "Showing 1–50 of 60" in first
    assert "Page 1 of 2" in first
    second = client.get("/triage?page=2").text
    second_rows = ROW.findall(second)
    assert len(second_rows) == 10
    assert 'rel="prev" href="/triage"' in second
    assert 'rel="next"' not in second
    assert "Showing 51–60 of 60" in second
    first_rows = ROW.findall(first)
    assert not set(first_rows) & set(second_rows)
    assert first_rows == sorted(first_rows, reverse=True)
    beyond = client.get("/triage?page=9").text
    assert ROW.findall(beyond) == []
    assert "Page 9 is past the end: 60 in 2 pages" in beyond
    assert 'href="/triage?page=2">Last page</a>' in beyond
    filtered_page = client.get("/triage?q=bulk&verdict=reproduced").text
    assert len(ROW.findall(filtered_page)) == 10
    assert "Page 1 of 1" in filtered_page
    two = client.get("/triage/rows?q=bulk&page=2", headers={"HX-Request": "true"})
    assert 'rel="prev" href="/triage?q=bulk"' in two.text
    assert two.headers["HX-Push-Url"] == "/triage?q=bulk&page=2"
