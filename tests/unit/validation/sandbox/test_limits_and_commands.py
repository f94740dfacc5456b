"""Pure parts of the sandbox: limits, requests, environment, rlimits and bubblewrap options."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from clearinghouse.validation import sandbox as sandbox_package
from clearinghouse.validation.sandbox import (
    RestrictedSubprocess,
    RunRequest,
    Sandbox,
    SandboxConfigError,
    SandboxLimits,
    SandboxUnavailableError,
    select_sandbox,
)
from clearinghouse.validation.sandbox.base import (
    _exit_status,
    asan_options,
    prlimit_args,
    sandbox_env,
)
from clearinghouse.validation.sandbox.bubblewrap import (
    SystemLayout,
    bubblewrap_args,
    unreachable_parent,
)

WORK = Path("/srv/sandbox/work")
LAYOUT = SystemLayout(symlinks=(("usr/lib", "/lib"),), directories=("/usr",))


def request(**changes: object) -> RunRequest:
    fields: dict[str, object] = {"argv": ("./harness", "input.bin"), "work_dir": WORK}
    fields.update(changes)
    return RunRequest(**fields)  # type: ignore[arg-type]


# --- limits and requests --------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"wall_clock_s": 0},
        {"cpu_s": -1},
        {"max_processes": 0},
        {"max_output_bytes": 0},
        {"max_open_files": 3},
        {"address_space_bytes": 1 << 20},
        {"asan_rss_limit_mb": 0},
    ],
)
def test_nonsensical_limits_are_refused(changes: dict[str, float]) -> None:
    with pytest.raises(SandboxConfigError):
        SandboxLimits(**changes)  # type: ignore[arg-type]


def test_limits_are_frozen() -> None:
    limits = SandboxLimits()
    with pytest.raises(AttributeError):
        limits.cpu_s = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"argv": ()},
        {"argv": ("",)},
        {"argv": ("a\0b",)},
        {"work_dir": Path("relative/work")},
        {"read_only_binds": (Path("build"),)},
        {"env": {"CLEARINGHOUSE_DATABASE_URL": "sqlite://"}},
        {"env": {"BAD=NAME": "x"}},
        {"env": {"X": "nul\0"}},
    ],
)
def test_unsafe_requests_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(SandboxConfigError):
        request(**changes)


# --- environment and rlimits ----------------------------------------------------------------


def test_environment_is_built_from_defaults_and_request_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    env = sandbox_env(request(env={"UBSAN_OPTIONS": "print_stacktrace=1"}), SandboxLimits())
    assert env == {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LC_ALL": "C.UTF-8",
        "UBSAN_OPTIONS": "print_stacktrace=1",
    }


def test_asan_runs_get_the_rss_limit_last() -> None:
    limits = SandboxLimits(asan_rss_limit_mb=512)
    env = sandbox_env(
        request(asan=True, env={"ASAN_OPTIONS": "hard_rss_limit_mb=99999:detect_leaks=0"}),
        limits,
    )
    assert env["ASAN_OPTIONS"] == "hard_rss_limit_mb=99999:detect_leaks=0:hard_rss_limit_mb=512"
    assert asan_options(None, rss_limit_mb=7) == "hard_rss_limit_mb=7"
    assert "ASAN_OPTIONS" not in sandbox_env(request(), limits)


def test_asan_runs_never_get_rlimit_as() -> None:
    limits = SandboxLimits(address_space_bytes=1 << 30)
    assert f"--as={1 << 30}" in prlimit_args(limits, asan=False, limit_processes=False)
    assert not any(
        arg.startswith("--as") for arg in prlimit_args(limits, asan=True, limit_processes=False)
    )


def test_rlimits_cover_cpu_files_descriptors_and_core_dumps() -> None:
    limits = SandboxLimits(cpu_s=5, max_file_bytes=1000, max_open_files=32, max_processes=10)
    args = prlimit_args(limits, asan=False, limit_processes=True)
    assert {"--cpu=5:6", "--fsize=1000", "--nofile=32", "--core=0", "--nproc=12"} <= set(args)
    assert not any(
        arg.startswith("--nproc") for arg in prlimit_args(limits, asan=False, limit_processes=False)
    )


def test_bubblewrap_status_128_plus_n_means_signal_n() -> None:
    assert _exit_status(139, shell_style=True) == (None, signal.SIGSEGV)
    assert _exit_status(1, shell_style=True) == (1, None)
    assert _exit_status(139, shell_style=False) == (139, None)
    assert _exit_status(-9, shell_style=False) == (None, 9)


# --- bubblewrap command line ----------------------------------------------------------------


def test_bubblewrap_isolates_everything_and_shows_only_what_was_asked() -> None:
    req = request(read_only_binds=(Path("/srv/build"),), env={"A": "1"})
    limits = SandboxLimits(tmp_bytes=1 << 20)
    args = bubblewrap_args(req, limits, LAYOUT, sandbox_env(req, limits))
    for option in ("--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"):
        assert option in args
    assert "--clearenv" in args
    assert "--disable-userns" in args
    assert args[args.index("--uid") + 1] == args[args.index("--gid") + 1] == "65534"
    binds = [tuple(args[i : i + 3]) for i, arg in enumerate(args) if arg.endswith("bind")]
    assert binds == [
        ("--ro-bind", "/usr", "/usr"),
        ("--ro-bind", "/srv/build", "/srv/build"),
        ("--bind", str(WORK), str(WORK)),  # the only writable host path
    ]
    symlink = args.index("--symlink")
    assert args[symlink : symlink + 3] == ["--symlink", "usr/lib", "/lib"]
    assert args[args.index("--tmpfs") - 2 : args.index("--tmpfs") + 2] == [
        "--size",
        str(1 << 20),
        "--tmpfs",
        "/tmp",
    ]
    # /tmp before the binds (a work dir under /tmp lands on the private tmpfs), the root last
    assert args.index("--tmpfs") < args.index("--bind")
    assert args[-4:] == ["--chdir", str(WORK), "--remount-ro", "/"]
    setenv = {args[i + 1]: args[i + 2] for i, arg in enumerate(args) if arg == "--setenv"}
    assert setenv == sandbox_env(req, limits)


def test_system_layout_follows_the_host(tmp_path: Path) -> None:
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    (tmp_path / "lib").symlink_to("usr/lib")
    (tmp_path / "sbin").mkdir()
    layout = SystemLayout.of_host(tmp_path)
    assert layout.symlinks == (("usr/lib", "/lib"),)
    assert layout.directories == ("/usr", "/sbin")


def test_unreachable_parent_names_the_blocking_directory(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    inner = closed / "work"
    inner.mkdir()
    tmp_path.chmod(0o755)
    assert unreachable_parent(inner, uid=12345, gid=12345) in {closed, *closed.parents}
    closed.chmod(0o711)
    blocked = unreachable_parent(inner, uid=12345, gid=12345)
    assert blocked is None or blocked in closed.parents


# --- selection ------------------------------------------------------------------------------


def _no_bubblewrap(*_: object, **__: object) -> None:
    raise SandboxUnavailableError("bubblewrap is not installed")


def test_production_refuses_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_package, "BubblewrapSandbox", _no_bubblewrap)
    with pytest.raises(SandboxUnavailableError, match="not installed"):
        select_sandbox(allow_unisolated=False)


def test_demo_falls_back_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_package, "BubblewrapSandbox", _no_bubblewrap)
    chosen = select_sandbox(allow_unisolated=True)
    assert isinstance(chosen, RestrictedSubprocess)
    assert isinstance(chosen, Sandbox)
    assert chosen.isolation == "restricted-subprocess (NOT ISOLATED)"
