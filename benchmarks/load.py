"""Load with nothing lost, and crashes survived: ``clearinghouse serve`` under concurrent load
from a separate process, then the database's and the webhook receiver's counts.

Run::

    .venv/bin/python benchmarks/load.py [--seconds 60] [--concurrency 8] [--server-workers 2]
        [--chaos] [--seed 1] [--json]

What it sets up (all of it thrown away afterwards): its own PostgreSQL cluster (``initdb`` into
a temporary directory, on a free loopback port; the shared cluster on 5432 is never touched,
because ``--chaos`` kills this one), the schema, organizations and tokens, then as child
processes ``clearinghouse serve --workers N`` and a Celery worker with beat
(``clearinghouse worker --beat``) on Redis (its own database number and queue name, so other
users of the same Redis are not disturbed).

What it drives, from this process over loopback, for ``--seconds`` with ``--concurrency``
threads:

* ``submit``: ``POST /api/v1/submissions`` of small unique SARIF logs from three labs; about a
  third carry one of 12 shared flaws (same rule, location and fingerprint), so findings from
  different submissions cluster into one vulnerability. Every accepted answer is recorded
  (submission id, SHA-256 of the bytes); about one in five is sent again at once, as a client whose
  answer was lost would, and must come back 200 "already imported" with the same id. A request
  that fails (connection error, 5xx) is not accepted: the same bytes are sent again later;
* ``lookup``: the rate-limited scan source lookup, over a pool of tokens (the limit is per
  token, so it is not what is measured; 429s are counted);
* ``read``: ``GET /vulns``, ``/findings`` and ``/submissions/{id}``;
* ``notify`` (one thread): a case on a fresh vulnerability, the vendor's approved status for
  ``pkg:pypi/loadlib``, then a pre-notification of the three exposed operators, whose
  directory entries name a signed webhook on a receiver in this process. Celery beat's tick
  delivers the outbox.

``--chaos`` (seeded by ``--seed``) kills at random moments, with SIGKILL: one uvicorn worker
process (the server starts a new one) or the whole server (restarted), the Celery worker with
its beat (restarted), and PostgreSQL (restarted: crash recovery). Leases are short
(``CLEARINGHOUSE_OUTBOX_LEASE_S``, ``..._VALIDATION_LEASE_S``) so recovery is quick.

Afterwards, and a recovery period in which unaccepted documents are sent again and the outbox
drains, the counts must hold, else the exit status is 1:

* every accepted submission is stored exactly once, under the id it was answered with, and no
  row exists that the driver did not send; re-sent documents answered "already imported";
* every finding of those submissions is stored and clustered (its vulnerability set);
* no validation run is ``running`` and no outbox row is pending or leased;
* every outbox row marked sent arrived at the receiver (distinct ``webhook-id`` values received
  equal rows sent), signatures verify; extra deliveries of the same id (Standard Webhooks is
  at-least-once; a worker killed between sending and recording sends again) are reported;
* ``clearinghouse audit verify`` passes;
* without ``--chaos``: no request failed (no 5xx, no connection error).

Throughput (answered requests per second of each kind) and p50/p99 latency of the answered
requests are printed as a table (``--json``: one JSON document); ``failed`` counts attempts
refused or answered 5xx (during an outage each thread retries every 0.1 s, so it measures the
outages' length more than anything), ``429`` the rate-limited ones. Exit 2 when the
environment cannot run it (no PostgreSQL binaries, no Redis).

Not covered: the SARIF logs carry no proofs, so no validation run is made (the sandbox is
measured by ``sandbox_overhead.py``); the check that none is left ``running`` holds trivially
here.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLI = [sys.executable, "-m", "clearinghouse.cli.main"]

LABS = ("Load Lab A", "Load Lab B", "Load Lab C")
COORDINATOR = "Load Coordination Center"
VENDOR = "Load Vendor"
OPERATORS = ("Load Hospital", "Load Bank", "Load Utility")
PACKAGE = "pkg:pypi/loadlib"
LOOKUP_TOKENS = 24
SHARED_FLAWS = 12
RESEND_EVERY = 10  # every tenth serial number: about one accepted submission in five is re-sent

KINDS = ("submit", "resend", "lookup", "read", "notify")


class SetupError(Exception):
    """The environment cannot run the load (exit 2)."""


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc; Linux only, like the rest of the chaos)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(stat.split("/")[2]))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed process its parent has not reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def kill9(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class PgCluster:
    """A throwaway PostgreSQL cluster on a free loopback port, that may be killed and restarted."""

    def __init__(self, root: Path) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise SetupError("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)")
        self.bin = Path(bins[-1]).parent
        self.dir = root / "pg"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        self.dir.mkdir(mode=0o700)
        if self.as_postgres:
            shutil.chown(self.dir, user="postgres", group="postgres")
        self._run("initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/load"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SetupError(f"{tool} failed: {done.stderr.strip()[-500:]}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.dir), "-l", str(self.dir / "log"), "-w", "-o", options, "start"
        )

    def create_database(self) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "load")

    def postmaster(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.dir / "postmaster.pid").read_text().split()[0])
        return None

    def crash(self) -> None:
        """SIGKILL the postmaster and every backend: the database server dies mid-transaction."""
        pid = self.postmaster()
        if pid is None:
            return
        backends = children_of(pid)
        kill9(pid)
        for child in backends:
            kill9(child)
        for _ in range(200):
            if not any(_running(p) for p in (pid, *backends)):
                break
            time.sleep(0.05)
        if _running(pid):
            raise SetupError(f"PostgreSQL {pid} survived SIGKILL")
        # A dead postmaster left unreaped (a container's init may be slow to reap) still
        # answers kill(pid, 0), and PostgreSQL would take its lock files for a running
        # server's: they are stale once it and its backends are gone, as after a power cut.
        for lock in (self.dir / "postmaster.pid", self.dir / f".s.PGSQL.{self.port}.lock"):
            lock.unlink(missing_ok=True)

    def stop(self) -> None:
        pid = self.postmaster()
        if pid is None or not _running(pid):
            return
        try:
            self._run("pg_ctl", "-D", str(self.dir), "-m", "immediate", "-w", "stop")
        except SetupError:
            self.crash()


class Child:
    """A child process in its own session, so SIGKILL reaches it and everything it forked."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.log = cwd / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


# --- the webhook receiver -------------------------------------------------------------------


class Receiver:
    """The operators' webhooks: every delivery's ``webhook-id`` and whether its signature holds."""

    def __init__(self, secrets: dict[str, bytes]) -> None:
        from clearinghouse.advisories.channels.webhook import verify_webhook_signature

        self.ids: Counter[str] = Counter()
        self.bad_signatures = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                secret = secrets.get(self.path.rsplit("/", 1)[-1], b"")
                ok = verify_webhook_signature(
                    secret, headers, body, now=_utc_now(), tolerance_s=3600
                )
                with receiver._lock:
                    if ok:
                        receiver.ids[headers.get("webhook-id", "")] += 1
                    else:
                        receiver.bad_signatures += 1
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _utc_now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


# --- documents ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Document:
    lab: str
    body: bytes
    sha256: str
    findings: int


def sarif_document(rng: random.Random, lab: str, serial: int) -> Document:
    """A small SARIF log: 1-3 results of its own, and about a third of the time one shared flaw
    (same rule, file, line and fingerprint as in other logs, so it clusters with them)."""
    results = []
    for n in range(rng.randint(1, 3)):
        line = rng.randint(1, 5000)
        results.append(
            {
                "ruleId": f"LOAD{rng.randint(1, 60):03d}",
                "level": "error",
                "message": {"text": f"{lab} finding {serial}.{n}: unchecked length at {line}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f"src/{lab[-1].lower()}{serial}_{n}.c"},
                            "region": {"startLine": line},
                        }
                    }
                ],
                "partialFingerprints": {
                    "primaryLocationLineHash": hashlib.sha256(
                        f"{lab}:{serial}:{n}".encode()
                    ).hexdigest()[:32]
                },
            }
        )
    if rng.random() < 0.35:
        flaw = rng.randrange(SHARED_FLAWS)
        results.append(
            {
                "ruleId": f"SHARED{flaw:03d}",
                "level": "error",
                "message": {"text": f"heap overflow in decode_chunk variant {flaw}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f"lib/shared_{flaw}.c"},
                            "region": {"startLine": 100 + flaw},
                        }
                    }
                ],
                "partialFingerprints": {
                    "primaryLocationLineHash": hashlib.sha256(
                        f"shared:{flaw}".encode()
                    ).hexdigest()[:32]
                },
            }
        )
    log = {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {"driver": {"name": "loadscan", "version": "1.0.0"}},
                "automationDetails": {"id": f"load/{lab}/{serial}"},
                "results": results,
            }
        ],
    }
    body = json.dumps(log).encode()
    return Document(lab, body, hashlib.sha256(body).hexdigest(), len(results))


def sbom(operator: str) -> bytes:
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": f"{operator} systems"}},
        "components": [
            {
                "type": "library",
                "name": "loadlib",
                "version": "1.0.0",
                "purl": f"{PACKAGE}@1.0.0",
                "bom-ref": "loadlib",
            }
        ],
    }
    return json.dumps(doc).encode()


# --- the instance ---------------------------------------------------------------------------


@dataclass
class Tokens:
    labs: dict[str, str] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    coordinator: str = ""
    vendor: str = ""


def seed(
    url: str,
    data_dir: Path,
    receiver: Receiver,
    secrets: dict[str, bytes],
    *,
    after_schema: Callable[[], None],
) -> Tokens:
    """Schema, organizations, tokens, the vendor's namespace, the operators' webhooks and
    inventories, written through the pipeline as an administrator would. ``after_schema``
    runs once the schema is there (the server starts meanwhile: its imports take seconds)."""
    from clearinghouse.access.roles import OrgKind, Role, Sector
    from clearinghouse.access.visibility import LOCAL_ADMIN
    from clearinghouse.infra.settings import Settings
    from clearinghouse.pipeline import admin_flow, case_flow, inventory_flow
    from clearinghouse.pipeline.runtime import Runtime

    settings = Settings(database_url=url, data_dir=data_dir, webhook_allow_private=True)
    rt = Runtime.from_settings(settings)
    rt.ensure_schema()
    after_schema()
    tokens = Tokens()

    def org(name: str, kind: OrgKind, sector: Sector | None = None) -> None:
        admin_flow.create_organization(
            rt.db, viewer=LOCAL_ADMIN, name=name, kind=kind, sector=sector, clock=rt.clock
        )

    def token(name: str, role: Role) -> str:
        doc = admin_flow.create_token(
            rt.db, viewer=LOCAL_ADMIN, organization=name, role=role, clock=rt.clock
        )
        return str(doc["token"])

    org(COORDINATOR, OrgKind.COORDINATOR)
    tokens.coordinator = token(COORDINATOR, Role.ANALYST)
    for lab in LABS:
        org(lab, OrgKind.AI_LAB)
        tokens.labs[lab] = token(lab, Role.SUBMITTER)
    tokens.lookups = [token(LABS[i % len(LABS)], Role.VIEWER) for i in range(LOOKUP_TOKENS)]
    org(VENDOR, OrgKind.VENDOR)
    tokens.vendor = token(VENDOR, Role.SUBMITTER)
    case_flow.set_directory(
        rt,
        viewer=LOCAL_ADMIN,
        organization=VENDOR,
        namespaces=[PACKAGE],
        email="security@vendor.example",
    )
    sectors = (Sector.HEALTHCARE, Sector.FINANCE, Sector.ENERGY)
    for index, (operator, sector) in enumerate(zip(OPERATORS, sectors, strict=True)):
        org(operator, OrgKind.OPERATOR, sector)
        secret = hashlib.sha256(f"load-secret-{operator}".encode()).hexdigest()[:32]
        secrets[str(index)] = secret.encode()
        case_flow.set_directory(
            rt,
            viewer=LOCAL_ADMIN,
            organization=operator,
            webhook=f"{receiver.base}/{index}",
            webhook_secret=secret,
        )
        inventory_flow.import_inventory(
            rt,
            viewer=LOCAL_ADMIN,
            organization=operator,
            chunks=[sbom(operator)],
            product=f"{operator} systems",
        )
    rt.close()
    return tokens


# --- the load -------------------------------------------------------------------------------


@dataclass
class Stats:
    """Per kind: answered latencies (seconds), failures (connection errors and 5xx), 429s."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    failures: Counter[str] = field(default_factory=Counter)
    limited: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def failed(self, kind: str) -> None:
        with self.lock:
            self.failures[kind] += 1

    def server_error(self, response: httpx.Response) -> None:
        """Count the 5xx answers by status and title: during an outage they say which it was."""
        try:
            title = str(response.json().get("title", ""))
        except ValueError:
            title = response.text[:80]
        with self.lock:
            self.errors[f"{response.status_code} {title}"] += 1

    def odd(self, what: str) -> None:
        with self.lock:
            if len(self.unexpected) < 50:
                self.unexpected.append(what)


@dataclass
class Ledger:
    """What the driver knows was accepted: sha256 -> (lab, submission id, findings)."""

    accepted: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    pending: dict[str, Document] = field(default_factory=dict)  # not (yet) accepted
    sent: set[str] = field(default_factory=set)  # every digest ever sent
    resent_ok: int = 0
    resent_bad: int = 0
    duplicates_reported: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Driver:
    def __init__(
        self, base: str, tokens: Tokens, *, seed: int, stats: Stats, ledger: Ledger
    ) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.tokens = tokens
        self.stats = stats
        self.ledger = ledger
        self.seed = seed
        self._serial = 0
        self._serial_lock = threading.Lock()
        self.cases_opened = 0
        self.prenotified = 0

    def next_serial(self) -> int:
        with self._serial_lock:
            self._serial += 1
            return self._serial

    def request(
        self,
        client: httpx.Client,
        kind: str,
        method: str,
        path: str,
        *,
        token: str,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """One timed request; None when it failed (connection error or 5xx)."""
        started = time.perf_counter()
        try:
            response = client.request(
                method,
                self.base + path,
                headers={"authorization": f"Bearer {token}"},
                **kwargs,
            )
        except httpx.HTTPError:
            self.stats.failed(kind)
            time.sleep(0.1)  # the server is down or restarting: do not spin
            return None
        elapsed = time.perf_counter() - started
        if response.status_code >= 500:
            self.stats.failed(kind)
            self.stats.server_error(response)
            time.sleep(0.1)
            return None
        if response.status_code == 429:
            self.stats.limited[kind] += 1
        self.stats.answered(kind, elapsed)
        return response

    def submit(self, client: httpx.Client, doc: Document, *, kind: str = "submit") -> bool:
        """Send ``doc``; record it when accepted. False when it was not (send it again later)."""
        with self.ledger.lock:
            self.ledger.sent.add(doc.sha256)
        response = self.request(
            client,
            kind,
            "POST",
            "/submissions",
            token=self.tokens.labs[doc.lab],
            content=doc.body,
            params={"format": "sarif"},
        )
        if response is None:
            with self.ledger.lock:
                self.ledger.pending[doc.sha256] = doc
            return False
        if response.status_code not in (200, 201):
            self.stats.odd(f"submit answered {response.status_code}: {response.text[:200]}")
            with self.ledger.lock:
                self.ledger.pending[doc.sha256] = doc
            return False
        answer = response.json()
        with self.ledger.lock:
            self.ledger.pending.pop(doc.sha256, None)
            known = self.ledger.accepted.get(doc.sha256)
            if known is not None and known[1] != answer["submission"]:
                self.stats.odd(f"{doc.sha256[:12]} answered {answer['submission']} and {known[1]}")
            if kind == "resend":
                good = response.status_code == 200 and answer.get("already_imported") is True
                good = good and known is not None and known[1] == answer["submission"]
                if good:
                    self.ledger.resent_ok += 1
                else:
                    self.ledger.resent_bad += 1
            if known is None:
                self.ledger.accepted[doc.sha256] = (
                    doc.lab,
                    int(answer["submission"]),
                    doc.findings,
                )
                self.ledger.duplicates_reported += int(answer.get("duplicates", 0))
        return True

    def worker(self, index: int, deadline: float) -> None:
        rng = random.Random(self.seed * 1000 + index)
        with httpx.Client(timeout=30.0) as client:
            while time.monotonic() < deadline:
                roll = rng.random()
                if roll < 0.45:
                    retry = None
                    with self.ledger.lock:
                        if self.ledger.pending and rng.random() < 0.5:
                            retry = self.ledger.pending.pop(next(iter(self.ledger.pending)))
                    doc = retry or sarif_document(rng, rng.choice(LABS), self.next_serial())
                    accepted = self.submit(client, doc)
                    if accepted and retry is None and self.next_serial() % RESEND_EVERY == 0:
                        self.submit(client, doc, kind="resend")
                elif roll < 0.7:
                    self.request(
                        client,
                        "lookup",
                        "GET",
                        "/deconfliction/lookup",
                        token=rng.choice(self.tokens.lookups),
                        params={"ip": f"203.0.113.{rng.randint(1, 254)}"},
                    )
                else:
                    self.read(client, rng)

    def read(self, client: httpx.Client, rng: random.Random) -> None:
        which = rng.random()
        lab = rng.choice(LABS)
        if which < 0.35:
            self.request(
                client, "read", "GET", "/vulns", token=self.tokens.labs[lab], params={"limit": 50}
            )
        elif which < 0.7:
            self.request(
                client,
                "read",
                "GET",
                "/findings",
                token=self.tokens.labs[lab],
                params={"limit": 50},
            )
        else:
            with self.ledger.lock:
                mine = [v for v in self.ledger.accepted.values() if v[0] == lab]
            if not mine:
                return
            _, submission, _ = rng.choice(mine[-200:])
            response = self.request(
                client, "read", "GET", f"/submissions/{submission}", token=self.tokens.labs[lab]
            )
            if response is not None and response.status_code != 200:
                self.stats.odd(f"read of own submission {submission}: {response.status_code}")

    def notifier(self, deadline: float) -> None:
        """Open a case on a fresh vulnerability, let the vendor state it affects loadlib, approve
        it, pre-notify the exposed operators; again and again until the deadline."""
        used: set[str] = set()
        coordinator, vendor = self.tokens.coordinator, self.tokens.vendor
        with httpx.Client(timeout=30.0) as client:
            while time.monotonic() < deadline:
                time.sleep(0.5)
                listed = self.request(
                    client, "notify", "GET", "/vulns", token=coordinator, params={"limit": 100}
                )
                if listed is None or listed.status_code != 200:
                    continue
                fresh = [v["id"] for v in listed.json() if v["id"] not in used]
                if not fresh:
                    continue
                vuln = fresh[0]
                used.add(vuln)
                case = self._open_case(client, vuln)
                if case is None:
                    continue
                steps = [
                    (
                        "POST",
                        f"/cases/{case}/statuses",
                        vendor,
                        {"vulnerability": vuln, "status": "affected", "product": PACKAGE},
                    ),
                    (
                        "POST",
                        f"/cases/{case}/statuses/approve",
                        coordinator,
                        {"vulnerability": vuln, "vendor": VENDOR},
                    ),
                    ("POST", f"/cases/{case}/prenotify", coordinator, None),
                ]
                for method, path, token, body in steps:
                    if not self._until_answered(client, method, path, token, body, deadline + 30):
                        break
                else:
                    self.prenotified += 1

    def _open_case(self, client: httpx.Client, vuln: str) -> str | None:
        body = {"vulnerabilities": [vuln], "vendors": [VENDOR], "allow_unvalidated": True}
        for _ in range(100):
            response = self.request(
                client, "notify", "POST", "/cases", token=self.tokens.coordinator, json=body
            )
            if response is None:
                time.sleep(0.2)
                continue
            if response.status_code == 201:
                self.cases_opened += 1
                return str(response.json()["id"])
            if response.status_code == 409:  # opened by an attempt whose answer was lost
                cases = self.request(
                    client, "notify", "GET", "/cases", token=self.tokens.coordinator
                )
                if cases is not None and cases.status_code == 200:
                    for case in cases.json():
                        if vuln in json.dumps(case):
                            return str(case["id"])
                return None
            self.stats.odd(f"open case on {vuln}: {response.status_code} {response.text[:200]}")
            return None
        return None

    def _until_answered(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        token: str,
        body: dict[str, Any] | None,
        give_up: float,
    ) -> bool:
        while time.monotonic() < give_up:
            response = self.request(client, "notify", method, path, token=token, json=body)
            if response is None:
                time.sleep(0.2)
                continue
            if response.status_code < 300:
                return True
            self.stats.odd(f"{method} {path}: {response.status_code} {response.text[:200]}")
            return False
        return False


# --- chaos ----------------------------------------------------------------------------------


class Instance:
    """The server, the Celery worker and PostgreSQL, and how to kill and restart each."""

    def __init__(self, pg: PgCluster, server: Child, worker: Child, port: int) -> None:
        self.pg, self.server, self.worker, self.port = pg, server, worker, port
        self.events: list[dict[str, Any]] = []
        self.started = time.monotonic()

    def note(self, what: str) -> None:
        self.events.append({"at_s": round(time.monotonic() - self.started, 2), "event": what})

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        give_up = time.monotonic() + timeout_s
        while time.monotonic() < give_up:
            if self.server.proc is not None and self.server.proc.poll() is not None:
                raise SetupError(f"the server exited; see {self.server.log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise SetupError(
            f"the server did not answer within {timeout_s:.0f} s; see {self.server.log}"
        )

    def kill_server_worker(self, rng: random.Random) -> None:
        if self.server.proc is None:
            return
        workers = children_of(self.server.proc.pid)
        workers = [w for w in workers if "multiprocessing" not in _cmdline(w)] or workers
        if not workers:
            return
        victim = rng.choice(workers)
        kill9(victim)
        self.note(f"kill -9 API server worker {victim}")

    def kill_server(self) -> None:
        self.server.kill()
        self.note("kill -9 API server (all processes)")
        time.sleep(0.5)
        self.server.start()
        self.note("API server restarted")

    def kill_worker(self) -> None:
        self.worker.kill()
        self.note("kill -9 Celery worker and beat")
        time.sleep(0.5)
        self.worker.start()
        self.note("Celery worker restarted")

    def kill_postgres(self) -> None:
        self.pg.crash()
        self.note("kill -9 PostgreSQL (postmaster and backends)")
        time.sleep(1.0)
        for attempt in range(5):
            try:
                self.pg.start()
                break
            except SetupError as error:
                self.note(f"PostgreSQL restart {attempt + 1} failed: {error}")
                time.sleep(1.0)
        self.note("PostgreSQL restarted")

    def chaos(self, rng: random.Random, deadline: float, stop: threading.Event) -> None:
        """One kill of each kind in the first two thirds of the run (a seeded order and
        moments), so each outage ends while load still runs; then more while time remains."""
        kinds = ["server", "worker", "postgres"]
        rng.shuffle(kinds)
        now = time.monotonic()
        span = max(deadline - now, 1.0)
        planned = [
            (now + span * (0.1 + 0.25 * i + rng.uniform(0.0, 0.1)), k) for i, k in enumerate(kinds)
        ]
        at = planned[-1][0]
        while True:
            if planned:
                at, kind = planned.pop(0)
            else:
                at += rng.uniform(5.0, 15.0)
                kind = rng.choice(["server", "server-worker", "worker", "postgres"])
                if at > deadline - 3.0:
                    return
            if stop.wait(max(at - time.monotonic(), 0)):
                return
            if kind == "server":
                if rng.random() < 0.5:
                    self.kill_server_worker(rng)
                else:
                    self.kill_server()
            elif kind == "server-worker":
                self.kill_server_worker(rng)
            elif kind == "worker":
                self.kill_worker()
            else:
                self.kill_postgres()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# --- counts ---------------------------------------------------------------------------------


def database_counts(url: str, ledger: Ledger) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.id, s.sha256, o.name, s.finding_count FROM submissions s "
                "JOIN organizations o ON o.id = s.organization_id"
            )
        ).all()
        by_submission: dict[int, int] = dict(
            connection.execute(
                text("SELECT submission_id, count(*) FROM findings GROUP BY submission_id")
            ).all()
        )
        unclustered = connection.execute(
            text("SELECT count(*) FROM findings WHERE vulnerability_id IS NULL")
        ).scalar_one()
        vulnerabilities = connection.execute(
            text("SELECT count(*) FROM vulnerabilities")
        ).scalar_one()
        runs: dict[str, int] = dict(
            connection.execute(
                text("SELECT status, count(*) FROM validation_runs GROUP BY status")
            ).all()
        )
        outbox: dict[str, int] = dict(
            connection.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all()
        )
        leased = connection.execute(
            text("SELECT count(*) FROM outbox WHERE lease_until IS NOT NULL")
        ).scalar_one()
        sent_keys = set(
            connection.execute(
                text("SELECT idempotency_key FROM outbox WHERE status = 'sent'")
            ).scalars()
        )
        notifications = connection.execute(text("SELECT count(*) FROM notifications")).scalar_one()
    engine.dispose()
    stored = Counter((name, digest) for _, digest, name, _ in rows)
    by_digest = {(name, digest): (sid, count) for sid, digest, name, count in rows}
    missing = wrong_id = findings_missing = 0
    expected_findings = 0
    for digest, (lab, sid, findings) in ledger.accepted.items():
        expected_findings += findings
        found = by_digest.get((lab, digest))
        if found is None:
            missing += 1
            continue
        if found[0] != sid:
            wrong_id += 1
        if by_submission.get(sid, 0) != findings:
            findings_missing += 1
    unknown = sum(1 for (_, digest) in stored if digest not in ledger.sent)
    return {
        "submissions_stored": len(rows),
        "accepted_missing": missing,
        "accepted_wrong_id": wrong_id,
        "stored_twice": sum(1 for n in stored.values() if n > 1),
        "stored_never_sent": unknown,
        "stored_not_acknowledged": sum(1 for (_, digest) in stored if digest in ledger.pending),
        "findings_expected": expected_findings,
        "findings_stored": sum(by_submission.values()),
        "submissions_with_wrong_findings": findings_missing,
        "findings_unclustered": unclustered,
        "vulnerabilities": vulnerabilities,
        "validation_runs": runs,
        "notifications": notifications,
        "outbox": outbox,
        "outbox_leased": leased,
        "_sent_keys": sent_keys,
    }


def outbox_settled(url: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            open_rows = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending' "
                    "OR lease_until IS NOT NULL) + (SELECT count(*) FROM validation_runs "
                    "WHERE status IN ('queued', 'running'))"
                )
            ).scalar_one()
    except Exception:  # the database may still be restarting
        return False
    finally:
        engine.dispose()
    return int(open_rows) == 0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    seconds: float
    concurrency: int
    server_workers: int
    chaos: bool
    seed: int
    recovery_s: float
    redis_url: str
    keep: bool


def redis_ping(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as error:
        raise SetupError(f"no Redis at {url}: {error}") from None


def redis_cleanup(url: str, queue: str) -> None:
    import redis

    with contextlib.suppress(redis.RedisError):
        client = redis.Redis.from_url(url, socket_timeout=2)
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)


@contextlib.contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="ch-load-"))
    root.chmod(0o755)  # the cluster runs as the postgres user
    try:
        yield root
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def run(options: Options) -> dict[str, Any]:
    started = time.monotonic()
    redis_ping(options.redis_url)
    with workspace(options.keep) as root:
        pg = PgCluster(root)
        try:
            report = _run(options, root, pg)
        finally:
            pg.stop()
    report["total_s"] = round(time.monotonic() - started, 2)
    return report


def _run(options: Options, root: Path, pg: PgCluster) -> dict[str, Any]:
    started = time.monotonic()
    pg.start()
    pg.create_database()
    data_dir = root / "data"
    queue = f"clearinghouse.load.{os.getpid()}"
    secrets: dict[str, bytes] = {}
    receiver = Receiver(secrets)
    receiver.start()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CLEARINGHOUSE_")},
        "CLEARINGHOUSE_DATABASE_URL": pg.url,
        "CLEARINGHOUSE_DATA_DIR": str(data_dir),
        "CLEARINGHOUSE_BROKER_URL": options.redis_url,
        "CLEARINGHOUSE_BROKER_QUEUE": queue,
        "CLEARINGHOUSE_WEBHOOK_ALLOW_PRIVATE": "true",
        "CLEARINGHOUSE_SCHEDULER_INTERVAL_S": "0.5",
        "CLEARINGHOUSE_OUTBOX_LEASE_S": "3",
        "CLEARINGHOUSE_OUTBOX_BASE_DELAY_S": "0.5",
        "CLEARINGHOUSE_OUTBOX_MAX_ATTEMPTS": "100",
        "CLEARINGHOUSE_VALIDATION_LEASE_S": "3",
        "CLEARINGHOUSE_VALIDATION_RECOVER_INTERVAL_S": "1",
        "PYTHONUNBUFFERED": "1",
    }
    server = Child(
        "server",
        [*CLI, "serve", "--port", str(port), "--workers", str(options.server_workers)],
        env,
        root,
    )
    worker = Child(
        "worker",
        [*CLI, "worker", "--beat", "--concurrency", "2", "--loglevel", "WARNING"],
        env,
        root,
    )
    instance = Instance(pg, server, worker, port)

    def start_children() -> None:
        server.start()
        worker.start()

    try:
        tokens = seed(pg.url, data_dir, receiver, secrets, after_schema=start_children)
        instance.wait_ready()
        setup_s = time.monotonic() - started
        report = _drive(options, instance, tokens, receiver, pg.url)
        report["setup_s"] = round(setup_s, 2)
        return report
    finally:
        server.kill()
        worker.kill()
        receiver.stop()
        redis_cleanup(options.redis_url, queue)


def _drive(
    options: Options, instance: Instance, tokens: Tokens, receiver: Receiver, url: str
) -> dict[str, Any]:
    stats, ledger = Stats(), Ledger()
    driver = Driver(
        f"http://127.0.0.1:{instance.port}", tokens, seed=options.seed, stats=stats, ledger=ledger
    )
    started = time.monotonic()
    deadline = started + options.seconds
    instance.started = started
    threads = [
        threading.Thread(target=driver.worker, args=(i, deadline), daemon=True)
        for i in range(options.concurrency)
    ]
    threads.append(threading.Thread(target=driver.notifier, args=(deadline,), daemon=True))
    stop = threading.Event()
    chaos = None
    if options.chaos:
        chaos = threading.Thread(
            target=instance.chaos,
            args=(random.Random(options.seed), deadline, stop),
            daemon=True,
        )
        chaos.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    stop.set()
    if chaos is not None:
        chaos.join()

    # Recovery: everything back up, unaccepted documents sent again, the outbox drained.
    recovery_started = time.monotonic()
    give_up = recovery_started + options.recovery_s
    postmaster = instance.pg.postmaster()
    if postmaster is None or not _running(postmaster):
        instance.pg.start()
    if not instance.server.alive():
        instance.server.start()
    if not instance.worker.alive():
        instance.worker.start()
    instance.wait_ready()
    with httpx.Client(timeout=30.0) as client:
        while ledger.pending and time.monotonic() < give_up:
            with ledger.lock:
                docs = list(ledger.pending.values())
            for doc in docs:
                driver.submit(client, doc, kind="submit")
            if ledger.pending:
                time.sleep(0.5)
    while not outbox_settled(url) and time.monotonic() < give_up:
        time.sleep(0.5)
    time.sleep(1.0)  # a delivery recorded as sent has reached the receiver already; margin
    recovery_s = time.monotonic() - recovery_started

    counts = database_counts(url, ledger)
    sent_keys: set[str] = counts.pop("_sent_keys")
    received = receiver.ids
    audit = subprocess.run(
        [*CLI, "--database-url", url, "audit", "verify", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("CLEARINGHOUSE_")},
    )
    try:
        audit_doc = json.loads(audit.stdout)
    except ValueError:
        audit_doc = {"ok": False, "reason": audit.stderr.strip()[-300:]}

    throughput = {}
    for kind in KINDS:
        values = stats.latencies[kind]
        p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
        throughput[kind] = {
            "answered": len(values),
            "per_s": round(len(values) / elapsed, 1),
            "p50_ms": None if p50 is None else round(p50 * 1000, 1),
            "p99_ms": None if p99 is None else round(p99 * 1000, 1),
            "failed": stats.failures[kind],
            "rate_limited": stats.limited[kind],
        }
    deliveries = {
        "outbox_sent": len(sent_keys),
        "distinct_received": len(received),
        "sent_not_received": len(sent_keys - set(received)),
        "received_not_sent": len(set(received) - sent_keys),
        "extra_deliveries": sum(n - 1 for n in received.values()),
        "bad_signatures": receiver.bad_signatures,
    }
    checks = {
        "submissions accepted": len(ledger.accepted) > 0,
        "every accepted submission stored": counts["accepted_missing"] == 0,
        "under the id it was answered with": counts["accepted_wrong_id"] == 0,
        "none stored twice": counts["stored_twice"] == 0,
        "nothing stored that was not sent": counts["stored_never_sent"] == 0,
        "every document finally accepted": not ledger.pending,
        "re-sent documents answered 'already imported'": ledger.resent_bad == 0,
        "every finding stored": counts["submissions_with_wrong_findings"] == 0
        and counts["findings_stored"] == counts["findings_expected"],
        "every finding clustered": counts["findings_unclustered"] == 0,
        "clustering merged findings": counts["vulnerabilities"] < counts["findings_stored"],
        "no validation run left running": counts["validation_runs"].get("running", 0) == 0,
        "notifications queued": counts["notifications"] > 0,
        "outbox drained (nothing pending or leased)": counts["outbox"].get("pending", 0) == 0
        and counts["outbox_leased"] == 0
        and counts["outbox"].get("dead", 0) == 0,
        "every sent notification received (by webhook-id)": deliveries["sent_not_received"] == 0
        and deliveries["received_not_sent"] == 0,
        "webhook signatures verify": receiver.bad_signatures == 0,
        "audit chain verifies": bool(audit_doc.get("ok")),
        "no unexpected answers": not stats.unexpected,
    }
    if not options.chaos:
        checks["no request failed"] = not any(stats.failures.values())
    return {
        "options": {
            "seconds": options.seconds,
            "concurrency": options.concurrency,
            "server_workers": options.server_workers,
            "chaos": options.chaos,
            "seed": options.seed,
        },
        "elapsed_s": round(elapsed, 2),
        "recovery_s": round(recovery_s, 2),
        "throughput": throughput,
        "ledger": {
            "accepted": len(ledger.accepted),
            "never_accepted": len(ledger.pending),
            "resent_already_imported": ledger.resent_ok,
            "resent_wrong": ledger.resent_bad,
            "duplicates_reported": ledger.duplicates_reported,
            "cases_opened": driver.cases_opened,
            "prenotified_cases": driver.prenotified,
        },
        "database": counts,
        "deliveries": deliveries,
        "audit": audit_doc,
        "chaos_events": instance.events,
        "unexpected": stats.unexpected,
        "server_errors": dict(stats.errors),
        "checks": checks,
        "ok": all(checks.values()),
    }


def render(report: dict[str, Any]) -> str:
    opts = report["options"]
    chaos = f"on (seed {opts['seed']})" if opts["chaos"] else "off"
    lines = [
        f"load: {report['elapsed_s']} s, concurrency {opts['concurrency']}, "
        f"{opts['server_workers']} server workers, chaos {chaos}; "
        f"setup {report['setup_s']} s, recovery {report['recovery_s']} s",
        "",
        f"{'kind':<8} {'answered':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'failed':>7} {'429':>6}",
    ]
    for kind, row in report["throughput"].items():
        lines.append(
            f"{kind:<8} {row['answered']:>9} {row['per_s']:>8} {row['p50_ms'] or '-':>8} "
            f"{row['p99_ms'] or '-':>8} {row['failed']:>7} {row['rate_limited']:>6}"
        )
    db, ledger, deliveries = report["database"], report["ledger"], report["deliveries"]
    lines += [
        "",
        f"submissions: {ledger['accepted']} accepted, {db['submissions_stored']} stored, "
        f"{db['accepted_missing']} missing, {db['stored_twice']} twice, "
        f"{ledger['resent_already_imported']} re-sent answered 'already imported' "
        f"({ledger['resent_wrong']} wrong), {ledger['never_accepted']} never accepted",
        f"findings: {db['findings_stored']} stored of {db['findings_expected']}, "
        f"{db['findings_unclustered']} unclustered, in {db['vulnerabilities']} vulnerabilities",
        f"validation runs: {db['validation_runs'] or 'none'}",
        f"notifications: {db['notifications']} ({ledger['prenotified_cases']} cases); outbox "
        f"{db['outbox']}, {db['outbox_leased']} leased; received {deliveries['distinct_received']} "
        f"distinct webhook ids for {deliveries['outbox_sent']} sent rows, "
        f"{deliveries['extra_deliveries']} extra deliveries, "
        f"{deliveries['bad_signatures']} bad signatures",
        f"audit: {report['audit']}",
    ]
    if report["chaos_events"]:
        lines.append(
            "chaos: " + "; ".join(f"{e['at_s']}s {e['event']}" for e in report["chaos_events"])
        )
    if report["unexpected"]:
        lines.append("unexpected: " + " | ".join(report["unexpected"][:10]))
    lines.append("")
    for name, ok in report["checks"].items():
        lines.append(f"  [{'ok' if ok else 'FAIL'}] {name}")
    lines.append("PASS" if report["ok"] else "FAIL")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to drive (s)")
    parser.add_argument("--concurrency", type=int, default=8, help="driver threads")
    parser.add_argument("--server-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--chaos", action="store_true", help="kill -9 server, worker, PostgreSQL")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--recovery-seconds", type=float, default=60.0, help="at most this long to settle"
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/11"),
        help="the broker (a database number of its own)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.concurrency < 1 or args.server_workers < 1:
        parser.error("--seconds, --concurrency and --server-workers must be positive")
    options = Options(
        seconds=args.seconds,
        concurrency=args.concurrency,
        server_workers=args.server_workers,
        chaos=args.chaos,
        seed=args.seed,
        recovery_s=args.recovery_seconds,
        redis_url=args.redis_url,
        keep=args.keep,
    )
    try:
        report = run(options)
    except SetupError as error:
        sys.stderr.write(f"load: cannot run: {error}\n")
        return 2
    print(json.dumps(report, indent=2, default=str) if args.json else render(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
