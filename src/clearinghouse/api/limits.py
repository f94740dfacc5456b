"""A cap on request bodies, enforced as bytes arrive (pure ASGI, so nothing is buffered first).

JSON bodies (organizations, tokens, grants, merge, split, validations) and the raw diff of
``POST /vulns/{id}/patches`` (at most 1 MiB, the patch validator's own limit) are small and
capped here; only the uploads (a submission, an SBOM, a VEX document) are large, and they
have their own streaming limit (``max_upload_bytes``), so they alone are exempt. Past the
cap the app is told the client went away, whatever it would answer is dropped, and a 413
problem+json goes out instead (FastAPI would otherwise report any failure while reading a
body as a 400).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearinghouse.core.errors import TooLargeError

JSON_BODY_MAX_BYTES = 1_048_576
UPLOAD_PATHS = frozenset({"/api/v1/submissions", "/api/v1/inventories", "/api/v1/vex"})
_PROBLEM_TYPE = "https://clearinghouse.invalid/problems/" + TooLargeError.type_slug


class BodyLimit:
    """``exempt`` names further paths that stream their own, larger cap (the web interface's
    file uploads, which answer with a page of their own)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = JSON_BODY_MAX_BYTES,
        exempt: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        if self.exempt is not None and self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not exceeded:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = orjson.dumps(
            {
                "type": _PROBLEM_TYPE,
                "title": TooLargeError.title,
                "status": TooLargeError.status,
                "detail": f"request body: more than {self.max_bytes} bytes",
                "instance": scope["path"],
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": TooLargeError.status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
