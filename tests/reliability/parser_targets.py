"""Every format reader as a fuzz target: bytes in, records or an ``InputError`` out.

Each :class:`Target` calls a reader the way the pipeline does (the same decode, detection,
validation, summary and read steps), so a crash found here is a crash an upload could cause.
Seeds live in ``tests/assets/fuzz/<folder>/`` (small files of our own) and crashers found by
fuzzing in ``tests/assets/fuzz/crashers/<target>/``, replayed on every test run.

The contract checked by :func:`check`: for any bytes, a reader returns or raises
:class:`clearinghouse.core.errors.InputError` (or a subclass) with a short, non-empty message;
never another exception type, never longer than the per-example deadline.
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
import os
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import yaml

from clearinghouse.core.errors import InputError
from clearinghouse.core.tlp import Tlp
from clearinghouse.evaluation.inspect_log import read_inspect_log_bytes
from clearinghouse.formats import csaf, cve5, native, osv, registry, sarif
from clearinghouse.formats.decode import decode
from clearinghouse.formats.epss import read_epss
from clearinghouse.formats.kev import read_kev
from clearinghouse.formats.limits import DEFAULT_LIMITS, ReadLimits
from clearinghouse.formats.reader import Reader
from clearinghouse.formats.sbom import read_sbom
from clearinghouse.formats.securitytxt import parse_security_txt
from clearinghouse.formats.vex import read_vex
from clearinghouse.scans import scope
from clearinghouse.validation.crash import parse_report
from tests.reliability.mutations import Seed

ASSETS = Path(__file__).resolve().parents[1] / "assets"
FUZZ_ASSETS = ASSETS / "fuzz"
CRASHERS = FUZZ_ASSETS / "crashers"

DEADLINE_S = float(os.environ.get("CLEARINGHOUSE_FUZZ_DEADLINE_S", "10"))
DEADLINE_S_PER_MB = 10.0
"""An example may take ``DEADLINE_S`` plus this per MB of input before it counts as a hang:
work must be linear in the input, and readers built on pure-Python parsers (spdx-tools, PyYAML,
pydantic) need seconds per MB. Generous, as CI machines are shared; the figures report the
slowest example per target, which is the number to watch."""
MAX_MESSAGE_CHARS = 4_096
"""An error message becomes a problem+json ``detail``; it must never echo a whole document."""

TINY_LIMITS = ReadLimits(
    max_string_chars=200, max_proof_chars=400, max_title_chars=24, max_findings=2
)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Hang(BaseException):
    """Raised by the alarm; a BaseException so no reader's ``except Exception`` swallows it."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` of wall-clock time (main thread, POSIX only)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- how the pipeline calls each reader --------------------------------------------------------


def _consume(records: Any) -> int:
    return sum(1 for _ in records)


def _hinted(reader: Reader) -> Callable[[bytes, ReadLimits], int]:
    """``intake_flow`` with ``--format NAME``: decode, validate, summarize, TLP, read."""

    def run(data: bytes, limits: ReadLimits) -> int:
        return _read_with(reader, decode(data, what="upload"), limits)

    return run


def _read_with(reader: Reader, doc: Any, limits: ReadLimits) -> int:
    reader.validate(doc)
    summary = reader.summarize(doc)
    if summary.tlp:
        Tlp.parse(summary.tlp)
    # The intake stores producer[:500] and the TLP label: both must be text.
    assert summary.producer is None or isinstance(summary.producer, str), "producer not a str"
    return _consume(reader.read(doc, limits=limits))


def _auto(data: bytes, limits: ReadLimits) -> int:
    """``intake_flow`` with ``--format auto``: the lazy SARIF split first, then detection."""
    lazy = sarif.LazyLog.open(data)
    if lazy is not None:
        return _consume(lazy.read(limits=limits))
    doc = decode(data, what="upload")
    return _read_with(registry.detect(doc, hint=None), doc, limits)


def _sarif_lazy(data: bytes, limits: ReadLimits) -> int:
    lazy = sarif.LazyLog.open(data)
    if lazy is None:
        return 0
    count = _consume(lazy.read(limits=limits))
    assert lazy.producer is None or isinstance(lazy.producer, str), "producer not a str"
    return count


def _decode(data: bytes, limits: ReadLimits) -> int:
    """Whatever decodes, JSON or YAML, is a JSON value: what every reader is written for."""
    stack = [decode(data)]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            assert all(isinstance(key, str) for key in value), "a non-string key"
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        else:
            assert value is None or isinstance(value, str | int | float), type(value).__name__
            assert not isinstance(value, float) or math.isfinite(value), "a non-finite number"
            assert not isinstance(value, int) or -(2**63) <= value < 2**64, "over 64 bits"
    return 1


def _sbom(data: bytes, limits: ReadLimits) -> int:
    return len(read_sbom(data, limits=limits).components)


def _vex(data: bytes, limits: ReadLimits) -> int:
    return len(read_vex(data, limits=limits).statements)


def _security_txt(data: bytes, limits: ReadLimits) -> int:
    return len(parse_security_txt(data, now=NOW).contacts)


def _sanitizer(data: bytes, limits: ReadLimits) -> int:
    """The reproduction flow hands over decoded output; the parser's contract is to never raise."""
    text = data.decode("utf-8", errors="replace")
    report = parse_report(text, max_log_chars=4_096)
    if report is None:
        return 0
    assert len(report.log) <= 4_096, "crash log over its cap"
    assert report.crash_type, "a crash report without a crash type"
    return 1


def _inspect(data: bytes, limits: ReadLimits) -> int:
    return 1 + len(read_inspect_log_bytes(data, name="fuzz.eval").samples)


def _kev(data: bytes, limits: ReadLimits) -> int:
    return len(read_kev(data).entries)


def _epss(data: bytes, limits: ReadLimits) -> int:
    return len(read_epss(data).scores)


def _scope(data: bytes, limits: ReadLimits) -> int:
    """Each line as a network range, a hostname and a code target, as scan scope claims are."""
    accepted = 0
    for line in data.decode("utf-8", errors="replace").splitlines()[:50]:
        for parse in (scope.parse_network, scope.parse_hostname, scope.parse_code_target):
            try:
                parse(line)
                accepted += 1
            except InputError as error:
                _check_message(error)
    return accepted


# --- the targets -------------------------------------------------------------------------------

FINDING_FORMATS = ("sarif", "osv", "cve5", "csaf", "native")


@dataclass(frozen=True)
class Target:
    """One reader entry point and the seed folders it is fuzzed from."""

    name: str
    run: Callable[[bytes, ReadLimits], int]
    folders: tuple[str, ...]
    tokens: tuple[bytes, ...] = ()  # format-specific bytes for raw mutations
    vocabulary: tuple[str, ...] = ()  # format-specific lines for line mutations
    never_raises: bool = False  # the sanitizer parser answers None, not an error
    cost: int = 1  # examples are divided by this: SPDX tag-value costs 0.3 s a document

    def examples(self, budget: int) -> int:
        return max(5, budget // self.cost)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("decode", _decode, ("osv", "native", "decode")),
        Target("sarif", _hinted(sarif.READER), ("sarif",)),
        Target("sarif-lazy", _sarif_lazy, ("sarif",)),
        Target("osv", _hinted(osv.READER), ("osv",)),
        Target("cve5", _hinted(cve5.READER), ("cve5",)),
        Target("csaf", _hinted(csaf.READER), ("csaf",)),
        Target("native", _hinted(native.READER), ("native",)),
        Target("auto", _auto, FINDING_FORMATS),
        Target(
            "cyclonedx",
            _sbom,
            ("cyclonedx",),
            tokens=(b"<!DOCTYPE bom SYSTEM 'file:///etc/passwd'>", b"xmlns:x='urn:x'", b"&#0;"),
        ),
        Target(
            "spdx",
            _sbom,
            ("spdx",),
            # spdx-tools builds its tag-value grammar's LALR tables for every document.
            cost=6,
            vocabulary=(
                "SPDXVersion: SPDX-2.3",
                "PackageName: x",
                "SPDXID: SPDXRef-x",
                "ExternalRef: PACKAGE-MANAGER purl pkg:pypi/x@1",
                "ExternalRef: PACKAGE-MANAGER purl",
                "PackageVersion:",
                "Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-x",
                "PackageComment: <text>unterminated",
                "</text>",
            ),
        ),
        Target("vex", _vex, ("vex",)),
        Target(
            "securitytxt",
            _security_txt,
            ("securitytxt",),
            vocabulary=(
                "Contact: mailto:security@example.org",
                "Contact: example",
                "Expires: 2026-13-01T00:00:00Z",
                "Expires: 9999-12-31T23:59:60+23:59",
                "Expires: 0001-01-01T00:00:00-23:59",
                "Expires: 2026-02-30T00:00:00.99999999999999999999Z",
                "Preferred-Languages: en, , fr",
                "Canonical: http://example.org/.well-known/security.txt",
                "CSAF: https://example.org/provider-metadata.json",
                "-----BEGIN PGP SIGNED MESSAGE-----",
                "Hash: SHA256",
                "- -----BEGIN PGP SIGNATURE-----",
                "-----BEGIN PGP SIGNATURE-----",
                "-----END PGP SIGNATURE-----",
                "X-Unknown: value",
                ":",
            ),
        ),
        Target(
            "sanitizer",
            _sanitizer,
            ("sanitizer",),
            vocabulary=(
                "==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011",
                "==1==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000000",
                "==1==ERROR: LeakSanitizer: detected memory leaks",
                "READ of size 99999999999999999999 at 0x602000000011 thread T0",
                "WRITE of size -1 at 0x0 thread T0",
                "    #0 0x4c5b1e in main /src/x.c:5:3",
                "    #1 0x7f in __libc_start_main",
                "    #0 0x1 in ((((((((((((((((((((((( /x.c:1",
                "    #0 0x1 in operator<<<<<<<<<<<<<<<<<<<<<<<<<<(int) /x.c:1",
                "x.c:3:5: runtime error: signed integer overflow: 2147483647 + 1",
                "x.c:3:5: runtime error: index 10 out of bounds for type 'int [4]'",
                "==1==ERROR: libFuzzer: out-of-memory (malloc(99999999999999999999))",
                "Traceback (most recent call last):",
                '  File "x.py", line 1, in <module>',
                "IndexError: list index out of range",
                "SUMMARY: AddressSanitizer: heap-buffer-overflow /x.c:5 in main",
                "\x1b[1m\x1b[31m==1==ERROR\x1b[0m",
            ),
            never_raises=True,
        ),
        Target("inspect", _inspect, ("inspect",), tokens=(b"PK\x05\x06", b"PK\x01\x02"), cost=2),
        Target("kev", _kev, ("kev",)),
        Target(
            "epss",
            _epss,
            ("epss",),
            vocabulary=("cve,epss,percentile", '"CVE-2024-0001","0.5', "CVE-2024-0001,nan,inf"),
        ),
        Target(
            "scope",
            _scope,
            ("scope",),
            vocabulary=(
                "::ffff:0:0/96",
                "fe80::1%eth0",
                "0.0.0.0/0",
                "*.example.org",
                "xn--",
                "pkg:pypi/x@1?repository_url=https://x#sub",
                "https://[::1]:99999/x",
                "https://example.org:-1/a",
            ),
        ),
    )
}


# --- seeds -------------------------------------------------------------------------------------

_KIND_BY_SUFFIX = {
    ".json": "json",
    ".sarif": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".eval": "zip",
}


def load_seed(path: Path) -> Seed:
    raw = path.read_bytes()
    kind = _KIND_BY_SUFFIX.get(path.suffix, "lines")
    value: Any = None
    if kind == "json":
        value = orjson.loads(raw)
    elif kind == "yaml":
        value = yaml.safe_load(raw)
    elif kind == "zip":
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            value = {name: archive.read(name) for name in archive.namelist()}
    return Seed(name=f"{path.parent.name}/{path.name}", kind=kind, raw=raw, value=value)


def seeds_of(target: Target) -> list[Seed]:
    found: list[Seed] = []
    for folder in target.folders:
        for path in sorted((FUZZ_ASSETS / folder).glob("*")):
            if path.is_file() and not path.name.startswith("."):
                found.append(load_seed(path))
    if target.name == "sanitizer":
        for path in sorted((ASSETS / "sanitizer").glob("*/*.txt")):
            found.append(load_seed(path))
    if "native" in target.folders:
        found.append(load_seed(ASSETS / "native" / "full.json"))
    return found


def crasher_files() -> list[Path]:
    return sorted(p for p in CRASHERS.glob("*/*") if p.is_file() and not p.name.startswith("."))


def crasher_bytes(path: Path) -> bytes:
    """A crasher's input; ``.gz`` ones are stored compressed (megabyte strings of one letter)."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


# --- the property ------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one run of the suite measured, per target, for the report printed at the end."""

    examples: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    slowest_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    largest_bytes: dict[str, int] = field(default_factory=lambda: defaultdict(int))


FIGURES = Figures()
LAST_FAILURE: dict[str, bytes] = {}
SLOWEST: dict[str, bytes] = {}  # the slowest input per target, for a look when it is slow


class ContractBroken(AssertionError):
    """A reader answered hostile bytes with something other than an ``InputError``."""


def _check_message(error: InputError) -> None:
    message = str(error)
    if not message.strip():
        raise ContractBroken(f"{type(error).__name__} with an empty message")
    if len(message) > MAX_MESSAGE_CHARS:
        raise ContractBroken(
            f"{type(error).__name__} message of {len(message)} characters: {message[:200]!r}…"
        )


def check(
    target: Target,
    data: bytes,
    limits: ReadLimits = DEFAULT_LIMITS,
    *,
    timed: bool = True,
    budget_s: float | None = None,
) -> None:
    """Run ``target`` on ``data`` and raise ``ContractBroken`` if the contract is broken.

    ``budget_s`` replaces the size-scaled deadline; ``timed=False`` leaves hangs to the caller
    (libFuzzer's own ``-timeout`` owns SIGALRM).
    """
    FIGURES.examples[target.name] += 1
    FIGURES.largest_bytes[target.name] = max(FIGURES.largest_bytes[target.name], len(data))
    started = time.perf_counter()
    budget = budget_s or DEADLINE_S + DEADLINE_S_PER_MB * len(data) / 1_048_576
    try:
        with deadline(budget) if timed else nullcontext():
            accepted = target.run(data, limits)
        if accepted:
            FIGURES.accepted[target.name] += 1
    except Hang as hang:
        LAST_FAILURE[target.name] = data
        raise ContractBroken(f"{target.name}: hang ({hang})") from None
    except InputError as error:
        if target.never_raises:
            LAST_FAILURE[target.name] = data
            raise ContractBroken(f"{target.name} raised {error!r}") from error
        try:
            _check_message(error)
        except ContractBroken:
            LAST_FAILURE[target.name] = data
            raise
    except ContractBroken:
        LAST_FAILURE[target.name] = data
        raise
    except Exception as error:  # the point of the test: any other exception is a crash
        LAST_FAILURE[target.name] = data
        raise ContractBroken(
            f"{target.name}: {type(error).__name__}: {str(error)[:300]}"
        ) from error
    finally:
        elapsed = time.perf_counter() - started
        FIGURES.seconds[target.name] += elapsed
        if elapsed > FIGURES.slowest_s[target.name]:
            FIGURES.slowest_s[target.name] = elapsed
            SLOWEST[target.name] = data


def target_for_crasher(path: Path) -> Target:
    return TARGETS[path.parent.name]


def names(targets: Sequence[Target]) -> list[str]:
    return [t.name for t in targets]
