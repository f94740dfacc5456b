"""The strict Content-Security-Policy and security headers on every web response, no inline
script or style anywhere, CSRF refusals, and the API left as it was."""

from __future__ import annotations

import re

import pytest

from clearinghouse.core.tlp import Tlp
from clearinghouse.pipeline import queries
from clearinghouse.web.pages import SESSION_COOKIE
from clearinghouse.web.security import CONTENT_SECURITY_POLICY, safe_next
from tests.web.conftest import BrowserFactory, ClientFactory, csrf_of
from tests.web.world import COORDINATOR, GRANTED, OWNER, World

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def test_the_policy_is_the_contracted_one() -> None:
    assert CONTENT_SECURITY_POLICY == CSP


def _assert_headers(headers: object, *, page: bool) -> None:
    get = headers.get  # type: ignore[attr-defined]
    assert get("content-security-policy") == CSP
    assert get("x-content-type-options") == "nosniff"
    assert get("referrer-policy") == "same-origin"
    assert get("x-frame-options") == "DENY"
    if page:
        assert get("cache-control") == "no-store"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def _assert_no_inline_code(html: str) -> None:
    assert not INLINE_SCRIPT.search(html), "an inline <script>"
    assert not INLINE_STYLE.search(html), "an inline style or event handler"
    assert "javascript:" not in html.lower()


def test_every_page_carries_the_headers_and_no_inline_code(
    world: World, browser: BrowserFactory, new_client: ClientFactory
) -> None:
    signed = browser(COORDINATOR).client
    anonymous = new_client()
    pages = [
        (anonymous, "/signin", 200),
        (anonymous, "/triage", 303),
        (anonymous, "/", 303),
        (signed, "/", 303),
        (signed, "/triage", 200),
        (signed, "/triage?q=cobra&verdict=reproduced", 200),
        (signed, f"/vulns/{world.vulns[Tlp.AMBER]}", 200),
        (signed, "/vulns/CH-1999-99999", 404),
        (signed, "/vulns/not-an-id", 404),
        (signed, "/models", 200),
        (signed, f"/engagements/{world.engagement}", 200),
        (signed, "/engagements/999999", 404),
        (signed, "/engagements/not-a-number", 400),
        (signed, "/triage?page=0", 400),
    ]
    for client, path, status in pages:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == status, (path, response.text[:300])
        _assert_headers(response.headers, page=True)
        if response.headers.get("content-type", "").startswith("text/html"):
            _assert_no_inline_code(response.text)
            if status != 303:
                assert response.text.count("<h1") == 1, path
                assert "<main" in response.text
                assert 'name="csrf-token"' in response.text
    rows = signed.get("/triage/rows", headers={"HX-Request": "true"})
    _assert_headers(rows.headers, page=True)
    _assert_no_inline_code(rows.text)
    for asset in ("/static/app.css", "/static/app.js", "/static/htmx.min.js"):
        response = anonymous.get(asset)
        assert response.status_code == 200, asset
        _assert_headers(response.headers, page=False)


def test_the_api_keeps_its_own_responses(world: World, new_client: ClientFactory) -> None:
    response = new_client().get("/api/v1/vulns")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "content-security-policy" not in response.headers
    docs = new_client().get("/openapi.json").json()
    assert not any(path in docs["paths"] for path in ("/signin", "/triage", "/models"))


def test_unsafe_requests_without_the_token_are_refused(
    world: World, browser: BrowserFactory, new_client: ClientFactory
) -> None:
    signed = browser(GRANTED, fresh=True)
    for data, headers in (
        ({}, {}),
        ({"csrf_token": "forged"}, {}),
        ({}, {"X-CSRF-Token": "forged"}),
        ({"csrf_token": signed.csrf}, {"Sec-Fetch-Site": "cross-site"}),
    ):
        response = signed.client.post(
            "/signout", data=data, headers=headers, follow_redirects=False
        )
        assert response.status_code == 403, (data, headers)
        assert "The form has expired" in response.text
        _assert_headers(response.headers, page=True)
    # the session survived every refused attempt
    assert signed.client.get("/triage").status_code == 200
    # the token of another session is no good either
    other = browser(OWNER, fresh=True)
    assert (
        signed.client.post(
            "/signout", data={"csrf_token": other.csrf}, follow_redirects=False
        ).status_code
        == 403
    )
    # the sign-in form needs the token of its own cookie
    client = new_client()
    client.get("/signin")
    refused = client.post(
        "/signin", data={"token": world.token(OWNER), "csrf_token": "x"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    stranger = new_client()  # no cookie at all, as from another site's form
    assert (
        stranger.post(
            "/signin",
            data={"token": world.token(OWNER), "csrf_token": csrf_of(client.get("/signin").text)},
            follow_redirects=False,
        ).status_code
        == 403
    )


def test_an_htmx_post_with_the_header_token_passes(world: World, browser: BrowserFactory) -> None:
    signed = browser(OWNER, fresh=True)
    response = signed.client.post(
        "/signout", headers={"X-CSRF-Token": signed.csrf, "HX-Request": "true"}
    )
    assert response.status_code == 200  # redirected to the sign-in page
    assert 'id="signin-submit"' in response.text


def test_forms_are_bounded(world: World, browser: BrowserFactory) -> None:
    signed = browser(OWNER, fresh=True)
    too_big = signed.client.post(
        "/signout",
        content=b"csrf_token=" + b"x" * 70_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert too_big.status_code == 413
    wrong_type = signed.client.post(
        "/signout",
        content=b'{"csrf_token": "x"}',
        headers={"Content-Type": "application/json"},
        follow_redirects=False,
    )
    assert wrong_type.status_code == 415


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/triage"),
        ("/vulns/CH-2026-00001", "/vulns/CH-2026-00001"),
        ("/triage?q=a%20b", "/triage?q=a%20b"),
        ("http://evil.example", "/triage"),
        ("//evil.example", "/triage"),
        ("/\\evil.example", "/triage"),
        ("/\tx", "/triage"),
        ("triage", "/triage"),
        ("/signin?next=/x", "/triage"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_an_unexpected_failure_is_a_plain_500_page(
    world: World, browser: BrowserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(queries, "triage_page", broken)
    response = browser(COORDINATOR).client.get("/triage")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret internals" not in response.text
    _assert_headers(response.headers, page=True)
