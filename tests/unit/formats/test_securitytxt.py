"""RFC 9116 security.txt: real-world shapes, signed files, warnings, refusals, arbitrary bytes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.core.errors import InputError, TooLargeError
from clearinghouse.formats.securitytxt import SecurityTxt, parse_security_txt

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)

VENDOR = b"""\
# Security contacts of Example Corp. Please report vulnerabilities in our products here.
# Our PSIRT answers within two business days.

Contact: mailto:psirt@example.com
Contact: https://example.com/security/report
contact: tel:+1-201-555-0123
Encryption: https://example.com/.well-known/pgp-key.txt
Encryption: openpgp4fpr:5f2de5521c63a801ab59ccb603d49de44b29100f
Acknowledgments: https://example.com/security/hall-of-fame
Preferred-Languages: en, de, fr
Canonical: https://example.com/.well-known/security.txt
Policy: https://example.com/security/disclosure-policy
Hiring: https://example.com/careers/security
CSAF: https://example.com/.well-known/csaf/provider-metadata.json
Expires: 2026-12-31T23:59:59.000Z
"""

SIGNED = b"""\
-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

# Signed security.txt of Example Org
Contact: mailto:security@example.org
Expires: 2026-06-30T00:00:00+02:00
Canonical: https://example.org/.well-known/security.txt
- -not a field, dash-escaped by the signer
-----BEGIN PGP SIGNATURE-----

iHUEARYKAB0WIQRvVSm3d7dVSm3d7dVSm3d7dVSm3wUCZQAAAAAACgkQb1Upt3e3
VUnd7wEA3yR3Wl1uT3Ckwo5R0dH3kA3H0uM2k8X8wJ1q7mX8m2oA/3Ck9u3kR8A=
=AbCd
-----END PGP SIGNATURE-----
"""


def parse(data: bytes) -> SecurityTxt:
    return parse_security_txt(data, now=NOW)


def test_vendor_file_with_every_field() -> None:
    parsed = parse(VENDOR)
    assert parsed.contacts == (
        "mailto:psirt@example.com",
        "https://example.com/security/report",
        "tel:+1-201-555-0123",
    )
    assert parsed.encryption == (
        "https://example.com/.well-known/pgp-key.txt",
        "openpgp4fpr:5f2de5521c63a801ab59ccb603d49de44b29100f",
    )
    assert parsed.acknowledgments == ("https://example.com/security/hall-of-fame",)
    assert parsed.preferred_languages == ("en", "de", "fr")
    assert parsed.canonical == ("https://example.com/.well-known/security.txt",)
    assert parsed.policy == ("https://example.com/security/disclosure-policy",)
    assert parsed.hiring == ("https://example.com/careers/security",)
    assert parsed.csaf == ("https://example.com/.well-known/csaf/provider-metadata.json",)
    assert parsed.expires == dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert not parsed.expired
    assert not parsed.signed
    assert parsed.extra == ()
    assert parsed.warnings == ()


def test_crlf_line_endings_parse_the_same() -> None:
    assert parse(VENDOR.replace(b"\n", b"\r\n")) == parse(VENDOR)


def test_signed_file_is_unwrapped() -> None:
    parsed = parse(SIGNED)
    assert parsed.signed
    assert parsed.contacts == ("mailto:security@example.org",)
    assert parsed.expires == dt.datetime(2026, 6, 29, 22, 0, tzinfo=dt.UTC)  # +02:00 -> UTC
    assert parsed.canonical == ("https://example.org/.well-known/security.txt",)
    # The dash-escaped line is read unescaped ("-not a field, …"), which is not a field.
    assert parsed.warnings == ("line 8: not a field, comment or blank line; ignored",)


def test_signed_file_with_crlf() -> None:
    assert parse(SIGNED.replace(b"\n", b"\r\n")) == parse(SIGNED)


def test_the_signature_block_is_not_read_as_fields() -> None:
    # Without the armor, the base64 lines would produce "not a field" warnings.
    assert not any("line 11" in w or "line 13" in w for w in parse(SIGNED).warnings)


def test_signed_without_canonical_warns() -> None:
    data = SIGNED.replace(b"Canonical: https://example.org/.well-known/security.txt\n", b"")
    assert "signed, but without a Canonical field (RFC 9116 §2.3)" in parse(data).warnings


def test_field_names_are_case_insensitive_and_comments_ignored() -> None:
    data = b"# Contact: mailto:commented@example.com\nCONTACT: mailto:a@example.com\n"
    data += b"eXpIrEs: 2026-12-01T00:00:00Z\npreferred-LANGUAGES: nl\n"
    parsed = parse(data)
    assert parsed.contacts == ("mailto:a@example.com",)
    assert parsed.expires == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert parsed.preferred_languages == ("nl",)


def test_expired_is_relative_to_now() -> None:
    data = b"Contact: mailto:a@example.com\nExpires: 2026-02-28T00:00:00Z\n"
    assert parse_security_txt(data, now=NOW).expired
    earlier = dt.datetime(2026, 2, 27, tzinfo=dt.UTC)
    assert not parse_security_txt(data, now=earlier).expired


def test_rfc3339_variants() -> None:
    for text, expected in [
        (b"2026-12-31t23:59:59z", dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC)),
        (
            b"2026-12-31T23:59:59.123456789Z",
            dt.datetime(2026, 12, 31, 23, 59, 59, 123456, tzinfo=dt.UTC),
        ),
        (b"2027-01-01T01:00:00+01:00", dt.datetime(2027, 1, 1, tzinfo=dt.UTC)),
    ]:
        assert parse(b"Contact: mailto:a@example.com\nExpires: " + text).expires == expected


# --- warnings ------------------------------------------------------------------------------


def test_missing_expires_warns() -> None:
    parsed = parse(b"Contact: mailto:a@example.com\n")
    assert parsed.expires is None
    assert not parsed.expired
    assert parsed.warnings == ("Expires is missing; it is required (RFC 9116 §2.5.5)",)


def test_expires_more_than_a_year_ahead_warns() -> None:
    parsed = parse(b"Contact: mailto:a@example.com\nExpires: 2028-01-01T00:00:00Z\n")
    assert parsed.warnings == (
        "line 2: Expires is more than a year ahead (RFC 9116 §2.5.5 recommends less)",
    )
    assert parse(b"Contact: mailto:a@example.com\nExpires: 2027-02-28T00:00:00Z\n").warnings == ()


def test_http_contact_and_bare_address_warn_but_are_kept() -> None:
    data = b"Contact: http://example.com/report\nContact: security@example.com\n"
    data += b"Policy: HTTP://example.com/policy\nExpires: 2026-12-01T00:00:00Z\n"
    parsed = parse(data)
    assert parsed.contacts == ("http://example.com/report", "security@example.com")
    assert parsed.policy == ("HTTP://example.com/policy",)
    assert parsed.warnings == (
        "line 1: Contact uses http://; web URIs must be https:// (RFC 9116 §2.5)",
        "line 2: Contact 'security@example.com' is not a URI (mailto:, https: or tel:)",
        "line 3: Policy uses http://; web URIs must be https:// (RFC 9116 §2.5)",
    )


def test_unknown_fields_are_kept_in_extra() -> None:
    data = b"Contact: mailto:a@example.com\nExpires: 2026-12-01T00:00:00Z\n"
    data += b"Bug-Bounty: https://example.com/bounty\nX-Team: red\n"
    parsed = parse(data)
    assert parsed.extra == (("Bug-Bounty", "https://example.com/bounty"), ("X-Team", "red"))
    assert parsed.warnings == (
        "line 3: unknown field 'Bug-Bounty'; kept in extra",
        "line 4: unknown field 'X-Team'; kept in extra",
    )


def test_repeated_preferred_languages_keeps_the_first() -> None:
    data = b"Contact: mailto:a@example.com\nExpires: 2026-12-01T00:00:00Z\n"
    data += b"Preferred-Languages: en\nPreferred-Languages: de\n"
    parsed = parse(data)
    assert parsed.preferred_languages == ("en",)
    assert "line 4: Preferred-Languages appears more than once" in parsed.warnings[0]


def test_byte_order_mark_is_tolerated() -> None:
    parsed = parse(b"\xef\xbb\xbfContact: mailto:a@example.com\nExpires: 2026-12-01T00:00:00Z\n")
    assert parsed.contacts == ("mailto:a@example.com",)
    assert parsed.warnings == ("line 1: starts with a byte-order mark; ignored",)


# --- refusals ------------------------------------------------------------------------------


def test_contact_is_required() -> None:
    with pytest.raises(InputError) as caught:
        parse(b"# nothing here\nExpires: 2026-12-01T00:00:00Z\nPolicy: https://e.example/p\n")
    assert str(caught.value) == "security.txt: Contact is required (RFC 9116 §2.5.3)"


def test_empty_file_has_no_contact() -> None:
    with pytest.raises(InputError, match="Contact is required"):
        parse(b"")


def test_expires_twice_names_the_line() -> None:
    data = b"Contact: mailto:a@example.com\nExpires: 2026-12-01T00:00:00Z\n\n"
    data += b"expires: 2026-11-01T00:00:00Z\n"
    with pytest.raises(InputError, match=r"line 4: Expires appears more than once"):
        parse(data)


@pytest.mark.parametrize(
    "value",
    [
        b"2026-12-31",  # a date alone, common in the wild
        b"Thu, 31 Dec 2026 23:59:59 +0000",  # RFC 5322, not RFC 3339
        b"2026-12-31T23:59:59",  # no offset
        b"2026-13-01T00:00:00Z",  # month 13
        b"2026-02-30T00:00:00Z",
        b"0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        b"2026-12-31 23:59:59Z",
    ],
)
def test_invalid_expires_names_the_line(value: bytes) -> None:
    with pytest.raises(InputError, match=r"line 3: Expires .* is not an RFC 3339 date-time"):
        parse(b"Contact: mailto:a@example.com\n\nExpires: " + value + b"\n")


def test_non_utf8_names_the_line() -> None:
    with pytest.raises(InputError, match=r"line 3: not valid UTF-8"):
        parse(b"Contact: mailto:a@example.com\n# ok\nPolicy: https://e.example/\xff\n")


def test_over_64_kib_is_too_large() -> None:
    data = b"Contact: mailto:a@example.com\n" + b"# padding\n" * 7000
    assert len(data) > 64 * 1024
    with pytest.raises(TooLargeError, match="64 KiB"):
        parse(data)
    parse(data[: 64 * 1024])  # the limit itself is fine


def test_a_line_over_2048_characters_names_the_line() -> None:
    data = b"Contact: mailto:a@example.com\nPolicy: https://e.example/" + b"a" * 2100 + b"\n"
    with pytest.raises(InputError, match=r"line 2: longer than 2048 characters"):
        parse(data)
    # 2,048 characters of multi-byte text are fine: the limit counts characters.
    ok = b"Contact: mailto:a@example.com\n# " + "é".encode() * 2046 + b"\n"
    parse(ok)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SIGNED.split(b"-----BEGIN PGP SIGNATURE-----")[0], "without -----BEGIN PGP SIGNATURE"),
        (SIGNED.replace(b"-----END PGP SIGNATURE-----\n", b""), "without -----END PGP SIGNATURE"),
        (b"Contact: mailto:unsigned@example.com\n" + SIGNED, "line 1: text before the signed"),
        (SIGNED + b"Contact: mailto:unsigned@example.com\n", "line 15: text after the signature"),
        (b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256", "blank line after its armor"),
    ],
)
def test_malformed_signed_blocks_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse(data)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_security_txt(VENDOR, now=dt.datetime(2026, 1, 1))


# --- arbitrary input: parse or InputError, nothing else ----------------------------------------


def _parse_or_input_error(data: bytes) -> None:
    try:
        parsed = parse(data)
    except InputError:
        return
    assert parsed.contacts  # anything that parses has a contact


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_parse_or_raise_input_error(data: bytes) -> None:
    _parse_or_input_error(data)


FIELD_NAMES = st.sampled_from(
    [
        "Contact",
        "Encryption",
        "Policy",
        "Canonical",
        "CSAF",
        "Hiring",
        "Acknowledgments",
        "Preferred-Languages",
        "X-Other",
        "contact",
    ]
)
OFFSETS = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=-12)), dt.timezone(dt.timedelta(hours=14))]
)
LINES = st.one_of(
    st.builds(lambda name, value: f"{name}: {value}", FIELD_NAMES, st.text(max_size=40)),
    st.builds(lambda d: f"EXPIRES: {d.isoformat()}", st.datetimes(timezones=OFFSETS)),
    st.sampled_from(
        [
            "",
            "# comment",
            "-----BEGIN PGP SIGNED MESSAGE-----",
            "Hash: SHA256",
            "-----BEGIN PGP SIGNATURE-----",
            "-----END PGP SIGNATURE-----",
            "- Contact: mailto:escaped@example.com",
            "Expires: 9999-12-31T23:59:59-01:00",
            "Expires: 0001-01-01T00:00:00+00:00",
            "Expires: 2026-12-31",
        ]
    ),
    st.text(max_size=60),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(LINES, max_size=30),
    st.integers(min_value=0),
    st.booleans(),
    st.sampled_from(["\n", "\r\n"]),
)
def test_field_like_input_parses_or_raises_input_error(
    lines: list[str], position: int, with_contact: bool, newline: str
) -> None:
    if with_contact:  # most random files lack a Contact; give half of them one somewhere
        lines.insert(position % (len(lines) + 1), "Contact: mailto:a@example.com")
    _parse_or_input_error(newline.join(lines).encode("utf-8", "surrogatepass"))
