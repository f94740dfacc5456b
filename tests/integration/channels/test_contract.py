"""The Channel contract, checked against the fake and both real channels with real far ends.

What the outbox worker relies on: ``deliver`` returning means the far end holds the message
exactly once, under the message's idempotency key; a transient failure raises a retryable
DeliveryError, leaves nothing accepted, and a later attempt then succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from clearinghouse.advisories.channels.base import (
    Channel,
    DeliveryError,
    OutboundMessage,
    RecordingChannel,
)
from clearinghouse.advisories.channels.email import SmtpChannel
from clearinghouse.advisories.channels.webhook import WebhookChannel
from tests.integration.channels.test_email import SmtpSink
from tests.integration.channels.test_webhook import SENT_AT, WebhookReceiver


@dataclass(frozen=True, slots=True)
class FarEnd:
    channel: Channel  # typed as the protocol: mypy checks every channel satisfies it
    recipient: str
    observed_keys: Callable[[], list[str]]  # idempotency keys the far end accepted, in order
    fail_next_transiently: Callable[[], None]


def recording_far_end() -> Iterator[FarEnd]:
    channel = RecordingChannel()
    yield FarEnd(
        channel=channel,
        recipient="anyone@vendor.example",
        observed_keys=lambda: [message.idempotency_key for message in channel.delivered],
        fail_next_transiently=lambda: channel.fail_next(1, retryable=True),
    )


def smtp_far_end() -> Iterator[FarEnd]:
    with SmtpSink() as sink:
        yield FarEnd(
            channel=SmtpChannel("127.0.0.1", sink.port, "ch@clearinghouse.example", timeout_s=5),
            recipient="psirt@vendor.example",
            observed_keys=lambda: [
                str(message["X-Clearinghouse-Idempotency-Key"]) for message in sink.messages
            ],
            fail_next_transiently=lambda: sink.replies.append("451 4.3.0 Try again later"),
        )


def webhook_far_end() -> Iterator[FarEnd]:
    with (
        WebhookReceiver() as receiver,
        WebhookChannel(timeout_s=5, allow_private_addresses=True, clock=lambda: SENT_AT) as ch,
    ):
        yield FarEnd(
            channel=ch,
            recipient=receiver.url,
            observed_keys=lambda: [
                request.headers["webhook-id"] for request in receiver.accepted()
            ],
            fail_next_transiently=lambda: receiver.answers.append(503),
        )


FAR_ENDS = {"recording": recording_far_end, "email": smtp_far_end, "webhook": webhook_far_end}


@pytest.fixture(params=sorted(FAR_ENDS))
def far_end(request: pytest.FixtureRequest) -> Iterator[FarEnd]:
    yield from FAR_ENDS[request.param]()


def message_for(far_end: FarEnd, key: str = "ntf-7") -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=key,
        recipient=far_end.recipient,
        subject="Case CH-2026-0007 updated",
        body_text="The coordinator added a comment.",
        payload={"type": "case.updated", "case": "CH-2026-0007"},
        tlp="GREEN",
        secret=b"contract-test-secret-of-32-bytes",
    )


def test_delivered_message_is_observed_exactly_once_under_its_key(far_end: FarEnd) -> None:
    far_end.channel.deliver(message_for(far_end, "ntf-7"))
    assert far_end.observed_keys() == ["ntf-7"]


def test_transient_failure_is_retryable_and_the_retry_lands_once(far_end: FarEnd) -> None:
    far_end.fail_next_transiently()
    with pytest.raises(DeliveryError) as caught:
        far_end.channel.deliver(message_for(far_end, "ntf-8"))
    assert caught.value.retryable is True
    assert far_end.observed_keys() == []

    far_end.channel.deliver(message_for(far_end, "ntf-8"))
    assert far_end.observed_keys() == ["ntf-8"]


def test_separate_notifications_keep_separate_keys(far_end: FarEnd) -> None:
    for key in ("ntf-1", "ntf-2"):
        far_end.channel.deliver(message_for(far_end, key))
    assert far_end.observed_keys() == ["ntf-1", "ntf-2"]
