"""WebhookChannel against a real HTTP receiver on 127.0.0.1, plus the URL and signature checks."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson
import pytest

from clearinghouse.advisories.channels.base import DeliveryError, OutboundMessage
from clearinghouse.advisories.channels.webhook import (
    WebhookChannel,
    check_webhook_url,
    sign_webhook,
    verify_webhook_signature,
)
from clearinghouse.core.errors import InputError

SECRET = b"a-32-byte-secret-for-hmac-sha256"
SENT_AT = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the receiver answered


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST.

    It answers ``status`` (204 by default); ``answers`` queues one-shot statuses. For 3xx it
    sends ``Location`` pointing back at itself, so a followed redirect would show up as a
    second request. ``delay_s`` holds the answer back to provoke client timeouts.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 204
        self.answers: deque[int] = deque()
        self.delay_s = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown (once per test) from costing half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks/clearinghouse?token=subscriber-token"

    def accepted(self) -> list[Received]:
        return [request for request in self.requests if 200 <= request.status < 300]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _next_status(self) -> int:
        with self._lock:
            return self.answers.popleft() if self.answers else self.status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver._next_status()
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    receiver.requests.append(Received(self.path, headers, body, status))
                time.sleep(receiver.delay_s)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("location", f"{receiver.base_url}/redirected")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler


def make_message(recipient: str, **changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "idempotency_key": "ntf-42",
        "recipient": recipient,
        "subject": "New advisory CH-2026-0007",
        "body_text": "A vulnerability affecting your product was published.",
        "payload": {"type": "advisory.published", "advisory": "CH-2026-0007"},
        "tlp": "TLP:AMBER",
        "secret": SECRET,
    }
    fields.update(changes)
    return OutboundMessage(**fields)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def channel() -> Iterator[WebhookChannel]:
    with WebhookChannel(timeout_s=5.0, allow_private_addresses=True, clock=lambda: SENT_AT) as ch:
        yield ch


def delivered(receiver: WebhookReceiver, channel: WebhookChannel) -> Received:
    channel.deliver(make_message(receiver.url))
    assert len(receiver.requests) == 1
    return receiver.requests[0]


# --- what arrives -------------------------------------------------------------------------


def test_request_carries_standard_webhooks_headers_and_envelope(
    receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    request = delivered(receiver, channel)
    assert request.path == "/hooks/clearinghouse?token=subscriber-token"
    assert request.headers["webhook-id"] == "ntf-42"
    assert request.headers["idempotency-key"] == "ntf-42"
    assert request.headers["webhook-timestamp"] == str(int(SENT_AT.timestamp()))
    assert request.headers["content-type"] == "application/json"
    assert orjson.loads(request.body) == {
        "id": "ntf-42",
        "type": "advisory.published",
        "tlp": "AMBER",
        "text": "A vulnerability affecting your product was published.",
        "data": {"type": "advisory.published", "advisory": "CH-2026-0007"},
    }


def test_signature_verifies_at_the_receiver(
    receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    request = delivered(receiver, channel)
    assert verify_webhook_signature(SECRET, request.headers, request.body, now=SENT_AT)
    # Header names are case-insensitive on the wire; so is the check.
    upper = {name.upper(): value for name, value in request.headers.items()}
    assert verify_webhook_signature(SECRET, upper, request.body, now=SENT_AT)


def test_tampered_body_or_wrong_secret_fails_verification(
    receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    request = delivered(receiver, channel)
    tampered = request.body.replace(b"CH-2026-0007", b"CH-2026-0008")
    assert tampered != request.body
    assert not verify_webhook_signature(SECRET, request.headers, tampered, now=SENT_AT)
    assert not verify_webhook_signature(
        b"another secret", request.headers, request.body, now=SENT_AT
    )
    forged_id = {**request.headers, "webhook-id": "ntf-43"}
    assert not verify_webhook_signature(SECRET, forged_id, request.body, now=SENT_AT)


def test_stale_or_future_timestamp_fails_verification(
    receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    request = delivered(receiver, channel)
    minutes = dt.timedelta(minutes=5)
    second = dt.timedelta(seconds=1)
    ok_late = SENT_AT + minutes
    assert verify_webhook_signature(SECRET, request.headers, request.body, now=ok_late)
    for now in (SENT_AT + minutes + second, SENT_AT - minutes - second):
        assert not verify_webhook_signature(SECRET, request.headers, request.body, now=now)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_fails_verification(
    receiver: WebhookReceiver, channel: WebhookChannel, missing: str
) -> None:
    request = delivered(receiver, channel)
    headers = {name: value for name, value in request.headers.items() if name != missing}
    assert not verify_webhook_signature(SECRET, headers, request.body, now=SENT_AT)


def test_signature_matches_the_standard_webhooks_reference_vector() -> None:
    # The published test vector of the Standard Webhooks libraries (secret given as whsec_…).
    secret = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'
    signature = sign_webhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        # Several space-separated signatures (key rotation): one valid one is enough.
        "webhook-signature": "v1,bm90IHRoZSByaWdodCBvbmU= " + signature,
    }
    now = dt.datetime.fromtimestamp(1614265330, dt.UTC)
    assert verify_webhook_signature(secret, headers, body, now=now)


# --- how answers are classified -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (408, True), (400, False), (404, False), (410, False)],
)
def test_error_answers_are_classified(
    receiver: WebhookReceiver, channel: WebhookChannel, status: int, retryable: bool
) -> None:
    receiver.status = status
    with pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message(receiver.url))
    assert caught.value.retryable is retryable
    assert str(status) in str(caught.value)
    # The subscriber's token in the query must not leak into error messages (and logs).
    assert "subscriber-token" not in str(caught.value)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_not_followed_and_fails_permanently(
    receiver: WebhookReceiver, channel: WebhookChannel, status: int
) -> None:
    receiver.status = status
    with pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message(receiver.url))
    assert caught.value.retryable is False
    assert [request.path for request in receiver.requests] == [
        "/hooks/clearinghouse?token=subscriber-token"
    ]


def test_any_2xx_is_success(receiver: WebhookReceiver, channel: WebhookChannel) -> None:
    receiver.status = 200
    channel.deliver(make_message(receiver.url))
    receiver.status = 202
    channel.deliver(make_message(receiver.url))
    assert [request.status for request in receiver.accepted()] == [200, 202]


def test_connection_refused_is_retryable(channel: WebhookChannel) -> None:
    with WebhookReceiver() as gone:
        url = gone.url
    with pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message(url))
    assert caught.value.retryable is True


def test_timeout_is_retryable(receiver: WebhookReceiver) -> None:
    receiver.delay_s = 1.0
    with (
        WebhookChannel(timeout_s=0.2, allow_private_addresses=True) as channel,
        pytest.raises(DeliveryError) as caught,
    ):
        channel.deliver(make_message(receiver.url))
    assert caught.value.retryable is True


@pytest.mark.parametrize(
    "changes",
    [{"secret": None}, {"secret": b""}, {"tlp": "PURPLE"}, {"idempotency_key": "a\r\nb: c"}],
)
def test_unsendable_messages_are_refused_before_any_request(
    receiver: WebhookReceiver, channel: WebhookChannel, changes: dict[str, Any]
) -> None:
    with pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message(receiver.url, **changes))
    assert caught.value.retryable is False
    assert receiver.requests == []


def test_private_receiver_is_refused_without_allow_private(receiver: WebhookReceiver) -> None:
    with WebhookChannel(timeout_s=5.0) as channel, pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message(receiver.url))
    assert caught.value.retryable is False
    assert receiver.requests == []


# --- URL policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.vendor.example/clearinghouse",
        "https://hooks.vendor.example:8443/x?token=abc",
        "https://8.8.8.8/hook",
        "https://[2001:4860:4860::8888]/hook",
        "https://bücher.example/hook",
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_webhook_url(url, allow_private=False).startswith("https://")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.vendor.example/clearinghouse",
        "ftp://hooks.vendor.example/",
        "hooks.vendor.example/clearinghouse",
        "https://10.0.0.1/hook",
        "https://192.168.1.10/hook",
        "https://172.16.0.1/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://240.0.0.1/hook",
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://api.localhost/hook",
        "https://127.1/hook",
        "https://2130706433/hook",
        "https://0x7f.0.0.1/hook",
        "https://user:pass@hooks.vendor.example/",
        "https://user@hooks.vendor.example/",
        "https://hooks.vendor.example\\@127.0.0.1/",
        "https://hooks.vendor.example/a b",
        "https:///hook",
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(InputError):
        check_webhook_url(url, allow_private=False)


def test_allow_private_admits_http_and_loopback_but_still_not_credentials() -> None:
    assert check_webhook_url("http://127.0.0.1:8080/hook", allow_private=True)
    assert check_webhook_url("https://[::1]/hook", allow_private=True)
    assert check_webhook_url("http://localhost/hook", allow_private=True)
    with pytest.raises(InputError):
        check_webhook_url("http://user:pass@127.0.0.1/hook", allow_private=True)
    with pytest.raises(InputError):
        check_webhook_url("ftp://127.0.0.1/hook", allow_private=True)
