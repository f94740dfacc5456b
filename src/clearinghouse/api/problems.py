"""RFC 9457 problem+json: the one place where errors become HTTP responses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from clearinghouse.core.errors import ClearinghouseError, SchemaError

PROBLEM_BASE = "https://clearinghouse.invalid/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    request: Request, *, status: int, title: str, detail: str, slug: str, **extra: Any
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ClearinghouseError)
    async def _domain(request: Request, error: ClearinghouseError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if isinstance(error, SchemaError):
            extra = {"pointer": error.pointer, "expected": error.expected}
        return problem(
            request,
            status=error.status,
            title=error.title,
            detail=error.detail,
            slug=error.type_slug,
            **extra,
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
