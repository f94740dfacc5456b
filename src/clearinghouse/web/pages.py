"""How every web route renders and fails: the templates, the per-request sign-in and CSRF check,
and errors as HTML pages.

``WebRoute`` wraps each route of the web routers: before the view runs it loads the session
named by the ``ch_session`` cookie (one query) and, for unsafe methods, checks the CSRF token;
whatever the view raises becomes a page (a redirect to sign-in, a 403 for a bad token, the
status of a domain error: 404 for anything the viewer may not see). htmx requests get the same
status with a short fragment, and a sign-in redirect through ``HX-Redirect``.

It does not decide who may see what (the pipeline does) or hold any route.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from clearinghouse.api.problems import retry_after
from clearinghouse.core.errors import ClearinghouseError, RateLimitedError
from clearinghouse.core.tlp import Tlp
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.web import auth
from clearinghouse.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SIGNIN_CSRF_COOKIE,
    read_form,
    tokens_match,
)
from clearinghouse.web.uploads import MAX_WEB_UPLOAD_BYTES, is_multipart, read_multipart

logger = logging.getLogger(__name__)

SESSION_COOKIE = "ch_session"
SIGNIN_PATH = "/signin"


@dataclass
class WebState:
    """What the web routes share, kept on ``app.state.web``."""

    runtime: Runtime
    policy: auth.SessionPolicy = field(default_factory=auth.SessionPolicy)
    throttle: auth.SignInThrottle = field(default_factory=auth.SignInThrottle)


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


class SignInRequired(Exception):
    """Raised by a view that needs a signed-in viewer when there is none."""


class CsrfRefused(Exception):
    """An unsafe request without the page's token."""


# --- templates -------------------------------------------------------------------------------


def _instant(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC)


def when(value: dt.datetime | str | None) -> str:
    """``2026-11-27 14:05 UTC``: minutes are enough on a page, and the zone is always said."""
    instant = _instant(value)
    return instant.strftime("%Y-%m-%d %H:%M UTC") if instant else "-"


def iso(value: dt.datetime | str | None) -> str:
    instant = _instant(value)
    return instant.isoformat() if instant else ""


def age(value: dt.datetime | str | None, now: dt.datetime) -> str:
    """How long ago, in the largest whole unit: ``4 min``, ``3 h``, ``12 d``."""
    instant = _instant(value)
    if instant is None:
        return "-"
    seconds = max(0, int((now - instant).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def tlp_class(label: str) -> str:
    try:
        return "tlp-" + Tlp(label).value.lower().replace("+", "-")
    except ValueError:
        return "tlp-unknown"


def path_part(value: object) -> str:
    """One URL path segment, every reserved character escaped (organization names)."""
    return quote(str(value), safe="")


templates = Environment(
    loader=PackageLoader("clearinghouse.web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(when=when, iso=iso, age=age, tlp_class=tlp_class, path_part=path_part)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    csrf_token: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    signed: auth.SignedIn | None = getattr(request.state, "signed_in", None)
    runtime = web_state(request).runtime
    context.setdefault("active", None)
    html = templates.get_template(template).render(
        signed_in=signed,
        viewer=signed.viewer if signed else None,
        csrf_token=csrf_token or (signed.csrf_token if signed else ""),
        now=runtime.clock.now(),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def signed_in(request: Request) -> auth.SignedIn:
    """The signed-in browser of this request (a view's first line); else to the sign-in page."""
    signed: auth.SignedIn | None = getattr(request.state, "signed_in", None)
    if signed is None:
        raise SignInRequired
    return signed


# --- errors ----------------------------------------------------------------------------------

_MESSAGES = {
    400: "The request was not understood.",
    401: "Sign in to continue.",
    403: "You may not do that.",
    404: "There is nothing here, or nothing you may see.",
    405: "That is not something this page does.",
    409: "That conflicts with the current state.",
    413: "That is too large.",
    415: "That kind of content is not accepted here.",
    429: "Too many attempts. Wait a few minutes and try again.",
}


def error_page(request: Request, *, status: int, title: str, detail: str) -> HTMLResponse:
    if status >= 500:
        title, detail = "Something went wrong", "The error was logged. Try again later."
    if is_htmx(request):
        return render(request, "_error_fragment.html.j2", status=status, title=title, detail=detail)
    return render(request, "error.html.j2", status=status, title=title, detail=detail)


def _signin_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"{SIGNIN_PATH}?{urlencode({'next': target})}"
    if is_htmx(request):
        # htmx follows this with a full page load (a 3xx would be followed inside the swap).
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def _check_csrf(request: Request, signed: auth.SignedIn | None) -> None:
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfRefused
    provided = request.headers.get(CSRF_HEADER)
    if provided is None and is_multipart(request):
        if signed is None:  # nothing to compare with: do not read an anonymous upload
            raise CsrfRefused
        parts = await read_multipart(request, max_bytes=MAX_WEB_UPLOAD_BYTES, what="upload")
        field = next((part for part in parts if part.name == CSRF_FIELD), None)
        provided = field.data.decode("ascii", "replace") if field else None
    elif provided is None:
        provided = (await read_form(request)).get(CSRF_FIELD)
    if request.url.path == SIGNIN_PATH:
        expected = request.cookies.get(SIGNIN_CSRF_COOKIE)
    else:
        expected = signed.csrf_token if signed else None
    if not tokens_match(expected, provided):
        raise CsrfRefused


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class WebRoute(APIRoute):
    """Every web route: session loaded, CSRF checked, errors rendered as pages."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            state = web_state(request)
            try:
                cookie = request.cookies.get(SESSION_COOKIE)
                signed = None
                if cookie:
                    signed = await run_in_threadpool(
                        auth.load,
                        state.runtime.db,
                        cookie=cookie,
                        clock=state.runtime.clock,
                        policy=state.policy,
                    )
                request.state.signed_in = signed
                if request.method not in SAFE_METHODS:
                    if signed is None and request.url.path == "/signout":
                        return RedirectResponse(SIGNIN_PATH, status_code=303)
                    await _check_csrf(request, signed)
                return await original(request)
            except SignInRequired:
                return _signin_redirect(request)
            except CsrfRefused:
                return error_page(
                    request,
                    status=403,
                    title="The form has expired",
                    detail=(
                        "This form did not carry this page's security token (it may be from "
                        "an old tab or another site). Reload the page and try again."
                    ),
                )
            except ClearinghouseError as error:
                page = error_page(
                    request, status=error.status, title=error.title, detail=error.detail
                )
                if isinstance(error, RateLimitedError) and error.retry_after_s is not None:
                    page.headers["Retry-After"] = retry_after(error.retry_after_s)
                return page
            except RequestValidationError:
                return error_page(request, status=400, title="Bad request", detail=_MESSAGES[400])
            except StarletteHTTPException as error:
                return error_page(
                    request,
                    status=error.status_code,
                    title=str(error.detail),
                    detail=_MESSAGES.get(error.status_code, str(error.detail)),
                )
            except Exception:
                # Logged with its traceback; the page says nothing of the internals.
                logger.exception("web page %s %s failed", request.method, request.url.path)
                return error_page(request, status=500, title="", detail="")

        return handler
