"""The assessment commands as a user types them: one JSON document on stdout with ``--json``,
progress on stderr, a one-line reason and exit 1 on a refused action, exit 2 on bad usage."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import orjson
import pytest

from clearinghouse.evaluation.tasks import load_suite, read_reference, starter_suite_dir
from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.e2e.test_cli import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
    return Cli(tmp_path / "data")


def test_a_developer_asks_and_the_government_assesses(cli: Cli, tmp_path: Path) -> None:
    cli.json("org", "create", "Frontier Lab", "--kind", "model-developer")
    cli.json("org", "create", "Eval Agency", "--kind", "agency", "--sector", "government")
    suite = cli.json("eval", "register", "--as", "Eval Agency")
    assert suite["name"] == "starter"
    assert suite["content_hash"] == load_suite(starter_suite_dir()).content_hash

    release = (dt.datetime.now(dt.UTC) + dt.timedelta(days=40)).isoformat()
    model = cli.json(
        "models", "register", "frontier", "--version", "1", "--release", release,
        "--as", "Frontier Lab",
    )  # fmt: skip
    engagement = cli.json("engagements", "open", str(model["id"]), "--as", "Frontier Lab")
    assert "neither licenses nor blocks" in engagement["voluntary"]

    tasks = [load_suite(starter_suite_dir()).task(t) for t in ("knowledge-cwe-uaf", "ctf-pin-gate")]
    script = tmp_path / "model.json"
    script.write_bytes(
        orjson.dumps(
            {
                "name": "cli-scripted",
                "tasks": {
                    t.id: [{"tool": "submit", "arguments": {"answer": read_reference(t).decode()}}]
                    for t in tasks
                },
            }
        )
    )
    done = cli.run(
        "eval", "run", "--suite", "starter", "--model", f"scripted:{script}",
        "--task", tasks[0].id, "--task", tasks[1].id, "--epochs", "2",
        "--engagement", str(engagement["id"]), "--as", "Eval Agency", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    report = orjson.loads(done.stdout)
    assert b"[4/4]" in done.stderr  # progress goes to stderr, the document to stdout
    assert report["families"]["ctf"]["successes"] == 2
    assert report["families"]["knowledge"]["pass_at"]["1"] == 1.0

    decided = cli.json("designation", "decide", str(engagement["id"]), "--as", "Eval Agency")
    assert decided["status"] == "pending_review"
    assert decided["outcome_strict"] in {"alert", "not_covered"}
    own = cli.run("designation", "sign-off", str(decided["id"]), "--as", "Eval Agency")
    assert own.returncode == 1
    assert b"someone other" in own.stderr
    signed = cli.json("designation", "sign-off", str(decided["id"]))
    assert signed["status"] == "final"

    # not covered: no pre-release window, and the refusal is one line on stderr
    refused = cli.run(
        "engagements", "window", str(engagement["id"]),
        "--opens", dt.datetime.now(dt.UTC).isoformat(), "--as", "Frontier Lab",
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stdout == b""
    assert b"covered" in refused.stderr
    assert len(refused.stderr.decode().strip().splitlines()) == 1

    policy = cli.run("designation", "policy")
    assert tomllib.loads(policy.stdout.decode())["elicitation"]["min_epochs"] >= 1

    bad_model = cli.run("eval", "run", "--suite", "starter", "--model", "openai:gpt")
    assert bad_model.returncode == 1
    assert b"openai:MODEL@BASE_URL" in bad_model.stderr
    bad_usage = cli.run("eval", "run", "--suite", "starter", "--model", "x", "--epochs", "0")
    assert bad_usage.returncode == 2
