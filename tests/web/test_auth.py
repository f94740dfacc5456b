"""Signing in (token or password), the session cookie, refusals that do not say which part was
wrong, signing out, and sessions that end when their token, user, idle time or age does."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from clearinghouse.access.models import ApiToken, WebSession, WebUser
from clearinghouse.access.roles import Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.audit import service as audit_service
from clearinghouse.audit.models import AuditEvent
from clearinghouse.cli.main import app as cli_app
from clearinghouse.core.clock import FixedClock
from clearinghouse.pipeline import admin_flow
from clearinghouse.web import auth
from clearinghouse.web.app import create_app
from clearinghouse.web.pages import SESSION_COOKIE
from tests.web.conftest import ClientFactory, csrf_of, sign_in
from tests.web.world import COORDINATOR, OWNER, PASSWORD, USERNAME, World

REFUSAL = "Sign-in failed: the token, or the username and password, were not accepted."


def test_the_front_door_sends_strangers_to_sign_in(world: World, new_client: ClientFactory) -> None:
    client = new_client()
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    page = client.get("/triage", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/signin?next=%2Ftriage"


def test_the_sign_in_form_has_the_contracted_fields(
    world: World, new_client: ClientFactory
) -> None:
    page = new_client().get("/signin").text
    for fragment in (
        'id="token" name="token"',
        'id="username" name="username"',
        'id="password" name="password" type="password"',
        'id="signin-submit"',
        '<label for="token">',
        '<label for="username">',
        '<label for="password">',
        'name="csrf_token"',
    ):
        assert fragment in page
    assert page.count("<h1") == 1


def test_a_token_signs_in_with_a_strict_session_cookie(
    world: World, new_client: ClientFactory
) -> None:
    client = new_client()
    form = client.get("/signin")
    response = client.post(
        "/signin",
        data={"csrf_token": csrf_of(form.text), "token": world.token(OWNER)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/triage"
    cookie = _session_cookie(response.headers.get_list("set-cookie"))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain http (a loopback demo); https below
    page = client.get("/triage")
    assert page.status_code == 200
    assert 'id="whoami"' in page.text
    assert OWNER.name in page.text
    # the cookie is random and only its hash is stored
    value = cookie.split(";")[0].split("=", 1)[1]
    with world.runtime.db.session() as session:
        assert session.get(WebSession, value) is None
        assert session.get(WebSession, auth.session_id_of(value)) is not None


def _session_cookie(headers: list[str]) -> str:
    (cookie,) = [h for h in headers if h.startswith(f"{SESSION_COOKIE}=")]
    return cookie


def test_the_cookie_is_secure_over_https(world: World, new_client: ClientFactory) -> None:
    client = new_client("https://testserver")
    form = client.get("/signin")
    assert "secure" in form.headers["set-cookie"].lower()  # the sign-in CSRF cookie too
    response = client.post(
        "/signin",
        data={"csrf_token": csrf_of(form.text), "token": world.token(OWNER)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = _session_cookie(response.headers.get_list("set-cookie"))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "secure" in flags


def test_a_password_signs_in_and_the_audit_names_the_person(
    world: World, new_client: ClientFactory
) -> None:
    client = new_client()
    status, _ = sign_in(client, username=USERNAME.upper() + " ", password=PASSWORD)
    assert status == 303
    page = client.get("/triage")
    assert COORDINATOR.name in page.text
    assert f"{COORDINATOR.name}/analyst@{USERNAME}" in page.text  # whoami's title
    with world.runtime.db.session() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "web.signin")
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert event is not None
        assert event.actor == f"{COORDINATOR.name}/analyst@{USERNAME}"


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"token": "chk_not-a-real-token"}, id="unknown token"),
        pytest.param({"token": "garbage"}, id="malformed token"),
        pytest.param({"username": USERNAME, "password": "wrong password!!"}, id="wrong password"),
        pytest.param({"username": "nobody", "password": PASSWORD}, id="unknown user"),
    ],
)
def test_refusals_are_401_and_do_not_say_what_was_wrong(
    world: World, new_client: ClientFactory, fields: dict[str, str]
) -> None:
    client = new_client()
    form = client.get("/signin")
    response = client.post(
        "/signin", data={"csrf_token": csrf_of(form.text), **fields}, follow_redirects=False
    )
    assert response.status_code == 401
    assert REFUSAL in response.text
    assert not any(
        h.startswith(f"{SESSION_COOKIE}=") for h in response.headers.get_list("set-cookie")
    )
    for leak in ("unknown", "does not exist", "revoked", "malformed", "incorrect"):
        assert leak not in response.text.lower()
    assert 'id="token"' in response.text  # the form again, to try once more


def test_refused_sign_ins_are_audited(world: World, new_client: ClientFactory) -> None:
    before = _count(world, "web.signin_refused")
    status, _ = sign_in(new_client(), username=USERNAME, password="not the password")
    assert status == 401
    assert _count(world, "web.signin_refused") == before + 1
    with world.runtime.db.session() as session:
        assert audit_service.verify_chain(session).ok


def _count(world: World, action: str) -> int:
    with world.runtime.db.session() as session:
        return len(session.scalars(select(AuditEvent.seq).where(AuditEvent.action == action)).all())


def test_an_empty_form_is_a_400_with_the_form(world: World, new_client: ClientFactory) -> None:
    status, _ = sign_in(new_client(), token="  ")
    assert status == 400


def test_next_goes_back_to_the_page_asked_for_but_never_off_site(
    world: World, new_client: ClientFactory
) -> None:
    for asked, expected in (
        ("/models", "/models"),
        ("/triage?q=cobra&page=1", "/triage?q=cobra&page=1"),
        ("https://evil.example/", "/triage"),
        ("//evil.example/x", "/triage"),
        ("/\\evil.example", "/triage"),
        ("/signout", "/triage"),
    ):
        client = new_client()
        form = client.get("/signin", params={"next": asked})
        response = client.post(
            "/signin",
            data={"csrf_token": csrf_of(form.text), "token": world.token(OWNER), "next": asked},
            follow_redirects=False,
        )
        assert response.headers["location"] == expected, asked


def test_sign_out_revokes_the_session(world: World, new_client: ClientFactory) -> None:
    client = new_client()
    _, csrf = sign_in(client, token=world.token(OWNER))
    cookie = client.cookies[SESSION_COOKIE]
    response = client.post("/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    with world.runtime.db.session() as session:
        row = session.get(WebSession, auth.session_id_of(cookie))
        assert row is not None
        assert row.revoked_at is not None
    # the old cookie, replayed, opens nothing
    replay = new_client()
    replay.cookies.set(SESSION_COOKIE, cookie)
    assert replay.get("/triage", follow_redirects=False).status_code == 303


def test_revoking_the_token_ends_its_sessions(world: World, new_client: ClientFactory) -> None:
    token = admin_flow.create_token(
        world.runtime.db,
        viewer=LOCAL_ADMIN,
        organization=OWNER.name,
        role=Role.VIEWER,
        clock=world.runtime.clock,
    )
    client = new_client()
    assert sign_in(client, token=token["token"])[0] == 303
    assert client.get("/triage").status_code == 200
    with world.runtime.db.session() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token["id"])
            .values(revoked_at=world.runtime.clock.now())
        )
    assert client.get("/triage", follow_redirects=False).status_code == 303


def test_disabling_the_user_ends_its_sessions(world: World, new_client: ClientFactory) -> None:
    rt = world.runtime
    auth.create_user(
        rt.db,
        actor=LOCAL_ADMIN,
        username="bob",
        organization=OWNER.name,
        role=Role.ANALYST,
        password=PASSWORD,
        clock=rt.clock,
    )
    client = new_client()
    assert sign_in(client, username="bob", password=PASSWORD)[0] == 303
    assert client.get("/models").status_code == 200
    auth.disable_user(rt.db, actor=LOCAL_ADMIN, username="bob", clock=rt.clock)
    assert client.get("/models", follow_redirects=False).status_code == 303
    assert sign_in(new_client(), username="bob", password=PASSWORD)[0] == 401


def test_htmx_requests_without_a_session_are_told_to_sign_in(
    world: World, new_client: ClientFactory
) -> None:
    response = new_client().get("/triage/rows", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/signin?next=")


def test_sessions_end_when_idle_or_too_old(world: World) -> None:
    clock = FixedClock(dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC))
    rt = dataclasses.replace(world.runtime, clock=clock)
    with TestClient(create_app(rt)) as client:
        assert sign_in(client, token=world.token(OWNER))[0] == 303
        clock.advance(dt.timedelta(hours=7, minutes=59))
        assert client.get("/triage").status_code == 200  # and that request extends it
        clock.advance(dt.timedelta(hours=7, minutes=59))
        assert client.get("/triage").status_code == 200
        clock.advance(dt.timedelta(hours=8, minutes=1))
        assert client.get("/triage", follow_redirects=False).status_code == 303  # idle
    with TestClient(create_app(rt)) as client:
        assert sign_in(client, token=world.token(OWNER))[0] == 303
        for _ in range(4):  # active all along, but a session lives 24 hours at most
            clock.advance(dt.timedelta(hours=6, minutes=5))
            last = client.get("/triage", follow_redirects=False).status_code
        assert last == 303


def test_too_many_refusals_from_one_address_are_throttled(world: World) -> None:
    with TestClient(create_app(world.runtime)) as client:
        for _ in range(10):
            assert sign_in(client, token="chk_wrong")[0] == 401
        assert sign_in(client, token=world.token(OWNER))[0] == 429


def test_the_cli_adds_users_reading_the_password_from_stdin(world: World) -> None:
    data_dir = str(world.runtime.settings.data_dir)
    runner = CliRunner()
    added = runner.invoke(
        cli_app,
        [
            "--data-dir",
            data_dir,
            "--database-url",
            world.runtime.db.url,
            "web",
            "user",
            "add",
            "carol",
            "--org",
            OWNER.name,
            "--role",
            "viewer",
            "--json",
        ],
        input="a long enough passphrase\n",
    )
    assert added.exit_code == 0, added.output
    assert '"username": "carol"' in added.output
    assert "a long enough passphrase" not in added.output
    with world.runtime.db.session() as session:
        user = session.scalars(select(WebUser).where(WebUser.username == "carol")).one()
        assert user.password_hash.startswith("$argon2id$")
    short = runner.invoke(
        cli_app,
        [
            *("--data-dir", data_dir, "--database-url", world.runtime.db.url),
            *("web", "user", "add", "dave", "--org", OWNER.name, "--role", "viewer"),
        ],
        input="short\n",
    )
    assert short.exit_code != 0
