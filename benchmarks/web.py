"""Benchmark: the triage queue (``/triage``) over 100,000 findings against Datasette's table page.

Run::

    .venv/bin/python benchmarks/web.py [--findings 100000] [--runs 30] [--rebuild]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/clearinghouse_bench]

Issue 8's target: the first page of the triage queue renders in under 300 ms with 100,000
findings. The page is timed through the real application (``web.app.create_app``, the same
routes, session check, CSRF and security headers as ``clearinghouse serve``; TestClient in
process, no network), signed in through the sign-in form with an analyst's token.

The input (seeded ``random``; the same seed gives the same database), written by the pipeline
itself: native-format documents imported with ``intake_flow.import_submission``, so findings,
their contents, the vulnerabilities they cluster into and the dedup index are exactly the rows
an instance holds. 65% of the findings are distinct issues; the rest are the same issues
reported again by another organization (clustered into the same vulnerability). Four
submitting organizations (weights 40/25/20/15%), submissions of 1,000 findings in shuffled
order, each labelled CLEAR 10%, GREEN 35%, AMBER 30%, AMBER+STRICT 15% or RED 10%, half of the
AMBER ones shared with a vendor. 10% of the findings carry a validation run as a worker leaves
it (reproduced, not reproduced, failed, queued or running). Built once and cached under
``build/bench/`` keyed by the input, the seed and the schema's migrations (SQLite); on
PostgreSQL the database at ``--database-url`` is reused when it holds the same input
(``--rebuild`` forces a new one).

The viewers, each an analyst signed in with its organization's token:

* ``coordinator``: sees everything but other organizations' RED (about 90%);
* ``lab``: the largest submitter, its own records plus CLEAR and GREEN (about 65%);
* ``operator``: submits nothing, sees CLEAR and GREEN only (about 45%): the most rows skipped.

The pages: the first page, page 2 (offset), a search (``q``: a word in about 1% of titles),
the verdict filter (reproduced), and the htmx endpoint (``/triage/rows``, page 2). For each,
``--runs`` timed requests after two warm-ups: median and p95 wall time, and the number of SQL
statements one request ran (fixed whatever the page holds, no query per row; a viewer shown
restricted rows pays three more, the audit record of that read, and the session's idle clock
is written at most once a minute).

The peer: Datasette (https://datasette.io), the well-known tool that renders paginated HTML
table pages over a SQLite file, serving the same file read-only in process through its own
ASGI client (``Datasette.client``), default settings: the first page (100 rows, with its row
count and facet suggestions) of ``findings`` and of ``vulnerabilities``. It reads a table with
no visibility rule, no summary and no session; ours filters by TLP, summarizes 50
vulnerabilities from their visible findings, derives verdicts and audits restricted reads. The
ratio printed is ours / Datasette (lower is better for us). Datasette is not a dependency of
the project: ``.venv/bin/pip install datasette==0.65.5``; without it the peer is skipped with
a message (exit 1).

It never fails on a slow result; it prints whether the 300 ms budget holds. Exit 1 when a
contender could not run, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import random
import re
import shutil
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select, text

from clearinghouse.access.roles import OrgKind, Role, Sector
from clearinghouse.access.visibility import LOCAL_ADMIN
from clearinghouse.core.tlp import Tlp
from clearinghouse.infra.bulk import bind_value, insert_rows, table_of
from clearinghouse.infra.settings import Settings
from clearinghouse.intake.models import Finding
from clearinghouse.pipeline import admin_flow, intake_flow
from clearinghouse.pipeline.runtime import Runtime
from clearinghouse.validation.models import Target, ValidationRun
from clearinghouse.web.app import create_app

BUILD_VERSION = "web-1"  # bump when the input changes
BUDGET_S = 0.300
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "bench"
MIGRATIONS = ROOT / "src" / "clearinghouse" / "infra" / "migrations" / "versions"

SUBMITTERS = (
    ("Lab Alpha", OrgKind.AI_LAB, 0.40),
    ("Lab Beta", OrgKind.AI_LAB, 0.25),
    ("Lab Gamma", OrgKind.AI_LAB, 0.20),
    ("Independent Research", OrgKind.RESEARCHER, 0.15),
)
VENDOR = "Acme Maintainers"
COORDINATOR = "Coordination Center"
OPERATOR = "Valley Rural Hospital"
TLP_MIX = (
    (Tlp.CLEAR, 0.10),
    (Tlp.GREEN, 0.35),
    (Tlp.AMBER, 0.30),
    (Tlp.AMBER_STRICT, 0.15),
    (Tlp.RED, 0.10),
)
SUBMISSION_SIZE = 1_000
DISTINCT_SHARE = 0.65
RUN_SHARE = 0.10
SEARCH_WORD = "sentinel"  # in about 1% of the titles
WORDS = ("parse", "decode", "inflate", "render", "load", "scan", "copy", "read", "pack", "split")
CWES = ("CWE-787", "CWE-125", "CWE-416", "CWE-476", "CWE-190", "CWE-22", "CWE-79", "CWE-89")
RUN_OUTCOMES = (
    (("done", "reproduced"), 0.40),
    (("done", "not_reproduced"), 0.25),
    (("failed", None), 0.10),
    (("queued", None), 0.15),
    (("running", None), 0.10),
)


# --- the input ------------------------------------------------------------------------------


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([item for item, _ in weighted], [w for _, w in weighted])[0]


def issue(n: int, rng: random.Random) -> dict[str, Any]:
    """One distinct issue in the native format (its identity: target, file, function, line)."""
    word = WORDS[n % len(WORDS)]
    project = f"project-{n % 900:03d}"
    marker = f" ({SEARCH_WORD})" if rng.random() < 0.01 else ""
    return {
        "target": f"https://git.example.org/{project}",
        "file": f"src/{word}/{word}_{n}.c",
        "function": f"{word}_chunk_{n}",
        "line": 10 + n % 2000,
        "cwe": CWES[n % len(CWES)],
        "title": f"Out-of-bounds write in {word}_chunk_{n} of {project}{marker}",
        "description": f"A length read from the input is trusted by {word}_chunk_{n}; "
        "a crafted file writes past the heap buffer.",
        "severity": ("critical", "high", "medium", "low")[n % 4],
        "aliases": [f"CVE-2099-{100000 + n}"] if n % 3 == 0 else [],
        "provenance": {"tool": "bench-scanner", "tool_version": "1.0"},
    }


@dataclass(frozen=True, slots=True)
class Document:
    organization: str
    tlp: Tlp
    share_with: tuple[str, ...]
    body: bytes


def documents(findings: int, seed: int) -> list[Document]:
    """The submissions, in the order they are imported."""
    rng = random.Random(seed)
    distinct = int(findings * DISTINCT_SHARE)
    issues = [issue(n, rng) for n in range(distinct)]
    owners = [_pick(rng, [(name, w) for name, _, w in SUBMITTERS]) for _ in issues]
    per_org: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in SUBMITTERS}
    for item, owner in zip(issues, owners, strict=True):
        per_org[owner].append(item)
    # The same issue reported again by another organization: one more finding, same cluster.
    for n in rng.sample(range(distinct), findings - distinct):
        again = rng.choice([name for name, _, _ in SUBMITTERS if name != owners[n]])
        per_org[again].append(issues[n])
    docs = []
    for org, items in per_org.items():
        rng.shuffle(items)
        for start in range(0, len(items), SUBMISSION_SIZE):
            tlp = _pick(rng, TLP_MIX)
            shared = (VENDOR,) if tlp is Tlp.AMBER and rng.random() < 0.5 else ()
            body = orjson.dumps(
                {
                    "format": "clearinghouse-findings",
                    "version": "1.0",
                    "findings": items[start : start + SUBMISSION_SIZE],
                }
            )
            docs.append(Document(org, tlp, shared, body))
    rng.shuffle(docs)
    return docs


def build(rt: Runtime, *, findings: int, seed: int) -> None:
    rt.ensure_schema()
    for name, kind, _ in SUBMITTERS:
        admin_flow.create_organization(
            rt.db, viewer=LOCAL_ADMIN, name=name, kind=kind, sector=None, clock=rt.clock
        )
    for name, kind, sector in (
        (VENDOR, OrgKind.VENDOR, None),
        (COORDINATOR, OrgKind.COORDINATOR, Sector.GOVERNMENT),
        (OPERATOR, OrgKind.OPERATOR, Sector.HEALTHCARE),
    ):
        admin_flow.create_organization(
            rt.db, viewer=LOCAL_ADMIN, name=name, kind=kind, sector=sector, clock=rt.clock
        )
    docs = documents(findings, seed)
    started = time.perf_counter()
    for number, doc in enumerate(docs, 1):
        intake_flow.import_submission(
            rt.db,
            rt.blobs,
            intake_flow.ImportRequest(
                organization=doc.organization,
                chunks=[doc.body],
                tlp=doc.tlp,
                share_with=doc.share_with,
            ),
            viewer=LOCAL_ADMIN,
            clock=rt.clock,
            max_bytes=rt.settings.max_upload_bytes,
            limits=rt.limits,
            batch_size=rt.settings.import_batch_size,
        )
        if number % 20 == 0:
            print(f"  imported {number}/{len(docs)} submissions", flush=True)
    add_runs(rt, seed=seed)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)


def add_runs(rt: Runtime, *, seed: int) -> None:
    """Validation runs on 10% of the findings, as workers leave them (no sandbox is run)."""
    rng = random.Random(seed + 1)
    now = rt.clock.now()
    with rt.db.session() as session:
        target = Target(
            name="bench-target",
            digest="0" * 64,
            language="c",
            version="1.0",
            files=1,
            size=1,
            manifest="",
            registered_by="bench",
            created_at=now,
        )
        session.add(target)
        session.flush()
        ids = list(session.scalars(select(Finding.id).order_by(Finding.id)))
        table = table_of(ValidationRun)
        stamp = bind_value(session, table, "created_at", now)
        rows = []
        for finding in rng.sample(ids, int(len(ids) * RUN_SHARE)):
            status, verdict = _pick(rng, RUN_OUTCOMES)
            done = status in ("done", "failed")
            rows.append(
                (
                    finding,
                    target.id,
                    status,
                    1 if status != "queued" else 0,
                    5,
                    verdict,
                    (5 if verdict == "reproduced" else 0) if done else None,
                    "address" if verdict == "reproduced" else None,
                    "Heap-buffer-overflow WRITE 4" if verdict == "reproduced" else None,
                    "bench",
                    stamp,
                    stamp if done else None,
                )
            )
        insert_rows(
            session,
            table,
            (
                "finding_id",
                "target_id",
                "status",
                "attempts",
                "repetitions",
                "verdict",
                "reproductions",
                "sanitizer",
                "crash_type",
                "requested_by",
                "created_at",
                "finished_at",
            ),
            rows,
        )


def cache_key(findings: int, seed: int) -> str:
    schema = hashlib.sha256(
        "".join(sorted(p.name for p in MIGRATIONS.glob("*.py"))).encode()
    ).hexdigest()[:12]
    return f"{BUILD_VERSION}-{findings}-{seed}-{schema}"


def sqlite_runtime(findings: int, seed: int, rebuild: bool) -> tuple[Runtime, Path]:
    data = CACHE / cache_key(findings, seed)
    done = data / "built"
    if rebuild or not done.exists():
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        print(f"building the SQLite database in {data} ...", flush=True)
        rt = Runtime.from_settings(Settings(data_dir=data))
        build(rt, findings=findings, seed=seed)
        rt.close()
        done.write_text("ok\n")
    rt = Runtime.from_settings(Settings(data_dir=data))
    rt.ensure_schema()
    return rt, Path(rt.db.url.removeprefix("sqlite:///"))


def postgres_runtime(url: str, findings: int, seed: int, rebuild: bool) -> Runtime:
    key = cache_key(findings, seed)
    engine = create_engine(url)
    with engine.begin() as connection:
        marker = None
        with contextlib.suppress(Exception), connection.begin_nested():
            marker = connection.execute(text("SELECT key FROM bench_web_input")).scalar()
        if rebuild or marker != key:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
            marker = None
    engine.dispose()
    data = CACHE / f"{key}-postgres"
    rt = Runtime.from_settings(Settings(data_dir=data, database_url=url))
    if marker is None:
        shutil.rmtree(data, ignore_errors=True)
        print(f"building the PostgreSQL database at {url} ...", flush=True)
        build(rt, findings=findings, seed=seed)
        with rt.db.engine.begin() as connection:
            connection.execute(text("CREATE TABLE bench_web_input (key TEXT)"))
            connection.execute(text("INSERT INTO bench_web_input VALUES (:key)"), {"key": key})
            connection.execute(text("ANALYZE"))
    rt.ensure_schema()
    return rt


# --- timing ---------------------------------------------------------------------------------

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
ROW = re.compile(r'<tr data-vuln="')


@dataclass(frozen=True, slots=True)
class Timing:
    median_s: float
    p95_s: float
    statements: int
    rows: int


def summarize(samples: list[float], statements: int, rows: int) -> Timing:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Timing(statistics.median(ordered), p95, statements, rows)


@contextlib.contextmanager
def counted(rt: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", record)


def signed_in_client(rt: Runtime, app: Any, organization: str) -> TestClient:
    token = admin_flow.create_token(
        rt.db, viewer=LOCAL_ADMIN, organization=organization, role=Role.ANALYST, clock=rt.clock
    )["token"]
    client = TestClient(app)
    form = client.get("/signin")
    found = CSRF.search(form.text)
    assert found is not None
    answer = client.post(
        "/signin",
        data={"csrf_token": found.group(1), "token": token},
        follow_redirects=False,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in as {organization} answered {answer.status_code}")
    return client


def time_page(
    rt: Runtime, client: TestClient, url: str, runs: int, headers: dict[str, str]
) -> Timing:
    for _ in range(2):
        client.get(url, headers=headers)
    with counted(rt) as statements:
        answer = client.get(url, headers=headers)
    if answer.status_code != 200:
        raise RuntimeError(f"{url} answered {answer.status_code}")
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(url, headers=headers)
        samples.append(time.perf_counter() - started)
    return summarize(samples, len(statements), len(ROW.findall(answer.text)))


PAGES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("first page", "/triage", {}),
    ("page 2", "/triage?page=2", {}),
    ("search", f"/triage?q={SEARCH_WORD}", {}),
    ("verdict: reproduced", "/triage?verdict=reproduced", {}),
    ("htmx rows, page 2", "/triage/rows?page=2", {"HX-Request": "true"}),
)
VIEWERS = (("coordinator", COORDINATOR), ("lab", SUBMITTERS[0][0]), ("operator", OPERATOR))


def bench_ours(rt: Runtime, runs: int) -> dict[tuple[str, str], Timing]:
    with rt.db.session() as session:
        total = session.scalar(select(func.count(Finding.id))) or 0
    print(f"\nours ({rt.db.engine.dialect.name}, {total:,} findings), {runs} runs per page")
    print(f"{'viewer':<12} {'page':<22} {'median ms':>10} {'p95 ms':>8} {'SQL':>4} {'rows':>5}")
    app = create_app(rt, run_workers=False)
    results = {}
    for label, organization in VIEWERS:
        with signed_in_client(rt, app, organization) as client:
            for page, url, headers in PAGES:
                timing = time_page(rt, client, url, runs, headers)
                results[label, page] = timing
                print(
                    f"{label:<12} {page:<22} {timing.median_s * 1000:>10.1f} "
                    f"{timing.p95_s * 1000:>8.1f} {timing.statements:>4} {timing.rows:>5}",
                    flush=True,
                )
    return results


def bench_datasette(path: Path, runs: int) -> dict[str, Timing] | None:
    try:
        import datasette  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from datasette.app import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            Datasette,
        )
    except ImportError:
        print(
            "\npeer: Datasette is not installed; run `.venv/bin/pip install datasette==0.65.5` "
            "to compare (skipped)"
        )
        return None
    ds = Datasette([str(path)])
    name = path.stem

    async def measure(url: str) -> Timing:
        for _ in range(2):
            await ds.client.get(url)
        samples = []
        answer = None
        for _ in range(runs):
            started = time.perf_counter()
            answer = await ds.client.get(url)
            samples.append(time.perf_counter() - started)
        if answer is None or answer.status_code != 200:
            raise RuntimeError(f"Datasette {url} answered {answer and answer.status_code}")
        return summarize(samples, 0, answer.text.count("<tr>") - 1)

    print(f"\npeer: Datasette {datasette.__version__} on the same SQLite file, {runs} runs")
    print(f"{'table page':<34} {'median ms':>10} {'p95 ms':>8} {'rows':>5}")
    results = {}
    for table in ("findings", "vulnerabilities"):
        timing = asyncio.run(measure(f"/{name}/{table}"))
        results[table] = timing
        print(
            f"{'/' + name + '/' + table:<34} {timing.median_s * 1000:>10.1f} "
            f"{timing.p95_s * 1000:>8.1f} {timing.rows:>5}"
        )
    return results


def report(label: str, ours: dict[tuple[str, str], Timing], peer: dict[str, Timing] | None) -> None:
    print(f"\n{label}: budget {BUDGET_S * 1000:.0f} ms for the first page (median; p95 shown)")
    for viewer, _ in VIEWERS:
        first = ours[viewer, "first page"]
        verdict = "PASS" if first.median_s < BUDGET_S else "MISS"
        print(
            f"  {viewer:<12} first page {first.median_s * 1000:6.1f} ms "
            f"(p95 {first.p95_s * 1000:6.1f} ms): {verdict}"
        )
    worst = max(ours.items(), key=lambda item: item[1].median_s)
    print(f"  slowest page: {worst[0][0]} / {worst[0][1]}, {worst[1].median_s * 1000:.1f} ms")
    if peer:
        for viewer, _ in VIEWERS:
            ours_s = ours[viewer, "first page"].median_s
            ratios = ", ".join(
                f"{ours_s / timing.median_s:.2f} vs its {table} table"
                for table, timing in peer.items()
            )
            print(f"  ours/Datasette, {viewer} first page: {ratios}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--rebuild", action="store_true", help="build the database again")
    parser.add_argument("--database-url", help="also measure on this PostgreSQL database")
    args = parser.parse_args(argv)
    if args.findings < 1_000 or args.runs < 1:
        parser.error("--findings must be at least 1,000 and --runs at least 1")  # exits 2
    failed = False
    rt, path = sqlite_runtime(args.findings, args.seed, args.rebuild)
    try:
        ours = bench_ours(rt, args.runs)
    finally:
        rt.close()
    try:
        peer = bench_datasette(path, args.runs)
    except Exception as error:  # the peer's failure is reported, ours still is
        print(f"\npeer: Datasette failed: {error!r}")
        peer = None
    failed |= peer is None
    report("SQLite", ours, peer)
    if args.database_url:
        try:
            pg = postgres_runtime(args.database_url, args.findings, args.seed, args.rebuild)
        except Exception as error:
            print(f"\nPostgreSQL at {args.database_url} could not be used: {error!r}")
            return 1
        try:
            report("PostgreSQL", bench_ours(pg, args.runs), peer)
        finally:
            pg.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
