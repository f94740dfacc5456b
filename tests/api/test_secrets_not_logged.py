"""Secrets stay where they belong: never in a log line, the audit log or an error body.

The flows that handle secrets run once, through the real application (API and web pages),
with every logger captured at DEBUG (the root logger, and every logger that set its own level,
third-party ones included: uvicorn, httpx, httpcore, SQLAlchemy's engine): an API token
created, used and mistyped; web sign-ins with a token and with a password, failed ones, and the
session cookie used; a webhook endpoint's signing secret and its URL (whose path is the
subscriber's own token, as chat services' webhook URLs are) stored, shown, and used to deliver
(accepted, refused with 500, unreachable); SMTP credentials refused by a real SMTP server on
loopback; the OpenPGP signing key the public CSAF tree is signed with; requests refused for
their body while a secret is in it. Then no secret, nor its obvious encodings (base64, URL-safe
base64, hex, percent-encoding) nor any 16-character slice of it, may appear in:

- any captured log record (message, arguments, traceback);
- the audit log (every column of every event);
- any response body or header, except the one answer that hands a secret to its owner (the
  token creation's body, the sign-in's ``Set-Cookie``);
- and, for the secrets the clearinghouse keeps only as hashes (API tokens, passwords, session
  cookies), any column of any table of the database.

SQLAlchemy's engine is captured at INFO (``echo=True``: statements and their parameters),
not at DEBUG (``echo="debug"``), which also prints every row read: that is a dump of the
database by design, restricted findings included, and must only ever go where the database
itself may go.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from clearinghouse.access.roles import Role
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.advisories.channels.base import DeliveryError, OutboundMessage
from clearinghouse.advisories.channels.email import SmtpChannel
from clearinghouse.advisories.channels.webhook import WebhookChannel
from clearinghouse.audit.models import AuditEvent
from clearinghouse.pipeline import publish_flow
from clearinghouse.web import auth
from clearinghouse.web.app import create_app as create_web_app
from tests.api.conftest import API, COORDINATOR, OPERATOR, OWNER, World, bearer
from tests.integration.channels.test_email import SmtpSink, make_message

PASSWORD = "Tr0ub4dor&3-never-logged-passphrase"
WRONG_PASSWORD = "Wr0ng-but-still-secret-passphrase"
WEBHOOK_SECRET = "whsec-4f1d9c2b7a8e6035d1c4b9a7e2f08d63"
# A subscriber's URL whose path is its own secret (as chat-service webhook URLs are).
URL_SECRET = "T01ABCD2E-B0FGH3IJ4-kL5mN6oP7qR8sT9u"
HOOK = f"https://hooks.example.org/services/{URL_SECRET}"
SMTP_PASSWORD = "smtp-relay-password-7c1e9a4b2d"
USERNAME = "operator-oncall"
# The test's own fake SMTP server logs what clients send it (AUTH lines included): that is the
# fixture's log, not the clearinghouse's.
FOREIGN_LOGGERS = ("mail.log",)
SQL_LOGGERS = ("sqlalchemy.engine",)
WINDOW = 16


class Capture(logging.Handler):
    """Keeps everything a record could print: message, raw arguments, traceback, stack."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(FOREIGN_LOGGERS):
            return
        if record.name.startswith(SQL_LOGGERS) and record.levelno < logging.INFO:
            return  # row dumps: see the module docstring
        self.names.add(record.name)
        parts = [record.name, str(record.msg), repr(record.args)]
        with contextlib.suppress(TypeError, ValueError):  # a malformed record still counts
            parts.append(record.getMessage())
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        self.texts.append("\n".join(parts))


@dataclass
class Seen:
    """What the flows left behind, and the secrets to look for in it."""

    logs: Capture
    secrets: dict[str, str] = field(default_factory=dict)
    hashed: set[str] = field(default_factory=set)  # names of secrets stored only as hashes
    # (label, text, secrets this answer may legitimately carry)
    responses: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # str/repr of errors and channels

    def response(
        self, label: str, response: httpx.Response, *, may_carry: tuple[str, ...] = ()
    ) -> None:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        allowed = frozenset(may_carry)
        self.responses.append(
            (f"{label} -> {response.status_code}", headers + "\n" + response.text, allowed)
        )


def forms(secret: str) -> set[str]:
    """The secret, its obvious encodings, and every ``WINDOW``-character slice of it."""
    raw = secret.encode()
    found = {
        secret,
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        raw.hex().upper(),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }
    found |= {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}
    return found


def leaks(
    text: str, secrets: dict[str, str], *, allowed: frozenset[str] = frozenset()
) -> list[str]:
    return sorted(
        name
        for name, secret in secrets.items()
        if name not in allowed and any(form in text for form in forms(secret))
    )


@contextlib.contextmanager
def everything_at_debug() -> Iterator[Capture]:
    """Every logger to DEBUG with one handler on the root (and on loggers that do not
    propagate); all restored afterwards."""
    capture = Capture()
    root = logging.getLogger()
    saved: list[tuple[logging.Logger, int]] = [(root, root.level)]
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    extra: list[logging.Logger] = []
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        if not logger.propagate:
            logger.addHandler(capture)
            extra.append(logger)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for logger in extra:
            logger.removeHandler(capture)
        for logger, level in saved:
            logger.setLevel(level)


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie set")


def _api_flows(world: World, seen: Seen) -> None:
    client = world.client
    root = world.headers(COORDINATOR, Role.ADMIN)
    made = client.post(
        f"{API}/tokens", json={"role": "viewer", "organization": OWNER.name}, headers=root
    )
    assert made.status_code == 201, made.text
    token = str(made.json()["token"])
    seen.secrets["api token"] = token
    seen.hashed.add("api token")
    # its answer is the one place the token is shown (a near miss shares most of it)
    seen.response("create token", made, may_carry=("api token", "mistyped token"))
    seen.response("use token", client.get(f"{API}/vulns", headers=bearer(token)))
    mistyped = token[:-1] + ("A" if token[-1] != "A" else "B")
    seen.secrets["mistyped token"] = mistyped
    seen.hashed.add("mistyped token")
    for label, headers in (
        ("mistyped token", bearer(mistyped)),
        ("token without prefix", bearer(token.removeprefix("chk_"))),
        ("token as basic auth", {"Authorization": f"Basic {token}"}),
    ):
        answer = client.get(f"{API}/vulns", headers=headers)
        assert answer.status_code == 401, (label, answer.text)
        seen.response(label, answer)
    # refused for their body, with secrets in it
    seen.response(
        "token as a role",
        client.post(f"{API}/tokens", json={"role": token}, headers=root),
    )
    seen.response(
        "webhook secret too long",
        client.put(
            f"{API}/directory/{OPERATOR.name}",
            json={"webhook": "https://hooks.example.org/ch", "webhook_secret": WEBHOOK_SECRET * 4},
            headers=world.headers(OPERATOR, Role.ADMIN),
        ),
    )
    seen.response(
        "webhook secret beside an unknown field",
        client.put(
            f"{API}/directory/{OPERATOR.name}",
            json={"webhook_secret": WEBHOOK_SECRET, "password": PASSWORD},
            headers=world.headers(OPERATOR, Role.ADMIN),
        ),
    )
    # the webhook endpoint's secret: stored, then shown to its organization and a coordinator
    stored = client.put(
        f"{API}/directory/{OPERATOR.name}",
        json={"webhook": "https://hooks.example.org/ch", "webhook_secret": WEBHOOK_SECRET},
        headers=world.headers(OPERATOR, Role.ADMIN),
    )
    assert stored.status_code == 200, stored.text
    seen.response("set webhook secret", stored)
    for org in (OPERATOR, COORDINATOR):
        shown = client.get(
            f"{API}/directory/{OPERATOR.name}", headers=world.headers(org, Role.VIEWER)
        )
        assert shown.status_code == 200, shown.text
        # the endpoint's URL is shown to its organization and the coordinators, its secret not
        seen.response(f"directory shown to {org.key}", shown, may_carry=("webhook url",))


def _web_flows(world: World, seen: Seen) -> None:
    rt = world.runtime
    auth.create_user(
        rt.db,
        actor=LOCAL_ADMIN,
        username=USERNAME,
        organization=OPERATOR.name,
        role=Role.ANALYST,
        password=PASSWORD,
        clock=rt.clock,
    )
    seen.secrets["password"] = PASSWORD
    seen.secrets["wrong password"] = WRONG_PASSWORD
    seen.hashed |= {"password", "wrong password"}
    app = create_web_app(rt)
    attempts = (
        ("sign in with a token", {"token": seen.secrets["api token"]}, 303),
        ("sign in with a password", {"username": USERNAME, "password": PASSWORD}, 303),
        ("wrong password", {"username": USERNAME, "password": WRONG_PASSWORD}, 401),
        ("unknown user", {"username": "nobody-here", "password": PASSWORD}, 401),
        ("mistyped token", {"token": seen.secrets["mistyped token"]}, 401),
    )
    for n, (label, fields, expected) in enumerate(attempts):
        with TestClient(app) as browser:
            form = browser.get("/signin")
            csrf = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            answer = browser.post(
                "/signin", data={"csrf_token": csrf, **fields}, follow_redirects=False
            )
            assert answer.status_code == expected, (label, answer.text[:300])
            if expected != 303:
                seen.response(f"web: {label}", answer)
                continue
            cookie = _cookie(answer, "ch_session")
            seen.secrets[f"session cookie {n}"] = cookie
            seen.hashed.add(f"session cookie {n}")
            seen.response(f"web: {label}", answer, may_carry=(f"session cookie {n}",))
            page = browser.get("/triage")
            assert page.status_code == 200
            seen.response(f"web: page after {label}", page)


def _webhook_deliveries(seen: Seen) -> None:
    def receiver(request: httpx.Request) -> httpx.Response:
        assert request.headers["webhook-signature"].startswith("v1,")
        if request.url.path.startswith("/down/"):
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(500 if request.url.path.startswith("/fails/") else 204)

    message = OutboundMessage(
        idempotency_key="ntf-secret-test",
        recipient=HOOK,
        subject="Advisory CH-2099-00001",
        body_text="A vulnerability affecting your product was published.",
        payload={"type": "advisory.published", "advisory": "CH-2099-00001"},
        tlp="AMBER",
        secret=WEBHOOK_SECRET.encode(),
    )
    channel = WebhookChannel(transport=httpx.MockTransport(receiver))
    seen.errors.append(repr(message))
    channel.deliver(message)
    for path in ("/fails", "/down"):
        failing = dataclasses.replace(
            message, recipient=f"https://hooks.example.org{path}/{URL_SECRET}"
        )
        with pytest.raises(DeliveryError) as caught:
            channel.deliver(failing)
        seen.errors += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
    channel.close()


def _smtp_refusal(world: World, seen: Seen) -> None:
    seen.secrets["smtp password"] = SMTP_PASSWORD
    with SmtpSink(password="the-server-expects-another") as sink:
        settings = world.runtime.settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": sink.port,
                "smtp_username": "clearinghouse",
                "smtp_password": SMTP_PASSWORD,
            }
        )
        rt = dataclasses.replace(world.runtime, settings=settings)
        channel = publish_flow.channels_of(rt)["email"]
        assert isinstance(channel, SmtpChannel)
        seen.errors += [repr(settings), str(settings), repr(channel)]
        with pytest.raises(DeliveryError) as caught:
            channel.deliver(make_message())
        seen.errors += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]


def _signing_key(world: World, seen: Seen) -> None:
    tree = world.client.get("/.well-known/csaf/provider-metadata.json")
    assert tree.status_code == 200, tree.text
    seen.response("public CSAF tree", tree)
    key = publish_flow.signing_key(world.runtime)
    public = key.public_armored.replace("\n", "")
    body = [
        line
        for line in key.secret_armored.decode().splitlines()
        if len(line) >= 60 and line not in public  # secret packets, not the public ones
    ]
    assert body, "the armored secret key has lines the certificate does not"
    for n, line in enumerate(body[:8]):
        seen.secrets[f"signing key line {n}"] = line
    seen.errors.append(repr(key))


@pytest.fixture(scope="module")
def seen(world: World) -> Seen:
    with everything_at_debug() as capture:
        observed = Seen(logs=capture)
        observed.secrets["webhook secret"] = WEBHOOK_SECRET
        observed.secrets["webhook url"] = URL_SECRET
        _api_flows(world, observed)
        _web_flows(world, observed)
        _webhook_deliveries(observed)
        _smtp_refusal(world, observed)
        _signing_key(world, observed)
    return observed


def test_the_flows_were_logged_at_debug(seen: Seen) -> None:
    """The capture saw the application's and its libraries' records (so silence proves
    something): SQL statements, the HTTP client's requests."""
    assert any(name.startswith("sqlalchemy.engine") for name in seen.logs.names)
    assert any(name.startswith(("httpx", "httpcore")) for name in seen.logs.names)
    assert len(seen.logs.texts) > 100


def test_no_secret_in_any_log_record(seen: Seen) -> None:
    found = {name for text in seen.logs.texts for name in leaks(text, seen.secrets)}
    assert not found, f"secrets in log records: {sorted(found)}"


def test_no_secret_in_the_audit_log(seen: Seen, world: World) -> None:
    with world.runtime.db.session() as session:
        events = session.scalars(select(AuditEvent)).all()
        text = "\n".join(
            repr({c.key: getattr(event, c.key) for c in AuditEvent.__mapper__.column_attrs})
            for event in events
        )
    assert "web.signin" in text  # the sign-ins were audited, without their secrets
    assert not leaks(text, seen.secrets)


def test_no_secret_in_answers_errors_or_reprs(seen: Seen) -> None:
    bad = [
        (label, leaked)
        for label, text, allowed in seen.responses
        if (leaked := leaks(text, seen.secrets, allowed=allowed))
    ]
    assert not bad, bad
    assert not [leaks(text, seen.secrets) for text in seen.errors if leaks(text, seen.secrets)]


def test_hashed_secrets_are_nowhere_in_the_database(seen: Seen, world: World) -> None:
    """Tokens, passwords and session cookies are stored as hashes only: no column of any
    table holds one of them (the webhook secret is stored, since it signs deliveries)."""
    hashed = {name: seen.secrets[name] for name in seen.hashed}
    engine = world.runtime.db.engine
    metadata = MetaData()
    metadata.reflect(engine)
    found: list[tuple[str, list[str]]] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                if leaked := leaks(repr(tuple(row)), hashed):
                    found.append((table.name, leaked))
    assert not found, found
