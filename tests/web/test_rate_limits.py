"""Rate limits on the two cheap-to-repeat entry points: web sign-in and the scanner lookup.

For each: the refusal is a 429 (problem+json from the API, a page from the web) with a
``Retry-After`` that a client can obey; the limit is per client (sign-in: per address; lookup:
per token, shared by the API and the web page), so another client is unaffected; and it lifts
by itself once the window has passed, with no restart. Times come from injected clocks, so
nothing here sleeps.

The API's bearer tokens have no failure throttle: they carry 256 random bits (``chk_`` +
``secrets.token_urlsafe(32)``), checked by one indexed lookup of their SHA-256, so guessing one
is infeasible however fast the guesses come (the sign-in form's passwords are what a throttle
protects).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from clearinghouse.access.roles import Role
from clearinghouse.api import scan_routes
from clearinghouse.core.clock import FixedClock
from clearinghouse.web.app import create_app
from tests.web.conftest import csrf_of, sign_in
from tests.web.world import COORDINATOR, OPERATOR, OWNER, PASSWORD, USERNAME, World

API = "/api/v1"
START = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def retry_after(response: Response) -> int:
    value = response.headers["retry-after"]
    assert value.isdigit(), value  # delta-seconds (RFC 9110 section 10.2.3)
    seconds = int(value)
    assert seconds >= 1
    return seconds


# --- web sign-in ------------------------------------------------------------------------------


@dataclasses.dataclass
class SignIn:
    """The whole app on the shared world with its own clock and throttle."""

    app: FastAPI
    clock: FixedClock
    clients: list[TestClient] = dataclasses.field(default_factory=list)

    def browser(self, address: str) -> TestClient:
        """A browser at ``address`` (the throttle's key)."""
        client = TestClient(self.app, client=(address, 50_000))
        self.clients.append(client)
        return client


@pytest.fixture
def signin(world: World) -> Iterator[SignIn]:
    clock = FixedClock(START)
    state = SignIn(app=create_app(dataclasses.replace(world.runtime, clock=clock)), clock=clock)
    yield state
    for client in state.clients:
        client.close()


def _refuse(client: TestClient, times: int) -> None:
    """Refused sign-ins: a wrong password first, then guessed tokens (both count alike;
    tokens skip argon2's deliberate cost, which keeps this test fast)."""
    status, _ = sign_in(client, username=USERNAME, password="not the password at all")
    assert status == 401
    for n in range(times - 1):
        status, _ = sign_in(client, token=f"chk_guess-{n}")
        assert status == 401


def test_refused_sign_ins_are_throttled_with_retry_after(signin: SignIn) -> None:
    attacker = signin.browser("203.0.113.9")
    _refuse(attacker, 10)
    form = attacker.get("/signin")
    assert form.status_code == 200
    refused = attacker.post(
        "/signin",
        data={"csrf_token": csrf_of(form.text), "username": USERNAME, "password": PASSWORD},
        follow_redirects=False,
    )
    # even the right password is refused while the address is throttled
    assert refused.status_code == 429
    assert "text/html" in refused.headers["content-type"]
    assert "Too many" in refused.text or "too many" in refused.text
    wait = retry_after(refused)
    assert 590 <= wait <= 600  # the oldest refusal leaves the ten-minute window


def test_the_throttle_is_per_address(signin: SignIn) -> None:
    _refuse(signin.browser("203.0.113.10"), 10)
    assert sign_in(signin.browser("203.0.113.10"), username=USERNAME, password=PASSWORD)[0] == 429
    neighbour = signin.browser("198.51.100.10")
    assert sign_in(neighbour, username=USERNAME, password=PASSWORD)[0] == 303


def test_the_throttle_lifts_when_the_window_passes(signin: SignIn) -> None:
    attacker = signin.browser("203.0.113.11")
    _refuse(attacker, 10)
    assert sign_in(attacker, username=USERNAME, password=PASSWORD)[0] == 429
    signin.clock.advance(dt.timedelta(seconds=599))
    assert sign_in(attacker, username=USERNAME, password=PASSWORD)[0] == 429
    signin.clock.advance(dt.timedelta(seconds=2))
    assert sign_in(attacker, username=USERNAME, password=PASSWORD)[0] == 303


def test_accepted_sign_ins_do_not_count(signin: SignIn, world: World) -> None:
    address = "203.0.113.12"  # an office behind one address, many people signing in
    for _ in range(12):
        assert sign_in(signin.browser(address), token=world.token(OWNER))[0] == 303
    _refuse(signin.browser(address), 9)
    assert sign_in(signin.browser(address), token=world.token(OWNER))[0] == 303


# --- the scanner lookup -----------------------------------------------------------------------


class Monotonic:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    clock = Monotonic()
    buckets = scan_routes._Buckets(rate=10.0, burst=50, now=clock)
    monkeypatch.setattr(scan_routes, "LOOKUPS", buckets)
    return clock


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.runtime)) as c:
        yield c


def _lookup(client: TestClient, token: str) -> Response:
    response: Response = client.get(
        f"{API}/deconfliction/lookup",
        params={"ip": "198.51.100.99"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response


def test_lookups_answer_429_with_retry_after(
    world: World, client: TestClient, lookups: Monotonic
) -> None:
    token = world.token(OWNER, Role.VIEWER)
    codes = [_lookup(client, token).status_code for _ in range(50)]
    assert codes == [200] * 50  # the burst
    refused = _lookup(client, token)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["status"] == 429
    assert problem["type"].endswith("/rate-limited")
    assert retry_after(refused) == 1  # one lookup comes back every 0.1 s


def test_lookup_budgets_are_per_token(world: World, client: TestClient, lookups: Monotonic) -> None:
    token = world.token(OWNER, Role.VIEWER)
    for _ in range(50):
        _lookup(client, token)
    assert _lookup(client, token).status_code == 429
    # another token, even of the same organization, has its own budget
    assert _lookup(client, world.token(OWNER, Role.ANALYST)).status_code == 200
    assert _lookup(client, world.token(OPERATOR, Role.VIEWER)).status_code == 200


def test_lookup_budgets_refill(world: World, client: TestClient, lookups: Monotonic) -> None:
    token = world.token(COORDINATOR, Role.VIEWER)
    for _ in range(50):
        _lookup(client, token)
    refused = _lookup(client, token)
    assert refused.status_code == 429
    lookups.now += 0.05  # half a lookup's worth: still refused
    assert _lookup(client, token).status_code == 429
    lookups.now += retry_after(refused)
    assert _lookup(client, token).status_code == 200
    lookups.now += 60  # a quiet minute refills the whole burst, no more
    assert [_lookup(client, token).status_code for _ in range(51)].count(200) == 50


def test_the_web_lookup_shares_the_tokens_budget(
    world: World, client: TestClient, lookups: Monotonic
) -> None:
    token = world.token(OPERATOR, Role.ANALYST)
    status, _ = sign_in(client, token=token)
    assert status == 303
    for _ in range(50):
        assert _lookup(client, token).status_code == 200
    page = client.get("/scans/lookup", params={"address": "198.51.100.99"})
    assert page.status_code == 429
    assert "text/html" in page.headers["content-type"]
    assert retry_after(page) >= 1
