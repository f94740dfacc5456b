"""The build cache builds a target once, even when two worker processes ask at the same time.

Two ``BuildCache`` objects on one directory stand for two processes (each has its own thread
locks; only the file lock is shared). The sandbox is a stand-in that records its builds: what is
tested is the cache's locking, not compilation.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from clearinghouse.validation.reproduce import BuildCache, BuildOutcome, ReproduceConfig
from clearinghouse.validation.sandbox import RunRequest, RunResult, SandboxLimits
from clearinghouse.validation.target import parse_manifest

MANIFEST = parse_manifest(
    b"""
name = "t"
language = "c"
version = "1"
[build]
commands = [["{cc}", "main.c"]]
[harness]
command = ["./a.out", "{input}"]
[tests]
command = ["./a.out"]
"""
)


class SlowBuilds:
    """Takes a while per build command and counts them."""

    isolation = "test"

    def __init__(self) -> None:
        self.builds = 0
        self._lock = threading.Lock()

    def run(self, request: RunRequest, limits: SandboxLimits | None = None) -> RunResult:
        with self._lock:
            self.builds += 1
        time.sleep(0.3)
        (request.work_dir / "a.out").write_text("built")
        return RunResult(
            exit_code=0,
            signal=None,
            timed_out=False,
            killed_reason=None,
            stdout=b"",
            stderr=b"",
            stdout_truncated=False,
            stderr_truncated=False,
            duration_s=0.3,
            isolation=self.isolation,
        )


def test_two_processes_asking_at_once_build_once(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "main.c").write_text("int main(void) { return 0; }\n")
    sandbox = SlowBuilds()
    caches = [BuildCache(tmp_path / "builds"), BuildCache(tmp_path / "builds")]
    outcomes: list[BuildOutcome] = []

    def build(cache: BuildCache) -> None:
        outcomes.append(
            cache.build(
                manifest=MANIFEST,
                source=source,
                digest="d",
                config=ReproduceConfig(),
                sandbox=sandbox,
            )
        )

    threads = [threading.Thread(target=build, args=(cache,)) for cache in caches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sandbox.builds == 1
    assert all(o.ok for o in outcomes)
    assert sorted(o.cached for o in outcomes) == [False, True]
    assert {o.path for o in outcomes} == {tmp_path / "builds" / "d-gcc"}
    assert (tmp_path / "builds" / "d-gcc" / "a.out").read_text() == "built"
