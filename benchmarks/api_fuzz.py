"""The full API fuzzing budget: Schemathesis against ``/openapi.json``, as each role, with links.

Run::

    .venv/bin/python benchmarks/api_fuzz.py [--requests 20000] [--seed N] [--json]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test_fuzz]

It runs ``tests/reliability/test_api_fuzz.py`` (the same module CI runs with a small budget)
with ``$CLEARINGHOUSE_FUZZ_API_REQUESTS`` set to the full budget and a random seed (printed,
so a failure can be replayed with ``--seed``), then prints the figures: requests sent by role
and status class, 5xx responses and schema violations. Not a timed benchmark: it exits 1 when
any request got a 5xx or broke the document, 0 otherwise. Without ``--database-url`` it runs
on SQLite; with one, that PostgreSQL database is emptied and used.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = "tests/reliability/test_api_fuzz.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20_000, help="generated requests")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    with tempfile.TemporaryDirectory(prefix="api-fuzz-") as scratch:
        report = Path(scratch) / "figures.json"
        env = {
            **os.environ,
            "CLEARINGHOUSE_FUZZ_API_REQUESTS": str(args.requests),
            "CLEARINGHOUSE_FUZZ_API_SEED": str(seed),
            "CLEARINGHOUSE_FUZZ_API_REPORT": str(report),
        }
        if args.database_url:
            env["CLEARINGHOUSE_TEST_DATABASE_URL"] = args.database_url
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", MODULE],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL if args.json else None,
            check=False,
        )
        elapsed = time.monotonic() - started
        if not report.exists():
            print(
                f"the fuzz run produced no figures (pytest exit {run.returncode})", file=sys.stderr
            )
            return 1
        figures = json.loads(report.read_text())
    figures.update(
        seed=seed,
        database="postgresql" if args.database_url else "sqlite",
        seconds=round(elapsed, 1),
        pytest_exit=run.returncode,
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"\n{figures['requests']} requests in {elapsed:.0f} s on {figures['database']} "
            f"(seed {seed}): {figures['server_errors']} 5xx, {figures['violations']} schema "
            f"violations; pytest exit {run.returncode}"
        )
    clean = figures["server_errors"] == 0 and figures["violations"] == 0
    return 0 if clean and run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
