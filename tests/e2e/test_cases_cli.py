"""A coordinator's session at the command line: open a case, be refused publication under
embargo, break it with a reason, publish, export the CSAF provider tree, verify the signatures
with GnuPG, and see tampering detected."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from tests.e2e.test_cli import Cli, cli  # noqa: F401  (the fixture)


def _finding(tmp_path: Path) -> Path:
    path = tmp_path / "finding.json"
    path.write_bytes(
        orjson.dumps(
            {
                "format": "clearinghouse-findings",
                "version": "1.0",
                "findings": [
                    {
                        "target": "pkg:pypi/tiffkit@2.3.0",
                        "title": "Heap overflow in tiffkit strip decoder",
                        "provenance": {"tool": "agent"},
                    }
                ],
            }
        )
    )
    return path


def test_case_to_signed_export(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli.json("org", "create", "Lab Alpha", "--kind", "ai-lab")
    cli.json("org", "create", "Tiff Project", "--kind", "vendor")
    cli.json("directory", "set", "Tiff Project", "--namespace", "pkg:pypi/tiffkit")
    imported = cli.json("findings", "import", str(_finding(tmp_path)), "--org", "Lab Alpha")
    vuln = imported["new_vulnerability_ids"][0] if "new_vulnerability_ids" in imported else None
    if vuln is None:
        vuln = cli.json("vulns", "list")[0]["id"]
    refused = cli.run("cases", "open", vuln, "--json")
    assert refused.returncode == 1
    assert b"not validated" in refused.stderr
    case = cli.json("cases", "open", vuln, "--allow-unvalidated")
    assert [p["organization"] for p in case["participants"] if p["role"] == "vendor"] == [
        "Tiff Project"
    ]
    blocked = cli.run("advisories", "publish", case["id"], "--json")
    assert blocked.returncode == 1
    assert b"under embargo" in blocked.stderr
    assert blocked.stdout == b""
    no_reason = cli.run("cases", "embargo", case["id"], "break", "--json")
    assert no_reason.returncode == 1
    assert b"reason" in no_reason.stderr
    cli.json("cases", "embargo", case["id"], "break", "--reason", "exploited in the wild")
    published = cli.json("advisories", "publish", case["id"])
    assert published["version"] == 1
    csaf = cli.run("advisories", "show", case["id"], "--kind", "csaf")
    assert orjson.loads(csaf.stdout)["document"]["tracking"]["id"] == case["id"]
    out = tmp_path / "site"
    exported = cli.json("advisories", "export", str(out))
    assert exported["files"] > 5
    assert cli.json("advisories", "verify", str(out))["ok"] is True

    documents = sorted((out / ".well-known" / "csaf" / "white").glob("*/*.json"))
    assert documents
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed (CI installs it): signatures were checked in-process")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    [key] = (out / ".well-known" / "csaf" / "openpgp").glob("*.asc")
    gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet"]
    subprocess.run([*gpg, "--import", str(key)], check=True, capture_output=True)
    for document in documents:
        ok = subprocess.run(
            [*gpg, "--verify", f"{document}.asc", str(document)], capture_output=True
        )
        assert ok.returncode == 0, ok.stderr.decode()
    documents[0].write_bytes(documents[0].read_bytes().replace(b"tiffkit", b"tiffkip", 1))
    bad = subprocess.run(
        [*gpg, "--verify", f"{documents[0]}.asc", str(documents[0])], capture_output=True
    )
    assert bad.returncode != 0
    tampered = cli.run("advisories", "verify", str(out), "--json")
    assert tampered.returncode == 1
    assert documents[0].name in tampered.stdout.decode()
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
