"""Request dependencies: the runtime, the authenticated viewer, and the input rules every
``/api/v1`` route shares (row-id bounds, no NUL characters)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import Action, require
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.errors import AuthenticationError
from clearinghouse.pipeline.runtime import Runtime

_bearer = HTTPBearer(auto_error=False)

# Row ids are INTEGER columns (32 bits on PostgreSQL). A larger number names nothing, and
# handed to the database it overflows the driver (a 500, found by fuzzing), so it is refused
# as an invalid parameter (422 naming it) before any query; so are zero and negative numbers.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]

_NUL = "\x00"
_NUL_MESSAGE = "must not contain a NUL (U+0000) character"
# Uploaded documents are read by the format readers, which have their own rules.
_RAW_BODY_PATHS = frozenset({"/api/v1/submissions", "/api/v1/inventories", "/api/v1/vex"})


def _nul_error(*loc: str | int) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": _NUL_MESSAGE, "type": "value_error"}])


def _nul_in(value: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """Where in a decoded JSON value a string (or key) holds a NUL, if anywhere."""
    if isinstance(value, str):
        return loc if _NUL in value else None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_in(item, (*loc, index))
            if found:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            found = (*loc, key) if _NUL in key else _nul_in(item, (*loc, key))
            if found:
                return found
    return None


async def refuse_nul(request: Request) -> None:
    """PostgreSQL refuses NUL in text, so a NUL reaching a query was a 500 there (found by
    fuzzing) while SQLite stored it; no name, id or message needs one, so a parameter or JSON
    field holding one is refused on every database alike (422 naming it) before any query."""
    for name, value in request.path_params.items():
        if _NUL in str(value):
            raise _nul_error("path", name)
    for name, value in request.query_params.multi_items():
        if _NUL in name or _NUL in value:
            raise _nul_error("query", name)
    if request.url.path in _RAW_BODY_PATHS:
        return
    if "json" not in request.headers.get("content-type", ""):
        return
    body = await request.body()  # JSON bodies are small (``limits.BodyLimit``); FastAPI reuses it
    if b"\\u0000" not in body:  # the only way JSON text carries a NUL
        return
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # FastAPI reports the malformed body itself
    found = _nul_in(decoded, ("body",))
    if found:
        raise _nul_error(*found)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_viewer(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Viewer:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("an Authorization: Bearer token is required")
    with runtime.db.session() as session:
        return access_service.authenticate(session, secret=credentials.credentials)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def allowed(viewer: Viewer, action: Action) -> Viewer:
    require(role=viewer.role, kind=viewer.kind, action=action)
    return viewer
