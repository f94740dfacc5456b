"""Sanitizer and interpreter output -> one crash report, the way ClusterFuzz names crashes.

:func:`parse_report` reads what a reproduction printed (AddressSanitizer, LeakSanitizer,
UndefinedBehaviorSanitizer, MemorySanitizer and the other sanitizers' reports from gcc or clang
builds, libFuzzer's out-of-memory and timeout lines, and Python's uncaught-exception
tracebacks) and returns a :class:`CrashReport`:

* **crash type** in ClusterFuzz's vocabulary (``Heap-buffer-overflow WRITE 4``,
  ``Heap-use-after-free READ {*}``, ``Null-dereference READ``, ``Integer-overflow``,
  ``Uncaught exception IndexError`` …); access sizes over 16 bytes are written ``{*}`` because
  a long ``memcpy`` overflows by however many bytes the input asked for, and the same bug must
  not get a new type per input;
* **crash state**: the top three *meaningful* frames, i.e. after dropping the sanitizer
  runtime, interceptors, the allocator, libc, the C++ runtime and standard-library headers,
  with addresses, offsets, files and line numbers removed and the function names normalised
  so that a gcc build and a clang build of the same bug give the same state;
* **security** flag and a **severity** estimate (see :func:`classify`).

The same crash then has the same (type, state) whatever the input, build or machine:
``validation.signature`` compares them to merge duplicate findings.

The parser is built for output nobody vetted: program output interleaved with the report,
ANSI colour codes, several reports in one log (the first one wins: later reports are usually
consequences of the first), truncated logs and hostile input. Work is bounded: at most
:data:`MAX_SCAN_CHARS` characters are scanned, each line is cut to :data:`MAX_LINE_CHARS`
before any regular expression sees it, and all expressions are free of nested quantifiers.

This module only reads text. It does not run anything, symbolize addresses, decide whether a
finding is validated, or store anything; the sandbox and the reproduction flow do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

Severity = Literal["high", "medium", "low"]

STATE_FRAMES: Final = 3
"""Frames in a crash state: ClusterFuzz's choice, deep enough to tell callers apart, shallow
enough that the same bug reached through different paths still matches."""

MAX_ACCESS_SIZE_SHOWN: Final = 16
"""Access sizes above this are written ``{*}`` (bulk copies: the size follows the input)."""

NULL_DEREFERENCE_BOUNDARY: Final = 4096
"""A fault below this address is a NULL pointer plus a field offset (the zero page)."""

DEFAULT_MAX_LOG_CHARS: Final = 65536
MAX_SCAN_CHARS: Final = 4 * 1024 * 1024
"""Longer output is scanned as its first quarter and last three quarters of this budget:
a crash report sits at the end of a run's output, after whatever the program printed."""
MAX_LINE_CHARS: Final = 4096
MAX_REPORT_LINES: Final = 2048
"""Lines read after a report's first line while looking for its details and stack."""
MAX_CANDIDATES: Final = 256
"""Lines that look like a report's first line but are not one, examined before giving up:
output that floods fake headers ahead of a real report gets ``None`` rather than unbounded
work (a proof's own output is untrusted; the verdict never rests on the text alone)."""
_MAX_GAP_LINES: Final = 16  # non-frame lines tolerated inside a stack (interleaved output)

SANITIZER_PYTHON: Final = "python"
SANITIZER_SANDBOX: Final = "sandbox"
TIMEOUT: Final = "Timeout"
OUT_OF_MEMORY: Final = "Out-of-memory"
MEMORY_LEAK: Final = "Memory-leak"
STACK_OVERFLOW: Final = "Stack-overflow"
NULL_DEREFERENCE: Final = "Null-dereference"


@dataclass(frozen=True, slots=True)
class CrashReport:
    """What one crashing run showed, reduced to what identifies the bug.

    ``severity`` is ``None`` exactly when ``security`` is false: a crash that is not a
    security bug (NULL dereference, stack exhaustion, out-of-memory, timeout, leak, uncaught
    exception, arithmetic undefined behaviour) has no security severity to estimate.
    ``log`` is the output the report was read from, with colour codes removed and line
    endings normalised, capped around the report (see :func:`cap_log`).
    """

    sanitizer: str
    crash_type: str
    crash_state: tuple[str, ...]
    security: bool
    severity: Severity | None
    log: str


# --- public API -------------------------------------------------------------------------------


def parse_report(text: str, *, max_log_chars: int = DEFAULT_MAX_LOG_CHARS) -> CrashReport | None:
    """The first crash report in ``text``, or ``None`` when the output shows no crash."""
    clean = _clean(_window(text))
    for candidate, match in enumerate(_TRIGGER.finditer(clean)):
        if candidate == MAX_CANDIDATES:
            break
        parsed = _parse_at(clean, match.start())
        if parsed is not None:
            sanitizer, crash_type, state = parsed
            security, severity = classify(crash_type)
            log = cap_log(clean, max_chars=max_log_chars, focus=_line_start(clean, match.start()))
            return CrashReport(sanitizer, crash_type, state, security, severity, log)
    return None


def timeout_report(
    *, timeout_s: float, output: str = "", max_log_chars: int = DEFAULT_MAX_LOG_CHARS
) -> CrashReport:
    """A run the sandbox killed at its wall-clock limit: ``Timeout``, never a security bug.

    The state is empty: a killed process leaves no stack, and a hang is not told apart by
    where it happened to be when the clock ran out.
    """
    note = f"[clearinghouse: killed after the {timeout_s:g} s wall-clock limit]\n"
    return CrashReport(
        SANITIZER_SANDBOX,
        TIMEOUT,
        (),
        False,
        None,
        note + cap_log(_clean(output), max_chars=max(0, max_log_chars - len(note))),
    )


def oom_report(
    *, limit_mb: int, output: str = "", max_log_chars: int = DEFAULT_MAX_LOG_CHARS
) -> CrashReport:
    """A run the sandbox killed at its memory limit: ``Out-of-memory``, never a security bug."""
    note = f"[clearinghouse: killed at the {limit_mb} MB memory limit]\n"
    return CrashReport(
        SANITIZER_SANDBOX,
        OUT_OF_MEMORY,
        (),
        False,
        None,
        note + cap_log(_clean(output), max_chars=max(0, max_log_chars - len(note))),
    )


def classify(crash_type: str) -> tuple[bool, Severity | None]:
    """Security flag and severity estimate of a crash type (ClusterFuzz's rules, simplified).

    * ``high``: use-after-free and the other use-after families, double and invalid free,
      bad casts: the program acts on memory that now belongs to something else, which is how
      most exploited memory bugs work.
    * ``medium``: buffer overflows and underflows, out-of-bounds indexes, uninitialised
      reads, wild (non-NULL) faults, allocator misuse, and any kind not listed here; raised
      to ``high`` when the access is a WRITE, since writing past a buffer corrupts
      neighbouring data.
    * not security (``None``): NULL dereference (the zero page is never mapped, so it can
      only crash), stack overflow (ClusterFuzz treats stack exhaustion as non-security: the
      guard page turns unbounded recursion into a clean crash, a denial of service rather than
      memory corruption), out-of-memory, timeouts, leaks, uncaught exceptions, aborts and
      arithmetic undefined behaviour such as signed integer overflow (the wrapped value is
      only dangerous once it sizes or indexes memory, and AddressSanitizer then reports that
      access as its own overflow).
    """
    base = crash_base(crash_type)
    if base in _NON_SECURITY or base in _UBSAN_NON_SECURITY:
        return False, None
    if base.startswith("Uncaught exception"):
        return False, None
    if base in _HIGH:
        return True, "high"
    # Overflows and every kind not listed: a sanitizer kind nobody classified yet is more
    # likely memory corruption than not, and a wrong "medium" costs less than a missed bug.
    write = crash_type.endswith(" WRITE") or " WRITE " in crash_type
    return True, "high" if write else "medium"


def crash_base(crash_type: str) -> str:
    """The crash type without its access (``Heap-buffer-overflow WRITE 4`` -> the first word)."""
    return _ACCESS_SUFFIX.sub("", crash_type)


def access_type(kind: str, access: str | None, size: int | None) -> str:
    """``kind`` plus ``READ n``/``WRITE n`` as ClusterFuzz writes it (sizes over 16 as ``{*}``)."""
    if access is None:
        return kind
    if size is None:
        return f"{kind} {access}"
    shown = "{*}" if size > MAX_ACCESS_SIZE_SHOWN else str(size)
    return f"{kind} {access} {shown}"


def cap_log(text: str, *, max_chars: int, focus: int = 0) -> str:
    """``text`` cut to at most ``max_chars`` characters, keeping the part from ``focus`` on.

    Markers say how much was dropped before and after, so a reader never mistakes a cut log
    for a whole one. A little output before ``focus`` (the report's first line) is kept, as
    it often shows what the program was doing.
    """
    if len(text) <= max_chars:
        return text
    digits = len(str(len(text)))
    head_marker = "[... {} characters omitted ...]\n"
    tail_marker = "\n[... {} characters truncated ...]"
    budget = max_chars - len(head_marker) - len(tail_marker) - 2 * (digits - 2)
    if budget <= 0:
        return text[:max_chars]
    start = max(0, min(focus - budget // 8, len(text) - budget))
    end = start + budget
    head = head_marker.format(start) if start else ""
    tail = tail_marker.format(len(text) - end) if end < len(text) else ""
    return head + text[start:end] + tail


def normalize_function(name: str) -> str:
    """A function name as it identifies code, whichever compiler and symbolizer printed it.

    Removed: parameter lists and trailing qualifiers (``const``, ``&``, ``noexcept``), symbol
    offsets (``+0x1a``), gcc clone suffixes (``.isra.0``, ``.constprop.0``, ``.part.0``,
    ``.cold``), ABI tags (``[abi:cxx11]``), the standard library's inline namespaces
    (``std::__1::``, ``std::__cxx11::``) and the space between closing template brackets.
    Lambdas (clang ``$_0`` / ``'lambda'()``, gcc ``{lambda(int)#1}``) become ``$lambda``.
    Kept: namespaces, ``(anonymous namespace)``, class names and template arguments, which
    tell different code apart.
    """
    name = _OFFSET_SUFFIX.sub("", name.strip())
    name = name.replace("`anonymous namespace'", "(anonymous namespace)")
    name = _ABI_TAG.sub("", name)
    name = _GCC_LAMBDA.sub("$lambda", name)
    name = _CLANG_LAMBDA.sub("$lambda", name)
    name = _strip_parameters(name)
    name = _CLONE_SUFFIX.sub("", name)
    name = _STD_INLINE_NAMESPACE.sub("std::", name)
    name = _SPACED_CLOSE.sub(">>", name)
    name = _SPACED_CLOSE.sub(">>", name)  # twice: "> > >" overlaps
    return _SPACES.sub(" ", name).strip()


# --- finding a report -------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[ -/]{0,4}[@-~]")
_TRIGGER = re.compile(
    r"(?:ERROR|WARNING): (?:HW)?AddressSanitizer"
    r"|(?:ERROR|WARNING): (?:LeakSanitizer|MemorySanitizer|ThreadSanitizer"
    r"|UndefinedBehaviorSanitizer):"
    r"|AddressSanitizer: hard rss limit exhausted"
    r"|: runtime error: "
    r"|ERROR: libFuzzer: (?:out-of-memory|timeout)"
    r"|Traceback \(most recent call last\):"
)
_SANITIZER_HEADER = re.compile(
    r"(?:ERROR|WARNING): (?P<sanitizer>(?:HW)?AddressSanitizer|LeakSanitizer|MemorySanitizer"
    r"|ThreadSanitizer|UndefinedBehaviorSanitizer):? (?P<rest>.*)"
)
_RSS_LIMIT = re.compile(r"(?P<sanitizer>(?:HW)?AddressSanitizer): hard rss limit exhausted")
_RUNTIME_ERROR = ": runtime error: "
_MODULE_OFFSET = re.compile(r"\([^()\s]{1,2048}\+0x[0-9a-fA-F]{1,16}\)")
_LIBFUZZER_HEADER = re.compile(r"ERROR: libFuzzer: (?P<kind>out-of-memory|timeout)")
_PY_TRACEBACK = "Traceback (most recent call last):"


def _window(text: str) -> str:
    if len(text) <= MAX_SCAN_CHARS:
        return text
    head = MAX_SCAN_CHARS // 4
    return text[:head] + "\n" + text[len(text) - (MAX_SCAN_CHARS - head) :]


def _clean(text: str) -> str:
    return _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def _line_start(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


def _lines_from(text: str, start: int, limit: int = MAX_REPORT_LINES) -> Iterator[str]:
    """Lines of ``text`` from ``start``, each cut to :data:`MAX_LINE_CHARS`, at most ``limit``."""
    position = start
    for _ in range(limit):
        if position > len(text):
            return
        end = text.find("\n", position)
        if end == -1:
            end = len(text)
        yield text[position : min(end, position + MAX_LINE_CHARS)]
        position = end + 1


def _parse_at(text: str, trigger: int) -> tuple[str, str, tuple[str, ...]] | None:
    """(sanitizer, crash type, state) of the report whose first line holds ``trigger``."""
    lines = _lines_from(text, _line_start(text, trigger))
    header = next(lines)
    if _PY_TRACEBACK in header:
        return _parse_python(lines)
    if match := _RSS_LIMIT.search(header):
        return match["sanitizer"], OUT_OF_MEMORY, ()
    if match := _LIBFUZZER_HEADER.search(header):
        kind = OUT_OF_MEMORY if match["kind"] == "out-of-memory" else TIMEOUT
        return "libFuzzer", kind, _state(_first_stack(lines, within=40))
    if match := _SANITIZER_HEADER.search(header):
        return _parse_sanitizer(match["sanitizer"], match["rest"], lines)
    if (message := _ubsan_message(header)) is not None:
        crash_type = _ubsan_type(message)
        return "UndefinedBehaviorSanitizer", crash_type, _state(_first_stack(lines, within=2))
    return None


def _ubsan_message(line: str) -> str | None:
    """What follows ``runtime error:`` when the line is UBSan's (``file:line:col: runtime
    error: …``), not a Go panic or a program that prints the words."""
    index = line.find(_RUNTIME_ERROR)
    if index < 0:
        return None
    before = line[:index].split()
    where = before[-1] if before else ""
    path, _, rest = where.rpartition(":")
    file, _, line_number = path.rpartition(":")
    located = bool(file) and line_number.isdigit() and rest.isdigit()
    if not (located or where == "<unknown>" or _MODULE_OFFSET.fullmatch(where)):
        return None
    return line[index + len(_RUNTIME_ERROR) :]


# --- sanitizer reports ------------------------------------------------------------------------

_ACCESS = re.compile(r"\b(?P<access>READ|WRITE) of size (?P<size>\d+)")
_SIGNAL_ACCESS = re.compile(r"The signal is caused by a (?P<access>READ|WRITE) memory access")
_ZERO_PAGE_HINT = "address points to the zero page"
_SIGNAL = re.compile(
    r"^(?P<signal>SEGV|BUS|FPE|ILL|ABRT|TRAP) on unknown address"
    r"(?: (?P<address>0x[0-9a-fA-F]+))?"
)
_SIGNAL_TYPES: Final = {
    "BUS": "Bus-error",
    "FPE": "Floating-point-exception",
    "ILL": "Ill",
    "ABRT": "Abrt",
    "TRAP": "Trap",
}
_OOM_HEADER = re.compile(
    r"^(?:requested allocation size|allocation-size-too-big|out of memory|out-of-memory"
    r"|allocator is out of memory|failed to allocate|calloc parameters overflow"
    r"|calloc-overflow|reallocarray parameters overflow|reallocarray-overflow"
    r"|pvalloc parameters overflow|invalid alignment requested|invalid-allocation-alignment"
    r"|rss-limit-exceeded|malloc-limit|malloc limit)|^failed to allocate"
)
_KIND = re.compile(r"^(?P<kind>[a-z][a-z-]{0,63})\b")


def _parse_sanitizer(
    sanitizer: str, rest: str, lines: Iterator[str]
) -> tuple[str, str, tuple[str, ...]] | None:
    rest = rest.strip()
    if sanitizer == "LeakSanitizer":
        return sanitizer, MEMORY_LEAK, _state(_leak_stack(lines))
    if _OOM_HEADER.search(rest):
        return sanitizer, OUT_OF_MEMORY, _state(_first_stack(lines, within=8))
    if rest.startswith("attempting double-free"):
        return sanitizer, "Heap-double-free", _state(_first_stack(lines, within=8))
    if rest.startswith("attempting free on address which was not malloc"):
        return sanitizer, "Bad-free", _state(_first_stack(lines, within=8))
    if signal := _SIGNAL.search(rest):
        return _parse_signal(sanitizer, signal, lines)
    kind_match = _KIND.search(rest)
    if kind_match is None:
        return None
    kind = kind_match["kind"].rstrip("-")
    # The access line ("READ of size 4 at …") comes between the header and the stack.
    access: str | None = None
    size: int | None = None
    preamble: list[str] = []
    frames = _first_stack(lines, within=12, preamble=preamble)
    for line in preamble:
        if found := _ACCESS.search(line):
            access, size = found["access"], int(found["size"])
            break
    return sanitizer, access_type(_capitalize(kind), access, size), _state(frames)


def _parse_signal(
    sanitizer: str, signal: re.Match[str], lines: Iterator[str]
) -> tuple[str, str, tuple[str, ...]]:
    preamble: list[str] = []
    frames = _first_stack(lines, within=12, preamble=preamble)
    access: str | None = None
    zero_page = False
    for line in preamble:
        if found := _SIGNAL_ACCESS.search(line):
            access = found["access"]
        zero_page = zero_page or _ZERO_PAGE_HINT in line
    name = signal["signal"]
    if name != "SEGV":
        return sanitizer, _SIGNAL_TYPES[name], _state(frames)
    address = int(signal["address"], 16) if signal["address"] else None
    near_null = address < NULL_DEREFERENCE_BOUNDARY if address is not None else zero_page
    kind = NULL_DEREFERENCE if near_null else "Segv on unknown address"
    return sanitizer, access_type(kind, access, None), _state(frames)


def _capitalize(kind: str) -> str:
    return kind[:1].upper() + kind[1:]


_LEAK_BLOCK = re.compile(r"^(?P<kind>Direct|Indirect) leak of \d+ byte")


def _leak_stack(lines: Iterator[str]) -> list[_Frame]:
    """The first direct leak's allocation stack (an indirect leak is reachable from a direct
    one, so the direct leak is the bug), else the first indirect one's."""
    report: list[str] = []
    for line in lines:
        if line.startswith("SUMMARY:"):
            break
        report.append(line)
    for wanted in ("Direct", "Indirect"):
        for index, line in enumerate(report):
            found = _LEAK_BLOCK.search(line.strip())
            if found is not None and found["kind"] == wanted:
                return _first_stack(iter(report[index + 1 :]), within=2)
    return []


# --- UBSan ------------------------------------------------------------------------------------

_UBSAN_TYPES: Final = (
    ("unsigned integer overflow", "Unsigned-integer-overflow"),  # before its substring below
    ("signed integer overflow", "Integer-overflow"),
    ("negation of", "Integer-overflow"),
    ("division by zero", "Divide-by-zero"),
    ("integer divide by zero", "Divide-by-zero"),
    ("shift exponent", "Undefined-shift"),
    ("left shift of", "Undefined-shift"),
    ("out of bounds for type", "Index-out-of-bounds"),
    ("load of null pointer", "Null-dereference READ"),
    ("store to null pointer", "Null-dereference WRITE"),
    ("member access within null pointer", NULL_DEREFERENCE),
    ("member call on null pointer", NULL_DEREFERENCE),
    ("reference binding to null pointer", NULL_DEREFERENCE),
    ("applying non-zero offset", "Pointer-overflow"),
    ("applying zero offset to null pointer", "Pointer-overflow"),
    ("pointer index expression", "Pointer-overflow"),
    ("addition of unsigned offset", "Pointer-overflow"),
    ("subtraction of unsigned offset", "Pointer-overflow"),
    ("misaligned address", "Misaligned-address"),
    ("not a valid value for type 'bool'", "Invalid-bool-value"),
    ("not a valid value for type", "Invalid-enum-value"),
    ("is outside the range of representable values", "Float-cast-overflow"),
    ("execution reached an unreachable program point", "Unreachable code"),
    ("execution reached the end of a value-returning function", "Missing-return"),
    ("null pointer passed as argument", "Invalid-null-argument"),
    ("null pointer returned from function", "Invalid-null-return"),
    ("variable length array bound", "Non-positive-vla-bound-value"),
    ("which does not point to an object of type", "Bad-cast"),
    ("downcast of", "Bad-cast"),
    ("upcast of", "Bad-cast"),
    ("invalid vptr", "Bad-cast"),
    ("control flow integrity check", "Bad-cast"),
    ("through pointer to incorrect function type", "Incorrect-function-pointer-type"),
    ("implicit conversion from type", "Implicit-conversion"),
)


def _ubsan_type(message: str) -> str:
    for needle, crash_type in _UBSAN_TYPES:
        if needle in message:
            return crash_type
    return "Undefined-behavior"


# --- Python -----------------------------------------------------------------------------------

_PY_FRAME = re.compile(
    r'^\s{1,8}File "(?P<file>[^"]{0,2048})", line \d+, in (?P<function>.{1,512})$'
)
_PY_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]{0,255})(?::|$)")
_PY_CHAIN = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)


def _parse_python(lines: Iterator[str]) -> tuple[str, str, tuple[str, ...]] | None:
    """The uncaught exception of a traceback: in a chain, the last exception is the one that
    ended the program, so its type and innermost frames are the crash."""
    frames: list[_Frame] = []
    exception: str | None = None
    chained = False
    framed = False  # a real traceback shows at least one frame before its exception
    for line in lines:
        if line.startswith(_PY_TRACEBACK):
            frames, exception, chained, framed = [], None, False, False
            continue
        if exception is not None:
            if line.strip() in _PY_CHAIN:
                chained = True
            elif chained or not line.strip():
                continue
            else:
                break
            continue
        if found := _PY_FRAME.match(line):
            framed = True
            if not found["file"].startswith("<frozen "):  # importlib/runpy bootstrap
                frames.append(_Frame(found["function"].strip(), found["file"]))
            continue
        if line.startswith((" ", "\t")) or not line:
            continue  # source lines and carets under a frame
        if not framed:
            return None
        if found := _PY_EXCEPTION.match(line):
            exception = found["type"]
    if exception is None:
        return None
    state = tuple(frame.function for frame in reversed(frames))[:STATE_FRAMES]
    return SANITIZER_PYTHON, f"Uncaught exception {exception}", state


# --- stacks -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Frame:
    function: str  # as printed, not yet normalised
    location: str  # file or module, "" when unknown


_FRAME = re.compile(
    r"\s*#(?P<number>\d{1,6})\s+0x[0-9a-fA-F]{1,16}"
    r"(?:\s+in\s+(?P<rest>.+)|\s+\((?P<module>[^()\s]{1,2048})\+0x[0-9a-fA-F]+\).*)?$"
)
_BUILD_ID = re.compile(r"\s*\(BuildId: [0-9a-fA-F]{1,128}\)\s*$")
_MODULE_TAIL = re.compile(r"\s*\((?P<where>[^()\s]{1,2048})\+0x[0-9a-fA-F]+\)$")
_FILE_TAIL = re.compile(r"\s+(?P<where>[^\s:]{1,2048}):\d+(?::\d+)?$")
_PATH_TAIL = re.compile(r"\s+(?P<where>(?:/|\.\.?/)[^\s()]{0,2048})$")
_SECTION_BREAKS = (
    "SUMMARY:",
    "freed by thread",
    "previously allocated by thread",
    "allocated by thread",
    "Address 0x",
    "Shadow bytes",
    "Thread T",
    "Uninitialized value was",
)


def _first_stack(
    lines: Iterator[str], *, within: int, preamble: list[str] | None = None
) -> list[_Frame]:
    """Frames of the first stack that starts (``#0``) within ``within`` lines.

    Lines read before the stack go to ``preamble`` (they hold the access kind). Inside the
    stack, lines that are not frames are skipped (another process's output can interleave)
    until a section of the report begins, numbering restarts, or too many lines pass.
    """
    frames: list[_Frame] = []
    gap = 0
    for seen, line in enumerate(lines):
        found = _FRAME.match(line)
        if not frames:
            if found is not None and found["number"] == "0":
                frames.append(_frame(found))
                continue
            if preamble is not None:
                preamble.append(line)
            if seen >= within or _TRIGGER.search(line) or line.startswith("SUMMARY:"):
                return frames
            continue
        if found is not None:
            if int(found["number"]) != len(frames):
                if found["number"] == "0":
                    break
                gap += 1  # a stray or out-of-order frame: not part of this stack
            else:
                frames.append(_frame(found))
                gap = 0
        else:
            stripped = line.strip()
            if stripped.startswith(_SECTION_BREAKS) or _TRIGGER.search(line):
                break
            gap += 1
        if gap > _MAX_GAP_LINES or len(frames) >= MAX_REPORT_LINES:
            break
    return frames


def _frame(found: re.Match[str]) -> _Frame:
    rest = found["rest"]
    if rest is None:
        return _Frame("", found["module"] or "")
    rest = _BUILD_ID.sub("", rest).rstrip()
    for tail in (_MODULE_TAIL, _FILE_TAIL, _PATH_TAIL):
        if where := tail.search(rest):
            return _Frame(rest[: where.start()], where["where"])
    return _Frame(rest, "")


def _state(frames: list[_Frame]) -> tuple[str, ...]:
    """The first :data:`STATE_FRAMES` meaningful frames, normalised."""
    state: list[str] = []
    for frame in frames:
        if not frame.function or _IGNORED_LOCATION.search(frame.location):
            continue
        name = normalize_function(frame.function)
        if not name or _IGNORED_FUNCTION.match(name):
            continue
        state.append(name)
        if len(state) == STATE_FRAMES:
            break
    return tuple(state)


# Frames that are the sanitizer, the allocator, libc or the C++ runtime rather than the program:
# they are the same for every bug, so they would make every state alike.
_IGNORED_FUNCTION = re.compile(
    r"""^(?:
      _{2,3}(?:asan|lsan|ubsan|msan|tsan|hwasan|sanitizer|interception)(?:_\w*|::.*)
    | _{2,3}interceptor_\w+ | __interceptor_trampoline_\w+
    | (?:__libc_|__)?(?:malloc|calloc|realloc|reallocarray|free|cfree|valloc|pvalloc
        |memalign|aligned_alloc|posix_memalign|strdup|strndup|malloc_usable_size)
    | operator\ (?:new|delete)(?:\[\])?
    | mem(?:cpy|move|set|cmp|chr|rchr|mem|pcpy) | bcmp | bcopy | bzero | explicit_bzero
    | st(?:r|p)(?:len|nlen|cpy|ncpy|cat|ncat|cmp|ncmp|casecmp|ncasecmp|chr|rchr|chrnul
        |str|casestr|spn|cspn|pbrk|tok|tok_r|sep|coll|xfrm)
    | wc(?:s|p)(?:len|nlen|cpy|ncpy|cat|ncat|cmp|ncmp|chr|rchr|str) | wmem(?:cpy|move|set|cmp)
    | __(?:mem|str|stp|wmem|wcs|wcp)\w*
    | v?(?:s|sn|f|as|d)?printf | v?(?:s|f)?scanf | __\w*printf\w* | __isoc\d*_\w+
    | puts | fputs | fwrite | fread | fgets | read | write
    | __libc_\w+ | __GI_\w+ | _dl_\w+ | _start | __start | start_thread | clone3? | __clone\w*
    | raise | abort | gsignal | pthread_kill | __pthread_kill\w* | __restore_rt
    | __assert_fail\w* | __assert_perror_fail | __stack_chk_fail | __fortify_fail | __chk_fail
    | __cxa_\w+ | _Unwind_\w+ | __gxx_personality_\w+ | __cxxabiv1::.*
    | __gnu_cxx::__verbose_terminate_handler
    | std::terminate | std::__terminate | std::rethrow_exception
    | fuzzer::.* | __sanitizer_cov\w* | __sancov\w*
    )$""",
    re.VERBOSE,
)
_IGNORED_LOCATION = re.compile(
    r"libsanitizer/|compiler-rt/|/sanitizer_common/"
    r"|(?:^|/)(?:lib(?:asan|ubsan|lsan|tsan|msan|hwasan|c|m|pthread|dl|rt|stdc\+\+|c\+\+|c\+\+abi"
    r"|gcc_s|unwind)|ld-linux[\w-]{0,32}|libclang_rt[\w.-]{0,64})(?:-[\d.]{1,16})?\.so"
    r"|(?:^|/)(?:sysdeps|csu)/"
    r"|(?:^|/)include/c\+\+/|(?:^|/)c\+\+/v1/"
)

# --- function-name normalisation --------------------------------------------------------------

_OFFSET_SUFFIX = re.compile(r"\+0x[0-9a-fA-F]+$")
_ABI_TAG = re.compile(r"\[abi:[\w.]{0,64}\]")
_GCC_LAMBDA = re.compile(r"\{lambda\([^{}]{0,1024}\)#\d+\}")
_CLANG_LAMBDA = re.compile(r"\$_\d+|'lambda\d*'(?:\([^()]{0,1024}\))?")
_CLONE_SUFFIX = re.compile(
    r"(?:\.(?:constprop|isra|part|cold|lto_priv|llvm|clone|localalias)(?:\.\d+)?)+$|\.\d+$"
)
_STD_INLINE_NAMESPACE = re.compile(r"\bstd::__(?:1|cxx11|ndk1|2)::")
_SPACED_CLOSE = re.compile(r">\s+>")
_SPACES = re.compile(r"\s+")
_TRAILING_QUALIFIERS = re.compile(r"(?:\s*(?:const|volatile|&&|&|noexcept))+$")
_OPERATOR_TOKENS: Final = sorted(
    (
        "()", "[]", "->*", "->", "<=>", "<<=", ">>=", "<<", ">>", "<=", ">=", "==", "!=",
        "&&", "||", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<", ">",
        "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "=", ",", '""',
    ),
    key=len,
    reverse=True,
)  # fmt: skip
_ACCESS_SUFFIX = re.compile(r" (?:READ|WRITE)(?: (?:\d+|\{\*\}))?$")


def _strip_parameters(name: str) -> str:
    """Drop every parameter list outside template arguments (also an enclosing function's, as
    in ``outer(int)::Local::run()``), keeping ``(anonymous namespace)`` and operator names."""
    out: list[str] = []
    depth = 0  # template-argument nesting
    i, n = 0, len(name)
    while i < n:
        if name.startswith("operator", i) and (i == 0 or not _is_identifier(name[i - 1])):
            j = i + len("operator")
            k = j
            while k < n and name[k] == " ":
                k += 1
            token = next((t for t in _OPERATOR_TOKENS if name.startswith(t, k)), None)
            end = k + len(token) if token is not None else j
            out.append(name[i:end])
            i = end
            continue
        char = name[i]
        if char == "<":
            depth += 1
        elif char == ">" and depth:
            depth -= 1
        elif char == "(" and depth == 0:
            close = _matching_paren(name, i)
            if close < 0:
                break  # a truncated name: keep what came before the open list
            group = name[i : close + 1]
            if group.startswith("(anonymous"):
                out.append(group)
            i = close + 1
            continue
        out.append(char)
        i += 1
    return _TRAILING_QUALIFIERS.sub("", "".join(out)).strip()


def _is_identifier(char: str) -> bool:
    return char.isalnum() or char == "_"


def _matching_paren(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return -1


# --- classification tables -------------------------------------------------------------------

_HIGH: Final = frozenset(
    {
        "Heap-use-after-free",
        "Stack-use-after-return",
        "Stack-use-after-scope",
        "Use-after-poison",
        "Heap-double-free",
        "Bad-free",
        "Bad-cast",
    }
)
_NON_SECURITY: Final = frozenset(
    {
        NULL_DEREFERENCE,
        STACK_OVERFLOW,
        OUT_OF_MEMORY,
        TIMEOUT,
        MEMORY_LEAK,
        "Abrt",
        "Trap",
        "Ill",
        "Bus-error",
        "Floating-point-exception",
        "Memcpy-param-overlap",
        "Strcpy-param-overlap",
        "Strncpy-param-overlap",
        "Strcat-param-overlap",
    }
)
# UBSan kinds that are undefined behaviour but not memory corruption by themselves.
_UBSAN_NON_SECURITY: Final = frozenset(
    {
        "Integer-overflow",
        "Unsigned-integer-overflow",
        "Divide-by-zero",
        "Undefined-shift",
        "Pointer-overflow",
        "Misaligned-address",
        "Invalid-bool-value",
        "Invalid-enum-value",
        "Float-cast-overflow",
        "Unreachable code",
        "Missing-return",
        "Invalid-null-argument",
        "Invalid-null-return",
        "Non-positive-vla-bound-value",
        "Incorrect-function-pointer-type",
        "Implicit-conversion",
        "Undefined-behavior",
    }
)
