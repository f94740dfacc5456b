"""The web interface's browser-facing defences: response headers, CSRF tokens, safe redirects
and bounded form parsing.

- **Headers**: every web response (pages, fragments, redirects, static files, error pages)
  carries a strict Content-Security-Policy (scripts and styles only from this origin, no
  inline code, no framing), ``nosniff``, ``same-origin`` referrers and ``DENY`` framing;
  pages also carry ``Cache-Control: no-store`` (they hold TLP-labelled data, which must not
  linger in a shared browser's cache after sign-out). The API's JSON routes are left as they are.
- **CSRF**: signed-in pages carry their session's secret (``<meta name="csrf-token">``; htmx
  sends it as ``X-CSRF-Token``, plain forms as ``csrf_token``); the sign-in form, which has no
  session yet, uses a double-submit cookie. Both are compared in constant time. SameSite=Strict
  cookies are the second line.
- ``safe_next`` keeps ``?next=`` on this site (a local path, never ``//host`` or a scheme).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearinghouse.core.errors import InputError, TooLargeError, UnsupportedEncodingError

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
NO_STORE = (b"cache-control", b"no-store")

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SIGNIN_CSRF_COOKIE = "ch_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 50


class SecurityHeaders:
    """Pure ASGI: add the headers to responses whose path is under one of ``prefixes``."""

    def __init__(
        self, app: ASGIApp, *, pages: tuple[str, ...], static_prefix: str = "/static/"
    ) -> None:
        self.app = app
        self.pages = pages
        self.static_prefix = static_prefix

    def _kind(self, path: str) -> str | None:
        if path.startswith(self.static_prefix):
            return "static"
        for page in self.pages:
            if path == page or (page != "/" and path.startswith(page.rstrip("/") + "/")):
                return "page"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = self._kind(scope["path"]) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                replaced = _PAGE_REPLACED if kind == "page" else _REPLACED
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in replaced
                ]
                headers.extend(HEADERS)
                if kind == "page":
                    headers.append(NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


_REPLACED = frozenset(name for name, _ in HEADERS)
_PAGE_REPLACED = _REPLACED | {NO_STORE[0]}


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, provided: str | None) -> bool:
    if not expected or not provided:
        return False
    return hmac.compare_digest(expected.encode(), provided.encode())


def safe_next(value: str | None, *, default: str = "/triage") -> str:
    """``value`` when it is a path on this site, else ``default``."""
    if not value or len(value) > 2000:
        return default
    if any(ord(c) < 0x21 or c == "\\" for c in value):
        return default
    if not value.startswith("/") or value.startswith("//"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    if parts.path in ("/signin", "/signout"):
        return default
    return value


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (at most 64 KiB, 50 fields); the first
    value of each field. Cached on the request, so the CSRF check and the view share it."""
    cached = getattr(request.state, "web_form", None)
    if isinstance(cached, dict):
        return cached
    form: dict[str, str] = {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/x-www-form-urlencoded":
        raise UnsupportedEncodingError("forms are sent as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise TooLargeError(f"form: more than {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise InputError(f"form: {error}") from None
    for key, value in pairs:
        form.setdefault(key, value)
    request.state.web_form = form
    return form
