"""SmtpChannel against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from collections import deque
from collections.abc import Iterator
from email.message import EmailMessage
from types import TracebackType
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from clearinghouse.advisories.channels.base import DeliveryError, OutboundMessage
from clearinghouse.advisories.channels.email import SmtpChannel
from clearinghouse.core.errors import InputError

SENDER = "notifications@clearinghouse.example"
RECIPIENT = "psirt@vendor.example"
PASSWORD = "correct-horse-battery-staple"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every accepted message.

    ``replies`` queues one-shot answers to DATA (e.g. "451 ..."); ``rcpt_reply`` answers every
    RCPT TO with a fixed reply (e.g. "550 ...") when set.
    """

    def __init__(self, *, password: str | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.envelope_recipients: list[list[str]] = []
        self.replies: deque[str] = deque()
        self.rcpt_reply: str | None = None
        self._password = password
        kwargs: dict[str, Any] = {}
        if password is not None:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False}
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._controller.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == (self._password or "").encode()
        return AuthResult(success=ok, handled=False)  # let the server answer 535 itself

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.replies:
            return self.replies.popleft()
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelope_recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


def make_message(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "idempotency_key": "ntf-42",
        "recipient": RECIPIENT,
        "subject": "New advisory CH-2026-0007",
        "body_text": "A vulnerability affecting your product was published.",
        "payload": {"type": "advisory.published", "advisory": "CH-2026-0007", "cves": []},
        "tlp": "amber+strict",
    }
    fields.update(changes)
    return OutboundMessage(**fields)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def channel(sink: SmtpSink) -> SmtpChannel:
    return SmtpChannel("127.0.0.1", sink.port, SENDER, timeout_s=5.0)


def test_message_arrives_once_with_tlp_subject_message_id_and_json_attachment(
    sink: SmtpSink, channel: SmtpChannel
) -> None:
    channel.deliver(make_message())

    assert len(sink.messages) == 1
    assert sink.envelope_recipients == [[RECIPIENT]]
    received = sink.messages[0]
    assert received["Subject"] == "[TLP:AMBER+STRICT] New advisory CH-2026-0007"
    assert received["Message-ID"] == "<ntf-42@clearinghouse>"
    assert received["X-Clearinghouse-Idempotency-Key"] == "ntf-42"
    assert received["X-TLP"] == "AMBER+STRICT"
    assert received["From"] == SENDER
    assert received["To"] == RECIPIENT
    body = received.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == "A vulnerability affecting your product was published."
    attachments = list(received.iter_attachments())
    assert [part.get_filename() for part in attachments] == ["notification.json"]
    assert attachments[0].get_content_type() == "application/json"
    assert orjson.loads(attachments[0].get_content()) == make_message().payload


def test_451_is_retryable_and_nothing_is_delivered(sink: SmtpSink, channel: SmtpChannel) -> None:
    sink.replies.append("451 4.3.0 Try again later")
    with pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message())
    assert caught.value.retryable is True
    assert "451" in str(caught.value)
    assert sink.messages == []


def test_550_recipient_rejected_is_not_retryable(sink: SmtpSink, channel: SmtpChannel) -> None:
    sink.rcpt_reply = "550 5.1.1 No such user"
    with pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message())
    assert caught.value.retryable is False
    assert "550" in str(caught.value)
    assert sink.messages == []


def test_server_down_is_retryable() -> None:
    closed_port = free_port()  # bound then released: nothing listens there
    channel = SmtpChannel("127.0.0.1", closed_port, SENDER, timeout_s=2.0)
    with pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message())
    assert caught.value.retryable is True


def test_server_that_never_greets_times_out_as_retryable() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nobody ever answers
        channel = SmtpChannel("127.0.0.1", silent.getsockname()[1], SENDER, timeout_s=0.3)
        with pytest.raises(DeliveryError) as caught:
            channel.deliver(make_message())
    assert caught.value.retryable is True


@pytest.mark.parametrize(
    "recipient",
    [
        "psirt@vendor.example\r\nBcc: everyone@attacker.example",
        "psirt@vendor.example\nSubject: spoofed",
        "psirt@vendor.example, everyone@attacker.example",
        "psirt@vendor.example;everyone@attacker.example",
        "PSIRT <psirt@vendor.example>",
        "psirt @vendor.example",
        "not-an-address",
        "",
    ],
)
def test_anything_but_one_plain_address_is_refused_before_sending(
    sink: SmtpSink, channel: SmtpChannel, recipient: str
) -> None:
    with pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message(recipient=recipient))
    assert caught.value.retryable is False
    assert sink.messages == []


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Advisory\r\nBcc: everyone@attacker.example"},
        {"tlp": "PURPLE"},
        {"tlp": "AMBER\r\nX-Injected: 1"},
        {"idempotency_key": "ntf-42>\r\nX-Injected: 1"},
        {"payload": {"when": object()}},
    ],
)
def test_unsendable_messages_are_refused_permanently(
    sink: SmtpSink, channel: SmtpChannel, changes: dict[str, Any]
) -> None:
    with pytest.raises(DeliveryError) as caught:
        channel.deliver(make_message(**changes))
    assert caught.value.retryable is False
    assert sink.messages == []


def test_authenticated_submission_delivers() -> None:
    with SmtpSink(password=PASSWORD) as sink:
        channel = SmtpChannel(
            "127.0.0.1", sink.port, SENDER, timeout_s=5.0, username="ch", password=PASSWORD
        )
        channel.deliver(make_message())
    assert len(sink.messages) == 1


def test_password_stays_out_of_repr_errors_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="clearinghouse")
    with SmtpSink(password="the-server-expects-another") as sink:
        channel = SmtpChannel(
            "127.0.0.1", sink.port, SENDER, timeout_s=5.0, username="ch", password=PASSWORD
        )
        with pytest.raises(DeliveryError) as caught:
            channel.deliver(make_message())
    assert caught.value.retryable is False  # 535: retrying with the same password is useless
    assert sink.messages == []
    shown = [repr(channel), str(caught.value), repr(caught.value), caplog.text]
    cause = caught.value.__cause__
    shown += [str(cause), repr(cause)]
    assert not any(PASSWORD in text for text in shown)


def test_auth_over_a_network_without_starttls_is_refused_at_configuration() -> None:
    with pytest.raises(InputError):
        SmtpChannel("smtp.example.org", 587, SENDER, username="ch", password=PASSWORD)
