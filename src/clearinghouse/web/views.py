"""Signing in and out, and the front door.

``GET /signin`` shows one form that takes an API token or a username and password; ``POST
/signin`` starts a session (cookie ``ch_session``: HttpOnly, SameSite=Strict, Secure over
https) and goes on to ``?next=`` (a local path only) or the triage queue. A refusal answers 401
with the same words whatever was wrong. ``POST /signout`` revokes the session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from clearinghouse.api.problems import retry_after
from clearinghouse.core.errors import AuthenticationError, RateLimitedError
from clearinghouse.web import auth
from clearinghouse.web.pages import (
    SESSION_COOKIE,
    SIGNIN_PATH,
    WebRoute,
    render,
    signed_in,
    web_state,
)
from clearinghouse.web.security import SIGNIN_CSRF_COOKIE, new_secret, read_form, safe_next

router = APIRouter(route_class=WebRoute, include_in_schema=False)

NextParam = Annotated[str | None, Query(max_length=2000)]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/")
def home(request: Request) -> Response:
    signed = getattr(request.state, "signed_in", None)
    return RedirectResponse("/triage" if signed else SIGNIN_PATH, status_code=303)


def _signin_page(
    request: Request, *, token: str, next_path: str, status: int = 200, error: str | None = None
) -> Response:
    response = render(
        request,
        "signin.html.j2",
        status=status,
        csrf_token=token,
        next_path=next_path,
        error=error,
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        path=SIGNIN_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.get("/signin")
def signin_form(request: Request, next: NextParam = None) -> Response:
    if getattr(request.state, "signed_in", None) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    token = request.cookies.get(SIGNIN_CSRF_COOKIE) or new_secret()
    if len(token) > 100:
        token = new_secret()
    return _signin_page(request, token=token, next_path=safe_next(next))


@router.post("/signin")
async def signin(request: Request) -> Response:
    state = web_state(request)
    runtime = state.runtime
    form = await read_form(request)
    next_path = safe_next(form.get("next"))
    csrf = request.cookies.get(SIGNIN_CSRF_COOKIE) or new_secret()
    client = request.client.host if request.client else "unknown"
    try:
        state.throttle.check(client, runtime.clock.now())
    except RateLimitedError as error:
        page = _signin_page(
            request, token=csrf, next_path=next_path, status=429, error=error.detail
        )
        if error.retry_after_s is not None:
            page.headers["Retry-After"] = retry_after(error.retry_after_s)
        return page
    token = form.get("token", "").strip()
    username = form.get("username", "").strip()
    password = form.get("password", "")
    if not token and not (username and password):
        return _signin_page(
            request,
            token=csrf,
            next_path=next_path,
            status=400,
            error="Enter an API token, or a username and a password.",
        )
    try:
        if token:
            cookie, _ = await run_in_threadpool(
                auth.sign_in_with_token,
                runtime.db,
                token=token,
                clock=runtime.clock,
                policy=state.policy,
            )
        else:
            cookie, _ = await run_in_threadpool(
                auth.sign_in_with_password,
                runtime.db,
                username=username,
                password=password,
                clock=runtime.clock,
                policy=state.policy,
            )
    except AuthenticationError:
        state.throttle.failed(client, runtime.clock.now())
        return _signin_page(
            request,
            token=csrf,
            next_path=next_path,
            status=401,
            error="Sign-in failed: the token, or the username and password, were not accepted.",
        )
    previous: auth.SignedIn | None = getattr(request.state, "signed_in", None)
    if previous is not None:  # one browser, one session
        await run_in_threadpool(auth.sign_out, runtime.db, signed_in=previous, clock=runtime.clock)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(
        SIGNIN_CSRF_COOKIE,
        path=SIGNIN_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    signed = signed_in(request)
    runtime = web_state(request).runtime
    auth.sign_out(runtime.db, signed_in=signed, clock=runtime.clock)
    response = RedirectResponse(SIGNIN_PATH, status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )
    return response
