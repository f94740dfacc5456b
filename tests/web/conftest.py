"""Web fixtures: one populated world per test module, and signed-in browsers (TestClients that
keep their cookies) made on demand.

The world is built once per module (``scope="module"``) because most tests only read it;
tests that change it make their own records. On PostgreSQL the schema is reset as
``tests/conftest.py`` does, so a module using ``world`` must not also use ``runtime``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from clearinghouse.access.roles import Role
from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.web.app import create_app
from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.web.world import Org, World, build_world

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def csrf_of(html: str) -> str:
    found = CSRF_META.search(html)
    assert found is not None, "every page carries <meta name=csrf-token>"
    return found.group(1)


@dataclass
class Browser:
    """A TestClient with a session: ``csrf`` is the token its pages carry."""

    client: TestClient
    csrf: str = ""


def sign_in(client: TestClient, **fields: str) -> tuple[int, str]:
    """Fill and send the sign-in form: (status of the POST, CSRF token of the next page)."""
    form = client.get("/signin")
    assert form.status_code == 200, form.text
    response = client.post(
        "/signin", data={"csrf_token": csrf_of(form.text), **fields}, follow_redirects=False
    )
    if response.status_code != 303:
        return response.status_code, ""
    page = client.get(response.headers["location"])
    return response.status_code, csrf_of(page.text)


@pytest.fixture(scope="module")
def web_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    settings = Settings(data_dir=tmp_path_factory.mktemp("web") / "data", database_url=POSTGRES_URL)
    rt = Runtime.from_settings(settings)
    rt.ensure_schema()
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def world(web_runtime: Runtime) -> World:
    return build_world(web_runtime)


ClientFactory = Callable[..., TestClient]


@pytest.fixture(scope="module")
def new_client(web_runtime: Runtime) -> Iterator[ClientFactory]:
    """``new_client()`` -> a fresh browser (no cookies) on one shared app."""
    app = create_app(web_runtime)
    with contextlib.ExitStack() as stack:

        def make(base_url: str = "http://testserver") -> TestClient:
            return stack.enter_context(TestClient(app, base_url=base_url))

        yield make


BrowserFactory = Callable[..., Browser]


@pytest.fixture(scope="module")
def browser(world: World, new_client: ClientFactory) -> BrowserFactory:
    """``browser(OWNER)`` -> a browser signed in with that organization's token (cached per
    organization and role: reading tests share them)."""
    cache: dict[tuple[str, Role], Browser] = {}

    def make(org: Org, role: Role = Role.ANALYST, *, fresh: bool = False) -> Browser:
        key = (org.key, role)
        if fresh or key not in cache:
            client = new_client()
            status, csrf = sign_in(client, token=world.token(org, role))
            assert status == 303
            made = Browser(client=client, csrf=csrf)
            if fresh:
                return made
            cache[key] = made
        return cache[key]

    return make
