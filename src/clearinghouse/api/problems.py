"""RFC 9457 problem+json: the one place where errors become HTTP responses."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from clearinghouse.core.errors import ClearinghouseError, RateLimitedError, SchemaError

PROBLEM_BASE = "https://clearinghouse.invalid/problems/"
MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """The body of every error (RFC 9457), as the OpenAPI document describes it.

    Extra members are allowed: a validation error adds ``errors`` (one per field), a document
    that breaks its format adds ``pointer`` and ``expected``, a refused campaign its reasons."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str


_PROBLEM_SCHEMA = Problem.model_json_schema()


def _documented(description: str) -> dict[str, Any]:
    # Inline (no ``model=``): FastAPI would file a model's schema under application/json.
    return {"description": description, "content": {MEDIA_TYPE: {"schema": _PROBLEM_SCHEMA}}}


# The errors any ``/api/v1`` route may answer, declared on every router so that the document is
# true: clients generated from it, and Schemathesis' conformance checks, expect problem+json
# with these statuses (FastAPI alone would document only a 422 as ``application/json``).
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("The request is malformed (named in `detail`)"),
    401: _documented("No token, or an unknown, expired or revoked one"),
    403: _documented("The token's role or organization may not do this"),
    404: _documented("No such record, or one this token may not see"),
    409: _documented("The request conflicts with the record's state"),
    413: _documented("The body is larger than the configured limit"),
    422: _documented("A parameter or the body breaks the schema (each field in `errors`)"),
    503: _documented("The database is unreachable for a moment; see `Retry-After`"),
}
# Routes with a per-token rate limit (``Retry-After`` says when to try again).
RATE_LIMITED_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: _documented("Too many requests from this token; see `Retry-After`"),
}
# Routes that read a raw document body (any content coding but identity is refused).
RAW_BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    415: _documented("Unsupported format or content coding"),
}


def problem(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    slug: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


def retry_after(seconds: float) -> str:
    """RFC 9110 section 10.2.3: whole seconds, rounded up so a client never comes back early."""
    return str(max(1, math.ceil(seconds)))


def install(app: FastAPI) -> None:
    @app.exception_handler(ClearinghouseError)
    async def _domain(request: Request, error: ClearinghouseError) -> JSONResponse:
        extra: dict[str, Any] = {}
        headers: dict[str, str] = {}
        if isinstance(error, SchemaError):
            extra = {"pointer": error.pointer, "expected": error.expected}
        if isinstance(error, RateLimitedError) and error.retry_after_s is not None:
            headers["Retry-After"] = retry_after(error.retry_after_s)
        return problem(
            request,
            status=error.status,
            title=error.title,
            detail=error.detail,
            slug=error.type_slug,
            headers=headers,
            **extra,
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, error: DBAPIError) -> JSONResponse:
        # The database restarting, failing over or dropping connections (or PostgreSQL
        # refusing a transaction it could not serialize) is a moment's unavailability, not a
        # server fault: a 503 the client retries, as it would a lost answer. Any other
        # database error stays a 500.
        if not (isinstance(error, OperationalError) or error.connection_invalidated):
            raise error
        return problem(
            request,
            status=503,
            title="Service unavailable",
            detail="the database is unavailable; try again shortly",
            slug="unavailable",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in item.get("loc", ())), "message": item.get("msg")}
            for item in error.errors()
        ]
        first = errors[0] if errors else {"field": "?", "message": "invalid"}
        return problem(
            request,
            status=422,
            title="Invalid request",
            detail=f"{first['field']}: {first['message']}",
            slug="invalid-request",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem(
            request,
            status=error.status_code,
            title=str(error.detail),
            detail=str(error.detail),
            slug=f"http-{error.status_code}",
        )
