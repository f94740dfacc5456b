"""Fuzzing every format reader: any bytes get records or an ``InputError``, never a crash or hang.

Structured mutations of small valid seeds (``tests/assets/fuzz/<format>/``), raw byte and line
mutations, and the classic amplification attacks are thrown at each reader exactly as the
pipeline calls it (``parser_targets``). Crashers found so far are replayed from
``tests/assets/fuzz/crashers/<target>/``; a new one is saved (see :func:`_saving_crashers`) for
the same treatment once fixed.

Budget: ``CLEARINGHOUSE_FUZZ_EXAMPLES`` examples per reader and strategy (default 25, the CI
budget: the module runs in under a minute); ``make reliability`` runs 20 times more and prints
the examples run per reader. Runs are derandomized (the same examples every time) unless
``CLEARINGHOUSE_FUZZ_RANDOM=1``, which a nightly run sets to explore new ground.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from clearinghouse.core.errors import DecodeError, InputError, TooLargeError
from clearinghouse.formats.limits import DEFAULT_LIMITS
from tests.reliability import mutations
from tests.reliability.parser_targets import (
    FIGURES,
    FINDING_FORMATS,
    LAST_FAILURE,
    TARGETS,
    TINY_LIMITS,
    Target,
    check,
    crasher_bytes,
    crasher_files,
    seeds_of,
)

EXAMPLES = int(os.environ.get("CLEARINGHOUSE_FUZZ_EXAMPLES", "25"))
RANDOM = os.environ.get("CLEARINGHOUSE_FUZZ_RANDOM") == "1"
CRASH_DIR = Path(
    os.environ.get("CLEARINGHOUSE_FUZZ_CRASH_DIR")
    or Path(tempfile.gettempdir()) / "clearinghouse-fuzz-crashers"
)


def _budget(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=not RANDOM,
        database=None,  # no example database: a CI run is the same run every time
        deadline=None,  # time is bounded per example by parser_targets.deadline instead
        suppress_health_check=list(HealthCheck),  # seeds are large by design
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        print_blob=False,
    )


def _saving_crashers(target: Target, test: Callable[[], None]) -> None:
    """Run a hypothesis test; on failure keep the minimal failing input as a file."""
    LAST_FAILURE.pop(target.name, None)
    try:
        test()
    except BaseException:
        data = LAST_FAILURE.get(target.name)
        if data is not None:
            folder = CRASH_DIR / target.name
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{sha256(data).hexdigest()[:16]}.bin"
            path.write_bytes(data)
            print(  # tells the developer where the crasher is
                f"\ncrasher saved to {path}: fix the reader, then move it to "
                f"tests/assets/fuzz/crashers/{target.name}/ as a regression"
            )
        raise


def _with_kind(target: Target, *kinds: str) -> list[mutations.Seed]:
    return [seed for seed in seeds_of(target) if seed.kind in kinds]


def _targets_with(*kinds: str) -> list[str]:
    return [name for name, target in TARGETS.items() if _with_kind(target, *kinds)]


# --- the seeds themselves are valid -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "seed"),
    [(name, seed.name) for name, target in TARGETS.items() for seed in seeds_of(target)],
)
def test_every_seed_is_read(name: str, seed: str) -> None:
    """Mutations start from documents the reader accepts, so they reach past the first check."""
    target = TARGETS[name]
    (found,) = [s for s in seeds_of(target) if s.name == seed]
    assert target.run(found.raw, DEFAULT_LIMITS) > 0


# --- fuzzing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", _targets_with("json", "yaml"))
def test_structured_mutations_are_read_or_refused(name: str) -> None:
    target = TARGETS[name]
    seeds = _with_kind(target, "json", "yaml")

    @_budget(target.examples(EXAMPLES * 2))  # the strategy that reaches deepest: twice
    @given(data=mutations.structured(seeds), limits_index=st.integers(0, 3))
    def run(data: bytes, limits_index: int) -> None:
        # One example in four with tiny limits, to reach every "over the limit" refusal.
        check(target, data, TINY_LIMITS if limits_index == 3 else DEFAULT_LIMITS)

    _saving_crashers(target, run)


@pytest.mark.parametrize("name", list(TARGETS))
def test_raw_byte_mutations_are_read_or_refused(name: str) -> None:
    target = TARGETS[name]

    @_budget(target.examples(EXAMPLES))
    @given(data=mutations.raw_bytes(seeds_of(target), tokens=target.tokens))
    def run(data: bytes) -> None:
        check(target, data)

    _saving_crashers(target, run)


@pytest.mark.parametrize("name", _targets_with("lines"))
def test_line_mutations_are_read_or_refused(name: str) -> None:
    target = TARGETS[name]

    @_budget(target.examples(EXAMPLES * 2))
    @given(data=mutations.lines(_with_kind(target, "lines"), vocabulary=target.vocabulary))
    def run(data: bytes) -> None:
        check(target, data)

    _saving_crashers(target, run)


@pytest.mark.parametrize("name", _targets_with("zip"))
def test_zip_mutations_are_read_or_refused(name: str) -> None:
    target = TARGETS[name]

    @_budget(target.examples(EXAMPLES))
    @given(data=mutations.zipped(_with_kind(target, "zip")))
    def run(data: bytes) -> None:
        check(target, data)

    _saving_crashers(target, run)


@pytest.mark.parametrize("name", FINDING_FORMATS)
def test_other_formats_are_refused_cleanly(name: str) -> None:
    """``--format NAME`` with a document of another format: a clear refusal, never a crash."""
    target = TARGETS[name]
    for other in FINDING_FORMATS:
        if other != name:
            for seed in seeds_of(TARGETS[other]):
                check(target, seed.raw)


# --- crashers found so far --------------------------------------------------------------------


@pytest.mark.parametrize("path", crasher_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_crasher_is_refused_cleanly(path: Path) -> None:
    """Each file once crashed or stalled its reader (the commit that fixed it added the file).

    Fixed, each is answered in well under a second; the 5 s budget (for a loaded CI machine)
    is far below what the slow ones took before their fix (30 s and more).
    """
    check(TARGETS[path.parent.name], crasher_bytes(path), budget_s=5.0)


# --- the classic amplification attacks, with their memory bounded -----------------------------

_MIB = 1 << 20


def _billion_laughs_yaml() -> bytes:
    lines = ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def _entity_bomb_xml() -> bytes:
    entities = ['<!ENTITY a0 "lollollollollol">'] + [
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?><!DOCTYPE bom [' + "".join(entities) + "]>"
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.4" version="1"><components>'
        '<component type="library"><name>&a9;</name><version>1</version></component>'
        "</components></bom>"
    ).encode()


def _zip_bomb() -> bytes:
    """A zip whose member claims 4 GiB once inflated: the declared size is what bounds memory
    (``zipfile`` stops inflating there), so that is what the reader must refuse on."""
    import io
    import struct
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("header.json", b"{}")
    data = bytearray(buffer.getvalue())
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 0xFFFF_FFF0)  # uncompressed size
    struct.pack_into("<I", data, 22, 0xFFFF_FFF0)  # the same in the local header
    return bytes(data)


def _deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _deep_yaml(depth: int) -> bytes:
    return b"a: " + b"[" * depth + b"]" * depth + b"\n"


_HOSTILE: list[tuple[str, str, Callable[[], bytes], type[InputError]]] = [
    ("decode", "yaml-billion-laughs", _billion_laughs_yaml, DecodeError),
    ("decode", "json-nesting-100k", lambda: _deep_json(100_000), DecodeError),
    ("decode", "yaml-nesting-100k", lambda: _deep_yaml(100_000), DecodeError),
    ("decode", "yaml-over-1mib", lambda: b"a: [" + b"1, " * 400_000 + b"]\n", TooLargeError),
    ("osv", "yaml-nesting-5k", lambda: _deep_yaml(5_000), InputError),
    ("native", "json-nesting-1k", lambda: _deep_json(1_000), InputError),
    (
        "auto",
        "sarif-runs-nesting-100k",
        lambda: b'{"runs":[' + _deep_json(100_000) + b"]}",
        InputError,
    ),
    ("cyclonedx", "xml-entity-expansion", _entity_bomb_xml, DecodeError),
    ("cyclonedx", "xml-nesting-100k", lambda: b"<a>" * 100_000 + b"</a>" * 100_000, InputError),
    ("inspect", "zip-declaring-4gib", _zip_bomb, TooLargeError),
    ("securitytxt", "over-64kib", lambda: b"Contact: mailto:a@b.c\n" * 4_000, TooLargeError),
    ("vex", "json-nesting-100k", lambda: b'{"a":' + _deep_json(100_000) + b"}", DecodeError),
]


@pytest.mark.parametrize(
    ("name", "attack", "make", "expected"),
    _HOSTILE,
    ids=[f"{name}-{attack}" for name, attack, _, _ in _HOSTILE],
)
def test_amplification_is_refused_in_bounded_memory(
    name: str, attack: str, make: Callable[[], bytes], expected: type[InputError]
) -> None:
    data = make()
    tracemalloc.start()
    try:
        with pytest.raises(expected) as raised:
            TARGETS[name].run(data, DEFAULT_LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(raised.value)
    assert peak < 64 * _MIB + 4 * len(data), f"{attack}: peak {peak / _MIB:.0f} MiB"


# --- figures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _report_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print examples run per reader when the module ends (and write them as JSON if asked)."""
    started = time.perf_counter()
    yield
    if not FIGURES.examples:
        return
    rows = [
        {
            "target": name,
            "examples": FIGURES.examples[name],
            "accepted": FIGURES.accepted[name],
            "seconds": round(FIGURES.seconds[name], 2),
            "slowest_s": round(FIGURES.slowest_s[name], 3),
            "largest_bytes": FIGURES.largest_bytes[name],
        }
        for name in TARGETS
        if FIGURES.examples[name]
    ]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            _print_figures(reporter, rows, time.perf_counter() - started)
    report = os.environ.get("CLEARINGHOUSE_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps({"examples_per_strategy": EXAMPLES, "targets": rows}))


def _print_figures(reporter: Any, rows: list[dict[str, Any]], seconds: float) -> None:
    reporter.write_line("")
    reporter.write_line(f"parser fuzzing, {EXAMPLES} examples per strategy ({seconds:.1f} s):")
    reporter.write_line(
        f"  {'target':<12} {'examples':>8} {'accepted':>8} {'seconds':>8} {'slowest s':>9}"
        f" {'largest bytes':>13}"
    )
    for row in rows:
        reporter.write_line(
            f"  {row['target']:<12} {row['examples']:>8} {row['accepted']:>8} "
            f"{row['seconds']:>8} {row['slowest_s']:>9} {row['largest_bytes']:>13}"
        )
