"""Coverage-guided fuzzing (atheris + libFuzzer) of every format reader, one process per target.

Run::

    .venv/bin/pip install atheris==3.0.0                       # once; Linux x86-64 wheel
    .venv/bin/python benchmarks/parser_fuzz.py [--targets sarif,osv] [--seconds 60] [--json]

The targets, the contract and the mutations are the test suite's
(``tests/reliability/parser_targets.py`` and ``mutations.py``): for any bytes a reader returns
records or raises ``InputError`` with a short message. Here libFuzzer keeps the inputs that reach
new code (``clearinghouse`` is instrumented), and a custom mutator applies the suite's structured
JSON, line and zip mutations to them half of the time (libFuzzer's byte mutations the other half),
so coverage grows past the decoders. Each target runs in its own process for ``--seconds``,
seeded with ``tests/assets/fuzz/<format>/``; a crash or hang (``-timeout``, 30 s) is written to
``--artifacts`` (default ``.fuzz-artifacts/<run>/<target>/``, one folder per run) and counted.
The table printed at the end gives, per target: runs, seconds, coverage (edges) and features
reached, corpus size, crashes.

It exits non-zero when any target crashed, so ``make reliability`` fails on a new crasher; the
crasher then goes to ``tests/assets/fuzz/crashers/<target>/`` with the fix.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

_DONE = re.compile(r"#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)")
_PROGRESS = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)")


def _child(name: str, libfuzzer_args: list[str]) -> None:
    """Fuzz one target in this process (libFuzzer exits the process when done)."""
    import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

    with atheris.instrument_imports(include=["clearinghouse"]):
        from tests.reliability import mutations
        from tests.reliability.parser_targets import TARGETS, check, seeds_of

    import orjson

    target = TARGETS[name]
    seeds = seeds_of(target)
    structured = [s for s in seeds if s.kind in ("json", "yaml")]
    zipped = [s for s in seeds if s.kind == "zip"]

    def test_one_input(data: bytes) -> None:
        check(target, data, timed=False)  # ContractBroken propagates: libFuzzer's crash

    def mutate(data: bytes, max_size: int, seed: int) -> bytes:
        choices = mutations.Seeded(seed)
        way = choices.integer(0, 3)
        if way < 2:
            return bytes(atheris.Mutate(data, max_size))
        if structured and way == 2:
            try:
                doc = orjson.loads(data)
            except orjson.JSONDecodeError:
                out = mutations.mutate_structured(choices, structured)
            else:
                raw = mutations.Raw()
                doc = mutations.mutate_document(choices, doc, raw)
                out = mutations.encode_json(choices, doc, raw)
        elif zipped and way == 2:
            out = mutations.mutate_zip(choices, choices.choice(zipped).value)
        else:
            out = mutations.mutate_lines(choices, data, vocabulary=target.vocabulary)
        return out[:max_size]

    atheris.Setup([sys.argv[0], *libfuzzer_args], test_one_input, custom_mutator=mutate)
    atheris.Fuzz()


def _run_target(name: str, seconds: int, artifacts: Path) -> dict[str, Any]:
    from tests.reliability.parser_targets import TARGETS, seeds_of

    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    for index, seed in enumerate(seeds_of(TARGETS[name])):
        (corpus / f"seed-{index}").write_bytes(seed.raw)
    out = artifacts / name
    out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        __file__,
        "--child",
        name,
        "--",
        f"-max_total_time={seconds}",
        "-max_len=4194304",
        "-timeout=30",
        "-rss_limit_mb=3072",
        f"-artifact_prefix={out}/",
        "-print_final_stats=1",
        str(corpus),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    elapsed = time.perf_counter() - started
    log = done.stderr
    found = _DONE.findall(log) or _PROGRESS.findall(log)
    runs, cov, ft, corp = (int(x) for x in found[-1]) if found else (0, 0, 0, 0)
    crashes = sorted(str(p) for p in out.glob("*") if p.name.startswith(("crash-", "timeout-")))
    shutil.rmtree(corpus, ignore_errors=True)
    return {
        "target": name,
        "runs": runs,
        "seconds": round(elapsed, 1),
        "coverage": cov,
        "features": ft,
        "corpus": corp,
        "crashes": crashes,
        "exit": done.returncode,
        "tail": log.strip().splitlines()[-12:]
        if crashes or (done.returncode and not found)
        else [],
    }


def main() -> int:
    if "--child" in sys.argv:
        at = sys.argv.index("--child")
        rest = sys.argv[at + 2 :]
        _child(sys.argv[at + 1], rest[1:] if rest[:1] == ["--"] else rest)
        return 0
    from tests.reliability.parser_targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated")
    parser.add_argument("--seconds", type=int, default=60, help="per target")
    parser.add_argument("--artifacts", type=Path, default=REPO / ".fuzz-artifacts")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    try:
        import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        print("atheris is not installed: .venv/bin/pip install atheris==3.0.0", file=sys.stderr)
        return 2
    # Each run writes into its own folder: crashers of an earlier run (kept until they move to
    # tests/assets/fuzz/crashers/) must not be counted as this run's.
    run_artifacts = args.artifacts / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    rows = []
    for name in args.targets.split(","):
        row = _run_target(name, args.seconds, run_artifacts)
        rows.append(row)
        print(
            f"{row['target']:<12} runs {row['runs']:>8}  {row['seconds']:>6} s  "
            f"cov {row['coverage']:>6}  ft {row['features']:>6}  corpus {row['corpus']:>5}  "
            f"crashes {len(row['crashes'])}",
            flush=True,
        )
        for line in row["tail"]:
            print(f"    {line}")
        for crash in row["crashes"]:
            print(f"    crasher: {crash}")
    if args.json:
        print(json.dumps(rows, indent=1))
    return 1 if any(row["crashes"] for row in rows) else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
