"""Ownership challenges verified against a real DNS server and a real HTTP server on 127.0.0.1.

The DNS server is dnslib's (UDP and TCP on one port, answering TXT from a dict, NXDOMAIN for
unknown names, and truncating UDP answers over 512 bytes as a server without EDNS must); the
HTTP server is the standard library's, serving pages from a dict and recording every request.
"""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import DNSLogger, DNSServer

from clearinghouse.core.errors import InputError
from clearinghouse.scans.challenge import (
    MAX_DETAIL_CHARS,
    Challenge,
    new_challenge,
    verify_dns,
    verify_http,
)

DOMAIN = "example.test"
UDP_LIMIT = 512  # the classic limit of a DNS message over UDP without EDNS

# --- DNS server ---------------------------------------------------------------------------


class TxtZone:
    """dnslib resolver: ``records`` maps a lowercase name (no trailing dot) to its TXT records,
    each a list of character-strings; a name absent from it gets NXDOMAIN; a UDP answer over 512
    bytes is sent truncated. ``queries`` records
    ``(protocol, name)`` for every question, so tests can tell UDP from TCP."""

    def __init__(self) -> None:
        self.records: dict[str, list[list[bytes]]] = {}
        self.queries: list[tuple[str, str]] = []

    def resolve(self, request: Any, handler: Any) -> Any:
        name = str(request.q.qname).rstrip(".").lower()
        self.queries.append((handler.protocol, name))
        reply = request.reply()
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for strings in self.records[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(strings), ttl=60))
        if handler.protocol == "udp" and len(reply.pack()) > UDP_LIMIT:
            # As a server without EDNS must: TC set, question kept, records only over TCP.
            # (dnslib's own truncation also drops the question, which resolvers reject.)
            reply = request.reply()
            reply.header.tc = 1
        return reply


@dataclass
class DnsServer:
    zone: TxtZone
    port: int


def _start(server: Any) -> threading.Thread:
    # A short poll interval keeps shutdown (twice per test) from costing a second.
    thread = threading.Thread(
        target=server.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    return thread


def _stop(server: Any, thread: threading.Thread) -> None:
    server.server.shutdown()
    server.server.server_close()
    thread.join()


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    zone = TxtZone()
    quiet = DNSLogger(logf=lambda _line: None)
    # UDP and TCP must share a port (a resolver retries a truncated answer on the same port),
    # so take a free UDP port and retry if its TCP twin happens to be taken.
    for _ in range(20):
        udp = DNSServer(zone, address="127.0.0.1", port=0, logger=quiet)
        port = udp.server.server_address[1]
        try:
            tcp = DNSServer(zone, address="127.0.0.1", port=port, tcp=True, logger=quiet)
        except OSError:
            udp.server.server_close()
            continue
        break
    else:
        pytest.fail("no port free for both UDP and TCP on 127.0.0.1")
    threads = [_start(udp), _start(tcp)]
    yield DnsServer(zone, port)
    _stop(udp, threads[0])
    _stop(tcp, threads[1])


def check_dns(challenge: Challenge, server: DnsServer, **options: Any) -> Any:
    return verify_dns(challenge, nameservers=["127.0.0.1"], port=server.port, **options)


def split(value: bytes, size: int = 255) -> list[bytes]:
    return [value[i : i + size] for i in range(0, len(value), size)]


def test_dns_matching_record_is_ok(dns_server: DnsServer) -> None:
    challenge = new_challenge(DOMAIN)
    dns_server.zone.records[challenge.dns_name] = [[challenge.dns_value.encode()]]
    result = check_dns(challenge, dns_server)
    assert result.ok, result.detail
    assert result.method == "dns"
    assert ("udp", f"_clearinghouse-challenge.{DOMAIN}") in dns_server.zone.queries


def test_dns_wrong_value_is_not_ok_and_says_what_was_found(dns_server: DnsServer) -> None:
    challenge = new_challenge(DOMAIN)
    stale = new_challenge(DOMAIN)
    dns_server.zone.records[challenge.dns_name] = [[stale.dns_value.encode()]]
    result = check_dns(challenge, dns_server)
    assert not result.ok
    assert result.method == "dns"
    assert stale.token in result.detail
    assert challenge.token not in result.detail


def test_dns_missing_name_is_not_ok(dns_server: DnsServer) -> None:
    challenge = new_challenge(DOMAIN)
    result = check_dns(challenge, dns_server)
    assert not result.ok
    assert "NXDOMAIN" in result.detail
    assert challenge.dns_name in result.detail


def test_dns_name_without_txt_is_not_ok(dns_server: DnsServer) -> None:
    challenge = new_challenge(DOMAIN)
    dns_server.zone.records[challenge.dns_name] = []
    result = check_dns(challenge, dns_server)
    assert not result.ok
    assert "no TXT record" in result.detail


def test_dns_one_matching_record_among_several_is_ok(dns_server: DnsServer) -> None:
    challenge = new_challenge(DOMAIN)
    dns_server.zone.records[challenge.dns_name] = [
        [b"v=spf1 -all"],
        [new_challenge(DOMAIN).dns_value.encode()],
        [challenge.dns_value.encode()],
        [b"google-site-verification=abc"],
    ]
    assert check_dns(challenge, dns_server).ok


def test_dns_record_split_into_character_strings_is_joined(dns_server: DnsServer) -> None:
    challenge = new_challenge(DOMAIN)
    value = challenge.dns_value.encode()
    dns_server.zone.records[challenge.dns_name] = [[value[:27], value[27:40], value[40:]]]
    assert check_dns(challenge, dns_server).ok


def test_dns_value_longer_than_255_bytes_split_and_joined(dns_server: DnsServer) -> None:
    # Issued tokens are short; a longer one shows that a value which must be split on the wire
    # (a character-string holds at most 255 bytes) is reassembled.
    token = "t" * 400
    challenge = Challenge(
        token=token,
        dns_name=f"_clearinghouse-challenge.{DOMAIN}",
        dns_value=f"clearinghouse-verification={token}",
        http_path=f"/.well-known/clearinghouse-verification/{token}",
    )
    parts = split(challenge.dns_value.encode())
    assert len(parts) == 2
    dns_server.zone.records[challenge.dns_name] = [parts]
    assert check_dns(challenge, dns_server).ok
    # The halves on their own, as separate records, are not the value.
    dns_server.zone.records[challenge.dns_name] = [[part] for part in parts]
    assert not check_dns(challenge, dns_server).ok


def test_dns_truncated_udp_answer_is_retried_over_tcp(dns_server: DnsServer) -> None:
    challenge = new_challenge(DOMAIN)
    filler = [[b"x" * 255] for _ in range(4)]  # pushes the answer past 512 bytes
    dns_server.zone.records[challenge.dns_name] = [*filler, [challenge.dns_value.encode()]]
    result = check_dns(challenge, dns_server)
    assert result.ok, result.detail
    assert ("tcp", challenge.dns_name) in dns_server.zone.queries


def test_dns_detail_is_bounded(dns_server: DnsServer) -> None:
    challenge = new_challenge(DOMAIN)
    dns_server.zone.records[challenge.dns_name] = [split(b"\x00junk" * 400) for _ in range(5)]
    result = check_dns(challenge, dns_server)
    assert not result.ok
    assert len(result.detail) <= MAX_DETAIL_CHARS
    assert "\x00" not in result.detail  # remote bytes are escaped, not echoed raw


def test_dns_server_that_never_answers_times_out() -> None:
    challenge = new_challenge(DOMAIN)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # receives queries, never reads or answers them
        started = time.monotonic()
        result = verify_dns(
            challenge, nameservers=["127.0.0.1"], port=silent.getsockname()[1], timeout_s=0.5
        )
        elapsed = time.monotonic() - started
    assert not result.ok
    assert "within 0.5 s" in result.detail
    assert elapsed < 2.0


def test_dns_refuses_nameservers_that_are_not_addresses() -> None:
    with pytest.raises(InputError):
        verify_dns(new_challenge(DOMAIN), nameservers=["ns1.example.test"])
    with pytest.raises(InputError):
        verify_dns(new_challenge(DOMAIN), nameservers=[])


# --- HTTP server --------------------------------------------------------------------------

STREAM_TOTAL = 256 * 1024 * 1024  # far beyond any socket buffer, so a full read would show


@dataclass
class Page:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # After ``body``, stream STREAM_TOTAL bytes of spaces: without Content-Length (ended by
    # closing the connection) or, with ``declare_length``, announced up front.
    stream: bool = False
    declare_length: bool = False


class ChallengeSite:
    """A ThreadingHTTPServer on 127.0.0.1 serving ``pages`` by path (404 otherwise), recording
    each requested path in ``paths`` and, for streamed pages, how many bytes got out."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.paths: list[str] = []
        self.streamed = 0
        self.stream_ended = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0 (the default): one response per connection, so a body may simply run
            # until the server closes.
            def do_GET(self) -> None:
                site.paths.append(self.path)
                page = site.pages.get(self.path, Page(404, b"not found"))
                self.send_response(page.status)
                for name, value in page.headers:
                    self.send_header(name, value)
                if not page.stream:
                    self.send_header("Content-Length", str(len(page.body)))
                elif page.declare_length:
                    self.send_header("Content-Length", str(len(page.body) + STREAM_TOTAL))
                self.end_headers()
                self.wfile.write(page.body)
                if page.stream:
                    self._stream()

            def _stream(self) -> None:
                chunk = b" " * 65536
                try:
                    while site.streamed < STREAM_TOTAL:
                        self.wfile.write(chunk)
                        site.streamed += len(chunk)
                except OSError:
                    pass  # the client hung up, which is the point
                finally:
                    site.stream_ended.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler


@pytest.fixture
def site() -> Iterator[ChallengeSite]:
    server = ChallengeSite()
    server.start()
    yield server
    server.stop()


def test_http_matching_body_is_ok(site: ChallengeSite) -> None:
    challenge = new_challenge(DOMAIN)
    site.pages[challenge.http_path] = Page(body=challenge.dns_value.encode() + b"\r\n")
    result = verify_http(challenge, base_url=site.base_url + "/")
    assert result.ok, result.detail
    assert result.method == "http"
    assert site.paths == [f"/.well-known/clearinghouse-verification/{challenge.token}"]


def test_http_wrong_body_is_not_ok_and_says_what_was_found(site: ChallengeSite) -> None:
    challenge = new_challenge(DOMAIN)
    site.pages[challenge.http_path] = Page(body=b"clearinghouse-verification=someone-elses")
    result = verify_http(challenge, base_url=site.base_url)
    assert not result.ok
    assert "someone-elses" in result.detail


def test_http_wrong_body_detail_is_bounded(site: ChallengeSite) -> None:
    challenge = new_challenge(DOMAIN)
    site.pages[challenge.http_path] = Page(body=b"<html>" + b"\x1b[2J" * 900 + b"</html>")
    result = verify_http(challenge, base_url=site.base_url)
    assert not result.ok
    assert len(result.detail) <= MAX_DETAIL_CHARS
    assert "\x1b" not in result.detail


def test_http_404_is_not_ok(site: ChallengeSite) -> None:
    result = verify_http(new_challenge(DOMAIN), base_url=site.base_url)
    assert not result.ok
    assert "404" in result.detail


def test_http_redirect_is_not_followed(site: ChallengeSite) -> None:
    challenge = new_challenge(DOMAIN)
    site.pages[challenge.http_path] = Page(
        302, headers=[("Location", f"{site.base_url}/elsewhere")]
    )
    site.pages["/elsewhere"] = Page(body=challenge.dns_value.encode())
    result = verify_http(challenge, base_url=site.base_url)
    assert not result.ok
    assert "302" in result.detail
    assert "/elsewhere" in result.detail
    assert site.paths == [challenge.http_path]  # the target was never fetched


@pytest.mark.parametrize("declare_length", [False, True], ids=["close-delimited", "declared"])
def test_http_huge_body_is_not_read_past_max_bytes(
    site: ChallengeSite, declare_length: bool
) -> None:
    # The right value followed by a sea of whitespace: reading it all and stripping would pass,
    # so only a reader that stops at max_bytes gets this right.
    challenge = new_challenge(DOMAIN)
    site.pages[challenge.http_path] = Page(
        body=challenge.dns_value.encode(), stream=True, declare_length=declare_length
    )
    started = time.monotonic()
    result = verify_http(challenge, base_url=site.base_url, max_bytes=4096)
    elapsed = time.monotonic() - started
    assert not result.ok
    assert "4096" in result.detail
    if declare_length:  # refused on the header, before any of the body is read
        assert "declared" in result.detail
    assert site.stream_ended.wait(10)
    # What got out is bounded by the socket buffers (tens of MiB at most), not the body size.
    assert site.streamed < STREAM_TOTAL // 4
    assert elapsed < 3.0


def test_http_server_that_never_answers_times_out() -> None:
    challenge = new_challenge(DOMAIN)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever reads the request
        host, port = silent.getsockname()
        started = time.monotonic()
        result = verify_http(challenge, base_url=f"http://{host}:{port}", timeout_s=0.5)
        elapsed = time.monotonic() - started
    assert not result.ok
    assert "within 0.5 s" in result.detail
    assert elapsed < 2.0


def test_http_refused_connection_is_not_ok() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        host, port = probe.getsockname()  # closed below, so nothing listens there
    result = verify_http(new_challenge(DOMAIN), base_url=f"http://{host}:{port}", timeout_s=2)
    assert not result.ok
    assert "ConnectError" in result.detail


@pytest.mark.parametrize(
    "base_url", ["ftp://example.test", "example.test", "http://u:p@example.test", "http://x/?q=1"]
)
def test_http_refuses_unusable_base_url(base_url: str) -> None:
    with pytest.raises(InputError):
        verify_http(new_challenge(DOMAIN), base_url=base_url)


# --- issuing ------------------------------------------------------------------------------


def test_challenge_fields_follow_the_published_layout() -> None:
    challenge = new_challenge("Www.Example.COM.")
    assert challenge.dns_name == "_clearinghouse-challenge.www.example.com"
    assert challenge.dns_value == f"clearinghouse-verification={challenge.token}"
    assert challenge.http_path == f"/.well-known/clearinghouse-verification/{challenge.token}"


def test_unicode_domain_becomes_its_idna_form() -> None:
    assert (
        new_challenge("Bücher.example").dns_name == "_clearinghouse-challenge.xn--bcher-kva.example"
    )


def test_reverse_zone_is_a_valid_domain() -> None:
    challenge = new_challenge("2.0.192.in-addr.arpa")
    assert challenge.dns_name == "_clearinghouse-challenge.2.0.192.in-addr.arpa"


def test_tokens_are_unique_long_and_url_safe() -> None:
    tokens = [new_challenge(DOMAIN).token for _ in range(2000)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128


@pytest.mark.parametrize(
    "domain",
    [
        "",
        ".",
        "*.example.com",
        "*",
        "_dmarc.example.com",
        "exa mple.com",
        "example..com",
        "-bad.example.com",
        "localhost",
        "192.0.2.1",
        "a" * 64 + ".example.com",
        ".".join(["a" * 60] * 4) + ".com",  # fits DNS, but not with the challenge label in front
        "x" * 100_000,
        "xn--zz.example",  # not a valid A-label
    ],
)
def test_new_challenge_refuses_bad_domains(domain: str) -> None:
    with pytest.raises(InputError):
        new_challenge(domain)
