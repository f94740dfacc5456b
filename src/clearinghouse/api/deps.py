"""Request dependencies: the runtime and the authenticated viewer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clearinghouse.access import service as access_service
from clearinghouse.access.roles import Action, require
from clearinghouse.access.visibility import Viewer
from clearinghouse.core.errors import AuthenticationError
from clearinghouse.pipeline.runtime import Runtime

_bearer = HTTPBearer(auto_error=False)


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
