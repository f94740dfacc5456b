"""The webhook channel: POST a notification as JSON, signed per the Standard Webhooks spec.

Each request carries ``webhook-id`` (the idempotency key, so receivers can deduplicate),
``webhook-timestamp`` (unix seconds from an injected clock) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``), plus ``Idempotency-Key``. The body
is ``{"id", "type", "tlp", "text", "data"}`` where ``data`` is the message payload and ``text``
its plain-text body. :func:`verify_webhook_signature` is the receiver's half of the contract.

:func:`check_webhook_url` refuses URLs that are obviously unsafe to POST to (not https,
credentials, private or loopback IP literals, ``localhost``). It does NOT resolve DNS names, so
it does not stop a name that resolves to a private address (DNS rebinding and friends): that
needs egress filtering or a resolving transport and is out of scope here. Redirects are never
followed, so a public URL cannot bounce the request to an internal one.

Not here: retries and scheduling (the outbox worker), subscription storage, secret rotation.
The HMAC key is the raw ``secret`` bytes, i.e. the base64-decoded part of a ``whsec_`` secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Mapping
from types import TracebackType

import httpx
import orjson

from clearinghouse.advisories.channels.base import (
    DeliveryError,
    OutboundMessage,
    check_common_fields,
    shown_recipient,
)
from clearinghouse.core.clock import ensure_utc
from clearinghouse.core.errors import InputError

_log = logging.getLogger(__name__)

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")  # after IDNA: ASCII labels only
_USER_AGENT = "clearinghouse-webhooks/1"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """Return the normalised ``url`` if it may receive webhooks; raise InputError if not.

    Requires https (http only with ``allow_private``, for loopback tests) and refuses user
    information (``user:pass@``). Unless ``allow_private``, refuses ``localhost`` and IP
    literals that are not globally routable (private, loopback, link-local, reserved, shared,
    multicast, unspecified; IPv4-mapped IPv6 is unwrapped first) and numeric host spellings
    such as ``127.1`` or ``2130706433`` that resolvers treat as addresses.

    DNS names are accepted without resolving them: a name pointing at a private address is
    not caught here (resolution-time SSRF protection is out of scope).
    """
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
        raise InputError("webhook URL must not contain whitespace, control characters or '\\'")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise InputError(f"webhook URL is not a valid URL: {error}") from None
    if parsed.scheme != "https" and not (allow_private and parsed.scheme == "http"):
        raise InputError(f"webhook URL must use https, not {parsed.scheme or 'nothing'!r}")
    if parsed.userinfo:
        raise InputError("webhook URL must not carry credentials (user:password@)")
    host = parsed.raw_host.decode("ascii", "replace").lower()
    if not host:
        raise InputError("webhook URL has no host")
    if not allow_private:
        _refuse_private_host(host)
    return str(parsed)


def _refuse_private_host(host: str) -> None:
    if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
        raise InputError(f"webhook host {host!r} is local")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise InputError(f"webhook host {host!r} is not a public address")
        return
    if not _HOST_NAME.fullmatch(host):
        raise InputError(f"webhook host {host!r} is not a valid host name")
    # "127.1", "0x7f.0.0.1" and "2130706433" are not IP literals to ipaddress but are to the
    # C resolver; no real top-level domain is numeric, so such names are refused outright.
    last_label = host.rstrip(".").rsplit(".", 1)[-1]
    if last_label.isdigit() or last_label.startswith("0x") or _inet_aton_accepts(host):
        raise InputError(f"webhook host {host!r} is a non-canonical IP address")


def _inet_aton_accepts(host: str) -> bool:
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def sign_webhook(secret: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_webhook_signature(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: dt.datetime,
    tolerance_s: int = 300,
) -> bool:
    """True if ``body`` was signed with ``secret`` within ``tolerance_s`` of ``now``.

    ``headers`` are matched case-insensitively. The ``webhook-signature`` header may list
    several space-separated ``v1,<base64>`` signatures (key rotation); one match suffices.
    Timestamps too far in the past or the future are refused (replay protection).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get("webhook-id")
    timestamp_text = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not webhook_id or not timestamp_text or not signatures:
        return False
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        return False
    if abs(ensure_utc(now).timestamp() - timestamp) > tolerance_s:
        return False
    expected = sign_webhook(secret, webhook_id, timestamp, body).encode("ascii")
    # Compare every candidate (no early exit on a match) in constant time.
    matched = False
    for candidate in signatures.split():
        if hmac.compare_digest(expected, candidate.encode("utf-8", "replace")):
            matched = True
    return matched


class _OriginOnly(logging.Filter):
    """httpx logs every request's full URL at INFO ("HTTP Request: POST <url> ..."), and a
    webhook URL's path is often the subscriber's secret: keep only the origin in that line."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 2 and isinstance(args[1], httpx.URL):
            record.args = (args[0], shown_recipient(str(args[1])), *args[2:])
        return True


_ORIGIN_ONLY = _OriginOnly()


def _keep_urls_out_of_httpx_logs() -> None:
    """Idempotent; the filter only rewrites httpx's request line, never drops a record."""
    logger = logging.getLogger("httpx")
    if _ORIGIN_ONLY not in logger.filters:
        logger.addFilter(_ORIGIN_ONLY)


class WebhookChannel:
    """POST signed JSON notifications to the message's recipient URL.

    Owns one ``httpx.Client`` (connection pool); call :meth:`close` or use it as a context
    manager. ``transport`` replaces the network for tests or for an egress proxy.
    """

    name = "webhook"

    def __init__(
        self,
        *,
        timeout_s: float = 10.0,
        allow_private_addresses: bool = False,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if timeout_s <= 0:
            raise InputError(f"webhook: timeout_s must be positive, got {timeout_s}")
        self._allow_private = allow_private_addresses
        self._clock = clock
        _keep_urls_out_of_httpx_logs()
        # trust_env=False: no proxy or ~/.netrc credentials picked up from the environment,
        # which could otherwise send a third party's credentials to a subscriber's URL.
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout_s,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": _USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> WebhookChannel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def compose(self, message: OutboundMessage) -> tuple[str, dict[str, str], bytes]:
        """URL, headers and body of the request; raises a non-retryable DeliveryError."""
        tlp = check_common_fields(message)
        try:
            url = check_webhook_url(message.recipient, allow_private=self._allow_private)
        except InputError as error:
            raise DeliveryError(error.detail, retryable=False) from None
        if not message.secret:
            # Standard Webhooks requires a signature; an unsigned webhook cannot be trusted.
            raise DeliveryError("webhook needs a non-empty secret to sign with", retryable=False)
        envelope = {
            "id": message.idempotency_key,
            "type": message.payload.get("type"),
            "tlp": tlp.value,
            "text": message.body_text,
            "data": dict(message.payload),
        }
        try:
            body = orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError) as error:
            raise DeliveryError(
                f"payload is not JSON-serialisable: {error}", retryable=False
            ) from error
        timestamp = int(ensure_utc(self._clock()).timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": message.idempotency_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_webhook(
                message.secret, message.idempotency_key, timestamp, body
            ),
            "idempotency-key": message.idempotency_key,
        }
        return url, headers, body

    def deliver(self, message: OutboundMessage) -> None:
        url, headers, body = self.compose(message)
        # Paths and queries often embed a subscriber's token: name only the origin in errors.
        origin = httpx.URL(url)
        where = f"webhook {origin.scheme}://{origin.netloc.decode('ascii')}"
        try:
            # Streamed and never read: a receiver cannot make us buffer a huge answer.
            with self._client.stream("POST", url, headers=headers, content=body) as response:
                status = response.status_code
                reason = response.reason_phrase
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as error:
            raise DeliveryError(f"{where}: {type(error).__name__}", retryable=False) from error
        except httpx.TransportError as error:
            # Timeouts, refused or reset connections, TLS failures, garbled answers.
            detail = f"{where}: {type(error).__name__}: {error}"
            raise DeliveryError(detail, retryable=True) from error
        if 200 <= status < 300:
            _log.info("webhook %s accepted by %s (%d)", message.idempotency_key, where, status)
            return
        if 300 <= status < 400:
            raise DeliveryError(
                f"{where}: answered {status} {reason}; redirects are not followed",
                retryable=False,
            )
        retryable = status in (408, 429) or status >= 500
        raise DeliveryError(f"{where}: answered {status} {reason}", retryable=retryable)
