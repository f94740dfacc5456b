"""The one error tree of Clearinghouse.

Everything the code raises on purpose derives from :class:`ClearinghouseError`. The edges
translate it in exactly one place each: the HTTP API into RFC 9457 problem+json (using
``status`` and ``title``), the CLI into exit code 1 with ``str(error)`` on stderr. Nothing below
the edges knows about HTTP or exit codes.

    ClearinghouseError
    ├── InputError                 the caller sent something unusable (4xx)
    │   ├── DecodeError            bytes are not JSON/YAML, or nest too deep
    │   ├── SchemaError            valid syntax, wrong shape (carries a JSON pointer)
    │   ├── UnknownFormatError     no reader recognises the document (415)
    │   ├── UnsupportedEncodingError  a compressed upload (415)
    │   └── TooLargeError          over a configured size limit (413)
    ├── NotFoundError              absent, or invisible to the caller (404, never 403)
    ├── PermissionDeniedError      authenticated but the role may not do this (403)
    ├── AuthenticationError        no or bad credentials (401)
    ├── ConflictError              the request contradicts stored state (409)
    ├── RateLimitedError           too many requests from one caller (429)
    └── IntegrityError             stored data failed a check (audit chain), (500 class)
"""

from __future__ import annotations


class ClearinghouseError(Exception):
    """Base of every deliberate error; ``status`` and ``title`` feed problem+json."""

    status: int = 500
    title: str = "Internal error"
    type_slug: str = "internal"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InputError(ClearinghouseError):
    status = 400
    title = "Invalid input"
    type_slug = "invalid-input"


class DecodeError(InputError):
    title = "Undecodable document"
    type_slug = "undecodable"


class SchemaError(InputError):
    """A document does not have the expected shape.

    ``pointer`` is an RFC 6901 JSON pointer to the offending value and ``expected`` says what
    should have been there, so a submitter can fix the document without guessing.
    """

    status = 422
    title = "Schema violation"
    type_slug = "schema-violation"

    def __init__(self, pointer: str, expected: str, *, document: str = "document") -> None:
        super().__init__(f"{document} at {pointer or '/'}: {expected}")
        self.pointer = pointer
        self.expected = expected


class UnknownFormatError(InputError):
    status = 415
    title = "Unknown format"
    type_slug = "unknown-format"


class UnsupportedEncodingError(InputError):
    status = 415
    title = "Unsupported content encoding"
    type_slug = "unsupported-encoding"


class TooLargeError(InputError):
    status = 413
    title = "Too large"
    type_slug = "too-large"


class NotFoundError(ClearinghouseError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class PermissionDeniedError(ClearinghouseError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class AuthenticationError(ClearinghouseError):
    status = 401
    title = "Unauthenticated"
    type_slug = "unauthenticated"


class ConflictError(ClearinghouseError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class RateLimitedError(ClearinghouseError):
    """``retry_after_s`` says when the caller may try again (HTTP sends it as ``Retry-After``,
    so a well-behaved client waits instead of hammering)."""

    status = 429
    title = "Too many requests"
    type_slug = "rate-limited"

    def __init__(self, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class IntegrityError(ClearinghouseError):
    status = 500
    title = "Integrity check failed"
    type_slug = "integrity"
