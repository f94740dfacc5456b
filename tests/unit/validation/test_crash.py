"""Crash reports from real gcc and clang sanitizer output, and from output nobody vetted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from clearinghouse.validation.crash import (
    MAX_SCAN_CHARS,
    CrashReport,
    access_type,
    cap_log,
    classify,
    normalize_function,
    oom_report,
    parse_report,
    timeout_report,
)

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "sanitizer"
COMPILERS = ("gcc", "clang")

ASAN = "AddressSanitizer"
UBSAN = "UndefinedBehaviorSanitizer"
LSAN = "LeakSanitizer"

# program -> (sanitizer, crash type, crash state, security, severity), identical for gcc 12 and
# clang 14: the normalisation removes every difference between their reports of these bugs.
EXPECTED: dict[str, tuple[str, str, tuple[str, ...], bool, str | None]] = {
    "heap_overflow_read": (
        ASAN,
        "Heap-buffer-overflow READ 4",
        ("read_sample", "sum_samples", "main"),
        True,
        "medium",
    ),
    "heap_overflow_write": (
        ASAN,
        "Heap-buffer-overflow WRITE 4",
        ("store_sample", "fill_samples", "main"),
        True,
        "high",
    ),
    # memcpy of 64 bytes: the interceptor frame (__interceptor_memcpy for gcc, __asan_memcpy
    # for clang) is dropped and the size is written {*}.
    "heap_overflow_read_large": (
        ASAN,
        "Heap-buffer-overflow READ {*}",
        ("copy_header", "parse_packet", "main"),
        True,
        "medium",
    ),
    "heap_overflow_write_large": (
        ASAN,
        "Heap-buffer-overflow WRITE {*}",
        ("copy_name", "store_name", "main"),
        True,
        "high",
    ),
    "stack_buffer_overflow": (
        ASAN,
        "Stack-buffer-overflow WRITE 8",
        ("put_field", "decode_fields", "main"),
        True,
        "high",
    ),
    "global_buffer_overflow": (
        ASAN,
        "Global-buffer-overflow READ 4",
        ("table_entry", "translate", "main"),
        True,
        "medium",
    ),
    "index_out_of_bounds": (
        UBSAN,
        "Index-out-of-bounds",
        ("table_entry", "translate", "main"),
        True,
        "medium",
    ),
    "use_after_free": (ASAN, "Heap-use-after-free READ 4", ("session_id", "main"), True, "high"),
    # free() is the allocator (gcc: __interceptor_free, clang: free): dropped.
    "double_free": (ASAN, "Heap-double-free", ("release_buffer", "main"), True, "high"),
    "stack_use_after_return": (
        ASAN,
        "Stack-use-after-return READ 4",
        ("read_counter", "main"),
        True,
        "high",
    ),
    "stack_overflow": (
        ASAN,
        "Stack-overflow",
        ("parse_nested", "parse_nested", "parse_nested"),
        False,
        None,
    ),
    "signed_integer_overflow": (
        UBSAN,
        "Integer-overflow",
        ("add_lengths", "total_length", "main"),
        False,
        None,
    ),
    "null_deref_read": (UBSAN, "Null-dereference READ", ("port_value", "main"), False, None),
    "null_deref_write": (UBSAN, "Null-dereference WRITE", ("reset_counter", "main"), False, None),
    "null_deref_segv": (ASAN, "Null-dereference READ", ("verbosity_of", "main"), False, None),
    "memory_leak": (
        LSAN,
        "Memory-leak",
        ("duplicate_token", "token_length", "main"),
        False,
        None,
    ),
    "out_of_memory": (
        ASAN,
        "Out-of-memory",
        ("allocate_image", "decode_image", "main"),
        False,
        None,
    ),
    # hard_rss_limit_mb prints a memory map, not a stack.
    "out_of_memory_rss": (ASAN, "Out-of-memory", (), False, None),
}


def stored(toolchain: str, name: str) -> str:
    return (ASSETS / toolchain / f"{name}.txt").read_text(encoding="utf-8")


def parsed(text: str) -> CrashReport:
    report = parse_report(text)
    assert report is not None, text[:2000]
    return report


def summary(report: CrashReport) -> tuple[str, str, tuple[str, ...], bool, str | None]:
    return (
        report.sanitizer,
        report.crash_type,
        report.crash_state,
        report.security,
        report.severity,
    )


# --- real reports -----------------------------------------------------------------------------


def test_every_stored_report_has_an_expectation() -> None:
    for compiler in COMPILERS:
        assert {path.stem for path in (ASSETS / compiler).glob("*.txt")} == set(EXPECTED)
    assert {path.stem for path in (ASSETS / "src").glob("*.c")} == set(EXPECTED)


@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_report(compiler: str, name: str) -> None:
    text = stored(compiler, name)
    report = parsed(text)
    assert summary(report) == EXPECTED[name]
    assert report.log == text  # short reports are kept whole


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gcc_and_clang_reports_of_one_bug_agree(name: str) -> None:
    assert summary(parsed(stored("gcc", name))) == summary(parsed(stored("clang", name)))


def test_python_uncaught_exception() -> None:
    report = parsed(stored("python", "uncaught_exception"))
    assert summary(report) == (
        "python",
        "Uncaught exception IndexError",
        ("field", "main", "<module>"),
        False,
        None,
    )


def test_severity_none_exactly_when_not_security() -> None:
    for name in EXPECTED:
        report = parsed(stored("gcc", name))
        assert (report.severity is None) == (not report.security)


# --- output nobody vetted ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello\nworld\n",
        "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\n",
        "the parser hit a runtime error: unexpected token\n",
        "ERROR: AddressSanitizer\n",  # a header cut before its kind
        "Traceback (most recent call last):\n",  # cut before the exception
        "#0 0x4005d4 in main /src/x.c:3\n",  # a stack without a report
    ],
)
def test_no_crash(text: str) -> None:
    assert parse_report(text) is None


def test_ansi_colour_codes_are_ignored() -> None:
    text = stored("clang", "heap_overflow_write")
    coloured = (
        text.replace("==ERROR", "\x1b[1m\x1b[31m==ERROR")
        .replace("WRITE of size", "\x1b[1m\x1b[0mWRITE of size")
        .replace("    #", "\x1b[0m    #")
    )
    report = parsed(coloured)
    assert summary(report) == EXPECTED["heap_overflow_write"]
    assert "\x1b" not in report.log


def test_interleaved_program_output() -> None:
    lines = stored("gcc", "heap_overflow_read").splitlines()
    noisy: list[str] = ["starting", "sum: 12"]
    for line in lines:
        noisy.append(line)
        if line.lstrip().startswith(("#0", "#1")):
            noisy.append("worker 2: still running")
    assert summary(parsed("\n".join(noisy))) == EXPECTED["heap_overflow_read"]


def test_report_glued_to_program_output_on_one_line() -> None:
    text = "progress 99%" + stored("clang", "use_after_free").lstrip("=\n")
    assert summary(parsed(text)) == EXPECTED["use_after_free"]


def test_crlf_line_endings() -> None:
    text = stored("clang", "double_free").replace("\n", "\r\n")
    assert summary(parsed(text)) == EXPECTED["double_free"]


def test_first_report_wins() -> None:
    text = stored("gcc", "signed_integer_overflow") + stored("gcc", "use_after_free")
    assert summary(parsed(text)) == EXPECTED["signed_integer_overflow"]
    text = stored("clang", "use_after_free") + stored("clang", "signed_integer_overflow")
    assert summary(parsed(text)) == EXPECTED["use_after_free"]


def test_ubsan_without_a_stack_does_not_borrow_the_next_reports_stack() -> None:
    ubsan = "/src/calc.c:7:51: runtime error: signed integer overflow: 1 + 2147483647\n"
    report = parsed(ubsan + "\n" * 5 + stored("gcc", "use_after_free"))
    assert (report.crash_type, report.crash_state) == ("Integer-overflow", ())


def test_truncated_after_two_frames() -> None:
    lines = stored("clang", "heap_overflow_read").splitlines()
    cut = next(i for i, line in enumerate(lines) if line.lstrip().startswith("#2"))
    report = parsed("\n".join(lines[:cut]))
    assert report.crash_type == "Heap-buffer-overflow READ 4"
    assert report.crash_state == ("read_sample", "sum_samples")


def test_truncated_in_the_middle_of_a_frame() -> None:
    text = stored("gcc", "stack_buffer_overflow")
    cut = text.index("#1 ") + 12
    report = parsed(text[:cut])
    assert report.crash_type == "Stack-buffer-overflow WRITE 8"
    assert report.crash_state == ("put_field",)


def test_truncated_before_the_access_line() -> None:
    text = stored("gcc", "heap_overflow_write")
    report = parsed(text[: text.index("WRITE of size")])
    assert (report.crash_type, report.crash_state, report.severity) == (
        "Heap-buffer-overflow",
        (),
        "medium",
    )


def test_log_is_capped_with_a_marker() -> None:
    text = "x" * 100_000 + "\n" + stored("gcc", "use_after_free") + "y" * 100_000
    report = parse_report(text, max_log_chars=4096)
    assert report is not None
    assert summary(report) == EXPECTED["use_after_free"]
    assert len(report.log) <= 4096
    assert report.log.startswith("[... ")
    assert "characters omitted" in report.log
    assert "characters truncated ...]" in report.log
    assert "ERROR: AddressSanitizer: heap-use-after-free" in report.log


@pytest.mark.parametrize("max_chars", [0, 10, 80, 200, 1000])
def test_cap_log_never_exceeds_its_budget(max_chars: int) -> None:
    capped = cap_log("z" * 50_000, max_chars=max_chars, focus=25_000)
    assert len(capped) <= max_chars


def test_huge_line_without_newlines_is_bounded() -> None:
    started = time.monotonic()
    assert parse_report("A" * 20_000_000) is None
    assert time.monotonic() - started < 5


def test_huge_hostile_report_is_bounded() -> None:
    frame = "    #1 0x1234 in " + "f(" * 3000 + "\n"
    hostile = (
        "==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1\n"
        "READ of size 99999999999999999999 at 0x1 thread T0\n"
        "    #0 0x1234 in " + "a::" * 5000 + "b /x.c:1\n" + frame * 3000
    )
    noise = ("Traceback (most recent call last):\n" + "ERROR: AddressSanitizer\n") * 100
    started = time.monotonic()
    report = parse_report(noise + hostile + ": runtime error: " * 100_000)
    assert time.monotonic() - started < 10
    assert report is not None
    assert report.crash_type == "Heap-buffer-overflow READ {*}"
    assert len(report.log) <= 65536


def test_a_flood_of_fake_headers_is_bounded() -> None:
    fake = (
        "Traceback (most recent call last):\n" + '  File "x.py", line 1, in f\n' * 3000
    ) * 300 + "==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1\n" * 100_000
    started = time.monotonic()
    parse_report(fake + stored("gcc", "double_free"))  # the answer matters less than the time
    assert time.monotonic() - started < 10


def test_output_beyond_the_scan_window_keeps_the_tail() -> None:
    text = "." * (2 * MAX_SCAN_CHARS) + "\n" + stored("gcc", "double_free")
    assert summary(parsed(text)) == EXPECTED["double_free"]


# --- synthetic reports of kinds our programs do not produce -----------------------------------


def asan(header: str, *body: str) -> str:
    frames = [
        "    #0 0x7f00 in __interceptor_memcpy (/usr/lib/libasan.so.8+0x1)",
        "    #1 0x5500 in target_fn /src/a.c:10:3",
        "    #2 0x5501 in caller_fn /src/a.c:20:3",
        "    #3 0x5502 in main /src/a.c:30:3",
    ]
    return "\n".join(["=" * 65, f"==42==ERROR: AddressSanitizer: {header}", *body, *frames, ""])


@pytest.mark.parametrize(
    ("header", "body", "crash_type", "security", "severity"),
    [
        (
            "heap-buffer-overflow on address 0x1",
            ["READ of size 16 at 0x1"],
            "Heap-buffer-overflow READ 16",
            True,
            "medium",
        ),
        (
            "heap-buffer-overflow on address 0x1",
            ["READ of size 17 at 0x1"],
            "Heap-buffer-overflow READ {*}",
            True,
            "medium",
        ),
        (
            "heap-use-after-free on address 0x1",
            ["WRITE of size 8 at 0x1"],
            "Heap-use-after-free WRITE 8",
            True,
            "high",
        ),
        (
            "stack-use-after-scope on address 0x1",
            ["READ of size 1 at 0x1"],
            "Stack-use-after-scope READ 1",
            True,
            "high",
        ),
        (
            "container-overflow on address 0x1",
            ["READ of size 4 at 0x1"],
            "Container-overflow READ 4",
            True,
            "medium",
        ),
        (
            "dynamic-stack-buffer-overflow on address 0x1",
            ["WRITE of size 1 at 0x1"],
            "Dynamic-stack-buffer-overflow WRITE 1",
            True,
            "high",
        ),
        (
            "SEGV on unknown address 0x602000000000 (pc 0x1 bp 0x2 sp 0x3 T0)",
            ["==42==The signal is caused by a WRITE memory access."],
            "Segv on unknown address WRITE",
            True,
            "high",
        ),
        (
            "SEGV on unknown address 0x000000000000 (pc 0x1 bp 0x2 sp 0x3 T0)",
            [
                "==42==The signal is caused by a WRITE memory access.",
                "==42==Hint: address points to the zero page.",
            ],
            "Null-dereference WRITE",
            False,
            None,
        ),
        (
            "SEGV on unknown address (pc 0x1 bp 0x2 sp 0x3 T0)",
            ["==42==Hint: address points to the zero page."],
            "Null-dereference",
            False,
            None,
        ),
        (
            "FPE on unknown address 0x5500 (pc 0x5500 bp 0x2 sp 0x3 T0)",
            [],
            "Floating-point-exception",
            False,
            None,
        ),
        ("ABRT on unknown address 0x0539 (pc 0x1 bp 0x2 sp 0x3 T0)", [], "Abrt", False, None),
        (
            "attempting free on address which was not malloc()-ed: 0x1 in thread T0",
            [],
            "Bad-free",
            True,
            "high",
        ),
        (
            "out of memory: allocator is trying to allocate 0x10000000000 bytes",
            [],
            "Out-of-memory",
            False,
            None,
        ),
        (
            "calloc parameters overflow: count * size (-1 * 8) cannot be represented",
            [],
            "Out-of-memory",
            False,
            None,
        ),
        (
            "memcpy-param-overlap: memory ranges [0x1,0x5) and [0x3, 0x7) overlap",
            [],
            "Memcpy-param-overlap",
            False,
            None,
        ),
        (
            "unknown-crash on address 0x1 at pc 0x2",
            ["READ of size 4 at 0x1"],
            "Unknown-crash READ 4",
            True,
            "medium",
        ),
    ],
)
def test_synthetic_asan_kinds(
    header: str, body: list[str], crash_type: str, security: bool, severity: str | None
) -> None:
    report = parsed(asan(header, *body))
    assert (report.crash_type, report.security, report.severity) == (
        crash_type,
        security,
        severity,
    )
    assert report.crash_state == ("target_fn", "caller_fn", "main")


def test_asan_failed_to_allocate() -> None:
    report = parsed("==7==ERROR: AddressSanitizer failed to allocate 0x1000 (4096) bytes\n")
    assert (report.sanitizer, report.crash_type) == (ASAN, "Out-of-memory")


@pytest.mark.parametrize(
    ("message", "crash_type", "security"),
    [
        (
            "signed integer overflow: 1 + 2147483647 cannot be represented in type 'int'",
            "Integer-overflow",
            False,
        ),
        (
            "unsigned integer overflow: 0 - 1 cannot be represented in type 'unsigned int'",
            "Unsigned-integer-overflow",
            False,
        ),
        ("negation of -2147483648 cannot be represented in type 'int'", "Integer-overflow", False),
        ("division by zero", "Divide-by-zero", False),
        ("shift exponent 40 is too large for 32-bit type 'int'", "Undefined-shift", False),
        ("index 10 out of bounds for type 'int [4]'", "Index-out-of-bounds", True),
        ("member access within null pointer of type 'struct node'", "Null-dereference", False),
        (
            "downcast of address 0x1 which does not point to an object of type 'Derived'",
            "Bad-cast",
            True,
        ),
        (
            "member call on address 0x1 which does not point to an object of type 'Base'",
            "Bad-cast",
            True,
        ),
        (
            "load of misaligned address 0x1 for type 'int', which requires 4 byte alignment",
            "Misaligned-address",
            False,
        ),
        (
            "load of value 5, which is not a valid value for type 'bool'",
            "Invalid-bool-value",
            False,
        ),
        ("something new in a future compiler", "Undefined-behavior", False),
    ],
)
def test_synthetic_ubsan_kinds(message: str, crash_type: str, security: bool) -> None:
    text = (
        f"/src/x.cc:5:7: runtime error: {message}\n"
        "    #0 0x1 in ns::Box<int>::get() const /src/x.cc:5:7\n"
        "    #1 0x2 in main /src/x.cc:9:3\n"
    )
    report = parsed(text)
    assert (report.sanitizer, report.crash_type, report.security) == (UBSAN, crash_type, security)
    assert report.crash_state == ("ns::Box<int>::get", "main")


def test_ubsan_without_debug_info() -> None:
    report = parsed("(/bin/prog+0x1234): runtime error: division by zero\n")
    assert (report.crash_type, report.crash_state) == ("Divide-by-zero", ())


def test_memory_sanitizer_uninitialized_read() -> None:
    text = (
        "==9==WARNING: MemorySanitizer: use-of-uninitialized-value\n"
        "    #0 0x1 in check_flag /src/m.c:4:7\n"
        "    #1 0x2 in main /src/m.c:9:3\n\n"
        "  Uninitialized value was created by an allocation of 'flag' in the stack frame\n"
        "    #0 0x3 in main /src/m.c:7\n"
    )
    report = parsed(text)
    assert summary(report) == (
        "MemorySanitizer",
        "Use-of-uninitialized-value",
        ("check_flag", "main"),
        True,
        "medium",
    )


def test_leak_report_prefers_the_direct_leak() -> None:
    text = (
        "==5==ERROR: LeakSanitizer: detected memory leaks\n\n"
        "Indirect leak of 8 byte(s) in 1 object(s) allocated from:\n"
        "    #0 0x1 in malloc (/usr/lib/libasan.so.8+0x1)\n"
        "    #1 0x2 in make_child /src/t.c:3\n\n"
        "Direct leak of 16 byte(s) in 1 object(s) allocated from:\n"
        "    #0 0x1 in operator new(unsigned long) (/usr/lib/libasan.so.8+0x2)\n"
        "    #1 0x2 in Tree::make_node(int) /src/t.cc:8:12\n"
        "    #2 0x3 in main /src/t.cc:20:3\n\n"
        "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 2 allocation(s).\n"
    )
    report = parsed(text)
    assert (report.sanitizer, report.crash_type, report.crash_state) == (
        LSAN,
        "Memory-leak",
        ("Tree::make_node", "main"),
    )


def test_frames_from_runtime_libraries_and_headers_are_dropped() -> None:
    text = asan(
        "heap-buffer-overflow on address 0x1",
        "READ of size 4 at 0x1",
    ).replace(
        "    #1 0x5500 in target_fn /src/a.c:10:3",
        "    #1 0x5500 in std::vector<int, std::allocator<int> >::operator[](unsigned long)"
        " /usr/include/c++/12/bits/stl_vector.h:1123:2\n"
        "    #2 0x5501 in std::__1::basic_string<char>::size() const"
        " /usr/lib/llvm-14/bin/../include/c++/v1/string:1000\n"
        "    #3 0x5502 in __cxa_throw (/usr/lib/x86_64-linux-gnu/libstdc++.so.6+0xa)\n"
        "    #4 0x5503 (/usr/lib/x86_64-linux-gnu/libc.so.6+0x29d8f)\n"
        "    #5 0x5500 in target_fn /src/a.c:10:3",
    )
    # renumber the frames after the inserted ones
    lines = text.splitlines()
    renumbered = []
    number = 0
    for line in lines:
        if line.lstrip().startswith("#"):
            rest = line.lstrip().split(" ", 1)[1]
            line = f"    #{number} {rest}"
            number += 1
        renumbered.append(line)
    assert parsed("\n".join(renumbered)).crash_state == ("target_fn", "caller_fn", "main")


def test_python_chained_exception_reports_the_last_one() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/app/config.py", line 4, in load\n'
        "    return settings[key]\n"
        "KeyError: 'port'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "<frozen runpy>", line 198, in _run_module_as_main\n'
        '  File "/app/main.py", line 9, in <module>\n'
        "    start()\n"
        '  File "/app/main.py", line 6, in start\n'
        "    port = load('port')\n"
        '  File "/app/config.py", line 6, in load\n'
        "    raise config.errors.ConfigError(key)\n"
        "config.errors.ConfigError: port\n"
    )
    assert summary(parsed(text)) == (
        "python",
        "Uncaught exception config.errors.ConfigError",
        ("load", "start", "<module>"),
        False,
        None,
    )


def test_libfuzzer_timeout_and_oom() -> None:
    timeout = parsed("==3== ERROR: libFuzzer: timeout after 25 seconds\n")
    oom = parsed("==3== ERROR: libFuzzer: out-of-memory (malloc(2147483648))\n")
    assert (timeout.crash_type, timeout.security) == ("Timeout", False)
    assert (oom.crash_type, oom.security) == ("Out-of-memory", False)


# --- constructors, tables and names -----------------------------------------------------------


def test_timeout_report() -> None:
    report = timeout_report(timeout_s=2.5, output="busy\n" * 10, max_log_chars=40)
    assert summary(report) == ("sandbox", "Timeout", (), False, None)
    assert report.log.startswith("[clearinghouse: killed after the 2.5 s wall-clock limit]")
    assert len(report.log) <= 40 + len(report.log.splitlines()[0]) + 1


def test_oom_report() -> None:
    report = oom_report(limit_mb=512, output="allocating\n")
    assert summary(report) == ("sandbox", "Out-of-memory", (), False, None)
    assert "512 MB" in report.log
    assert report.log.endswith("allocating\n")


@pytest.mark.parametrize(
    ("crash_type", "expected"),
    [
        ("Heap-buffer-overflow READ 4", (True, "medium")),
        ("Heap-buffer-overflow WRITE {*}", (True, "high")),
        ("Heap-use-after-free READ 4", (True, "high")),
        ("Heap-double-free", (True, "high")),
        ("Bad-cast", (True, "high")),
        ("Use-of-uninitialized-value", (True, "medium")),
        ("Segv on unknown address WRITE", (True, "high")),
        ("Some-new-sanitizer-kind", (True, "medium")),
        ("Null-dereference WRITE", (False, None)),
        ("Stack-overflow", (False, None)),
        ("Out-of-memory", (False, None)),
        ("Timeout", (False, None)),
        ("Memory-leak", (False, None)),
        ("Integer-overflow", (False, None)),
        ("Uncaught exception ValueError", (False, None)),
    ],
)
def test_classify(crash_type: str, expected: tuple[bool, str | None]) -> None:
    assert classify(crash_type) == expected


def test_access_type() -> None:
    assert access_type("Heap-buffer-overflow", "READ", 16) == "Heap-buffer-overflow READ 16"
    assert access_type("Heap-buffer-overflow", "WRITE", 17) == "Heap-buffer-overflow WRITE {*}"
    assert access_type("Null-dereference", "READ", None) == "Null-dereference READ"
    assert access_type("Heap-double-free", None, None) == "Heap-double-free"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("main", "main"),
        ("parse_header+0x1a", "parse_header"),
        ("png_read_row.isra.0", "png_read_row"),
        ("decode.constprop.0.cold", "decode"),
        ("ns::Parser::parse(char const*, unsigned long) const", "ns::Parser::parse"),
        ("(anonymous namespace)::Reader::next() &&", "(anonymous namespace)::Reader::next"),
        ("`anonymous namespace'::helper(int)", "(anonymous namespace)::helper"),
        (
            "std::__1::vector<int, std::__1::allocator<int> >::operator[](unsigned long)",
            "std::vector<int, std::allocator<int>>::operator[]",
        ),
        (
            "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >"
            "::_M_append(char const*, unsigned long)",
            "std::basic_string<char, std::char_traits<char>, std::allocator<char>>::_M_append",
        ),
        ("Foo::operator()(int) const", "Foo::operator()"),
        ("Foo::operator<<(std::ostream&)", "Foo::operator<<"),
        ("Foo::operator<(Foo const&) const", "Foo::operator<"),
        ("Foo::operator->() const", "Foo::operator->"),
        ("operator new(unsigned long)", "operator new"),
        ("operator delete[](void*)", "operator delete[]"),
        ("Handle::operator bool() const", "Handle::operator bool"),
        ("run(int)::{lambda(int)#1}::operator()(int) const", "run::$lambda::operator()"),
        ("run(int)::$_0::operator()(int) const", "run::$lambda::operator()"),
        ("name[abi:cxx11]()", "name"),
        (
            "std::function<void (int)>::operator()(int) const",
            "std::function<void (int)>::operator()",
        ),
        ("truncated_name(int, ch", "truncated_name"),
        ("void apply<Visitor>(Visitor&, int)", "void apply<Visitor>"),
    ],
)
def test_normalize_function(raw: str, normalized: str) -> None:
    assert normalize_function(raw) == normalized
