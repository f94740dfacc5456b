"""The ``clearinghouse`` command as a user runs it: real processes, exit codes, JSON on stdout.

Exit 0 on success, 1 on a domain error with one line on stderr, 2 on bad usage; ``--json``
prints exactly one JSON document on stdout and nothing else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_URL, _reset_postgres


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, "CLEARINGHOUSE_DATA_DIR": str(data_dir)}
        if POSTGRES_URL:
            self.env["CLEARINGHOUSE_DATABASE_URL"] = POSTGRES_URL

    def run(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "clearinghouse.cli.main", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            timeout=120,
            check=False,
        )

    def json(self, *args: str, stdin: bytes | None = None) -> Any:
        done = self.run(*args, "--json", stdin=stdin)
        assert done.returncode == 0, done.stderr.decode()
        return orjson.loads(done.stdout)  # fails unless stdout is exactly one JSON document


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    return Cli(tmp_path / "data")


def asset(name: str) -> Path:
    return Path(str(resources.files("clearinghouse.pipeline") / "demo_assets" / name))


def test_a_user_session(cli: Cli) -> None:
    org = cli.json("org", "create", "Lab Alpha", "--kind", "ai-lab")
    assert org == {"id": 1, "name": "Lab Alpha", "kind": "ai-lab", "sector": None}
    cli.json("org", "create", "Valley Hospital", "--kind", "operator", "--sector", "healthcare")
    token = cli.json("token", "create", "--org", "Lab Alpha", "--role", "submitter")
    assert token["token"].startswith("chk_")
    assert (
        token["token"] not in (cli.data_dir / "clearinghouse.db").read_bytes().decode("latin-1")
        if not POSTGRES_URL
        else True
    )

    first = cli.json("findings", "import", str(asset("lab-alpha.sarif")), "--org", "Lab Alpha")
    assert {k: first[k] for k in ("format", "findings", "new_vulnerabilities", "duplicates")} == {
        "format": "sarif",
        "findings": 3,
        "new_vulnerabilities": 3,
        "duplicates": 0,
    }
    again = cli.json("findings", "import", str(asset("lab-alpha.sarif")), "--org", "Lab Alpha")
    assert again["already_imported"] is True
    from_stdin = cli.json(
        "findings",
        "import",
        "-",
        "--org",
        "Lab Alpha",
        "--tlp",
        "CLEAR",
        stdin=asset("lab-beta.sarif").read_bytes(),
    )
    assert from_stdin["tlp"] == "CLEAR"

    vulns = cli.json("vulns", "list")
    assert {v["first_finder"] for v in vulns} == {"Lab Alpha"}
    assert set(vulns[0]) == {
        "id",
        "title",
        "status",
        "tlp",
        "cwe",
        "findings",
        "finders",
        "first_finder",
        "aliases",
    }
    shown = cli.json("vulns", "show", vulns[0]["id"])
    assert shown["findings_detail"]
    audit = cli.json("audit", "verify")
    assert audit["ok"] is True
    assert audit["events"] >= 6

    table = cli.run("vulns", "list")
    assert table.returncode == 0
    assert vulns[0]["id"][:9].encode() in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("org", "create", "X", "--kind", "pirate"), b"kind"),
        (("token", "create", "--org", "Nobody", "--role", "admin"), b"Nobody"),
        (("findings", "import", "/nonexistent.sarif", "--org", "Nobody"), b"FILE"),
        (("vulns", "show", "CVE-1"), b"CH-YYYY-NNNNN"),
        (("vulns", "show", "CH-2026-99999"), b"does not exist"),
    ],
)
def test_domain_errors_exit_1_with_one_line(
    cli: Cli, args: tuple[str, ...], message: bytes
) -> None:
    done = cli.run(*args, "--json")
    assert done.returncode == 1
    assert done.stdout == b""
    assert message in done.stderr
    assert done.stderr.count(b"\n") == 1


def test_bad_usage_exits_2(cli: Cli) -> None:
    assert cli.run("org", "create").returncode == 2
    assert cli.run("no-such-command").returncode == 2
    assert cli.run("vulns", "list", "--limit", "0").returncode == 2


def test_invalid_document_is_refused_with_its_pointer(cli: Cli, tmp_path: Path) -> None:
    cli.json("org", "create", "Lab", "--kind", "ai-lab")
    broken = tmp_path / "broken.sarif"
    broken.write_bytes(
        asset("lab-alpha.sarif").read_bytes().replace(b'"level": "error"', b'"level": "fatal"')
    )
    done = cli.run("findings", "import", str(broken), "--org", "Lab", "--json")
    assert done.returncode == 1
    assert b"/runs/0/results/0/level" in done.stderr
    assert cli.json("vulns", "list") == []


def test_audit_verify_exits_1_naming_the_altered_event(cli: Cli) -> None:
    cli.json("org", "create", "Lab", "--kind", "ai-lab")
    cli.json("findings", "import", str(asset("lab-alpha.sarif")), "--org", "Lab")
    url = POSTGRES_URL or f"sqlite:///{cli.data_dir / 'clearinghouse.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:  # someone with database access edits history
        connection.execute(text("UPDATE audit_events SET detail = '{}' WHERE seq = 2"))
    engine.dispose()
    done = cli.run("audit", "verify", "--json")
    assert done.returncode == 1
    assert orjson.loads(done.stdout)["first_bad_event"] == 2
    assert b"event 2" in done.stderr
