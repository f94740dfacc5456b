"""RFC 9116 ``security.txt`` -> :class:`SecurityTxt`: where and how an organization takes reports.

Reads the fields of RFC 9116 §2.5 (Acknowledgments, Canonical, Contact, Encryption, Expires,
Hiring, Policy, Preferred-Languages) and the ``CSAF`` field that CSAF 2.0 requirement 8 adds
(the URL of the organization's ``provider-metadata.json``). Field names are case-insensitive,
``#`` starts a comment, lines end in CRLF or LF. An OpenPGP cleartext-signed file
(``-----BEGIN PGP SIGNED MESSAGE-----``) is unwrapped and its signed text read; text outside
the signed block is refused rather than silently trusted or dropped.

Refused with ``InputError`` naming the line: no Contact, Expires more than once or not an RFC 3339
date-time, bytes that are not UTF-8, a line over 2,048 characters, a malformed signed block;
with ``TooLargeError``, a file over 64 KiB. What RFC 9116 only recommends, or what a reader can
still use, becomes a ``warnings`` entry instead: no Expires, Expires more than a year ahead,
an ``http://`` URI, a Contact that is not a URI, an unknown field (kept in ``extra``), a line
that is not a field, a signed file without Canonical.

It does not verify the OpenPGP signature (``signed`` only says the file was signed; checking it
needs the organization's key, which this module does not have), fetch anything, check that the
file was served from a Canonical URI, or validate URIs beyond their scheme. ``expired`` is
relative to the ``now`` passed in; nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from clearinghouse.core.errors import InputError, TooLargeError

MAX_BYTES: Final = 64 * 1024
MAX_LINE_CHARS: Final = 2048
RECOMMENDED_MAX_VALIDITY: Final = dt.timedelta(days=366)
"""RFC 9116 §2.5.5 recommends Expires "less than a year into the future"; 366 days is a year
even across a leap day, so the warning never fires for a file that follows the advice."""

_SIGNED_BEGIN: Final = "-----BEGIN PGP SIGNED MESSAGE-----"
_SIGNATURE_BEGIN: Final = "-----BEGIN PGP SIGNATURE-----"
_SIGNATURE_END: Final = "-----END PGP SIGNATURE-----"
# RFC 5322 field-name: printable ASCII except the colon; RFC 9116 §3 "fs" is the colon.
_FIELD: Final = re.compile(r"([\x21-\x39\x3b-\x7e]+):(.*)")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# RFC 3339 §5.6 date-time; "t" and "z" may be lower case (its §5.6 note).
_DATE_TIME: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+\-]\d{2}:\d{2})"
)
_URI_FIELDS: Final = frozenset(
    {"acknowledgments", "canonical", "contact", "encryption", "hiring", "policy", "csaf"}
)


@dataclass(frozen=True, slots=True)
class SecurityTxt:
    """The fields of one security.txt, each in file order; ``expires`` is in UTC."""

    contacts: tuple[str, ...]
    expires: dt.datetime | None
    encryption: tuple[str, ...] = ()
    acknowledgments: tuple[str, ...] = ()
    preferred_languages: tuple[str, ...] = ()
    canonical: tuple[str, ...] = ()
    policy: tuple[str, ...] = ()
    hiring: tuple[str, ...] = ()
    csaf: tuple[str, ...] = ()
    signed: bool = False
    expired: bool = False
    extra: tuple[tuple[str, str], ...] = ()  # unknown fields: (name as written, value)
    warnings: tuple[str, ...] = field(default=())


def parse_security_txt(data: bytes, *, now: dt.datetime) -> SecurityTxt:
    """Parse ``data``; ``now`` (timezone-aware) decides ``expired`` and the one-year warning."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("parse_security_txt: now must be timezone-aware")
    if len(data) > MAX_BYTES:
        raise TooLargeError(f"security.txt: {len(data)} bytes; at most {MAX_BYTES} (64 KiB)")
    warnings: list[str] = []
    text = _decode(data)
    if text.startswith("\ufeff"):
        text = text[1:]
        warnings.append("line 1: starts with a byte-order mark; ignored")
    lines = _lines(text)
    lines, signed = _unwrap_signed(lines)
    return _Fields(now, warnings).read(lines, signed=signed)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(f"security.txt line {line}: not valid UTF-8 (RFC 9116 §3)") from None


def _lines(text: str) -> list[tuple[int, str]]:
    """Numbered lines without their CRLF/LF; ``str.splitlines`` would also split on \\x0b etc."""
    numbered = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if len(line) > MAX_LINE_CHARS:
            raise InputError(f"security.txt line {number}: longer than {MAX_LINE_CHARS} characters")
        numbered.append((number, line))
    return numbered


def _unwrap_signed(lines: list[tuple[int, str]]) -> tuple[list[tuple[int, str]], bool]:
    """The signed text of an OpenPGP cleartext signature (RFC 9580 §7), or the lines as they are."""
    starts = [i for i, (_, line) in enumerate(lines) if line.strip() == _SIGNED_BEGIN]
    if not starts:
        return lines, False
    start = starts[0]
    for number, line in lines[:start]:
        if line.strip():
            raise InputError(f"security.txt line {number}: text before the signed block")
    # Armor headers ("Hash: SHA256") run up to the first blank line.
    cursor = start + 1
    while cursor < len(lines) and lines[cursor][1].strip():
        cursor += 1
    if cursor >= len(lines):
        raise InputError(
            f"security.txt line {lines[start][0]}: signed block without a blank line after "
            "its armor headers"
        )
    body_start = cursor + 1
    sig_begin = next(
        (i for i in range(body_start, len(lines)) if lines[i][1].strip() == _SIGNATURE_BEGIN),
        None,
    )
    if sig_begin is None:
        raise InputError(
            f"security.txt line {lines[start][0]}: signed block without {_SIGNATURE_BEGIN}"
        )
    sig_end = next(
        (i for i in range(sig_begin + 1, len(lines)) if lines[i][1].strip() == _SIGNATURE_END),
        None,
    )
    if sig_end is None:
        raise InputError(
            f"security.txt line {lines[sig_begin][0]}: signature without {_SIGNATURE_END}"
        )
    for number, line in lines[sig_end + 1 :]:
        if line.strip():
            raise InputError(f"security.txt line {number}: text after the signature")
    # Dash-escaping (RFC 9580 §7.2): a signed line that starts with "-" is sent as "- -...".
    body = [
        (n, line[2:] if line.startswith("- ") else line) for n, line in lines[body_start:sig_begin]
    ]
    return body, True


class _Fields:
    """Collects fields line by line; one instance per parse."""

    def __init__(self, now: dt.datetime, warnings: list[str]) -> None:
        self.now = now
        self.warnings = warnings
        self.uris: dict[str, list[str]] = {name: [] for name in _URI_FIELDS}
        self.expires: dt.datetime | None = None
        self.expires_line = 0
        self.languages: tuple[str, ...] | None = None
        self.extra: list[tuple[str, str]] = []

    def read(self, lines: Sequence[tuple[int, str]], *, signed: bool) -> SecurityTxt:
        for number, line in lines:
            self._line(number, line)
        if not self.uris["contact"]:
            raise InputError("security.txt: Contact is required (RFC 9116 §2.5.3)")
        expired = False
        if self.expires is None:
            self.warnings.append("Expires is missing; it is required (RFC 9116 §2.5.5)")
        else:
            expired = self.now > self.expires
            if self.expires - self.now > RECOMMENDED_MAX_VALIDITY:
                self.warnings.append(
                    f"line {self.expires_line}: Expires is more than a year ahead "
                    "(RFC 9116 §2.5.5 recommends less)"
                )
        if signed and not self.uris["canonical"]:
            self.warnings.append("signed, but without a Canonical field (RFC 9116 §2.3)")
        return SecurityTxt(
            contacts=tuple(self.uris["contact"]),
            expires=self.expires,
            encryption=tuple(self.uris["encryption"]),
            acknowledgments=tuple(self.uris["acknowledgments"]),
            preferred_languages=self.languages or (),
            canonical=tuple(self.uris["canonical"]),
            policy=tuple(self.uris["policy"]),
            hiring=tuple(self.uris["hiring"]),
            csaf=tuple(self.uris["csaf"]),
            signed=signed,
            expired=expired,
            extra=tuple(self.extra),
            warnings=tuple(self.warnings),
        )

    def _line(self, number: int, line: str) -> None:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return
        match = _FIELD.fullmatch(stripped)
        if match is None:
            self.warnings.append(f"line {number}: not a field, comment or blank line; ignored")
            return
        name, value = match.group(1), match.group(2).strip()
        key = name.lower()
        if not value:
            self.warnings.append(f"line {number}: {name} has no value; ignored")
        elif key in _URI_FIELDS:
            self._uri(number, name, key, value)
        elif key == "expires":
            self._expires(number, value)
        elif key == "preferred-languages":
            self._languages(number, value)
        else:
            self.extra.append((name, value))
            self.warnings.append(f"line {number}: unknown field {name!r}; kept in extra")

    def _uri(self, number: int, name: str, key: str, value: str) -> None:
        if value[:7].lower() == "http://":
            self.warnings.append(
                f"line {number}: {name} uses http://; web URIs must be https:// (RFC 9116 §2.5)"
            )
        elif key == "contact" and not _SCHEME.match(value):
            self.warnings.append(
                f"line {number}: Contact {value!r} is not a URI (mailto:, https: or tel:)"
            )
        self.uris[key].append(value)

    def _expires(self, number: int, value: str) -> None:
        if self.expires_line:
            raise InputError(
                f"security.txt line {number}: Expires appears more than once (first on line "
                f"{self.expires_line}; RFC 9116 §2.5.5)"
            )
        self.expires = _date_time(number, value)
        self.expires_line = number

    def _languages(self, number: int, value: str) -> None:
        if self.languages is not None:
            self.warnings.append(
                f"line {number}: Preferred-Languages appears more than once; the first is used "
                "(RFC 9116 §2.5.8)"
            )
            return
        self.languages = tuple(tag.strip() for tag in value.split(",") if tag.strip())


def _date_time(number: int, value: str) -> dt.datetime:
    """An RFC 3339 date-time with an offset, in UTC."""
    match = _DATE_TIME.fullmatch(value)
    problem = f"security.txt line {number}: Expires {value[:60]!r} is not an RFC 3339 date-time"
    if match is None:
        raise InputError(f"{problem} such as 2026-12-31T23:59:59Z (RFC 9116 §2.5.5)")
    date, time, fraction, offset = match.groups()
    micro = f".{(fraction or '')[:6].ljust(6, '0')}" if fraction else ""
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return dt.datetime.fromisoformat(f"{date}T{time}{micro}{offset}").astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise InputError(f"{problem} (a field is out of range)") from None
