"""File inputs of web forms: a ``multipart/form-data`` body read under a byte cap, then split.

Browsers send a file input only as ``multipart/form-data``. The body is refused (413) as soon
as it passes the cap, from ``Content-Length`` before anything is read or while it streams, so a
large upload costs nothing; within the cap it is split exactly (a file's bytes are what the
user chose, so its SHA-256 is the file's), at most ``MAX_PARTS`` parts. Compressed bodies are
refused (415), as by the API.

The parts are cached on the request: ``pages.WebRoute`` reads them first when a form comes
without JavaScript (its CSRF token is then a field of the multipart body, not the header htmx
sends), and the view then gets the same parts under its own, smaller cap.

File uploads stream under their own cap, so the API's 1 MiB body cap does not apply to them
(``UPLOAD_ROUTES``; ``web.app`` passes them to ``api.app.create_app``). It does not decide
what a file may contain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import HTTP

from starlette.requests import Request

from clearinghouse.core.errors import InputError, TooLargeError, UnsupportedEncodingError

MAX_PARTS = 10
# The largest upload any web form takes (an SBOM); each route caps its own below it.
MAX_WEB_UPLOAD_BYTES = 16 * 1024 * 1024
# The web paths that take a file, whole: exempt from the API's body cap.
UPLOAD_ROUTES = re.compile(r"/dashboard/inventories|/cases/[^/]+/patches")


def is_upload_route(path: str) -> bool:
    return UPLOAD_ROUTES.fullmatch(path) is not None


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` content type; refused (415) otherwise."""
    header = Message()
    header["content-type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise UnsupportedEncodingError("a file is sent as multipart/form-data")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise InputError("multipart/form-data without a valid boundary")
    return boundary.encode("latin-1")


def split(body: bytes, boundary: bytes) -> list[Part]:
    """The parts of a multipart body (RFC 7578), byte for byte."""
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    if start < 0:
        raise InputError("multipart body: no boundary")
    parts: list[Part] = []
    at = start + len(delimiter)
    while True:
        if body.startswith(b"--", at):
            return parts  # the closing delimiter
        if not body.startswith(b"\r\n", at):
            raise InputError("multipart body: malformed delimiter line")
        head_end = body.find(b"\r\n\r\n", at + 2)
        if head_end < 0:
            raise InputError("multipart body: a part without a blank line after its headers")
        end = body.find(b"\r\n" + delimiter, head_end + 4)
        if end < 0:
            raise InputError("multipart body: not closed")
        if len(parts) == MAX_PARTS:
            raise InputError(f"multipart body: more than {MAX_PARTS} parts")
        headers = BytesHeaderParser(policy=HTTP).parsebytes(body[at + 2 : head_end + 4])
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise InputError("multipart body: a part without a name")
        filename = headers.get_param("filename", header="content-disposition")
        parts.append(
            Part(
                name=name,
                filename=filename if isinstance(filename, str) else None,
                content_type=headers.get_content_type() if "content-type" in headers else None,
                data=body[head_end + 4 : end],
            )
        )
        at = end + 2 + len(delimiter)


async def read_multipart(request: Request, *, max_bytes: int, what: str) -> list[Part]:
    """The parts of the request's body, refused once it passes ``max_bytes`` (``what`` names
    the upload in the refusal)."""
    refusal = f"{what}: larger than the {max_bytes:,} bytes accepted here"
    cached = getattr(request.state, "web_parts", None)
    if cached is not None:
        size, parts = cached
        if size > max_bytes:
            raise TooLargeError(refusal)
        return list(parts)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLargeError(refusal)
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding not in ("", "identity"):
        raise UnsupportedEncodingError(f"Content-Encoding: {encoding!r} is not accepted")
    boundary = boundary_of(request.headers.get("content-type", ""))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise TooLargeError(refusal)
    parts = split(bytes(body), boundary)
    request.state.web_parts = (len(body), tuple(parts))
    return parts


def is_multipart(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower() == "multipart/form-data"
