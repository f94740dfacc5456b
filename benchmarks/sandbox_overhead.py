"""Sandbox overhead and validation throughput, against running the same thing bare.

1. Overhead: the same 50 ms program (``sleep 0.05``) run bare with ``subprocess`` (the peer:
   what a runner without isolation pays) and inside :class:`BubblewrapSandbox`, alternating,
   ``--runs`` times each; prints both medians and their ratio (issue 3's target: at most 1.3).
2. Throughput: 50 queued validations of a real proof (the RLE decoder example target, built
   with AddressSanitizer) worked off by ``clearinghouse validation work --workers 2`` (the
   in-process pool) in a fresh data directory; prints validations per second. Celery workers
   are not implemented yet, so their line says so.

Run: ``.venv/bin/python benchmarks/sandbox_overhead.py [--runs 40] [--validations 50]``. Needs
bubblewrap and a C compiler. Prints ratios and rates; never fails on a slow result.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from clearinghouse.validation.sandbox import BubblewrapSandbox, RunRequest, SandboxLimits

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "clearinghouse.cli.main"]
TARGET = ROOT / "src/clearinghouse/validation/targets/c-heap-overflow-write"


def overhead(runs: int, work: Path) -> tuple[float, float]:
    sandbox = BubblewrapSandbox(SandboxLimits(wall_clock_s=10))
    request = RunRequest(argv=("/usr/bin/sleep", "0.05"), work_dir=work)
    bare: list[float] = []
    boxed: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["/usr/bin/sleep", "0.05"], check=True)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = sandbox.run(request)
        boxed.append(time.perf_counter() - start)
        if result.exit_code != 0:
            raise SystemExit(f"sandboxed run failed: {result}")
    return statistics.median(bare), statistics.median(boxed)


def cli(data_dir: Path, *args: str) -> object:
    done = subprocess.run(
        [*CLI, "--data-dir", str(data_dir), *args, "--json"],
        capture_output=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("CLEARINGHOUSE_")},
    )
    if done.returncode != 0:
        raise SystemExit(f"clearinghouse {' '.join(args)} failed: {done.stderr.decode()[-500:]}")
    return json.loads(done.stdout)


def throughput(validations: int, root: Path) -> float:
    data = root / "data"
    cli(data, "org", "create", "Bench Lab", "--kind", "ai-lab")
    cli(data, "targets", "add", str(TARGET))
    proof = base64.b64encode((TARGET / "proofs/long-run.bin").read_bytes()).decode()
    findings = [
        {
            "target": "pkg:generic/rle-decoder",
            "title": f"RLE overflow report {n}",
            "proof": {"input_base64": proof},
            "provenance": {"tool": "bench"},
        }
        for n in range(validations)
    ]
    document = root / "findings.json"
    document.write_text(
        json.dumps({"format": "clearinghouse-findings", "version": "1.0", "findings": findings})
    )
    cli(data, "findings", "import", str(document), "--org", "Bench Lab")
    listed = cli(data, "findings", "list", "--limit", str(validations))
    assert isinstance(listed, list)
    cli(data, "validate", str(listed[0]["id"]), "--wait")  # build once, outside the timing
    for item in listed:
        cli(data, "validate", str(item["id"]))
    start = time.perf_counter()
    worked = cli(data, "validation", "work", "--workers", "2")
    elapsed = time.perf_counter() - start
    count = len(worked) if isinstance(worked, list) else validations
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--validations", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ch-bench-") as scratch:
        root = Path(scratch)
        root.chmod(0o755)  # the sandbox's unprivileged uid must reach the work directory
        work = root / "work"
        work.mkdir(mode=0o755)
        bare, boxed = overhead(args.runs, work)
        print(
            f"50 ms program, median of {args.runs}: bare {bare * 1000:.1f} ms, "
            f"bubblewrap {boxed * 1000:.1f} ms"
        )
        print(f"sandbox/bare time ratio: {boxed / bare:.2f} (target <= 1.3)")
        rate = throughput(args.validations, root)
        print(
            f"{args.validations} queued validations, in-process pool (2 workers): "
            f"{rate:.1f} validations/s"
        )
        print("Celery workers (2): not implemented yet (issue 3)")


if __name__ == "__main__":
    main()
