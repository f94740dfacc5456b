"""The e-mail channel: one notification, one message, handed to an SMTP relay.

Builds a MIME message (plain-text body plus the payload as ``notification.json``) whose subject
carries the TLP label and whose ``Message-ID`` is derived from the idempotency key, so that a
receiving system can discard the duplicate a retry after a lost reply may produce. Submits it
with :mod:`smtplib`, optionally after STARTTLS and AUTH, and sorts failures into retryable
(connection, timeout, 4xx replies) and permanent (5xx replies, unusable messages).

It does not queue, retry, render templates or encrypt bodies (OpenPGP is a separate step), and
it supports neither implicit TLS (port 465) nor internationalised addresses (SMTPUTF8).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import orjson

from clearinghouse.advisories.channels.base import (
    DeliveryError,
    OutboundMessage,
    check_common_fields,
)
from clearinghouse.core.errors import InputError

_log = logging.getLogger(__name__)

# A bare addr-spec and nothing else: no display name, no list, no whitespace or control
# characters. CR/LF would inject headers, ',' and ';' would add recipients, '<' '>' '"' '(' ')'
# would turn the value into something a mail client parses differently from what we checked.
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"  # local part: dot-atom characters
    r"@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"  # domain: host name characters
)
_MAX_ADDRESS = 254  # RFC 5321 forward-path limit


def check_address(address: str, *, role: str = "recipient") -> str:
    """Return ``address`` if it is exactly one plain ASCII ``local@domain``; else raise.

    Raises a non-retryable :class:`DeliveryError`: the same address will never become valid.
    """
    if len(address) > _MAX_ADDRESS or not _ADDRESS.fullmatch(address) or ".." in address:
        raise DeliveryError(
            f"{role} {address!r} is not a single plain e-mail address (local@domain; no display "
            "name, list, whitespace or line breaks)",
            retryable=False,
        )
    return address


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpChannel:
    """Deliver notifications through one SMTP relay (submission on ``host:port``).

    ``username``/``password`` enable AUTH; outside loopback that requires ``starttls`` so the
    password never crosses a network in clear. The password is kept out of ``repr``, log lines
    and error messages.
    """

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        timeout_s: float = 10.0,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise InputError("smtp: username and password must be given together")
        if username is not None and not starttls and not _is_loopback(host):
            raise InputError(f"smtp: AUTH to {host} needs starttls=True (password in clear)")
        if timeout_s <= 0:
            raise InputError(f"smtp: timeout_s must be positive, got {timeout_s}")
        try:
            self.sender = check_address(sender, role="sender")
        except DeliveryError as error:
            raise InputError(error.detail) from None
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.starttls = starttls
        self.username = username
        self._password = password

    def __repr__(self) -> str:
        auth = "none" if self.username is None else f"{self.username!r} (password redacted)"
        return (
            f"SmtpChannel(host={self.host!r}, port={self.port}, sender={self.sender!r}, "
            f"starttls={self.starttls}, auth={auth})"
        )

    def compose(self, message: OutboundMessage) -> EmailMessage:
        """Build the MIME message for ``message``; raises a non-retryable DeliveryError."""
        tlp = check_common_fields(message)
        recipient = check_address(message.recipient)
        if "\r" in message.subject or "\n" in message.subject:
            raise DeliveryError("subject must be a single line", retryable=False)
        try:
            attachment = orjson.dumps(dict(message.payload), option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError) as error:
            raise DeliveryError(
                f"payload is not JSON-serialisable: {error}", retryable=False
            ) from error

        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = recipient
        email["Subject"] = f"[TLP:{tlp.value}] {message.subject}"
        email["Date"] = formatdate(usegmt=True)
        # A stable Message-ID lets the receiving side drop the copy a retry may produce.
        email["Message-ID"] = f"<{message.idempotency_key}@clearinghouse>"
        email["X-Clearinghouse-Idempotency-Key"] = message.idempotency_key
        email["X-TLP"] = tlp.value
        email.set_content(message.body_text)
        email.add_attachment(
            attachment, maintype="application", subtype="json", filename="notification.json"
        )
        return email

    def deliver(self, message: OutboundMessage) -> None:
        email = self.compose(message)
        where = f"smtp {self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
                smtp.send_message(email, from_addr=self.sender, to_addrs=[message.recipient])
        except smtplib.SMTPRecipientsRefused as error:
            # One recipient only, so the dict holds exactly its reply.
            code, reply = next(iter(error.recipients.values()))
            raise _reply_error(where, "recipient refused", code, reply) from None
        except smtplib.SMTPResponseException as error:
            # Sender refused, DATA refused, greeting/HELO refused, authentication failed: the
            # reply code decides (smtplib puts only the server's reply in these, no password).
            raise _reply_error(
                where, type(error).__name__, error.smtp_code, error.smtp_error
            ) from error
        except smtplib.SMTPNotSupportedError as error:
            # STARTTLS or AUTH configured but not offered: a configuration problem, not a blip.
            raise DeliveryError(f"{where}: {error}", retryable=False) from None
        except (smtplib.SMTPException, OSError) as error:
            # Disconnects, refused connections, timeouts, TLS handshakes: may work later.
            raise DeliveryError(
                f"{where}: {type(error).__name__}: {error}", retryable=True
            ) from error
        _log.info("e-mail %s accepted by %s", message.idempotency_key, where)


def _reply_error(where: str, what: str, code: int, reply: bytes | str) -> DeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    # 4xx is the SMTP way of saying "try again later"; 5xx (and anything odd) is final.
    retryable = 400 <= code < 500
    return DeliveryError(f"{where}: {what}: {code} {text}", retryable=retryable)
