"""What every notification channel shares: the outbound message, the error, the protocol, a fake.

A channel takes one :class:`OutboundMessage` and either hands it to the far end (returns) or
raises :class:`DeliveryError` saying whether trying again later could help. Channels do not
retry, schedule, persist or deduplicate: the outbox worker owns the attempts (see
``clearinghouse.advisories.delivery`` for the backoff) and the far end deduplicates on the
idempotency key, which every channel passes along unchanged.

:class:`RecordingChannel` is the in-tree fake for tests of callers; it checks messages the same
way the real channels do so that a test cannot pass with a message production would refuse.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from clearinghouse.core.errors import ClearinghouseError, InputError
from clearinghouse.core.tlp import Tlp

# The key ends up inside a Message-ID, a webhook-id and HTTP headers: a conservative alphabet
# keeps it valid in all three without quoting and makes header injection impossible.
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One notification to one recipient, identical across delivery attempts."""

    idempotency_key: str  # stable for one notification across retries (e.g. "ntf-42")
    recipient: str  # e-mail address, or https URL for a webhook
    subject: str
    body_text: str  # plain text body (e-mail); also included in the webhook payload
    payload: Mapping[str, Any]  # JSON object sent to webhooks (attached to e-mail as JSON)
    tlp: str  # TLP 2.0 label, e.g. "AMBER+STRICT", shown in subject and headers
    secret: bytes | None = None  # webhook HMAC secret

    def __repr__(self) -> str:
        # The secret must not reach logs through a repr of the message, nor a webhook URL's
        # path, which is often the subscriber's own secret.
        secret = "None" if self.secret is None else "<redacted>"
        return (
            f"OutboundMessage(idempotency_key={self.idempotency_key!r}, "
            f"recipient={shown_recipient(self.recipient)!r}, subject={self.subject!r}, "
            f"tlp={self.tlp!r}, secret={secret})"
        )


def shown_recipient(recipient: str) -> str:
    """What logs may say of a recipient: an e-mail address as it is, a URL by its origin."""
    scheme, sep, rest = recipient.partition("://")
    if not sep:
        return recipient
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}/…"


class DeliveryError(ClearinghouseError):
    """A delivery attempt failed; ``retryable`` says whether a later attempt may succeed.

    Non-retryable failures (a refused recipient, a malformed message, a 4xx answer) go to the
    dead letter at once; retryable ones (timeouts, refused connections, 4xx SMTP replies,
    HTTP 408/429/5xx) are scheduled again by the outbox worker.
    """

    status = 502
    title = "Delivery failed"
    type_slug = "delivery-failed"

    def __init__(self, detail: str, *, retryable: bool) -> None:
        super().__init__(detail)
        self.retryable = retryable


class Channel(Protocol):
    """A way to reach a recipient; ``name`` is "email" or "webhook"."""

    name: str

    def deliver(self, message: OutboundMessage) -> None:
        """Return when the far end accepted the message; raise :class:`DeliveryError` if not."""
        ...


def check_common_fields(message: OutboundMessage) -> Tlp:
    """Refuse a message whose key or TLP label cannot be sent safely; return the parsed label.

    Raises a non-retryable :class:`DeliveryError`: sending the same message again cannot fix it.
    """
    if not _IDEMPOTENCY_KEY.fullmatch(message.idempotency_key):
        raise DeliveryError(
            f"idempotency key {message.idempotency_key!r} must be 1-128 characters of "
            "letters, digits, '.', '_' or '-', starting with a letter or digit",
            retryable=False,
        )
    try:
        return Tlp.parse(message.tlp)
    except InputError as error:
        raise DeliveryError(error.detail, retryable=False) from None


class RecordingChannel:
    """A fake channel that records what it delivers and fails on request.

    ``attempts`` holds every message handed to :meth:`deliver`, ``delivered`` only those that
    succeeded. :meth:`fail_next` makes the next ``count`` attempts raise.
    """

    def __init__(self, name: str = "recording") -> None:
        self.name = name
        self.attempts: list[OutboundMessage] = []
        self.delivered: list[OutboundMessage] = []
        self._failures: deque[bool] = deque()

    def fail_next(self, count: int = 1, *, retryable: bool = True) -> None:
        """Make the next ``count`` deliveries raise a DeliveryError with this ``retryable``."""
        if count < 0:
            raise InputError(f"count must not be negative, got {count}")
        self._failures.extend([retryable] * count)

    def deliver(self, message: OutboundMessage) -> None:
        self.attempts.append(message)
        if self._failures:
            retryable = self._failures.popleft()
            raise DeliveryError(
                f"{self.name}: simulated {'transient' if retryable else 'permanent'} failure "
                f"for {message.idempotency_key}",
                retryable=retryable,
            )
        check_common_fields(message)
        self.delivered.append(message)
