"""Benchmark: importing one large SARIF log, against a parse-and-dedup floor and a named peer.

What it measures, on the same file in one run, each contender in its own fresh subprocess:

* ``floor``: read the bytes, ``orjson.loads``, and dedup the results in a dict keyed by
  (ruleId, first location's uri and startLine, fingerprints, partialFingerprints). Nothing
  real can import SARIF faster than this, so it is the yardstick for time and memory.
* ``peer``: sarif-tools (PyPI ``sarif-tools``, package ``sarif``), the maintained Python library
  for reading SARIF: ``loader.load_sarif_file`` then every result through
  ``SarifRun.result_to_record`` (its normalization), deduplicated with the floor's key.
  DefectDojo's SARIF parser would be the closer peer, but it needs DefectDojo's Django models
  and database to run, so it is not used (see benchmarks/README.md).
* ``ours-sqlite`` / ``ours-postgres``: the real ``clearinghouse findings import`` command
  (parse, validate, normalize, fingerprint, cluster, persist) into a fresh SQLite data
  directory and a fresh PostgreSQL database.

Why: intake must keep up with CI systems that upload the same scans again and again. The issue
sets the bar: our SQLite import within 2.5x of the floor's time, at least 3x faster than the
peer, and peak memory no higher than the floor's. The script prints those ratios with PASS or
MISS; a MISS is a result, not an error, so it still exits 0. It exits non-zero only when a
contender could not run (for example the CLI is not installed, or PostgreSQL is unreachable).

Time is measured inside each child around the work only (interpreter start-up and imports
excluded) and also as wall time from the parent; the ratios use the in-child time. Peak memory
is the child's ``ru_maxrss`` as returned by ``wait4`` for that one process.

The input is built from real scanner output by ``_sarif_corpus`` (bandit over the Python
standard library, flawfinder over C headers, stacked as repeated CI scans) and cached in
``benchmarks/.work/``. This is a benchmark, not a timed test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import orjson

import _sarif_corpus

QUICK_RESULTS = 20_000
DEFAULT_RESULTS = 200_000
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/clearinghouse_bench"
ORG = "bench-lab"
CONTENDERS = ("floor", "peer", "ours-sqlite", "ours-postgres")

# The issue's targets for our SQLite import (the PostgreSQL rows are reported the same way).
MAX_TIME_VS_FLOOR = 2.5
MIN_SPEEDUP_VS_PEER = 3.0
MAX_RSS_VS_FLOOR = 1.0

JsonObject = dict[str, Any]


@dataclass(slots=True)
class Measurement:
    """One contender's outcome: ``ok``, or ``error`` with the reason."""

    contender: str
    status: str = "ok"
    seconds: float | None = None
    wall_s: float | None = None
    peak_rss_mib: float | None = None
    results: int | None = None
    distinct: int | None = None
    error: str | None = None
    details: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ratio:
    """A named comparison against its target."""

    name: str
    value: float | None
    target: str
    verdict: str  # PASS, MISS or n/a


class ContenderError(Exception):
    """A contender could not run; the message is shown to the user as is."""


# --------------------------------------------------------------------------------------------
# Work done inside the children.


def _dedup_key(result: JsonObject) -> tuple[object, ...]:
    locations = result.get("locations")
    physical = (locations[0].get("physicalLocation") if locations else None) or {}
    uri = (physical.get("artifactLocation") or {}).get("uri")
    line = (physical.get("region") or {}).get("startLine")
    prints = result.get("fingerprints")
    partial = result.get("partialFingerprints")
    return (
        result.get("ruleId"),
        uri,
        line,
        orjson.dumps(prints, option=orjson.OPT_SORT_KEYS) if prints else b"",
        orjson.dumps(partial, option=orjson.OPT_SORT_KEYS) if partial else b"",
    )


def floor_work(path: Path) -> tuple[int, int]:
    """Parse with orjson and dedup results in a dict; return (results, distinct)."""
    document = orjson.loads(path.read_bytes())
    seen: dict[tuple[object, ...], int] = {}
    results = 0
    for run in document.get("runs", ()):
        for result in run.get("results", ()):
            results += 1
            key = _dedup_key(result)
            seen[key] = seen.get(key, 0) + 1
    return results, len(seen)


def peer_work(path: Path) -> tuple[int, int]:
    """Load with sarif-tools, normalize each result to its record, dedup; (results, distinct)."""
    from sarif import loader  # the peer is imported in its child only

    sarif_file = loader.load_sarif_file(str(path))
    seen: dict[tuple[object, ...], int] = {}
    results = 0
    for run in sarif_file.runs:
        for result in run.get_results():
            results += 1
            record = run.result_to_record(result)
            prints = result.get("fingerprints")
            partial = result.get("partialFingerprints")
            key = (
                record["Tool"],
                record["Code"],
                record["Location"],
                record["Line"],
                orjson.dumps(prints, option=orjson.OPT_SORT_KEYS) if prints else b"",
                orjson.dumps(partial, option=orjson.OPT_SORT_KEYS) if partial else b"",
            )
            seen[key] = seen.get(key, 0) + 1
    return results, len(seen)


WORK: dict[str, Callable[[Path], tuple[int, int]]] = {"floor": floor_work, "peer": peer_work}


def _child_work(name: str, path: str) -> int:
    started = time.perf_counter()
    results, distinct = WORK[name](Path(path))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "results": results, "distinct": distinct}))
    return 0


def _child_cli(timing_file: str, args: Sequence[str]) -> NoReturn:
    """Run the installed ``clearinghouse`` console script in-process, timing only its call."""
    entry_points = importlib.metadata.entry_points(group="console_scripts", name="clearinghouse")
    if not entry_points:
        print("the clearinghouse console script is not installed", file=sys.stderr)
        sys.exit(127)
    main = next(iter(entry_points)).load()
    sys.argv = ["clearinghouse", *args]
    code: str | int | None = 0
    started = time.perf_counter()
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code
    finally:
        Path(timing_file).write_text(json.dumps({"seconds": time.perf_counter() - started}))
    sys.stdout.flush()
    # Same exit semantics as the generated console script: sys.exit(main()).
    sys.exit(code)


# --------------------------------------------------------------------------------------------
# The parent: spawning, measuring, comparing.


@dataclass(frozen=True, slots=True)
class _Spawned:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    peak_rss_mib: float


def _spawn(cmd: Sequence[str], *, env: dict[str, str] | None = None) -> _Spawned:
    """Run ``cmd`` and return its output, wall time and its own peak RSS (via wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall_s = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return _Spawned(
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            wall_s=wall_s,
            peak_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        )


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run_python_contender(name: str, corpus: Path) -> Measurement:
    spawned = _spawn([sys.executable, str(Path(__file__).resolve()), "--child", name, str(corpus)])
    if spawned.returncode != 0:
        raise ContenderError(f"{name} exited {spawned.returncode}: {_tail(spawned.stderr)}")
    report = json.loads(spawned.stdout)
    return Measurement(
        contender=name,
        seconds=float(report["seconds"]),
        wall_s=spawned.wall_s,
        peak_rss_mib=spawned.peak_rss_mib,
        results=int(report["results"]),
        distinct=int(report["distinct"]),
    )


def _cli_path() -> Path:
    cli = Path(sys.executable).parent / "clearinghouse"
    if not cli.exists() or not importlib.metadata.entry_points(
        group="console_scripts", name="clearinghouse"
    ):
        raise ContenderError(
            f"the clearinghouse CLI is missing ({cli} not found); install the package into this "
            "venv (.venv/bin/pip install -e .) so that `clearinghouse findings import` exists"
        )
    return cli


def _sqlalchemy_to_libpq(url: str) -> tuple[str, str]:
    """(admin conninfo on the maintenance database, bench database name) from a SQLAlchemy URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ContenderError(f"--database-url must be a PostgreSQL URL, got {scheme!r}")
    name = parts.path.lstrip("/")
    if not name:
        raise ContenderError("--database-url must name the benchmark database")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    return admin, name


def _recreate_database(url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    admin, name = _sqlalchemy_to_libpq(url)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            if not drop_only:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise ContenderError(
            f"PostgreSQL is not usable at {admin} ({exc}); start it, pass --database-url, or "
            "leave ours-postgres out with --contenders"
        ) from exc


def _run_ours(name: str, corpus: Path, *, database_url: str | None, keep: bool) -> Measurement:
    cli = _cli_path()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARINGHOUSE_")}
    if database_url is not None:
        env["CLEARINGHOUSE_DATABASE_URL"] = database_url
        _recreate_database(database_url)
    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=_sarif_corpus.WORK_DIR))
    base = [str(cli), "--data-dir", str(data_dir)]
    try:
        for step in (["db", "upgrade"], ["org", "create", ORG, "--kind", "ai-lab", "--json"]):
            done = _spawn([*base, *step], env=env)
            if done.returncode != 0:
                raise ContenderError(
                    f"`clearinghouse {' '.join(step)}` exited {done.returncode}: "
                    f"{_tail(done.stderr or done.stdout)}"
                )
        timing = data_dir / "import-timing.json"
        args = ["--data-dir", str(data_dir), "findings", "import", str(corpus), "--org", ORG]
        spawned = _spawn(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                "cli",
                str(timing),
                *args,
                "--json",
            ],
            env=env,
        )
        if spawned.returncode != 0:
            raise ContenderError(
                f"`clearinghouse findings import` exited {spawned.returncode}: "
                f"{_tail(spawned.stderr or spawned.stdout)}"
            )
        try:
            summary = json.loads(spawned.stdout)
            findings = int(summary["findings"])
            new_vulnerabilities = int(summary["new_vulnerabilities"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ContenderError(
                "`clearinghouse findings import --json` did not print one JSON document with "
                f"'findings' and 'new_vulnerabilities': {_tail(spawned.stdout, 3)!r}"
            ) from exc
        return Measurement(
            contender=name,
            seconds=float(json.loads(timing.read_text())["seconds"]),
            wall_s=spawned.wall_s,
            peak_rss_mib=spawned.peak_rss_mib,
            results=findings,
            distinct=new_vulnerabilities,
            details={"summary": summary},
        )
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
            if database_url is not None:
                # The measurement (or its error) already says what happened.
                with contextlib.suppress(ContenderError):
                    _recreate_database(database_url, drop_only=True)


def _measure(name: str, corpus: Path, *, database_url: str, keep: bool, repeat: int) -> Measurement:
    best: Measurement | None = None
    for _ in range(repeat):
        try:
            if name in WORK:
                current = _run_python_contender(name, corpus)
            else:
                url = database_url if name == "ours-postgres" else None
                current = _run_ours(name, corpus, database_url=url, keep=keep)
        except ContenderError as exc:
            return Measurement(contender=name, status="error", error=str(exc))
        if best is None or (current.seconds or 0.0) < (best.seconds or 0.0):
            best = current
    assert best is not None
    best.details["repeat"] = repeat
    return best


def _ratio(
    name: str, value: float | None, *, at_most: float | None = None, at_least: float | None = None
) -> Ratio:
    if at_most is not None:
        target = f"<= {at_most:g}"
        passed = value is not None and value <= at_most
    else:
        assert at_least is not None
        target = f">= {at_least:g}"
        passed = value is not None and value >= at_least
    verdict = "n/a" if value is None else ("PASS" if passed else "MISS")
    return Ratio(name=name, value=value, target=target, verdict=verdict)


def _div(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def compare(measurements: dict[str, Measurement]) -> list[Ratio]:
    """The issue's three ratios for each of our backends."""
    floor = measurements.get("floor")
    peer = measurements.get("peer")
    ratios: list[Ratio] = []
    for backend in ("sqlite", "postgres"):
        ours = measurements.get(f"ours-{backend}")
        if ours is None:
            continue
        ratios += [
            _ratio(
                f"ours_{backend}/floor time",
                _div(ours.seconds, floor.seconds if floor else None),
                at_most=MAX_TIME_VS_FLOOR,
            ),
            _ratio(
                f"peer/ours_{backend} speed-up",
                _div(peer.seconds if peer else None, ours.seconds),
                at_least=MIN_SPEEDUP_VS_PEER,
            ),
            _ratio(
                f"ours_{backend}/floor peak RSS",
                _div(ours.peak_rss_mib, floor.peak_rss_mib if floor else None),
                at_most=MAX_RSS_VS_FLOOR,
            ),
        ]
    if floor and peer:
        ratios.append(
            Ratio(
                name="peer/floor time (context)",
                value=_div(peer.seconds, floor.seconds),
                target="-",
                verdict="-",
            )
        )
    return ratios


def _fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render_table(corpus: _sarif_corpus.Corpus, rows: list[Measurement], ratios: list[Ratio]) -> str:
    lines = [
        f"SARIF log: {corpus.path} ({corpus.size_bytes / 2**20:.1f} MiB, {corpus.results} "
        f"results in {corpus.runs} runs = {corpus.ci_scans} CI scans of "
        + ", ".join(f"{tool} {count}" for tool, count in corpus.base_results.items())
        + " base results)",
        "",
        f"{'contender':<15} {'seconds':>9} {'wall s':>9} {'peak RSS MiB':>13} "
        f"{'results':>9} {'distinct':>9}",
    ]
    for row in rows:
        if row.status != "ok":
            lines.append(f"{row.contender:<15} ERROR: {row.error}")
            continue
        lines.append(
            f"{row.contender:<15} {_fmt(row.seconds, '9.3f')} {_fmt(row.wall_s, '9.3f')} "
            f"{_fmt(row.peak_rss_mib, '13.1f')} {_fmt(row.results, '9d')} "
            f"{_fmt(row.distinct, '9d')}"
        )
    lines += ["", f"{'ratio':<32} {'value':>8} {'target':>8}  verdict"]
    for ratio in ratios:
        lines.append(
            f"{ratio.name:<32} {_fmt(ratio.value, '8.2f')} {ratio.target:>8}  {ratio.verdict}"
        )
    lines += [
        "",
        "seconds: in-child time around the work (no interpreter start-up or imports); "
        "wall s: from the parent. distinct: the floor and peer key on (rule, uri, line, "
        "fingerprints); ours counts new vulnerabilities after clustering.",
    ]
    return "\n".join(lines)


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time importing a large SARIF log: floor vs sarif-tools vs clearinghouse."
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--results", type=int, default=DEFAULT_RESULTS, help="results in the generated log"
    )
    size.add_argument("--quick", action="store_true", help=f"smoke size: {QUICK_RESULTS} results")
    parser.add_argument("--seed", type=int, default=20260101, help="seed of the CI-scan drift")
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help=f"comma-separated subset of {','.join(CONTENDERS)}",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL URL for ours-postgres; the database is dropped and recreated",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; best is kept")
    parser.add_argument(
        "--keep", action="store_true", help="keep data directories and the bench database"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.contenders.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(CONTENDERS))
    if unknown or not chosen:
        parser.error(f"unknown contenders {unknown}; choose from {', '.join(CONTENDERS)}")
    if args.repeat < 1 or args.results < 1:
        parser.error("--repeat and --results must be positive")
    args.contenders = [name for name in CONTENDERS if name in chosen]
    if args.quick:
        args.results = QUICK_RESULTS
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        if argv[1:2] == ["cli"]:
            return _child_cli(argv[2], argv[3:])
        return _child_work(argv[1], argv[2])
    args = _parse_args(argv)
    try:
        corpus = _sarif_corpus.build(results=args.results, seed=args.seed, log=not args.json)
    except _sarif_corpus.CorpusError as exc:
        print(f"error: cannot build the SARIF log: {exc}", file=sys.stderr)
        return 1
    # Read the file once so that every contender starts from a warm page cache.
    with corpus.path.open("rb") as handle:
        while handle.read(1 << 24):
            pass
    rows: list[Measurement] = []
    for name in args.contenders:
        if not args.json:
            print(f"[bench] {name}...", file=sys.stderr)
        rows.append(
            _measure(
                name,
                corpus.path,
                database_url=args.database_url,
                keep=args.keep,
                repeat=args.repeat,
            )
        )
    ratios = compare({row.contender: row for row in rows if row.status == "ok"})
    if args.json:
        document = {
            "corpus": {**asdict(corpus), "path": str(corpus.path)},
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "contenders": [asdict(row) for row in rows],
            "ratios": [asdict(ratio) for ratio in ratios],
        }
        print(json.dumps(document, indent=2))
    else:
        print(render_table(corpus, rows, ratios))
    return 1 if any(row.status != "ok" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
