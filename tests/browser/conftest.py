"""Browser journeys: the real app under uvicorn on loopback, driven by Debian's Chromium.

Fixtures (built once for the ``tests/browser`` package; the journeys run in order on them):

* ``world``: a fresh SQLite database in a temporary data directory, seeded through the pipeline
  (``world.py``); always SQLite: the journeys test the pages, and the queries under them run on
  both databases in the rest of the suite;
* ``live_server``: the whole app (``clearinghouse.web.app.create_app(runtime)``: the API with
  the web interface installed, as ``clearinghouse serve`` runs it) served by uvicorn in a thread
  on a free 127.0.0.1 port; its base URL;
* ``chromium``: a headless ``/usr/bin/chromium`` launched by Playwright (never a browser that
  Playwright downloads);
* ``tab``: opens a fresh browser context (its own cookie jar: one signed-in user) and page, and
  guards every page it visits: the security headers (the strict CSP first) on each web response
  and no CSP violation or uncaught script error in the console, checked when the test ends.

Without the ``playwright`` package or ``/usr/bin/chromium`` the package is skipped with the
reason, except under CI (``$CI`` set), where that is an error: CI installs both.
``shot(page, name)`` saves ``build/screenshots/<name>.png`` (CI keeps them as artifacts).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import uvicorn

from clearinghouse.infra.settings import Settings
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.web.app import create_app
from tests.browser.world import World, build_world
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response

CHROMIUM = Path("/usr/bin/chromium")


def browser_missing() -> str | None:
    """Why the journeys cannot run here, or ``None``."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent (apt-get install chromium)"
    return None


def require_browser() -> None:
    """Skip the calling module (or fixture) with the reason when the browser cannot run, or
    fail under CI; the journey modules call it before they import Playwright."""
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI runs the browser journeys, but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


SCREENSHOTS = REPO_ROOT / "build" / "screenshots"

# The spec's header, as directives (their order in the header does not matter).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
# Responses of the web interface itself (not the API's JSON or a favicon probe).
GUARDED_TYPES = frozenset({"document", "xhr", "fetch", "script", "stylesheet"})

# Injected before any page script (Playwright's init scripts are not subject to the page's
# CSP): report every violation the browser raises, also those it does not log itself.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("Content Security Policy violation: " + event.violatedDirective +
                " blocked " + (event.blockedURI || "inline") + " at " + event.sourceFile +
                ":" + event.lineNumber);
});
"""


def directives(policy: str) -> dict[str, tuple[str, ...]]:
    """``"a x y; b z"`` -> ``{"a": ("x", "y"), "b": ("z",)}``."""
    out: dict[str, tuple[str, ...]] = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        if name:
            out[name.lower()] = tuple(sorted(sources))
    return out


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot as ``build/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- the world and the server -----------------------------------------------------------------


@pytest.fixture(scope="package")
def world() -> Iterator[World]:
    # Under a 0755 directory: the sandbox's uid reproduces the world's proof from inside it,
    # and cannot search pytest's 0700 temporary directories.
    root = Path(tempfile.mkdtemp(prefix="clearinghouse-browser-"))
    root.chmod(0o755)
    settings = Settings(
        data_dir=root / "data",
        database_url=None,  # SQLite in the data directory, whatever the environment says
        # the proof runs under bubblewrap where it is installed (CI), else restricted (loudly)
        validation_allow_unisolated=True,
    )
    runtime = Runtime.from_settings(settings)
    runtime.ensure_schema()
    try:
        yield build_world(runtime, scratch=root / "scratch")
    finally:
        runtime.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="package")
def live_server(world: World) -> Iterator[str]:
    """The real app (API and web) on 127.0.0.1 and a free port, in a thread; its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # bound here: no race for the port with anyone else
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(world.runtime), log_config=None, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="live-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            listener.close()
            pytest.fail("the live server did not start within 30 s", pytrace=False)
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Guard:
    """What went wrong on one tab's pages; empty lists when the tab behaved."""

    origin: str
    violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    bad_headers: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            where = message.page.url if message.page is not None else "?"
            self.violations.append(f"{where}: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.script_errors.append(str(error))

    def on_response(self, response: Response) -> None:
        request = response.request
        url = urlsplit(response.url)
        if f"{url.scheme}://{url.netloc}" != self.origin:
            return
        if request.resource_type not in GUARDED_TYPES or url.path.startswith("/api/"):
            return
        if request.resource_type == "document":
            self.visited.append(url.path)
        headers = response.headers  # lower-cased names
        where = f"{request.method} {url.path} ({response.status})"
        policy = headers.get("content-security-policy")
        if policy is None:
            self.bad_headers.append(f"{where}: no Content-Security-Policy")
        elif directives(policy) != directives(CSP):
            self.bad_headers.append(f"{where}: Content-Security-Policy {policy!r}")
        for name, value in SECURITY_HEADERS.items():
            if headers.get(name, "").lower() != value.lower():
                self.bad_headers.append(f"{where}: {name}={headers.get(name)!r}")

    def problems(self) -> list[str]:
        return [*self.violations, *self.script_errors, *self.bad_headers]


Tab = Callable[[], "Page"]


@pytest.fixture
def tab(chromium: Browser, live_server: str) -> Iterator[Tab]:
    """``tab()`` -> a new page in its own browser context, guarded (see ``Guard``)."""
    opened: list[tuple[BrowserContext, Guard]] = []

    def open_tab() -> Page:
        context = chromium.new_context(
            base_url=live_server, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(10_000)
        context.add_init_script(REPORT_VIOLATIONS)
        guard = Guard(origin=live_server)
        context.on("console", guard.on_console)
        context.on("weberror", lambda error: guard.on_page_error(error.error))
        context.on("response", guard.on_response)
        opened.append((context, guard))
        return context.new_page()

    yield open_tab
    problems: list[str] = []
    for context, guard in opened:
        context.close()
        problems += guard.problems()
        assert guard.visited, "a tab that visited no page of the web interface"
    assert not problems, "\n".join(problems)


def sign_in(page: Page, token: str) -> None:
    """Sign in with a token on ``/signin``; lands on the triage queue with a session cookie."""
    page.goto("/signin")
    page.fill("#token", token)
    page.click("#signin-submit")
    page.wait_for_url("**/triage")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "ch_session"]
    assert cookie.get("httpOnly") is True, cookie
    assert cookie.get("sameSite") == "Strict", cookie
    assert cookie.get("path") == "/", cookie
    assert token not in str(cookie.get("value")), "the session cookie must not carry the token"
