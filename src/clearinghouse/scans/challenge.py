"""Ownership challenges: prove control of a domain by a DNS TXT record or an HTTP well-known file.

Before the clearinghouse lets anyone scan a scope, the operator claiming it publishes a random
token that only the clearinghouse and the operator know. :func:`new_challenge` issues the token
for a DNS name (a hostname, a domain, or a reverse zone such as ``2.0.192.in-addr.arpa``) and
says where to publish it; :func:`verify_dns` and :func:`verify_http` fetch it back and compare.

Both verifiers report failures (missing record, wrong value, timeout, HTTP error, oversize body)
as a ``ChallengeResult`` with ``ok=False`` and a short, bounded ``detail`` saying what was found;
they raise :class:`~clearinghouse.core.errors.InputError` only when the *caller* passed something
unusable (a bad domain, nameserver or base URL).

What this module does not do: store challenges or decide how long they stay valid (the caller
keeps the token and the issue time), pick the base URL (the caller must derive it from the
claimed domain, otherwise the proof proves nothing), validate DNSSEC (it trusts the resolver it
is pointed at), follow HTTP redirects (none at all, so a claim cannot be satisfied by another
host), or resolve whether a network's addresses belong to the reverse zone being claimed.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
import httpx
import idna

from clearinghouse.core.errors import InputError

DNS_LABEL: Final = "_clearinghouse-challenge"
VALUE_PREFIX: Final = "clearinghouse-verification="
WELL_KNOWN_PREFIX: Final = "/.well-known/clearinghouse-verification/"

# 32 random bytes = 256 bits, twice the 128-bit floor, so guessing is not a strategy.
_TOKEN_BYTES: Final = 32
# RFC 1035 caps a name at 255 octets on the wire, i.e. 253 characters in dotted text; the
# challenge name adds our label in front, so the claimed domain must leave room for it.
_MAX_NAME_CHARS: Final = 253
_MAX_DOMAIN_CHARS: Final = _MAX_NAME_CHARS - len(DNS_LABEL) - 1
# Details end up in API responses and logs; whatever a remote server sends must not bloat them.
MAX_DETAIL_CHARS: Final = 300
_PREVIEW_CHARS: Final = 80
_MAX_PREVIEWS: Final = 3
_USER_AGENT: Final = "clearinghouse-challenge/1"


@dataclass(frozen=True, slots=True)
class Challenge:
    """Where and what to publish: a TXT record at ``dns_name`` or a file at ``http_path``."""

    token: str
    dns_name: str
    dns_value: str
    http_path: str


@dataclass(frozen=True, slots=True)
class ChallengeResult:
    """Outcome of one verification; ``method`` is ``"dns"`` or ``"http"``."""

    ok: bool
    method: str
    detail: str


def new_challenge(domain: str) -> Challenge:
    """Issue a fresh challenge for ``domain``; raise InputError if it is not a usable DNS name.

    The domain is normalised to lowercase ASCII (IDNA 2008 with UTS 46 mapping, so
    ``Bücher.Example`` becomes ``xn--bcher-kva.example``); a trailing dot is dropped.
    """
    name = normalise_domain(domain)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    value = f"{VALUE_PREFIX}{token}"
    return Challenge(
        token=token,
        dns_name=f"{DNS_LABEL}.{name}",
        dns_value=value,
        http_path=f"{WELL_KNOWN_PREFIX}{token}",
    )


def normalise_domain(domain: str) -> str:
    """Return ``domain`` as lowercase IDNA A-labels without a trailing dot, or raise InputError.

    Refused: empty names, wildcards, single labels (a TLD or a bare host is never a claimable
    scope, and resolvers complete bare names with local search domains), labels that are not
    letter-digit-hyphen after IDNA (so no underscores or spaces), an all-numeric last label (an
    IP address is not a domain), and names too long to carry the challenge label in front.
    """
    text = domain[:-1] if domain.endswith(".") else domain
    if not text:
        raise InputError("domain must not be empty")
    # Cheap bound before IDNA so a megabyte of input costs nothing and never reaches an error
    # message; generous because UTS 46 may drop characters (e.g. zero-width joiners).
    if len(text) > 4 * _MAX_NAME_CHARS:
        raise InputError(f"domain must be at most {_MAX_DOMAIN_CHARS} characters long")
    if "*" in text:
        raise InputError(f"domain must not be a wildcard: {_preview(text)}")
    try:
        # std3_rules refuses anything but letters, digits and hyphens; uts46 lowercases and
        # maps compatibility characters first, as browsers do, so the A-label is canonical.
        ascii_name = idna.encode(text, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        reason = _bounded(str(error))
        raise InputError(f"domain {_preview(text)} is not a valid DNS name: {reason}") from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InputError(f"domain {_preview(text)} must have at least two labels")
    if labels[-1].isdigit():
        raise InputError(f"domain {_preview(text)} looks like an IP address, not a DNS name")
    if len(ascii_name) > _MAX_DOMAIN_CHARS:
        raise InputError(f"domain must be at most {_MAX_DOMAIN_CHARS} characters long")
    return ascii_name


def verify_dns(
    challenge: Challenge,
    *,
    nameservers: Sequence[str] | None = None,
    port: int = 53,
    timeout_s: float = 5.0,
) -> ChallengeResult:
    """Look up TXT at ``challenge.dns_name``; ok when one record equals ``challenge.dns_value``.

    ``nameservers`` are IP addresses queried directly (no system configuration is read);
    ``None`` uses the system resolver configuration. A record split into several
    character-strings (needed beyond 255 bytes) is joined before comparing, as SPF and ACME do;
    separate records are compared one by one. ``timeout_s`` bounds the whole lookup, including
    retries and the TCP retry after a truncated UDP answer.
    """
    if timeout_s <= 0:
        raise InputError("timeout_s must be positive")
    try:
        qname = dns.name.from_text(challenge.dns_name)
    except dns.exception.DNSException as error:
        raise InputError(f"challenge DNS name is not valid: {error}") from None
    try:
        resolver = _resolver(nameservers, port=port, timeout_s=timeout_s)
        answer = resolver.resolve(qname, dns.rdatatype.TXT, search=False)
    except dns.resolver.NXDOMAIN:
        return _dns_failure(f"{challenge.dns_name} does not exist (NXDOMAIN)")
    except dns.resolver.NoAnswer:
        return _dns_failure(f"{challenge.dns_name} exists but has no TXT record")
    except dns.exception.Timeout:
        return _dns_failure(f"no answer for {challenge.dns_name} within {timeout_s:g} s")
    except dns.resolver.NoNameservers as error:
        return _dns_failure(f"every nameserver failed for {challenge.dns_name}: {error}")
    except dns.exception.DNSException as error:
        return _dns_failure(f"lookup of {challenge.dns_name} failed: {error}")

    expected = challenge.dns_value.encode("ascii")
    found: list[bytes] = []
    matched = False
    for rdata in answer:
        value = b"".join(rdata.strings)
        found.append(value)
        # Keep comparing after a match so the time taken does not depend on which record held it.
        matched = hmac.compare_digest(value, expected) or matched
    if matched:
        return ChallengeResult(ok=True, method="dns", detail=f"TXT at {challenge.dns_name} matches")
    return _dns_failure(
        f"no TXT record at {challenge.dns_name} matches; found {len(found)}: {_previews(found)}"
    )


def verify_http(
    challenge: Challenge,
    *,
    base_url: str,
    timeout_s: float = 5.0,
    transport: httpx.BaseTransport | None = None,
    max_bytes: int = 4096,
) -> ChallengeResult:
    """GET ``base_url + challenge.http_path``; ok on status 200 with body ``challenge.dns_value``.

    Surrounding whitespace in the body is ignored. Redirects are never followed, any other
    status is a failure, and a body longer than ``max_bytes`` (declared or actually sent) is a
    failure that stops reading at once. The body must be sent without content coding so that
    the bytes counted are the bytes compared (no decompression bomb can get past the limit).
    Environment proxies are ignored: the proof must come from the claimed host itself.
    """
    if timeout_s <= 0:
        raise InputError("timeout_s must be positive")
    if max_bytes < 1:
        raise InputError("max_bytes must be positive")
    url = _challenge_url(base_url, challenge.http_path)
    expected = challenge.dns_value.encode("ascii")
    # httpx timeouts apply per network operation; this deadline bounds a server that trickles.
    deadline = time.monotonic() + timeout_s
    try:
        with (
            httpx.Client(
                transport=transport,
                timeout=timeout_s,
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.is_redirect:
                location = response.headers.get("location", "")
                return _http_failure(
                    f"HTTP {response.status_code} redirect to {_preview(location)} not followed"
                )
            if response.status_code != 200:
                return _http_failure(f"HTTP {response.status_code} from {url}")
            coding = response.headers.get("content-encoding", "identity").strip().lower()
            if coding != "identity":
                return _http_failure(f"body uses content coding {_preview(coding)}; need none")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                return _http_failure(f"body declared {declared} bytes, over {max_bytes}")
            body = bytearray()
            for chunk in response.iter_raw():
                body += chunk
                if len(body) > max_bytes:
                    return _http_failure(f"body longer than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    return _http_failure(f"body not complete within {timeout_s:g} s")
    except httpx.TimeoutException:
        return _http_failure(f"no response from {url} within {timeout_s:g} s")
    except httpx.HTTPError as error:
        return _http_failure(f"request to {url} failed: {type(error).__name__}: {error}")

    if hmac.compare_digest(bytes(body).strip(), expected):
        return ChallengeResult(ok=True, method="http", detail=f"body at {url} matches")
    return _http_failure(f"body at {url} does not match; found {_previews([bytes(body).strip()])}")


def _resolver(
    nameservers: Sequence[str] | None, *, port: int, timeout_s: float
) -> dns.resolver.Resolver:
    if nameservers is None:
        resolver = dns.resolver.Resolver(configure=True)
    else:
        if isinstance(nameservers, str) or not nameservers:
            raise InputError("nameservers must be a non-empty list of IP addresses")
        for server in nameservers:
            try:
                ipaddress.ip_address(server)
            except ValueError:
                raise InputError(f"nameserver {_preview(server)} is not an IP address") from None
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(nameservers)
    if not 0 < port < 65536:
        raise InputError(f"port {port} is out of range")
    resolver.port = port
    resolver.timeout = timeout_s
    resolver.lifetime = timeout_s
    # A fresh resolver per check and no cache: a record just published must be seen, and one
    # just removed must not linger.
    resolver.cache = None
    return resolver


def _challenge_url(base_url: str, http_path: str) -> str:
    try:
        parsed = httpx.URL(base_url)
    except httpx.InvalidURL as error:
        raise InputError(f"base_url is not a valid URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InputError("base_url must be an http or https URL with a host")
    if parsed.userinfo or parsed.query or parsed.fragment:
        raise InputError("base_url must not carry credentials, a query or a fragment")
    return base_url.rstrip("/") + http_path


def _dns_failure(detail: str) -> ChallengeResult:
    return ChallengeResult(ok=False, method="dns", detail=_bounded(detail))


def _http_failure(detail: str) -> ChallengeResult:
    return ChallengeResult(ok=False, method="http", detail=_bounded(detail))


def _bounded(detail: str) -> str:
    if len(detail) <= MAX_DETAIL_CHARS:
        return detail
    return detail[: MAX_DETAIL_CHARS - 1] + "…"


def _previews(values: Sequence[bytes]) -> str:
    shown = ", ".join(_preview(value) for value in values[:_MAX_PREVIEWS])
    if len(values) > _MAX_PREVIEWS:
        shown += f", and {len(values) - _MAX_PREVIEWS} more"
    return shown or "nothing"


def _preview(value: bytes | str) -> str:
    """A quoted, escaped, shortened rendering of remote or user text (no control characters)."""
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
    if len(text) > _PREVIEW_CHARS:
        return f"{text[:_PREVIEW_CHARS]!r}… ({len(value)} {_unit(value)})"
    return repr(text)


def _unit(value: bytes | str) -> str:
    return "bytes" if isinstance(value, bytes) else "characters"
